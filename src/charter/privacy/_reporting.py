"""Atlassian's personal-data reporting: every stored account id reported once per cycle, closed accounts erased.

Rules (Atlassian user privacy developer guide; ``../shared/cases/bug-cases.md`` B16):

* Apps that store personal data keyed by ``accountId`` report those ids to
  ``POST https://api.atlassian.com/app/report-accounts/`` with ``{"accounts": [{"accountId", "updatedAt"}]}``,
  at most 90 per request. ``updatedAt`` is when the data was retrieved (the oldest retrieval when an account's
  data is held in several places).
* Each account is reported once per cycle period: 7 days, or longer when a reply's ``Cycle-Period`` header
  says so (seconds). A late run reports what is due once; it never "catches up" by reporting more often.
* 204: nothing to do. 200: ``{"accounts": [{"accountId", "status"}]}`` where ``closed`` means erase all of
  the account's personal data and never report it again, and ``updated`` means the cached copy is stale (it
  is dropped). 429: wait ``Retry-After`` seconds, then retry that request once. Anything else, or a 200 whose
  body cannot be read, stops the run: nothing is erased on a reply Charter cannot parse, and the accounts stay
  due for the next run.

Which accounts are held comes from ``account_refs``: every tenant record written with ``accounts=`` and every
support case opened about an account. The same id in several tenants is reported once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

from charter.audit import AuditLog
from charter.clock import Clock
from charter.logs import get_logger
from charter.policy import Charter
from charter.privacy._erase import AccountEraser, Erasure
from charter.store import (
    AccountRefRow,
    AccountReportRow,
    Database,
    Keyring,
    PrivacySettingRow,
    account_digest,
)
from charter.support import SupportVault

__all__ = [
    "BATCH_SIZE",
    "DEFAULT_CYCLE",
    "REPORT_ACCOUNTS_URL",
    "AccountReporter",
    "HeldAccount",
    "ReportRun",
    "cycle_period",
    "held_accounts",
    "reporting_settings",
]

log = get_logger("charter.privacy")

REPORT_ACCOUNTS_URL = "https://api.atlassian.com/app/report-accounts/"
BATCH_SIZE = 90
DEFAULT_CYCLE = timedelta(days=7)
_CYCLE_SETTING = "report-accounts.cycle-period"
#: The longest ``Retry-After`` waited within a run; a longer one ends the run (the hourly job tries again).
MAX_RETRY_WAIT = timedelta(hours=1)


@dataclass
class ReportRun:
    """One run of the reporting job."""

    posts: int = 0
    reported: int = 0
    closed: list[Erasure] = field(default_factory=list)
    updated: list[Erasure] = field(default_factory=list)
    left: int = 0
    error: str | None = None


def reporting_settings(environ: Mapping[str, str]) -> tuple[str, str | None]:
    """``(endpoint, bearer token or None)`` from ``CHARTER_REPORT_ACCOUNTS_URL`` (default Atlassian's; https, or
    http on localhost) and ``CHARTER_REPORT_ACCOUNTS_TOKEN``.

    Raises:
        ValueError: a URL that is not https (or local http), or carries user info.
    """
    url = environ.get("CHARTER_REPORT_ACCOUNTS_URL", "").strip() or REPORT_ACCOUNTS_URL
    try:
        parts = urlsplit(url)
        local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    except ValueError:
        raise ValueError("CHARTER_REPORT_ACCOUNTS_URL is not a URL") from None
    if (parts.scheme != "https" and not local) or parts.username or parts.password or not parts.hostname:
        raise ValueError("CHARTER_REPORT_ACCOUNTS_URL must be a plain https:// URL (http only on localhost)")
    token = environ.get("CHARTER_REPORT_ACCOUNTS_TOKEN", "").strip() or None
    return url, token


def cycle_period(db: Database) -> timedelta:
    """The reporting cycle: 7 days, or the longer period a reply's ``Cycle-Period`` header asked for."""
    with db.session() as session:
        row = session.get(PrivacySettingRow, _CYCLE_SETTING)
        seconds = int(row.value) if row is not None else 0
    return max(DEFAULT_CYCLE, timedelta(seconds=seconds))


