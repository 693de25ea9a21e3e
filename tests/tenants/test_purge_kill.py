"""Kill tests: a purge killed (SIGKILL) at random instants always ends consistent after a rerun, and in
no state in between is a tenant marked purged but readable, or destroyed without being accounted for."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from charter.atlassian import ConnectLifecycle
from charter.clock import FrozenClock
from charter.policy import load_charter
from charter.runtime import Runtime, open_runtime
from charter.store import PurgeRow, RecordRow, TenantRow
from charter.tenants import EventKind
from tests.conftest import EXAMPLES, ROOT

T0 = datetime(2026, 11, 1, tzinfo=UTC)
APP = "com.example.issue-notes.connect"
TENANTS = 4
RECORDS = 1500


def charter() -> object:
    return load_charter(EXAMPLES / "forge-remote.toml", clock=FrozenClock(datetime(2026, 11, 29, tzinfo=UTC)))


def runtime(data_dir: Path, db: str | None, keys: str | None) -> Runtime:
    return open_runtime(charter(), data_dir=data_dir, clock=FrozenClock(T0), database_url=db, keys_database_url=keys)  # type: ignore[arg-type]


def seed(data_dir: Path, db: str | None = None, keys: str | None = None) -> dict[str, int]:
    with runtime(data_dir, db, keys) as rt:
        counts = {}
        for n in range(TENANTS):
            client_key = f"fake-client-key-{n:04d}"
            payload = ConnectLifecycle.model_validate(
                {
                    "key": APP,
                    "clientKey": client_key,
                    "sharedSecret": f"s-fake-{n}",
                    "baseUrl": "https://fake.atlassian.net",
                    "productType": "jira",
                    "eventType": "installed",
                }
            )
            tenant = rt.registry.connect_installed(APP, payload, at=T0).id
            rows = [
                RecordRow(
                    tenant_id=tenant,
                    kind="note",
                    key=f"FAKE-1/{i:05d}",
                    value=rt.keyring.seal(tenant, f"record:note:FAKE-1/{i:05d}", b'{"text":"x"}'),
                    created_at=T0,
                    updated_at=T0,
                )
                for i in range(RECORDS)
            ]
            with rt.database.session() as session:
                session.add_all(rows)
            rt.registry.connect_event(APP, client_key, EventKind.UNINSTALLED, at=T0 + timedelta(hours=1))
            counts[tenant] = RECORDS
        return counts


def state(rt: Runtime, tenant: str) -> tuple[bool, bool, bool, int, bool]:
    """(purge row exists, purge finished, keys live, records left, tenant row exists)"""
    with rt.database.session() as session:
        purge = session.get(PurgeRow, tenant)
        records = session.scalar(select(func.count()).where(RecordRow.tenant_id == tenant)) or 0
        row = session.get(TenantRow, tenant)
    return (
        purge is not None,
        bool(purge and purge.finished_at),
        bool(rt.keyring.live_versions(tenant)),
        records,
        row is not None,
    )


def check_between(rt: Runtime, tenants: dict[str, int]) -> tuple[int, ...]:
    """Assert the invariants; return how many tenants are in each phase (untouched, accounted, finished)."""
    phases = [0, 0, 0]
    for tenant, records in tenants.items():
        accounted, finished, keys_live, left, registered = state(rt, tenant)
        if not accounted:
            assert keys_live and left == records and registered, "destroyed or deleted without being accounted for"
        if finished:
            assert not keys_live and left == 0 and not registered, "marked purged but still readable"
        if not keys_live:
            assert accounted, "keys destroyed without a purge record"
        phases[2 if finished else 1 if accounted else 0] += 1
    return tuple(phases)


def check_final(rt: Runtime, tenants: dict[str, int]) -> None:
    for tenant in tenants:
        assert state(rt, tenant) == (True, True, False, 0, False)
    assert rt.audit.verify().ok
    receipts = [e.payload["tenant_id"] for e in rt.audit.entries(kind="tenant.purged")]
    assert sorted(receipts) == sorted(tenants)
    for entry in rt.audit.entries(kind="tenant.purged"):
        assert entry.payload["deleted"]["records"] == {"note": RECORDS}


def spawn(data_dir: Path, *urls: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.tenants.purge_worker", str(data_dir), *urls],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def run_killed(data_dir: Path, delay: float, *urls: str) -> float | None:
    proc = spawn(data_dir, *urls)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    out = proc.communicate(timeout=30)[0]
    done = [line for line in out.splitlines() if line.startswith("done")]
    return float(done[0].split()[1]) if done else None


def finish(data_dir: Path, *urls: str) -> bool:
    """Run the purge again to its end; True when it said so and exited 0."""
    proc = spawn(data_dir, *urls)
    out = proc.communicate(timeout=120)[0]
    return proc.returncode == 0 and any(line.startswith("done") for line in out.splitlines())


@pytest.mark.slow
def test_sqlite_purge_killed_at_random_instants(tmp_path: Path) -> None:
    golden = tmp_path / "golden"
    tenants = seed(golden)
    calibration = tmp_path / "calibration"
    shutil.copytree(golden, calibration)
    full = run_killed(calibration, 30.0)
    assert full is not None
    rng = random.Random(4)
    seen: set[tuple[int, ...]] = set()
    for run in range(8):
        data = tmp_path / f"run-{run}"
        shutil.copytree(golden, data)
        for _kill in range(2):  # killed, then killed again while resuming
            run_killed(data, rng.uniform(0, full * 1.1))
            with runtime(data, None, None) as rt:
                seen.add(check_between(rt, tenants))
        assert finish(data), "the rerun did not finish"
        with runtime(data, None, None) as rt:
            check_final(rt, tenants)
    print("phases seen after kills:", sorted(seen))


@pytest.mark.slow
def test_postgresql_purge_killed_at_random_instants(tmp_path: Path, postgres_url: str, postgres_keys_url: str) -> None:
    key_database_url = postgres_keys_url
    rng = random.Random(7)
    tenants = seed(tmp_path, postgres_url, key_database_url)
    snapshot = _pg_snapshot(postgres_url, key_database_url)
    full = None
    for run in range(4):
        if run:
            _pg_restore(snapshot, postgres_url, key_database_url)
        for _kill in range(1 if full is None else 2):
            delay = 30.0 if full is None else rng.uniform(0, full * 1.1)
            took = run_killed(tmp_path, delay, postgres_url, key_database_url)
            full = full or took
            with runtime(tmp_path, postgres_url, key_database_url) as rt:
                check_between(rt, tenants)
        assert finish(tmp_path, postgres_url, key_database_url), "the rerun did not finish"
        with runtime(tmp_path, postgres_url, key_database_url) as rt:
            check_final(rt, tenants)


_TABLES = {"data": ["tenants", "tenant_events", "records", "audit_log", "audit_head", "purges"], "keys": ["data_keys"]}


def _pg_snapshot(db: str, keys: str) -> dict[str, list[tuple[object, ...]]]:
    from sqlalchemy import create_engine, text

    snap: dict[str, list[tuple[object, ...]]] = {}
    for url, tables in ((db, _TABLES["data"]), (keys, _TABLES["keys"])):
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as conn:
            for table in tables:
                snap[table] = [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table}"))]
        engine.dispose()
    return snap


def _pg_restore(snap: dict[str, list[tuple[object, ...]]], db: str, keys: str) -> None:
    from sqlalchemy import MetaData, create_engine

    for url, tables in ((db, _TABLES["data"]), (keys, _TABLES["keys"])):
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        meta = MetaData()
        meta.reflect(engine, only=tables)
        with engine.begin() as conn:
            for table in reversed(tables):
                conn.execute(meta.tables[table].delete())
            for table in tables:
                rows = snap[table]
                if rows:
                    cols = [c.name for c in meta.tables[table].columns]
                    conn.execute(meta.tables[table].insert(), [dict(zip(cols, r, strict=True)) for r in rows])
        engine.dispose()
