"""The unsubscribe link of mail to Marketplace technical contacts (RFC 8058 one-click, and a page for people).

``GET /unsubscribe?token=...`` shows a page with one button (a link scanner's GET changes nothing);
``POST /unsubscribe?token=...`` (the button, or a mail client's ``List-Unsubscribe=One-Click`` post) deletes the
contact at once. A token that is not valid is answered 400 and changes nothing.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from charter.policy import Charter
from charter.privacy import MarketplaceContacts

__all__ = ["privacy_routes"]

_MAX_TOKEN = 200


def privacy_routes(charter: Charter, contacts: MarketplaceContacts, *, stylesheet: str) -> list[Route]:
    """The unsubscribe routes."""
    templates = Environment(
        loader=PackageLoader("charter.web", "templates"), autoescape=select_autoescape(default=True), trim_blocks=True
    )
    common = {"vendor": charter.vendor.name, "stylesheet": stylesheet, "title": "Unsubscribe"}

    def page(status: int, **context: object) -> HTMLResponse:
        body = templates.get_template("unsubscribe.html.j2").render(**common, **context)
        return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})

    async def token_of(request: Request) -> str:
        token = request.query_params.get("token", "")
        if not token and request.method == "POST":
            form = await request.form(max_files=0, max_fields=4)
            token = str(form.get("token") or "")
        return token[:_MAX_TOKEN]

    async def show(request: Request) -> Response:
        token = await token_of(request)
        if not token:
            return page(400, state="invalid")
        return page(200, state="confirm", token=token)

    async def unsubscribe(request: Request) -> Response:
        try:
            token = await token_of(request)
        except Exception:  # a malformed form body: the client's mistake
            return page(400, state="invalid")
        done = await run_in_threadpool(contacts.unsubscribe, token)
        return page(200 if done else 400, state="done" if done else "invalid")

    return [
        Route("/unsubscribe", show, methods=["GET"]),
        Route("/unsubscribe", unsubscribe, methods=["POST"]),
    ]
