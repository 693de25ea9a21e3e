"""Issue Notes: a tiny real app on Charter (the demo of ``examples/forge-remote.toml``).

Users write notes on Jira issues; each note keeps its author's Atlassian account id. The same routes serve
the Forge remote (a verified FIT) and the Connect app (a verified JWT): Charter hands each handler a
:class:`~charter.sdk.TenantContext` whose tenant comes from verified claims only, and whose ``records``
store seals every value under the tenant's own key. The record kinds used here (``note`` and
``note-author``) are items of the charter's data inventory; an undeclared kind would be refused.

Run it::

    ./scripts/serve --config examples/forge-remote.toml --app examples/notes_app.py
"""

from __future__ import annotations

import html
import re
import secrets
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from charter.sdk import Routes, TenantContext, TokenKind

routes = Routes()

_ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,30}-[1-9][0-9]{0,9}$")
_MAX_TEXT = 2000


def _bad(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=400)


async def _notes(ctx: TenantContext, issue_key: str) -> list[dict[str, str]]:
    assert ctx.records is not None
    notes = []
    for key, note in await ctx.records.list("note", prefix=f"{issue_key}/"):
        author = await ctx.records.get("note-author", key)
        notes.append({"id": key.split("/", 1)[1], "text": note["text"], "author": author or ""})
    return notes


@routes.route("/notes/{issue_key}", methods=["GET"], forge=True, connect=[TokenKind.QSH, TokenKind.CONTEXT])
async def list_notes(ctx: TenantContext, request: Request) -> Response:
    """The notes of one issue, oldest first."""
    issue_key = request.path_params["issue_key"]
    if not _ISSUE_KEY.match(issue_key):
        return _bad("issue_key must look like FAKE-1")
    return JSONResponse({"issue": issue_key, "notes": await _notes(ctx, issue_key)})


@routes.route("/notes/{issue_key}", methods=["POST"], forge=True, connect=[TokenKind.CONTEXT])
async def add_note(ctx: TenantContext, request: Request) -> Response:
    """Add a note ``{"text": "..."}`` by the requesting user."""
    issue_key = request.path_params["issue_key"]
    if not _ISSUE_KEY.match(issue_key):
        return _bad("issue_key must look like FAKE-1")
    if ctx.account_id is None:
        return _bad("a note needs a user: this request carries no account id")
    try:
        body = await request.json()
    except (ValueError, RecursionError):
        return _bad("the body must be JSON")
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip() or len(text) > _MAX_TEXT:
        return _bad(f"text must be 1 to {_MAX_TEXT} characters")
    assert ctx.records is not None
    # Keys sort by creation: a zero-padded count of the issue's notes, plus randomness against races.
    count = len(await ctx.records.list("note", prefix=f"{issue_key}/"))
    key = f"{issue_key}/{count:06d}-{secrets.token_hex(4)}"
    # Both records hold the author's personal data: naming the account lets Charter report it to Atlassian's
    # personal-data reporting API and erase both records when Atlassian says the account was closed.
    accounts = {ctx.account_id: datetime.now(UTC)}
    await ctx.records.put("note", key, {"text": text.strip()}, accounts=accounts)
    await ctx.records.put("note-author", key, ctx.account_id, accounts=accounts)
    return JSONResponse({"id": key.split("/", 1)[1]}, status_code=201)


@routes.route("/panel", methods=["GET"], connect=[TokenKind.QSH], iframe=True)
async def issue_panel(ctx: TenantContext, request: Request) -> Response:
    """The Connect issue panel (an iframe; its URL is signed with a query-string hash)."""
    issue_key = request.query_params.get("issueKey", "")
    if not _ISSUE_KEY.match(issue_key):
        return _bad("issueKey must look like FAKE-1")
    items = "".join(f"<li>{html.escape(n['text'])}</li>" for n in await _notes(ctx, issue_key))
    return HTMLResponse(f"<!doctype html><title>Notes</title><ul>{items}</ul>")
