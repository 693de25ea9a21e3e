"""Scheduled jobs of ``charter serve``: the daily purge, and backups (snapshot, verify, prune, drills) as often as
the charter promises.

APScheduler runs each job in a background thread. With several processes (web replicas sharing one
PostgreSQL database, or several ``charter serve`` on one SQLite directory), a job runs in one process at
a time: :class:`RunnerLock` is a PostgreSQL advisory lock, or an exclusive lock on a file in the data
directory for SQLite. The others skip that run. A run missed while the service was down is run once on
start (``coalesce``), not once per missed day. Backups are checked every 15 minutes: a snapshot is taken when the
newest one is older than ``backups.frequency`` (so a run missed while the service was down is caught up once),
then verified and pruned; a restore drill runs when the last one is older than ``backups.restore_drills``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text

from charter.backup import BackupError
from charter.logs import get_logger
from charter.privacy import ReportRun
from charter.runtime import Runtime
from charter.security import Alert, Mailer, MailError, email_address
from charter.support import SupportReceipt
from charter.tenants import Receipt

__all__ = [
    "Jobs",
    "RunnerLock",
    "run_backups",
    "run_evidence",
    "run_personal_data_report",
    "run_purge",
    "run_security_clocks",
    "save_key_backups",
]

log = get_logger("charter.jobs")

_LOCK_KEYS = {
    "purge": 0x4368617274657201,
    "backup": 0x4368617274657202,
    "support": 0x4368617274657203,
    "security": 0x4368617274657204,
    "privacy": 0x4368617274657205,
    "evidence": 0x4368617274657206,
}


class RunnerLock:
    """At most one runner of a job across processes sharing a database.

    Usage::

        with RunnerLock(runtime, "purge") as acquired:
            if acquired:
                ...

    The lock is not waited for: a process that does not get it skips the run.
    """

    def __init__(self, runtime: Runtime, job: str) -> None:
        self._runtime = runtime
        self._job = job
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> bool:
        db = self._runtime.database
        if db.dialect == "postgresql":
            connection = self._stack.enter_context(db.engine.connect())
            acquired = bool(
                connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _LOCK_KEYS[self._job]}).scalar()
            )
            if acquired:
                self._stack.callback(
                    lambda: connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEYS[self._job]})
                )
            return acquired
        path = self._runtime.data_dir / f".{self._job}.lock"
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        self._stack.callback(os.close, fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._stack.callback(fcntl.flock, fd, fcntl.LOCK_UN)
        return True

    def __exit__(self, *exc: Any) -> None:
        self._stack.close()


def run_purge(runtime: Runtime, *, actor: str = "scheduler") -> list[Receipt] | None:
    """Purge every due tenant unless another process is doing it; ``None`` when skipped for that reason."""
    with RunnerLock(runtime, "purge") as acquired:
        if not acquired:
            log.info("purge skipped: another process is running it")
            return None
        receipts = runtime.purger.run(actor=actor)
        log.info("purge run", purged=len(receipts))
        if receipts:
            save_key_backups(runtime, actor=actor)
        return receipts


def run_support_expiry(runtime: Runtime, *, actor: str = "scheduler") -> list[SupportReceipt] | None:
    """Delete the support attachments and communications the charter's rule says are due (legal holds
    respected), then rewrite the key-store backups so none keeps a destroyed case key; ``None`` when another
    process is doing it."""
    with RunnerLock(runtime, "support") as acquired:
        if not acquired:
            log.info("support expiry skipped: another process is running it")
            return None
        receipts = runtime.support.expire(actor=actor)
        if receipts:
            log.info("support data deleted", receipts=[(r.case_id, r.what) for r in receipts])
            save_key_backups(runtime, actor=actor)
        return receipts


def _alert_mail(runtime: Runtime, mailer: Mailer, alert: Alert) -> None:
    charter = runtime.charter
    to = email_address(charter.security.report_to or charter.vendor.contacts.security)
    if to is None:
        raise MailError("the security contact is not an e-mail address")
    clock, prefix = alert.clock, charter.security.subject_prefix or "[Security]"
    due = clock.due_at.strftime("%Y-%m-%d %H:%M UTC")
    what = "is past due" if alert.stage == "breached" else "is due soon"
    left = clock.left(runtime.clock.now())
    hours = int(left.total_seconds() // 3600)
    body = (
        f"The {clock.name} deadline of {clock.report_id} {what}: {due} "
        f"({'overdue by' if hours < 0 else 'in'} {abs(hours)} h).\n"
        + (f"{clock.note}.\n" if clock.note else "")
        + f"\nSee `charter security show {clock.report_id}` and `charter security status`.\n"
    )
    subject = f"{prefix} {clock.report_id}: {clock.name} deadline {what}"
    mailer.send(mailer.message(to=to, subject=subject, body=body, at=runtime.clock.now()))


def run_security_clocks(runtime: Runtime, *, mailer: Mailer | None = None) -> list[Alert] | None:
    """Alert on every security clock that became due soon (its last quarter) or was breached since the last
    run: a log warning (ids and times only), and an e-mail to the security contact when a mailer is set. An
    alert whose e-mail failed is tried again on the next run. ``None`` when another process holds the lock.
    """
    with RunnerLock(runtime, "security") as acquired:
        if not acquired:
            return None
        sent: list[Alert] = []
        for alert in runtime.security.alerts():
            clock = alert.clock
            log.warning(
                "security deadline " + ("breached" if alert.stage == "breached" else "due soon"),
                report=clock.report_id,
                clock=clock.name,
                due=clock.due_at.isoformat(),
            )
            if mailer is not None:
                try:
                    _alert_mail(runtime, mailer, alert)
                except MailError as exc:
                    log.error("security alert e-mail not sent", report=clock.report_id, reason=str(exc))
                    continue
            if runtime.security.alerted(alert):
                sent.append(alert)
        return sent


def run_personal_data_report(runtime: Runtime, *, environ: Mapping[str, str] | None = None) -> ReportRun | None:
    """Report the account ids that are due to Atlassian's personal-data reporting API and act on the answers
    (:class:`charter.privacy.AccountReporter`). ``None`` when skipped: another process holds the lock, or no
    token is configured (logged as an error when accounts are due: the promise is not being kept).
    """
    import httpx

    from charter.privacy import AccountReporter, reporting_settings

    with RunnerLock(runtime, "privacy") as acquired:
        if not acquired:
            return None
        url, token = reporting_settings(os.environ if environ is None else environ)
        with httpx.Client(timeout=30, follow_redirects=False) as client:
            reporter = AccountReporter(
                runtime.charter,
                runtime.database,
                runtime.keyring,
                runtime.audit,
                clock=runtime.clock,
                support=runtime.support,
                client=client,
                url=url,
                token=(lambda: token) if token else None,
            )
            if token is None:
                due = len(reporter.due())
                if due:
                    log.error("personal data held but CHARTER_REPORT_ACCOUNTS_TOKEN is not set: not reported", due=due)
                return None
            result = reporter.run()
        if result.closed or result.updated:
            save_key_backups(runtime, actor="scheduler")
        return result


def run_evidence(runtime: Runtime) -> list[Any] | None:
    """Run every promise's check and keep the outcomes for the trust page (``None`` when another process is
    doing it); a broken promise is logged as a warning with the check's name and summary."""
    from charter.evidence import record, run_checks

    with RunnerLock(runtime, "evidence") as acquired:
        if not acquired:
            return None
        evidence = run_checks(runtime)
        record(runtime.database, evidence, charter=runtime.charter)
        for item in evidence:
            if item.status == "fail":
                log.warning("promise broken", check=item.check, summary=item.summary)
        return evidence


