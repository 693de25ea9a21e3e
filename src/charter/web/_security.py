"""The security desk on the web: the disclosure form (linked from security.txt) and the published advisories.

* ``GET /security/report`` shows a form; ``POST /security/report`` records a report (no account needed) and
  answers with its id (201), the form with what is wrong (422), or 429 with ``Retry-After`` past the rate limit.
* The rate limit (the ``limits`` library, moving window) is 5 recorded reports per client address per hour and
  200 per day in all; a post refused for a mistake (an empty summary, say) is not counted. Addresses are kept
  only as HMAC digests under a key from the key store, in memory, or in Redis when
  ``CHARTER_RATE_LIMIT_URL=redis://...`` so that every replica counts together.
* A hidden field that people leave empty catches simple bots: such a post is answered like a success and
  recorded nowhere.
* ``GET /trust/advisories`` (HTML) and ``/trust/advisories.json`` list the disclosed reports' advisories.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from limits import RateLimitItemPerDay, RateLimitItemPerHour
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from charter.clock import Clock
from charter.logs import get_logger
from charter.policy import Charter
from charter.security import DeskError, SecurityDesk

__all__ = ["FormLimiter", "security_routes"]

log = get_logger("charter.web.security")

PER_CLIENT = RateLimitItemPerHour(5)
OVERALL = RateLimitItemPerDay(200)
_FIELDS = ("summary", "details", "app", "name", "contact", "website")


class FormLimiter:
    """The disclosure form's rate limit.

    Args:
        storage_url: ``memory://`` (one process) or ``redis://host:port/db`` (shared by replicas).
        secret: the HMAC key client addresses are digested with (never stored in clear).
    """

    def __init__(self, storage_url: str, secret: bytes) -> None:
        storage = storage_from_string(storage_url)
        if not isinstance(storage, Storage):
            raise ValueError("an async storage cannot count the form's posts")
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._secret = secret

    def _client(self, address: str) -> str:
        return hmac.new(self._secret, address.encode(), hashlib.sha256).hexdigest()[:32]

    def check(self, address: str) -> int | None:
        """``None`` when ``address`` may post now, else seconds until it may (nothing is counted)."""
        client = self._client(address)
        for item, key in ((PER_CLIENT, client), (OVERALL, "all")):
            if not self._limiter.test(item, "security-form", key):
                reset, _remaining = self._limiter.get_window_stats(item, "security-form", key)
                return max(1, int(reset - time.time()))
        return None

    def hit(self, address: str) -> int | None:
        """Count one recorded report from ``address``; ``None`` when allowed, else seconds until the next is.

        Each count is one atomic step of the storage (Redis: a Lua script), so replicas never both take the
        last slot. A post that is refused for a mistake is not counted (see :meth:`check`).
        """
        client = self._client(address)
        for item, key in ((PER_CLIENT, client), (OVERALL, "all")):
            if not self._limiter.hit(item, "security-form", key):
                reset, _remaining = self._limiter.get_window_stats(item, "security-form", key)
                return max(1, int(reset - time.time()))
        return None


def _precheck(values: dict[str, str], charter: Charter) -> None:
    """The desk's checks that need no database, so a post with a mistake is refused before it is counted."""
    from charter.security import email_address

    if not values["summary"].strip():
        raise DeskError("the summary is required")
    if not values["details"].strip():
        raise DeskError("the details are required")
    if values["contact"].strip() and email_address(values["contact"]) is None:
        raise DeskError("the contact must be one e-mail address (the acknowledgement is sent there)")
    if values["app"] and values["app"] not in {a.key for a in charter.apps}:
        raise DeskError(f"app {values['app']!r} is not in the charter")


def _markdown(text: str) -> Markup:
    """An advisory's Markdown as HTML: CommonMark with raw HTML off, so nothing in it becomes markup or script
    (markdown-it also refuses javascript:, vbscript: and data: links)."""
    return Markup(_MD.render(text))  # noqa: S704 - markdown-it escapes everything; raw HTML is disabled


_MD = MarkdownIt("commonmark", {"html": False})


