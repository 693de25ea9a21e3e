"""The security desk on SQLite and PostgreSQL: intake, the state machine (every transition audited), the
clocks under several host time zones with a frozen clock, breach clocks, affected tenants by version range,
notification over SMTP (a local aiosmtpd server), alerts once per stage, and nothing readable at rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from charter.security import AUTHORITY_WINDOW, DeskError, Mailer, SecurityDesk
from charter.store import SecurityNotificationRow, SecurityReportRow, TenantContactRow
from tests.conftest import NOW, Captured, connect_install
from tests.security.conftest import FORGE_APP, forge_tenant

CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8
HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"  # 7.5
MEDIUM = "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:U/C:L/I:L/A:N"  # 4.6
LOW = "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"  # 2.0
NONE = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"  # 0.0
V4_HIGH = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N"  # 8.7
SECRETS = ["Fake Researcher", "researcher.fake@example.com", "stored XSS in the notes macro", "payload-7f3a"]


def _report(rt: Any, **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "summary": "stored XSS in the notes macro",
        "details": "Put payload-7f3a in a note title and open the macro.",
        "source": "researcher",
        "reporter": "Fake Researcher",
        "contact": "researcher.fake@example.com",
        "actor": "cli",
    }
    fields.update(overrides)
    report, created = rt.security.report(**fields)
    assert created
    return report


def _transitions(rt: Any, report_id: str) -> list[tuple[str, str]]:
    return [
        (e.payload["from"], e.payload["to"])
        for e in rt.audit.entries(kind="security.transition")
        if e.payload["report"] == report_id
    ]


def test_a_report_gets_an_id_its_clocks_and_an_acknowledgement_draft(runtime: Any, host_tz: str) -> None:
    report = _report(runtime)
    assert report.id.startswith("SR-") and len(report.id) == 13
    assert report.state == "received"
    # Sunday 2026-11-29 12:00Z + 3 business days (DE): Mon, Tue, Wed -> Wednesday 12:00Z, whatever the host TZ
    assert report.ack_due_at == datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    # not triaged yet: the charter's Critical deadline (2 weeks) applies
    assert report.fix_due_at == NOW + timedelta(weeks=2)
    assert [c.name for c in report.clocks()] == ["acknowledge", "fix"]
    assert "not triaged" in report.clocks()[1].note
    draft = runtime.security.draft(report.id, "ack")
    assert "Subject: Re: [Security] stored XSS in the notes macro [" + report.id + "]" in draft
    assert "To: researcher.fake@example.com" in draft
    assert "within these times" in draft and "Critical: 2 weeks" in draft and "Low: 25 weeks" in draft
    assert "not take legal action" in draft  # the charter's safe harbour
    assert runtime.audit.entries(kind="security.received")[-1].payload == {
        "report": report.id,
        "kind": "report",
        "source": "researcher",
        "intake": "cli",
        "state": "received",
    }


def test_acknowledgement_skips_public_holidays(runtime: Any, host_tz: str) -> None:
    # Wednesday 23 Dec 2026, 10:00Z: 24 Dec counts, 25/26 Dec are German holidays, then a weekend
    report = _report(runtime, received_at=datetime(2026, 11, 20, 22, 30, tzinfo=UTC))
    # Friday 20 Nov 22:30Z -> Mon 23, Tue 24, Wed 25 (no holiday) -> 25 Nov 22:30Z
    assert report.ack_due_at == datetime(2026, 11, 25, 22, 30, tzinfo=UTC)
    runtime.clock.advance(timedelta(days=24))  # 2026-12-23 12:00Z
    christmas = _report(runtime, received_at=datetime(2026, 12, 23, 10, 0, tzinfo=UTC))
    assert christmas.ack_due_at == datetime(2026, 12, 29, 10, 0, tzinfo=UTC)


def test_received_times_are_checked(runtime: Any) -> None:
    with pytest.raises(DeskError, match="time zone"):
        _report(runtime, received_at=datetime(2026, 11, 29, 9, 0))  # noqa: DTZ001 - the mistake under test
    with pytest.raises(DeskError, match="future"):
        _report(runtime, received_at=NOW + timedelta(days=1))
    # an offset is converted, not ignored: 09:00+05:30 is 03:30Z
    report = _report(runtime, received_at=datetime.fromisoformat("2026-11-27T09:00:00+05:30"))
    assert report.received_at == datetime(2026, 11, 27, 3, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("summary", "  ", "summary is required"),
        ("summary", "x" * 301, "longer than 300"),
        ("details", "", "details is required"),
        ("details", "a\x00b", "control or invisible characters"),
        ("contact", "not an address", "e-mail address"),
        ("contact", "a@example.com, victim.fake@example.com", "one e-mail address"),
        ("contact", "a@example.com\nBcc: victim.fake@example.com", "one e-mail address"),
        ("contact", "Fake <a@example.com>", "one e-mail address"),
        ("contact", "\u00fc@ex\u00e4mple.com", "one e-mail address"),
        ("summary", "safe \u202e txt.exe", "invisible characters"),
        ("details", "zero\u200bwidth", "invisible characters"),
        ("actor", "", "staff id"),
        ("actor", "alice@example.com", "staff id"),
        ("received_at", NOW - timedelta(days=400), "more than a year ago"),
        ("source", "twitter", "source 'twitter'"),
        ("app_key", "com.example.unknown", "not in the charter"),
    ],
)
def test_bad_input_is_named_and_nothing_is_recorded(runtime: Any, field: str, value: str, message: str) -> None:
    with pytest.raises(DeskError, match=message):
        _report(runtime, **{field: value})
    assert runtime.security.reports() == []


def test_the_whole_life_of_a_report_is_audited(runtime: Any, smtp_server: Captured) -> None:
    desk: SecurityDesk = runtime.security
    report = _report(runtime, app_key=FORGE_APP)
    desk.acknowledge(report.id, actor="staff-01")
    desk.triage(report.id, cvss=CRITICAL, affected="<2.3.1", actor="staff-01")
    desk.start_fix(report.id, actor="staff-01")
    desk.fixed(report.id, version="2.3.1", actor="staff-01")
    desk.released(report.id, actor="staff-01")
    with pytest.raises(DeskError, match="write the advisory's text"):
        desk.disclose(report.id, title="XSS in the notes macro", actor="staff-01", text=None)
    text = desk.draft(report.id, "advisory", title="XSS in the notes macro") + "\nUpgrade to 2.3.1.\n"
    done = desk.disclose(report.id, title="XSS in the notes macro", actor="staff-01", text=text, credit=True)
    assert done.state == "disclosed" and not done.open and done.clocks() == []
    assert _transitions(runtime, report.id) == [
        ("received", "acknowledged"),
        ("acknowledged", "triaged"),
        ("triaged", "fixing"),
        ("fixing", "fixed"),
        ("fixed", "released"),
        ("released", "disclosed"),
    ]
    (advisory,) = desk.advisories()
    assert advisory.title == "XSS in the notes macro"
    assert advisory.severity == "critical" and advisory.score == 9.8 and advisory.fixed_version == "2.3.1"
    assert advisory.credit == "Fake Researcher"
    assert "`<2.3.1`" in advisory.text and "Fixed in:** 2.3.1" in advisory.text


def test_transitions_the_states_do_not_allow_are_refused(runtime: Any) -> None:
    desk: SecurityDesk = runtime.security
    report = _report(runtime)
    with pytest.raises(DeskError, match="received: it can move to acknowledged, duplicate, not-a-vulnerability"):
        desk.triage(report.id, cvss=HIGH, actor="cli")
    with pytest.raises(DeskError, match="only a released fix is disclosed"):
        desk.disclose(report.id, title="t", actor="cli", text="x")
    other = _report(runtime)
    desk.reject(other.id, duplicate_of=report.id, actor="cli")
    assert desk.get(other.id).state == "duplicate" and desk.get(other.id).duplicate_of == report.id
    with pytest.raises(DeskError, match="nothing \\(it is closed\\)"):
        desk.acknowledge(other.id, actor="cli")
    with pytest.raises(DeskError, match="not a duplicate of itself"):
        desk.reject(report.id, duplicate_of=report.id, actor="cli")
    desk.reject(report.id, actor="cli")
    assert desk.get(report.id).state == "not-a-vulnerability"
    with pytest.raises(DeskError, match="not a report id"):
        desk.get("SR-1")
    with pytest.raises(DeskError, match="no report SR-AAAAAAAAAA"):
        desk.get("SR-AAAAAAAAAA")
    assert len(_transitions(runtime, report.id)) == 1  # refused moves leave no entry


@pytest.mark.parametrize(
    ("vector", "severity", "weeks"),
    [(CRITICAL, "critical", 2), (HIGH, "high", 4), (V4_HIGH, "high", 4), (MEDIUM, "medium", 8), (LOW, "low", 25)],
)
def test_fix_deadlines_follow_the_charter_by_severity(
    runtime: Any, host_tz: str, vector: str, severity: str, weeks: int
) -> None:
    desk: SecurityDesk = runtime.security
    report = _report(runtime)
    desk.acknowledge(report.id, actor="cli")
    runtime.clock.advance(timedelta(days=3))
    scored = desk.triage(report.id, cvss=vector, actor="cli")
    assert scored.severity == severity
    assert scored.fix_due_at == NOW + timedelta(weeks=weeks)  # from the report, not from triage


def test_a_rescore_keeps_the_original_start(runtime: Any, host_tz: str) -> None:
    desk: SecurityDesk = runtime.security
    report = _report(runtime)
    desk.acknowledge(report.id, actor="cli")
    desk.triage(report.id, cvss=LOW, actor="cli")
    runtime.clock.advance(timedelta(weeks=3))
    desk.start_fix(report.id, actor="cli")
    rescored = desk.triage(report.id, cvss=CRITICAL, actor="cli")
    assert rescored.state == "fixing"  # a re-score does not move the state back
    assert rescored.fix_started_at == NOW
    assert rescored.fix_due_at == NOW + timedelta(weeks=2)  # already past: breached, not restarted
    assert rescored.clocks()[0].breached(runtime.clock.now())
    last = runtime.audit.entries(kind="security.transition")[-1].payload
    assert last["rescore"] is True and last["severity"] == "critical"


def test_a_score_of_none_stops_the_fix_clock(runtime: Any) -> None:
    desk: SecurityDesk = runtime.security
    report = _report(runtime)
    desk.acknowledge(report.id, actor="cli")
    scored = desk.triage(report.id, cvss=NONE, actor="cli")
    assert scored.severity == "none" and scored.fix_due_at is None and scored.clocks() == []


def test_bug_bounty_reports_start_after_triage_period(runtime: Any, host_tz: str) -> None:
    desk: SecurityDesk = runtime.security
    report = _report(runtime, source="bug-bounty")
    assert report.fix_started_at == NOW + timedelta(weeks=2)
    desk.acknowledge(report.id, actor="cli")
    scored = desk.triage(report.id, cvss=HIGH, actor="cli")
    assert scored.fix_due_at == NOW + timedelta(weeks=2 + 4)


def test_internal_and_dependency_findings_start_acknowledged(runtime: Any) -> None:
    report = _report(runtime, source="internal", reporter=None, contact=None)
    assert report.state == "acknowledged" and report.acknowledged_at == NOW
    assert [c.name for c in report.clocks()] == ["fix"]


def test_breach_clocks_run_from_awareness(runtime: Any, host_tz: str) -> None:
    desk: SecurityDesk = runtime.security
    report = _report(runtime)
    aware = datetime.fromisoformat("2026-11-28T23:30:00-08:00")  # 2026-11-29 07:30Z
    breach = desk.confirm_breach(report.id, aware_at=aware, actor="cli")
    assert breach.authority_due_at == datetime(2026, 12, 2, 7, 30, tzinfo=UTC)  # GDPR Art. 33: 72 h
    assert breach.customers_due_at == datetime(2026, 12, 2, 7, 30, tzinfo=UTC)  # the charter's 72h
    names = [c.name for c in breach.clocks()]
    assert names == ["acknowledge", "fix", "breach-authority", "breach-customers"]
    with pytest.raises(DeskError, match="already confirmed"):
        desk.confirm_breach(report.id, actor="cli")
    after = desk.breach_notified(report.id, whom="authority", actor="cli")
    assert "breach-authority" not in [c.name for c in after.clocks()]
    assert after.authority_notified_at == NOW


def test_a_charter_promising_longer_than_gdpr_still_gets_72_hours(runtime: Any) -> None:
    from charter.policy import Duration

    security = runtime.charter.security
    breach = security.breach.model_copy(
        update={"notify_authority_within": Duration.of(days=5), "notify_customers_within": None}
    )
    charter = runtime.charter.model_copy(update={"security": security.model_copy(update={"breach": breach})})
    desk = SecurityDesk(charter, runtime.database, runtime.keyring, runtime.audit, clock=runtime.clock)
    report = _report(runtime)
    confirmed = desk.confirm_breach(report.id, actor="cli")
    assert confirmed.authority_due_at == NOW + AUTHORITY_WINDOW
    assert confirmed.customers_due_at == NOW + AUTHORITY_WINDOW  # "without undue delay" with no number


def test_affected_tenants_by_app_and_version_range(runtime: Any) -> None:
    desk: SecurityDesk = runtime.security
    old = forge_tenant(runtime, "old", "2.2.9", NOW)
    pre = forge_tenant(runtime, "pre", "2.3.1rc1", NOW)
    new = forge_tenant(runtime, "new", "2.3.1", NOW)
    unknown = forge_tenant(runtime, "unknown", None, NOW)
    odd = forge_tenant(runtime, "odd", "build-77-fake", NOW)
    connect_install(runtime.registry, "fake-client-key-other-app", NOW)  # another app: never affected
    report = _report(runtime, app_key=FORGE_APP)
    desk.acknowledge(report.id, actor="cli")
    desk.triage(report.id, cvss=HIGH, affected="<2.3.1", actor="cli")
    found = {a.tenant_id: a.reason for a in desk.affected(report.id)}
    assert set(found) == {old, pre, unknown, odd}
    assert new not in found
    assert "unknown" in found[unknown] and "not comparable" in found[odd]
    # an upgrade seen in a later invocation moves the tenant out of the range
    forge_tenant(runtime, "old", "2.3.4", NOW + timedelta(hours=1))
    assert old not in {a.tenant_id for a in desk.affected(report.id)}
    with pytest.raises(DeskError, match="not a version range"):
        desk.triage(report.id, cvss=HIGH, affected="below 2.3", actor="cli")


def test_notification_is_sent_recorded_and_not_repeated(runtime: Any, smtp_server: Captured) -> None:
    desk: SecurityDesk = runtime.security
    told = forge_tenant(runtime, "told", "2.2.0", NOW)
    silent = forge_tenant(runtime, "silent", "2.2.0", NOW)
    refused = forge_tenant(runtime, "refused", "2.1.0", NOW)
    desk.set_contact(told, "admin.fake@example.com", actor="cli")
    desk.set_contact(refused, "gone.fake@example.com", actor="cli")
    smtp_server.refuse.add("gone.fake@example.com")
    report = _report(runtime, app_key=FORGE_APP)
    mailer = Mailer(host=smtp_server.host, port=smtp_server.port, security="plain", sender="security@example.com")
    desk.acknowledge(report.id, actor="cli")
    desk.triage(report.id, cvss=HIGH, affected="<2.3.1", actor="cli")
    with pytest.raises(DeskError, match="once the fix is released"):
        desk.notify(report.id, kind="fix", mailer=mailer, actor="cli")
    desk.start_fix(report.id, actor="cli")
    desk.fixed(report.id, version="2.3.1", actor="cli")
    desk.released(report.id, actor="cli")
    result = desk.notify(report.id, kind="fix", mailer=mailer, actor="cli")
    assert result.sent == [told] and result.no_contact == [silent]
    assert [t for t, _ in result.failed] == [refused] and "550" in result.failed[0][1]
    assert "gone.fake" not in result.failed[0][1]  # reasons never carry the address
    ((sender, recipients, mail),) = smtp_server.mails
    assert sender == "security@example.com" and recipients == ["admin.fake@example.com"]
    assert mail["Subject"] == f"[Security] Security fix for Issue Notes ({report.id})"
    body = mail.get_content()
    assert told in body and "affected versions: <2.3.1" in body and "version 2.3.1" in body
    assert "Severity: High (CVSS 7.5)" in body
    # a second run tells nobody twice, and retries the failed one
    smtp_server.refuse.clear()
    again = desk.notify(report.id, kind="fix", mailer=mailer, actor="cli")
    assert again.already == [told] and again.sent == [refused]
    assert len(smtp_server.mails) == 2
    statuses = {n["tenant"]: n["status"] for n in desk.notifications(report.id)}
    assert statuses == {told: "sent", silent: "no-contact", refused: "sent"}
    runs = runtime.audit.entries(kind="security.notified")
    assert [(r.payload["sent"], r.payload["failed"], r.payload["no_contact"]) for r in runs] == [(1, 1, 1), (1, 0, 1)]


def test_breach_notification_stops_the_customer_clock_when_everyone_is_told(
    runtime: Any, smtp_server: Captured
) -> None:
    desk: SecurityDesk = runtime.security
    tenant = forge_tenant(runtime, "one", "2.0.0", NOW)
    desk.set_contact(tenant, "mailto:admin.fake@example.com", actor="cli")
    report = _report(runtime, app_key=FORGE_APP)
    mailer = Mailer(host=smtp_server.host, port=smtp_server.port, security="plain", sender="security@example.com")
    with pytest.raises(DeskError, match="no breach was confirmed"):
        desk.notify(report.id, kind="breach", mailer=mailer, actor="cli")
    desk.confirm_breach(report.id, actor="cli")
    result = desk.notify(report.id, kind="breach", mailer=mailer, actor="cli", message="Notes were exposed.")
    assert result.complete and result.sent == [tenant]
    body = smtp_server.mails[0][2].get_content()
    assert "personal data breach" in body and "Notes were exposed." in body and "GDPR Art. 33(2)" in body
    assert desk.get(report.id).customers_notified_at == NOW
    assert "breach-customers" not in [c.name for c in desk.get(report.id).clocks()]


def test_a_dry_run_sends_and_records_nothing(runtime: Any) -> None:
    desk: SecurityDesk = runtime.security
    tenant = forge_tenant(runtime, "dry", "1.0.0", NOW)
    desk.set_contact(tenant, "admin.fake@example.com", actor="cli")
    report = _report(runtime, source="internal", reporter=None, contact=None)
    desk.confirm_breach(report.id, actor="cli")
    with pytest.raises(DeskError, match="CHARTER_SMTP_URL"):
        desk.notify(report.id, kind="breach", mailer=None, actor="cli")
    result = desk.notify(report.id, kind="breach", mailer=None, actor="cli", dry_run=True)
    assert result.sent == [tenant]
    assert desk.notifications(report.id) == []


def test_contacts_need_a_registered_tenant_and_an_address(runtime: Any) -> None:
    with pytest.raises(DeskError, match="no tenant"):
        runtime.security.set_contact("no-such-tenant", "admin.fake@example.com", actor="cli")
    tenant = forge_tenant(runtime, "c", "1.0.0", NOW)
    with pytest.raises(DeskError, match="e-mail address"):
        runtime.security.set_contact(tenant, "not-an-address", actor="cli")


def test_alerts_fire_once_per_stage(runtime: Any, host_tz: str) -> None:
    desk: SecurityDesk = runtime.security
    report = _report(runtime)  # acknowledgement due Wed 2026-12-02 12:00Z: a window of 72 h
    assert desk.alerts() == []
    runtime.clock.advance(timedelta(hours=53))  # 19 h left: more than a quarter
    assert desk.alerts() == []
    runtime.clock.advance(timedelta(hours=1))  # 18 h left: the last quarter
    (soon,) = desk.alerts()
    assert (soon.clock.name, soon.stage) == ("acknowledge", "due-soon")
    assert desk.alerted(soon) and not desk.alerted(soon)
    assert desk.alerts() == []
    runtime.clock.advance(timedelta(hours=18))  # exactly due: still on time
    assert desk.alerts() == []
    runtime.clock.advance(timedelta(seconds=1))
    (late,) = desk.alerts()
    assert (late.clock.report_id, late.stage) == (report.id, "breached")


def test_security_txt_expiry_warns_30_days_ahead(runtime: Any) -> None:
    desk: SecurityDesk = runtime.security
    expires = runtime.charter.security.security_txt.expires  # 2027-09-30T00:00Z
    runtime.clock.advance(expires - NOW - timedelta(days=31))
    assert desk.warnings() == []
    runtime.clock.advance(timedelta(days=1))
    (warning,) = desk.warnings()
    assert "expires on 2027-09-30 (in 30 days)" in warning
    runtime.clock.advance(timedelta(days=30, seconds=1))
    assert "expired on 2027-09-30" in desk.warnings()[0]


def test_nothing_a_person_wrote_is_readable_at_rest(runtime: Any) -> None:
    desk: SecurityDesk = runtime.security
    tenant = forge_tenant(runtime, "rest", "1.0.0", NOW)
    desk.set_contact(tenant, "admin.fake@example.com", actor="cli")
    report = _report(runtime)
    found: list[str] = []
    with runtime.database.session() as session:
        for model in (SecurityReportRow, SecurityNotificationRow, TenantContactRow):
            for row in session.scalars(select(model)):
                for column in model.__table__.columns:
                    value = getattr(row, column.key)
                    blob = value if isinstance(value, bytes) else str(value).encode()
                    needles = [*SECRETS, "admin.fake@example.com"]
                    found += [f"{column.key}: {n}" for n in needles if n.encode() in blob]
    for entry in runtime.audit.entries():
        found += [f"audit: {n}" for n in [*SECRETS, "admin.fake"] if n in str(entry.payload)]
    assert found == []
    content = desk.read(report.id, staff_id="staff-01")
    assert content.reporter == "Fake Researcher" and "payload-7f3a" in content.details
    read = runtime.audit.entries(kind="security.read")[-1]
    assert read.actor == "staff-01" and read.payload["report"] == report.id


def test_a_purge_removes_the_tenant_contact(runtime: Any) -> None:
    tenant = forge_tenant(runtime, "purged", "1.0.0", NOW)
    runtime.security.set_contact(tenant, "admin.fake@example.com", actor="cli")
    from charter.tenants import EventKind

    runtime.registry.forge_event("ari:cloud:ecosystem::installation/purged", EventKind.UNINSTALLED, at=NOW)
    runtime.clock.advance(timedelta(days=31))
    assert runtime.purger.purge(tenant, actor="cli") is not None
    with runtime.database.session() as session:
        assert session.get(TenantContactRow, tenant) is None


def test_another_process_sees_the_same_desk(runtime: Any) -> None:
    from tests.conftest import reopen_runtime

    report = _report(runtime)
    with reopen_runtime(runtime) as other:
        other.security.acknowledge(report.id, actor="cli")
    assert runtime.security.get(report.id).state == "acknowledged"


def test_intake_references_deduplicate(runtime: Any) -> None:
    desk: SecurityDesk = runtime.security
    first, created = desk.report(summary="s", details="d", source="researcher", intake_ref="mail:<a@x>", actor="m")
    second, again = desk.report(summary="s2", details="d2", source="researcher", intake_ref="mail:<a@x>", actor="m")
    assert created and not again and first.id == second.id
    assert len(desk.reports()) == 1


def test_the_acknowledgement_is_sent_before_the_state_moves(runtime: Any, smtp_server: Captured) -> None:
    desk: SecurityDesk = runtime.security
    report = _report(runtime)
    down = Mailer(host="127.0.0.1", port=9, security="plain", sender="security@example.com", timeout=2)
    from charter.security import MailError

    with pytest.raises(MailError):
        desk.send_acknowledgement(report.id, mailer=down, actor="cli")
    assert desk.get(report.id).state == "received"  # not sent: the clock keeps running
    up = Mailer(host=smtp_server.host, port=smtp_server.port, security="plain", sender="security@example.com")
    assert desk.send_acknowledgement(report.id, mailer=up, actor="cli").state == "acknowledged"
    ((_, recipients, mail),) = smtp_server.mails
    assert recipients == ["researcher.fake@example.com"]
    assert mail["Subject"] == f"Re: [Security] stored XSS in the notes macro [{report.id}]"
    assert not mail.get_content().startswith("To:")  # the draft's header lines became headers
    with pytest.raises(DeskError, match="only a received report"):
        desk.send_acknowledgement(report.id, mailer=up, actor="cli")
    anonymous = _report(runtime, contact=None)
    with pytest.raises(DeskError, match="no contact address"):
        desk.send_acknowledgement(anonymous.id, mailer=up, actor="cli")


def test_a_breach_found_after_a_report_was_closed_still_runs_its_clocks(runtime: Any) -> None:
    desk: SecurityDesk = runtime.security
    report = _report(runtime)
    closed = desk.reject(report.id, actor="cli")
    desk.confirm_breach(report.id, actor="cli")
    assert desk.get(report.id).closed_at == closed.closed_at  # not reset by the later change
    assert [c.name for c in desk.clocks()] == ["breach-authority", "breach-customers"]


def test_a_fix_version_must_be_a_version_outside_the_affected_range(runtime: Any) -> None:
    desk: SecurityDesk = runtime.security
    report = _report(runtime)
    desk.acknowledge(report.id, actor="cli")
    desk.triage(report.id, cvss=HIGH, affected="<2.0", actor="cli")
    desk.start_fix(report.id, actor="cli")
    with pytest.raises(DeskError, match="inside the affected range"):
        desk.fixed(report.id, version="1.5", actor="cli")
    with pytest.raises(DeskError, match="not a version"):
        desk.fixed(report.id, version="two", actor="cli")
    assert desk.fixed(report.id, version="2.0.1", actor="cli").fixed_version == "2.0.1"


def test_credit_needs_a_name_and_awareness_a_plausible_date(runtime: Any) -> None:
    desk: SecurityDesk = runtime.security
    report = _report(runtime, reporter=None, source="customer")
    with pytest.raises(DeskError, match="more than a year ago"):
        desk.confirm_breach(report.id, aware_at=NOW - timedelta(days=800), actor="cli")
    desk.acknowledge(report.id, actor="cli")
    desk.triage(report.id, cvss=LOW, actor="cli")
    desk.start_fix(report.id, actor="cli")
    desk.fixed(report.id, version="1.0.1", actor="cli")
    desk.released(report.id, actor="cli")
    with pytest.raises(DeskError, match="no reporter name to credit"):
        desk.disclose(report.id, title="t", text="x", actor="cli", credit=True)
