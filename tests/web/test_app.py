from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from charter.clock import FrozenClock
from charter.store import Database
from charter.web import create_app
from tests.conftest import NOW
from tests.policy.test_load import BASE
from tests.statement.test_build import charter_of


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    db = Database(f"sqlite:///{tmp_path / 'charter.db'}")
    db.upgrade()
    with TestClient(create_app(charter_of(BASE), db, clock=FrozenClock(NOW))) as c:
        yield c
    db.close()


def test_trust_page(client: TestClient) -> None:
    r = client.get("/trust")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Example Notes Ltd: Data Security &amp; Privacy Statement</h1>" in r.text
    assert 'Version 3.0, effective <time datetime="2026-11-01">1 November 2026</time>' in r.text
    assert '<link rel="stylesheet" href="/trust/style.css">' in r.text
    assert client.get("/trust/style.css").headers["content-type"] == "text/css; charset=utf-8"


def test_statement_markdown_and_security_txt(client: TestClient) -> None:
    md = client.get("/trust/statement.md")
    assert md.headers["content-type"] == "text/markdown; charset=utf-8"
    assert md.text.startswith("# Example Notes Ltd: Data Security & Privacy Statement\n")
    txt = client.get("/.well-known/security.txt")
    assert txt.headers["content-type"] == "text/plain; charset=utf-8"
    assert "Contact: mailto:security@notes.example.com\n" in txt.text
    assert client.get("/trust/marketplace.json").json()["statementVersion"] == "3.0"


def test_security_headers_on_every_response(client: TestClient) -> None:
    for path in ("/trust", "/healthz", "/missing"):
        r = client.get(path)
        assert r.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-security-policy"].startswith("default-src 'none'")
        assert r.headers["x-frame-options"] == "DENY"
        assert "server" not in r.headers


def test_etag_revalidation(client: TestClient) -> None:
    first = client.get("/trust")
    again = client.get("/trust", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


def test_healthz_reports_the_database(client: TestClient, tmp_path: Path) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {
        "status": "ok",
        "charter_version": r.json()["charter_version"],
        "statement_version": "3.0",
        "database": "ok",
        "time": "2026-11-29T12:00:00+00:00",
    }


def test_healthz_is_503_when_the_database_is_gone() -> None:
    db = Database("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    with TestClient(create_app(charter_of(BASE), db, clock=FrozenClock(NOW))) as c:
        r = c.get("/healthz")
    assert r.status_code == 503
    assert r.json()["database"] == "unavailable"


def test_unknown_paths_and_methods(client: TestClient) -> None:
    assert client.get("/nope").status_code == 404
    assert client.post("/trust").status_code == 405
    assert client.get("/", follow_redirects=False).headers["location"] == "/trust"
    assert client.head("/trust").status_code == 200


def test_an_unhandled_error_is_a_generic_500_with_a_logged_reason(tmp_path: Path) -> None:
    from starlette.routing import Route
    from structlog.testing import capture_logs

    db = Database(f"sqlite:///{tmp_path / 'charter.db'}")
    db.upgrade()
    app = create_app(charter_of(BASE), db, clock=FrozenClock(NOW))

    async def broken(request: object) -> None:
        raise RuntimeError("boom with secret=hunter2")

    app.router.routes.insert(0, Route("/broken", broken))
    with TestClient(app, raise_server_exceptions=False) as client, capture_logs() as logs:
        r = client.get("/broken")
    assert r.status_code == 500
    assert r.text == "Internal server error\n"
    assert [e["error"] for e in logs if e["event"] == "unhandled error"] == ["RuntimeError"]