def save_key_backups(runtime: Runtime, *, actor: str) -> list[str]:
    """After a purge or a key rotation: rewrite the key-store backups as the key store is now, so no backup
    keeps a destroyed key (or misses a new one). Destinations that hold no key-store backup yet are left for
    the next backup run.

    Returns:
        One message per destination that could not be rewritten (logged too; the next backup run rewrites
        it); empty when all were, or when the charter keeps no backups.
    """
    policy = runtime.charter.backups
    if policy is None or not policy.enabled or not policy.destinations:
        return []
    failures: list[str] = []
    for config in policy.destinations:
        try:
            if runtime.backups.key_backups(config.name):
                runtime.backups.save_keys(actor=actor, destinations=[config.name])
        except BackupError as exc:
            log.error("key-store backup not rewritten", destination=config.name, reason=str(exc))  # names, no values
            failures.append(f"key-store backup in '{config.name}' not rewritten: {exc}")
    return failures


def run_backups(runtime: Runtime, *, actor: str = "scheduler") -> dict[str, Any] | None:
    """Do whatever backup work is due: a snapshot (verified) and a prune of every destination when the newest
    snapshot is older than ``backups.frequency``; a drill when the last is older than ``backups.restore_drills``.

    Returns:
        What was done (``snapshot``, ``pruned``, ``drill``), or ``None`` when skipped: no backups in the charter,
        or another process holds the backup lock.

    A step that fails does not stop the others (a destination that is down must not stop pruning the rest).

    Raises:
        BackupError: a step failed, naming each failure (after every step was tried).
    """
    charter_backups = runtime.charter.backups
    if charter_backups is None or not charter_backups.enabled or not charter_backups.destinations:
        return None
    with RunnerLock(runtime, "backup") as acquired:
        if not acquired:
            log.info("backup skipped: another process is running it")
            return None
        done: dict[str, Any] = {}
        failures: list[str] = []
        backups = runtime.backups
        if backups.due():
            try:
                done["snapshot"] = backups.run(actor=actor, verify=True).id
            except BackupError as exc:  # e.g. one destination down: the others still get pruned below
                failures.append(str(exc))
            done["pruned"] = {}
            for target in backups.destinations():
                try:
                    done["pruned"][target.name] = backups.prune(destination=target.name, actor=actor).removed
                except BackupError as exc:
                    failures.append(str(exc))
        every = charter_backups.restore_drills
        last = backups.last_drill()
        if every is not None and (last is None or runtime.clock.now() - last.at >= timedelta(seconds=every.seconds)):
            try:
                done["drill"] = backups.drill(actor=actor).ok
            except BackupError as exc:
                failures.append(str(exc))
        if done:
            log.info("backup work done", **done)
        if failures:
            raise BackupError("; ".join(dict.fromkeys(failures)))  # one destination down: said once
        return done


