"""Assembling a running service: data directory, database, keys, tenant registry, verifiers, ASGI app.

The CLI's ``serve`` command and the tests call :func:`prepare`; it does everything that can fail with a
user-facing reason before the server starts listening, and cleans up what it created when it fails.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette

from charter.atlassian import FORGE_JWKS_URL, INSTALL_KEYS_URL, ForgeVerifier, InstallKeys, JwksCache, KeyPolicy
from charter.clock import Clock
from charter.jobs import Jobs
from charter.logs import get_logger
from charter.policy import Charter
from charter.runtime import Runtime, SetupError, open_runtime
from charter.sdk import Routes
from charter.security import Mailer, MailError
from charter.statement import build_statement, render
from charter.store import list_statement_versions, record_statement
from charter.web import AtlassianServices, FormLimiter, create_app

__all__ = ["ServeError", "Settings", "load_routes", "prepare"]

log = get_logger("charter.server")


class ServeError(Exception):
    """The service cannot start; the message says why."""


@dataclass(frozen=True)
class Settings:
    """Operational settings (not promises: those are in the charter). Read from the environment.

    Attributes:
        forge_jwks_url: ``CHARTER_FORGE_JWKS_URL`` (default: Forge production JWKS).
        install_keys_url: ``CHARTER_CONNECT_INSTALL_KEYS_URL`` (default: the Connect install-keys CDN).
        leeway: ``CHARTER_TOKEN_LEEWAY`` seconds of clock skew allowed on tokens (default 10).
        jwks_ttl, jwks_cooldown, jwks_max_stale, fetch_timeout: key cache policy in seconds
            (``CHARTER_JWKS_TTL``, ``CHARTER_JWKS_COOLDOWN``, ``CHARTER_JWKS_MAX_STALE``,
            ``CHARTER_FETCH_TIMEOUT``).
        rate_limit_url: ``CHARTER_RATE_LIMIT_URL``: where the disclosure form's rate limit is counted,
            ``memory://`` (default, per process) or ``redis://host:6379/0`` (shared by every replica).
    """

    forge_jwks_url: str = FORGE_JWKS_URL
    install_keys_url: str = INSTALL_KEYS_URL
    leeway: float = 10.0
    jwks_ttl: float = 3600.0
    jwks_cooldown: float = 60.0
    jwks_max_stale: float = 24 * 3600.0
    fetch_timeout: float = 3.0
    rate_limit_url: str = "memory://"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (``os.environ`` by default).

        Raises:
            ServeError: a value is not a positive number or not an https URL.
        """
        env = dict(os.environ if environ is None else environ)
        values: dict[str, object] = {}
        for name, var in (
            ("forge_jwks_url", "CHARTER_FORGE_JWKS_URL"),
            ("install_keys_url", "CHARTER_CONNECT_INSTALL_KEYS_URL"),
        ):
            if var in env:
                url = env[var]
                parts = urlsplit(url)
                local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
                if parts.username is not None or parts.password is not None or not parts.hostname:
                    raise ServeError(f"{var} must be a plain https:// URL (no user info)")
                if parts.scheme != "https" and not local:
                    raise ServeError(f"{var} must be an https:// URL (http only for localhost)")
                values[name] = url
        if "CHARTER_RATE_LIMIT_URL" in env:
            url = env["CHARTER_RATE_LIMIT_URL"].strip()
            if urlsplit(url).scheme not in ("memory", "redis", "rediss"):
                raise ServeError("CHARTER_RATE_LIMIT_URL must be memory://, redis://host:port/db or rediss://...")
            values["rate_limit_url"] = url
        numbers = (
            ("leeway", "CHARTER_TOKEN_LEEWAY"),
            ("jwks_ttl", "CHARTER_JWKS_TTL"),
            ("jwks_cooldown", "CHARTER_JWKS_COOLDOWN"),
            ("jwks_max_stale", "CHARTER_JWKS_MAX_STALE"),
            ("fetch_timeout", "CHARTER_FETCH_TIMEOUT"),
        )
        for name, var in numbers:
            if var in env:
                try:
                    number = float(env[var])
                except ValueError:
                    raise ServeError(f"{var} must be a number of seconds, not {env[var]!r}") from None
                if not 0 <= number <= 7 * 86400:
                    raise ServeError(f"{var} must be between 0 and 604800 seconds")
                values[name] = number
        return cls(**values)  # type: ignore[arg-type]


def load_routes(spec: str) -> Routes:
    """Load a vendor's :class:`~charter.sdk.Routes` from ``path/to/app.py`` or ``package.module``,
    optionally ``:attribute`` (default ``routes``).

    Raises:
        ServeError: the file or module cannot be loaded, or has no ``Routes`` under that name.
    """
    target, _, attribute = spec.partition(":")
    attribute = attribute or "routes"
    try:
        if target.endswith(".py") or os.sep in target:
            path = Path(target)
            if not path.is_file():
                raise ServeError(f"--app {target}: no such file")
            name = f"charter_vendor_app_{abs(hash(path.resolve()))}"
            loader_spec = importlib.util.spec_from_file_location(name, path)
            if loader_spec is None or loader_spec.loader is None:
                raise ServeError(f"--app {target}: not a Python file")
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[name] = module
            loader_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
    except ServeError:
        raise
    except Exception as exc:  # the vendor's code: any error is reported, with its type
        raise ServeError(f"--app {spec}: loading failed: {type(exc).__name__}: {exc}") from None
    routes = getattr(module, attribute, None)
    if not isinstance(routes, Routes):
        raise ServeError(f"--app {spec}: no charter.sdk.Routes named {attribute!r}")
    return routes


