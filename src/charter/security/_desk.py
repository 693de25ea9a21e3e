"""The security desk: vulnerability reports and dependency findings, their states, clocks and notifications.

Statements promise "we acknowledge a report within 3 business days", "we fix by severity", "we notify
affected customers", "we notify without undue delay after a breach". The desk keeps those clocks:

* Every report gets an id (``SR-`` and ten base32 letters) and an acknowledgement draft. What a person wrote
  (reporter, contact, summary, details, advisory) is sealed under the report's own data key (owner
  ``charter:security:<id>``), so the database holds ids, states, scores and times in clear, nothing else.
* States: ``received -> acknowledged -> triaged -> fixing -> fixed -> released -> disclosed``, plus
  ``not-a-vulnerability`` and ``duplicate`` before a fix starts. Every transition is an audit entry
  (``security.transition``: report, from, to, score; never content).
* Clocks (aware UTC, independent of the host's ``TZ``): acknowledgement after N business days
  (:func:`acknowledge_due`); a fix by severity (:class:`FixClock`; until triaged the Critical deadline
  applies: failing closed); after a confirmed personal-data breach, the supervisory authority within 72 h of
  awareness (GDPR Art. 33(1)) and customers within the charter's promise (72 h when it names no number).
* Affected tenants are found in the registry by app key and a version range (PEP 440 specifiers, e.g.
  ``<2.3.1``); a tenant whose version is unknown is counted as affected.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from jinja2 import Environment, PackageLoader, StrictUndefined
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from charter.audit import AuditLog
from charter.clock import Clock, past_instant
from charter.policy import Charter
from charter.security._clocks import FixClock, Source, acknowledge_due, parse_cvss
from charter.security._mail import Mailer, MailError, email_address
from charter.store import (
    Database,
    Keyring,
    SecurityAlertRow,
    SecurityNotificationRow,
    SecurityReportRow,
    TenantContactRow,
    TenantRow,
)

__all__ = [
    "AUTHORITY_WINDOW",
    "DEFAULT_ACK_BUSINESS_DAYS",
    "Advisory",
    "Affected",
    "Alert",
    "DeskClock",
    "DeskError",
    "NotifyResult",
    "Report",
    "ReportContent",
    "SecurityDesk",
    "State",
]

State = Literal[
    "received",
    "acknowledged",
    "triaged",
    "fixing",
    "fixed",
    "released",
    "disclosed",
    "not-a-vulnerability",
    "duplicate",
]
STATES: tuple[str, ...] = get_args(State)
SOURCES: tuple[str, ...] = get_args(Source)
CLOSED = frozenset({"disclosed", "not-a-vulnerability", "duplicate"})
_NEXT: dict[str, frozenset[str]] = {
    "received": frozenset({"acknowledged", "not-a-vulnerability", "duplicate"}),
    "acknowledged": frozenset({"triaged", "not-a-vulnerability", "duplicate"}),
    "triaged": frozenset({"fixing", "not-a-vulnerability", "duplicate"}),
    "fixing": frozenset({"fixed"}),
    "fixed": frozenset({"released"}),
    "released": frozenset({"disclosed"}),
}
#: GDPR Art. 33(1): the supervisory authority is notified within 72 hours of becoming aware of a breach.
AUTHORITY_WINDOW = timedelta(hours=72)
#: Used when the charter promises no number of business days (the seeds promise 3).
DEFAULT_ACK_BUSINESS_DAYS = 3
KEY_OWNER_PREFIX = "charter:security:"
_ID = re.compile(r"SR-[A-Z2-7]{10}")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TENANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}")
MAX_SUMMARY = 300
MAX_DETAILS = 100_000
MAX_NAME = 200


class DeskError(ValueError):
    """A request the desk refuses: unknown report, a transition the states do not allow, bad input."""


@dataclass(frozen=True)
class DeskClock:
    """One running clock of one report. ``due_at`` is aware UTC; ``note`` says why it is what it is."""

    report_id: str
    name: Literal["acknowledge", "fix", "breach-authority", "breach-customers"]
    started_at: datetime
    due_at: datetime
    note: str = ""

    def left(self, now: datetime) -> timedelta:
        """Time left (negative once breached)."""
        return self.due_at - now

    def breached(self, now: datetime) -> bool:
        """Past the due instant (the instant itself is still on time)."""
        return now > self.due_at

    def stage(self, now: datetime) -> Literal["on-track", "due-soon", "breached"]:
        """``due-soon`` in the last quarter of the window (at least the last hour), ``breached`` after it."""
        if self.breached(now):
            return "breached"
        window = self.due_at - self.started_at
        if self.left(now) <= max(window / 4, timedelta(hours=1)):
            return "due-soon"
        return "on-track"


@dataclass(frozen=True)
class Report:
    """A report's metadata (no content: see :meth:`SecurityDesk.read`). Times are aware UTC."""

    id: str
    kind: Literal["report", "dependency"]
    source: str
    intake: str
    state: str
    app_key: str | None
    affected: str | None
    fixed_version: str | None
    cvss_vector: str | None
    score: float | None
    severity: str | None
    duplicate_of: str | None
    credit: bool
    received_at: datetime
    ack_due_at: datetime
    acknowledged_at: datetime | None
    triaged_at: datetime | None
    fix_started_at: datetime
    fix_due_at: datetime | None
    fixed_at: datetime | None
    released_at: datetime | None
    disclosed_at: datetime | None
    closed_at: datetime | None
    breach_aware_at: datetime | None
    authority_due_at: datetime | None
    customers_due_at: datetime | None
    authority_notified_at: datetime | None
    customers_notified_at: datetime | None

    @property
    def open(self) -> bool:
        """Not yet disclosed, rejected or a duplicate."""
        return self.state not in CLOSED

    def clocks(self) -> list[DeskClock]:
        """The clocks still running: acknowledgement until acknowledged, the fix until released, and the
        breach clocks until each notification is recorded."""
        running: list[DeskClock] = []
        if self.state == "received":
            running.append(DeskClock(self.id, "acknowledge", self.received_at, self.ack_due_at))
        if self.fix_due_at is not None and self.state in ("received", "acknowledged", "triaged", "fixing", "fixed"):
            note = "" if self.score is not None else "not triaged yet: the Critical deadline applies"
            running.append(DeskClock(self.id, "fix", self.fix_started_at, self.fix_due_at, note))
        if self.breach_aware_at is not None:
            if self.authority_due_at is not None and self.authority_notified_at is None:
                note = "GDPR Art. 33: supervisory authority within 72 h of awareness"
                running.append(
                    DeskClock(self.id, "breach-authority", self.breach_aware_at, self.authority_due_at, note)
                )
            if self.customers_due_at is not None and self.customers_notified_at is None:
                running.append(DeskClock(self.id, "breach-customers", self.breach_aware_at, self.customers_due_at, ""))
        return running