def security_routes(
    charter: Charter, desk: SecurityDesk, limiter: FormLimiter, *, clock: Clock, stylesheet: str
) -> list[Route]:
    """The routes of the disclosure form and the advisories page."""
    templates = Environment(
        loader=PackageLoader("charter.web", "templates"), autoescape=select_autoescape(default=True), trim_blocks=True
    )
    templates.filters["markdown"] = _markdown
    contact = charter.security.report_to or charter.vendor.contacts.security
    apps = [{"key": a.key, "name": a.name} for a in charter.apps]
    common = {"vendor": charter.vendor.name, "stylesheet": stylesheet}
    headers = {"cache-control": "no-store"}

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        body = templates.get_template(name).render(**common, **context)
        return HTMLResponse(body, status_code=status, headers=headers)

    def form_page(status: int = 200, errors: list[str] | None = None, values: dict[str, str] | None = None) -> Response:
        return page(
            "report_form.html.j2",
            status,
            title="Report a security vulnerability",
            ack_days=desk.ack_business_days,
            prefix=charter.security.subject_prefix,
            contact=contact.removeprefix("mailto:"),
            safe_harbour=charter.security.safe_harbour,
            apps=apps,
            errors=errors or [],
            values=values or dict.fromkeys(_FIELDS, ""),
        )

    async def report_form(request: Request) -> Response:
        return form_page()

    async def submit(request: Request) -> Response:
        try:
            form: FormData = await request.form(max_files=0, max_fields=len(_FIELDS) + 4)
        except Exception:  # malformed multipart or too many fields: the client's mistake
            return form_page(400, ["the form could not be read; send it from this page"])
        values = {name: str(form.get(name) or "") for name in _FIELDS}
        address = request.client.host if request.client else "unknown"
        retry = await run_in_threadpool(limiter.check, address)
        if retry is None and not values["website"]:
            try:  # a post with a mistake is answered below and not counted; a valid one is counted first
                await run_in_threadpool(lambda: _precheck(values, charter))
            except DeskError as exc:
                return form_page(422, [str(exc)], values)
            retry = await run_in_threadpool(limiter.hit, address)
        elif retry is None:
            retry = await run_in_threadpool(limiter.hit, address)  # the trap: counted like a report
        if retry is not None:
            log.warning("security report form rate limited")  # no address: it is personal data
            response = form_page(429, [f"too many reports from here; try again in {retry // 60 + 1} minutes"], values)
            response.headers["retry-after"] = str(retry)
            return response
        if values["website"]:
            log.info("security report form: trap field filled, nothing recorded")
            return page(
                "report_received.html.j2",
                201,
                title="Report received",
                report_id="SR-" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(10)),
                contact=contact.removeprefix("mailto:"),
                ack_due="-",
                answered=False,
            )
        app_key = values["app"] or None
        try:
            report, _created = await run_in_threadpool(
                lambda: desk.report(
                    summary=values["summary"],
                    details=values["details"],
                    source="researcher",
                    reporter=values["name"] or None,
                    contact=values["contact"] or None,
                    app_key=app_key,
                    intake="form",
                    actor="web-form",
                )
            )
        except DeskError as exc:
            return form_page(422, [str(exc)], values)
        log.info("security report received", report=report.id, intake="form")
        return page(
            "report_received.html.j2",
            201,
            title="Report received",
            report_id=report.id,
            contact=contact.removeprefix("mailto:"),
            ack_due=report.ack_due_at.strftime("%Y-%m-%d %H:%M"),
            answered=bool(values["contact"]),
        )

    async def advisories_page(request: Request) -> Response:
        advisories = await run_in_threadpool(desk.advisories)
        return page("advisories.html.j2", title="Security advisories", advisories=advisories)

    async def advisories_json(request: Request) -> Response:
        advisories = await run_in_threadpool(desk.advisories)
        body = [
            {
                "id": a.id,
                "title": a.title,
                "severity": a.severity,
                "cvss_score": a.score,
                "cvss_vector": a.cvss_vector,
                "app": a.app_key,
                "affected_versions": a.affected,
                "fixed_version": a.fixed_version,
                "released_at": a.released_at.isoformat() if a.released_at else None,
                "published_at": a.disclosed_at.isoformat(),
                "credit": a.credit,
                "text": a.text,
            }
            for a in advisories
        ]
        return JSONResponse(body, headers={"cache-control": "public, max-age=60"})

    endpoints: list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]] = [
        ("/security/report", report_form, ["GET"]),
        ("/security/report", submit, ["POST"]),
        ("/trust/advisories", advisories_page, ["GET"]),
        ("/trust/advisories.json", advisories_json, ["GET"]),
    ]
    return [Route(path, endpoint, methods=methods) for path, endpoint, methods in endpoints]
