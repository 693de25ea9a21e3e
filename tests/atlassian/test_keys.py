"""Key caches against a real local HTTP server (the fake Forge JWKS and install-keys CDN), frozen clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from charter.atlassian import AuthError, InstallKeys, JwksCache, KeyPolicy, valid_kid
from charter.clock import FrozenClock
from tests.atlassian.fakes import FORGE_KID, INSTALL_KID, FakeKeyServer, jwks, rsa_key


@pytest.fixture
def server() -> Iterator[FakeKeyServer]:
    s = FakeKeyServer()
    yield s
    s.close()


POLICY = KeyPolicy(ttl=600, refetch_cooldown=60, max_stale=3600, timeout=0.5)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 29, tzinfo=UTC))


async def _jwks_scenario(server: FakeKeyServer, steps: Any) -> Any:
    async with httpx.AsyncClient() as client:
        c = clock()
        cache = JwksCache(f"{server.url}/jwks.json", clock=c, client=client, policy=POLICY)
        return await steps(cache, c)


def test_keys_are_cached_for_the_ttl(server: FakeKeyServer) -> None:
    async def steps(cache: JwksCache, c: FrozenClock) -> None:
        key = await cache.key(FORGE_KID)
        assert key.public_numbers() == rsa_key().public_key().public_numbers()
        for _ in range(50):
            await cache.key(FORGE_KID)
        assert server.paths == ["/jwks.json"]
        c.sleep(601)
        await cache.key(FORGE_KID)
        assert server.paths == ["/jwks.json", "/jwks.json"]

    run(_jwks_scenario(server, steps))


def test_unknown_kids_fetch_at_most_once_per_cooldown(server: FakeKeyServer) -> None:
    async def steps(cache: JwksCache, c: FrozenClock) -> None:
        await cache.key(FORGE_KID)
        for i in range(100):
            with pytest.raises(AuthError) as info:
                await cache.key(f"random-kid-{i}")
            assert info.value.reason == "unknown-key"
        assert len(server.paths) == 1  # the cooldown started with the first fetch
        c.sleep(61)
        # A rotated key published meanwhile is found by the next refetch.
        server.jwks = jwks((FORGE_KID, rsa_key()), ("fake-forge-kid-2", rsa_key("second")))
        await cache.key("fake-forge-kid-2")
        assert len(server.paths) == 2
        with pytest.raises(AuthError):
            await cache.key("random-kid-x")
        assert len(server.paths) == 2

    run(_jwks_scenario(server, steps))


def test_concurrent_misses_fetch_once(server: FakeKeyServer) -> None:
    server.delay = 0.1

    async def steps(cache: JwksCache, c: FrozenClock) -> None:
        keys = await asyncio.gather(*(cache.key(FORGE_KID) for _ in range(20)))
        assert len({id(k) for k in keys}) == 1
        assert server.paths == ["/jwks.json"]

    run(_jwks_scenario(server, steps))


def test_last_good_keys_survive_an_outage_until_max_stale(server: FakeKeyServer) -> None:
    async def steps(cache: JwksCache, c: FrozenClock) -> None:
        await cache.key(FORGE_KID)
        server.status = 503
        c.sleep(601)  # past the TTL: a refetch is attempted and fails
        assert await cache.key(FORGE_KID) is not None
        c.sleep(30)
        await cache.key(FORGE_KID)  # within the cooldown: no new attempt
        assert len(server.paths) == 2
        c.sleep(3600 - 631 + 1)  # past max_stale
        with pytest.raises(AuthError) as info:
            await cache.key(FORGE_KID)
        assert info.value.reason == "keys-unavailable"
        server.status = 200
        c.sleep(61)
        assert await cache.key(FORGE_KID) is not None  # recovers once the endpoint does

    run(_jwks_scenario(server, steps))


def test_timeouts_and_bad_documents_fail_closed(server: FakeKeyServer) -> None:
    server.delay = 1.0

    async def slow(cache: JwksCache, c: FrozenClock) -> None:
        started = time.monotonic()
        with pytest.raises(AuthError) as info:
            await cache.key(FORGE_KID)
        assert info.value.reason == "keys-unavailable"
        assert time.monotonic() - started < 0.95

    run(_jwks_scenario(server, slow))
    server.delay = 0
    for document in ({"keys": "nope"}, [], {"keys": [{"kty": "EC", "kid": FORGE_KID}]}, {"keys": [{"kty": "RSA"}]}):
        server.jwks = document

        async def bad(cache: JwksCache, c: FrozenClock) -> None:
            with pytest.raises(AuthError) as info:
                await cache.key(FORGE_KID)
            assert info.value.reason == "keys-unavailable"

        run(_jwks_scenario(server, bad))


def test_short_rsa_keys_are_refused(server: FakeKeyServer) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    server.jwks = jwks((FORGE_KID, weak))

    async def steps(cache: JwksCache, c: FrozenClock) -> None:
        with pytest.raises(AuthError):
            await cache.key(FORGE_KID)

    run(_jwks_scenario(server, steps))


@pytest.mark.parametrize("kid", ["../../../etc/x", "a/b", "", "x" * 200, "..", "kid with space", "%2e%2e"])
def test_bad_kids_never_reach_the_network(server: FakeKeyServer, kid: str) -> None:
    assert not valid_kid(kid)

    async def steps() -> None:
        async with httpx.AsyncClient() as client:
            keys = InstallKeys(f"{server.url}/keys", clock=clock(), client=client)
            with pytest.raises(AuthError) as info:
                await keys.key(kid)
            assert info.value.reason == "bad-kid"
            cache = JwksCache(f"{server.url}/jwks.json", clock=clock(), client=client)
            with pytest.raises(AuthError):
                await cache.key(kid)

    run(steps())
    assert server.paths == []


def test_install_keys_are_fetched_per_kid_and_cached(server: FakeKeyServer) -> None:
    async def steps() -> None:
        async with httpx.AsyncClient() as client:
            c = clock()
            keys = InstallKeys(f"{server.url}/keys", clock=c, client=client, policy=POLICY)
            first = await keys.key(INSTALL_KID)
            assert await keys.key(INSTALL_KID) is first
            assert server.paths == [f"/keys/{INSTALL_KID}"]
            with pytest.raises(AuthError) as info:
                await keys.key("unknown-kid")
            assert info.value.reason == "unknown-key"
            with pytest.raises(AuthError):
                await keys.key("another-unknown-kid")  # within the cooldown: not fetched
            assert server.paths == [f"/keys/{INSTALL_KID}", "/keys/unknown-kid"]

    run(steps())
