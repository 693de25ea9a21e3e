"""Scheduled jobs: the daily purge, and one runner at a time across processes (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog

from charter.jobs import Jobs, RunnerLock, run_backups, run_purge, run_security_clocks
from charter.logs import configure_logging
from charter.runtime import Runtime
from charter.security import Mailer
from charter.tenants import EventKind
from tests.conftest import CONNECT_APP, Captured, connect_install, reopen_runtime

APP = CONNECT_APP


def uninstalled_tenant(rt: Runtime, at: datetime) -> str:
    tenant = connect_install(rt.registry, "fake-client-key-1111", at)
    rt.registry.connect_event(APP, "fake-client-key-1111", EventKind.UNINSTALLED, at=at + timedelta(hours=1))
    return tenant


def test_one_runner_at_a_time(runtime: Runtime) -> None:
    with reopen_runtime(runtime) as other:
        with RunnerLock(runtime, "purge") as first:
            assert first is True
            with RunnerLock(other, "purge") as second:
                assert second is False
            assert run_purge(other) is None  # skipped, not waited for
        with RunnerLock(other, "purge") as again:
            assert again is True  # released on exit


def test_run_purge_purges_what_is_due(runtime: Runtime) -> None:
    tenant = uninstalled_tenant(runtime, runtime.clock.now() - timedelta(days=40))
    receipts = run_purge(runtime)
    assert receipts is not None and [r.tenant_id for r in receipts] == [tenant]
    [entry] = runtime.audit.entries(kind="tenant.purged")
    assert entry.actor == "scheduler"
    assert run_purge(runtime) == []


def test_the_daily_purge_is_scheduled_off_the_hour_in_utc(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Pacific/Chatham")
    jobs = Jobs(runtime)
    assert jobs.next_runs() == {}
    jobs.start()
    try:
        runs = jobs.next_runs()
        assert set(runs) == {
            "purge",
            "purge-catch-up",
            "support-expiry",
            "security-clocks",
            "personal-data-report",
            "evidence",
            "backup",
        }
        daily = runs["purge"]
        assert (daily.hour, daily.minute, daily.tzinfo) == (3, 17, UTC)
        assert timedelta(0) < daily - datetime.now(UTC) <= timedelta(days=1)
        assert timedelta(seconds=50) < runs["purge-catch-up"] - datetime.now(UTC) <= timedelta(seconds=60)
    finally:
        jobs.stop()
    jobs.stop()  # idempotent


def test_a_failing_run_is_logged_and_does_not_stop_the_scheduler(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json=True)

    def broken(**kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(runtime.purger, "run", broken)
    jobs = Jobs(runtime)
    jobs._purge()  # what the scheduler's thread calls: no exception escapes
    structlog.reset_defaults()
    [line] = [json.loads(x) for x in capsys.readouterr().err.splitlines() if "scheduled job failed" in x]
    assert (line["job"], line["error"], line["level"]) == ("purge", "OSError", "error")
    with RunnerLock(runtime, "purge") as acquired:
        assert acquired is True  # the failed run released the lock


def _local_backups(rt: Runtime) -> None:
    """Keep the example's local destination only (its second one is a real S3 bucket)."""
    from charter.backup import BackupService

    assert rt.charter.backups is not None
    policy = rt.charter.backups.model_copy(update={"destinations": rt.charter.backups.destinations[:1]})
    rt.charter = rt.charter.model_copy(update={"backups": policy})
    rt.backups = BackupService(
        rt.charter, rt.database, rt.keyring, rt.audit, clock=rt.clock, data_dir=rt.data_dir, environ={}
    )


def test_backups_run_when_due_once_and_drills_as_often_as_promised(runtime: Runtime) -> None:
    _local_backups(runtime)
    first = run_backups(runtime)
    assert first is not None and set(first) == {"snapshot", "pruned", "drill"}
    assert first["pruned"] == {"local": []} and first["drill"] is True
    assert run_backups(runtime) == {}  # nothing due: the snapshot is younger than backups.frequency (24h)
    runtime.clock.advance(timedelta(days=3))  # the service was down for three days: one catch-up run, not three
    second = run_backups(runtime)
    assert second is not None and set(second) == {"snapshot", "pruned"}
    assert run_backups(runtime) == {}
    assert [s.id for s in runtime.backups.snapshots()] == [second["snapshot"], first["snapshot"]]
    runtime.clock.advance(timedelta(days=30))  # backups.restore_drills = "30d"
    third = run_backups(runtime)
    assert third is not None and third["drill"] is True
    kinds = [e.kind for e in runtime.audit.entries() if e.kind.startswith("backup.")]
    assert kinds.count("backup.created") == 3 and kinds.count("backup.drill") == 2


