"""The published documents, rendered once per charter and served as bytes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from charter.policy import Charter
from charter.statement import build_statement, marketplace_answers, render, render_security_txt, stylesheet

__all__ = ["STYLESHEET_PATH", "Document", "PublishedDocuments"]

STYLESHEET_PATH = "/trust/style.css"


@dataclass(frozen=True)
class Document:
    """A response body with its media type and a strong ETag."""

    body: bytes
    media_type: str

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


def _doc(text: str, media_type: str) -> Document:
    return Document(text.encode("utf-8"), media_type)


@dataclass(frozen=True)
class PublishedDocuments:
    """The fixed documents the trust site serves for one charter (``/trust`` itself is live: see ``_trust``)."""

    markdown: Document
    text: Document
    security_txt: Document
    marketplace: Document
    stylesheet: Document

    @classmethod
    def build(cls, charter: Charter) -> PublishedDocuments:
        """Render every document of ``charter`` (no I/O but reading the packaged stylesheet)."""
        statement = build_statement(charter)
        return cls(
            markdown=_doc(render(statement, "md"), "text/markdown; charset=utf-8"),
            text=_doc(render(statement, "txt"), "text/plain; charset=utf-8"),
            security_txt=_doc(render_security_txt(charter), "text/plain; charset=utf-8"),
            marketplace=_doc(json.dumps(marketplace_answers(charter), indent=2) + "\n", "application/json"),
            stylesheet=_doc(stylesheet(), "text/css; charset=utf-8"),
        )
