from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from charter.clock import FrozenClock
from charter.server import ServeError, prepare
from charter.store import Database, list_statement_versions, sqlite_url
from tests.conftest import NOW
from tests.policy.test_load import BASE, edit
from tests.statement.test_build import charter_of


def shutdown(app: Starlette) -> None:
    """Run the app's lifespan, which closes its databases and HTTP client."""
    with TestClient(app):
        pass


def test_prepare_creates_everything_and_records_the_statement_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    app, where = prepare(charter_of(BASE), data_dir=data, database_url=None, clock=FrozenClock(NOW))
    shutdown(app)
    assert where == str(data)
    assert (data / "charter.db").exists()
    shutdown(prepare(charter_of(BASE), data_dir=data, database_url=None, clock=FrozenClock(NOW))[0])
    changed = charter_of(edit('version = "3.0"', 'version = "3.1"'))
    shutdown(prepare(changed, data_dir=data, database_url=None, clock=FrozenClock(NOW))[0])
    db = Database(sqlite_url(data))
    assert [v.version for v in list_statement_versions(db)] == ["3.0", "3.1"]
    db.close()
    assert app.state.charter.statement.version == "3.0"


def test_prepare_with_postgres(tmp_path: Path, postgres_url: str) -> None:
    app, where = prepare(charter_of(BASE), data_dir=tmp_path, database_url=postgres_url, clock=FrozenClock(NOW))
    shutdown(app)
    assert where.startswith("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    db = Database(postgres_url)
    assert len(list_statement_versions(db)) == 1
    db.close()


def test_prepare_reports_an_unusable_database(tmp_path: Path) -> None:
    with pytest.raises(ServeError, match="unsupported database 'mysql'"):
        prepare(charter_of(BASE), data_dir=tmp_path, database_url="mysql://x@y/z", clock=FrozenClock(NOW))


def test_a_changed_text_under_the_same_version_is_flagged(tmp_path: Path) -> None:
    from structlog.testing import capture_logs

    shutdown(prepare(charter_of(BASE), data_dir=tmp_path, database_url=None, clock=FrozenClock(NOW))[0])
    reworded = charter_of(edit('logs = "14d"', 'logs = "7d"'))
    with capture_logs() as logs:
        shutdown(prepare(reworded, data_dir=tmp_path, database_url=None, clock=FrozenClock(NOW))[0])
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert [w["version"] for w in warnings] == ["3.0"]
    assert "bump it" in warnings[0]["event"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1@evil.example/jwks.json",
        "http://localhost.evil.example/jwks.json",
        "http://127.0.0.1.nip.io/x",
        "http://evil.example/jwks.json",
        "https://user:pw@keys.example.com/jwks.json",
        "ftp://keys.example.com/jwks.json",
    ],
)
def test_key_urls_must_be_https_or_loopback(url: str) -> None:
    from charter.server import Settings

    with pytest.raises(ServeError, match="CHARTER_FORGE_JWKS_URL must be"):
        Settings.from_env({"CHARTER_FORGE_JWKS_URL": url})


def test_key_url_settings_accepted() -> None:
    from charter.server import Settings

    settings = Settings.from_env(
        {"CHARTER_FORGE_JWKS_URL": "http://127.0.0.1:9999/jwks.json", "CHARTER_TOKEN_LEEWAY": "5"}
    )
    assert settings.forge_jwks_url == "http://127.0.0.1:9999/jwks.json"
    assert settings.leeway == 5.0
    with pytest.raises(ServeError, match="must be a number of seconds"):
        Settings.from_env({"CHARTER_JWKS_TTL": "soon"})


def test_an_existing_database_file_is_made_private(tmp_path: Path) -> None:
    import stat

    db_file = tmp_path / "charter.db"
    db_file.write_bytes(b"")
    db_file.chmod(0o644)
    Database(sqlite_url(tmp_path)).close()
    assert stat.S_IMODE(db_file.stat().st_mode) == 0o600
