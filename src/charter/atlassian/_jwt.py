"""Shared JWT mechanics: reading the header safely, checking signatures and time claims.

The allowed algorithm of each verifier is a constant passed here, never a value read from the token
(case B07): ``alg: none``, HS/RS confusion and algorithm downgrades all fail at :func:`header`.
"""

from __future__ import annotations

import json
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import HMACAlgorithm
from jwt.api_jws import PyJWS

from charter.atlassian._errors import AuthError

__all__ = ["check_times", "decode_signed", "header", "unverified_claims"]


def header(token: str, algorithm: str) -> dict[str, Any]:
    """The token's JOSE header, after checking that its ``alg`` is exactly ``algorithm``.

    Raises:
        AuthError: ``malformed`` or ``algorithm``.
    """
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 16384:
        raise AuthError("malformed")
    try:
        head = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise AuthError("malformed") from None
    if head.get("alg") != algorithm:
        raise AuthError("algorithm", f"alg {str(head.get('alg'))[:20]!r}, expected {algorithm}")
    return head


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims *before* any check: only for choosing which key to verify with.

    Raises:
        AuthError: ``malformed``.
    """
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise AuthError("malformed") from None
    if not isinstance(claims, dict):
        raise AuthError("malformed")
    return claims


class _TenantSecretHMAC(HMACAlgorithm):
    """HS256 for Connect shared secrets, which Atlassian chooses: their length is not ours to police, so
    PyJWT's short-key warning (raised on every verification) is not emitted."""

    def check_key_length(self, key: bytes) -> str | None:
        return None


# One JWS verifier for the process, knowing exactly the two algorithms Charter accepts anywhere.
_JWS = PyJWS(algorithms=["RS256"])
_JWS.register_algorithm("HS256", _TenantSecretHMAC(HMACAlgorithm.SHA256))


def decode_signed(token: str, key: RSAPublicKey | bytes, algorithm: str) -> dict[str, Any]:
    """Verify the signature with ``key`` under exactly ``algorithm`` and return the claims.

    Time and audience claims are not checked here (:func:`check_times` does, with the injected clock).

    Raises:
        AuthError: ``bad-signature`` or ``malformed``.
    """
    try:
        payload = _JWS.decode(token, key, algorithms=[algorithm])
    except jwt.InvalidSignatureError:
        raise AuthError("bad-signature") from None
    except jwt.PyJWTError:
        raise AuthError("malformed") from None
    try:
        claims = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise AuthError("malformed") from None
    if not isinstance(claims, dict):
        raise AuthError("malformed")
    return claims


def _number(claims: dict[str, Any], name: str, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise AuthError("missing-claim", name)
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AuthError("malformed", f"{name} is not a number")
    return float(value)


def check_times(claims: dict[str, Any], now: float, leeway: float, *, require_nbf: bool = False) -> None:
    """Check ``exp``, ``nbf`` and ``iat`` (NumericDate, RFC 7519 4.1) against ``now`` (POSIX seconds).

    Raises:
        AuthError: ``missing-claim``, ``expired``, ``not-yet-valid`` or ``issued-in-future``.
    """
    exp = _number(claims, "exp", True)
    iat = _number(claims, "iat", True)
    nbf = _number(claims, "nbf", require_nbf)
    if exp is None or iat is None:  # pragma: no cover - required above
        raise AuthError("missing-claim", "exp/iat")
    if now > exp + leeway:
        raise AuthError("expired", f"{now - exp:.0f}s after exp")
    if nbf is not None and now < nbf - leeway:
        raise AuthError("not-yet-valid", f"{nbf - now:.0f}s before nbf")
    if now < iat - leeway:
        raise AuthError("issued-in-future", f"iat {iat - now:.0f}s ahead")
