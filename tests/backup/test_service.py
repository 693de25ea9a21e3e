"""BackupService on every store (SQLite, PostgreSQL) and every destination (local directory, S3 on moto)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from charter.backup import BackupError, BackupService
from charter.backup._destinations import ARTIFACT, MANIFEST, LocalDestination
from charter.clock import FrozenClock
from charter.crypto import EnvKeyProvider, KekRing
from charter.policy import BackupDestination
from charter.store import Database, KeyDestroyedError, TenantStore
from charter.tenants import EventKind
from tests.conftest import CONNECT_APP, connect_install

KIND = "note"


@pytest.fixture(params=["local", "s3"])
def destination_kind(request: pytest.FixtureRequest) -> str:
    """Every destination: the conformance of the whole service runs once per destination."""
    return str(request.param)


@pytest.fixture
def backups(runtime: Any, destination_kind: str, request: pytest.FixtureRequest) -> BackupService:
    """The runtime's backups, writing to one destination of ``destination_kind``."""
    return _service(runtime, destination_kind, request)


def _service(runtime: Any, kind: str, request: pytest.FixtureRequest, **extra: Any) -> BackupService:
    environ: dict[str, str] = {}
    if kind == "local":
        config = BackupDestination(name="primary", kind="local", path="backups", provider="aws", region="eu-west-1")
    else:
        endpoint, bucket = request.getfixturevalue("s3_bucket")
        environ["CHARTER_S3_ENDPOINT_URL"] = endpoint
        config = BackupDestination(
            name="primary", kind="s3", bucket=bucket, prefix="snapshots", provider="aws", region="eu-west-1"
        )
    policy = runtime.charter.backups.model_copy(update={"destinations": [config], **extra})
    charter = runtime.charter.model_copy(update={"backups": policy})
    return BackupService(
        charter,
        runtime.database,
        runtime.keyring,
        runtime.audit,
        clock=runtime.clock,
        data_dir=runtime.data_dir,
        environ=environ,
    )


def _fill(runtime: Any, tenants: int = 3, records: int = 20) -> list[str]:
    ids = []
    for t in range(tenants):
        tenant = connect_install(runtime.registry, f"fake-client-key-{t:04d}", runtime.clock.now())
        ids.append(tenant)
        for i in range(records):
            runtime.store.put(tenant, KIND, f"FAKE-{i}", {"text": f"secret note {t}-{i} of example.com"})
    return ids


def _restored_store(runtime: Any, url: str) -> Iterator[TenantStore]:
    db = Database(url)
    try:
        yield TenantStore(db, runtime.keyring, kinds=[KIND], clock=runtime.clock)
    finally:
        db.close()


def _restore_target(runtime: Any, request: pytest.FixtureRequest, tmp_path: Path, name: str = "restored") -> str:
    if runtime.database.dialect == "sqlite":
        return str(tmp_path / f"{name}.db")
    from tests.conftest import _postgres_schema

    schema = _postgres_schema()  # a fresh, empty schema of its own (never the runtime's key store)
    url = next(schema)
    request.addfinalizer(lambda: next(schema, None))
    return url


# -- run and list -------------------------------------------------------------------------------------


def test_run_writes_a_verified_encrypted_snapshot_without_the_key_store(runtime: Any, backups: BackupService) -> None:
    _fill(runtime)
    manifest = backups.run()
    [snapshot] = backups.snapshots()
    assert snapshot.id == manifest.id and snapshot.manifest == manifest
    assert snapshot.verified_at == runtime.clock.now()
    assert manifest.taken_at == runtime.clock.now()
    assert manifest.dialect == runtime.database.dialect
    assert manifest.tables["records"] == 60
    assert manifest.tables["tenants"] == 3
    assert "data_keys" not in manifest.tables and "alembic_version_keys" not in manifest.tables
    assert manifest.kek_id == runtime.keyring.kek_id
    assert manifest.stored_bytes < manifest.plain_bytes or manifest.plain_bytes < 200_000
    target = backups.destination()
    with target.open(manifest.id + ARTIFACT) as stream:
        raw = stream.read()
    assert len(raw) == manifest.stored_bytes
    assert b"CREATE TABLE" not in raw and b"SQLite format" not in raw and b"records" not in raw
    kinds = [e.kind for e in runtime.audit.entries() if e.kind.startswith("backup.")]
    assert kinds == ["backup.keys-saved", "backup.created", "backup.verified"]
    created = runtime.audit.entries(kind="backup.created")[0].payload
    assert created["snapshot"] == manifest.id and created["destinations"] == ["primary"]


def test_list_is_newest_first_and_shows_only_complete_snapshots(runtime: Any, backups: BackupService) -> None:
    first = backups.run(verify=False)
    runtime.clock.advance(timedelta(hours=1))
    second = backups.run(verify=False)
    target = backups.destination()
    # what an interrupted run leaves: an artifact without its manifest
    target.put("20261129T130500Z-0badc0" + ARTIFACT, Path(__file__))
    assert [s.id for s in backups.snapshots()] == [second.id, first.id]
    assert all(s.verified_at is None for s in backups.snapshots())


