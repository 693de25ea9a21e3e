"""The store port's conformance suite: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import stat
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from charter.clock import FrozenClock
from charter.store import (
    Database,
    StoreError,
    list_statement_versions,
    prepare_data_dir,
    record_statement,
    sqlite_url,
)
from charter.store._db import HEADS


def test_upgrade_creates_the_schema_and_is_idempotent(database_url: str) -> None:
    db = Database(database_url)
    db.upgrade()
    db.upgrade()
    tables = set(inspect(db.engine).get_table_names())
    assert {
        "statement_versions",
        "alembic_version",
        "tenants",
        "tenant_events",
        "records",
        "audit_log",
        "purges",
        "support_cases",
        "support_attachments",
        "support_messages",
        "security_reports",
        "security_notifications",
        "security_alerts",
        "tenant_contacts",
        "account_refs",
        "account_reports",
        "privacy_settings",
        "dsr_requests",
        "marketplace_contacts",
        "contact_suppressions",
        "evidence",
    } <= tables
    assert "data_keys" not in tables  # keys live in the key store, never beside the data
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0008"
    assert db.ping()
    db.close()


@pytest.mark.parametrize(("role", "location"), [("data", "migrations"), ("keys", "key_migrations")])
def test_migrations_match_the_models(database_url: str, role: str, location: str) -> None:
    db = Database(database_url, role=role)  # type: ignore[arg-type]
    db.upgrade()
    config = Config()
    config.set_main_option("script_location", f"charter.store:{location}")
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.check(config)  # raises when autogenerate would find a difference
    db.close()


def test_the_key_store_has_its_own_tables(database_url: str) -> None:
    keys = Database(database_url, role="keys")
    keys.upgrade()
    assert set(inspect(keys.engine).get_table_names()) == {"data_keys", "alembic_version_keys"}
    keys.close()


def test_statement_history_records_each_text_once(database_url: str) -> None:
    db = Database(database_url)
    db.upgrade()
    clock = FrozenClock(datetime(2026, 11, 1, 9, tzinfo=UTC))
    first, new = record_statement(db, version="1.0", effective=date(2026, 11, 1), markdown="# A\n", clock=clock)
    assert new
    assert first.recorded_at == datetime(2026, 11, 1, 9, tzinfo=UTC)
    assert first.recorded_at.tzinfo is UTC
    clock.advance(timedelta(days=1))
    again, new = record_statement(db, version="1.0", effective=date(2026, 11, 1), markdown="# A\n", clock=clock)
    assert not new and again == first
    clock.advance(timedelta(days=1))
    _, new = record_statement(db, version="1.1", effective=date(2026, 11, 3), markdown="# B\n", clock=clock)
    assert new
    versions = list_statement_versions(db)
    assert [(v.version, v.markdown) for v in versions] == [("1.0", "# A\n"), ("1.1", "# B\n")]
    assert versions[1].recorded_at == datetime(2026, 11, 3, 9, tzinfo=UTC)
    db.close()


def test_concurrent_replicas_record_one_row(database_url: str) -> None:
    setup = Database(database_url)
    setup.upgrade()
    setup.close()
    clock = FrozenClock(datetime(2026, 11, 1, tzinfo=UTC))
    results: list[bool] = []
    errors: list[BaseException] = []

    def replica() -> None:
        db = Database(database_url)
        try:
            results.append(
                record_statement(db, version="1", effective=date(2026, 1, 1), markdown="same", clock=clock)[1]
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=replica) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results.count(True) == 1
    db = Database(database_url)
    assert len(list_statement_versions(db)) == 1
    db.close()


def test_naive_datetimes_never_reach_the_database(database_url: str) -> None:
    db = Database(database_url)
    db.upgrade()

    class NaiveClock(FrozenClock):
        def now(self) -> datetime:
            return datetime(2026, 1, 1)  # noqa: DTZ001 - the fault under test

    with pytest.raises(Exception, match="naive datetime"):
        record_statement(
            db,
            version="1",
            effective=date(2026, 1, 1),
            markdown="x",
            clock=NaiveClock(datetime(2026, 1, 1, tzinfo=UTC)),
        )
    assert list_statement_versions(db) == []
    db.close()


def test_data_dir_is_private(tmp_path: Path) -> None:
    directory = prepare_data_dir(tmp_path / "a" / "b")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    assert stat.S_IMODE(prepare_data_dir(loose).stat().st_mode) == 0o700
    db = Database(sqlite_url(directory))
    db.upgrade()
    assert stat.S_IMODE((directory / "charter.db").stat().st_mode) == 0o600
    db.close()


def test_data_dir_errors(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(StoreError, match="exists but is not a directory"):
        prepare_data_dir(file)
    with pytest.raises(StoreError, match="cannot create data directory"):
        prepare_data_dir(file / "sub")


def test_bad_urls_are_refused() -> None:
    with pytest.raises(StoreError, match="malformed database URL"):
        Database("not a url")
    with pytest.raises(StoreError, match="unsupported database 'mysql'"):
        Database("mysql://x@localhost/db")


def test_unreachable_postgres_is_a_clear_error() -> None:
    db = Database("postgresql://nobody:secret-password@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(StoreError) as info:
        db.upgrade()
    assert "cannot open database postgresql+psycopg://nobody:***@127.0.0.1:1/none" in str(info.value)
    assert "secret-password" not in str(info.value)


def test_the_pinned_heads_are_the_heads_of_the_migration_trees() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    for role, location in (("data", "charter.store:migrations"), ("keys", "charter.store:key_migrations")):
        config = Config()
        config.set_main_option("script_location", location)
        assert ScriptDirectory.from_config(config).get_heads() == [HEADS[role]]


def test_a_database_at_its_head_is_opened_without_alembic(tmp_path: Path) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'charter.db'}"
    db = Database(url)
    db.upgrade()
    assert db.revision() == HEADS["data"]
    db.close()
    code = (
        "import sys; from charter.store import Database; db = Database(sys.argv[1]); db.upgrade(); "
        "print('alembic' in sys.modules, db.revision())"
    )
    out = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", HEADS["data"]]
