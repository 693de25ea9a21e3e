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
    log = AuditLog(database, Keyring(key_database, FileKeyProvider(tmp_path / "kek.key"), clock=clock), clock=clock)
    log.prepare()  # entry 1: audit.started
    return log


def fill(audit: AuditLog, n: int = 6) -> None:
    for i in range(n):
        audit.record("tenant.installed", actor="atlassian", tenant_id=f"t{i}", payload={"state": "installed"})


def test_entries_chain(audit: AuditLog) -> None:
    fill(audit)
    entries = audit.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6, 7]
    assert (entries[0].kind, entries[0].actor) == ("audit.started", "charter")
    assert entries[1].payload == {"state": "installed"}
    report = audit.verify()
    assert report.ok and report.entries == 7 and report.head == entries[-1].hash
    assert [e.tenant_id for e in audit.entries(tenant_id="t3")] == ["t3"]


def test_a_new_log_starts_with_its_first_entry(database: Database, key_database: Database, tmp_path: Path) -> None:
    clock = FrozenClock(T0)
    keyring = Keyring(key_database, FileKeyProvider(tmp_path / "kek.key"), clock=clock)
    log = AuditLog(database, keyring, clock=clock)
    assert log.verify().ok  # no key, no log: nothing was ever recorded
    log.record("tenant.installed", actor="atlassian")  # without prepare(): the start comes first anyway
    assert [e.kind for e in log.entries()] == ["audit.started", "tenant.installed"]
    again = AuditLog(database, keyring, clock=clock)
    again.prepare()  # an existing log is not started again
    assert len(again.entries()) == 2 and again.verify().ok


def test_a_removed_log_is_found_and_stays_found(audit: AuditLog, database: Database) -> None:
    fill(audit)
    tamper(database, delete(AuditRow))
    tamper(database, delete(AuditHeadRow))
    assert audit.verify().problems == ["the log is empty, but its key exists: the log was removed"]
    audit.record("tenant.installed", actor="atlassian")  # a later append does not hide it
    fresh = AuditLog(audit._db, audit._keyring, clock=FrozenClock(T0))  # and neither does another process
    fresh.record("tenant.installed", actor="atlassian")
    for log in (audit, fresh):
        problems = log.verify().problems
        assert "entry 1 is not the log's start (the log was removed and begun again)" in problems


def tamper(db: Database, statement: object) -> None:
    with db.session() as session:
        session.execute(statement)  # type: ignore[call-overload]


def test_an_edited_entry_is_found(audit: AuditLog, database: Database) -> None:
    fill(audit)
    tamper(database, update(AuditRow).where(AuditRow.seq == 3).values(payload='{"state":"uninstalled"}'))
    assert audit.verify().problems == ["entry 3 was altered (its hash does not match its content)"]
    audit.record("tenant.installed", actor="atlassian")
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
    tamper(database, delete(AuditRow).where(AuditRow.seq >= 6))
    assert audit.verify().problems == [
        "the log ends at entry 5, but its head records entry 7 (entries removed from the end)"
    ]
    tamper(database, update(AuditHeadRow).values(seq=5))
    assert audit.verify().problems == ["the log's head record was altered"]


def test_a_cut_off_tail_stays_found_after_later_appends(audit: AuditLog, database: Database) -> None:
    fill(audit)
    tamper(database, delete(AuditRow).where(AuditRow.seq >= 6))
    audit.record("staff.access", actor="staff-042", payload={"reason": "Support case SUP-1"})
    problems = audit.verify().problems
    assert problems[:2] == [
        "entry 6 is missing (the log jumps from 5 to 8)",
        "entry 8 does not follow the entry before it (removed or reordered entries)",
    ]
    assert "entry 8: Charter found the log damaged when appending: entries were removed" in problems
    assert [e.kind for e in audit.entries()][-2:] == ["audit.damage-found", "staff.access"]


@pytest.mark.parametrize("damage", ["head removed", "head altered", "tail and head removed"])
def test_a_damaged_head_is_written_down_before_it_is_rewritten(
    audit: AuditLog, database: Database, damage: str
) -> None:
    fill(audit)
    if "tail" in damage:
        tamper(database, delete(AuditRow).where(AuditRow.seq >= 6))
    if "removed" in damage:
        tamper(database, delete(AuditHeadRow))
    else:
        tamper(database, update(AuditHeadRow).values(seq=3))
    audit.record("staff.access", actor="staff-042", payload={"reason": "Support case SUP-1"})
    problems = audit.verify().problems
    assert any(
        "Charter found the log damaged when appending: the log's head record was missing or altered" in p
        for p in problems
    )


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
    assert report.entries == 21


def test_record_needs_kind_and_actor(audit: AuditLog) -> None:
    with pytest.raises(ValueError, match="kind and an actor"):
        audit.record("", actor="x")
