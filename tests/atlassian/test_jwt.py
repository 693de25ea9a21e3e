"""The strict compact-JWS parser and signature check under every verifier."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from charter.atlassian import AuthError, parse
from charter.atlassian._jwt import check_times, verify_signature
from tests.atlassian.fakes import forged, hmac_signer, public_pem, rsa_key

SECRET = b"s1-fake-secret-0001"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def good() -> str:
    return forged({"alg": "HS256", "typ": "JWT"}, {"iss": "x", "iat": 1, "exp": 2}, hmac_signer(SECRET))


def reason(token: object, algorithm: str = "HS256") -> str:
    with pytest.raises(AuthError) as info:
        verify_signature(parse(token, algorithm), SECRET, algorithm)  # type: ignore[arg-type]
    return info.value.reason


def test_a_good_token_round_trips() -> None:
    assert verify_signature(parse(good(), "HS256"), SECRET, "HS256") == {"iss": "x", "iat": 1, "exp": 2}


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t + "=",  # padding
        lambda t: t.replace(".", "!.", 1),  # junk in a segment (GHSA-hxm8-2xgr-2p9m)
        lambda t: t + ".extra",
        lambda t: t.split(".")[0],
        lambda t: "." * 2,
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # a different (or non-canonical) last character
        lambda t: "x" * 20000,
        lambda t: b64(b"[1]") + "." + t.split(".", 1)[1],  # header is not an object
    ],
)
def test_malformed_tokens(mutate: object) -> None:
    assert reason(mutate(good())) in {"malformed", "bad-signature"}  # type: ignore[operator]


def test_non_canonical_base64_is_refused() -> None:
    head, claims, signature = good().split(".")
    # The last character of a 43-character SHA-256 signature carries 2 unused bits; setting them
    # changes the text but not the decoded bytes.
    assert len(signature) == 43
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = signature[:-1] + alphabet[alphabet.index(signature[-1]) ^ 1]
    assert base64.urlsafe_b64decode(twin + "=") == base64.urlsafe_b64decode(signature + "=")
    assert reason(f"{head}.{claims}.{twin}") == "malformed"


def test_crit_headers_and_other_algorithms_are_refused() -> None:
    crit = forged({"alg": "HS256", "crit": ["b64"], "b64": False}, {"iss": "x"}, hmac_signer(SECRET))
    assert reason(crit) == "malformed"
    assert reason(good(), "RS256") == "algorithm"
    token = parse(good(), "HS256")
    with pytest.raises(AuthError) as info:
        verify_signature(token, SECRET, "RS256")
    assert info.value.reason == "algorithm"


def test_a_public_key_is_never_an_hmac_secret() -> None:
    pem = public_pem(rsa_key())
    token = forged({"alg": "HS256"}, {"iss": "x"}, hmac_signer(pem))
    with pytest.raises(AuthError) as info:
        verify_signature(parse(token, "HS256"), pem, "HS256")
    assert info.value.reason == "bad-key"


@given(st.binary(max_size=64), st.binary(max_size=64))
def test_arbitrary_bytes_never_crash(head: bytes, body: bytes) -> None:
    token = f"{b64(head)}.{b64(body)}.{b64(b'sig')}"
    with pytest.raises(AuthError):
        verify_signature(parse(token, "HS256"), SECRET, "HS256")


def test_time_claims_must_be_numbers() -> None:
    with pytest.raises(AuthError) as info:
        check_times({"exp": True, "iat": 1}, 0, 0)
    assert info.value.reason == "malformed"