@dataclass(frozen=True)
class ReportContent:
    """What a person wrote, decrypted: reporter name, contact address, summary, details, advisory."""

    reporter: str | None
    contact: str | None
    summary: str
    details: str
    advisory: dict[str, Any] | None


@dataclass(frozen=True)
class Affected:
    """A tenant that runs an affected version (or whose version is unknown)."""

    tenant_id: str
    app_key: str
    app_version: str | None
    reason: str


@dataclass(frozen=True)
class Advisory:
    """A published advisory (a disclosed report), as the trust page shows it."""

    id: str
    title: str
    text: str
    severity: str | None
    score: float | None
    cvss_vector: str | None
    app_key: str | None
    affected: str | None
    fixed_version: str | None
    released_at: datetime | None
    disclosed_at: datetime
    credit: str | None


@dataclass(frozen=True)
class Alert:
    """A clock that reached a stage (``due-soon`` or ``breached``) and has not been alerted yet."""

    clock: DeskClock
    stage: Literal["due-soon", "breached"]


@dataclass
class NotifyResult:
    """The outcome of one notification run: tenant ids per outcome."""

    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    no_contact: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every affected tenant has been told (now or earlier)."""
        return not self.failed and not self.no_contact


def _owner(report_id: str) -> str:
    return f"{KEY_OWNER_PREFIX}{report_id}"


def _text(value: str | None, what: str, limit: int, *, required: bool = False, line: bool = False) -> str | None:
    if value is None or not value.strip():
        if required:
            raise DeskError(f"{what} is required")
        return None
    value = value.strip()
    if line:
        value = " ".join(value.split())
    if len(value) > limit:
        raise DeskError(f"{what} is longer than {limit} characters ({len(value)})")
    if any((ord(c) < 32 and c not in "\n\t") or c in _INVISIBLE for c in value):
        raise DeskError(f"{what}: control or invisible characters (e.g. right-to-left overrides)")
    return value


#: Bidirectional overrides and zero-width characters: they make text read differently from what it is
#: (CVE-2021-42574, "Trojan Source").
_INVISIBLE = frozenset("\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\x7f")
_ACTOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def _check_actor(actor: str) -> str:
    if not _ACTOR.fullmatch(actor or ""):
        raise DeskError(
            "the staff id must be 1-64 letters, digits, '.', '_', ':' or '-' (an id, not an e-mail address)"
        )
    return actor


def check_specifier(affected: str) -> SpecifierSet:
    """A version range as PEP 440 specifiers (``<2.3.1``, ``>=1.0,<1.4.2``).

    Raises:
        DeskError: not a valid range.
    """
    try:
        spec = SpecifierSet(affected)
    except InvalidSpecifier:
        raise DeskError(
            f"affected versions {affected!r} is not a version range such as '<2.3.1' or '>=1.0,<1.4'"
        ) from None
    if not str(spec):
        raise DeskError("affected versions is empty; give a range such as '<2.3.1'")
    return spec


def _in_range(spec: SpecifierSet, version: Version) -> bool:
    """Whether ``version`` is in ``spec``, failing closed on pre-releases: PEP 440 says ``<2.3.1`` excludes
    ``2.3.1rc1``, but a release candidate of the fixed version predates the fix, so plain version order decides
    for ordered comparisons."""
    if spec.contains(version, prereleases=True):
        return True
    if not version.is_prerelease:
        return False
    plain = {
        "<": lambda v, b: v < b,
        "<=": lambda v, b: v <= b,
        ">": lambda v, b: v > b,
        ">=": lambda v, b: v >= b,
    }
    for item in spec:
        compare = plain.get(item.operator)
        if compare is None:
            if not item.contains(version, prereleases=True):
                return False
        elif not compare(version, Version(item.version)):
            return False
    return True


class SecurityDesk:
    """Reports, their clocks and the notifications they lead to.

    Args:
        charter: the charter (``security.*``, ``vendor``).
        db: the data database.
        keyring: the key store (one data key per report; tenant keys seal tenant contacts).
        audit: transitions, reads and notifications are recorded here.
        clock: the clock (UTC).
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
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._charter = charter
        self._db = db
        self._keyring = keyring
        self._audit = audit
        self._clock = clock
        self._random = random
        self._templates = Environment(  # noqa: S701 - plain-text mail and Markdown, never HTML
            loader=PackageLoader("charter.security", "templates"),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # -- rules ------------------------------------------------------------------------------------------

    @property
    def ack_business_days(self) -> int:
        """``security.acknowledge_within_business_days``, else :data:`DEFAULT_ACK_BUSINESS_DAYS`."""
        return self._charter.security.acknowledge_within_business_days or DEFAULT_ACK_BUSINESS_DAYS

    @property
    def holiday_country(self) -> str:
        """The business-day calendar: ``security.holiday_country``, else ``vendor.country``."""
        return self._charter.security.holiday_country or self._charter.vendor.country

    def _customers_window(self) -> timedelta:
        breach = self._charter.security.breach
        promised = breach.notify_customers_within.timedelta if breach.notify_customers_within else None
        return promised if promised is not None else AUTHORITY_WINDOW

    def _authority_window(self) -> timedelta:
        breach = self._charter.security.breach
        promised = breach.notify_authority_within.timedelta if breach.notify_authority_within else None
        return min(promised, AUTHORITY_WINDOW) if promised is not None else AUTHORITY_WINDOW

    # -- intake -----------------------------------------------------------------------------------------

    def _new_id(self) -> str:
        return "SR-" + "".join(_ALPHABET[b % 32] for b in self._random(10))

    def report(
        self,
        *,
        summary: str,
        details: str,
        source: str,
        reporter: str | None = None,
        contact: str | None = None,
        app_key: str | None = None,
        received_at: datetime | None = None,
        intake: str = "cli",
        intake_ref: str | None = None,
        kind: Literal["report", "dependency"] = "report",
        actor: str,
    ) -> tuple[Report, bool]:
        """Record a report. Internal and dependency findings start acknowledged (nobody waits for an answer).

        Args:
            summary: one line (at most 300 characters).
            details: the report's text (at most 100,000 characters).
            source: ``researcher``, ``customer``, ``bug-bounty``, ``internal`` or ``dependency``.
            reporter, contact: who reported it and the e-mail address to answer (optional).
            app_key: the app concerned, when known (one of the charter's apps).
            received_at: when it arrived (aware; default now); a time in the future is refused.
            intake: ``cli``, ``form``, ``mailbox`` or ``deps-audit``.
            intake_ref: a stable reference of the source message or finding; a second report with the same
                reference is not recorded again.
            actor: who records it (audited).

        Returns:
            ``(report, created)``: ``created`` is false when ``intake_ref`` was seen before.

        Raises:
            DeskError: bad input, named.
        """
        if source not in SOURCES:
            raise DeskError(f"source {source!r} is not one of {', '.join(SOURCES)}")
        summary_text = _text(summary, "the summary", MAX_SUMMARY, required=True, line=True)
        details_text = _text(details, "the details", MAX_DETAILS, required=True)
        reporter_text = _text(reporter, "the reporter's name", MAX_NAME, line=True)
        _check_actor(actor)
        contact_text = _text(contact, "the contact", MAX_NAME)
        if contact_text is not None:
            contact_text = email_address(contact_text)
            if contact_text is None:
                raise DeskError("the contact must be one e-mail address (the acknowledgement is sent there)")
        if app_key is not None and app_key not in {a.key for a in self._charter.apps}:
            keys = ", ".join(a.key for a in self._charter.apps)
            raise DeskError(f"app {app_key!r} is not in the charter (apps: {keys})")
        now = self._clock.now()
        try:
            at = past_instant(received_at, now, what="the time the report was received")
        except ValueError as exc:
            raise DeskError(str(exc)) from None
        ref = hashlib.sha256(intake_ref.encode()).hexdigest() if intake_ref else None
        if ref is not None:
            with self._db.session() as session:
                existing = session.scalar(select(SecurityReportRow).where(SecurityReportRow.intake_ref == ref))
                if existing is not None:
                    return _report(existing), False
        report_id = self._new_id()
        owner = _owner(report_id)
        fix_within = self._charter.security.effective_fix_within
        clock = FixClock(at, source, fix_within)  # type: ignore[arg-type]
        automatic = source in ("internal", "dependency")
        row = SecurityReportRow(
            id=report_id,
            kind=kind,
            source=source,
            intake=intake,
            intake_ref=ref,
            state="acknowledged" if automatic else "received",
            app_key=app_key,
            credit=False,
            reporter=self._seal(owner, "reporter", reporter_text),
            contact=self._seal(owner, "contact", contact_text),
            summary=self._seal(owner, "summary", summary_text),
            details=self._seal(owner, "details", details_text),
            received_at=at,
            ack_due_at=acknowledge_due(at, self.ack_business_days, self.holiday_country),
            acknowledged_at=at if automatic else None,
            fix_started_at=clock.started_at,
            fix_due_at=clock.due(9.0),  # not triaged: the Critical deadline (fail closed)
            updated_at=now,
        )
        try:
            with self._db.session() as session:
                session.add(row)
                session.flush()
                self._audit.record(
                    "security.received",
                    actor=actor,
                    session=session,
                    payload={"report": report_id, "kind": kind, "source": source, "intake": intake, "state": row.state},
                )
                created = _report(row)
        except IntegrityError:
            if ref is None:
                raise
            with self._db.session() as session:
                existing = session.scalar(select(SecurityReportRow).where(SecurityReportRow.intake_ref == ref))
                if existing is None:  # pragma: no cover - the conflicting insert was rolled back
                    raise
                return _report(existing), False
        return created, True

    def _seal(self, owner: str, purpose: str, value: str | None) -> bytes | None:
        return None if value is None else self._keyring.seal(owner, purpose, value.encode("utf-8"))

    def _open(self, owner: str, purpose: str, blob: bytes | None) -> str | None:
        return None if blob is None else self._keyring.open(owner, purpose, blob).decode("utf-8")

    # -- reading ----------------------------------------------------------------------------------------

    def _check_id(self, report_id: str) -> str:
        if not _ID.fullmatch(report_id or ""):
            raise DeskError(f"{report_id!r} is not a report id (SR- and ten letters or digits)")
        return report_id

    def get(self, report_id: str) -> Report:
        """A report's metadata.

        Raises:
            DeskError: no such report.
        """
        with self._db.session() as session:
            row = session.get(SecurityReportRow, self._check_id(report_id))
            if row is None:
                raise DeskError(f"no report {report_id}")
            return _report(row)

    def reports(self, *, open_only: bool = False) -> list[Report]:
        """Every report, oldest first."""
        with self._db.session() as session:
            rows = session.scalars(select(SecurityReportRow).order_by(SecurityReportRow.received_at)).all()
            reports = [_report(r) for r in rows]
        return [r for r in reports if r.open] if open_only else reports

    def read(self, report_id: str, *, staff_id: str, reason: str = "security triage") -> ReportContent:
        """Decrypt what the reporter wrote, after recording the read (``security.read``) in the audit log.

        Raises:
            DeskError: no such report.
            AccessDeniedError: a bad staff id.
        """
        from charter.access import check_staff

        reason = check_staff(staff_id, reason)
        report = self.get(report_id)
        self._audit.record("security.read", actor=staff_id, payload={"report": report.id, "reason": reason})
        return self._content(report.id)

    def _content(self, report_id: str) -> ReportContent:
        owner = _owner(report_id)
        with self._db.session() as session:
            row = session.get(SecurityReportRow, report_id)
            assert row is not None
            advisory = self._open(owner, "advisory", row.advisory)
            return ReportContent(
                reporter=self._open(owner, "reporter", row.reporter),
                contact=self._open(owner, "contact", row.contact),
                summary=self._open(owner, "summary", row.summary) or "",
                details=self._open(owner, "details", row.details) or "",
                advisory=json.loads(advisory) if advisory else None,
            )

    # -- transitions ------------------------------------------------------------------------------------

    def _move(
        self,
        report_id: str,
        to: str,
        *,
        actor: str,
        change: Callable[[SecurityReportRow, datetime], None] | None = None,
        payload: dict[str, Any] | None = None,
        same_state: bool = False,
    ) -> Report:
        _check_actor(actor)
        now = self._clock.now()
        with self._db.session() as session:
            row = session.get(SecurityReportRow, self._check_id(report_id), with_for_update=True)
            if row is None:
                raise DeskError(f"no report {report_id}")
            before = row.state
            if not (same_state and before == to) and to not in _NEXT.get(before, frozenset()):
                allowed = ", ".join(sorted(_NEXT.get(before, frozenset()))) or "nothing (it is closed)"
                raise DeskError(f"{report_id} is {before}: it can move to {allowed}, not to {to}")
            if change is not None:
                change(row, now)
            row.state = to
            row.updated_at = now
            if to in CLOSED and before != to:
                row.closed_at = now
            self._audit.record(
                "security.transition",
                actor=actor,
                session=session,
                payload={"report": report_id, "from": before, "to": to, **(payload or {})},
            )
            return _report(row)

    def acknowledge(self, report_id: str, *, actor: str) -> Report:
        """Record that the reporter was answered (``received -> acknowledged``); stops the acknowledgement clock."""

        def change(row: SecurityReportRow, now: datetime) -> None:
            row.acknowledged_at = now

        return self._move(report_id, "acknowledged", actor=actor, change=change)

    def send_acknowledgement(self, report_id: str, *, mailer: Mailer, actor: str) -> Report:
        """E-mail the acknowledgement draft to the reporter's contact, then record ``received -> acknowledged``.

        Raises:
            DeskError: the report is not ``received``, or has no contact address.
            MailError: the mail could not be sent (the report stays ``received``).
        """
        report = self.get(report_id)
        if report.state != "received":
            raise DeskError(f"{report_id} is {report.state}: only a received report is acknowledged")
        content = self._content(report_id)
        if content.contact is None:
            raise DeskError(f"{report_id} has no contact address: acknowledge it without --send")
        draft = self.draft(report_id, "ack")
        headers, _, body = draft.partition("\n\n")
        subject = next(line[9:] for line in headers.splitlines() if line.startswith("Subject: "))
        message = mailer.message(
            to=content.contact, subject=subject, body=body, reply_to=mailer.sender, at=self._clock.now()
        )
        mailer.send(message)
        self._audit.record("security.acknowledgement-sent", actor=actor, payload={"report": report_id})
        return self.acknowledge(report_id, actor=actor)

    def triage(
        self,
        report_id: str,
        *,
        cvss: str,
        actor: str,
        app_key: str | None = None,
        affected: str | None = None,
    ) -> Report:
        """Score a report from its CVSS v3.x/v4.0 vector (``acknowledged -> triaged``), or re-score it later
        (until released): the fix clock keeps its start, only the severity's deadline changes.

        Args:
            cvss: the vector, e.g. ``CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H``.
            app_key: the app concerned (one of the charter's).
            affected: the affected versions (PEP 440 specifiers such as ``<2.3.1``).

        Raises:
            DeskError: a bad vector, app or range, or a report not in a state that can be (re)scored.
        """
        from charter.security._clocks import CvssError

        try:
            score, rating = parse_cvss(cvss)
        except CvssError as exc:
            raise DeskError(str(exc)) from None
        if app_key is not None and app_key not in {a.key for a in self._charter.apps}:
            raise DeskError(f"app {app_key!r} is not in the charter")
        if affected is not None:
            affected = str(check_specifier(affected))
        fix_within = self._charter.security.effective_fix_within
        current = self.get(report_id)
        rescore = current.state in ("triaged", "fixing", "fixed")

        def change(row: SecurityReportRow, now: datetime) -> None:
            row.cvss_vector = cvss.strip()
            row.score_tenths = round(score * 10)
            row.severity = rating
            row.triaged_at = row.triaged_at or now
            clock = FixClock(row.received_at, row.source, fix_within)  # type: ignore[arg-type]
            # the start is the stored one: a re-score never restarts the clock
            due = clock.due(score)
            row.fix_due_at = None if due is None else row.fix_started_at + (due - clock.started_at)
            if app_key is not None:
                row.app_key = app_key
            if affected is not None:
                row.affected = affected

        to = current.state if rescore else "triaged"
        return self._move(
            report_id,
            to,
            actor=actor,
            change=change,
            payload={"score": score, "severity": rating, "rescore": rescore},
            same_state=rescore,
        )

    def start_fix(self, report_id: str, *, actor: str) -> Report:
        """``triaged -> fixing``."""
        return self._move(report_id, "fixing", actor=actor)

    def fixed(self, report_id: str, *, version: str, actor: str) -> Report:
        """``fixing -> fixed``: the fix is ready in ``version`` (not yet released).

        Raises:
            DeskError: a malformed version or a report not being fixed.
        """
        version = self._version(version)
        report = self.get(report_id)
        if report.affected and _in_range(SpecifierSet(report.affected), Version(version)):
            raise DeskError(f"version {version} is inside the affected range {report.affected}: it cannot hold the fix")

        def change(row: SecurityReportRow, now: datetime) -> None:
            row.fixed_at = now
            row.fixed_version = version

        return self._move(report_id, "fixed", actor=actor, change=change, payload={"version": version})

    def released(self, report_id: str, *, actor: str, version: str | None = None) -> Report:
        """``fixed -> released``: the patch is out; the fix clock stops here."""
        checked = self._version(version) if version else None

        def change(row: SecurityReportRow, now: datetime) -> None:
            row.released_at = now
            if checked:
                row.fixed_version = checked

        return self._move(report_id, "released", actor=actor, change=change)

    def disclose(self, report_id: str, *, title: str, actor: str, text: str | None, credit: bool = False) -> Report:
        """``released -> disclosed``: publish the advisory (on ``/trust/advisories``).

        Args:
            title: the advisory's title (public).
            text: the advisory's text (Markdown; required: a draft's placeholder is never published).
            credit: name the reporter in the advisory (only with their consent).
        """
        title_text = _text(title, "the advisory title", MAX_SUMMARY, required=True, line=True)
        body = _text(text, "the advisory text", MAX_DETAILS) if text is not None else None
        report = self.get(report_id)
        if report.state != "released":
            raise DeskError(f"{report_id} is {report.state}: only a released fix is disclosed")
        if body is None:
            raise DeskError(
                "write the advisory's text (what is affected, the impact, what customers should do); "
                f"`charter security draft {report_id} advisory` gives a start"
            )
        content = self._content(report_id)
        if credit and not content.reporter:
            raise DeskError(f"{report_id} has no reporter name to credit")
        advisory = {"title": title_text, "text": body, "credit": content.reporter if credit else None}
        owner = _owner(report_id)

        def change(row: SecurityReportRow, now: datetime) -> None:
            row.disclosed_at = now
            row.credit = credit
            row.advisory = self._seal(owner, "advisory", json.dumps(advisory))

        return self._move(report_id, "disclosed", actor=actor, change=change)

    def reject(self, report_id: str, *, actor: str, duplicate_of: str | None = None) -> Report:
        """Close a report before a fix starts: ``not-a-vulnerability``, or ``duplicate`` of another report."""
        if duplicate_of is not None:
            if duplicate_of == report_id:
                raise DeskError("a report is not a duplicate of itself")
            self.get(duplicate_of)

        def change(row: SecurityReportRow, now: datetime) -> None:
            row.duplicate_of = duplicate_of

        to = "duplicate" if duplicate_of else "not-a-vulnerability"
        extra = {"duplicate_of": duplicate_of} if duplicate_of else {}
        return self._move(report_id, to, actor=actor, change=change, payload=extra)

    def confirm_breach(self, report_id: str, *, aware_at: datetime | None = None, actor: str) -> Report:
        """A confirmed personal-data breach: opens the authority (72 h, GDPR Art. 33) and customer clocks from
        ``aware_at`` (when the vendor became aware; default now).

        Raises:
            DeskError: a naive or future ``aware_at``, or a breach already confirmed.
        """
        try:
            aware = past_instant(aware_at, self._clock.now(), what="the time of awareness")
        except ValueError as exc:
            raise DeskError(str(exc)) from None
        report = self.get(report_id)
        if report.breach_aware_at is not None:
            raise DeskError(f"{report_id}: a breach was already confirmed")
        authority, customers = self._authority_window(), self._customers_window()

        def change(row: SecurityReportRow, now: datetime) -> None:
            row.breach_aware_at = aware
            row.authority_due_at = aware + authority
            row.customers_due_at = aware + customers

        return self._move(
            report_id,
            report.state,
            actor=actor,
            change=change,
            payload={"breach": "confirmed", "aware_at": aware.isoformat()},
            same_state=True,
        )

    def breach_notified(self, report_id: str, *, whom: Literal["authority", "customers"], actor: str) -> Report:
        """Record that the authority or the customers were notified of the breach; stops that clock."""
        report = self.get(report_id)
        if report.breach_aware_at is None:
            raise DeskError(f"{report_id}: no breach was confirmed")

        def change(row: SecurityReportRow, now: datetime) -> None:
            if whom == "authority":
                row.authority_notified_at = now
            else:
                row.customers_notified_at = now

        return self._move(
            report_id, report.state, actor=actor, change=change, payload={"breach_notified": whom}, same_state=True
        )

    def _version(self, version: str | None) -> str:
        text = (version or "").strip()
        try:
            Version(text)
        except InvalidVersion:
            raise DeskError(f"{version!r} is not a version (PEP 440, e.g. 2.3.1)") from None
        if not _VERSION.fullmatch(text):
            raise DeskError(f"{version!r} is not a version (PEP 440, e.g. 2.3.1)")
        return text

    # -- clocks -----------------------------------------------------------------------------------------

    def clocks(self) -> list[DeskClock]:
        """Every running clock, soonest due first (a breach found after a report was closed still runs)."""
        running = [c for r in self.reports() for c in r.clocks()]
        return sorted(running, key=lambda c: c.due_at)

    def alerts(self) -> list[Alert]:
        """Clocks that reached ``due-soon`` or ``breached`` and were not alerted at that stage yet."""
        now = self._clock.now()
        with self._db.session() as session:
            sent = {(a.report_id, a.clock, a.stage) for a in session.scalars(select(SecurityAlertRow))}
        pending: list[Alert] = []
        for clock in self.clocks():
            stage = clock.stage(now)
            if stage != "on-track" and (clock.report_id, clock.name, stage) not in sent:
                pending.append(Alert(clock, stage))
        return pending

    def alerted(self, alert: Alert) -> bool:
        """Record that ``alert`` was sent; false when another process recorded it first."""
        try:
            with self._db.session() as session:
                session.add(
                    SecurityAlertRow(
                        report_id=alert.clock.report_id, clock=alert.clock.name, stage=alert.stage, at=self._clock.now()
                    )
                )
        except IntegrityError:
            return False
        return True

    def dependency_audit_ran(self, *, checked: int, findings: int, opened: int, actor: str) -> None:
        """Record that the installed dependencies were checked (``deps.audited``): the evidence that
        ``security.dependency_monitoring`` is kept reads it."""
        self._audit.record(
            "deps.audited", actor=actor, payload={"checked": checked, "findings": findings, "opened": opened}
        )

    def warnings(self) -> list[str]:
        """Warnings that are not about one report: security.txt expiring within 30 days, or expired."""
        now = self._clock.now()
        expires = self._charter.security.security_txt.expires
        left = expires - now
        if left <= timedelta(0):
            return [f"security.txt expired on {expires:%Y-%m-%d}: set security.security_txt.expires (RFC 9116 2.5.5)"]
        if left <= timedelta(days=30):
            return [
                f"security.txt expires on {expires:%Y-%m-%d} (in {left.days} days): "
                "renew security.security_txt.expires (RFC 9116 2.5.5)"
            ]
        return []

    # -- tenants and notification ----------------------------------------------------------------------

    def set_contact(self, tenant_id: str, email: str, *, actor: str) -> None:
        """Record the e-mail address a tenant's admins are notified at (sealed under the tenant's key).

        Raises:
            DeskError: not a registered tenant, or not an e-mail address.
        """
        address = email_address(email.strip())
        if address is None:
            raise DeskError("the tenant contact must be one e-mail address")
        now = self._clock.now()
        with self._db.session() as session:
            tenant = session.get(TenantRow, tenant_id) if _TENANT_ID.fullmatch(tenant_id or "") else None
            if tenant is None or tenant.state == "purged":
                raise DeskError(f"no tenant {tenant_id!r} is registered")
            sealed = self._keyring.seal(tenant_id, "contact-email", address.encode())
            row = session.get(TenantContactRow, tenant_id)
            if row is None:
                session.add(TenantContactRow(tenant_id=tenant_id, email=sealed, updated_at=now))
            else:
                row.email, row.updated_at = sealed, now
            self._audit.record("tenant.contact", actor=actor, tenant_id=tenant_id, session=session, payload={})

    def _contact(self, tenant_id: str) -> str | None:
        with self._db.session() as session:
            row = session.get(TenantContactRow, tenant_id)
            blob = None if row is None else row.email
        return None if blob is None else self._keyring.open(tenant_id, "contact-email", blob).decode()

    def affected(self, report_id: str) -> list[Affected]:
        """The tenants a report concerns: those of its app (every app when none is set) not yet purged, whose
        version is in the affected range (every version when none is set); unknown versions count as affected."""
        report = self.get(report_id)
        spec = SpecifierSet(report.affected) if report.affected else None
        with self._db.session() as session:
            query = select(TenantRow).where(TenantRow.state != "purged").order_by(TenantRow.id)
            if report.app_key is not None:
                query = query.where(TenantRow.app_key == report.app_key)
            rows = [(t.id, t.app_key, t.app_version) for t in session.scalars(query)]
        found: list[Affected] = []
        for tenant_id, app_key, version in rows:
            if spec is None:
                found.append(Affected(tenant_id, app_key, version, "every version is affected"))
                continue
            if version is None:
                found.append(Affected(tenant_id, app_key, version, "version unknown: counted as affected"))
                continue
            try:
                parsed = Version(version)
            except InvalidVersion:
                found.append(Affected(tenant_id, app_key, version, "version not comparable: counted as affected"))
                continue
            if _in_range(spec, parsed):
                found.append(Affected(tenant_id, app_key, version, f"{version} is in {spec}"))
        return found

    def notify(
        self,
        report_id: str,
        *,
        kind: Literal["fix", "breach"],
        mailer: Mailer | None,
        actor: str,
        message: str | None = None,
        dry_run: bool = False,
    ) -> NotifyResult:
        """E-mail every affected tenant's contact about a released fix (``fix``) or a confirmed breach
        (``breach``), each send recorded (``security_notifications``) and the run audited. A tenant told
        before is not told again; failed sends are retried by the next run. When every affected tenant of a
        breach has been told, the customer clock stops.

        Raises:
            DeskError: a fix not released yet, no breach confirmed, or no mailer configured (unless ``dry_run``).
        """
        report = self.get(report_id)
        if kind == "fix" and report.state not in ("released", "disclosed"):
            raise DeskError(f"{report_id} is {report.state}: customers are told once the fix is released")
        if kind == "breach" and report.breach_aware_at is None:
            raise DeskError(f"{report_id}: no breach was confirmed (charter security breach {report_id})")
        if mailer is None and not dry_run:
            raise DeskError("no mail server: set CHARTER_SMTP_URL (see `charter security notify --help`)")
        extra = _text(message, "the message", MAX_DETAILS)
        result = NotifyResult()
        with self._db.session() as session:
            done = {
                n.tenant_id
                for n in session.scalars(
                    select(SecurityNotificationRow).where(
                        SecurityNotificationRow.report_id == report_id,
                        SecurityNotificationRow.kind == kind,
                        SecurityNotificationRow.status == "sent",
                    )
                )
            }
        for tenant in self.affected(report_id):
            if tenant.tenant_id in done:
                result.already.append(tenant.tenant_id)
                continue
            address = self._contact(tenant.tenant_id)
            if address is None:
                result.no_contact.append(tenant.tenant_id)
                if not dry_run:
                    self._record_send(report_id, kind, tenant.tenant_id, None, "no-contact", None, None)
                continue
            if dry_run:
                result.sent.append(tenant.tenant_id)
                continue
            assert mailer is not None
            subject, body = self.customer_email(report, tenant, kind=kind, message=extra)
            try:
                email = mailer.message(
                    to=address, subject=subject, body=body, reply_to=mailer.sender, at=self._clock.now()
                )
                message_id = mailer.send(email)
            except MailError as exc:
                result.failed.append((tenant.tenant_id, str(exc)))
                self._record_send(report_id, kind, tenant.tenant_id, address, "failed", None, str(exc)[:300])
                continue
            result.sent.append(tenant.tenant_id)
            self._record_send(report_id, kind, tenant.tenant_id, address, "sent", message_id, None)
        if not dry_run:
            self._audit.record(
                "security.notified",
                actor=actor,
                payload={
                    "report": report_id,
                    "kind": kind,
                    "sent": len(result.sent),
                    "failed": len(result.failed),
                    "no_contact": len(result.no_contact),
                    "already": len(result.already),
                },
            )
            if kind == "breach" and result.complete and report.customers_notified_at is None:
                self.breach_notified(report_id, whom="customers", actor=actor)
        return result

    def _record_send(
        self,
        report_id: str,
        kind: str,
        tenant_id: str,
        address: str | None,
        status: str,
        message_id: str | None,
        error: str | None,
    ) -> None:
        now = self._clock.now()
        sealed = None if address is None else self._keyring.seal(_owner(report_id), "recipient", address.encode())
        with self._db.session() as session:
            row = session.scalar(
                select(SecurityNotificationRow).where(
                    SecurityNotificationRow.report_id == report_id,
                    SecurityNotificationRow.kind == kind,
                    SecurityNotificationRow.tenant_id == tenant_id,
                )
            )
            if row is None:
                row = SecurityNotificationRow(report_id=report_id, kind=kind, tenant_id=tenant_id)
                session.add(row)
            row.recipient, row.status, row.message_id, row.error, row.at = sealed, status, message_id, error, now

    def notifications(self, report_id: str) -> list[dict[str, Any]]:
        """The recorded sends of a report: kind, tenant, status, Message-ID, error, time (no addresses)."""
        with self._db.session() as session:
            rows = session.scalars(
                select(SecurityNotificationRow)
                .where(SecurityNotificationRow.report_id == self._check_id(report_id))
                .order_by(SecurityNotificationRow.id)
            ).all()
            return [
                {
                    "kind": r.kind,
                    "tenant": r.tenant_id,
                    "status": r.status,
                    "message_id": r.message_id,
                    "error": r.error,
                    "at": r.at.isoformat(),
                }
                for r in rows
            ]

    # -- drafts -----------------------------------------------------------------------------------------

    def _context(self, report: Report, content: ReportContent) -> dict[str, Any]:
        charter = self._charter
        fix = charter.security.effective_fix_within
        apps = {a.key: a.name for a in charter.apps}
        return {
            "report": report,
            "content": content,
            "vendor": charter.vendor.name,
            "security_contact": (charter.security.report_to or charter.vendor.contacts.security).removeprefix(
                "mailto:"
            ),
            "privacy_contact": charter.vendor.contacts.privacy.removeprefix("mailto:"),
            "prefix": charter.security.subject_prefix or "[Security]",
            "ack_days": self.ack_business_days,
            "safe_harbour": charter.security.safe_harbour,
            "fix_within": {
                "Critical": fix.critical.humanize(),
                "High": fix.high.humanize(),
                "Medium": fix.medium.humanize(),
                "Low": fix.low.humanize(),
            },
            "app_name": apps.get(report.app_key or "", "our apps"),
            "advisories_url": charter.security.advisories_url,
        }

    def draft(
        self, report_id: str, what: Literal["ack", "release-notes", "advisory"], *, title: str | None = None
    ) -> str:
        """A draft text: the acknowledgement e-mail (``ack``), release notes or an advisory (Markdown).

        Raises:
            DeskError: no such report.
        """
        report = self.get(report_id)
        content = self._content(report_id)
        context = self._context(report, content)
        context["title"] = title or (content.advisory or {}).get("title") or f"Security fix in {context['app_name']}"
        name = {"ack": "ack.txt", "release-notes": "release_notes.md", "advisory": "advisory.md"}[what]
        return self._templates.get_template(name).render(context)

    def customer_email(
        self, report: Report, tenant: Affected, *, kind: Literal["fix", "breach"], message: str | None = None
    ) -> tuple[str, str]:
        """The subject and body of the e-mail telling a tenant's admins about a fix or a breach."""
        content = self._content(report.id)
        context = self._context(report, content)
        context.update(tenant=tenant, message=message, advisory=content.advisory)
        template = self._templates.get_template("customer_fix.txt" if kind == "fix" else "customer_breach.txt")
        text = template.render(context)
        subject, _, body = text.partition("\n\n")
        return subject.removeprefix("Subject: ").strip(), body

    def advisories(self) -> list[Advisory]:
        """The published advisories (disclosed reports), newest first."""
        with self._db.session() as session:
            rows = session.scalars(
                select(SecurityReportRow)
                .where(SecurityReportRow.state == "disclosed")
                .order_by(SecurityReportRow.disclosed_at.desc())
            ).all()
            published = [(_report(r), r.advisory) for r in rows]
        advisories: list[Advisory] = []
        for report, blob in published:
            data = json.loads(self._open(_owner(report.id), "advisory", blob) or "{}")
            assert report.disclosed_at is not None
            advisories.append(
                Advisory(
                    id=report.id,
                    title=data.get("title", report.id),
                    text=data.get("text", ""),
                    severity=report.severity,
                    score=report.score,
                    cvss_vector=report.cvss_vector,
                    app_key=report.app_key,
                    affected=report.affected,
                    fixed_version=report.fixed_version,
                    released_at=report.released_at,
                    disclosed_at=report.disclosed_at,
                    credit=data.get("credit"),
                )
            )
        return advisories


def _report(row: SecurityReportRow) -> Report:
    return Report(
        id=row.id,
        kind=row.kind,  # type: ignore[arg-type]
        source=row.source,
        intake=row.intake,
        state=row.state,
        app_key=row.app_key,
        affected=row.affected,
        fixed_version=row.fixed_version,
        cvss_vector=row.cvss_vector,
        score=None if row.score_tenths is None else row.score_tenths / 10,
        severity=row.severity,
        duplicate_of=row.duplicate_of,
        credit=bool(row.credit),
        received_at=row.received_at,
        ack_due_at=row.ack_due_at,
        acknowledged_at=row.acknowledged_at,
        triaged_at=row.triaged_at,
        fix_started_at=row.fix_started_at,
        fix_due_at=row.fix_due_at,
        fixed_at=row.fixed_at,
        released_at=row.released_at,
        disclosed_at=row.disclosed_at,
        closed_at=row.closed_at,
        breach_aware_at=row.breach_aware_at,
        authority_due_at=row.authority_due_at,
        customers_due_at=row.customers_due_at,
        authority_notified_at=row.authority_notified_at,
        customers_notified_at=row.customers_notified_at,
    )
