"""Shared JWT mechanics: parsing a compact JWS strictly, checking its signature, checking time claims.

The token never chooses its algorithm (case B07): every verifier passes a constant (``"RS256"`` or
``"HS256"``) to :func:`parse`, which refuses any other ``alg`` before a key is even looked up, and
:func:`verify_signature` checks the signature with exactly that algorithm. ``alg: none``, HS/RS key
confusion and algorithm downgrades all fail there.

The compact serialization is parsed once per request, strictly (RFC 7515 section 7.1: three base64url
segments without padding; a ``crit`` header is refused, as Charter understands no extension). The
signature itself is checked by PyJWT's algorithm objects on top of ``cryptography``, which also keep
HMAC keys from being PEM or SSH public keys (CVE-2022-29217).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import Algorithm, HMACAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from charter.atlassian._errors import AuthError

__all__ = ["Token", "check_times", "parse", "verify_signature"]

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_MAX_TOKEN = 16384


class _TenantSecretHMAC(HMACAlgorithm):
    """HS256 for Connect shared secrets, which Atlassian chooses: their length is not ours to police, so
    PyJWT's short-key warning is not emitted on every verification."""

    def check_key_length(self, key: bytes) -> str | None:
        return None


#: The only two algorithms Charter accepts anywhere, each for one kind of token.
_ALGORITHMS: dict[str, Algorithm] = {
    "RS256": RSAAlgorithm(RSAAlgorithm.SHA256),
    "HS256": _TenantSecretHMAC(HMACAlgorithm.SHA256),
}


@dataclass(frozen=True)
class Token:
    """A parsed, **unverified** compact JWS.

    Attributes:
        header: the JOSE header (``alg`` already checked against the expected algorithm).
        claims: the claims, not to be trusted until :func:`verify_signature` returns them.
        signing_input: ``base64url(header) || "." || base64url(payload)``.
        signature: the decoded signature.
    """

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def _b64url(segment: str) -> bytes:
    if len(segment) % 4 == 1 or not _B64URL.fullmatch(segment):
        raise AuthError("malformed")
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except binascii.Error:
        raise AuthError("malformed") from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=") != segment.encode("ascii"):
        raise AuthError("malformed")  # a non-canonical encoding (stray bits in the last character)
    return raw


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise AuthError("malformed") from None
    if not isinstance(value, dict):
        raise AuthError("malformed")
    return value


def parse(token: str | None, algorithm: str) -> Token:
    """Parse ``token`` and check that its ``alg`` is exactly ``algorithm``.

    The claims are for choosing the verification key only (``kid`` in the header, or ``iss`` for a
    Connect tenant); nothing is trusted until :func:`verify_signature`.

    Raises:
        AuthError: ``malformed`` or ``algorithm``.
    """
    if not isinstance(token, str) or len(token) > _MAX_TOKEN or token.count(".") != 2:
        raise AuthError("malformed")
    head_b64, claims_b64, signature_b64 = token.split(".")
    header = _json_object(_b64url(head_b64))
    if header.get("alg") != algorithm:
        raise AuthError("algorithm", f"alg {str(header.get('alg'))[:20]!r}, expected {algorithm}")
    if "crit" in header:
        raise AuthError("malformed", "crit header: no JWS extension is understood")
    return Token(
        header=header,
        claims=_json_object(_b64url(claims_b64)),
        signing_input=f"{head_b64}.{claims_b64}".encode("ascii"),
        signature=_b64url(signature_b64),
    )


@functools.lru_cache(maxsize=4096)
def _prepared_secret(secret: bytes) -> bytes:
    # PyJWT's checks (no PEM or SSH public key as an HMAC secret) run once per secret, not per request.
    prepared: bytes = _ALGORITHMS["HS256"].prepare_key(secret)
    return prepared


def verify_signature(token: Token, key: RSAPublicKey | bytes, algorithm: str) -> dict[str, Any]:
    """Check ``token``'s signature with ``key`` under exactly ``algorithm``; return its claims.

    Time and audience claims are not checked here (:func:`check_times` does, with the injected clock).

    Raises:
        AuthError: ``algorithm`` (the token was parsed for another algorithm) or ``bad-signature``.
    """
    if token.header.get("alg") != algorithm:
        raise AuthError("algorithm")
    verifier = _ALGORITHMS[algorithm]
    try:
        prepared = _prepared_secret(key) if isinstance(key, bytes) else verifier.prepare_key(key)
    except (InvalidKeyError, TypeError, ValueError):
        raise AuthError("bad-key") from None
    if not verifier.verify(token.signing_input, prepared, token.signature):
        raise AuthError("bad-signature")
    return token.claims


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
