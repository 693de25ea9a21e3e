"""Rendering a :class:`Statement` as Markdown, HTML or plain text."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from importlib.resources import files
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, select_autoescape

from charter.statement._build import long_date
from charter.statement._model import Paragraph, Statement

__all__ = ["FORMATS", "render", "stylesheet"]

Format = Literal["md", "html", "txt"]
FORMATS: tuple[Format, ...] = ("md", "html", "txt")

_env = Environment(
    loader=PackageLoader("charter.statement", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_env.filters["long_date"] = long_date
_env.tests["instanceof_paragraph"] = lambda block: isinstance(block, Paragraph)

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|])")


def _md(text: str) -> str:
    # Charter text is prose; escape what Markdown would otherwise read as markup.
    return _MD_SPECIAL.sub(r"\\\1", text)


def stylesheet() -> str:
    """The trust page's CSS."""
    return files("charter.statement").joinpath("templates", "trust.css").read_text("utf-8")


def render(
    statement: Statement,
    fmt: Format = "md",
    *,
    stylesheet_href: str | None = None,
    evidence: Mapping[str, Any] | None = None,
    links: bool = False,
) -> str:
    """Render ``statement`` as ``md`` (CommonMark), ``html`` (a whole page) or ``txt`` (78 columns).

    Args:
        stylesheet_href: for ``html``, link this stylesheet URL instead of embedding the CSS (a page
            served under a strict Content-Security-Policy); the default makes a self-contained file.
        evidence: for ``html``, the live status beside each section: section id -> an object with the
            attributes ``status`` (pass/fail/unknown), ``checked_at`` (aware datetime or ``None``) and ``items``
            (dicts with ``promise``, ``status``, ``summary``), such as ``charter.evidence.SectionEvidence``.
            Sections without an entry show none.
        links: for ``html``, link the trust site's evidence, history and advisories pages.

    Raises:
        ValueError: unknown format.
    """
    if fmt == "md":
        return _markdown(statement)
    if fmt == "html":
        return _env.get_template("statement.html.j2").render(
            statement=statement, stylesheet_href=stylesheet_href, css=stylesheet(), evidence=evidence or {}, links=links
        )
    if fmt == "txt":
        return _text(statement)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _markdown(statement: Statement) -> str:
    out = [f"# {_md(statement.vendor)}: {_md(statement.title)}", ""]
    out.append(f"Version {_md(statement.version)}, effective {long_date(statement.effective)}.")
    out.append("")
    for section in statement.sections:
        out.append(f"## {section.title}")
        out.append("")
        for block in section.blocks:
            if isinstance(block, Paragraph):
                out.append(" ".join(_md(s.text) for s in block.sentences))
            else:
                if block.lead is not None:
                    out.append(_md(block.lead.text))
                    out.append("")
                out.extend(f"- {_md(s.text)}" for s in block.items)
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _fill(text: str, width: int, *, initial_indent: str = "", subsequent_indent: str = "") -> str:
    # Never break at hyphens or inside words: e-mail addresses, URLs and region codes stay whole.
    return textwrap.fill(
        text,
        width,
        initial_indent=initial_indent,
        subsequent_indent=subsequent_indent,
        break_on_hyphens=False,
        break_long_words=False,
    )


def _text(statement: Statement, width: int = 78) -> str:
    title = f"{statement.vendor}: {statement.title}"
    out = [title, "=" * min(len(title), width), ""]
    out.append(f"Version {statement.version}, effective {long_date(statement.effective)}.")
    out.append("")
    for section in statement.sections:
        out.extend([section.title, "-" * len(section.title), ""])
        for block in section.blocks:
            if isinstance(block, Paragraph):
                out.append(_fill(" ".join(s.text for s in block.sentences), width))
            else:
                if block.lead is not None:
                    out.append(_fill(block.lead.text, width))
                for s in block.items:
                    out.append(_fill(s.text, width, initial_indent="  * ", subsequent_indent="    "))
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
