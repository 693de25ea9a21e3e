"""FIT verification: cases B07 (the token never chooses its algorithm) and B09 (audience from config)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from charter.atlassian import AuthError, ForgeVerifier, JwksCache, bearer_token
from charter.clock import FrozenClock
from tests.atlassian.fakes import (
    APP_ID,
    CLOUD_ID,
    FORGE_KID,
    INSTALLATION,
    OTHER_APP_ID,
    KeyServer,
    fit,
    fit_claims,
    forged,
    public_der,
    public_pem,
    rsa_key,
)

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
T = NOW.timestamp()


def verify(token: str | None, *, app_ids: tuple[str, ...] = (APP_ID,), now: datetime = NOW) -> Any:
    keys = KeyServer()

    async def go() -> Any:
        async with httpx.AsyncClient(transport=keys.transport()) as client:
            clock = FrozenClock(now)
            jwks = JwksCache("https://forge.example.com/.well-known/jwks.json", clock=clock, client=client)
            return await ForgeVerifier(app_ids, jwks=jwks, clock=clock).verify(token)

    return asyncio.run(go())


def reason(token: str | None, **kwargs: Any) -> str:
    with pytest.raises(AuthError) as info:
        verify(token, **kwargs)
    assert str(info.value) == "unauthorized"  # the outward message never varies
    return info.value.reason


def test_valid_fit_gives_the_verified_tenant() -> None:
    invocation = verify(fit(T))
    assert invocation.app_id == APP_ID
    assert invocation.installation_id == INSTALLATION
    assert invocation.cloud_id == CLOUD_ID
    assert invocation.api_base_url == f"https://api.atlassian.com/ex/jira/{CLOUD_ID}"
    assert invocation.principal == "557058:fake-user-0001"
    assert invocation.license_active is True
    assert invocation.issued_at == NOW


# -- B07 --------------------------------------------------------------------------------------------


def test_b07_alg_none() -> None:
    token = forged({"alg": "none", "typ": "JWT", "kid": FORGE_KID}, fit_claims(T))
    assert reason(token) == "algorithm"


@pytest.mark.parametrize(
    "secret",
    [public_pem(rsa_key()), public_der(rsa_key()), b"\n" + public_pem(rsa_key())],
    ids=["pem", "der", "pem-with-newline"],
)
def test_b07_hs256_keyed_with_the_public_key(secret: bytes) -> None:
    token = forged(
        {"alg": "HS256", "kid": FORGE_KID},
        fit_claims(T),
        lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )
    assert reason(token) == "algorithm"


def test_b07_rs512_with_the_right_key() -> None:
    assert reason(fit(T, alg="RS512")) == "algorithm"


def test_b07_allowed_algorithms_are_constants() -> None:
    import re
    from pathlib import Path

    import charter

    source = "\n".join(p.read_text("utf-8") for p in Path(charter.__file__).parent.rglob("*.py"))
    # No PyJWT decode with a list of algorithms anywhere: parse() and verify_signature() take one
    # algorithm, and every caller passes it as a literal.
    assert re.findall(r"algorithms=", source) == []
    calls = [
        line
        for line in source.splitlines()
        if re.search(r"\b(parse|verify_signature)\((token|raw|parsed)\b", line) and "def " not in line
    ]
    assert len(calls) >= 5, calls
    for line in calls:
        assert re.search(r', "(RS256|HS256)"\)(\s*#.*)?$', line), line


# -- B09 --------------------------------------------------------------------------------------------


def test_b09_token_for_another_app() -> None:
    other = {**fit_claims(T)["app"], "id": OTHER_APP_ID}
    assert reason(fit(T, aud=OTHER_APP_ID, app=other)) == "audience"


def test_b09_wrong_issuer() -> None:
    assert reason(fit(T, iss="forge/other")) == "issuer"


def test_b09_expired_120_seconds_ago() -> None:
    token = fit(T - 145, exp=int(T) - 120)
    assert reason(token) == "expired"


def test_b09_no_app_id_configured_refuses_to_start() -> None:
    with pytest.raises(ValueError, match="no Forge app id is configured"):
        ForgeVerifier([], jwks=None, clock=FrozenClock(NOW))  # type: ignore[arg-type]


def test_b09_app_id_must_match_aud() -> None:
    mismatched = {**fit_claims(T)["app"], "id": OTHER_APP_ID}
    assert reason(fit(T, app=mismatched)) == "audience"


# -- other attacks and claims -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"nbf": int(T) + 60}, "not-yet-valid"),
        ({"iat": int(T) + 60}, "issued-in-future"),
        ({"nbf": None}, "missing-claim"),
        ({"exp": None}, "missing-claim"),
        ({"jti": None}, "missing-claim"),
        ({"exp": "soon"}, "malformed"),
        ({"icLabel": "fake-ic"}, "isolated-cloud"),
        ({"aud": [OTHER_APP_ID]}, "audience"),
        ({"principal": "bad account id!"}, "malformed"),
    ],
)
def test_claim_checks(claims: dict[str, Any], expected: str) -> None:
    assert reason(fit(T, **claims)) == expected


def test_small_clock_skew_is_allowed() -> None:
    assert verify(fit(T + 5)).installation_id == INSTALLATION
    assert verify(fit(T - 25 - 5)).installation_id == INSTALLATION  # exp 5 s ago, within the 10 s leeway


def test_bad_signature_and_unknown_key() -> None:
    assert reason(fit(T, key=rsa_key("attacker"))) == "bad-signature"
    assert reason(fit(T, kid="unknown-kid")) == "unknown-key"
    assert reason(fit(T, kid="../x")) == "bad-kid"


@pytest.mark.parametrize("token", [None, "", "abc", "a.b", "a.b.c.d", "eyJ.eyJ.sig"])
def test_garbage(token: str | None) -> None:
    assert reason(token) in {"missing-token", "malformed"}


def test_missing_installation_claims() -> None:
    app = {**fit_claims(T)["app"]}
    del app["installationId"]
    assert reason(fit(T, app=app)) == "missing-claim"
    app = {**fit_claims(T)["app"], "apiBaseUrl": "http://insecure.example.com/x"}
    assert reason(fit(T, app=app)) == "missing-claim"


def test_licence_states() -> None:
    inactive = {**fit_claims(T)["app"], "license": {"active": False}}
    assert verify(fit(T, app=inactive)).license_active is False
    legacy = {**fit_claims(T)["app"], "license": {"isActive": True}}
    assert verify(fit(T, app=legacy)).license_active is True
    free = {k: v for k, v in fit_claims(T)["app"].items() if k != "license"}
    assert verify(fit(T, app=free)).license_active is None


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("JWT abc") is None
    assert bearer_token("Bearer") is None
    assert bearer_token(None) is None
