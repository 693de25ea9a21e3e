"""Routes that meet Atlassian: Forge and Connect lifecycle endpoints, and the vendor's declared routes.

Every request is authenticated before anything else happens; a failure is ``401 Unauthorized`` with the
same body whatever the reason, and one log line with the reason (never the token, secret or key).

Endpoints, under each app's base path (the path of ``apps[].base_url`` in the charter):

* Forge remote: ``POST {base}/lifecycle`` (``avi:forge:installed:app`` and ``avi:forge:upgraded:app``
  triggers), ``POST {base}/pre-uninstall`` (the ``preUninstall`` module), ``POST {base}/access-probe``
  (a daily ``scheduledTrigger``: probes the product API with the app system token after answering).
* Connect: ``POST {base}/installed``, ``/uninstalled`` (signed install, RS256), ``/enabled``,
  ``/disabled`` (signed install, or HS256 with the stored shared secret).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from charter.atlassian import (
    FORGE_INSTALLED,
    FORGE_UPGRADED,
    AuthError,
    ConnectClaims,
    ConnectLifecycle,
    ForgeInvocation,
    ForgeVerifier,
    InstallKeys,
    PayloadError,
    TokenKind,
    bearer_token,
    connect_lifecycle,
    connect_token,
    forge_event,
    parse,
    peek_client_key,
    verify_connect_request,
    verify_signed_install,
)
from charter.clock import Clock
from charter.logs import get_logger
from charter.policy import Charter
from charter.policy._schema import App
from charter.sdk import IFRAME_SCOPE_KEY, ProductClient, Routes, RouteSpec, TenantContext, TenantRecords
from charter.sdk._product import connect_signer
from charter.store import TenantStore
from charter.tenants import EventKind, Registry, Tenant

__all__ = ["AtlassianServices", "atlassian_routes"]

log = get_logger("charter.web.auth")

_UNAUTHORIZED = b"Unauthorized\n"
#: A cheap product API call that needs only the app's basic read access, per product.
PROBE_PATHS = {
    "jira": "/rest/api/3/serverInfo",
    "jira-service-management": "/rest/api/3/serverInfo",
    "confluence": "/wiki/api/v2/spaces?limit=1",
}


@dataclass
class AtlassianServices:
    """What the Atlassian routes need, assembled once per process.

    Attributes:
        registry: the tenant registry.
        http: the shared HTTP client (product API calls).
        clock: the clock.
        forge: the FIT verifier (``None`` when the charter has no forge-remote app).
        install_keys: the Connect install-keys cache.
        store: the tenant data store handed to handlers (bound to the request's tenant).
        leeway: clock skew allowed on Connect tokens, in seconds.
    """

    registry: Registry
    http: httpx.AsyncClient
    clock: Clock
    forge: ForgeVerifier | None = None
    install_keys: InstallKeys | None = None
    store: TenantStore | None = None
    leeway: float = 30.0


def _unauthorized(request: Request, error: AuthError, platform: str) -> Response:
    log.warning(
        "request rejected",
        platform=platform,
        method=request.method,
        path=request.url.path,
        reason=error.reason,
        detail=error.detail,
    )
    return Response(_UNAUTHORIZED, status_code=401, media_type="text/plain")


def _bad_request(request: Request, error: PayloadError) -> Response:
    log.warning("bad request", method=request.method, path=request.url.path, reason=str(error))
    return PlainTextResponse("Bad request\n", status_code=400)


def _raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes | bytearray) else request.url.path


def _base_path(app: App) -> str:
    assert app.base_url is not None
    return urlsplit(app.base_url).path.rstrip("/")


# -- Forge --------------------------------------------------------------------------------------


async def _forge_verify(request: Request, services: AtlassianServices, app: App) -> ForgeInvocation:
    if services.forge is None:  # pragma: no cover - routes exist only when a verifier does
        raise AuthError("forge-not-configured")
    invocation = await services.forge.verify(bearer_token(request.headers.get("authorization")))
    if invocation.app_id != app.app_id:
        raise AuthError("audience", "token for another app of this vendor")
    return invocation


def _forge_product(request: Request, services: AtlassianServices, invocation: ForgeInvocation) -> ProductClient:
    return ProductClient(
        services.http,
        invocation.api_base_url,
        bearer=request.headers.get("x-forge-oauth-system"),
        user_bearer=request.headers.get("x-forge-oauth-user"),
    )


async def _forge_context(request: Request, services: AtlassianServices, app: App) -> TenantContext:
    invocation = await _forge_verify(request, services, app)
    tenant = services.registry.cached_forge_tenant(invocation)
    if tenant is None:
        tenant = await run_in_threadpool(services.registry.forge_seen, app.key, invocation)
    if not tenant.present:
        raise AuthError("tenant-not-installed", f"tenant {tenant.id} is {tenant.state}")
    return TenantContext(
        tenant=tenant,
        account_id=invocation.principal,
        platform="forge",
        product=_forge_product(request, services, invocation),
        forge=invocation,
        records=TenantRecords(services.store, tenant.id) if services.store else None,
    )


def _forge_lifecycle_routes(services: AtlassianServices, app: App) -> list[Route]:
    base = _base_path(app)

    async def lifecycle(request: Request) -> Response:
        try:
            invocation = await _forge_verify(request, services, app)
        except AuthError as error:
            return _unauthorized(request, error, "forge")
        try:
            event = forge_event(await request.body())
        except PayloadError as error:
            return _bad_request(request, error)
        if event.cloud_id is not None and invocation.cloud_id is not None and event.cloud_id != invocation.cloud_id:
            return _unauthorized(
                request, AuthError("context-mismatch", "body names another site than the FIT"), "forge"
            )
        tenant: Tenant | None
        if event.event_type == FORGE_INSTALLED:
            tenant = await run_in_threadpool(services.registry.forge_seen, app.key, invocation, installed=True)
        elif event.event_type == FORGE_UPGRADED:
            await run_in_threadpool(services.registry.forge_seen, app.key, invocation)
            tenant = await run_in_threadpool(
                services.registry.forge_event, invocation.installation_id, EventKind.UPGRADED, at=invocation.issued_at
            )
        else:
            log.info("forge event ignored", event_type=event.event_type, app_key=app.key)
            return Response(status_code=204)
        log.info(
            "forge lifecycle",
            event_type=event.event_type,
            retry=event.retry_count,
            tenant=tenant.id if tenant else None,
            state=tenant.state.value if tenant else None,
        )
        return Response(status_code=204)

    async def pre_uninstall(request: Request) -> Response:
        try:
            invocation = await _forge_verify(request, services, app)
        except AuthError as error:
            return _unauthorized(request, error, "forge")
        tenant = await run_in_threadpool(
            services.registry.forge_event, invocation.installation_id, EventKind.PRE_UNINSTALL, at=invocation.issued_at
        )
        log.info("forge pre-uninstall", tenant=tenant.id if tenant else None)
        return Response(status_code=204)

    async def access_probe(request: Request) -> Response:
        try:
            invocation = await _forge_verify(request, services, app)
        except AuthError as error:
            return _unauthorized(request, error, "forge")
        tenant = await run_in_threadpool(services.registry.forge_seen, app.key, invocation)
        token = request.headers.get("x-forge-oauth-system")
        if token is None:
            log.warning("access probe skipped: Forge sent no x-forge-oauth-system header", tenant=tenant.id)
            return Response(status_code=204)
        product = ProductClient(services.http, invocation.api_base_url, bearer=token)
        # Answer within Forge's 5 s budget; probe afterwards.
        return Response(status_code=204, background=BackgroundTask(_probe, services, app, tenant, product))

    return [
        Route(f"{base}/lifecycle", lifecycle, methods=["POST"]),
        Route(f"{base}/pre-uninstall", pre_uninstall, methods=["POST"]),
        Route(f"{base}/access-probe", access_probe, methods=["POST"]),
    ]


async def _probe(services: AtlassianServices, app: App, tenant: Tenant, product: ProductClient) -> None:
    """Probe the product API once; 401/403/404 count as a failed probe, 2xx as a success, others as nothing."""
    path = next((PROBE_PATHS[p] for p in app.products if p in PROBE_PATHS), None)
    if path is None or tenant.installation_id is None:
        return
    try:
        response = await product.get(path, timeout=10.0)
    except httpx.HTTPError as exc:
        log.warning("access probe inconclusive", tenant=tenant.id, reason=type(exc).__name__)
        return
    if response.status_code in (401, 403, 404):
        ok = False
    elif 200 <= response.status_code < 300:
        ok = True
    else:
        log.warning("access probe inconclusive", tenant=tenant.id, status=response.status_code)
        return
    result = await run_in_threadpool(
        services.registry.forge_probe, tenant.installation_id, ok=ok, at=services.clock.now()
    )
    log.info("access probe", tenant=tenant.id, ok=ok, state=result.state.value if result else None)


# -- Connect ------------------------------------------------------------------------------------


async def _connect_verify(
    request: Request, services: AtlassianServices, app: App, accepts: frozenset[TokenKind]
) -> tuple[Tenant, bytes, ConnectClaims]:
    raw = connect_token(request.headers.get("authorization"), request.scope.get("query_string", b""))
    if raw is None:
        raise AuthError("missing-token")
    token = parse(raw, "HS256")  # parsed once: the unverified iss picks the secret, then it is verified
    client_key = peek_client_key(token)
    found = services.registry.cached_connect_secret(app.key, client_key)
    if found is None:
        found = await run_in_threadpool(services.registry.connect_secret, app.key, client_key)
    if found is None:
        raise AuthError("unknown-tenant")
    tenant, secret = found
    claims = verify_connect_request(
        token,
        secret=secret,
        client_key=client_key,
        method=request.method,
        raw_path=_raw_path(request),
        raw_query=request.scope.get("query_string", b""),
        base_path=_base_path(app),
        accepts=accepts,
        clock=services.clock,
        leeway=services.leeway,
    )
    return tenant, secret, claims


async def _connect_context(
    request: Request, services: AtlassianServices, app: App, accepts: frozenset[TokenKind]
) -> TenantContext:
    tenant, secret, claims = await _connect_verify(request, services, app, accepts)
    if not tenant.present:
        raise AuthError("tenant-not-installed", f"tenant {tenant.id} is {tenant.state}")
    base_url = services.registry.cached_connect_base_url(app.key, tenant.client_key or "")
    product = ProductClient(
        services.http,
        base_url or "",
        connect_signer=connect_signer(app.key, secret, base_url or "", lambda: services.clock.now().timestamp()),
    )
    return TenantContext(
        tenant=tenant,
        account_id=claims.account_id,
        platform="connect",
        product=product,
        connect=claims,
        records=TenantRecords(services.store, tenant.id) if services.store else None,
    )


def _connect_lifecycle_routes(services: AtlassianServices, app: App) -> list[Route]:
    base = _base_path(app)
    assert app.base_url is not None
    app_base_url = app.base_url

    async def signed(
        request: Request, event: str
    ) -> tuple[Response | None, ConnectLifecycle | None, ConnectClaims | None]:
        # The token is verified before the body is read: an unauthenticated caller gets 401 and never
        # makes Charter buffer or parse anything.
        try:
            if services.install_keys is None:  # pragma: no cover - assembled whenever Connect apps exist
                raise AuthError("connect-not-configured")
            claims = await verify_signed_install(
                connect_token(request.headers.get("authorization"), b""),
                body_client_key=None,
                app_base_url=app_base_url,
                method=request.method,
                raw_path=_raw_path(request),
                raw_query=request.scope.get("query_string", b""),
                keys=services.install_keys,
                clock=services.clock,
                leeway=services.leeway,
            )
        except AuthError as error:
            return _unauthorized(request, error, "connect"), None, None
        try:
            payload = connect_lifecycle(await request.body(), event)
        except PayloadError as error:
            return _bad_request(request, error), None, None
        try:
            if payload.client_key != claims.client_key:
                raise AuthError("issuer", "iss differs from the body's clientKey")
            if payload.key != app.key:
                raise AuthError("app-key", "lifecycle body is for another app")
        except AuthError as error:
            return _unauthorized(request, error, "connect"), None, None
        return None, payload, claims

    async def installed(request: Request) -> Response:
        failed, payload, claims = await signed(request, "installed")
        if failed is not None or claims is None or payload is None:
            return failed or Response(status_code=500)
        tenant = await run_in_threadpool(services.registry.connect_installed, app.key, payload, at=claims.issued_at)
        log.info("connect installed", tenant=tenant.id, state=tenant.state.value)
        return Response(status_code=204)

    async def uninstalled(request: Request) -> Response:
        failed, _payload, claims = await signed(request, "uninstalled")
        if failed is not None or claims is None:
            return failed or Response(status_code=500)
        tenant = await run_in_threadpool(
            services.registry.connect_event, app.key, claims.client_key, EventKind.UNINSTALLED, at=claims.issued_at
        )
        log.info("connect uninstalled", tenant=tenant.id if tenant else None)
        return Response(status_code=204)

    def toggle(event: str, kind: EventKind) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            header_token = connect_token(request.headers.get("authorization"), b"")
            if header_token is not None and _signed_install_token(header_token):
                failed, _payload, claims = await signed(request, event)
                if failed is not None or claims is None:
                    return failed or Response(status_code=500)
            else:
                try:
                    _tenant, _secret, claims = await _connect_verify(request, services, app, frozenset({TokenKind.QSH}))
                except AuthError as error:
                    return _unauthorized(request, error, "connect")
                try:
                    payload = connect_lifecycle(await request.body(), event)
                except PayloadError as error:
                    return _bad_request(request, error)
                if payload.client_key != claims.client_key or payload.key != app.key:
                    return _unauthorized(request, AuthError("issuer", "body is for another tenant or app"), "connect")
            tenant = await run_in_threadpool(
                services.registry.connect_event, app.key, claims.client_key, kind, at=claims.issued_at
            )
            log.info(f"connect {event}", tenant=tenant.id if tenant else None)
            return Response(status_code=204)

        return endpoint

    return [
        Route(f"{base}/installed", installed, methods=["POST"]),
        Route(f"{base}/uninstalled", uninstalled, methods=["POST"]),
        Route(f"{base}/enabled", toggle("enabled", EventKind.ENABLED), methods=["POST"]),
        Route(f"{base}/disabled", toggle("disabled", EventKind.DISABLED), methods=["POST"]),
    ]


def _signed_install_token(token: str) -> bool:
    """Whether ``token`` is an RS256 (signed-install) token rather than an HS256 one."""
    try:
        parse(token, "RS256")
    except AuthError:
        return False
    return True


# -- vendor routes --------------------------------------------------------------------------------


def _vendor_route(spec: RouteSpec, services: AtlassianServices, app: App) -> Route:
    base = _base_path(app)
    if app.hosting == "forge-remote":

        async def forge_endpoint(request: Request) -> Response:
            try:
                context = await _forge_context(request, services, app)
            except AuthError as error:
                return _unauthorized(request, error, "forge")
            return await spec.handler(context, request)

        return Route(base + spec.path, forge_endpoint, methods=list(spec.methods))

    async def connect_endpoint(request: Request) -> Response:
        if spec.iframe:
            request.scope[IFRAME_SCOPE_KEY] = True
        try:
            context = await _connect_context(request, services, app, spec.connect)
        except AuthError as error:
            return _unauthorized(request, error, "connect")
        return await spec.handler(context, request)

    return Route(base + spec.path, connect_endpoint, methods=list(spec.methods))


def atlassian_routes(charter: Charter, services: AtlassianServices, routes: Routes | None) -> list[Route]:
    """The lifecycle routes of every vendor-hosted app of ``charter``, and the vendor's declared routes.

    A route declared ``forge=True`` is mounted under every forge-remote app's base path; one declaring
    Connect token kinds under every Connect app's base path.
    """
    vendor: list[Route] = []
    lifecycle: list[Route] = []
    for app in charter.vendor_hosted_apps:
        if app.hosting == "forge-remote":
            lifecycle.extend(_forge_lifecycle_routes(services, app))
            vendor.extend(_vendor_route(s, services, app) for s in (routes.specs if routes else []) if s.forge)
        else:
            lifecycle.extend(_connect_lifecycle_routes(services, app))
            vendor.extend(_vendor_route(s, services, app) for s in (routes.specs if routes else []) if s.connect)
    return vendor + lifecycle