def test_a_failing_destination_leaves_nothing_listed(
    runtime: Any, backups: BackupService, monkeypatch: pytest.MonkeyPatch
) -> None:
    backups.run(verify=False)
    before = backups.destination().names()
    cls = type(backups.destination())

    def full(self: Any, name: str, source: Path) -> None:
        from charter.backup import DestinationError

        raise DestinationError("backup destination 'primary' is full (no space left on device)")

    monkeypatch.setattr(cls, "put", full)
    with pytest.raises(BackupError, match="is full"):
        backups.run()
    monkeypatch.undo()
    after = backups.destination().names()
    assert [n for n in after if n.endswith(MANIFEST)] == [n for n in before if n.endswith(MANIFEST)]
    assert len(set(after) - set(before)) <= 1  # at most an unlisted artifact, which prune removes after a day
    assert len(backups.snapshots()) == 1
    assert not list((runtime.data_dir / ".backup-tmp").glob("*.artifact"))


def test_no_backups_in_the_charter_is_a_clear_error(runtime: Any) -> None:
    charter = runtime.charter.model_copy(update={"backups": None})
    service = BackupService(
        charter, runtime.database, runtime.keyring, runtime.audit, clock=runtime.clock, data_dir=runtime.data_dir
    )
    with pytest.raises(BackupError, match=r"no backups: add a \[backups\] section"):
        service.run()
    with pytest.raises(BackupError, match="no backup destination 'nowhere'"):
        runtime.backups.destination("nowhere")


# -- verify -------------------------------------------------------------------------------------------


def _tamper(backups: BackupService, name: str, change: Any, tmp_path: Path) -> None:
    target = backups.destination()
    with target.open(name) as stream:
        data = stream.read()
    changed = tmp_path / "changed"
    changed.write_bytes(change(data))
    target.put(name, changed)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d[: len(d) // 2], id="truncated"),
        pytest.param(lambda d: d[:-1], id="last-byte-cut"),
        pytest.param(lambda d: d[:100] + bytes([d[100] ^ 1]) + d[101:], id="bit-flipped"),
        pytest.param(lambda d: d + b"\x00", id="extended"),
    ],
)
def test_verify_reports_an_altered_artifact_as_failed(
    runtime: Any, backups: BackupService, change: Any, tmp_path: Path
) -> None:
    _fill(runtime, tenants=1)
    manifest = backups.run()
    _tamper(backups, manifest.id + ARTIFACT, change, tmp_path)
    result = backups.verify(manifest.id)
    assert not result.ok
    assert "does not decrypt" in result.problems[0] or "differs from the manifest" in result.problems[0]
    last = runtime.audit.entries(kind="backup.verified")[-1].payload
    assert last == {"snapshot": manifest.id, "destination": "primary", "ok": False, "problems": result.problems}
    assert backups.snapshots()[0].verified_at is None  # a failed check withdraws the earlier pass


def test_an_artifact_swapped_from_another_snapshot_fails(runtime: Any, backups: BackupService, tmp_path: Path) -> None:
    first = backups.run()
    runtime.clock.advance(timedelta(hours=1))
    second = backups.run()
    target = backups.destination()
    with target.open(first.id + ARTIFACT) as stream:
        (tmp_path / "other").write_bytes(stream.read())
    target.put(second.id + ARTIFACT, tmp_path / "other")
    assert not backups.verify(second.id).ok
    assert backups.verify(first.id).ok


def test_a_damaged_manifest_is_listed_as_such_and_is_an_error_for_verify(
    runtime: Any, backups: BackupService, tmp_path: Path
) -> None:
    manifest = backups.run()
    _tamper(backups, manifest.id + MANIFEST, lambda d: d[:40], tmp_path)
    [snapshot] = backups.snapshots()
    assert snapshot.manifest is None and "damaged" in (snapshot.problem or "")
    result = backups.verify(manifest.id)  # a verdict on the snapshot: failed, and recorded
    assert not result.ok and "damaged" in result.problems[0]
    assert backups.snapshots()[0].failed_at is not None


def test_an_edited_manifest_is_detected_by_its_mac(runtime: Any, backups: BackupService, tmp_path: Path) -> None:
    _fill(runtime, tenants=1)
    manifest = backups.run()
    _tamper(backups, manifest.id + MANIFEST, lambda d: d.replace(b'"records": 20', b'"records": 21'), tmp_path)
    [listed] = backups.snapshots()
    assert listed.manifest is None and "manifest was altered" in (listed.problem or "")  # never shown as verified
    result = backups.verify(manifest.id)
    assert not result.ok and "manifest was altered" in result.problems[0]


