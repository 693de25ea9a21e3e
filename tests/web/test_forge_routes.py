"""Forge Remote end to end: lifecycle, verified routes, attacks (B07, B09), access probes."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from structlog.testing import capture_logs

from charter.tenants import State
from tests.atlassian.fakes import (
    CLOUD_ID,
    FORGE_KID,
    INSTALLATION,
    OTHER_APP_ID,
    fit,
    fit_claims,
    forged,
    public_pem,
    rsa_key,
)
from tests.conftest import NOW
from tests.web.conftest import Harness

T = NOW.timestamp()


def auth(token: str, **headers: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", **headers}


def install(h: Harness) -> None:
    body = {
        "eventType": "avi:forge:installed:app",
        "id": "00000000-0000-4000-8000-0000000000c1",
        "context": f"ari:cloud:jira::site/{CLOUD_ID}",
    }
    response = h.client.post("/forge/lifecycle", json=body, headers=auth(fit(T)))
    assert response.status_code == 204


def test_installed_event_registers_the_tenant(harness: Harness) -> None:
    install(harness)
    tenant = harness.registry.by_installation(INSTALLATION)
    assert tenant is not None and tenant.state is State.ACTIVE and tenant.cloud_id == CLOUD_ID


def test_installed_event_in_the_payload_envelope_and_retries(harness: Harness) -> None:
    body = {
        "payload": {
            "eventType": "avi:forge:installed:app",
            "context": f"ari:cloud:jira::site/{CLOUD_ID}",
            "retryContext": {"retryCount": 2},
        }
    }
    for _ in range(3):
        assert harness.client.post("/forge/lifecycle", json=body, headers=auth(fit(T))).status_code == 204
    tenant = harness.registry.by_installation(INSTALLATION)
    assert tenant is not None
    assert len(harness.registry.events(tenant.id)) == 1  # repeated deliveries are one event


def test_notes_round_trip_with_the_verified_user(harness: Harness) -> None:
    install(harness)
    created = harness.client.post("/forge/notes/FAKE-1", json={"text": "first note"}, headers=auth(fit(T)))
    assert created.status_code == 201
    listed = harness.client.get("/forge/notes/FAKE-1", headers=auth(fit(T)))
    assert listed.status_code == 200
    assert [(n["text"], n["author"]) for n in listed.json()["notes"]] == [("first note", "557058:fake-user-0001")]
    assert harness.client.get("/forge/notes/FAKE-2", headers=auth(fit(T))).json()["notes"] == []


def test_headers_and_query_never_choose_the_tenant(harness: Harness) -> None:
    install(harness)
    harness.client.post("/forge/notes/FAKE-1", json={"text": "mine"}, headers=auth(fit(T)))
    other_site = {
        **fit_claims(T)["app"],
        "installationId": "ari:cloud:ecosystem::installation/00000000-0000-4000-8000-0000000000c9",
        "installation": {"id": "x", "contexts": [{"cloudId": "00000000-0000-4000-8000-00000000beef"}]},
    }
    response = harness.client.get(
        f"/forge/notes/FAKE-1?cloudId={CLOUD_ID}&installationId={INSTALLATION}",
        headers=auth(fit(T, app=other_site), **{"x-forge-installation": INSTALLATION, "x-cloud-id": CLOUD_ID}),
    )
    assert response.status_code == 200
    assert response.json()["notes"] == []  # the other site's (verified) tenant, not the one named in headers


def reject(
    harness: Harness, headers: dict[str, str], method: str = "GET", path: str = "/forge/notes/FAKE-1"
) -> dict[str, Any]:
    with capture_logs() as logs:
        response = harness.client.request(
            method, path, headers=headers, json={"text": "x"} if method == "POST" else None
        )
    assert response.status_code == 401
    assert response.text == "Unauthorized\n"
    rejected = [e for e in logs if e["event"] == "request rejected"]
    assert len(rejected) == 1
    token = headers.get("authorization", "")[7:]
    if token:
        assert all(token not in str(v) for e in logs for v in e.values())
    return rejected[0]


def test_attacks_are_401_with_the_reason_in_the_log(harness: Harness) -> None:
    install(harness)
    assert reject(harness, {})["reason"] == "missing-token"
    none = forged({"alg": "none", "typ": "JWT", "kid": FORGE_KID}, fit_claims(T))
    assert reject(harness, auth(none))["reason"] == "algorithm"
    for secret in (public_pem(rsa_key()), b"\n" + public_pem(rsa_key())):
        confused = forged(
            {"alg": "HS256", "kid": FORGE_KID},
            fit_claims(T),
            lambda d, s=secret: hmac.new(s, d, hashlib.sha256).digest(),
        )
        assert reject(harness, auth(confused))["reason"] == "algorithm"
    assert reject(harness, auth(fit(T, alg="RS512")))["reason"] == "algorithm"
    other = {**fit_claims(T)["app"], "id": OTHER_APP_ID}
    assert reject(harness, auth(fit(T, aud=OTHER_APP_ID, app=other)))["reason"] == "audience"
    assert reject(harness, auth(fit(T, iss="forge/other")))["reason"] == "issuer"
    assert reject(harness, auth(fit(T - 145, exp=int(T) - 120)))["reason"] == "expired"
    assert reject(harness, auth(fit(T, nbf=int(T) + 600)))["reason"] == "not-yet-valid"
    assert reject(harness, auth(fit(T, key=rsa_key("attacker"))))["reason"] == "bad-signature"
    assert reject(harness, {"authorization": "Bearer garbage"}, "POST", "/forge/pre-uninstall")["reason"] == "malformed"


def test_oauth_tokens_reach_the_product_client_and_never_the_logs(harness: Harness) -> None:
    install(harness)
    headers = auth(
        fit(T), **{"x-forge-oauth-system": "FAKE-SYSTEM-TOKEN-0003", "x-forge-oauth-user": "FAKE-USER-TOKEN-0004"}
    )
    with capture_logs() as logs:
        harness.product_status[0] = 401
        response = harness.client.post("/forge/access-probe", json={}, headers=headers)
    assert response.status_code == 204
    assert harness.product[-1].headers["authorization"] == "Bearer FAKE-SYSTEM-TOKEN-0003"
    assert str(harness.product[-1].url) == f"https://api.atlassian.com/ex/jira/{CLOUD_ID}/rest/api/3/serverInfo"
    flat = repr(logs)
    assert "FAKE-SYSTEM-TOKEN-0003" not in flat and "FAKE-USER-TOKEN-0004" not in flat


def test_three_failed_daily_probes_end_access_and_a_good_one_restores_it(harness: Harness) -> None:
    install(harness)
    harness.product_status[0] = 403
    for _day in range(3):
        harness.clock.sleep(86400)
        t = harness.clock.now().timestamp()
        harness.client.post(
            "/forge/access-probe", json={}, headers=auth(fit(t), **{"x-forge-oauth-system": "FAKE-SYSTEM-TOKEN"})
        )
    tenant = harness.registry.by_installation(INSTALLATION)
    assert tenant is not None and tenant.state is State.ACCESS_LOST
    assert tenant.clock_started_at == harness.clock.now()
    harness.product_status[0] = 200
    harness.clock.sleep(86400)
    harness.client.post(
        "/forge/access-probe",
        json={},
        headers=auth(fit(harness.clock.now().timestamp()), **{"x-forge-oauth-system": "FAKE"}),
    )
    tenant = harness.registry.by_installation(INSTALLATION)
    assert tenant is not None and tenant.state is State.ACTIVE


def test_pre_uninstall_starts_the_clock(harness: Harness) -> None:
    install(harness)
    body = {"context": {"cloudId": CLOUD_ID, "moduleKey": "pre-uninstall"}, "contextToken": "opaque"}
    harness.clock.sleep(60)
    assert harness.client.post("/forge/pre-uninstall", json=body, headers=auth(fit(T + 60))).status_code == 204
    tenant = harness.registry.by_installation(INSTALLATION)
    assert tenant is not None and tenant.state is State.ACCESS_LOST
    assert tenant.clock_started_at is not None and tenant.clock_started_at.timestamp() == int(T + 60)
    # A trigger firing during the uninstall pause neither gets served nor cancels the deletion.
    harness.clock.sleep(10)
    assert reject(harness, auth(fit(T + 70)))["reason"] == "tenant-not-installed"
    probe = harness.client.post(
        "/forge/access-probe", json={}, headers=auth(fit(T + 70), **{"x-forge-oauth-system": "X"})
    )
    assert probe.status_code == 204
    tenant = harness.registry.by_installation(INSTALLATION)
    assert tenant is not None and tenant.state is State.ACCESS_LOST


def test_inactive_licence_is_refused_and_recorded(harness: Harness) -> None:
    install(harness)
    inactive = {**fit_claims(T)["app"], "license": {"active": False}}
    assert reject(harness, auth(fit(T + 1, app=inactive)))["reason"] == "tenant-not-installed"
    tenant = harness.registry.by_installation(INSTALLATION)
    assert tenant is not None and tenant.state is State.ACCESS_LOST


def test_bad_input_to_a_verified_route_is_400(harness: Harness) -> None:
    install(harness)
    assert harness.client.post("/forge/notes/not-a-key", json={"text": "x"}, headers=auth(fit(T))).status_code == 400
    assert harness.client.post("/forge/notes/FAKE-1", json={"text": ""}, headers=auth(fit(T))).status_code == 400
    assert harness.client.post("/forge/notes/FAKE-1", content=b"{", headers=auth(fit(T))).status_code == 400
    assert harness.client.post("/forge/lifecycle", content=b"not json", headers=auth(fit(T))).status_code == 400


def test_a_jwks_outage_fails_closed_with_401_and_random_kids_do_not_hammer_it(harness: Harness) -> None:
    install(harness)  # keys fetched once
    fetches = len(harness.keys.requests)
    for i in range(20):
        assert reject(harness, auth(fit(T, kid=f"random-kid-{i}")))["reason"] == "unknown-key"
    assert len(harness.keys.requests) - fetches <= 1  # at most one refetch per cooldown
    harness.keys.failing = True
    harness.clock.sleep(25 * 3600)  # past the TTL and the maximum stale age
    now = harness.clock.now().timestamp()
    assert reject(harness, auth(fit(now)))["reason"] == "keys-unavailable"