def test_backups_run_in_one_process_at_a_time(runtime: Runtime) -> None:
    _local_backups(runtime)
    with reopen_runtime(runtime) as other:
        _local_backups(other)
        with RunnerLock(runtime, "backup") as held:
            assert held is True
            assert run_backups(other) is None
        assert other.backups.snapshots() == []


def test_the_backup_job_is_scheduled_when_the_charter_has_backups(runtime: Runtime) -> None:
    jobs = Jobs(runtime)
    jobs.start()
    try:
        runs = jobs.next_runs()
    finally:
        jobs.stop()
    assert "backup" in runs
    assert timedelta(seconds=60) < runs["backup"] - datetime.now(UTC) <= timedelta(seconds=90)


def test_a_destination_that_is_down_is_logged_with_its_reason_and_without_a_traceback(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json=True)
    jobs = Jobs(runtime)  # the example's offsite S3 points at a closed port in tests
    jobs._backups()
    structlog.reset_defaults()
    [line] = [json.loads(x) for x in capsys.readouterr().err.splitlines() if "scheduled job failed" in x]
    assert line["job"] == "backup" and "exception" not in line
    assert line["reason"].startswith("backup destination 'offsite': cannot reach the S3 endpoint")
    assert line["reason"].count("backup destination 'offsite'") == 1  # the snapshot and the prune: said once
    assert [s.destination for s in runtime.backups.snapshots("local")] == ["local"]  # the local one was written


def test_security_clocks_alert_by_log_and_mail_once_per_stage(
    runtime: Runtime, smtp_server: Captured, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json=True)
    report, _ = runtime.security.report(
        summary="s", details="d", source="researcher", contact="researcher.fake@example.com", actor="t"
    )
    mailer = Mailer(host=smtp_server.host, port=smtp_server.port, security="plain", sender="charter@example.com")
    assert run_security_clocks(runtime, mailer=mailer) == []
    runtime.clock.advance(timedelta(hours=60))  # 12 h before the acknowledgement is due
    (alert,) = run_security_clocks(runtime, mailer=mailer) or []
    assert (alert.clock.name, alert.stage) == ("acknowledge", "due-soon")
    assert run_security_clocks(runtime, mailer=mailer) == []  # once per stage
    ((_, recipients, mail),) = smtp_server.mails
    assert recipients == ["security@notes.example.com"]
    assert mail["Subject"] == f"[Security] {report.id}: acknowledge deadline is due soon"
    assert "in 12 h" in mail.get_content()
    structlog.reset_defaults()
    logged = [json.loads(x) for x in capsys.readouterr().err.splitlines() if "security deadline" in x]
    assert [(x["event"], x["report"], x["clock"]) for x in logged] == [
        ("security deadline due soon", report.id, "acknowledge")
    ]
    assert "researcher.fake" not in str(logged)


def test_a_failed_alert_mail_is_tried_again(runtime: Runtime, smtp_server: Captured) -> None:
    runtime.security.report(summary="s", details="d", source="researcher", actor="t")
    runtime.clock.advance(timedelta(days=5))  # breached
    down = Mailer(host="127.0.0.1", port=9, security="plain", sender="charter@example.com", timeout=2)
    assert run_security_clocks(runtime, mailer=down) == []
    up = Mailer(host=smtp_server.host, port=smtp_server.port, security="plain", sender="charter@example.com")
    (alert,) = run_security_clocks(runtime, mailer=up) or []
    assert alert.stage == "breached" and len(smtp_server.mails) == 1
    assert "is past due" in smtp_server.mails[0][2]["Subject"]


def test_the_personal_data_report_runs_when_configured(runtime: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    from charter.jobs import run_personal_data_report
    from tests.privacy.fake_atlassian import Reply, fake_reporting_api

    tenant = connect_install(runtime.registry, "fake-client-key-report", runtime.clock.now())
    runtime.store.put(tenant, "note-author", "a1", {"name": "n"}, accounts={"fake-acct-job": runtime.clock.now()})
    configure_logging(json=True)
    assert run_personal_data_report(runtime, environ={}) is None  # not configured: logged, nothing sent
    structlog.reset_defaults()
    [line] = [json.loads(x) for x in capsys.readouterr().err.splitlines() if "not reported" in x]
    assert line["due"] == 1 and line["level"] == "error"
    with fake_reporting_api(runtime.clock) as api:
        api.script = [Reply.accounts(("fake-acct-job", "closed"))]
        environ = {"CHARTER_REPORT_ACCOUNTS_URL": api.url, "CHARTER_REPORT_ACCOUNTS_TOKEN": "fake-token"}
        result = run_personal_data_report(runtime, environ=environ)
        assert result is not None and result.reported == 1 and len(result.closed) == 1
        assert runtime.store.get(tenant, "note-author", "a1") is None
        assert run_personal_data_report(runtime, environ=environ).posts == 0  # type: ignore[union-attr]
