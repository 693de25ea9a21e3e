"""``charter serve`` with examples/notes_app.py, as a real process: signed Forge and Connect requests are
served, and each attack is refused with 401."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.atlassian.fakes import FakeKeyServer, fit, fit_claims, forged, install_token
from tests.atlassian.fakes import connect_token as hs_token
from tests.conftest import EXAMPLES

TENANT = "fake-client-key-1111"
SECRET = "s1-fake-secret-0001"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    keys = FakeKeyServer()
    port = _free_port()
    data = tmp_path_factory.mktemp("data")
    log = data.parent / "server.log"
    env = {
        **os.environ,
        "CHARTER_FORGE_JWKS_URL": f"{keys.url}/jwks.json",
        "CHARTER_CONNECT_INSTALL_KEYS_URL": f"{keys.url}/keys",
    }
    command = [
        sys.executable,
        "-m",
        "charter",
        "serve",
        "--config",
        str(EXAMPLES / "forge-remote.toml"),
        "--app",
        str(EXAMPLES / "notes_app.py"),
        "--data-dir",
        str(data),
        "--port",
        str(port),
    ]
    with log.open("w") as stderr:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url, log, data
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        keys.close()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_forge_requests(served: tuple[str, Path, Path]) -> None:
    url, log, data = served
    now = time.time()
    event = {
        "eventType": "avi:forge:installed:app",
        "context": "ari:cloud:jira::site/00000000-0000-4000-8000-00000000c10d",
    }
    assert httpx.post(f"{url}/forge/lifecycle", json=event, headers=bearer(fit(now))).status_code == 204
    assert httpx.post(f"{url}/forge/notes/FAKE-7", json={"text": "hello"}, headers=bearer(fit(now))).status_code == 201
    notes = httpx.get(f"{url}/forge/notes/FAKE-7", headers=bearer(fit(now))).json()["notes"]
    assert [(n["text"], n["author"]) for n in notes] == [("hello", "557058:fake-user-0001")]
    # both records are reported to Atlassian's personal-data reporting API as holding the author's data
    with contextlib.closing(sqlite3.connect(data / "charter.db")) as db:
        refs = sorted(db.execute("SELECT holder, account_id FROM account_refs").fetchall())
    assert refs == [("note", "557058:fake-user-0001"), ("note-author", "557058:fake-user-0001")]
    attacks = {
        "none": forged({"alg": "none", "kid": "fake-forge-kid-1"}, fit_claims(now)),
        "rs512": fit(now, alg="RS512"),
        "audience": fit(now, aud="ari:cloud:ecosystem::app/00000000-0000-4000-8000-0000000000bb"),
        "issuer": fit(now, iss="forge/other"),
        "expired": fit(now - 200, exp=int(now) - 120),
        "future": fit(now, nbf=int(now) + 3600),
    }
    for name, token in attacks.items():
        response = httpx.get(f"{url}/forge/notes/FAKE-7", headers=bearer(token))
        assert response.status_code == 401, name
        assert response.text == "Unauthorized\n"
    assert httpx.get(f"{url}/forge/notes/FAKE-7").status_code == 401
    logged = log.read_text()
    assert '"reason": "algorithm"' in logged and '"reason": "expired"' in logged
    assert attacks["none"] not in logged


def test_connect_requests(served: tuple[str, Path, Path]) -> None:
    url, _, _ = served
    now = time.time()
    body = {
        "key": "com.example.issue-notes.connect",
        "clientKey": TENANT,
        "sharedSecret": SECRET,
        "baseUrl": "https://fake-site.atlassian.net",
        "productType": "jira",
        "eventType": "installed",
    }
    signed = install_token(iss=TENANT, aud="https://notes.example.com/connect", path="/connect/installed", now=now)
    assert (
        httpx.post(f"{url}/connect/installed", json=body, headers={"authorization": f"JWT {signed}"}).status_code == 204
    )
    context = hs_token(SECRET, iss=TENANT, qsh="context-qsh", now=now, sub="557058:fake-user-0002")
    added = httpx.post(
        f"{url}/connect/notes/FAKE-8", json={"text": "from Connect"}, headers={"authorization": f"JWT {context}"}
    )
    assert added.status_code == 201
    panel = hs_token(SECRET, iss=TENANT, path="/connect/panel", query="issueKey=FAKE-8", base_path="/connect", now=now)
    ok = httpx.get(f"{url}/connect/panel?issueKey=FAKE-8&jwt={panel}")
    assert ok.status_code == 200 and "from Connect" in ok.text
    attacks = [
        f"{url}/connect/panel?issueKey=FAKE-9&jwt={panel}",  # replay on another URL
        f"{url}/connect/panel?issueKey=FAKE-8&jwt={context}",  # context token on a qsh route
        f"{url}/connect/panel?issueKey=FAKE-8&jwt={hs_token('wrong-secret', iss=TENANT, path='/connect/panel', query='issueKey=FAKE-8', base_path='/connect', now=now)}",
        f"{url}/connect/panel?issueKey=FAKE-8&jwt={hs_token(SECRET, iss='fake-client-key-2222', path='/connect/panel', query='issueKey=FAKE-8', base_path='/connect', now=now)}",
    ]
    for attack in attacks:
        assert httpx.get(attack).status_code == 401, attack
    forged_install = hs_token(
        "attacker-secret-9999", iss=TENANT, method="POST", path="/connect/installed", base_path="/connect", now=now
    )
    hijack = {**body, "sharedSecret": "attacker-secret-9999"}
    assert (
        httpx.post(
            f"{url}/connect/installed", json=hijack, headers={"authorization": f"JWT {forged_install}"}
        ).status_code
        == 401
    )
    still = hs_token(SECRET, iss=TENANT, path="/connect/panel", query="issueKey=FAKE-8", base_path="/connect", now=now)
    assert httpx.get(f"{url}/connect/panel?issueKey=FAKE-8&jwt={still}").status_code == 200


def test_no_plaintext_secret_on_disk(served: tuple[str, Path, Path]) -> None:
    _, log, data = served
    raw = b"".join(p.read_bytes() for p in data.glob("charter.db*"))
    assert b"fake-client-key-1111" in raw  # the right file: the tenant id is stored, findable
    assert SECRET.encode() not in raw
    assert b"hello" not in raw and b"from Connect" not in raw  # note texts are sealed too
    assert SECRET not in log.read_text()
