"""Purging a tenant when its retention ends: crypto-shredding first, then the rows, then a receipt.

A tenant uninstalled (or whose access was lost) at T is due at T + the charter's
``retention.tenant_data_after_uninstall``: an exact number of seconds added in UTC, so a "30d" retention
is 30 times 24 h whatever the time zone or daylight-saving changes in between.

A purge runs in four steps, each idempotent, so that a purge killed at any instant is completed by the
next run and no state exists in which a tenant is marked purged but still readable, or readable without
being accounted for:

1. **Account**: in one transaction, a ``purges`` row records the rule, the due time, the counts of what
   will be deleted and the ids of the keys to destroy; the tenant's identifiers are detached, so a
   reinstall from now on is a new tenant with new keys.
2. **Shred**: the tenant's data keys are destroyed in the key store. From here its data is unreadable
   everywhere, copies and backups of the data database included (they never hold keys).
3. **Delete**: the tenant's records, lifecycle events and row are deleted.
4. **Receipt**: the deletion receipt (ids, counts, key ids, times, rule; no personal data) is appended to
   the hash-chained audit log and the purge is marked finished, in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select

from charter.audit import AuditLog
from charter.clock import Clock
from charter.logs import get_logger
from charter.policy import Duration
from charter.store import (
    AccountRefRow,
    Database,
    Keyring,
    PurgeRow,
    RecordRow,
    TenantContactRow,
    TenantEventRow,
    TenantRow,
)
from charter.tenants._lifecycle import State
from charter.tenants._registry import Tenant, _tenant

__all__ = ["DuePurge", "Purger", "Receipt"]

log = get_logger("charter.tenants.purge")

_GONE = (State.UNINSTALLED.value, State.ACCESS_LOST.value)


@dataclass(frozen=True)
class DuePurge:
    """A tenant whose retention has ended (or whose purge was interrupted).

    Attributes:
        tenant_id: Charter's tenant id.
        platform, app_key: what it was.
        state: ``uninstalled`` or ``access-lost`` (or ``purging`` for an interrupted purge).
        clock_started_at: when access ended.
        due_at: ``clock_started_at`` + the retention.
        rule: the charter rule that makes it due.
    """

    tenant_id: str
    platform: str
    app_key: str
    state: str
    clock_started_at: datetime
    due_at: datetime
    rule: str


@dataclass(frozen=True)
class Receipt:
    """What a purge deleted. Holds ids, counts, key ids, times and the rule; never personal data."""

    tenant_id: str
    platform: str
    app_key: str
    rule: str
    clock_started_at: str
    due_at: str
    started_at: str
    purged_at: str
    actor: str
    deleted: dict[str, Any] = field(default_factory=dict)
    keys_destroyed: list[str] = field(default_factory=list)
    audit_seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The receipt as the audit entry holds it (without ``audit_seq``, the entry's own number)."""
        receipt = asdict(self)
        del receipt["audit_seq"]
        return receipt


