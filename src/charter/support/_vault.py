"""The support-case vault: attachments redacted at intake, encrypted per case, deleted by the charter's rule.

Statements promise that data given to support is obfuscated, used only for the case, and "deleted
permanently when the case closes". The vault keeps that promise with crypto-shredding:

* Each attachment has its own data key in the key store (owner ``charter:support:<case>:<attachment>``);
  its content is encrypted (AES-256-GCM, STREAM construction) under a key derived from it into a blob file
  under ``<root>/<case>/``, and its name is sealed under it. Messages, the subject and the customer
  reference are sealed under the case's communications key (``charter:support:<case>:communications``).
  Nothing a person wrote is in the database or on disk in plaintext.
* Attachments are redacted at intake (``support.redact_at_intake``; unless the charter says ``false``, as
  failing closed means redacting): e-mails, IPs, tokens, cookies, credentials, names... An attachment that
  cannot be scanned is refused; zip members that cannot be scanned are left out and listed.
* Deletion destroys the key first (after which no copy, backup included, opens), then removes the blobs and
  rows. Attachments go at close or ``retention.support_attachments.after_close`` later, and at the latest
  ``max_age`` after receipt even while the case is open; communications go
  ``retention.support_communications`` after close (at close when the charter sets no period). A
  customer's deletion request removes everything at once. A legal hold stops every deletion until released.
* Attachment blobs are never in backups (they are short-lived by rule); after a restore or recovery,
  :meth:`SupportVault.reconcile` deletes again what was deleted after the snapshot and what cannot come back.
* Each deletion leaves a receipt in the audit log (``support.deleted``: case, tenant, what, rule, counts,
  key ids, times; never content or names). Staff reading an attachment or the communications give a reason,
  recorded (``support.access``) before anything is decrypted.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy import delete, func, select

from charter.access import check_staff
from charter.audit import AuditLog
from charter.clock import Clock
from charter.crypto import StreamEncryptor, decrypt_stream
from charter.policy import Charter, Duration
from charter.redact import Redactor, hostname_detector
from charter.redact._formats import Report, clean_name, redact_stream
from charter.store import (
    AccountRefRow,
    Database,
    Keyring,
    SupportAttachmentRow,
    SupportCaseRow,
    SupportMessageRow,
    TenantRow,
    check_account_id,
)

__all__ = [
    "MAX_ATTACHMENT",
    "AttachmentRefused",
    "Case",
    "CaseError",
    "LegalHoldError",
    "SupportReceipt",
    "SupportVault",
]

#: The largest attachment accepted (bytes): it is redacted in memory, so nothing unencrypted reaches disk.
MAX_ATTACHMENT = 256 << 20
KEY_OWNER_PREFIX = "charter:support:"
#: ``account_refs.holder`` of a support case about an Atlassian account.
CASE_HOLDER = "charter:support-case"
_CASE_ID = re.compile(r"SC-[A-Z2-7]{10}")
_TENANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


class CaseError(ValueError):
    """A request the vault refuses: no such case, a closed case, bad input. The message says which."""


class AttachmentRefused(CaseError):
    """An attachment that cannot be scanned (binary, undecodable, too large): it is not stored."""


class LegalHoldError(CaseError):
    """The case is under legal hold: nothing of it may be deleted until the hold is released."""


@dataclass(frozen=True)
class Attachment:
    """An attachment's metadata: id, size of the redacted content (bytes), receipt time (UTC) and what the
    redaction did (counts per kind, withheld members; never values). The name is sealed: see
    :meth:`SupportVault.read_attachment`."""

    id: str
    size: int
    received_at: datetime
    redaction: dict[str, Any]


@dataclass(frozen=True)
class Case:
    """A case's metadata, free of personal data. Times are aware UTC datetimes; ``*_due_at`` say when the
    charter's rule deletes attachments and communications (``None``: not yet known, the case is open)."""

    id: str
    tenant_id: str | None
    status: Literal["open", "closed", "deleted"]
    opened_at: datetime
    closed_at: datetime | None
    attachments: list[Attachment]
    messages: int
    attachments_due_at: datetime | None
    communications_due_at: datetime | None
    attachments_deleted_at: datetime | None
    communications_deleted_at: datetime | None
    legal_hold: bool
    hold_since: datetime | None


