"""Data subject requests: access (export) and erasure, identity-verified, with GDPR's deadline.

Rules:

* A request names an identity: an Atlassian account id (``account:<id>``) or an e-mail address
  (``email:<address>``, or just the address). It is sealed under the request's own key.
* It is due one calendar month after receipt (GDPR Art. 12(3)): the same day of the next month, or that
  month's last day when it has no such day (31 January -> 28/29 February), at the receipt's time, in UTC. It may
  be extended once by two further months, with a recorded reason (Art. 12(3)).
* Nothing is exported or erased before the identity is verified (Art. 12(6)); the verification method and the
  staff member are recorded.
* Export gathers what Charter holds about the identity: tenant records held for the account (every tenant),
  support cases about it, tenant contacts, Marketplace contacts and security reports with the address, and the
  audit entries that refer to it. Erasure deletes those (support cases under legal hold are kept and listed;
  security reports keep their technical content but lose the reporter's name and address) and leaves a
  ``privacy.dsr-erased`` receipt; a second export then finds nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from dateutil.relativedelta import relativedelta
from sqlalchemy import delete, select

from charter.access import check_staff, check_staff_id
from charter.audit import AuditLog
from charter.clock import Clock, past_instant
from charter.policy import Charter
from charter.privacy._contacts import MarketplaceContacts
from charter.privacy._erase import AccountEraser
from charter.store import (
    Database,
    DsrRow,
    KeyDestroyedError,
    Keyring,
    SecurityReportRow,
    SupportCaseRow,
    TenantContactRow,
    TenantStore,
    UndeclaredKindError,
    account_digest,
    check_account_id,
)
from charter.support import CASE_HOLDER, SupportVault

__all__ = ["DsrDesk", "DsrError", "DsrRequest", "dsr_due"]

_ID = re.compile(r"DSR-[A-Z2-7]{10}")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
KINDS = ("access", "erasure", "both")


class DsrError(ValueError):
    """A request the DSR desk refuses; the message says what is wrong."""


def dsr_due(received_at: datetime) -> datetime:
    """One calendar month after ``received_at`` (aware; GDPR Art. 12(3)), clamped to the month's last day."""
    if received_at.tzinfo is None:
        raise DsrError("the time a request was received needs a time zone")
    return _plus_months(received_at, 1)


def _plus_months(instant: datetime, months: int) -> datetime:
    shifted: datetime = instant + relativedelta(months=months)
    return shifted


@dataclass(frozen=True)
class DsrRequest:
    """A request's metadata (no identity). Times are aware UTC."""

    id: str
    identity_kind: Literal["account", "email"]
    kind: str
    state: str
    received_at: datetime
    due_at: datetime
    extension_reason: str | None
    verified_at: datetime | None
    verified_by: str | None
    exported_at: datetime | None
    erased_at: datetime | None

    def left(self, now: datetime) -> timedelta:
        """Time left until the deadline (negative when late)."""
        return self.due_at - now


def _request(row: DsrRow) -> DsrRequest:
    return DsrRequest(
        id=row.id,
        identity_kind=row.identity_kind,  # type: ignore[arg-type]
        kind=row.kind,
        state=row.state,
        received_at=row.received_at,
        due_at=row.due_at,
        extension_reason=row.extension_reason,
        verified_at=row.verified_at,
        verified_by=row.verified_by,
        exported_at=row.exported_at,
        erased_at=row.erased_at,
    )


@dataclass
class _Found:
    records: list[tuple[str, str, str]] = field(default_factory=list)  # tenant, kind, key
    cases: list[str] = field(default_factory=list)
    tenant_contacts: list[str] = field(default_factory=list)
    marketplace: list[str] = field(default_factory=list)
    security_reports: list[str] = field(default_factory=list)