def test_the_wrong_key_is_a_clear_error(
    runtime: Any, backups: BackupService, destination_kind: str, request: pytest.FixtureRequest
) -> None:
    manifest = backups.run()
    other = _service(runtime, destination_kind, request)
    # another setup: a KEK that is not the one that wrapped the backup key
    other._keyring = type(runtime.keyring)(
        runtime.key_database, KekRing(EnvKeyProvider("A" * 43 + "=")), clock=runtime.clock
    )
    other._charter = backups._charter
    other._environ = backups._environ
    with pytest.raises(BackupError, match=f"wrapped by the key-encryption key {manifest.kek_id}"):
        other.verify(manifest.id)


# -- restore ------------------------------------------------------------------------------------------


def test_restore_gives_back_every_table_and_value(
    runtime: Any, backups: BackupService, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    tenants = _fill(runtime)
    manifest = backups.run()
    runtime.store.put(tenants[0], KIND, "FAKE-after", {"text": "written after the snapshot"})
    target = _restore_target(runtime, request, tmp_path)
    result = backups.restore(manifest.id, target)
    assert result.tables == manifest.tables
    assert result.tenants_readable == sorted(tenants) and result.tenants_key_destroyed == []
    url = target if "://" in target else f"sqlite:///{target}"
    for store in _restored_store(runtime, url):
        assert store.get(tenants[1], KIND, "FAKE-7") == {"text": "secret note 1-7 of example.com"}
        assert store.get(tenants[0], KIND, "FAKE-after") is None
        assert store.count(tenants[2]) == {KIND: 20}
    restored = Database(url)
    try:
        from charter.audit import AuditLog
        from charter.tenants import Registry

        assert AuditLog(restored, runtime.keyring, clock=runtime.clock).verify().ok
        # the restored database takes new rows: sequences (PostgreSQL) continue after the restored ids
        audit = AuditLog(restored, runtime.keyring, clock=runtime.clock)
        registry = Registry(restored, runtime.keyring, clock=runtime.clock, audit=audit)
        runtime.clock.advance(timedelta(minutes=1))
        registry.connect_event(CONNECT_APP, "fake-client-key-0002", EventKind.UNINSTALLED, at=runtime.clock.now())
        with restored.engine.connect() as connection:
            from sqlalchemy import text

            assert connection.execute(text("SELECT count(*) FROM tenant_events")).scalar() == 4
    finally:
        restored.close()


def test_after_a_purge_an_old_snapshot_restores_everyone_else_and_not_the_purged_tenant(
    runtime: Any, backups: BackupService, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    tenants = _fill(runtime)
    old = backups.run()
    runtime.registry.connect_event(CONNECT_APP, "fake-client-key-0001", EventKind.UNINSTALLED, at=runtime.clock.now())
    runtime.clock.advance(timedelta(days=31))
    [receipt] = runtime.purger.run(actor="test")
    assert receipt.tenant_id == tenants[1]
    target = _restore_target(runtime, request, tmp_path)
    result = backups.restore(old.id, target)  # the old snapshot is not rewritten
    assert result.tenants_key_destroyed == [tenants[1]]
    assert result.tenants_readable == sorted([tenants[0], tenants[2]])
    url = target if "://" in target else f"sqlite:///{target}"
    for store in _restored_store(runtime, url):
        assert store.get(tenants[0], KIND, "FAKE-3") == {"text": "secret note 0-3 of example.com"}
        assert store.count(tenants[1]) == {KIND: 20}  # the rows are there ...
        with pytest.raises(KeyDestroyedError):  # ... and unreadable
            store.get(tenants[1], KIND, "FAKE-3")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_restore_never_overwrites_without_replace_and_then_moves_the_old_file_aside(
    runtime: Any, backups: BackupService, tmp_path: Path
) -> None:
    _fill(runtime, tenants=1)
    manifest = backups.run()
    target = tmp_path / "live.db"
    target.write_bytes(b"the current database")
    with pytest.raises(BackupError, match="exists: restore to a new path, or pass --replace"):
        backups.restore(manifest.id, str(target))
    assert target.read_bytes() == b"the current database"
    result = backups.restore("latest", str(target), replace=True)
    assert result.moved_aside and Path(result.moved_aside).read_bytes() == b"the current database"
    assert sqlite3.connect(target).execute("SELECT count(*) FROM records").fetchone() == (20,)
    assert not [p for p in tmp_path.iterdir() if ".restore-" in p.name]


def test_restore_checks_the_target_kind_and_emptiness(
    runtime: Any, backups: BackupService, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    _fill(runtime, tenants=1)
    manifest = backups.run()
    if runtime.database.dialect == "sqlite":
        with pytest.raises(BackupError, match="restored to a file path"):
            backups.restore(manifest.id, "postgresql://postgres@127.0.0.1/test")
        return
    with pytest.raises(BackupError, match="restored into a database URL"):
        backups.restore(manifest.id, str(tmp_path / "x.db"))
    target = _restore_target(runtime, request, tmp_path)
    backups.restore(manifest.id, target)
    with pytest.raises(BackupError, match="already holds data"):
        backups.restore(manifest.id, target)


# -- consistency under writes (SQLite WAL, open writers) -----------------------------------------------


def test_a_snapshot_is_consistent_while_writers_commit(runtime: Any, backups: BackupService, tmp_path: Path) -> None:
    tenants = _fill(runtime, tenants=2, records=50)
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        i = 0
        while not stop.is_set():
            runtime.store.put(tenants[0], KIND, f"LIVE-{i}", {"n": i})
            i += 1
            written[0] = i

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        manifests = [backups.run(verify=True) for _ in range(3)]
    finally:
        stop.set()
        thread.join()
    assert written[0] > 0
    for manifest in manifests:
        assert backups.verify(manifest.id).ok  # integrity and row counts match what the manifest says


@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_uncommitted_transaction_is_not_in_the_snapshot(runtime: Any, tmp_path: Path) -> None:
    import io

    from charter.backup._sources import dump_database

    _fill(runtime, tenants=1, records=5)
    other = sqlite3.connect(runtime.database.url.database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a writer holds the write lock, with a change not yet committed
    other.execute("DELETE FROM records")
    try:
        out = io.BytesIO()
        dump = dump_database(runtime.database, out, scratch=tmp_path / "scratch")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert dump.tables["records"] == 5
    copy = tmp_path / "copy.db"
    copy.write_bytes(out.getvalue())
    assert sqlite3.connect(copy).execute("SELECT count(*) FROM records").fetchone() == (5,)
    assert not list((tmp_path / "scratch").iterdir())  # the online-backup copy is removed


# -- prune --------------------------------------------------------------------------------------------


def test_prune_keeps_what_the_calendar_policy_says_in_the_charter_zone(
    runtime: Any, destination_kind: str, request: pytest.FixtureRequest
) -> None:
    from charter.policy import KeepPolicy

    service = _service(
        runtime, destination_kind, request, keep=KeepPolicy(daily=2, monthly=2), time_zone="Europe/Berlin"
    )
    clock: FrozenClock = runtime.clock
    start = clock.now()
    ids = []
    for day in range(40):  # daily at 23:30 UTC: 00:30 the next day in Berlin
        clock.set(start.replace(hour=23, minute=30) + timedelta(days=day))
        ids.append(service.run(verify=day == 39).id)
    plan = service.prune(dry_run=True)
    assert len(service.snapshots()) == 40  # a dry run deletes nothing
    kept = {d.snapshot_id: d.reasons for d in plan.decisions if d.keep}
    # 2026-11-29 23:30Z is 2026-11-30 00:30 CET: November's newest is the snapshot of 2026-11-28 23:30Z
    assert kept == {
        ids[39]: ("daily 2027-01-08", "monthly 2027-01", "newest verified"),
        ids[38]: ("daily 2027-01-07",),
        ids[31]: ("monthly 2026-12",),
    }
    done = service.prune()
    assert done.applied and sorted(done.removed) == sorted(set(ids) - set(kept))
    assert {s.id for s in service.snapshots()} == set(kept)
    assert runtime.audit.entries(kind="backup.pruned")[-1].payload["removed"] == done.removed


def test_prune_refuses_when_nothing_is_verified_and_keeps_the_newest_verified(
    runtime: Any, destination_kind: str, request: pytest.FixtureRequest
) -> None:
    from charter.policy import KeepPolicy

    backups = _service(runtime, destination_kind, request, keep=KeepPolicy(daily=1))
    clock: FrozenClock = runtime.clock
    old = backups.run(verify=False)
    with pytest.raises(BackupError, match="nothing was deleted"):
        backups.prune()
    assert [s.id for s in backups.snapshots()] == [old.id]
    assert backups.verify(old.id).ok
    clock.advance(timedelta(days=400))
    for _ in range(3):
        clock.advance(timedelta(days=1))
        backups.run(verify=False)
    plan = backups.prune()
    kept = {d.snapshot_id: d.reasons for d in plan.decisions if d.keep}
    assert kept[old.id] == ("newest verified",)  # the only verified snapshot outlives the policy
    assert len(kept) == 2 and len(plan.removed) == 2


def test_prune_removes_leftovers_of_interrupted_runs_older_than_a_day(runtime: Any, backups: BackupService) -> None:
    manifest = backups.run()
    target = backups.destination()
    stale = "20200101T000000Z-aaaaaa" + ARTIFACT
    fresh = f"{runtime.clock.now():%Y%m%dT%H%M%SZ}-bbbbbb" + ARTIFACT
    target.put(stale, Path(__file__))
    target.put(fresh, Path(__file__))
    plan = backups.prune()
    assert plan.orphans == [stale]
    assert stale not in target.names() and fresh in target.names()
    assert [s.id for s in backups.snapshots()] == [manifest.id]


# -- drill --------------------------------------------------------------------------------------------


class _SlowClock(FrozenClock):
    """Each monotonic reading is five hours after the last: every measured step "takes" hours."""

    def monotonic(self) -> float:
        self.advance(timedelta(hours=5))
        return super().monotonic()


def test_drill_measures_rto_and_rpo_against_the_charter_and_records_them(
    runtime: Any, backups: BackupService, request: pytest.FixtureRequest
) -> None:
    _fill(runtime)
    manifest = backups.run()
    runtime.clock.advance(timedelta(hours=3))
    scratch = None
    if runtime.database.dialect == "postgresql":
        from tests.conftest import _postgres_schema

        schema = _postgres_schema()  # an empty schema of its own (never the key store's)
        scratch = next(schema)
        request.addfinalizer(lambda: next(schema, None))
    drill = backups.drill(scratch_url=scratch)
    assert drill.ok, drill.problems
    assert drill.snapshot_id == manifest.id
    assert drill.data_age_seconds == 3 * 3600
    assert (drill.rto_seconds, drill.rpo_seconds) == (8 * 3600, 24 * 3600)
    assert drill.tenants_readable == 3 and drill.tenants_key_destroyed == 0
    assert backups.last_drill() == drill
    assert not list((runtime.data_dir / ".backup-tmp").glob("drill-*"))  # the scratch copy is gone

    runtime.clock.advance(timedelta(hours=22))  # now 25 h after the snapshot: past the RPO
    late = backups.drill()  # PostgreSQL: a scratch database of its own this time
    assert not late.ok
    assert late.problems == ["the newest restorable data is 25.0 h old, more than the RPO of 1d"]
    assert runtime.audit.entries(kind="backup.drill")[-1].payload["ok"] is False


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_drill_slower_than_the_rto_fails_on_the_rto(runtime: Any, backups: BackupService) -> None:
    backups.run()
    slow = _SlowClock(runtime.clock.now())
    backups._clock = slow
    drill = backups.drill()
    assert not drill.ok
    assert drill.restore_seconds > 8 * 3600
    assert any("more than the RTO of 8h" in p for p in drill.problems)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_postgresql_drill_makes_and_drops_its_own_scratch_database(
    runtime: Any, request: pytest.FixtureRequest
) -> None:
    import psycopg

    from tests.conftest import POSTGRES_URL

    backups = _service(runtime, "local", request)
    _fill(runtime, tenants=2)
    backups.run()
    drill = backups.drill()
    assert drill.ok, drill.problems
    assert drill.tenants_readable == 2
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        left = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'charter_drill_%'").fetchall()
    assert left == []


# -- errors and the key store ---------------------------------------------------------------------------


def test_a_missing_bucket_is_a_clear_error_and_nothing_is_listed(runtime: Any, request: pytest.FixtureRequest) -> None:
    endpoint, _ = request.getfixturevalue("s3_bucket")
    config = BackupDestination(
        name="offsite", kind="s3", bucket="charter-test-no-such-bucket", provider="aws", region="eu-west-1"
    )
    policy = runtime.charter.backups.model_copy(update={"destinations": [config]})
    service = BackupService(
        runtime.charter.model_copy(update={"backups": policy}),
        runtime.database,
        runtime.keyring,
        runtime.audit,
        clock=runtime.clock,
        data_dir=runtime.data_dir,
        environ={"CHARTER_S3_ENDPOINT_URL": endpoint},
    )
    with pytest.raises(BackupError, match="bucket 'charter-test-no-such-bucket' does not exist"):
        service.run()
    with pytest.raises(BackupError, match="bucket 'charter-test-no-such-bucket' does not exist"):
        service.snapshots()
    assert runtime.audit.entries(kind="backup.created") == []


def test_a_key_store_sharing_the_postgresql_database_is_left_out(
    tmp_path: Path, postgres_url: str, clock: FrozenClock
) -> None:
    from charter.backup._sources import pg_row_counts
    from charter.policy import load_charter
    from charter.runtime import open_runtime
    from tests.conftest import EXAMPLES

    charter = load_charter(EXAMPLES / "forge-remote.toml", clock=clock)
    with open_runtime(charter, data_dir=tmp_path / "d", clock=clock, database_url=postgres_url, environ={}) as rt:
        _fill(rt, tenants=2, records=3)
        service = BackupService(
            charter.model_copy(
                update={
                    "backups": charter.backups.model_copy(  # type: ignore[union-attr]
                        update={"destinations": charter.backups.destinations[:1]}  # type: ignore[union-attr]
                    )
                }
            ),
            rt.database,
            rt.keyring,
            rt.audit,
            clock=clock,
            data_dir=rt.data_dir,
        )
        with rt.database.engine.connect() as connection:
            from sqlalchemy import text

            assert connection.execute(text("SELECT count(*) FROM data_keys")).scalar()  # it is really shared
        manifest = service.run()
        assert "data_keys" not in manifest.tables and "alembic_version_keys" not in manifest.tables
        target = service.destination()
        with service._payload(target, manifest) as payload:
            counts = pg_row_counts(payload)
        assert counts == manifest.tables and "data_keys" not in counts


def test_no_snapshot_outlives_the_longest_retention_the_statement_publishes(
    runtime: Any, destination_kind: str, request: pytest.FixtureRequest
) -> None:
    from charter.policy import KeepPolicy

    keep = KeepPolicy(monthly=12)  # longest: 13 months of 31 days = 403 days
    backups = _service(runtime, destination_kind, request, keep=keep)
    old = backups.run(verify=False)
    runtime.clock.advance(timedelta(days=404))  # backups stopped for more than a year, then resumed
    new = backups.run(verify=True)
    plan = backups.prune(dry_run=True)
    decisions = {d.snapshot_id: d for d in plan.decisions}
    assert decisions[new.id].keep and not decisions[old.id].keep  # a monthly rule alone would keep both
    assert [d.snapshot_id for d in plan.decisions if d.keep] == [new.id]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_replacing_the_live_database_records_the_restore_in_the_restored_one(runtime: Any, tmp_path: Path) -> None:
    tenants = _fill(runtime, tenants=1, records=2)
    backups = runtime.backups
    policy = runtime.charter.backups.model_copy(update={"destinations": runtime.charter.backups.destinations[:1]})
    backups._charter = runtime.charter.model_copy(update={"backups": policy})
    manifest = backups.run()
    runtime.store.put(tenants[0], KIND, "FAKE-lost", {"text": "after the snapshot"})
    result = backups.restore(manifest.id, runtime.database.url.database, replace=True)
    assert result.moved_aside
    assert runtime.store.get(tenants[0], KIND, "FAKE-lost") is None  # the live database is the snapshot now
    assert runtime.store.get(tenants[0], KIND, "FAKE-1") == {"text": "secret note 0-1 of example.com"}
    assert runtime.audit.entries(kind="backup.restored")[-1].payload["snapshot"] == manifest.id
    assert runtime.audit.verify().ok
    aside = sqlite3.connect(result.moved_aside)
    assert aside.execute("SELECT count(*) FROM records").fetchone() == (3,)


def test_an_edited_manifest_cannot_make_prune_drop_the_good_snapshots(
    runtime: Any, destination_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from charter.policy import KeepPolicy

    backups = _service(runtime, destination_kind, request, keep=KeepPolicy(daily=2))
    ids = []
    for _ in range(3):
        ids.append(backups.run().id)
        runtime.clock.advance(timedelta(days=1))
    # someone edits the newest manifest (any field): it is damaged, not "newest verified"
    _tamper(backups, ids[2] + MANIFEST, lambda d: d.replace(b'"tenants": 0', b'"tenants": 1'), tmp_path)
    plan = backups.prune()
    assert plan.damaged == [ids[2]]
    assert {d.snapshot_id: d.keep for d in plan.decisions} == {ids[1]: True, ids[0]: True}
    assert {s.id for s in backups.snapshots()} == set(ids)


def test_prune_deletes_nothing_when_the_snapshot_it_keeps_no_longer_verifies(
    runtime: Any, destination_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from charter.policy import KeepPolicy

    backups = _service(runtime, destination_kind, request, keep=KeepPolicy(daily=1))
    first = backups.run().id
    runtime.clock.advance(timedelta(days=1))
    second = backups.run().id
    _tamper(backups, second + ARTIFACT, lambda d: d[:-10], tmp_path)  # damaged after it was verified
    with pytest.raises(BackupError, match=f"newest verified snapshot {second} no longer verifies"):
        backups.prune()
    assert {s.id for s in backups.snapshots()} == {first, second}
    failed = backups.snapshots()[0]
    assert failed.id == second and failed.failed_at is not None and failed.verified_at is None


def test_a_full_disk_while_writing_the_artifact_leaves_nothing_behind(
    runtime: Any, backups: BackupService, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    _fill(runtime, tenants=1)
    backups.run()
    before = backups.destination().names()
    real_fsync = os.fsync

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(BackupError, match="is full"):
        backups.run()
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert backups.destination().names() == before
    if isinstance(backups.destination(), LocalDestination):
        assert not list(backups.destination().path.glob(".tmp-*"))  # type: ignore[attr-defined]
    assert not [p for p in (runtime.data_dir / ".backup-tmp").iterdir() if p.is_file()]


# -- disaster recovery: only the destination and the KEK survive ----------------------------------------


def _service_at(runtime: Any, kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> BackupService:
    """Like ``_service``, but a local destination outside the data directory (another disk)."""
    service = _service(runtime, kind, request)
    if kind == "local":
        config = BackupDestination(
            name="primary", kind="local", path=str(tmp_path / "other-disk"), provider="aws", region="eu-west-1"
        )
        policy = service._charter.backups.model_copy(update={"destinations": [config]})  # type: ignore[union-attr]
        service._charter = service._charter.model_copy(update={"backups": policy})
    return service


def test_recover_rebuilds_keys_and_data_from_the_destination_and_the_kek_alone(
    runtime: Any, destination_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    import shutil

    from charter.backup import recover
    from charter.jobs import save_key_backups
    from charter.runtime import kek_ring, open_runtime

    backups = _service_at(runtime, destination_kind, request, tmp_path)
    runtime.backups = backups
    runtime.charter = backups._charter
    tenants = _fill(runtime)
    backups.run()
    assert len(backups.key_backups()) == 1
    runtime.registry.connect_event(CONNECT_APP, "fake-client-key-0001", EventKind.UNINSTALLED, at=runtime.clock.now())
    runtime.clock.advance(timedelta(days=31))
    assert len(runtime.purger.run(actor="test")) == 1
    assert save_key_backups(runtime, actor="test") == []
    [key_backup] = backups.key_backups()  # the older one, which held the purged tenant's keys, is gone
    with backups._payload(backups.destination(), key_backup.manifest) as chunks:  # type: ignore[arg-type]
        from charter.backup._catalog import _read_key_rows

        rows = _read_key_rows(chunks)
    assert {r["tenant_id"] for r in rows if r["wrapped"] is not None} == {tenants[0], tenants[2], "charter:audit"}
    assert all(r["wrapped"] is None for r in rows if r["tenant_id"] == tenants[1])

    # the disaster: a new host with the KEK put back and nothing else
    new_dir = tmp_path / "new-host"
    urls: dict[str, str | None] = {"database_url": None, "keys_database_url": None}
    (new_dir / "keys").mkdir(parents=True)
    shutil.copy(runtime.data_dir / "keys" / "kek.key", new_dir / "keys" / "kek.key")
    ring = kek_ring(runtime.charter, new_dir, {}, new=False)
    if runtime.database.dialect == "postgresql":
        from tests.conftest import _postgres_schema

        data_schema, keys_schema = _postgres_schema(), _postgres_schema()
        urls = {"database_url": next(data_schema), "keys_database_url": next(keys_schema)}
        request.addfinalizer(lambda: [next(g, None) for g in (data_schema, keys_schema)])
    environ = dict(backups._environ)
    result = recover(runtime.charter, data_dir=new_dir, kek=ring, clock=runtime.clock, environ=environ, **urls)
    assert result.keys == len(rows)
    with open_runtime(runtime.charter, data_dir=new_dir, clock=runtime.clock, environ=environ, **urls) as new:
        assert new.audit.verify().ok
        readable, destroyed, unreadable = new.backups.readability(new.database)
        assert readable == sorted([tenants[0], tenants[2]]) and destroyed == [tenants[1]] and unreadable == []
        assert new.store.get(tenants[2], KIND, "FAKE-4") == {"text": "secret note 2-4 of example.com"}
        with pytest.raises(KeyDestroyedError):
            new.store.get(tenants[1], KIND, "FAKE-4")
        new.store.put(tenants[0], KIND, "FAKE-new", {"text": "written after the recovery"})  # it runs on
        # the purged tenant came back with the snapshot (unreadable): its purge is re-applied, with a receipt
        assert new.purger.reapply(tenants[0], actor="test") is None  # live keys: nothing to re-apply
        receipt = new.purger.reapply(tenants[1], actor="test")
        assert receipt is not None and receipt.deleted["records"] == {KIND: 20}
        assert receipt.rule == "keys destroyed before the restore (purged after the snapshot)"
        assert new.store.count(tenants[1]) == {} and new.audit.verify().ok
        assert new.backups.readability(new.database) == (sorted([tenants[0], tenants[2]]), [], [])


def test_recover_refuses_a_data_directory_that_has_databases(
    runtime: Any, destination_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from charter.backup import recover

    backups = _service_at(runtime, destination_kind, request, tmp_path)
    backups.run()
    if runtime.database.dialect != "sqlite":
        with pytest.raises(BackupError, match="already holds data"):
            recover(
                backups._charter,
                data_dir=tmp_path / "x",
                kek=runtime.keyring.kek,
                clock=runtime.clock,
                environ=dict(backups._environ),
                database_url=str(runtime.database.url.render_as_string(hide_password=False)),
                keys_database_url=str(runtime.key_database.url.render_as_string(hide_password=False)),
            )
        return
    before = (runtime.data_dir / "charter.db").stat().st_size
    with pytest.raises(BackupError, match=r"charter\.db exists: recover into a data directory without"):
        recover(
            backups._charter,
            data_dir=runtime.data_dir,
            kek=runtime.keyring.kek,
            clock=runtime.clock,
            environ=dict(backups._environ),
        )
    assert (runtime.data_dir / "charter.db").stat().st_size == before


@pytest.mark.parametrize("backend", ["postgresql"])
def test_an_unreachable_postgresql_target_is_a_clear_error(runtime: Any, request: pytest.FixtureRequest) -> None:
    backups = _service(runtime, "local", request)
    backups.run()
    with pytest.raises(
        BackupError, match=r"cannot open the target database postgresql\+psycopg://postgres@127\.0\.0\.1:9/x"
    ):
        backups.restore("latest", "postgresql://postgres@127.0.0.1:9/x")


def test_a_snapshot_from_before_a_data_key_rotation_still_restores(
    runtime: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from charter.rotation import reencrypt_all, rotate_data_keys

    tenants = _fill(runtime, tenants=2, records=3)
    backups = _service(runtime, "local", request)
    before = backups.run()
    rotate_data_keys(runtime)
    runtime.clock.advance(timedelta(minutes=2))
    summary = reencrypt_all(runtime)  # the charter keeps backups: the old versions are kept
    assert "old data key versions kept" in summary
    assert runtime.keyring.live_versions(tenants[0]) == [1, 2]
    target = _restore_target(runtime, request, tmp_path)
    result = backups.restore(before.id, target)
    assert result.tenants_readable == sorted(tenants) and result.tenants_key_destroyed == []
    url = target if "://" in target else f"sqlite:///{target}"
    for store in _restored_store(runtime, url):
        assert store.get(tenants[0], KIND, "FAKE-2") == {"text": "secret note 0-2 of example.com"}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_data_snapshot_never_replaces_the_key_store(runtime: Any, request: pytest.FixtureRequest) -> None:
    backups = _service(runtime, "local", request)
    backups.run()
    keys_file = runtime.data_dir / "keys.db"
    before = keys_file.read_bytes()
    with pytest.raises(BackupError, match="is a key store, not a data database"):
        backups.restore("latest", str(keys_file), replace=True)
    assert keys_file.read_bytes() == before and not list(runtime.data_dir.glob("keys.db.before-restore-*"))


def test_prune_keeps_no_period_with_a_snapshot_that_failed_verification(
    runtime: Any, destination_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from charter.policy import KeepPolicy

    backups = _service(runtime, destination_kind, request, keep=KeepPolicy(daily=2))
    good = backups.run().id
    runtime.clock.advance(timedelta(hours=1))
    bad = backups.run().id  # the same day, newer: the daily rule would pick it
    _tamper(backups, bad + ARTIFACT, lambda d: d[:-5], tmp_path)
    assert not backups.verify(bad).ok
    runtime.clock.advance(timedelta(days=1))
    newest = backups.run().id
    plan = backups.prune()
    kept = {d.snapshot_id for d in plan.decisions if d.keep}
    assert kept == {good, newest} and plan.damaged == [bad]  # day 1 is kept by its good snapshot
    assert {s.id for s in backups.snapshots()} == {good, bad, newest}


def test_a_drill_fails_when_tenants_with_live_keys_do_not_open(
    runtime: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from charter.rotation import reencrypt_all, rotate_data_keys

    _fill(runtime, tenants=2, records=2)
    backups = _service(runtime, "local", request)
    backups.run()
    rotate_data_keys(runtime)
    runtime.clock.advance(timedelta(minutes=2))
    reencrypt_all(runtime, retire=True)  # old versions destroyed: the snapshot's values no longer open
    drill = backups.drill(
        scratch_url=None if runtime.database.dialect == "sqlite" else _restore_target(runtime, request, tmp_path)
    )
    assert not drill.ok and drill.tenants_unreadable == 2 and drill.tenants_readable == 0
    assert any("do not open in the snapshot" in p for p in drill.problems)


def test_verify_and_drill_check_the_key_store_backup(
    runtime: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    backups = _service(runtime, "local", request)
    backups.run()
    [key_backup] = backups.key_backups()
    _tamper(backups, key_backup.id + ARTIFACT, lambda d: d[:-3], tmp_path)
    result = backups.verify()
    assert not result.ok and result.problems[0].startswith("key-store backup: snapshot keys-")


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_refused_scratch_database_is_left_exactly_as_it_was(
    runtime: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from sqlalchemy import text

    backups = _service(runtime, "local", request)
    _fill(runtime, tenants=1, records=2)
    backups.run()
    scratch = _restore_target(runtime, request, tmp_path)
    other = Database(scratch)
    with other.engine.begin() as connection:
        connection.execute(text("CREATE TABLE precious (v integer)"))
        connection.execute(text("INSERT INTO precious VALUES (42)"))
    with pytest.raises(BackupError, match="is not empty"):
        backups.drill(scratch_url=scratch)
    with other.engine.connect() as connection:
        assert connection.execute(text("SELECT v FROM precious")).scalar() == 42
    other.close()
    live_url = runtime.database.url.render_as_string(hide_password=False)
    with pytest.raises(BackupError, match="names Charter's own database"):
        backups.drill(scratch_url=live_url)
    assert runtime.store.count(runtime.registry.all()[0].id) == {KIND: 2}  # the live data is untouched
