"""How fast a purged tenant's data becomes unreadable, and how fast its rows are gone, against a plain
row-by-row DELETE of the same rows (what an application without crypto-shredding does), in one run.

Usage::

    .venv/bin/python bench/purge.py [--records 100000] [--postgres URL | --no-postgres]

For each store (SQLite in a temporary data directory; PostgreSQL at ``--postgres``, default the CI
server, in a schema of its own that is dropped afterwards), two tenants get the same number of sealed
records. One is purged by :class:`charter.tenants.Purger` (account, destroy the data keys, delete the
rows, receipt); the other's rows are deleted one ``DELETE`` per row in one transaction, the baseline.

* **unreadable**: for Charter, when the tenant's data keys are destroyed (from then on no copy of its
  rows, backups included, can be decrypted); for the baseline, when its transaction commits (and copies
  elsewhere stay readable for ever).
* **rows gone**: when the last row is deleted and committed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from charter.atlassian import ConnectLifecycle
from charter.clock import FrozenClock
from charter.logs import configure_logging
from charter.policy import load_charter
from charter.runtime import Runtime, open_runtime
from charter.store import RecordRow
from charter.tenants import EventKind

ROOT = Path(__file__).resolve().parent.parent
APP = "com.example.issue-notes.connect"
T0 = datetime(2026, 10, 1, tzinfo=UTC)
DEFAULT_PG = os.environ.get("CHARTER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def install(rt: Runtime, client_key: str) -> str:
    payload = ConnectLifecycle.model_validate(
        {
            "key": APP,
            "clientKey": client_key,
            "sharedSecret": "s1-fake-bench-secret-0001",
            "baseUrl": "https://fake-bench.atlassian.net",
            "productType": "jira",
            "eventType": "installed",
        }
    )
    return rt.registry.connect_installed(APP, payload, at=T0).id


def fill(rt: Runtime, tenant: str, records: int, batch: int = 5000) -> None:
    value = b'{"text":"a fake note of about one hundred bytes, as an issue-notes app would keep per issue."}'
    for start in range(0, records, batch):
        rows = [
            RecordRow(
                tenant_id=tenant,
                kind="note",
                key=f"FAKE-{i // 10}/{i:06d}",
                value=rt.keyring.seal(tenant, f"record:note:FAKE-{i // 10}/{i:06d}", value),
                created_at=T0,
                updated_at=T0,
            )
            for i in range(start, min(records, start + batch))
        ]
        with rt.database.session() as session:
            session.add_all(rows)


def charter_purge(rt: Runtime, tenant: str, clock: FrozenClock) -> tuple[float, float]:
    rt.registry.connect_event(APP, "fake-client-key-purged", EventKind.UNINSTALLED, at=T0 + timedelta(hours=1))
    clock.set(T0 + timedelta(days=31))
    marks: dict[str, float] = {}
    destroy = rt.keyring.destroy

    def timed_destroy(tenant_id: str) -> Any:
        result = destroy(tenant_id)
        marks["unreadable"] = time.perf_counter()
        return result

    rt.keyring.destroy = timed_destroy  # type: ignore[method-assign]
    started = time.perf_counter()
    receipt = rt.purger.purge(tenant, actor="bench")
    done = time.perf_counter()
    assert receipt is not None
    assert receipt.deleted["records"]["note"] > 0
    assert rt.store.count(tenant) == {}
    return marks["unreadable"] - started, done - started


def row_by_row(rt: Runtime, tenant: str) -> float:
    """One DELETE per row through the driver (no ORM overhead), one transaction; seconds until committed."""
    keys = [key for key, _ in rt.store.list(tenant, "note", limit=10**9)]
    mark = "?" if rt.database.dialect == "sqlite" else "%s"
    sql = f"DELETE FROM records WHERE tenant_id = {mark} AND kind = {mark} AND key = {mark}"
    started = time.perf_counter()
    with rt.database.engine.begin() as conn:
        for key in keys:
            conn.exec_driver_sql(sql, (tenant, "note", key))
    took = time.perf_counter() - started
    assert rt.store.count(tenant) == {}
    return took


def measure(name: str, records: int, database_url: str | None, keys_url: str | None) -> dict[str, float]:
    charter = load_charter(
        ROOT / "examples" / "forge-remote.toml", clock=FrozenClock(datetime(2026, 11, 29, tzinfo=UTC))
    )
    clock = FrozenClock(T0)
    with (
        tempfile.TemporaryDirectory() as tmp,
        open_runtime(
            charter,
            data_dir=Path(tmp) / "data",
            clock=clock,
            database_url=database_url,
            keys_database_url=keys_url,
            environ={},
        ) as rt,
    ):
        purged = install(rt, "fake-client-key-purged")
        baseline = install(rt, "fake-client-key-baseline")
        print(f"{name}: sealing and storing 2 x {records:,} records ...", flush=True)
        fill(rt, purged, records)
        fill(rt, baseline, records)
        base = row_by_row(rt, baseline)
        unreadable, gone = charter_purge(rt, purged, clock)
    return {"unreadable": unreadable, "gone": gone, "baseline": base}


def pg_schemas(url: str) -> tuple[str, str, list[str]] | None:
    import psycopg

    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        print(f"PostgreSQL not measured: {type(exc).__name__}")
        return None
    names = [f"charter_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with conn:
        for schema in names:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in url else "?"
    return (
        f"{url}{sep}options=-csearch_path%3D{names[0]}",
        f"{url}{sep}options=-csearch_path%3D{names[1]}",
        names,
    )


def drop(url: str, names: list[str]) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for schema in names:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    configure_logging(level="warning")
    results = {"SQLite": measure("SQLite", args.records, None, None)}
    if not args.no_postgres and (pg := pg_schemas(args.postgres)) is not None:
        try:
            results["PostgreSQL"] = measure("PostgreSQL", args.records, pg[0], pg[1])
        finally:
            drop(args.postgres, pg[2])
    print()
    print(f"one tenant, {args.records:,} records")
    print("| store | Charter: unreadable | Charter: rows gone | row-by-row DELETE | speed-up: unreadable | rows gone |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(
            f"| {name} | {r['unreadable'] * 1000:,.1f} ms | {r['gone'] * 1000:,.0f} ms | {r['baseline'] * 1000:,.0f} ms"
            f" | {r['baseline'] / r['unreadable']:,.0f}x | {r['baseline'] / r['gone']:,.1f}x |"
        )


if __name__ == "__main__":
    main()
