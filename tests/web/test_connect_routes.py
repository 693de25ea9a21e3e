"""Connect end to end: signed install (B04), context tokens (B03), lifecycle ordering, secret rotation."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from charter.atlassian import canonical_request, query_hash
from charter.tenants import State
from tests.atlassian.fakes import connect_token, install_token, rsa_key
from tests.conftest import NOW
from tests.web.conftest import Harness

T = NOW.timestamp()
APP = "com.example.issue-notes.connect"
TENANT = "fake-client-key-1111"
BASE = "https://notes.example.com/connect"
STORED = "s1-fake-secret-0001"


def body(event: str, secret: str | None = STORED, client_key: str = TENANT, key: str = APP) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": key,
        "clientKey": client_key,
        "baseUrl": "https://fake-site.atlassian.net",
        "productType": "jira",
        "eventType": event,
        "description": "Atlassian Jira at https://fake-site.atlassian.net",
    }
    if secret is not None:
        data["sharedSecret"] = secret
    return data


def signed(path: str, **overrides: Any) -> dict[str, str]:
    args: dict[str, Any] = {"iss": TENANT, "aud": BASE, "path": path, "now": T}
    args.update(overrides)
    return {"authorization": f"JWT {install_token(**args)}"}


def installed(h: Harness, secret: str = STORED) -> None:
    r = h.client.post("/connect/installed", json=body("installed", secret), headers=signed("/connect/installed"))
    assert r.status_code == 204


def stored_secret(h: Harness) -> bytes | None:
    found = h.registry.connect_secret(APP, TENANT)
    return None if found is None else found[1]


def test_signed_install_registers_the_tenant(harness: Harness) -> None:
    installed(harness)
    tenant = harness.registry.by_client_key(APP, TENANT)
    assert tenant is not None and tenant.state is State.INSTALLED
    assert stored_secret(harness) == STORED.encode()


B04_QSH = "4a2e1de8ca74e6cafe8862d332fa3ac7a8e51e692bc6d798ea4dfedc14948bf4"


@pytest.mark.parametrize(
    ("row", "headers", "reason"),
    [
        ("a", lambda: {}, "missing-token"),
        (
            "b",
            lambda: {
                "authorization": "JWT "
                + connect_token(
                    "attacker-secret-9999",
                    iss=TENANT,
                    method="POST",
                    path="/connect/installed",
                    base_path="/connect",
                    now=T,
                )
            },
            "algorithm",
        ),
        ("c", lambda: signed("/connect/installed", aud="https://evil.example.net", qsh=B04_QSH), "audience"),
        (
            "d",
            lambda: signed(
                "/connect/installed", iss="fake-client-key-2222", aud="https://evil.example.net", qsh=B04_QSH
            ),
            "audience",
        ),
        ("d2", lambda: signed("/connect/installed", iss="fake-client-key-2222"), "issuer"),
        ("e", lambda: signed("/connect/elsewhere"), "qsh-mismatch"),
        ("f", lambda: signed("/connect/installed", kid="../../../etc/x"), "bad-kid"),
        ("forged-key", lambda: signed("/connect/installed", key=rsa_key("attacker")), "bad-signature"),
    ],
)
def test_b04_forged_installs_change_nothing(harness: Harness, row: str, headers: Any, reason: str) -> None:
    installed(harness)
    fetches = len(harness.keys.requests)
    with capture_logs() as logs:
        r = harness.client.post("/connect/installed", json=body("installed", "attacker-secret-9999"), headers=headers())
    assert r.status_code == 401, row
    assert r.text == "Unauthorized\n"
    assert [e["reason"] for e in logs if e["event"] == "request rejected"] == [reason]
    assert stored_secret(harness) == STORED.encode()
    if row == "f":
        assert len(harness.keys.requests) == fetches  # no outbound fetch for a bad kid
    assert "attacker-secret-9999" not in repr(logs)


@pytest.mark.parametrize("aud", [BASE, [BASE], [BASE + "/"]])
def test_b04_g_a_genuine_reinstall_replaces_the_secret(harness: Harness, aud: Any) -> None:
    installed(harness)
    r = harness.client.post(
        "/connect/installed",
        json=body("installed", "s2-fake-rotated-0002"),
        headers=signed("/connect/installed", aud=aud),
    )
    assert r.status_code == 204
    assert stored_secret(harness) == b"s2-fake-rotated-0002"
    old = connect_token(STORED, iss=TENANT, path="/connect/panel", query="issueKey=FAKE-1", base_path="/connect", now=T)
    assert (
        harness.client.get("/connect/panel?issueKey=FAKE-1", headers={"authorization": f"JWT {old}"}).status_code == 401
    )
    new = connect_token(
        "s2-fake-rotated-0002", iss=TENANT, path="/connect/panel", query="issueKey=FAKE-1", base_path="/connect", now=T
    )
    assert (
        harness.client.get("/connect/panel?issueKey=FAKE-1", headers={"authorization": f"JWT {new}"}).status_code == 200
    )


def test_b04_uninstall_must_be_signed_too(harness: Harness) -> None:
    installed(harness)
    assert query_hash(canonical_request("POST", "/connect/uninstalled", "", base_path="/connect")) == (
        "8a8d06f040b246544d605b08aeb419e30b5cf0e200f512888486585ecce6a52e"
    )
    forged_hs = connect_token(
        STORED, iss=TENANT, method="POST", path="/connect/uninstalled", base_path="/connect", now=T
    )
    for headers in (
        {},
        {"authorization": f"JWT {forged_hs}"},
        signed("/connect/uninstalled", aud="https://evil.example.net"),
    ):
        r = harness.client.post("/connect/uninstalled", json=body("uninstalled", None), headers=headers)
        assert r.status_code == 401
        tenant = harness.registry.by_client_key(APP, TENANT)
        assert tenant is not None and tenant.clock_started_at is None  # an unverified uninstall starts no clock
    harness.clock.sleep(60)
    r = harness.client.post(
        "/connect/uninstalled", json=body("uninstalled", None), headers=signed("/connect/uninstalled", now=T + 60)
    )
    assert r.status_code == 204
    tenant = harness.registry.by_client_key(APP, TENANT)
    assert tenant is not None and tenant.state is State.UNINSTALLED
    assert tenant.clock_started_at is not None and tenant.clock_started_at.timestamp() == int(T + 60)


def hs(path: str, query: str = "", method: str = "GET", secret: str = STORED, **claims: Any) -> dict[str, str]:
    return {
        "authorization": "JWT "
        + connect_token(
            secret, iss=TENANT, method=method, path=path, query=query, base_path="/connect", now=T, **claims
        )
    }


def test_enable_disable_with_the_stored_secret_and_late_events(harness: Harness) -> None:
    installed(harness)
    assert (
        harness.client.post(
            "/connect/enabled", json=body("enabled", None), headers=hs("/connect/enabled", method="POST")
        ).status_code
        == 204
    )
    assert harness.registry.by_client_key(APP, TENANT).state is State.ACTIVE  # type: ignore[union-attr]
    wrong = hs("/connect/disabled", method="POST", secret="attacker-secret-9999")
    assert harness.client.post("/connect/disabled", json=body("disabled", None), headers=wrong).status_code == 401
    harness.clock.sleep(120)
    harness.client.post(
        "/connect/uninstalled", json=body("uninstalled", None), headers=signed("/connect/uninstalled", now=T + 120)
    )
    late = hs("/connect/disabled", method="POST")  # issued at T: before the uninstall
    harness.client.post("/connect/disabled", json=body("disabled", None), headers=late)
    assert harness.registry.by_client_key(APP, TENANT).state is State.UNINSTALLED  # type: ignore[union-attr]


def test_b03_context_tokens_over_http(harness: Harness) -> None:
    installed(harness)
    context = {
        "authorization": "JWT " + connect_token(STORED, iss=TENANT, qsh="context-qsh", now=T, sub="557058:fake-user")
    }
    assert harness.client.get("/connect/panel?issueKey=FAKE-1", headers=context).status_code == 401
    created = harness.client.post("/connect/notes/FAKE-1", json={"text": "from Connect"}, headers=context)
    assert created.status_code == 201
    no_qsh = {"authorization": "JWT " + connect_token(STORED, iss=TENANT, qsh="", now=T, sub="557058:fake-user")}
    assert harness.client.get("/connect/panel?issueKey=FAKE-1", headers=no_qsh).status_code == 401
    assert harness.client.post("/connect/notes/FAKE-1", json={"text": "x"}, headers=no_qsh).status_code == 401
    panel = hs("/connect/panel", "issueKey=FAKE-1")
    ok = harness.client.get("/connect/panel?issueKey=FAKE-1", headers=panel)
    assert ok.status_code == 200 and "<li>from Connect</li>" in ok.text
    assert harness.client.get("/connect/panel?issueKey=FAKE-2", headers=panel).status_code == 401  # replayed elsewhere
    in_query = connect_token(
        STORED, iss=TENANT, path="/connect/panel", query="issueKey=FAKE-1", base_path="/connect", now=T
    )
    assert harness.client.get(f"/connect/panel?issueKey=FAKE-1&jwt={in_query}").status_code == 200


def test_unknown_and_gone_tenants(harness: Harness) -> None:
    assert (
        harness.client.get(
            "/connect/panel?issueKey=FAKE-1", headers=hs("/connect/panel", "issueKey=FAKE-1")
        ).status_code
        == 401
    )
    installed(harness)
    harness.clock.sleep(60)
    harness.client.post(
        "/connect/uninstalled", json=body("uninstalled", None), headers=signed("/connect/uninstalled", now=T + 60)
    )
    assert (
        harness.client.get(
            "/connect/panel?issueKey=FAKE-1", headers=hs("/connect/panel", "issueKey=FAKE-1")
        ).status_code
        == 401
    )


def test_lifecycle_bodies_are_validated(harness: Harness) -> None:
    headers = signed("/connect/installed")
    assert harness.client.post("/connect/installed", content=b"not json", headers=headers).status_code == 400
    assert harness.client.post("/connect/installed", json=body("installed", None), headers=headers).status_code == 400
    assert harness.client.post("/connect/installed", json=body("uninstalled"), headers=headers).status_code == 400
    other_app = body("installed", key="com.example.other-app")
    assert harness.client.post("/connect/installed", json=other_app, headers=headers).status_code == 401
    assert harness.registry.by_client_key(APP, TENANT) is None


def test_a_qsh_token_reads_notes(harness: Harness) -> None:
    installed(harness)
    response = harness.client.get("/connect/notes/FAKE-1", headers=hs("/connect/notes/FAKE-1"))
    assert response.status_code == 200


def test_nothing_is_read_before_the_token_is_verified(harness: Harness) -> None:
    for path in ("/connect/installed", "/connect/uninstalled", "/connect/enabled", "/connect/disabled"):
        for content in (b"{oops", b"", b"[1]", b"[" * 100000):
            r = harness.client.post(path, content=content)
            assert r.status_code == 401, (path, content[:5])
            assert r.text == "Unauthorized\n"


def test_deep_json_after_authentication_is_400(harness: Harness) -> None:
    installed(harness)
    deep = b"[" * 100000
    assert (
        harness.client.post("/connect/enabled", content=deep, headers=hs("/connect/enabled", method="POST")).status_code
        == 400
    )
    context = {
        "authorization": "JWT " + connect_token(STORED, iss=TENANT, qsh="context-qsh", now=T, sub="557058:fake-user")
    }
    assert harness.client.post("/connect/notes/FAKE-1", content=deep, headers=context).status_code == 400


def test_size_limits(harness: Harness) -> None:
    big = b"x" * (1024 * 1024 + 1)
    assert harness.client.post("/connect/installed", content=big).status_code == 413
    assert harness.client.get("/connect/panel", headers={"x-filler": "y" * 40000}).status_code == 431


def test_a_body_for_another_tenant_is_refused(harness: Harness) -> None:
    installed(harness)
    other = body("installed", "s9-fake", client_key="fake-client-key-2222")
    r = harness.client.post("/connect/installed", json=other, headers=signed("/connect/installed"))
    assert r.status_code == 401
    assert harness.registry.by_client_key(APP, "fake-client-key-2222") is None


def test_iframe_routes_may_be_framed_by_atlassian_sites_only(harness: Harness) -> None:
    installed(harness)
    panel = harness.client.get("/connect/panel?issueKey=FAKE-1", headers=hs("/connect/panel", "issueKey=FAKE-1"))
    assert panel.status_code == 200
    assert "x-frame-options" not in panel.headers
    assert "frame-ancestors https://*.atlassian.net" in panel.headers["content-security-policy"]
    assert "https://connect-cdn.atl-paas.net" in panel.headers["content-security-policy"]
    api = harness.client.get("/connect/notes/FAKE-1", headers=hs("/connect/notes/FAKE-1"))
    assert api.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in api.headers["content-security-policy"]


def test_no_redirect_before_authentication(harness: Harness) -> None:
    r = harness.client.get(
        "/connect/panel/?issueKey=FAKE-1&jwt=abc", headers={"host": "evil.example"}, follow_redirects=False
    )
    assert r.status_code == 404
    assert "location" not in r.headers


def test_a_qsh_mismatch_logs_names_and_lengths_not_values(harness: Harness) -> None:
    from structlog.testing import capture_logs

    installed(harness)
    token = connect_token(
        STORED, iss=TENANT, path="/connect/panel", query="issueKey=FAKE-1", base_path="/connect", now=T
    )
    with capture_logs() as logs:
        r = harness.client.get(f"/connect/panel?issueKey=FAKE-1&email=jane.roe%40example.com&jwt={token}")
    assert r.status_code == 401
    [rejected] = [e for e in logs if e["event"] == "request rejected"]
    assert rejected["reason"] == "qsh-mismatch"
    assert rejected["detail"] == "computed canonical request GET&/panel&email=<22>&issueKey=<6>"
    assert "jane.roe" not in repr(logs)
