"""Verifying the Forge Invocation Token (FIT) on every request from Forge to a remote.

Source: Forge docs, "Forge remote essentials" - "Verifying remote requests" and the FIT claim table
(``../shared/reference/atlassian-platform.md`` section 1). The checks, in order:

1. ``Authorization: Bearer <FIT>``; the header's ``alg`` is exactly RS256 (never taken from the token);
2. no ``icLabel`` (Isolated Cloud needs a JWKS template Charter is not configured with: fail closed);
3. the signature against the Forge JWKS, by ``kid``;
4. ``iss`` is ``forge/invocation-token``;
5. ``aud`` is one of the app ids **from the charter** (never from the token: case B09), and equals
   ``app.id``;
6. ``exp``, ``nbf``, ``iat`` against the injected clock with a small leeway; ``jti`` present;
7. only then are ``app.installationId``, the installation contexts (``cloudId``/``workspaceId``),
   ``app.apiBaseUrl`` and ``principal`` trusted.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from charter.atlassian._errors import AuthError
from charter.atlassian._jwt import check_times, parse, verify_signature
from charter.atlassian._keys import JwksCache
from charter.clock import Clock

__all__ = ["FIT_ISSUER", "ForgeInvocation", "ForgeVerifier", "bearer_token"]

FIT_ISSUER = "forge/invocation-token"
_INSTALLATION = re.compile(r"^ari:cloud:ecosystem::installation/[A-Za-z0-9-]{1,64}$")
_API_BASE = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?/[^\s?#]*$")
_ACCOUNT = re.compile(r"^[A-Za-z0-9:_-]{1,128}$")


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or ``None``."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@dataclass(frozen=True)
class ForgeInvocation:
    """The verified facts of one Forge invocation.

    Attributes:
        app_id: the app ARI (equal to the configured audience).
        installation_id: ``app.installationId``, the key of remote storage (changes on reinstall).
        cloud_id: the site's cloudId from the installation contexts (Jira, Confluence), if any.
        workspace_id: the workspaceId (Bitbucket), if any.
        api_base_url: ``app.apiBaseUrl``, the base of every product API call.
        principal: the invoking user's account id (UI modules only).
        license_active: ``app.license.active`` (or the deprecated ``isActive``); ``None`` when the token
            carries no licence (free apps, non-production environments).
        environment_type: ``DEVELOPMENT``, ``STAGING`` or ``PRODUCTION``.
        module_key: the module that invoked the remote.
        app_version: ``app.appVersion`` (or the deprecated ``app.version``).
        issued_at: ``iat`` as an aware UTC datetime.
        token_id: ``jti``.
    """

    app_id: str
    installation_id: str
    cloud_id: str | None
    workspace_id: str | None
    api_base_url: str
    principal: str | None
    license_active: bool | None
    environment_type: str | None
    module_key: str | None
    app_version: str | None
    issued_at: datetime
    token_id: str


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class ForgeVerifier:
    """Verifies FITs for the app ids of a charter.

    Args:
        app_ids: the configured Forge app ids (``apps[].app_id``); must not be empty.
        jwks: the Forge JWKS cache.
        clock: the clock for ``exp``/``nbf``/``iat``.
        leeway: allowed clock skew in seconds (default 10).

    Raises:
        ValueError: no app id is configured (case B09: never fall back to the token's own ``app.id``).
    """

    def __init__(self, app_ids: Collection[str], *, jwks: JwksCache, clock: Clock, leeway: float = 10.0) -> None:
        ids = frozenset(a for a in app_ids if a)
        if not ids:
            raise ValueError("no Forge app id is configured: the FIT audience must come from the charter")
        self.app_ids = ids
        self._jwks = jwks
        self._clock = clock
        self._leeway = leeway

    async def verify(self, token: str | None) -> ForgeInvocation:
        """Verify ``token`` (a FIT) and return what it proves.

        Raises:
            AuthError: any failed check; ``reason`` says which.
        """
        if not token:
            raise AuthError("missing-token")
        parsed = parse(token, "RS256")
        if "icLabel" in parsed.claims:
            raise AuthError("isolated-cloud", "icLabel present; no Isolated Cloud JWKS is configured")
        kid = parsed.header.get("kid")
        if not isinstance(kid, str):
            raise AuthError("bad-kid")
        claims = verify_signature(parsed, await self._jwks.key(kid), "RS256")
        if claims.get("iss") != FIT_ISSUER:
            raise AuthError("issuer", f"iss {str(claims.get('iss'))[:60]!r}")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        matched = [a for a in audiences if a in self.app_ids]
        if not matched:
            raise AuthError("audience", f"aud {str(aud)[:120]!r} is not a configured app id")
        app = claims.get("app")
        if not isinstance(app, dict) or app.get("id") != matched[0]:
            raise AuthError("audience", "app.id differs from aud")
        check_times(claims, self._clock.now().timestamp(), self._leeway, require_nbf=True)
        token_id = _str(claims.get("jti"))
        if token_id is None:
            raise AuthError("missing-claim", "jti")
        return self._invocation(matched[0], app, claims, token_id)

    def _invocation(self, app_id: str, app: dict[str, Any], claims: dict[str, Any], token_id: str) -> ForgeInvocation:
        installation_id = _str(app.get("installationId"))
        if installation_id is None or not _INSTALLATION.match(installation_id):
            raise AuthError("missing-claim", "app.installationId")
        api_base_url = _str(app.get("apiBaseUrl"))
        if api_base_url is None or not _API_BASE.match(api_base_url):
            raise AuthError("missing-claim", "app.apiBaseUrl")
        cloud_id = workspace_id = None
        installation = app.get("installation")
        contexts = installation.get("contexts") if isinstance(installation, dict) else None
        for context in contexts if isinstance(contexts, list) else []:
            if isinstance(context, dict):
                cloud_id = cloud_id or _str(context.get("cloudId"))
                workspace_id = workspace_id or _str(context.get("workspaceId"))
        license_claim = app.get("license")
        license_active: bool | None = None
        if isinstance(license_claim, dict):
            active = license_claim.get("active", license_claim.get("isActive"))
            license_active = active if isinstance(active, bool) else None
        principal = _str(claims.get("principal"))
        if principal is not None and not _ACCOUNT.match(principal):
            raise AuthError("malformed", "principal")
        environment = app.get("environment")
        module = app.get("module")
        return ForgeInvocation(
            app_id=app_id,
            installation_id=installation_id,
            cloud_id=cloud_id,
            workspace_id=workspace_id,
            api_base_url=api_base_url.rstrip("/"),
            principal=principal,
            license_active=license_active,
            environment_type=_str(environment.get("type")) if isinstance(environment, dict) else None,
            module_key=_str(module.get("key")) if isinstance(module, dict) else None,
            app_version=_str(app.get("appVersion")) or _str(app.get("version")),
            issued_at=datetime.fromtimestamp(float(claims["iat"]), UTC),
            token_id=token_id,
        )