@dataclass(frozen=True)
class HeldAccount:
    """An account whose personal data is held and that is not closed: its oldest retrieval time and when it
    was last reported (``None``: never). Times are aware UTC."""

    account_id: str
    retrieved_at: datetime
    last_reported_at: datetime | None


def held_accounts(db: Database, keyring: Keyring) -> list[HeldAccount]:
    """Every account held in ``account_refs`` and not reported closed, sorted by id."""
    with db.session() as session:
        held = session.execute(
            select(AccountRefRow.account_id, func.min(AccountRefRow.retrieved_at))
            .group_by(AccountRefRow.account_id)
            .order_by(AccountRefRow.account_id)
        ).all()
        states = {r.account_id: (r.status, r.last_reported_at) for r in session.scalars(select(AccountReportRow))}
    found: list[HeldAccount] = []
    for account_id, retrieved in held:
        status, last = states.get(account_digest(keyring, account_id), ("active", None))
        if status != "closed":
            found.append(HeldAccount(account_id, retrieved, last))
    return found


class AccountReporter:
    """Reports stored account ids and acts on Atlassian's answers.

    Args:
        charter: the charter (the inventory says which record kinds are cached copies of Atlassian data).
        db: the data database.
        keyring: the key store (the digest key).
        audit: every erasure and drop is recorded (``privacy.account-closed``, ``privacy.account-updated``).
        clock: the clock; ``clock.sleep`` waits out ``Retry-After``.
        support: the support vault (cases about a closed account are deleted).
        client: the HTTP client (its timeout applies).
        url: the report-accounts endpoint.
        token: returns the bearer token for a request (``None``: no Authorization header).
    """

    def __init__(
        self,
        charter: Charter,
        db: Database,
        keyring: Keyring,
        audit: AuditLog,
        *,
        clock: Clock,
        support: SupportVault,
        client: httpx.Client,
        url: str = REPORT_ACCOUNTS_URL,
        token: Callable[[], str] | None = None,
    ) -> None:
        self._charter = charter
        self._db = db
        self._keyring = keyring
        self._audit = audit
        self._clock = clock
        self._support = support
        self._client = client
        self._url = url
        self._token = token
        self.eraser = AccountEraser(charter, db, keyring, audit, clock=clock, support=support)

    # -- what is due ------------------------------------------------------------------------------------

    def cycle_period(self) -> timedelta:
        """The reporting cycle: 7 days, or the longer period a ``Cycle-Period`` header asked for."""
        return cycle_period(self._db)

    def due(self) -> list[tuple[str, datetime]]:
        """``(account id, updatedAt)`` of every account due for reporting, sorted by id: held somewhere, not
        closed, and not reported within the cycle. ``updatedAt`` is the oldest retrieval time."""
        now, cycle = self._clock.now(), self.cycle_period()
        return [
            (a.account_id, a.retrieved_at)
            for a in held_accounts(self._db, self._keyring)
            if a.last_reported_at is None or now - a.last_reported_at >= cycle
        ]

    # -- the run ----------------------------------------------------------------------------------------

    def run(self, *, actor: str = "scheduler") -> ReportRun:
        """Report every due account in batches of 90 and act on the replies; see the module's rules."""
        due = self.due()
        started = self._clock.now()  # the cycle counts from the run, not from waits inside it
        result = ReportRun()
        for start in range(0, len(due), BATCH_SIZE):
            batch = due[start : start + BATCH_SIZE]
            body = {
                "accounts": [
                    {"accountId": a, "updatedAt": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")} for a, at in batch
                ]
            }
            reply, error = self._post(body, result)
            if reply is None:
                result.error = error
                result.left = len(due) - start
                log.error("personal-data report stopped", reason=error, left=result.left)
                return result
            self._cycle(reply)
            if reply.status_code == 204:
                actions: list[tuple[str, str]] = []
            else:
                try:
                    actions = _actions(reply, {a for a, _ in batch})
                except ValueError as exc:
                    result.error = f"a reply that cannot be read ({exc}): nothing was erased"
                    result.left = len(due) - start
                    log.error("personal-data report stopped", reason=result.error, left=result.left)
                    return result
            self._reported([a for a, _ in batch], started)
            result.reported += len(batch)
            for account_id, status in actions:
                if status == "closed":
                    result.closed.append(
                        self.eraser.erase(account_id, actor=actor, reason="closed (personal-data reporting)")
                    )
                else:
                    result.updated.append(self.eraser.drop_cached(account_id, actor=actor))
        if due:
            log.info(
                "personal data reported",
                accounts=result.reported,
                posts=result.posts,
                closed=len(result.closed),
                updated=len(result.updated),
            )
        return result

    def _post(self, body: dict[str, Any], result: ReportRun) -> tuple[httpx.Response | None, str]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        if self._token is not None:
            headers["authorization"] = f"Bearer {self._token()}"
        content = json.dumps(body, separators=(",", ":"))
        for attempt in range(2):
            try:
                result.posts += 1
                reply = self._client.post(self._url, content=content, headers=headers)
            except httpx.HTTPError as exc:
                return None, f"the reporting API could not be reached ({type(exc).__name__})"
            if reply.status_code in (200, 204):
                return reply, ""
            if reply.status_code == 429 and attempt == 0:
                wait = _retry_after(reply.headers.get("retry-after"), self._clock.now())
                if wait is None:
                    return None, "429 without a usable Retry-After: stopped until the next run"
                if wait > MAX_RETRY_WAIT.total_seconds():
                    return None, f"429 with Retry-After {wait:.0f} s (over an hour): stopped until the next run"
                self._clock.sleep(wait)
                continue
            if reply.status_code == 429:
                return None, "429 again after waiting Retry-After: stopped until the next run"
            return None, f"the reporting API answered {reply.status_code}"
        raise AssertionError("unreachable")  # pragma: no cover

    def _cycle(self, reply: httpx.Response) -> None:
        value = reply.headers.get("cycle-period")
        if value is None:
            return
        try:
            seconds = int(value.strip())
        except ValueError:
            log.warning("Cycle-Period header ignored: not a number of seconds")
            return
        if seconds > DEFAULT_CYCLE.total_seconds():
            with self._db.session() as session:
                row = session.get(PrivacySettingRow, _CYCLE_SETTING)
                if row is None:
                    session.add(PrivacySettingRow(name=_CYCLE_SETTING, value=str(seconds)))
                else:
                    row.value = str(seconds)

    def _reported(self, accounts: list[str], now: datetime) -> None:
        with self._db.session() as session:
            for account_id in accounts:
                digest = account_digest(self._keyring, account_id)
                row = session.get(AccountReportRow, digest)
                if row is None:
                    session.add(AccountReportRow(account_id=digest, status="active", last_reported_at=now))
                else:
                    row.last_reported_at = now


def _actions(reply: httpx.Response, sent: set[str]) -> list[tuple[str, str]]:
    """The ``(accountId, status)`` pairs of a 200 reply; every one must be an account of the request.

    Raises:
        ValueError: not JSON, not the documented shape, an unknown status or an account not sent.
    """
    try:
        data = reply.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError("not JSON") from None
    accounts = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(accounts, list):
        raise ValueError("no 'accounts' list")
    actions: list[tuple[str, str]] = []
    for item in accounts:
        if not isinstance(item, dict):
            raise ValueError("an account entry is not an object")
        account_id, status = item.get("accountId"), item.get("status")
        if status not in ("closed", "updated"):
            raise ValueError(f"status {str(status)[:20]!r} is neither closed nor updated")
        if not isinstance(account_id, str) or account_id not in sent:
            raise ValueError("an account that was not in the request")
        actions.append((account_id, status))
    return actions


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110 10.2.3: seconds or an HTTP-date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 10**9))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
