"""Atlassian Connect: verifying request JWTs and signed installs, and signing outbound calls.

Sources: "Understanding JWT for Connect apps", the ``context-qsh`` and ``signed-install`` API
migrations (``../shared/reference/atlassian-platform.md`` section 2) and cases B01, B03, B04 and B07.

* A request from a product carries an HS256 JWT (``Authorization: JWT <token>`` or ``?jwt=``) signed with
  the installation's shared secret; ``iss`` is the ``clientKey``; ``qsh`` is the hash of the canonical
  request, or the constant ``context-qsh`` for context tokens, which only routes that declare
  :attr:`TokenKind.CONTEXT` accept.
* ``installed`` and ``uninstalled`` callbacks carry an RS256 JWT whose key is fetched by ``kid`` from the
  install-keys CDN; ``aud`` is the app's base URL, ``iss`` is the body's ``clientKey``, and ``qsh`` is
  checked. The body's own ``sharedSecret`` never authenticates anything.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt

from charter.atlassian._canonical import canonical_request, query_hash
from charter.atlassian._errors import AuthError
from charter.atlassian._jwt import Token, check_times, parse, verify_signature
from charter.atlassian._keys import InstallKeys
from charter.clock import Clock

__all__ = [
    "CONTEXT_QSH",
    "ConnectClaims",
    "TokenKind",
    "connect_token",
    "peek_client_key",
    "sign_outbound",
    "verify_connect_request",
    "verify_signed_install",
]

CONTEXT_QSH = "context-qsh"
#: Atlassian's own JWT libraries allow 30 s of clock skew (``JwtConstants.TIME_CLAIM_LEEWAY_SECONDS``).
DEFAULT_LEEWAY = 30.0


class TokenKind(StrEnum):
    """What a Connect route accepts; every route must declare at least one."""

    QSH = "qsh"
    """A token bound to this exact request by its query-string hash."""
    CONTEXT = "context-qsh"
    """A context token (``AP.context.getToken()``), bound to no request (case B03)."""


@dataclass(frozen=True)
class ConnectClaims:
    """The verified facts of a Connect request.

    Attributes:
        client_key: the tenant (``iss``).
        account_id: the user (``sub``), if any.
        kind: whether the token was bound to the request (QSH) or a context token.
        issued_at: ``iat`` (aware UTC), the event time of lifecycle callbacks.
    """

    client_key: str
    account_id: str | None
    kind: TokenKind
    issued_at: datetime


def connect_token(authorization: str | None, raw_query: bytes) -> str | None:
    """The Connect JWT of a request: ``Authorization: JWT <token>``, else the ``jwt`` query parameter."""
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme == "JWT" and token.strip():
            return token.strip()
        return None
    for name, value in parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True):
        if name == "jwt":
            return value or None
    return None


def peek_client_key(token: str | Token) -> str:
    """The ``iss`` of an HS256 token, read before verification only to find the tenant's secret.

    Raises:
        AuthError: ``malformed``, ``algorithm`` (anything but HS256), or ``missing-claim``.
    """
    parsed = token if isinstance(token, Token) else parse(token, "HS256")
    issuer = parsed.claims.get("iss")
    if not isinstance(issuer, str) or not issuer or len(issuer) > 256:
        raise AuthError("missing-claim", "iss")
    return issuer


def _qsh(claims: dict[str, Any], method: str, raw_path: str, raw_query: bytes, base_path: str) -> tuple[str, str]:
    claim = claims.get("qsh")
    if not isinstance(claim, str):
        raise AuthError("missing-claim", "qsh")
    return claim, canonical_request(method, raw_path, raw_query, base_path=base_path)


def verify_connect_request(
    token: str | Token,
    *,
    secret: bytes,
    client_key: str,
    method: str,
    raw_path: str,
    raw_query: bytes,
    base_path: str,
    accepts: Collection[TokenKind],
    clock: Clock,
    leeway: float = DEFAULT_LEEWAY,
) -> ConnectClaims:
    """Verify an inbound Connect request JWT.

    Args:
        token: the JWT (or the :class:`Token` already parsed to find the tenant).
        secret: the tenant's shared secret (the tenant was found by :func:`peek_client_key`).
        client_key: that tenant's clientKey; ``iss`` must equal it.
        method, raw_path, raw_query: the request as received (raw path, still percent-encoded).
        base_path: the path of the app's baseUrl.
        accepts: the token kinds the route declared.
        clock, leeway: time checks, in seconds.

    Raises:
        AuthError: any failed check.
    """
    parsed = token if isinstance(token, Token) else parse(token, "HS256")
    claims = verify_signature(parsed, secret, "HS256")
    if claims.get("iss") != client_key:
        raise AuthError("issuer")
    check_times(claims, clock.now().timestamp(), leeway)
    claim, canonical = _qsh(claims, method, raw_path, raw_query, base_path)
    if claim == CONTEXT_QSH:
        if TokenKind.CONTEXT not in accepts:
            raise AuthError("context-qsh-not-allowed", f"route accepts {sorted(accepts)}")
        kind = TokenKind.CONTEXT
    else:
        if TokenKind.QSH not in accepts:
            raise AuthError("qsh-not-allowed", f"route accepts {sorted(accepts)}")
        if not hmac.compare_digest(claim.encode(), query_hash(canonical).encode()):
            raise AuthError("qsh-mismatch", f"computed {describe_canonical(canonical)}")
        kind = TokenKind.QSH
    subject = claims.get("sub")
    return ConnectClaims(
        client_key=client_key,
        account_id=subject if isinstance(subject, str) and subject else None,
        kind=kind,
        issued_at=datetime.fromtimestamp(float(claims["iat"]), UTC),
    )


def describe_canonical(canonical: str) -> str:
    """A canonical request for the log: method, path and parameter names, each value replaced by its
    length (values can hold personal data; names and lengths are what a qsh mismatch is debugged by)."""
    method, _, rest = canonical.partition("&")
    path, _, query = rest.partition("&")
    params = []
    for pair in filter(None, query.split("&")):
        name, _, value = pair.partition("=")
        params.append(f"{name}=<{len(value)}>")
    return f"canonical request {method}&{path}&{'&'.join(params)}"


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


async def verify_signed_install(
    token: str | None,
    *,
    body_client_key: str | None,
    app_base_url: str,
    method: str,
    raw_path: str,
    raw_query: bytes,
    keys: InstallKeys,
    clock: Clock,
    leeway: float = DEFAULT_LEEWAY,
) -> ConnectClaims:
    """Verify the RS256 token of an ``installed``/``uninstalled`` callback (signed install).

    The ``kid`` is validated before any fetch; ``aud`` must be ``app_base_url`` (a string, or an array
    containing it; a trailing ``/`` is ignored); ``iss`` must equal the body's ``clientKey``; ``qsh`` must
    match the request.

    Args:
        body_client_key: the body's ``clientKey``; ``None`` to verify the token before reading the body
            (the caller then compares the returned ``client_key`` with the body's).

    Raises:
        AuthError: any failed check (an HS256 token, even one signed with the body's secret, is refused).
    """
    if not token:
        raise AuthError("missing-token")
    parsed = parse(token, "RS256")
    kid = parsed.header.get("kid")
    if not isinstance(kid, str):
        raise AuthError("bad-kid")
    claims = verify_signature(parsed, await keys.key(kid), "RS256")
    aud = claims.get("aud")
    audiences = (
        [aud] if isinstance(aud, str) else [a for a in aud if isinstance(a, str)] if isinstance(aud, list) else []
    )
    if not any(_same_url(a, app_base_url) for a in audiences):
        raise AuthError("audience", f"aud {str(aud)[:120]!r}, expected {app_base_url!r}")
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer or (body_client_key is not None and issuer != body_client_key):
        raise AuthError("issuer", "iss differs from the body's clientKey")
    check_times(claims, clock.now().timestamp(), leeway)
    claim, canonical = _qsh(claims, method, raw_path, raw_query, urlsplit(app_base_url).path)
    if not hmac.compare_digest(claim.encode(), query_hash(canonical).encode()):
        raise AuthError("qsh-mismatch", f"computed {describe_canonical(canonical)}")
    return ConnectClaims(
        client_key=issuer,
        account_id=None,
        kind=TokenKind.QSH,
        issued_at=datetime.fromtimestamp(float(claims["iat"]), UTC),
    )


def sign_outbound(
    method: str,
    url: str,
    *,
    app_key: str,
    secret: bytes,
    product_base_url: str,
    now: float,
    lifetime: int = 180,
) -> str:
    """An ``Authorization`` header value (``JWT <token>``) for a call from the app to a product REST API.

    ``iss`` is the app key and ``qsh`` is computed over the path relative to the product's context path
    (the path of the tenant's ``baseUrl``), with the same canonical-request code that verifies inbound
    requests. ``exp`` is ``iat + lifetime`` (180 s, as Atlassian's examples use).

    Args:
        now: the current time in POSIX seconds, from the injected clock.
    """
    parts = urlsplit(url)
    canonical = canonical_request(method, parts.path, parts.query, base_path=urlsplit(product_base_url).path)
    issued = int(now)
    claims = {"iss": app_key, "iat": issued, "exp": issued + lifetime, "qsh": query_hash(canonical)}
    return "JWT " + jwt.encode(claims, secret, algorithm="HS256")
