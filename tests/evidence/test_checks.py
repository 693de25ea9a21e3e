"""Evidence on SQLite and PostgreSQL: from a state where every promise is kept, breaking one promise (stop
backups, skip a purge, leave an attachment, miss an acknowledgement, store an undeclared kind, expire
security.txt, damage the audit log) fails exactly that promise's check, and the trust page shows it. Coverage:
every promise of every example has a check."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from charter.evidence import CHECKS, applicable, coverage_problems, latest, record, run_checks
from charter.policy import Duration, load_charter
from charter.statement import build_statement
from charter.store import RecordRow
from charter.support import SupportVault
from charter.web import create_app
from tests.conftest import EXAMPLES, NOW, connect_install


def _kept(rt: Any) -> None:
    """Bring the example's state to "every promise kept": a verified local backup and a drill, a dependency
    audit, an installed tenant with a sealed record."""
    from charter.backup import BackupService

    policy = rt.charter.backups.model_copy(update={"destinations": rt.charter.backups.destinations[:1]})
    rt.charter = rt.charter.model_copy(update={"backups": policy})
    rt.backups = BackupService(
        rt.charter, rt.database, rt.keyring, rt.audit, clock=rt.clock, data_dir=rt.data_dir, environ={}
    )
    tenant = connect_install(rt.registry, "fake-client-key-kept", NOW - timedelta(days=3))
    rt.store.put(tenant, "note", "n-1", {"text": "kept"})
    rt.backups.run(actor="t", verify=True)
    rt.backups.drill(actor="t")
    rt.security.dependency_audit_ran(checked=10, findings=0, opened=0, actor="t")


def _failing(rt: Any) -> set[str]:
    evidence = run_checks(rt)
    record(rt.database, evidence, charter=rt.charter)
    return {e.check for e in evidence if e.status == "fail"}


def test_every_promise_kept(runtime: Any) -> None:
    _kept(runtime)
    evidence = {e.check: e for e in run_checks(runtime)}
    assert {name for name, e in evidence.items() if e.status == "fail"} == set()
    assert evidence["backups.rpo"].status == "pass" and evidence["backups.rpo"].measured["destinations"]["local"] < 1
    assert evidence["backups.rto"].status == "pass"
    assert evidence["encryption.at_rest"].measured["values_sampled"] == 1
    assert evidence["access.staff"].status == "unknown"  # organisational: said, not pretended
    assert set(evidence) == {c.name for c in applicable(build_statement(runtime.charter))}


def _stop_backups(rt: Any) -> None:
    rt.clock.advance(timedelta(hours=25))  # the example's RPO is 24 h


def _skip_purge(rt: Any) -> None:
    from charter.tenants import EventKind

    tenant = connect_install(rt.registry, "fake-client-key-gone", NOW - timedelta(days=40))
    rt.registry.connect_event(
        "com.example.issue-notes.connect", "fake-client-key-gone", EventKind.UNINSTALLED, at=NOW - timedelta(days=40)
    )
    assert rt.purger.due() and rt.purger.due()[0].tenant_id == tenant


def _leave_attachment(rt: Any) -> None:
    rules = rt.charter.retention.model_copy(
        update={
            "support_attachments": rt.charter.retention.support_attachments.model_copy(
                update={"after_close": Duration.of(hours=1)}
            )
        }
    )
    rt.charter = rt.charter.model_copy(update={"retention": rules})
    rt.support = SupportVault(
        rt.charter, rt.database, rt.keyring, rt.audit, clock=rt.clock, root=rt.data_dir / "support"
    )
    tenant = connect_install(rt.registry, "fake-client-key-case", NOW)
    case = rt.support.open_case(subject="s", tenant_id=tenant, actor="t")
    rt.support.attach(case.id, "app.log", io.BytesIO(b"error at 10:00\n"), actor="t")
    rt.support.close(case.id, actor="t")
    rt.clock.advance(timedelta(hours=2, minutes=1))  # due an hour after close; the expiry job did not run


def _miss_acknowledgement(rt: Any) -> None:
    rt.security.report(summary="s", details="d", source="researcher", received_at=NOW - timedelta(days=6), actor="t")


def _undeclared_kind(rt: Any) -> None:
    tenant = connect_install(rt.registry, "fake-client-key-ghost", NOW)
    sealed = rt.keyring.seal(tenant, "record:ghost:k", b'"x"')
    with rt.database.session() as session:
        session.add(RecordRow(tenant_id=tenant, kind="ghost", key="k", value=sealed, created_at=NOW, updated_at=NOW))


def _expire_security_txt(rt: Any) -> None:
    txt = rt.charter.security.security_txt.model_copy(update={"expires": NOW + timedelta(days=10)})
    security = rt.charter.security.model_copy(update={"security_txt": txt})
    rt.charter = rt.charter.model_copy(update={"security": security})


def _damage_audit(rt: Any) -> None:
    from sqlalchemy import update

    from charter.store import AuditRow

    with rt.database.session() as session:
        session.execute(update(AuditRow).where(AuditRow.seq == 2).values(actor="someone-else"))


BREAKS: dict[str, tuple[Callable[[Any], None], str, str]] = {
    "stop backups": (_stop_backups, "backups.rpo", "backups"),
    "skip a purge": (_skip_purge, "retention.purge", "retention"),
    "leave an attachment": (_leave_attachment, "retention.support", "retention"),
    "miss an acknowledgement": (_miss_acknowledgement, "security.deadlines", "incidents"),
    "store an undeclared kind": (_undeclared_kind, "inventory.declared", "data-we-store"),
    "expire security.txt": (_expire_security_txt, "security.txt", "responsible-disclosure"),
    "damage the audit log": (_damage_audit, "audit.chain", "access"),
}


@pytest.mark.parametrize("breaking", list(BREAKS))
def test_breaking_one_promise_fails_exactly_its_check_and_the_page_shows_it(runtime: Any, breaking: str) -> None:
    _kept(runtime)
    assert _failing(runtime) == set()
    breaker, check, section = BREAKS[breaking]
    breaker(runtime)
    assert _failing(runtime) == {check}
    assert latest(runtime.database)[check].status == "fail"
    app = create_app(runtime.charter, runtime.database, clock=runtime.clock, close=lambda: None)
    with TestClient(app) as client:
        page = client.get("/trust").text
        block = page.split(f'<section id="{section}"', 1)[1].split("</section>", 1)[0]
        assert 'class="evidence evidence-fail"' in block and "Checked: broken" in block
        assert "Broken: " in block
        data = client.get("/trust/evidence.json").json()
    assert data["status"] == "fail"
    assert [c["check"] for c in data["checks"] if c["status"] == "fail"] == [check]
    assert next(s for s in data["sections"] if s["id"] == section)["status"] == "fail"


def test_a_check_that_crashes_fails_closed(runtime: Any) -> None:
    def broken(rt: Any) -> Any:
        raise OSError("disk gone")

    from dataclasses import replace

    check = next(c for c in CHECKS if c.name == "inventory.declared")
    (result,) = run_checks(runtime, [replace(check, run=broken)])
    assert (result.status, result.summary) == ("fail", "the check could not run (OSError)")


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_every_promise_of_every_example_has_a_check(example: str) -> None:
    statement = build_statement(load_charter(EXAMPLES / example, clock=_clock()))
    sources = [src for section in statement.sections for s in section.sentences for src in s.sources]
    assert coverage_problems(sources) == []


def test_a_promise_without_a_check_is_found() -> None:
    statement = build_statement(load_charter(EXAMPLES / "forge-remote.toml", clock=_clock()))
    sources = [src for section in statement.sections for s in section.sentences for src in s.sources]
    without = [c for c in CHECKS if c.name != "security.txt"]
    assert coverage_problems(sources, without) == ["security.security_txt"]


def _clock() -> Any:
    from charter.clock import FrozenClock

    return FrozenClock(NOW)


def test_charter_check_fails_when_a_promise_has_no_check(monkeypatch: pytest.MonkeyPatch) -> None:
    import charter.evidence._checks as checks
    from tests.cli.test_cli import run

    example = str(EXAMPLES / "forge-remote.toml")
    assert run("check", "--config", example)[0] == 0
    monkeypatch.setattr(checks, "CHECKS", tuple(c for c in checks.CHECKS if c.name != "backups.rto"))
    code, _, err = run("check", "--config", example)
    assert code == 2
    assert "the statement's promise `backups.restore_drills` has no evidence check" in err
    assert "the statement's promise `backups.rto` has no evidence check" in err


def test_trust_history_compares_versions(runtime: Any, tmp_path: Path) -> None:
    from charter.statement import render
    from charter.store import record_statement

    old = render(build_statement(runtime.charter), "md")
    record_statement(runtime.database, version="2.9", effective=NOW.date(), markdown=old, clock=runtime.clock)
    runtime.clock.advance(timedelta(days=1))
    new = old.replace("30 days", "14 days", 1) + "\nA new closing line.\n"
    record_statement(runtime.database, version="3.0", effective=NOW.date(), markdown=new, clock=runtime.clock)
    app = create_app(runtime.charter, runtime.database, clock=runtime.clock, close=lambda: None)
    with TestClient(app) as client:
        history = client.get("/trust/history").text
        assert "changes since 2.9" in history
        assert '<select id="from" name="from">' in history  # any two versions can be compared
        link = history.split('href="/trust/history/compare?', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        compared = client.get(f"/trust/history/compare?{link}").text
        assert '<span class="diff-added">+A new closing line.</span>' in compared
        assert 'class="diff-removed">-' in compared and "30 days" in compared
        assert client.get("/trust/history/compare?from=nope&to=nope").status_code == 404


def test_apps_on_atlassian_keep_no_vendor_hosted_data(tmp_path: Path) -> None:
    from charter.clock import FrozenClock
    from charter.runtime import open_runtime
    from tests.conftest import NO_AWS

    charter = load_charter(EXAMPLES / "forge-roa-staff-2fa.toml", clock=FrozenClock(NOW))
    assert all(app.hosting == "forge-runs-on-atlassian" for app in charter.cloud_apps)
    with open_runtime(charter, data_dir=tmp_path / "d", clock=FrozenClock(NOW), environ=dict(NO_AWS)) as rt:
        check = next(c for c in CHECKS if c.name == "hosting.where")
        (kept,) = run_checks(rt, [check])
        assert kept.status == "pass"
        tenant = connect_install(rt.registry, "fake-client-key-roa", NOW)
        sealed = rt.keyring.seal(tenant, "record:x:k", b"1")
        with rt.database.session() as session:
            session.add(RecordRow(tenant_id=tenant, kind="x", key="k", value=sealed, created_at=NOW, updated_at=NOW))
        (broken,) = run_checks(rt, [check])
        assert broken.status == "fail" and "vendor-hosted store" in broken.summary


def test_the_page_shows_only_evidence_of_the_charter_it_serves(runtime: Any) -> None:
    _kept(runtime)
    _failing(runtime)  # recorded under the runtime's charter
    other = runtime.charter.model_copy(
        update={"statement": runtime.charter.statement.model_copy(update={"version": "9.9"})}
    )
    assert latest(runtime.database, charter=runtime.charter) and latest(runtime.database, charter=other) == {}
    app = create_app(other, runtime.database, clock=runtime.clock, close=lambda: None)
    with TestClient(app) as client:
        page = client.get("/trust").text
    assert "Not checked yet" in page and "Checked: kept" not in page


def test_a_destination_that_cannot_be_read_breaks_the_backup_promise(runtime: Any) -> None:
    _kept(runtime)
    runtime.charter = runtime.charter.model_copy(
        update={"backups": load_charter(EXAMPLES / "forge-remote.toml", clock=_clock()).backups}
    )
    from charter.backup import BackupService

    runtime.backups = BackupService(
        runtime.charter,
        runtime.database,
        runtime.keyring,
        runtime.audit,
        clock=runtime.clock,
        data_dir=runtime.data_dir,
        environ={"CHARTER_S3_ENDPOINT_URL": "http://127.0.0.1:9"},
    )
    (rpo,) = [e for e in run_checks(runtime) if e.check == "backups.rpo"]
    assert rpo.status == "fail" and "'offsite'" in rpo.summary and rpo.measured["destinations"]["local"] is not None
