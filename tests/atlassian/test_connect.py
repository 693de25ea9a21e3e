"""Connect JWTs: request tokens (B01.7, B03, B07), signed installs (B04), and outbound signing."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest

from charter.atlassian import (
    AuthError,
    InstallKeys,
    TokenKind,
    canonical_request,
    connect_token,
    peek_client_key,
    query_hash,
    sign_outbound,
    verify_connect_request,
    verify_signed_install,
)
from charter.clock import FrozenClock
from tests.atlassian.fakes import KeyServer, forged, hmac_signer, install_token, rsa_key
from tests.atlassian.fakes import connect_token as make_token

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
T = NOW.timestamp()
TENANT = "fake-client-key-1111"
SECRET = "s1-fake-secret-0001-padded-to-32-bytes"
CONTEXT_CLAIMS = {"sub": "557058:fake-user"}


def verify(
    token: str,
    *,
    method: str = "GET",
    path: str = "/",
    query: str = "",
    accepts: Any = (TokenKind.QSH,),
    secret: str = SECRET,
) -> Any:
    return verify_connect_request(
        token,
        secret=secret.encode(),
        client_key=TENANT,
        method=method,
        raw_path=path,
        raw_query=query.encode(),
        base_path="/connect",
        accepts=frozenset(accepts),
        clock=FrozenClock(NOW),
    )


def reason(token: str, **kwargs: Any) -> str:
    with pytest.raises(AuthError) as info:
        verify(token, **kwargs)
    return info.value.reason


def test_qsh_token_on_its_request() -> None:
    token = make_token(
        SECRET,
        iss=TENANT,
        path="/connect/panel",
        query="issueKey=FAKE-1",
        base_path="/connect",
        now=T,
        sub="557058:fake-user",
    )
    claims = verify(token, path="/connect/panel", query="issueKey=FAKE-1")
    assert claims.client_key == TENANT
    assert claims.account_id == "557058:fake-user"
    assert claims.kind is TokenKind.QSH


def test_b01_7_inbound_qsh_over_the_b01_request() -> None:
    query = "jql=project+%3D+FAKE+AND+status+%3D+%22In+Progress%22&maxResults=10"
    qsh = "908b2c597bdab389fd6ce89deb90a52878c0694f4bc2553a4862140bf76b365f"
    token = make_token(SECRET, iss=TENANT, qsh=qsh, now=T)
    assert verify(token, path="/connect/rest/api/3/search", query=query).kind is TokenKind.QSH
    other = query.replace("maxResults=10", "maxResults=11")
    assert reason(token, path="/connect/rest/api/3/search", query=other) == "qsh-mismatch"


# -- B03 --------------------------------------------------------------------------------------------


def test_b03_context_token_is_refused_on_a_qsh_route() -> None:
    token = make_token(SECRET, iss=TENANT, qsh="context-qsh", now=T, **CONTEXT_CLAIMS)
    assert reason(token, path="/connect/panel", query="issueKey=FAKE-1") == "context-qsh-not-allowed"


def test_b03_context_token_is_accepted_where_declared() -> None:
    token = make_token(SECRET, iss=TENANT, qsh="context-qsh", now=T, **CONTEXT_CLAIMS)
    claims = verify(token, method="POST", path="/connect/api/notes", accepts=[TokenKind.CONTEXT])
    assert claims.kind is TokenKind.CONTEXT


def test_b03_token_without_qsh_is_refused_everywhere() -> None:
    token = make_token(SECRET, iss=TENANT, qsh="", now=T, **CONTEXT_CLAIMS)
    assert reason(token, path="/connect/panel", query="issueKey=FAKE-1") == "missing-claim"
    assert reason(token, method="POST", path="/connect/api/notes", accepts=[TokenKind.CONTEXT]) == "missing-claim"


def test_b03_replay_on_another_url() -> None:
    qsh = "5afd8e5e090e737418ea4a590a1d6da285bcb713deeb6f8e0aac7406a4f40c56"
    assert query_hash(canonical_request("GET", "/connect/panel", "issueKey=FAKE-1", base_path="/connect")) == qsh
    token = make_token(SECRET, iss=TENANT, qsh=qsh, now=T)
    assert verify(token, path="/connect/panel", query="issueKey=FAKE-1").kind is TokenKind.QSH
    assert reason(token, path="/connect/panel", query="issueKey=FAKE-2") == "qsh-mismatch"


def test_b03_a_qsh_token_is_refused_on_a_context_only_route() -> None:
    token = make_token(SECRET, iss=TENANT, method="POST", path="/connect/api/notes", base_path="/connect", now=T)
    assert reason(token, method="POST", path="/connect/api/notes", accepts=[TokenKind.CONTEXT]) == "qsh-not-allowed"


# -- B07 (Connect) ----------------------------------------------------------------------------------


def test_b07_connect_algorithms() -> None:
    claims = {"iss": TENANT, "iat": int(T), "exp": int(T) + 180, "qsh": "context-qsh"}
    assert reason(forged({"alg": "none"}, claims), accepts=[TokenKind.CONTEXT]) == "algorithm"
    rs = jwt.encode(claims, rsa_key(), algorithm="RS256")
    assert reason(rs, accepts=[TokenKind.CONTEXT]) == "algorithm"
    hs512 = forged({"alg": "HS512", "typ": "JWT"}, claims, hmac_signer(SECRET.encode(), hashlib.sha512))
    assert reason(hs512, accepts=[TokenKind.CONTEXT]) == "algorithm"
    with pytest.raises(AuthError) as info:
        peek_client_key(forged({"alg": "none"}, claims))
    assert info.value.reason == "algorithm"


def test_wrong_secret_issuer_and_times() -> None:
    good = {"method": "GET", "path": "/connect/x", "base_path": "/connect"}
    assert (
        reason(make_token("another-secret-of-32-bytes-length!!", iss=TENANT, now=T, **good), path="/connect/x")
        == "bad-signature"
    )
    assert reason(make_token(SECRET, iss="fake-client-key-2222", now=T, **good), path="/connect/x") == "issuer"
    assert reason(make_token(SECRET, iss=TENANT, now=T - 400, **good), path="/connect/x") == "expired"
    assert reason(make_token(SECRET, iss=TENANT, now=T + 400, **good), path="/connect/x") == "issued-in-future"


def test_token_location() -> None:
    assert connect_token("JWT abc.def.ghi", b"") == "abc.def.ghi"
    assert connect_token(None, b"a=1&jwt=abc.def.ghi") == "abc.def.ghi"
    assert connect_token("Bearer abc", b"jwt=abc.def.ghi") is None  # a header that is not JWT is not skipped
    assert connect_token(None, b"a=1") is None


# -- B04 (unit level; the registry side is in tests/web) ------------------------------------------------

BASE_URL = "https://app.example.com/connect"


def install(token: str | None, *, body_client_key: str = TENANT, path: str = "/connect/installed") -> Any:
    keys = KeyServer()

    async def go() -> Any:
        async with httpx.AsyncClient(transport=keys.transport()) as client:
            install_keys = InstallKeys("https://keys.example.com", clock=FrozenClock(NOW), client=client)
            return await verify_signed_install(
                token,
                body_client_key=body_client_key,
                app_base_url=BASE_URL,
                method="POST",
                raw_path=path,
                raw_query=b"",
                keys=install_keys,
                clock=FrozenClock(NOW),
            )

    return asyncio.run(go()), keys


def install_reason(token: str | None, **kwargs: Any) -> tuple[str, None]:
    with pytest.raises(AuthError) as info:
        install(token, **kwargs)
    return info.value.reason, None


B04_QSH = "4a2e1de8ca74e6cafe8862d332fa3ac7a8e51e692bc6d798ea4dfedc14948bf4"


def test_b04_qsh_values_match_the_case() -> None:
    assert query_hash(canonical_request("POST", "/connect/installed", "", base_path="/connect")) == B04_QSH
    assert (
        query_hash(canonical_request("POST", "/connect/uninstalled", "", base_path="/connect"))
        == "8a8d06f040b246544d605b08aeb419e30b5cf0e200f512888486585ecce6a52e"
    )


def test_b04_rows() -> None:
    assert install_reason(None)[0] == "missing-token"
    attacker = make_token(
        "attacker-secret-9999", iss=TENANT, method="POST", path="/connect/installed", base_path="/connect", now=T
    )
    assert install_reason(attacker)[0] == "algorithm"
    evil = install_token(iss=TENANT, aud="https://evil.example.net", path="/connect/installed", now=T, qsh=B04_QSH)
    assert install_reason(evil)[0] == "audience"
    other_iss = install_token(iss="fake-client-key-2222", aud=BASE_URL, path="/connect/installed", now=T)
    assert install_reason(other_iss)[0] == "issuer"
    wrong_qsh = install_token(iss=TENANT, aud=BASE_URL, path="/connect/somewhere-else", now=T)
    assert install_reason(wrong_qsh)[0] == "qsh-mismatch"
    traversal = install_token(iss=TENANT, aud=BASE_URL, path="/connect/installed", now=T, kid="../../../etc/x")
    assert install_reason(traversal)[0] == "bad-kid"
    for aud in (BASE_URL, [BASE_URL], [BASE_URL + "/", "https://other.example.com"]):
        claims, keys = install(install_token(iss=TENANT, aud=aud, path="/connect/installed", now=T))
        assert claims.client_key == TENANT
        assert claims.issued_at == NOW
        assert keys.requests == ["https://keys.example.com/fake-kid-1"]


def test_b04_key_from_another_signer() -> None:
    forged_key = install_token(iss=TENANT, aud=BASE_URL, path="/connect/installed", now=T, key=rsa_key("attacker"))
    assert install_reason(forged_key)[0] == "bad-signature"


# -- outbound ---------------------------------------------------------------------------------------


def test_outbound_signing_uses_the_same_canonical_request() -> None:
    header = sign_outbound(
        "get",
        "https://fake-site.atlassian.net/jira/rest/api/3/search?jql=project%20%3D%20FAKE&maxResults=10",
        app_key="com.example.issue-notes.connect",
        secret=SECRET.encode(),
        product_base_url="https://fake-site.atlassian.net/jira",
        now=T,
    )
    assert header.startswith("JWT ")
    claims = jwt.decode(header[4:], SECRET.encode(), algorithms=["HS256"], options={"verify_exp": False})
    assert claims["iss"] == "com.example.issue-notes.connect"
    assert claims["exp"] - claims["iat"] == 180
    assert claims["qsh"] == query_hash("GET&/rest/api/3/search&jql=project%20%3D%20FAKE&maxResults=10")