def _services(runtime: Runtime, settings: Settings) -> AtlassianServices:
    charter, clock = runtime.charter, runtime.clock
    http = httpx.AsyncClient(timeout=settings.fetch_timeout, follow_redirects=False)
    policy = KeyPolicy(
        ttl=settings.jwks_ttl,
        refetch_cooldown=settings.jwks_cooldown,
        max_stale=settings.jwks_max_stale,
        timeout=settings.fetch_timeout,
    )
    forge_ids = [a.app_id for a in charter.apps if a.hosting == "forge-remote" and a.app_id]
    forge = None
    if any(a.hosting == "forge-remote" for a in charter.apps):
        jwks = JwksCache(settings.forge_jwks_url, clock=clock, client=http, policy=policy)
        forge = ForgeVerifier(forge_ids, jwks=jwks, clock=clock, leeway=settings.leeway)
    install_keys = None
    if any(a.hosting == "connect" for a in charter.apps):
        install_keys = InstallKeys(settings.install_keys_url, clock=clock, client=http)
    return AtlassianServices(
        registry=runtime.registry,
        http=http,
        clock=clock,
        forge=forge,
        install_keys=install_keys,
        store=runtime.store,
        leeway=max(settings.leeway, 0),
    )


def _form_limiter(runtime: Runtime, settings: Settings) -> FormLimiter:
    """The disclosure form's rate limit: in memory, or in Redis (``CHARTER_RATE_LIMIT_URL``) shared by replicas.
    Client addresses are digested under a key derived from the key store, the same in every replica."""
    secret = runtime.keyring.derive("charter:rate-limit", b"security-form")
    try:
        return FormLimiter(settings.rate_limit_url, secret)
    except Exception as exc:  # the limits library raises its own errors for a bad URL or a missing driver
        raise ServeError(f"CHARTER_RATE_LIMIT_URL cannot be used: {type(exc).__name__}") from None


def prepare(
    charter: Charter,
    *,
    data_dir: Path,
    database_url: str | None,
    clock: Clock,
    routes: Routes | None = None,
    settings: Settings | None = None,
    keys_database_url: str | None = None,
    scheduler: bool = False,
) -> tuple[Starlette, str]:
    """Open Charter's state (creating the data directory, databases and keys if needed), record the
    statement text, and build the app.

    Args:
        charter: the validated charter.
        data_dir: Charter's data directory (mode 0700; the SQLite files and the key file).
        database_url: a PostgreSQL URL, or ``None`` for SQLite inside ``data_dir``.
        clock: the clock.
        routes: the vendor's declared routes (served under the apps' base paths).
        settings: operational settings (:meth:`Settings.from_env` by default).
        keys_database_url: the key store; see :func:`charter.runtime.open_runtime`.
        scheduler: run the daily jobs (purge) while the app runs.

    Returns:
        ``(the ASGI app, a printable description of where data is kept)``.

    Raises:
        ServeError: the data directory, keys or databases cannot be used (a data directory created by this
            call is removed again).
    """
    settings = settings or Settings.from_env()
    try:
        runtime = open_runtime(
            charter, data_dir=data_dir, clock=clock, database_url=database_url, keys_database_url=keys_database_url
        )
    except SetupError as exc:
        raise ServeError(str(exc)) from None
    runtime.hold_serving_lock()
    database = runtime.database
    markdown = render(build_statement(charter), "md")
    stored, new = record_statement(
        database,
        version=charter.statement.version,
        effective=charter.statement.effective,
        markdown=markdown,
        clock=clock,
    )
    if new:
        log.info("statement recorded", version=stored.version, digest=stored.digest[:12])
        same_label = [
            v for v in list_statement_versions(database) if v.version == stored.version and v.digest != stored.digest
        ]
        if same_label:
            log.warning(
                "statement text changed but statement.version did not; bump it so readers can tell the versions apart",
                version=stored.version,
            )
    services = _services(runtime, settings) if charter.vendor_hosted_apps else None
    try:
        mailer = Mailer.from_env(charter, os.environ)
    except MailError as exc:
        runtime.close()
        raise ServeError(str(exc)) from None
    if mailer is None and scheduler:
        log.warning("CHARTER_SMTP_URL is not set: security deadline alerts are logged, not e-mailed")
    jobs = Jobs(runtime, mailer=mailer) if scheduler else None
    limiter = _form_limiter(runtime, settings)
    app = create_app(
        charter,
        database,
        clock=clock,
        services=services,
        routes=routes,
        close=runtime.close,
        jobs=jobs,
        security=runtime.security,
        limiter=limiter,
        contacts=runtime.contacts,
    )
    app.state.runtime = runtime
    return app, database.display_url if database_url else str(runtime.data_dir)
