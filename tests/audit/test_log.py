"""The audit log: appends chain, and `verify` finds every edited, removed or reordered entry."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from charter.audit import AuditLog
from charter.clock import FrozenClock
from charter.crypto import FileKeyProvider
from charter.store import AuditHeadRow, AuditRow, Database, Keyring

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.fixture
def audit(database: Database, key_database: Database, tmp_path: Path) -> AuditLog:
    clock = FrozenClock(T0)
    return AuditLog(database, Keyring(key_database, FileKeyProvider(tmp_path / "kek.key"), clock=clock), clock=clock)


def fill(audit: AuditLog, n: int = 6) -> None:
    for i in range(n):
        audit.record("tenant.installed", actor="atlassian", tenant_id=f"t{i}", payload={"state": "installed"})


def test_entries_chain(audit: AuditLog) -> None:
    fill(audit)
    entries = audit.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].payload == {"state": "installed"}
    report = audit.verify()
    assert report.ok and report.entries == 6 and report.head == entries[-1].hash
    assert [e.tenant_id for e in audit.entries(tenant_id="t3")] == ["t3"]


def test_an_empty_log_is_intact(audit: AuditLog) -> None:
    assert audit.verify().ok


def tamper(db: Database, statement: object) -> None:
    with db.session() as session:
        session.execute(statement)  # type: ignore[call-overload]


def test_an_edited_entry_is_found(audit: AuditLog, database: Database) -> None:
    fill(audit)
    tamper(database, update(AuditRow).where(AuditRow.seq == 3).values(payload='{"state":"uninstalled"}'))
    assert audit.verify().problems == ["entry 3 was altered (its hash does not match its content)"]


def test_a_removed_entry_is_found(audit: AuditLog, database: Database) -> None:
    fill(audit)
    tamper(database, delete(AuditRow).where(AuditRow.seq == 4))
    assert audit.verify().problems == [
        "entry 4 is missing (the log jumps from 3 to 5)",
        "entry 5 does not follow the entry before it (removed or reordered entries)",
    ]


def test_reordered_entries_are_found(audit: AuditLog, database: Database) -> None:
    fill(audit)
    with database.session() as session:
        two, three = session.get(AuditRow, 2), session.get(AuditRow, 3)
        assert two is not None and three is not None
        swapped = {f: getattr(two, f) for f in ("at", "kind", "actor", "tenant_id", "payload", "prev_hash", "hash")}
        for f in swapped:
            setattr(two, f, getattr(three, f))
            setattr(three, f, swapped[f])
    problems = audit.verify().problems
    assert "entry 2 does not follow the entry before it (removed or reordered entries)" in problems
    assert not audit.verify().ok


def test_a_cut_off_tail_is_found(audit: AuditLog, database: Database) -> None:
    fill(audit)
    tamper(database, delete(AuditRow).where(AuditRow.seq >= 5))
    assert audit.verify().problems == [
        "the log ends at entry 4, but its head records entry 6 (entries removed from the end)"
    ]
    tamper(database, update(AuditHeadRow).values(seq=4))
    assert audit.verify().problems == ["the log's head record was altered"]


def test_a_forged_rechain_without_the_kek_fails(
    audit: AuditLog, database: Database, key_database: Database, tmp_path: Path
) -> None:
    fill(audit)
    clock = FrozenClock(T0 + timedelta(days=1))
    forger = AuditLog(
        database, Keyring(key_database, FileKeyProvider(tmp_path / "forger.key"), clock=clock), clock=clock
    )
    with pytest.raises(Exception):  # noqa: B017, PT011 - the forger cannot even unwrap the audit key
        forger.record("tenant.purged", actor="mallory", payload={})


def test_concurrent_appends_keep_one_chain(audit: AuditLog) -> None:
    errors: list[BaseException] = []

    def append() -> None:
        try:
            for _ in range(5):
                audit.record("staff.access", actor="support-1", tenant_id="t1", payload={"reason": "case 42"})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=append) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = audit.verify()
    assert report.ok, report.problems
    assert report.entries == 20


def test_record_needs_kind_and_actor(audit: AuditLog) -> None:
    with pytest.raises(ValueError, match="kind and an actor"):
        audit.record("", actor="x")