@dataclass(frozen=True)
class SupportReceipt:
    """What a deletion removed: ids, counts, key ids, times (ISO 8601 UTC) and the rule; no content."""

    case_id: str
    tenant_id: str | None
    what: Literal["attachments", "communications", "case"]
    rule: str
    actor: str
    deleted_at: str
    deleted: dict[str, int] = field(default_factory=dict)
    keys_destroyed: list[str] = field(default_factory=list)
    audit_seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        receipt = asdict(self)
        del receipt["audit_seq"]
        return receipt


def _owner(case_id: str, part: str) -> str:
    return f"{KEY_OWNER_PREFIX}{case_id}:{part}"


class SupportVault:
    """Support cases with their attachments and communications, kept and deleted per the charter.

    Args:
        charter: the charter (``retention.support_*``, ``support.redact_at_intake``).
        db: the data database.
        keyring: the key store's keyring (per-case keys; destroying them is the deletion).
        audit: receipts and staff access are recorded here.
        clock: the clock (UTC times, due dates).
        root: the directory for encrypted attachment blobs (created 0700).
        redactor: the redaction engine (the default detectors when ``None``).
        random: randomness for ids and nonces.
    """

    def __init__(
        self,
        charter: Charter,
        db: Database,
        keyring: Keyring,
        audit: AuditLog,
        *,
        clock: Clock,
        root: Path,
        redactor: Redactor | None = None,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._charter = charter
        self._db = db
        self._keyring = keyring
        self._audit = audit
        self._clock = clock
        self._root = Path(root)
        self._redactor = redactor or Redactor()
        self._random = random

    # -- rules ------------------------------------------------------------------------------------------

    @property
    def redacts_at_intake(self) -> bool:
        """Whether attachments are redacted at intake (unless the charter says ``redact_at_intake = false``)."""
        support = self._charter.support
        return support is None or support.redact_at_intake is not False

    def _after_close(self) -> Duration:
        rule = self._charter.retention.support_attachments
        return rule.after_close if rule is not None else Duration(0)

    def _max_age(self) -> Duration | None:
        rule = self._charter.retention.support_attachments
        return rule.max_age if rule is not None else None

    def _communications(self) -> Duration:
        return self._charter.retention.support_communications or Duration(0)

    def _attachment_rule(self) -> str:
        rule = self._charter.retention.support_attachments
        if rule is None:
            return "no retention.support_attachments: deleted at close"
        parts = [f'after_close = "{rule.after_close}"']
        if rule.max_age is not None:
            parts.append(f'max_age = "{rule.max_age}"')
        return "retention.support_attachments: " + ", ".join(parts)

    def _communications_rule(self) -> str:
        period = self._charter.retention.support_communications
        if period is None:
            return "no retention.support_communications: deleted at close"
        return f'retention.support_communications = "{period}"'

    def _attachment_due(self, case: SupportCaseRow, received_at: datetime) -> datetime | None:
        """When an attachment goes: ``after_close`` after the case closes, and at the latest ``max_age``
        after its receipt, open case or not (``None``: not yet known)."""
        due: datetime | None = None
        if case.closed_at is not None:
            due = case.closed_at + self._after_close().timedelta
        max_age = self._max_age()
        if max_age is not None:
            by_age = received_at + max_age.timedelta
            due = by_age if due is None else min(due, by_age)
        return due

    # -- cases --------------------------------------------------------------------------------------------

    def open_case(
        self,
        *,
        subject: str,
        actor: str,
        tenant_id: str | None = None,
        customer: str | None = None,
        account_ids: Collection[str] = (),
    ) -> Case:
        """Open a case for a tenant, or for a customer without a tenant (``customer``: their reference, e.g.
        a support entitlement number; sealed). ``account_ids``: the Atlassian accounts the case is about; the
        case is then reported and erased with their personal data (``charter.privacy``).

        Raises:
            CaseError: neither or both of ``tenant_id`` and ``customer``, a malformed tenant id, an empty
                subject.
        """
        if (tenant_id is None) == (customer is None or not customer.strip()):
            raise CaseError("a case belongs to a tenant (--tenant) or to a customer without one (--customer)")
        if tenant_id is not None and not _TENANT_ID.fullmatch(tenant_id):
            raise CaseError("the tenant id must be 1-64 letters, digits, '.', '_', ':' or '-'")
        if not subject.strip():
            raise CaseError("a case needs a subject")
        try:
            accounts = [check_account_id(a) for a in account_ids]
        except ValueError as exc:
            raise CaseError(str(exc)) from None
        if tenant_id is not None:
            with self._db.session() as session:
                if session.get(TenantRow, tenant_id) is None:
                    raise CaseError(f"no tenant {tenant_id!r} is registered (see `charter tenants list`)")
        case_id = "SC-" + "".join(_ALPHABET[b % 32] for b in self._random(10))
        now = self._clock.now()
        talk = _owner(case_id, "communications")
        row = SupportCaseRow(
            id=case_id,
            tenant_id=tenant_id,
            status="open",
            customer=self._keyring.seal(talk, "support.customer", customer.encode()) if customer else None,
            subject=self._keyring.seal(talk, "support.subject", subject.encode()),
            opened_at=now,
        )
        with self._db.session() as session:
            session.add(row)
            session.add_all(
                AccountRefRow(
                    tenant_id=tenant_id or "", holder=CASE_HOLDER, key=case_id, account_id=a, retrieved_at=now
                )
                for a in dict.fromkeys(accounts)
            )
            self._audit.record(
                "support.opened", actor=actor, tenant_id=tenant_id, payload={"case": case_id}, session=session
            )
        return self.get(case_id)

    def get(self, case_id: str) -> Case:
        """The case's metadata. Raises :class:`CaseError` when there is no such case."""
        with self._db.session() as session:
            row = self._row(session, case_id)
            attachments = session.scalars(
                select(SupportAttachmentRow)
                .where(SupportAttachmentRow.case_id == case_id)
                .order_by(SupportAttachmentRow.received_at, SupportAttachmentRow.id)
            ).all()
            messages = session.scalar(
                select(func.count()).select_from(SupportMessageRow).where(SupportMessageRow.case_id == case_id)
            )
            return self._case(row, list(attachments), int(messages or 0))

    def _case(self, row: SupportCaseRow, attachments: list[SupportAttachmentRow], messages: int) -> Case:
        dues = [d for d in (self._attachment_due(row, a.received_at) for a in attachments) if d is not None]
        communications_due = None if row.closed_at is None else row.closed_at + self._communications().timedelta
        return Case(
            id=row.id,
            tenant_id=row.tenant_id,
            status=row.status,  # type: ignore[arg-type]
            opened_at=row.opened_at,
            closed_at=row.closed_at,
            attachments=[Attachment(a.id, a.size, a.received_at, json.loads(a.redaction)) for a in attachments],
            messages=messages,
            attachments_due_at=min(dues, default=None),
            communications_due_at=communications_due if row.communications_deleted_at is None else None,
            attachments_deleted_at=row.attachments_deleted_at,
            communications_deleted_at=row.communications_deleted_at,
            legal_hold=row.hold_reason is not None,
            hold_since=row.hold_since,
        )

    def cases(self, *, tenant_id: str | None = None, status: str | None = None) -> list[Case]:
        """Every case (optionally of one tenant, or in one status), oldest first."""
        with self._db.session() as session:
            query = select(SupportCaseRow).order_by(SupportCaseRow.opened_at, SupportCaseRow.id)
            if tenant_id is not None:
                query = query.where(SupportCaseRow.tenant_id == tenant_id)
            if status is not None:
                query = query.where(SupportCaseRow.status == status)
            rows = session.scalars(query).all()
            by_case: dict[str, list[SupportAttachmentRow]] = {}
            for attachment in session.scalars(select(SupportAttachmentRow)):
                by_case.setdefault(attachment.case_id, []).append(attachment)
            counts = dict(
                session.execute(
                    select(SupportMessageRow.case_id, func.count()).group_by(SupportMessageRow.case_id)
                ).all()
            )
            return [
                self._case(row, sorted(by_case.get(row.id, []), key=lambda a: a.received_at), counts.get(row.id, 0))
                for row in rows
            ]

    def _row(self, session: Any, case_id: str) -> SupportCaseRow:
        row: SupportCaseRow | None = session.get(SupportCaseRow, case_id) if _CASE_ID.fullmatch(case_id or "") else None
        if row is None:
            raise CaseError(f"no support case {case_id!r}")
        return row

    def _open_row(self, session: Any, case_id: str) -> SupportCaseRow:
        row = self._row(session, case_id)
        if row.status != "open":
            raise CaseError(f"support case {case_id} is {row.status}: it takes no more attachments or messages")
        return row

    # -- intake -------------------------------------------------------------------------------------------

    def attach(
        self, case_id: str, name: str, source: IO[bytes], *, actor: str, hosts: Sequence[str] = ()
    ) -> tuple[Attachment, Report]:
        """Redact (per the charter) and store an attachment, encrypted. ``source`` is read to its end;
        ``hosts`` are the customer's host names, redacted with their subdomains.

        Returns the attachment and the redaction report (counts per kind; members left out).

        Raises:
            CaseError: no such case, or it is not open.
            AttachmentRefused: larger than :data:`MAX_ATTACHMENT`, or it cannot be scanned (nothing stored).
        """
        name = Path(name).name or "attachment"
        with self._db.session() as session:
            self._open_row(session, case_id)
        data = source.read(MAX_ATTACHMENT + 1)
        if len(data) > MAX_ATTACHMENT:
            raise AttachmentRefused(f"{name} is larger than {MAX_ATTACHMENT >> 20} MiB: not stored")
        redactor = self._redactor
        if hosts:
            redactor = Redactor([*redactor.detectors, hostname_detector(list(hosts))])
        report = Report(spool=0)  # redacted members stay in memory: nothing unencrypted reaches the disk
        report.files = 1
        if self.redacts_at_intake:
            cleaned = io.BytesIO()
            if not redact_stream(name, io.BytesIO(data), cleaned, redactor, report):
                reasons = "; ".join(reason for _item, reason in report.withheld)
                raise AttachmentRefused(f"{name} cannot be scanned ({reasons}): not stored")
            content = cleaned.getvalue()
        else:
            content = data
        del data
        if self.redacts_at_intake:
            name = clean_name(redactor, name)  # the name too: ``erin@example.com.log``
        attachment_id = "AT-" + "".join(_ALPHABET[b % 32] for b in self._random(10))
        owner = _owner(case_id, attachment_id)
        self._root.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory = self._root / case_id
        directory.mkdir(mode=0o700, exist_ok=True)
        final = directory / f"{attachment_id}.blob"
        temporary = directory / f".{attachment_id}.part"
        # the file before the key: a process killed in between leaves a file the sweep finds, never a lone key
        out = os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        try:
            key = self._content_key(case_id, attachment_id)
            with out:
                encryptor = StreamEncryptor(key, out, attachment_id.encode(), random=self._random)
                encryptor.write(content)
                encryptor.close()
                out.flush()
                os.fsync(out.fileno())
            redaction = {"redacted": self.redacts_at_intake, **report.as_dict()}
            redaction.pop("files", None)
            row = SupportAttachmentRow(
                id=attachment_id,
                case_id=case_id,
                name=self._keyring.seal(owner, "support.attachment.name", name.encode()),
                size=len(content),
                received_at=self._clock.now(),
                redaction=json.dumps(redaction, sort_keys=True),
            )
            os.replace(temporary, final)
            with self._db.session() as session:
                self._open_row(session, case_id)
                session.add(row)
                self._audit.record(
                    "support.attached",
                    actor=actor,
                    tenant_id=self._row(session, case_id).tenant_id,
                    payload={
                        "case": case_id,
                        "attachment": attachment_id,
                        "size": len(content),
                        "counts": report.counts,
                        "withheld": len(report.withheld),
                    },
                    session=session,
                )
        except BaseException:
            out.close()
            self._keyring.destroy(owner)
            temporary.unlink(missing_ok=True)
            final.unlink(missing_ok=True)
            raise
        return Attachment(attachment_id, len(content), row.received_at, redaction), report

    def add_message(self, case_id: str, author: Literal["customer", "staff"], body: str, *, actor: str) -> int:
        """Record one communication (sealed); returns its number. Raises :class:`CaseError` (no such open
        case, an unknown author, an empty body)."""
        if author not in ("customer", "staff"):
            raise CaseError("a message is from 'customer' or 'staff'")
        if not body.strip():
            raise CaseError("an empty message")
        sealed = self._keyring.seal(_owner(case_id, "communications"), "support.message", body.encode())
        with self._db.session() as session:
            row = self._open_row(session, case_id)
            message = SupportMessageRow(case_id=case_id, author=author, at=self._clock.now(), body=sealed)
            session.add(message)
            session.flush()
            self._audit.record(
                "support.message",
                actor=actor,
                tenant_id=row.tenant_id,
                payload={"case": case_id, "message": message.id, "author": author},
                session=session,
            )
            return message.id

    # -- staff reading ------------------------------------------------------------------------------------

    def read_attachment(
        self, case_id: str, attachment_id: str, *, staff_id: str, reason: str
    ) -> tuple[str, Iterator[bytes]]:
        """The attachment's name and its (redacted) content in chunks, for a staff member with a reason.

        The access is recorded in the audit log before anything is decrypted. The chunks are authenticated
        one by one; a damaged blob raises :class:`charter.crypto.DecryptionError` while iterating.

        Raises:
            AccessDeniedError: no valid staff id or reason.
            CaseError: no such case or attachment (or it was deleted).
        """
        recorded = check_staff(staff_id, reason)
        with self._db.session() as session:
            case = self._row(session, case_id)
            row = session.get(SupportAttachmentRow, attachment_id)
            if row is None or row.case_id != case_id:
                raise CaseError(f"no attachment {attachment_id!r} in case {case_id} (deleted, or never there)")
            self._audit.record(
                "support.access",
                actor=staff_id,
                tenant_id=case.tenant_id,
                payload={"case": case_id, "attachment": attachment_id, "reason": recorded},
                session=session,
            )
            sealed_name = row.name
        owner = _owner(case_id, attachment_id)
        name = self._keyring.open(owner, "support.attachment.name", sealed_name).decode()
        key = self._content_key(case_id, attachment_id)
        blob = self._root / case_id / f"{attachment_id}.blob"

        if not blob.exists():
            raise CaseError(f"the content of attachment {attachment_id} is missing (restored from a backup?)")

        def chunks() -> Iterator[bytes]:
            with open(blob, "rb") as source:
                yield from decrypt_stream(key, source, attachment_id.encode())

        return name, chunks()

    def read_communications(self, case_id: str, *, staff_id: str, reason: str) -> dict[str, Any]:
        """The case's subject, customer reference and messages (``{"subject", "customer", "messages":
        [{"id", "author", "at", "body"}]}``) for a staff member with a reason (audited first).

        Raises:
            AccessDeniedError: no valid staff id or reason.
            CaseError: no such case, or its communications were deleted.
        """
        recorded = check_staff(staff_id, reason)
        with self._db.session() as session:
            case = self._row(session, case_id)
            if case.communications_deleted_at is not None:
                raise CaseError(f"the communications of case {case_id} were deleted")
            self._audit.record(
                "support.access",
                actor=staff_id,
                tenant_id=case.tenant_id,
                payload={"case": case_id, "communications": True, "reason": recorded},
                session=session,
            )
            rows = session.scalars(
                select(SupportMessageRow).where(SupportMessageRow.case_id == case_id).order_by(SupportMessageRow.id)
            ).all()
            sealed = [(m.id, m.author, m.at, m.body) for m in rows]
            subject, customer = case.subject, case.customer
        owner = _owner(case_id, "communications")
        return {
            "subject": self._keyring.open(owner, "support.subject", subject).decode() if subject else None,
            "customer": self._keyring.open(owner, "support.customer", customer).decode() if customer else None,
            "messages": [
                {
                    "id": i,
                    "author": a,
                    "at": at.isoformat(),
                    "body": self._keyring.open(owner, "support.message", b).decode(),
                }
                for i, a, at, b in sealed
            ],
        }

    # -- closing, holds, deletion --------------------------------------------------------------------------

    def close(self, case_id: str, *, actor: str) -> list[SupportReceipt]:
        """Close the case; what the charter deletes at close goes now (receipts returned).

        Raises:
            CaseError: no such case, or it is not open.
        """
        with self._db.session() as session:
            row = self._open_row(session, case_id)
            row.status = "closed"
            row.closed_at = self._clock.now()
            self._audit.record(
                "support.closed", actor=actor, tenant_id=row.tenant_id, payload={"case": case_id}, session=session
            )
        self._sweep(case_id)  # an intake interrupted earlier left a key and a file: neither outlives the case
        return self.expire(actor=actor, case_ids=[case_id])

    def hold(self, case_id: str, *, reason: str, actor: str) -> Case:
        """Record a legal hold: nothing of the case is deleted until :meth:`release`. The reason (10-500
        characters, masked) is kept and audited."""
        recorded = check_staff(actor, reason)
        with self._db.session() as session:
            row = self._row(session, case_id)
            if row.status == "deleted":
                raise CaseError(f"support case {case_id} was deleted: nothing left to hold")
            row.hold_reason, row.hold_since = recorded, row.hold_since or self._clock.now()
            self._audit.record(
                "support.hold",
                actor=actor,
                tenant_id=row.tenant_id,
                payload={"case": case_id, "reason": recorded},
                session=session,
            )
        return self.get(case_id)

    def release(self, case_id: str, *, reason: str, actor: str) -> list[SupportReceipt]:
        """Release a legal hold (the reason, 10-500 characters, is audited); deletions that came due
        meanwhile happen now (receipts returned)."""
        recorded = check_staff(actor, reason)
        with self._db.session() as session:
            row = self._row(session, case_id)
            if row.hold_reason is None:
                raise CaseError(f"support case {case_id} is not under legal hold")
            row.hold_reason, row.hold_since = None, None
            self._audit.record(
                "support.release",
                actor=actor,
                tenant_id=row.tenant_id,
                payload={"case": case_id, "reason": recorded},
                session=session,
            )
        return self.expire(actor=actor, case_ids=[case_id])

    def due(self, now: datetime | None = None) -> list[tuple[str, str, datetime]]:
        """``(case_id, "attachments" | "communications", due_at)`` for every deletion due at ``now``
        (UTC, default the clock's now) and not stopped by a legal hold."""
        now = now or self._clock.now()
        found: list[tuple[str, str, datetime]] = []
        for case in self.cases():
            if case.legal_hold or case.status == "deleted":
                continue
            if case.attachments and case.attachments_due_at is not None and case.attachments_due_at <= now:
                found.append((case.id, "attachments", case.attachments_due_at))
            if case.status == "closed" and case.communications_due_at is not None and case.communications_due_at <= now:
                found.append((case.id, "communications", case.communications_due_at))
        return found

    def expire(self, *, actor: str = "scheduler", case_ids: list[str] | None = None) -> list[SupportReceipt]:
        """Delete what the charter's rule says is due now (all cases, or only ``case_ids``); legal holds
        respected. Returns the receipts."""
        receipts = []
        now = self._clock.now()
        if self._root.is_dir():  # intakes interrupted more than an hour ago
            for directory in sorted(self._root.glob("SC-*")):
                if case_ids is None or directory.name in case_ids:
                    self._sweep(directory.name, older_than=3600)
        for case_id, what, _due_at in self.due(now):
            if case_ids is not None and case_id not in case_ids:
                continue
            if what == "attachments":
                receipts.append(self._delete_attachments(case_id, actor=actor, rule=self._attachment_rule(), due=now))
            else:
                receipts.append(self._delete_communications(case_id, actor=actor))
        return receipts

    def delete(self, case_id: str, *, actor: str) -> SupportReceipt:
        """A deletion request: destroy every key of the case and remove attachments, communications and the
        case's sealed fields at once, leaving a tombstone and a receipt.

        Raises:
            CaseError: no such case, or already deleted.
            LegalHoldError: the case is under legal hold (nothing is deleted).
        """
        with self._db.session() as session:
            row = self._row(session, case_id)
            if row.status == "deleted":
                raise CaseError(f"support case {case_id} was already deleted")
            if row.hold_reason is not None:
                raise LegalHoldError(
                    f"support case {case_id} is under legal hold since {row.hold_since:%Y-%m-%d}: "
                    "nothing was deleted (release the hold first)"
                )
            attachment_ids = list(
                session.scalars(select(SupportAttachmentRow.id).where(SupportAttachmentRow.case_id == case_id))
            )
        rule = "deletion request (retention.support_deletion_on_request)"
        keys = self._sweep(case_id)
        keys += [k for a in attachment_ids for k in self._keyring.destroy(_owner(case_id, a))]
        keys += self._keyring.destroy(_owner(case_id, "communications"))
        blobs = self._remove_blobs(case_id, attachment_ids)
        now = self._clock.now()
        with self._db.session() as session:
            row = self._row(session, case_id)
            session.execute(delete(SupportAttachmentRow).where(SupportAttachmentRow.id.in_(attachment_ids)))
            messages = session.execute(delete(SupportMessageRow).where(SupportMessageRow.case_id == case_id))
            row.status, row.subject, row.customer = "deleted", None, None
            session.execute(
                delete(AccountRefRow).where(AccountRefRow.holder == CASE_HOLDER, AccountRefRow.key == case_id)
            )
            row.attachments_deleted_at = row.attachments_deleted_at or now
            row.communications_deleted_at = row.communications_deleted_at or now
            counts = {
                "attachments": len(attachment_ids),
                "blobs": blobs,
                "messages": messages.rowcount or 0,  # type: ignore[attr-defined]
            }
            return self._receipt(session, row, "case", rule, actor, counts, keys)

    def _delete_attachments(
        self,
        case_id: str,
        *,
        actor: str,
        rule: str,
        due: datetime | None = None,
        only: list[str] | None = None,
    ) -> SupportReceipt:
        """Delete the case's attachments due at ``due`` (or those in ``only``; all of them when neither)."""
        with self._db.session() as session:
            case = self._row(session, case_id)
            attachment_ids = [
                a.id
                for a in session.scalars(select(SupportAttachmentRow).where(SupportAttachmentRow.case_id == case_id))
                if (only is None or a.id in only)
                and (due is None or ((d := self._attachment_due(case, a.received_at)) is not None and d <= due))
            ]
        # crypto-shred first: any copy of a blob (a file-system snapshot, a stray download) stops opening
        keys = self._sweep(case_id) if due is None and only is None else []
        keys += [k for a in attachment_ids for k in self._keyring.destroy(_owner(case_id, a))]
        blobs = self._remove_blobs(case_id, attachment_ids)
        with self._db.session() as session:
            row = self._row(session, case_id)
            session.execute(delete(SupportAttachmentRow).where(SupportAttachmentRow.id.in_(attachment_ids)))
            row.attachments_deleted_at = self._clock.now()
            counts = {"attachments": len(attachment_ids), "blobs": blobs}
            return self._receipt(session, row, "attachments", rule, actor, counts, keys)

    def _delete_communications(self, case_id: str, *, actor: str, rule: str | None = None) -> SupportReceipt:
        with self._db.session() as session:
            left = session.scalar(
                select(func.count()).select_from(SupportAttachmentRow).where(SupportAttachmentRow.case_id == case_id)
            )
        if left:  # never keep attachments longer than the case's communications
            self._delete_attachments(case_id, actor=actor, rule=self._communications_rule())
        keys = self._keyring.destroy(_owner(case_id, "communications"))
        with self._db.session() as session:
            row = self._row(session, case_id)
            result = session.execute(delete(SupportMessageRow).where(SupportMessageRow.case_id == case_id))
            row.subject, row.customer = None, None
            row.status = "deleted"
            row.communications_deleted_at = self._clock.now()
            session.execute(
                delete(AccountRefRow).where(AccountRefRow.holder == CASE_HOLDER, AccountRefRow.key == case_id)
            )
            counts = {"messages": result.rowcount or 0}  # type: ignore[attr-defined]
            rule = rule or self._communications_rule()
            return self._receipt(session, row, "communications", rule, actor, counts, keys)

    def reconcile(self, *, actor: str) -> list[SupportReceipt]:
        """After a restore or a recovery from backup: delete again what was deleted after the snapshot.

        An attachment whose key is destroyed, and the communications of a case whose communications key is
        destroyed, are removed again (with receipts, rule ``re-applied after restore``); blob files that no
        attachment row names any more (added after the snapshot) are crypto-shredded and removed.
        """
        destroyed = self._keyring.destroyed()
        rule = "re-applied after restore: deleted after the snapshot"
        receipts = []
        with self._db.session() as session:
            rows = session.scalars(select(SupportAttachmentRow)).all()
            attachments = [(a.case_id, a.id) for a in rows]
            cases = [c.id for c in session.scalars(select(SupportCaseRow).where(SupportCaseRow.status != "deleted"))]
        by_case: dict[str, list[str]] = {}
        lost: dict[str, list[str]] = {}
        for case_id, attachment_id in attachments:
            if _owner(case_id, attachment_id) in destroyed:
                by_case.setdefault(case_id, []).append(attachment_id)
            elif not (self._root / case_id / f"{attachment_id}.blob").exists():
                lost.setdefault(case_id, []).append(attachment_id)
        for case_id, attachment_ids in sorted(by_case.items()):
            receipts.append(self._delete_attachments(case_id, actor=actor, rule=rule, only=attachment_ids))
        for case_id, attachment_ids in sorted(lost.items()):  # blobs are never in backups: these cannot come back
            receipts.append(
                self._delete_attachments(
                    case_id, actor=actor, rule="blob not restored (attachments are not backed up)", only=attachment_ids
                )
            )
        for case_id in cases:
            if _owner(case_id, "communications") in destroyed:
                receipts.append(self._delete_communications(case_id, actor=actor, rule=rule))
        if self._root.exists():
            for directory in sorted(self._root.glob("SC-*")):
                self._sweep(directory.name)
        return receipts

    def _content_key(self, case_id: str, attachment_id: str) -> bytes:
        """The attachment's content key: derived from its own data key (raises KeyDestroyedError once that
        key is destroyed, which is the deletion)."""
        return self._keyring.derive(_owner(case_id, attachment_id), b"support.attachment:" + attachment_id.encode())

    def _sweep(self, case_id: str, *, older_than: float | None = None) -> list[str]:
        """Crypto-shred and remove what an interrupted intake left in the case's directory: blob or partial
        files no attachment row names (``older_than``: only files not touched for that many seconds, so an
        intake in progress elsewhere is left alone). Returns the destroyed key ids."""
        directory = self._root / case_id
        if not directory.is_dir():
            return []
        with self._db.session() as session:
            known = set(session.scalars(select(SupportAttachmentRow.id).where(SupportAttachmentRow.case_id == case_id)))
        destroyed: list[str] = []
        now = self._clock.now().timestamp()
        for path in directory.iterdir():
            attachment_id = path.name.lstrip(".").split(".")[0]
            if attachment_id in known or not attachment_id.startswith("AT-"):
                continue
            if older_than is not None and now - path.stat().st_mtime < older_than:
                continue
            destroyed += self._keyring.destroy(_owner(case_id, attachment_id))
            path.unlink(missing_ok=True)
        if not any(directory.iterdir()):
            directory.rmdir()
        return destroyed

    def _remove_blobs(self, case_id: str, attachment_ids: list[str]) -> int:
        directory = self._root / case_id
        removed = 0
        for attachment_id in attachment_ids:
            blob = directory / f"{attachment_id}.blob"
            if blob.exists():
                blob.unlink()
                removed += 1
        if directory.exists() and not any(directory.iterdir()):
            directory.rmdir()
        return removed

    def _receipt(
        self,
        session: Any,
        row: SupportCaseRow,
        what: Literal["attachments", "communications", "case"],
        rule: str,
        actor: str,
        counts: dict[str, int],
        keys: list[str],
    ) -> SupportReceipt:
        receipt = SupportReceipt(
            case_id=row.id,
            tenant_id=row.tenant_id,
            what=what,
            rule=rule,
            actor=actor,
            deleted_at=self._clock.now().isoformat(),
            deleted=counts,
            keys_destroyed=keys,
        )
        entry = self._audit.record(
            "support.deleted", actor=actor, tenant_id=row.tenant_id, payload=receipt.as_dict(), session=session
        )
        return SupportReceipt(**{**receipt.as_dict(), "audit_seq": entry.seq})

    def receipts(self, case_id: str | None = None) -> list[SupportReceipt]:
        """Every deletion receipt (of one case), oldest first, read back from the audit log."""
        found = []
        for entry in self._audit.entries(kind="support.deleted"):
            if case_id is None or entry.payload.get("case_id") == case_id:
                found.append(SupportReceipt(**{**entry.payload, "audit_seq": entry.seq}))
        return found
