"""The ASGI application: trust pages, security.txt and health, over the library API."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from charter.__about__ import __version__
from charter.clock import Clock, SystemClock
from charter.logs import get_logger
from charter.policy import Charter
from charter.privacy import MarketplaceContacts
from charter.sdk import IFRAME_SCOPE_KEY, Routes
from charter.security import SecurityDesk
from charter.store import Database
from charter.web._atlassian import AtlassianServices, atlassian_routes
from charter.web._pages import STYLESHEET_PATH, Document, PublishedDocuments
from charter.web._privacy import privacy_routes
from charter.web._security import FormLimiter, security_routes
from charter.web._trust import trust_routes

__all__ = ["RequestLimits", "SecurityHeaders", "create_app"]

log = get_logger("charter.web")

_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class AccessLog:
    """Logs one line per request: method, path (never the query string, which may carry a ``jwt``),
    status and duration. Client addresses are personal data and are not logged."""

    def __init__(self, app: ASGIApp, clock: Clock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self.clock.monotonic()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round((self.clock.monotonic() - started) * 1000, 2),
            )


_IFRAME_CSP = (
    "default-src 'self'; script-src 'self' https://connect-cdn.atl-paas.net; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'self'; "
    "frame-ancestors https://*.atlassian.net https://*.jira.com https://*.jira-dev.com"
)


class Background(Protocol):
    """Work that runs beside the app (the scheduler)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class RequestLimits:
    """Refuses oversized requests before the app reads them: headers over ``max_header_bytes`` (431) and
    bodies over ``max_body_bytes`` (413, checked on ``Content-Length`` and while streaming)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = 1024 * 1024, max_header_bytes: int = 32 * 1024) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.max_headers = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        if sum(len(k) + len(v) for k, v in headers) > self.max_headers:
            await PlainTextResponse("Request header fields too large\n", status_code=431)(scope, receive, send)
            return
        declared = next((v for k, v in headers if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await PlainTextResponse("Request body too large\n", status_code=413)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await PlainTextResponse("Request body too large\n", status_code=413)(scope, receive, send)


class _TooLarge(Exception):
    pass


class SecurityHeaders:
    """Adds the security headers every response carries (Atlassian security requirement 7).

    HSTS uses the charter's ``encryption.in_transit.hsts_max_age`` (browsers ignore it over plain HTTP,
    so it is safe to send from behind a TLS-terminating proxy).
    """

    def __init__(self, app: ASGIApp, hsts: str | None) -> None:
        self.app = app
        common = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
        if hsts:
            common.append((b"strict-transport-security", hsts.encode()))
        self.headers = [
            *common,
            (b"x-frame-options", b"DENY"),
            (b"content-security-policy", _CSP.encode()),
            (b"cross-origin-resource-policy", b"same-origin"),
        ]
        # Connect modules live in iframes on the customer's Atlassian site: only those pages may frame
        # them, and Connect's all.js may load.
        self.iframe_headers = [*common, (b"content-security-policy", _IFRAME_CSP.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                present = {name for name, _ in message["headers"]}
                chosen = self.iframe_headers if scope.get(IFRAME_SCOPE_KEY) else self.headers
                message["headers"].extend(h for h in chosen if h[0] not in present)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _serve(doc: Document) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        headers = {"etag": doc.etag, "cache-control": "public, max-age=300"}
        if request.headers.get("if-none-match") == doc.etag:
            return Response(status_code=304, headers=headers)
        return Response(doc.body, media_type=doc.media_type, headers=headers)

    return endpoint


def create_app(
    charter: Charter,
    database: Database,
    *,
    clock: Clock | None = None,
    services: AtlassianServices | None = None,
    routes: Routes | None = None,
    close: Callable[[], None] | None = None,
    jobs: Background | None = None,
    security: SecurityDesk | None = None,
    limiter: FormLimiter | None = None,
    contacts: MarketplaceContacts | None = None,
) -> Starlette:
    """Build the ASGI app serving ``charter``'s trust pages.

    Routes: ``/trust`` (HTML statement), ``/trust/statement.md``, ``/trust/statement.txt``,
    ``/trust/marketplace.json``, ``/.well-known/security.txt`` (RFC 9116), ``/healthz``; with the security
    desk, the disclosure form ``/security/report`` and ``/trust/advisories`` (HTML and ``.json``).

    Args:
        charter: a validated charter (see :func:`charter.policy.load_charter`).
        database: the migrated database; the app closes it when it shuts down.
        clock: the clock (the system clock by default).
        services: the Atlassian services (registry, verifiers); with them, the lifecycle endpoints of
            every vendor-hosted app and the vendor's ``routes`` are served. The app closes their HTTP
            client when it shuts down.
        routes: the vendor's declared routes (needs ``services``).
        close: called at shutdown instead of ``database.close()`` (to close everything the caller opened).
        jobs: background jobs started with the app and stopped before it closes.
        security: the security desk (the disclosure form and the advisories).
        limiter: the form's rate limit (per process, with a random key, when ``None``).
        contacts: the Marketplace contacts (the ``/unsubscribe`` link of their mail).

    Raises:
        ValueError: ``routes`` without ``services``.
    """
    if routes is not None and services is None:
        raise ValueError("vendor routes need the Atlassian services (registry and verifiers)")
    clock = clock or SystemClock()
    docs = PublishedDocuments.build(charter)

    async def healthz(request: Request) -> Response:
        database_ok = database.ping()
        body: dict[str, Any] = {
            "status": "ok" if database_ok else "degraded",
            "charter_version": __version__,
            "statement_version": charter.statement.version,
            "database": "ok" if database_ok else "unavailable",
            "time": clock.now().isoformat(),
        }
        return JSONResponse(body, status_code=200 if database_ok else 503, headers={"cache-control": "no-store"})

    async def root(request: Request) -> Response:
        return Response(status_code=307, headers={"location": "/trust"})

    routes_list = [
        *trust_routes(charter, database, stylesheet=STYLESHEET_PATH),
        Route("/", root),
        Route("/trust/", root),
        Route("/trust/statement.md", _serve(docs.markdown)),
        Route("/trust/statement.txt", _serve(docs.text)),
        Route("/trust/marketplace.json", _serve(docs.marketplace)),
        Route(STYLESHEET_PATH, _serve(docs.stylesheet)),
        Route("/.well-known/security.txt", _serve(docs.security_txt)),
        Route("/healthz", healthz),
    ]
    if security is not None:
        import os

        limiter = limiter or FormLimiter("memory://", os.urandom(32))
        routes_list += security_routes(charter, security, limiter, clock=clock, stylesheet=STYLESHEET_PATH)
    if contacts is not None:
        routes_list += privacy_routes(charter, contacts, stylesheet=STYLESHEET_PATH)
    if services is not None:
        # The app's own routes first: they carry the traffic, and Starlette tries routes in order.
        routes_list = atlassian_routes(charter, services, routes) + routes_list
    transit = charter.encryption.in_transit
    hsts = transit.hsts_header if transit is not None else None

    async def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("Not found\n", status_code=404)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("Method not allowed\n", status_code=405)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.error(
            "unhandled error", method=request.method, path=request.url.path, error=type(exc).__name__, exc_info=exc
        )
        return PlainTextResponse("Internal server error\n", status_code=500)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if jobs is not None:
            jobs.start()
        try:
            yield
        finally:
            if jobs is not None:
                jobs.stop()
            if services is not None:
                await services.http.aclose()
            (close or database.close)()

    app = Starlette(
        routes=routes_list,
        lifespan=lifespan,
        middleware=[
            Middleware(AccessLog, clock=clock),
            Middleware(SecurityHeaders, hsts=hsts),
            Middleware(RequestLimits),
        ],
        exception_handlers={404: not_found, 405: not_allowed, 500: server_error},
    )
    # A trailing-slash redirect would happen before authentication and echo the Host header and the
    # query (which may carry a jwt) into a Location: paths are matched exactly instead.
    app.router.redirect_slashes = False
    app.state.charter = charter
    app.state.database = database
    return app
