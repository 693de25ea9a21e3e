"""The live trust pages: the statement with each section's evidence, the evidence as JSON, and the statement's
history with the differences between any two versions ("versions compared").

The evidence comes from the ``evidence`` table (written by ``charter verify`` and by ``charter serve``'s
evidence job), so every replica shows the same status. A page is rendered again only when the evidence
changed; its ETag follows its bytes.
"""

from __future__ import annotations

import difflib
import hashlib
import threading
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from charter.evidence import CHECKS, charter_digest, latest, section_checks, section_evidence
from charter.policy import Charter
from charter.statement import build_statement, render
from charter.store import Database, list_statement_versions

__all__ = ["trust_routes"]


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def trust_routes(charter: Charter, database: Database, *, stylesheet: str) -> list[Route]:
    """``/trust`` (with evidence), ``/trust/evidence.json``, ``/trust/history`` and ``/trust/history/compare``."""
    statement = build_statement(charter)
    digest = charter_digest(charter)  # once: the served charter does not change
    promises = {c.name: c.promise for c in CHECKS}
    sections = section_checks(statement)
    templates = Environment(
        loader=PackageLoader("charter.web", "templates"), autoescape=select_autoescape(default=True), trim_blocks=True
    )
    cache: dict[str, tuple[tuple[Any, ...], bytes]] = {}
    lock = threading.Lock()

    def trust_page() -> bytes:
        evidence = latest(database, digest=digest)
        key = tuple(sorted((e.check, e.status, e.summary, e.at) for e in evidence.values()))
        with lock:
            hit = cache.get("page")
            if hit is not None and hit[0] == key:
                return hit[1]
        html = render(
            statement, "html", stylesheet_href=stylesheet, evidence=section_evidence(statement, evidence), links=True
        )
        body = html.encode("utf-8")
        with lock:
            cache["page"] = (key, body)
        return body

    async def trust(request: Request) -> Response:
        body = await run_in_threadpool(trust_page)
        etag = _etag(body)
        headers = {"etag": etag, "cache-control": "no-cache"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return HTMLResponse(body, headers=headers)

    def evidence_json() -> dict[str, Any]:
        evidence = latest(database, digest=digest)
        bound = section_evidence(statement, evidence)
        checks = [
            {
                **(
                    evidence[c.name].as_dict()
                    if c.name in evidence
                    else {"check": c.name, "status": "unknown", "summary": "not checked yet", "at": None}
                ),
                "promise": promises[c.name],
            }
            for c in CHECKS
            if any(c.name in names for names in sections.values())
        ]
        statuses = {c["status"] for c in checks}
        return {
            "statement": {"version": charter.statement.version, "effective": charter.statement.effective.isoformat()},
            "status": "fail" if "fail" in statuses else "pass" if statuses == {"pass"} else "unknown",
            "sections": [
                {
                    "id": section.id,
                    "title": section.title,
                    "status": bound[section.id].status if section.id in bound else None,
                    "checks": sections.get(section.id, []),
                }
                for section in statement.sections
            ],
            "checks": checks,
        }

    async def evidence(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(evidence_json), headers={"cache-control": "no-cache"})

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        body = templates.get_template(name).render(vendor=charter.vendor.name, stylesheet=stylesheet, **context)
        return HTMLResponse(body, status_code=status, headers={"cache-control": "no-cache"})

    async def history(request: Request) -> Response:
        versions = await run_in_threadpool(list_statement_versions, database)
        return page("history.html.j2", title="Statement history", versions=list(reversed(versions)))

    async def compare(request: Request) -> Response:
        versions = await run_in_threadpool(list_statement_versions, database)
        by_id = {v.digest[:12]: v for v in versions}
        older, newer = by_id.get(request.query_params.get("from", "")), by_id.get(request.query_params.get("to", ""))
        if older is None or newer is None:
            return page(
                "compare.html.j2", 404, title="Versions compared", missing=True, lines=[], older=None, newer=None
            )
        lines = []
        for line in difflib.unified_diff(older.markdown.splitlines(), newer.markdown.splitlines(), lineterm="", n=2):
            if line.startswith(("---", "+++")):
                continue
            kind = "added" if line.startswith("+") else "removed" if line.startswith("-") else "context"
            lines.append((kind, line))
        return page("compare.html.j2", title="Versions compared", missing=False, lines=lines, older=older, newer=newer)

    return [
        Route("/trust", trust, methods=["GET"]),
        Route("/trust/evidence.json", evidence, methods=["GET"]),
        Route("/trust/history", history, methods=["GET"]),
        Route("/trust/history/compare", compare, methods=["GET"]),
    ]