@contextlib.contextmanager
def _quiet_failures(job: str) -> Iterator[None]:
    try:
        yield
    except BackupError as exc:  # an expected failure (a destination down): its message says what, no traceback
        log.error("scheduled job failed", job=job, reason=str(exc))
    except Exception as exc:  # a failed run is retried tomorrow; it must not stop the scheduler
        log.error("scheduled job failed", job=job, error=type(exc).__name__, exc_info=exc)


class Jobs:
    """The scheduler of one ``charter serve`` process.

    Args:
        runtime: the opened runtime.
        mailer: where security alerts are e-mailed (log only when ``None``).
        purge_at: the daily purge time, ``HH:MM`` in UTC (off the hour, as Atlassian asks of periodic jobs).
    """

    def __init__(self, runtime: Runtime, *, purge_at: str = "03:17", mailer: Mailer | None = None) -> None:
        self._runtime = runtime
        self._mailer = mailer
        self._warned_on: str | None = None
        hour, minute = (int(part) for part in purge_at.split(":"))
        self._scheduler = BackgroundScheduler(timezone="UTC")
        self._scheduler.add_job(
            self._purge,
            CronTrigger(hour=hour, minute=minute, timezone="UTC"),
            id="purge",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=23 * 3600,
        )

    def _backups(self) -> None:
        with _quiet_failures("backup"):
            run_backups(self._runtime)

    def _purge(self) -> None:
        with _quiet_failures("purge"):
            run_purge(self._runtime)

    def _support(self) -> None:
        with _quiet_failures("support-expiry"):
            run_support_expiry(self._runtime)

    def _security(self) -> None:
        with _quiet_failures("security-clocks"):
            run_security_clocks(self._runtime, mailer=self._mailer)
            today = self._runtime.clock.now().date().isoformat()
            if self._warned_on != today:  # once a day per process
                self._warned_on = today
                for warning in self._runtime.security.warnings():
                    log.warning("security.txt", warning=warning)

    def _privacy(self) -> None:
        with _quiet_failures("personal-data-report"):
            run_personal_data_report(self._runtime)

    def _evidence(self) -> None:
        with _quiet_failures("evidence"):
            run_evidence(self._runtime)

    def _every(self, job: Any, job_id: str, *, minutes: int, first_after: int) -> None:
        """Run ``job`` every ``minutes``, first ``first_after`` seconds after start (staggered), one at a time."""
        self._scheduler.add_job(
            job,
            IntervalTrigger(minutes=minutes, timezone="UTC"),
            id=job_id,
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC) + timedelta(seconds=first_after),
        )

    def start(self) -> None:
        """Start the scheduler (jobs run in its threads), with one purge a minute after start: purges
        are due by time, so this one run catches up whatever was missed while the service was down."""
        self._scheduler.add_job(
            self._purge, "date", run_date=datetime.now(UTC) + timedelta(seconds=60), id="purge-catch-up"
        )
        self._every(self._support, "support-expiry", minutes=15, first_after=75)
        self._every(self._security, "security-clocks", minutes=5, first_after=30)
        self._every(self._evidence, "evidence", minutes=15, first_after=120)
        self._scheduler.add_job(  # hourly, off the hour (Atlassian asks periodic jobs to avoid round times)
            self._privacy,
            CronTrigger(minute=23, timezone="UTC"),
            id="personal-data-report",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3000,
        )
        if self._runtime.charter.backups is not None and self._runtime.charter.backups.enabled:
            self._every(self._backups, "backup", minutes=15, first_after=90)
        self._scheduler.start()
        log.info("scheduler started", jobs=[job.id for job in self._scheduler.get_jobs()])

    def next_runs(self) -> dict[str, datetime]:
        """When each scheduled job runs next (aware UTC), by job id; empty before :meth:`start`."""
        return {
            job.id: job.next_run_time.astimezone(UTC)
            for job in self._scheduler.get_jobs()
            if getattr(job, "next_run_time", None) is not None
        }

    def stop(self) -> None:
        """Stop the scheduler, waiting for a running job to finish."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