class DsrDesk:
    """Data subject requests over Charter's stores.

    Args:
        charter, db, keyring, audit, clock: Charter's state.
        store: the tenant store (records are read for export).
        support: the support vault.
        contacts: the Marketplace contacts.
        random: randomness for ids.
    """

    def __init__(
        self,
        charter: Charter,
        db: Database,
        keyring: Keyring,
        audit: AuditLog,
        *,
        clock: Clock,
        store: TenantStore,
        support: SupportVault,
        contacts: MarketplaceContacts,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._charter = charter
        self._db = db
        self._keyring = keyring
        self._audit = audit
        self._clock = clock
        self._store = store
        self._support = support
        self._contacts = contacts
        self._random = random
        self._eraser = AccountEraser(charter, db, keyring, audit, clock=clock, support=support)

    # -- requests ---------------------------------------------------------------------------------------

    @staticmethod
    def parse_identity(identity: str) -> tuple[Literal["account", "email"], str]:
        """``account:<id>``, ``email:<address>`` or a bare address.

        Raises:
            DsrError: neither an account id nor an e-mail address.
        """
        text = (identity or "").strip()
        if text.startswith("account:"):
            try:
                return "account", check_account_id(text[8:])
            except ValueError as exc:
                raise DsrError(str(exc)) from None
        from charter.security import email_address

        address = email_address(text.removeprefix("email:").strip().lower())
        if address is not None:
            return "email", address
        raise DsrError("the identity is 'account:<Atlassian account id>' or an e-mail address")

    def open(self, identity: str, *, kind: str, actor: str, received_at: datetime | None = None) -> DsrRequest:
        """Record a request received at ``received_at`` (default now; aware, not in the future).

        Raises:
            DsrError: a bad identity, kind or time.
        """
        check_staff_id(actor)
        if kind not in KINDS:
            raise DsrError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        identity_kind, value = self.parse_identity(identity)
        try:
            at = past_instant(received_at, self._clock.now(), what="the time the request was received")
        except ValueError as exc:
            raise DsrError(str(exc)) from None
        request_id = "DSR-" + "".join(_ALPHABET[b % 32] for b in self._random(10))
        sealed = self._keyring.seal(f"charter:dsr:{request_id}", "identity", value.encode())
        row = DsrRow(
            id=request_id,
            identity_kind=identity_kind,
            identity=sealed,
            kind=kind,
            state="open",
            received_at=at,
            due_at=dsr_due(at),
        )
        with self._db.session() as session:
            session.add(row)
            session.flush()
            self._audit.record(
                "privacy.dsr-opened",
                actor=actor,
                session=session,
                payload={"request": request_id, "kind": kind, "identity_kind": identity_kind},
            )
            return _request(row)

    def _row(self, request_id: str) -> DsrRow:
        if not _ID.fullmatch(request_id or ""):
            raise DsrError(f"{request_id!r} is not a request id (DSR- and ten letters or digits)")
        with self._db.session() as session:
            row = session.get(DsrRow, request_id)
            if row is None:
                raise DsrError(f"no request {request_id}")
            session.expunge(row)
            return row

    def get(self, request_id: str) -> DsrRequest:
        """A request's metadata. Raises :class:`DsrError` when there is none."""
        return _request(self._row(request_id))

    def requests(self, *, open_only: bool = False) -> list[DsrRequest]:
        """Every request, the soonest due first."""
        with self._db.session() as session:
            rows = session.scalars(select(DsrRow).order_by(DsrRow.due_at)).all()
            found = [_request(r) for r in rows]
        return [r for r in found if r.state != "closed"] if open_only else found

    def _identity(self, row: DsrRow) -> str:
        if row.identity is None:
            raise DsrError(f"{row.id} is closed: its identity is no longer kept")
        return self._keyring.open(f"charter:dsr:{row.id}", "identity", row.identity).decode()

    def _update(self, request_id: str, actor: str, event: str, **changes: Any) -> DsrRequest:
        with self._db.session() as session:
            row = session.get(DsrRow, request_id)
            assert row is not None
            for name, value in changes.items():
                setattr(row, name, value)
            self._audit.record(
                f"privacy.dsr-{event}",
                actor=actor,
                session=session,
                payload={"request": request_id, **{k: v for k, v in changes.items() if k == "state"}},
            )
            return _request(row)

    def verify(self, request_id: str, *, method: str, staff_id: str) -> DsrRequest:
        """Record that the requester's identity was verified (how, by whom).

        Raises:
            DsrError: no such request, or it is closed.
            AccessDeniedError: a bad staff id or a method shorter than 10 characters.
        """
        method = check_staff(staff_id, method)
        row = self._row(request_id)
        if row.state == "closed":
            raise DsrError(f"{request_id} is closed")
        return self._update(
            request_id,
            staff_id,
            "verified",
            verified_at=self._clock.now(),
            verified_by=staff_id,
            verification=method,
            state="verified" if row.state == "open" else row.state,
        )

    def extend(self, request_id: str, *, reason: str, staff_id: str) -> DsrRequest:
        """Extend the deadline once by two months (GDPR Art. 12(3)), with the reason recorded.

        Raises:
            DsrError: already extended, or closed.
        """
        reason = check_staff(staff_id, reason)
        row = self._row(request_id)
        if row.extension_reason is not None:
            raise DsrError(f"{request_id} was already extended (GDPR Art. 12(3) allows two further months once)")
        if row.state == "closed":
            raise DsrError(f"{request_id} is closed")
        return self._update(
            request_id, staff_id, "extended", due_at=_plus_months(row.due_at, 2), extension_reason=reason
        )

    def _verified(self, request_id: str) -> tuple[DsrRow, str]:
        row = self._row(request_id)
        if row.verified_at is None:
            raise DsrError(f"{request_id}: verify the requester's identity first (charter dsr verify)")
        if row.state == "closed":
            raise DsrError(f"{request_id} is closed")
        return row, self._identity(row)

    # -- finding ----------------------------------------------------------------------------------------

    def _find(self, kind: str, value: str) -> _Found:
        found = _Found()
        if kind == "account":
            for tenant_id, holder, key in self._eraser.refs(value):
                if holder == CASE_HOLDER:
                    found.cases.append(key)
                else:
                    found.records.append((tenant_id, holder, key))
            return found
        with self._db.session() as session:
            contacts = [(r.tenant_id, r.email) for r in session.scalars(select(TenantContactRow))]
            reports = [(r.id, r.contact) for r in session.scalars(select(SecurityReportRow)) if r.contact is not None]
            cases = [(r.id, r.customer) for r in session.scalars(select(SupportCaseRow)) if r.customer is not None]
        for tenant_id, sealed in contacts:
            if self._opens_to(tenant_id, "contact-email", sealed, value):
                found.tenant_contacts.append(tenant_id)
        for report_id, sealed in reports:
            if self._opens_to(f"charter:security:{report_id}", "contact", sealed, value):
                found.security_reports.append(report_id)
        for case_id, sealed in cases:
            if self._opens_to(f"charter:support:{case_id}:communications", "support.customer", sealed, value):
                found.cases.append(case_id)
        if self._contacts.find(value) is not None:
            found.marketplace.append(self._contacts.digest(value))
        return found

    def _opens_to(self, owner: str, purpose: str, sealed: bytes | None, value: str) -> bool:
        if sealed is None:
            return False
        try:
            return self._keyring.open(owner, purpose, sealed).decode().strip().lower() == value
        except KeyDestroyedError:
            return False

    # -- export and erase -------------------------------------------------------------------------------

    def export(
        self, request_id: str, *, staff_id: str, deliver: Callable[[dict[str, Any]], None] | None = None
    ) -> dict[str, Any]:
        """Everything Charter holds about the verified identity, as a JSON-ready package. The request is marked
        exported only after ``deliver(package)`` returned (a failed write leaves it as it was).

        Raises:
            DsrError: not verified, closed or unknown.
            Exception: whatever ``deliver`` raises (nothing is recorded then).
        """
        check_staff(staff_id, f"data subject request {request_id}")
        row, value = self._verified(request_id)
        found = self._find(row.identity_kind, value)
        records = []
        for tenant_id, kind, key in found.records:
            try:
                data = self._store.get(tenant_id, kind, key)
            except UndeclaredKindError:
                data = "(a record kind no longer in the charter's inventory)"
            records.append({"tenant": tenant_id, "kind": kind, "key": key, "value": data})
        cases = []
        for case_id in found.cases:
            case = self._support.get(case_id)
            entry: dict[str, Any] = {
                "case": case.id,
                "status": case.status,
                "opened_at": case.opened_at.isoformat(),
                "closed_at": case.closed_at.isoformat() if case.closed_at else None,
                "attachments": len(case.attachments),
            }
            if case.status != "deleted":
                talk = self._support.read_communications(
                    case.id, staff_id=staff_id, reason=f"data subject request {request_id}"
                )
                entry.update(
                    subject=talk.get("subject"),
                    customer=talk.get("customer"),
                    messages=[
                        {"from": m["author"], "at": m["at"], "text": m["body"]} for m in talk.get("messages", [])
                    ],
                )
            cases.append(entry)
        digest = account_digest(self._keyring, value) if row.identity_kind == "account" else None
        audit = [
            {"seq": e.seq, "at": e.at.isoformat(), "kind": e.kind}
            for e in self._audit.entries()
            if digest is not None and e.payload.get("account") == digest
        ]
        package: dict[str, Any] = {
            "request": row.id,
            "identity": {"kind": row.identity_kind, "value": value},
            "generated_at": self._clock.now().isoformat(),
            "controller_contact": self._charter.privacy.dsr_contact or self._charter.vendor.contacts.privacy,
            "tenant_records": records,
            "support_cases": cases,
            "tenant_contacts": [{"tenant": t, "email": value} for t in found.tenant_contacts],
            "marketplace_contacts": [self._contacts.export(value)] if found.marketplace else [],
            "security_reports": [self._report_content(r) for r in found.security_reports],
            "audit_references": audit,
        }
        if deliver is not None:
            deliver(package)
        state = row.state if row.state == "erased" else "exported"  # an export after erasure stays erased
        self._update(request_id, staff_id, "exported", exported_at=self._clock.now(), state=state)
        return package

    def _report_content(self, report_id: str) -> dict[str, Any]:
        with self._db.session() as session:
            row = session.get(SecurityReportRow, report_id)
            assert row is not None
            blobs = {"reporter": row.reporter, "contact": row.contact, "summary": row.summary, "details": row.details}
        owner = f"charter:security:{report_id}"
        return {"report": report_id} | {
            name: self._keyring.open(owner, name, blob).decode() if blob is not None else None
            for name, blob in blobs.items()
        }

    def erase(self, request_id: str, *, staff_id: str) -> dict[str, Any]:
        """Erase everything Charter holds about the verified identity; returns the receipt (counts and ids, no
        personal data), also recorded as ``privacy.dsr-erased``.

        Raises:
            DsrError: not verified, closed, unknown, or a request for access only.
        """
        check_staff(staff_id, f"data subject request {request_id}")
        row, value = self._verified(request_id)
        if row.kind == "access":
            raise DsrError(f"{request_id} is a request for access, not erasure")
        if row.erased_at is not None:
            raise DsrError(f"{request_id} was already erased on {row.erased_at:%Y-%m-%d %H:%M} UTC")
        found = self._find(row.identity_kind, value)
        receipt: dict[str, Any] = {"request": request_id}
        if row.identity_kind == "account":
            erasure = self._eraser.erase(
                value, actor=staff_id, reason=f"data subject request {request_id}", closed=False
            )
            receipt.update(records=erasure.records, support_cases=erasure.cases, held_by_legal_hold=erasure.held)
        else:
            held: list[str] = []
            deleted: list[str] = []
            from charter.support import LegalHoldError

            for case_id in found.cases:
                try:
                    self._support.delete(case_id, actor=staff_id)
                    deleted.append(case_id)
                except LegalHoldError:
                    held.append(case_id)
            with self._db.session() as session:
                session.execute(delete(TenantContactRow).where(TenantContactRow.tenant_id.in_(found.tenant_contacts)))
                for report_id in found.security_reports:
                    report = session.get(SecurityReportRow, report_id)
                    if report is not None:
                        report.reporter, report.contact = None, None
            marketplace = self._contacts.delete(value, actor=staff_id, reason="deleted") if found.marketplace else 0
            receipt.update(
                tenant_contacts=found.tenant_contacts,
                security_reports_pseudonymised=found.security_reports,
                support_cases=deleted,
                held_by_legal_hold=held,
                marketplace_contacts=marketplace,
            )
        with self._db.session() as session:
            stored = session.get(DsrRow, request_id)
            assert stored is not None
            stored.erased_at = self._clock.now()
            stored.state = "erased"
            self._audit.record("privacy.dsr-erased", actor=staff_id, session=session, payload=receipt)
        return receipt

    def close(self, request_id: str, *, staff_id: str) -> DsrRequest:
        """Close a request: its identity is crypto-shredded (the request's key destroyed); metadata remains."""
        check_staff(staff_id, f"data subject request {request_id}")
        if self._row(request_id).state == "closed":
            raise DsrError(f"{request_id} is already closed")
        self._keyring.destroy(f"charter:dsr:{request_id}")
        return self._update(request_id, staff_id, "closed", state="closed", identity=None, closed_at=self._clock.now())
