"""Public keys fetched over HTTPS: the Forge JWKS and the Connect install-keys CDN.

Both caches are built for hostile input. A token chooses which ``kid`` Charter looks up, so:

* a ``kid`` is validated before it is ever put in a URL (``../../etc/x`` is refused without a fetch);
* an unknown ``kid`` causes at most one fetch per cooldown, so random ``kid``\\s cannot make Charter hammer
  the key endpoint;
* when the endpoint fails, the last good keys keep working up to a maximum stale age, then verification
  fails closed;
* fetches have a timeout and a size limit, follow no redirects, and accept only RSA keys of 2048 bits or
  more.

Times come from the injected clock's monotonic reading, so the tests drive them with a frozen clock.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.algorithms import RSAAlgorithm

from charter.atlassian._errors import AuthError
from charter.clock import Clock
from charter.logs import get_logger

__all__ = ["FORGE_JWKS_URL", "INSTALL_KEYS_URL", "InstallKeys", "JwksCache", "KeyPolicy", "valid_kid"]

log = get_logger("charter.atlassian.keys")

#: Production Forge JWKS (Forge docs, "Verifying remote requests").
FORGE_JWKS_URL = "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json"
#: Connect signed-install public keys, by kid (Connect "signed-install" API migration).
INSTALL_KEYS_URL = "https://connect-install-keys.atlassian.com"

_KID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.:-]{0,127}$")
_MIN_RSA_BITS = 2048


def valid_kid(kid: object) -> bool:
    """Whether ``kid`` is safe to look up and to put in a URL path (no ``/``, no ``..``, bounded)."""
    return isinstance(kid, str) and bool(_KID.match(kid)) and ".." not in kid


@dataclass(frozen=True)
class KeyPolicy:
    """How keys are cached and fetched. All durations in seconds.

    Attributes:
        ttl: keys are refetched after this long.
        refetch_cooldown: at most one fetch per this long, whatever the tokens ask for.
        max_stale: after a failed refetch, the last good keys are used up to this age, then not at all.
        timeout: connect/read timeout of one fetch.
        max_bytes: larger responses are refused.
    """

    ttl: float = 3600.0
    refetch_cooldown: float = 60.0
    max_stale: float = 24 * 3600.0
    timeout: float = 3.0
    max_bytes: int = 256 * 1024


async def _get(client: httpx.AsyncClient, url: str, policy: KeyPolicy) -> bytes:
    async with client.stream("GET", url, timeout=policy.timeout, follow_redirects=False) as response:
        if response.status_code != 200:
            raise ValueError(f"HTTP {response.status_code}")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > policy.max_bytes:
                raise ValueError("response too large")
        return bytes(body)


def _rsa(key: Any) -> RSAPublicKey:
    if not isinstance(key, RSAPublicKey) or key.key_size < _MIN_RSA_BITS:
        raise ValueError("not an RSA public key of at least 2048 bits")
    return key


def _parse_jwks(body: bytes) -> dict[str, RSAPublicKey]:
    document = json.loads(body)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys: dict[str, RSAPublicKey] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not valid_kid(jwk.get("kid")):
            continue
        if jwk.get("alg", "RS256") != "RS256" or jwk.get("use", "sig") != "sig":
            continue
        try:
            keys[jwk["kid"]] = _rsa(RSAAlgorithm.from_jwk(jwk))
        except (ValueError, TypeError, KeyError):
            continue
    if not keys:
        raise ValueError("no usable RS256 keys")
    return keys


class JwksCache:
    """The Forge JWKS, cached (see the module docstring for the rules).

    Args:
        url: the JWKS URL (production default :data:`FORGE_JWKS_URL`).
        clock: the clock whose ``monotonic()`` times the cache.
        client: the HTTP client (one shared ``httpx.AsyncClient``).
        policy: cache and fetch limits.
    """

    def __init__(self, url: str, *, clock: Clock, client: httpx.AsyncClient, policy: KeyPolicy | None = None) -> None:
        self.url = url
        self._clock = clock
        self._client = client
        self._policy = policy or KeyPolicy()
        self._keys: dict[str, RSAPublicKey] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    def _age(self, now: float) -> float:
        return float("inf") if self._fetched_at is None else now - self._fetched_at

    async def key(self, kid: str) -> RSAPublicKey:
        """The public key for ``kid``.

        Raises:
            AuthError: ``bad-kid``, ``unknown-key`` (not in a fresh JWKS), or ``keys-unavailable``
                (no JWKS younger than ``max_stale``).
        """
        if not valid_kid(kid):
            raise AuthError("bad-kid")
        now = self._clock.monotonic()
        if kid in self._keys and self._age(now) < self._policy.ttl:
            return self._keys[kid]
        await self._maybe_refresh()
        now = self._clock.monotonic()
        if self._age(now) >= self._policy.max_stale:
            raise AuthError("keys-unavailable", "no JWKS fetched within max_stale")
        if kid not in self._keys:
            raise AuthError("unknown-key")
        return self._keys[kid]

    async def _maybe_refresh(self) -> None:
        async with self._lock:
            now = self._clock.monotonic()
            if self._attempted_at is not None and now - self._attempted_at < self._policy.refetch_cooldown:
                return
            self._attempted_at = now
            self.fetches += 1
            try:
                keys = _parse_jwks(await _get(self._client, self.url, self._policy))
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("jwks fetch failed", url=self.url, reason=type(exc).__name__, detail=str(exc)[:200])
                return
            self._keys = keys
            self._fetched_at = self._clock.monotonic()
            log.info("jwks fetched", url=self.url, kids=sorted(keys))


class InstallKeys:
    """Connect signed-install public keys, fetched by ``kid`` from the install-keys CDN and cached per kid.

    Args:
        base_url: the CDN (production default :data:`INSTALL_KEYS_URL`); the key is at ``{base_url}/{kid}``.
        clock, client, policy: as for :class:`JwksCache`; ``refetch_cooldown`` follows a fetch that found
            no key, so unknown kids cause at most one fetch per cooldown.
    """

    def __init__(
        self, base_url: str, *, clock: Clock, client: httpx.AsyncClient, policy: KeyPolicy | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._clock = clock
        self._client = client
        self._policy = policy or KeyPolicy(ttl=24 * 3600.0, refetch_cooldown=10.0)
        self._keys: dict[str, tuple[RSAPublicKey, float]] = {}
        self._missed_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str) -> RSAPublicKey:
        """The public key for ``kid``.

        Raises:
            AuthError: ``bad-kid`` (refused before any fetch), ``unknown-key`` or ``keys-unavailable``.
        """
        if not valid_kid(kid):
            raise AuthError("bad-kid")
        cached = self._keys.get(kid)
        now = self._clock.monotonic()
        if cached is not None and now - cached[1] < self._policy.ttl:
            return cached[0]
        async with self._lock:
            cached = self._keys.get(kid)
            now = self._clock.monotonic()
            if cached is not None and now - cached[1] < self._policy.ttl:
                return cached[0]
            # Only fetches that found no key start the cooldown: a burst of random kids causes one
            # fetch per cooldown, while a genuine new kid right after a good fetch is fetched at once.
            if self._missed_at is None or now - self._missed_at >= self._policy.refetch_cooldown:
                self.fetches += 1
                try:
                    body = await _get(self._client, f"{self.base_url}/{kid}", self._policy)
                    key = _rsa(load_pem_public_key(body))
                except (httpx.HTTPError, ValueError, TypeError) as exc:
                    self._missed_at = self._clock.monotonic()
                    log.warning("install key fetch failed", kid=kid, reason=type(exc).__name__)
                else:
                    self._keys[kid] = (key, self._clock.monotonic())
                    return key
            if cached is not None and now - cached[1] < self._policy.max_stale:
                return cached[0]
        raise AuthError("unknown-key" if cached is None else "keys-unavailable")