class Purger:
    """Finds due tenants and purges them.

    Args:
        db: the data database.
        keyring: the key store's keyring (destroying keys is the crypto-shred).
        audit: receipts are appended here.
        clock: the clock (due times, timestamps).
        retention: ``retention.tenant_data_after_uninstall`` from the charter; ``None`` purges nothing.
    """

    def __init__(
        self, db: Database, keyring: Keyring, audit: AuditLog, *, clock: Clock, retention: Duration | None
    ) -> None:
        self._db = db
        self._keyring = keyring
        self._audit = audit
        self._clock = clock
        self._retention = retention

    @property
    def rule(self) -> str:
        """The rule as the receipts name it."""
        return f'retention.tenant_data_after_uninstall = "{self._retention}"'

    def due_at(self, tenant: Tenant) -> datetime | None:
        """When ``tenant`` is due for purge (``None`` while it is present, or without a retention rule)."""
        if self._retention is None or tenant.clock_started_at is None or tenant.state.value not in _GONE:
            return None
        return tenant.clock_started_at + self._retention.timedelta

    def due(self, now: datetime | None = None) -> list[DuePurge]:
        """Interrupted purges first, then every tenant whose due time has come, oldest first."""
        now = now or self._clock.now()
        out: list[DuePurge] = []
        with self._db.session() as session:
            for p in session.scalars(
                select(PurgeRow).where(PurgeRow.finished_at.is_(None)).order_by(PurgeRow.started_at)
            ):
                summary = json.loads(p.summary)
                out.append(
                    DuePurge(
                        p.tenant_id,
                        summary["platform"],
                        summary["app_key"],
                        "purging",
                        datetime.fromisoformat(summary["clock_started_at"]),
                        p.due_at,
                        p.rule,
                    )
                )
            if self._retention is None:
                return out
            started = {d.tenant_id for d in out}
            rows = session.scalars(
                select(TenantRow)
                .where(
                    TenantRow.state.in_(_GONE),
                    TenantRow.clock_started_at <= now - self._retention.timedelta,
                    TenantRow.id.not_in(started),
                )
                .order_by(TenantRow.clock_started_at)
            )
            for row in rows:
                tenant = _tenant(row)
                assert tenant.clock_started_at is not None  # the query asks for it
                out.append(
                    DuePurge(
                        tenant.id,
                        tenant.platform,
                        tenant.app_key,
                        tenant.state.value,
                        tenant.clock_started_at,
                        tenant.clock_started_at + self._retention.timedelta,
                        self.rule,
                    )
                )
        return out

    def run(self, *, actor: str, progress: Callable[[int, int], None] | None = None) -> list[Receipt]:
        """Purge every due tenant (resuming interrupted purges). Returns the receipts."""
        due = self.due()
        receipts = []
        for i, item in enumerate(due, 1):
            receipt = self.purge(item.tenant_id, actor=actor)
            if receipt is not None:
                receipts.append(receipt)
            if progress is not None:
                progress(i, len(due))
        return receipts

    def purge(self, tenant_id: str, *, actor: str) -> Receipt | None:
        """Purge one tenant if it is due (or its purge was interrupted). Idempotent and crash-safe.

        Args:
            tenant_id: Charter's tenant id.
            actor: who runs it (``cli``, ``scheduler``), recorded in the receipt.

        Returns:
            The receipt, or ``None`` when the tenant is not due (for example, reinstalled meanwhile).
        """
        row = self._account(tenant_id, actor)
        if row is None:
            return None
        if row.finished_at is None:
            self._keyring.destroy(tenant_id)
            self._delete(tenant_id)
            row = self._finish(tenant_id)
        return self._receipt(row)

    def reapply(self, tenant_id: str, *, actor: str) -> Receipt | None:
        """Finish, in a restored database, the purge of a tenant whose keys were destroyed after the snapshot
        was taken: its rows came back with the snapshot (unreadable) and are deleted now, with a receipt.

        Returns:
            The receipt, or ``None`` when the tenant still has live keys (nothing to re-apply) or is absent.
        """
        if self._keyring.live_versions(tenant_id):
            return None
        row = self._account(tenant_id, actor, rule="keys destroyed before the restore (purged after the snapshot)")
        if row is None:
            return None
        if row.finished_at is None:
            self._delete(tenant_id)
            row = self._finish(tenant_id)
        return self._receipt(row)

    # -- the steps ----------------------------------------------------------------------------------------

    def _account(self, tenant_id: str, actor: str, rule: str | None = None) -> PurgeRow | None:
        now = self._clock.now()
        key_ids = [f"{tenant_id}/v{v}" for v in self._keyring.live_versions(tenant_id)]
        with self._db.session() as session:
            existing = session.get(PurgeRow, tenant_id)
            if existing is not None:
                return existing
            row = session.get(TenantRow, tenant_id)
            if row is None:
                return None
            tenant = _tenant(row)
            due_at = self.due_at(tenant) if rule is None else now
            started = tenant.clock_started_at if rule is None else (tenant.clock_started_at or now)
            if due_at is None or due_at > now or started is None:
                return None
            records = dict(
                session.execute(
                    select(RecordRow.kind, func.count())
                    .where(RecordRow.tenant_id == tenant_id)
                    .group_by(RecordRow.kind)
                ).all()
            )
            events = session.scalar(select(func.count()).where(TenantEventRow.tenant_id == tenant_id)) or 0
            sealed = [name for name in ("shared_secret", "base_url") if getattr(row, name) is not None]
            summary = {
                "platform": row.platform,
                "app_key": row.app_key,
                "clock_started_at": started.isoformat(),
                "deleted": {
                    "records": {kind: int(n) for kind, n in sorted(records.items())},
                    "lifecycle_events": int(events),
                    "tenant_registration": 1,
                    "sealed_fields": sealed,
                },
            }
            purge = PurgeRow(
                tenant_id=tenant_id,
                rule=rule or self.rule,
                due_at=due_at,
                started_at=now,
                actor=actor,
                summary=json.dumps(summary, sort_keys=True),
                keys_destroyed=json.dumps(key_ids),
            )
            session.add(purge)
            # Detached: requests and lifecycle events no longer reach this tenant; a reinstall is new.
            row.client_key = None
            row.installation_id = None
            row.cloud_id = None
            row.workspace_id = None
            session.flush()
            log.info("purge started", tenant=tenant_id, rule=self.rule)
            return purge

    def _delete(self, tenant_id: str) -> None:
        with self._db.session() as session:
            session.execute(delete(RecordRow).where(RecordRow.tenant_id == tenant_id))
            session.execute(delete(TenantContactRow).where(TenantContactRow.tenant_id == tenant_id))
            session.execute(delete(AccountRefRow).where(AccountRefRow.tenant_id == tenant_id))
            session.execute(delete(TenantEventRow).where(TenantEventRow.tenant_id == tenant_id))
            session.execute(delete(TenantRow).where(TenantRow.id == tenant_id))

    def _finish(self, tenant_id: str) -> PurgeRow:
        with self._db.session() as session:
            purge = session.get(PurgeRow, tenant_id)
            assert purge is not None
            if purge.finished_at is not None:
                return purge
            purge.finished_at = self._clock.now()
            receipt = self._receipt(purge)
            entry = self._audit.record(
                "tenant.purged", actor=purge.actor, tenant_id=tenant_id, payload=receipt.as_dict(), session=session
            )
            purge.receipt_seq = entry.seq
            session.flush()
            log.info("tenant purged", tenant=tenant_id, audit_seq=entry.seq)
            return purge

    def _receipt(self, purge: PurgeRow) -> Receipt:
        summary = json.loads(purge.summary)
        return Receipt(
            tenant_id=purge.tenant_id,
            platform=summary["platform"],
            app_key=summary["app_key"],
            rule=purge.rule,
            clock_started_at=summary["clock_started_at"],
            due_at=purge.due_at.isoformat(),
            started_at=purge.started_at.isoformat(),
            purged_at=purge.finished_at.isoformat() if purge.finished_at else "",
            actor=purge.actor,
            deleted=summary["deleted"],
            keys_destroyed=json.loads(purge.keys_destroyed or "[]"),
            audit_seq=purge.receipt_seq,
        )

    def receipts(self) -> list[Receipt]:
        """Every finished purge's receipt, oldest first."""
        with self._db.session() as session:
            rows = session.scalars(
                select(PurgeRow).where(PurgeRow.finished_at.is_not(None)).order_by(PurgeRow.finished_at)
            )
            return [self._receipt(r) for r in rows]
