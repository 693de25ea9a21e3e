"""Erasing an Atlassian account's personal data everywhere Charter holds it (``account_refs``): tenant records in
every tenant and support cases about the account. Used when Atlassian reports the account closed and for a data
subject's erasure request."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, select

from charter.audit import AuditLog
from charter.clock import Clock
from charter.policy import Charter
from charter.store import (
    AccountRefRow,
    AccountReportRow,
    Database,
    Keyring,
    RecordRow,
    account_digest,
    check_account_id,
)
from charter.support import CASE_HOLDER, LegalHoldError, SupportVault

__all__ = ["AccountEraser", "Erasure"]


@dataclass
class Erasure:
    """What erasing (``closed``, a DSR) or dropping (``updated``) one account's data removed."""

    account: str  # the digest, never the id
    records: int = 0
    tenants: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # support cases under legal hold: not deleted


class AccountEraser:
    """Finds and erases an account's personal data (see the module docstring).

    Args:
        charter: the inventory says which record kinds are cached copies of Atlassian data.
        db, keyring, audit, clock: Charter's state.
        support: the support vault (cases about the account are deleted; legal holds are respected).
    """

    def __init__(
        self, charter: Charter, db: Database, keyring: Keyring, audit: AuditLog, *, clock: Clock, support: SupportVault
    ) -> None:
        self._db = db
        self._keyring = keyring
        self._audit = audit
        self._clock = clock
        self._support = support
        self._cached_kinds = frozenset(i.name for i in charter.inventory.items if i.source == "atlassian-api")

    def refs(self, account_id: str) -> list[tuple[str, str, str]]:
        """``(tenant id, holder, key)`` of every item holding the account's data (holder: a record kind, or
        ``charter:support-case`` with the case id as key)."""
        with self._db.session() as session:
            rows = session.execute(
                select(AccountRefRow.tenant_id, AccountRefRow.holder, AccountRefRow.key)
                .where(AccountRefRow.account_id == account_id)
                .order_by(AccountRefRow.tenant_id, AccountRefRow.holder, AccountRefRow.key)
            ).all()
        return [(t, h, k) for t, h, k in rows]

    def _remove(self, tenant_id: str, holder: str, key: str) -> int:
        """Delete one tenant record and its account references; how many records went (0 or 1)."""
        with self._db.session() as session:
            gone = session.execute(
                delete(RecordRow).where(
                    RecordRow.tenant_id == tenant_id, RecordRow.kind == holder, RecordRow.key == key
                )
            )
            session.execute(
                delete(AccountRefRow).where(
                    AccountRefRow.tenant_id == tenant_id, AccountRefRow.holder == holder, AccountRefRow.key == key
                )
            )
            return int(getattr(gone, "rowcount", 0) or 0)

    def erase(self, account_id: str, *, actor: str, reason: str, closed: bool = True) -> Erasure:
        """Erase every item holding the account's personal data: tenant records in every tenant, support cases
        about it (a case under legal hold is kept and listed). With ``closed`` (Atlassian said the account is
        closed) the account is never reported or stored again; a data subject's erasure of a live account passes
        ``closed=False``. Audited as ``privacy.account-erased`` (the account by digest).
        """
        check_account_id(account_id)
        digest = account_digest(self._keyring, account_id)
        erasure = Erasure(account=digest)
        refs = self.refs(account_id)
        for tenant_id, holder, key in refs:
            if holder == CASE_HOLDER:
                try:
                    self._support.delete(key, actor=actor)
                    erasure.cases.append(key)
                except LegalHoldError:
                    erasure.held.append(key)
                continue
            erasure.records += self._remove(tenant_id, holder, key)
            if tenant_id not in erasure.tenants:
                erasure.tenants.append(tenant_id)
        with self._db.session() as session:
            if not erasure.held:
                session.execute(delete(AccountRefRow).where(AccountRefRow.account_id == account_id))
            row = session.get(AccountReportRow, digest)
            now = self._clock.now()
            if closed and row is None:
                session.add(AccountReportRow(account_id=digest, status="closed", last_reported_at=None, closed_at=now))
            elif closed and row is not None:
                row.status, row.closed_at = "closed", now
            self._audit.record(
                "privacy.account-erased",
                actor=actor,
                session=session,
                payload={
                    "account": digest,
                    "reason": reason,
                    "records": erasure.records,
                    "tenants": erasure.tenants,
                    "support_cases": erasure.cases,
                    "held_by_legal_hold": erasure.held,
                },
            )
        return erasure

    def drop_cached(self, account_id: str, *, actor: str) -> Erasure:
        """``updated``: drop the account's cached copies of Atlassian data (records whose inventory item's source
        is ``atlassian-api``); the app fetches them again when it needs them. Audited."""
        digest = account_digest(self._keyring, account_id)
        erasure = Erasure(account=digest)
        for tenant_id, holder, key in self.refs(account_id):
            if holder not in self._cached_kinds:
                continue
            erasure.records += self._remove(tenant_id, holder, key)
            if tenant_id not in erasure.tenants:
                erasure.tenants.append(tenant_id)
        self._audit.record(
            "privacy.account-updated",
            actor=actor,
            payload={"account": digest, "dropped": erasure.records, "tenants": erasure.tenants},
        )
        return erasure
