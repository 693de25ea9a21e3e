"""The append-only, hash-chained audit log.

Every security-relevant event (tenant lifecycle, purges and their receipts, key rotation, staff access to
tenant data with the reason given) is one entry. Entries are numbered without gaps and each carries
``hash = HMAC-SHA256(audit key, prev_hash || entry)``; the newest entry's number and hash are kept in an
authenticated head. :meth:`AuditLog.verify` therefore detects an edited entry (its hash no longer
matches), a removed one (a gap, or a broken link), reordered ones (broken links) and a cut-off tail (the
head names an entry that is not there). The audit key is a data key of the keyring, wrapped by the KEK:
someone who can write the database but does not hold the KEK cannot re-chain a forged history.

Damage must also survive later appends. Every log begins with ``audit.started`` (written when its key is
made), so a removed log shows: it is empty while its key exists, or it begins with something else.
Appends chain from the authenticated head, not from the last row, so entries cut off the end stay a gap;
and when an append finds the head missing, altered or ahead of the rows, it first writes an
``audit.damage-found`` entry saying so, which :meth:`AuditLog.verify` reports for ever after.

Entries hold ids, kinds, counts and reasons; never personal data or secrets (callers' duty, checked by
tests of each caller).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from charter.clock import Clock
from charter.store import AuditHeadRow, AuditRow, Database, Keyring

__all__ = ["AUDIT_KEY_OWNER", "AuditEntry", "AuditLog", "AuditReport"]

#: The keyring "tenant" whose data key authenticates the audit log (never purged).
AUDIT_KEY_OWNER = "charter:audit"
_GENESIS = "0" * 64
#: The first entry of every log.
_STARTED = "audit.started"
#: An entry Charter writes when it finds the log damaged on appending; :meth:`AuditLog.verify` reports it.
_DAMAGE = "audit.damage-found"


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=True)


_APPEND_LOCK = 0x41756469744C6F67


@dataclass(frozen=True)
class AuditEntry:
    """One audit entry.

    Attributes:
        seq: position in the log, from 1, without gaps.
        at: when it was recorded (aware UTC).
        kind: what happened, e.g. ``tenant.uninstalled``, ``tenant.purged``, ``staff.access``.
        actor: who or what did it (``atlassian``, ``scheduler``, ``cli``, a staff id).
        tenant_id: the tenant concerned, if any.
        payload: the details (JSON object).
        hash: the entry's chain hash (hex).
    """

    seq: int
    at: datetime
    kind: str
    actor: str
    tenant_id: str | None
    payload: dict[str, Any]
    hash: str


@dataclass(frozen=True)
class AuditReport:
    """The result of :meth:`AuditLog.verify`.

    Attributes:
        entries: how many entries were checked.
        head: the newest entry's hash (note or publish it: a later log that does not contain it was rolled
            back to an earlier copy, or rewritten by someone holding the KEK).
        problems: what is wrong, first problem first; empty when the log is intact.
    """

    entries: int
    head: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def _canonical(seq: int, at: datetime, kind: str, actor: str, tenant_id: str | None, payload: str) -> bytes:
    return json.dumps(
        [seq, at.isoformat(), kind, actor, tenant_id, payload], separators=(",", ":"), ensure_ascii=True
    ).encode()


class AuditLog:
    """Appends to and verifies the audit log.

    Args:
        db: the migrated data database (holding ``audit_log`` and ``audit_head``).
        keyring: provides the audit key (a data key owned by :data:`AUDIT_KEY_OWNER`).
        clock: timestamps (aware UTC).
    """

    def __init__(self, db: Database, keyring: Keyring, *, clock: Clock) -> None:
        self._db = db
        self._keyring = keyring
        self._clock = clock
        self._key: bytes | None = None
        self._new_log = False

    def prepare(self) -> None:
        """Create (or load) the audit key now, so that it exists before any key rotation re-wraps keys;
        a new log gets its first entry, ``audit.started``.

        Raises:
            KeyProviderError: the KEK cannot unwrap it.
        """
        self._mac_key()
        if self._new_log:
            self.record("audit.started", actor="charter")

    def _mac_key(self) -> bytes:
        if self._key is None:
            self._new_log = not self._keyring.live_versions(AUDIT_KEY_OWNER)
            self._key = self._keyring.derive(AUDIT_KEY_OWNER, b"charter audit log hmac v1")
        return self._key

    def _hash(self, prev: str, canonical: bytes) -> str:
        return hmac.new(self._mac_key(), prev.encode() + b"\n" + canonical, hashlib.sha256).hexdigest()

    def _head_mac(self, seq: int, entry_hash: str) -> str:
        return hmac.new(self._mac_key(), f"head|{seq}|{entry_hash}".encode(), hashlib.sha256).hexdigest()

    def record(
        self,
        kind: str,
        *,
        actor: str,
        tenant_id: str | None = None,
        payload: dict[str, Any] | None = None,
        session: Session | None = None,
    ) -> AuditEntry:
        """Append an entry (in ``session``'s transaction when given, so it commits with the change it records).

        Raises:
            ValueError: an empty kind or actor, or a payload JSON cannot hold.
        """
        if not kind or not actor:
            raise ValueError("an audit entry needs a kind and an actor")
        body = _json(payload or {})
        self._mac_key()  # load the key before any transaction: it may need the key store
        if session is not None:
            return self._append(session, kind, actor, tenant_id, body)
        for _attempt in range(20):
            try:
                with self._db.session() as own:
                    return self._append(own, kind, actor, tenant_id, body)
            except IntegrityError:
                continue  # another writer took this sequence number: append after it
        raise RuntimeError("audit log append kept conflicting")  # pragma: no cover

    def _append(self, session: Session, kind: str, actor: str, tenant_id: str | None, body: str) -> AuditEntry:
        if self._db.dialect == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
        last = session.execute(select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)).first()
        head = session.get(AuditHeadRow, 1)
        head_ok = head is not None and hmac.compare_digest(self._head_mac(head.seq, head.hash), head.mac)
        if last is None and head is None:
            seq, prev = 1, _GENESIS
            if kind != _STARTED:  # the first entry of every log is its start; or the log was wiped
                first = _STARTED if self._new_log else _DAMAGE
                note = {} if self._new_log else {"found": "the log was empty although its key exists"}
                started = self._write(session, 1, _GENESIS, first, "charter", None, _json(note))
                seq, prev = 2, started.hash
        elif head is not None and head_ok and last is not None and (head.seq, head.hash) == (last[0], last[1]):
            seq, prev = last[0] + 1, last[1]
        else:
            # The log was damaged since the last append (entries removed from its end, or the head edited or
            # removed). Continue after the newest position known, so removed entries show as a gap, and
            # write down what was found: the head is rewritten below, and the evidence must not go with it.
            last_seq, last_hash = (last[0], last[1]) if last is not None else (0, _GENESIS)
            if head_ok and head is not None and head.seq > last_seq:
                seq, prev = head.seq + 1, head.hash
            else:
                seq, prev = last_seq + 1, last_hash
            found = {
                "found": "the log's head record was missing or altered" if not head_ok else "entries were removed",
                "log_ends_at": last_seq,
                "head_records": head.seq if head is not None else None,
            }
            damage = self._write(session, seq, prev, _DAMAGE, "charter", None, _json(found))
            seq, prev = seq + 1, damage.hash
        return self._write(session, seq, prev, kind, actor, tenant_id, body)

    def _write(
        self, session: Session, seq: int, prev: str, kind: str, actor: str, tenant_id: str | None, body: str
    ) -> AuditEntry:
        """Add entry ``seq`` after ``prev`` and move the head to it."""
        if kind == _STARTED:
            self._new_log = False  # from now on an empty log means a removed one
        at = self._clock.now()
        entry_hash = self._hash(prev, _canonical(seq, at, kind, actor, tenant_id, body))
        with session.begin_nested():
            session.add(
                AuditRow(
                    seq=seq,
                    at=at,
                    kind=kind,
                    actor=actor,
                    tenant_id=tenant_id,
                    payload=body,
                    prev_hash=prev,
                    hash=entry_hash,
                )
            )
        head = session.get(AuditHeadRow, 1)
        if head is None:
            session.add(AuditHeadRow(id=1, seq=seq, hash=entry_hash, mac=self._head_mac(seq, entry_hash)))
        else:
            head.seq, head.hash, head.mac = seq, entry_hash, self._head_mac(seq, entry_hash)
        session.flush()
        return AuditEntry(seq, at, kind, actor, tenant_id, json.loads(body), entry_hash)

    def entries(self, *, tenant_id: str | None = None, kind: str | None = None) -> list[AuditEntry]:
        """Entries in order, optionally of one tenant and/or kind."""
        query = select(AuditRow).order_by(AuditRow.seq)
        if tenant_id is not None:
            query = query.where(AuditRow.tenant_id == tenant_id)
        if kind is not None:
            query = query.where(AuditRow.kind == kind)
        with self._db.session() as session:
            return [
                AuditEntry(r.seq, r.at, r.kind, r.actor, r.tenant_id, json.loads(r.payload), r.hash)
                for r in session.scalars(query)
            ]

    def _rows(self, batch: int = 1000) -> Iterator[AuditRow]:
        last = 0
        while True:
            with self._db.session() as session:
                rows = session.scalars(
                    select(AuditRow).where(AuditRow.seq > last).order_by(AuditRow.seq).limit(batch)
                ).all()
            if not rows:
                return
            yield from rows
            last = rows[-1].seq

    def verify(self) -> AuditReport:
        """Check the whole chain and its head; report every problem found (first one first)."""
        problems: list[str] = []
        expected, prev, count = 1, _GENESIS, 0
        for row in self._rows():
            count += 1
            if row.seq != expected:
                problems.append(f"entry {expected} is missing (the log jumps from {expected - 1} to {row.seq})")
            if row.prev_hash != prev:
                problems.append(f"entry {row.seq} does not follow the entry before it (removed or reordered entries)")
            canonical = _canonical(row.seq, row.at, row.kind, row.actor, row.tenant_id, row.payload)
            if not hmac.compare_digest(self._hash(row.prev_hash, canonical), row.hash):
                problems.append(f"entry {row.seq} was altered (its hash does not match its content)")
            elif row.seq == 1 and row.kind != _STARTED:
                problems.append("entry 1 is not the log's start (the log was removed and begun again)")
            elif row.kind == _DAMAGE:
                found = json.loads(row.payload).get("found", "damage")
                problems.append(f"entry {row.seq}: Charter found the log damaged when appending: {found}")
            expected, prev = row.seq + 1, row.hash
        with self._db.session() as session:
            head = session.get(AuditHeadRow, 1)
            total = session.scalar(select(func.count()).select_from(AuditRow)) or 0
        if head is None:
            if count:
                problems.append("the log's head record is missing")
            elif self._keyring.live_versions(AUDIT_KEY_OWNER):
                problems.append("the log is empty, but its key exists: the log was removed")
        else:
            if not hmac.compare_digest(self._head_mac(head.seq, head.hash), head.mac):
                problems.append("the log's head record was altered")
            elif head.seq != expected - 1 or head.hash != prev:
                problems.append(
                    f"the log ends at entry {expected - 1}, but its head records entry {head.seq} "
                    "(entries removed from the end)"
                )
        if total != count:  # pragma: no cover - rows appeared while verifying
            problems.append("entries were added while verifying; verify again")
        return AuditReport(count, prev, problems)
