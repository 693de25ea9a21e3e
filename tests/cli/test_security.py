"""``charter security`` and ``charter deps audit`` end to end: reports from the command line, the web form and an
mbox, through triage and release to an SMTP notification captured by a local server; the status and its exit
code; and the mistakes they refuse."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from charter.clock import FrozenClock, SystemClock
from charter.policy import load_charter
from charter.runtime import open_runtime
from charter.web import create_app
from tests.cli.test_cli import EXAMPLE, run
from tests.conftest import NOW, Captured
from tests.security.conftest import forge_tenant

VECTORS = Path(__file__).resolve().parent.parent / "security" / "vectors"
CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    charter = load_charter(Path(EXAMPLE), clock=FrozenClock(NOW))
    with open_runtime(charter, data_dir=data, clock=SystemClock(), environ={}) as rt:
        now = datetime.now(UTC)
        (tmp_path / "old").write_text(forge_tenant(rt, "e2e-old", "2.2.0", now))
        (tmp_path / "new").write_text(forge_tenant(rt, "e2e-new", "2.3.1", now))
    return data


def cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    return run(*args, "--config", EXAMPLE, "--data-dir", str(data_dir))


def test_from_three_intakes_to_a_notification(
    data_dir: Path, tmp_path: Path, smtp_server: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 1. the command line
    code, out, err = cli(
        data_dir,
        "security",
        "report",
        "--summary",
        "SQL injection in search",
        "--details",
        "q=' OR 1=1",
        "--reporter",
        "Fake Researcher",
        "--contact",
        "researcher.fake@example.com",
        "--app",
        "com.example.issue-notes",
    )
    assert code == 0, err
    cli_id = out.split(":")[0]
    assert "acknowledge by" in out and "To: researcher.fake@example.com" in out and f"[{cli_id}]" in out

    # 2. the web form
    charter = load_charter(Path(EXAMPLE), clock=FrozenClock(NOW))
    with open_runtime(charter, data_dir=data_dir, clock=SystemClock(), environ={}) as rt:
        app = create_app(charter, rt.database, clock=rt.clock, security=rt.security, close=lambda: None)
        with TestClient(app, client=("203.0.113.30", 40000)) as client:
            answer = client.post("/security/report", data={"summary": "CSRF on settings", "details": "no token"})
        assert answer.status_code == 201

    # 3. a mailbox
    box = mailbox.mbox(tmp_path / "inbox.mbox")
    for subject in ("[Security] token in logs", "lunch?"):
        message = EmailMessage()
        message["From"] = "Fake Reporter <reporter.fake@example.com>"
        message["Subject"] = subject
        message["Message-ID"] = f"<{subject.split()[-1]}@example.com>"
        message.set_content("details")
        box.add(message)
    box.close()
    code, out, err = cli(data_dir, "security", "import", str(tmp_path / "inbox.mbox"))
    assert code == 0, err
    assert out.strip().endswith(
        "1 new report(s), 0 imported before, 1 message(s) without '[Security]' in the subject left alone"
    )

    code, out, _ = cli(data_dir, "security", "list")
    assert code == 0 and len(out.strip().splitlines()) == 3 and all("received" in line for line in out.splitlines())
    ids = [line.split()[0] for line in out.strip().splitlines()]
    assert ids[0] == cli_id

    old, new = (tmp_path / "old").read_text(), (tmp_path / "new").read_text()
    assert cli(data_dir, "security", "contact", old, "admin.old@example.com")[0] == 0
    assert cli(data_dir, "security", "contact", new, "admin.new@example.com")[0] == 0
    code, _, err = cli(data_dir, "security", "ack", cli_id, "--send")
    assert code == 2 and "CHARTER_SMTP_URL" in err
    monkeypatch.setenv("CHARTER_SMTP_URL", smtp_server.url)
    monkeypatch.setenv("CHARTER_SMTP_FROM", "security@notes.example.com")

    # acknowledge: by e-mail where the reporter gave an address (the CLI and the mailbox reports)
    for report_id in ids:
        _, shown, _ = cli(data_dir, "security", "show", report_id, "--staff", "staff-01")
        send = ["--send"] if "<-" not in shown.split("Reporter:")[1].splitlines()[0] else []
        code, out, err = cli(data_dir, "security", "ack", report_id, *send)
        assert code == 0, err
    acks = [(rcpt, mail["Subject"]) for _, rcpt, mail in smtp_server.mails]
    assert acks == [
        (["researcher.fake@example.com"], f"Re: [Security] SQL injection in search [{ids[0]}]"),
        (["reporter.fake@example.com"], f"Re: [Security] token in logs [{ids[2]}]"),
    ]
    assert "within these times" in smtp_server.mails[0][2].get_content()
    smtp_server.mails.clear()

    # triage and fix each, then tell the affected tenant: the old version only
    for report_id in ids:
        for step in (
            ["triage", report_id, "--cvss", CRITICAL, "--app", "com.example.issue-notes", "--affected", "<2.3.1"],
            ["start", report_id],
            ["fixed", report_id, "--version", "2.3.1"],
            ["release", report_id],
        ):
            code, out, err = cli(data_dir, "security", *step, "--staff", "staff-01")
            assert code == 0, (step, err)
        assert out.strip() == f"{report_id}: released"
        code, out, _ = cli(data_dir, "security", "affected", report_id)
        assert old in out and new not in out and out.strip().endswith("1 affected tenant(s)")
        code, out, err = cli(data_dir, "security", "notify", report_id)
        assert code == 0, err
        assert out.strip().endswith("1 sent, 0 told before, 0 without a contact, 0 failed")
    assert [(rcpt, mail["Subject"]) for _, rcpt, mail in smtp_server.mails] == [
        (["admin.old@example.com"], f"[Security] Security fix for Issue Notes ({report_id})") for report_id in ids
    ]
    assert all(sender == "security@notes.example.com" for sender, _, _ in smtp_server.mails)
    code, out, _ = cli(data_dir, "security", "notify", cli_id)
    assert code == 0 and "told before" in out and len(smtp_server.mails) == 3

    code, out, _ = cli(data_dir, "security", "show", cli_id)
    assert f"notified fix {old}: sent" in out and "Fake Researcher" not in out
    code, out, _ = cli(data_dir, "security", "show", cli_id, "--staff", "staff-01")
    assert "Reporter: Fake Researcher <researcher.fake@example.com>" in out and "q=' OR 1=1" in out

    code, out, _ = cli(data_dir, "security", "draft", cli_id, "release-notes")
    assert code == 0 and "### Security fix in 2.3.1" in out and "critical-severity" in out
    advisory = tmp_path / "advisory.md"
    advisory.write_text("Search was open to SQL injection.\n\nUpgrade to **2.3.1**.\n")
    code, out, _ = cli(
        data_dir, "security", "disclose", cli_id, "--title", "SQL injection in search", "--text-file", str(advisory)
    )
    assert code == 0 and out.strip() == f"{cli_id}: disclosed"

    code, out, _ = cli(data_dir, "security", "status")
    assert (code, out) == (0, "No running clocks.\n")  # all released: no clock runs


def test_status_lists_breaches_first_and_exits_1(data_dir: Path) -> None:
    now = datetime.now(UTC)
    late = (now - timedelta(days=20)).isoformat()
    cli(data_dir, "security", "report", "--summary", "recent", "--details", "d")
    code, out, err = cli(data_dir, "security", "report", "--summary", "old", "--details", "d", "--received", late)
    assert code == 0, err
    old_id = out.split(":")[0]
    code, out, _ = cli(data_dir, "security", "status")
    lines = out.strip().splitlines()
    assert code == 1 and lines[-1].endswith("breached")
    assert lines[0].startswith(f"{old_id}  acknowledge") and "overdue by" in lines[0] and "[breached]" in lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "--summary", "s"], "--details or --details-file"),
        (["report", "--summary", "s", "--details", "d", "--received", "yesterday"], "not an ISO 8601 time"),
        (["report", "--summary", "s", "--details", "d", "--received", "2026-11-01T10:00"], "has no time zone"),
        (["report", "--summary", "s", "--details", "d", "--source", "rumour"], "source 'rumour'"),
        (["report", "--summary", "s", "--details-file", "/nonexistent/x"], "no such file"),
        (["triage", "SR-AAAAAAAAAA", "--cvss", CRITICAL], "no report SR-AAAAAAAAAA"),
        (["triage", "SR-1", "--cvss", CRITICAL], "not a report id"),
        (["import", "/nonexistent/inbox"], "no such file or directory"),
        (["draft", "SR-AAAAAAAAAA", "poem"], "choose ack, release-notes or advisory"),
        (["notified", "SR-AAAAAAAAAA"], "--authority or --customers"),
        (["contact", "no-such-tenant", "a@example.com"], "no tenant"),
    ],
)
def test_mistakes_exit_2_with_the_reason(data_dir: Path, args: list[str], message: str) -> None:
    code, out, err = cli(data_dir, "security", *args)
    assert code == 2 and message in err and "Traceback" not in err + out


def test_a_triage_before_acknowledgement_is_refused(data_dir: Path) -> None:
    _, out, _ = cli(data_dir, "security", "report", "--summary", "s", "--details", "d")
    report_id = out.split(":")[0]
    code, _, err = cli(data_dir, "security", "triage", report_id, "--cvss", CRITICAL)
    assert code == 2 and "received: it can move to acknowledged" in err
    cli(data_dir, "security", "ack", report_id)
    code, _, err = cli(data_dir, "security", "triage", report_id, "--cvss", "CVSS:3.1/AV:N")
    assert code == 2 and "malformed CVSS vector" in err


def test_deps_audit_exit_codes(data_dir: Path, tmp_path: Path) -> None:
    code, out, err = cli(data_dir, "deps", "audit", "--input", str(VECTORS / "pip-audit.json"))
    assert code == 1, err
    assert out.startswith("new: SR-") and "fakepkg-alpha 1.0.0 GHSA-fake-0001-aaaa" in out
    assert out.strip().endswith("3 package(s) checked, 1 known vulnerability (1 new)")
    code, out, _ = cli(data_dir, "deps", "audit", "--input", str(VECTORS / "pip-audit.json"))
    assert code == 1 and out.startswith("tracked: SR-") and "(0 new)" in out
    clean = tmp_path / "clean.json"
    clean.write_text('{"dependencies": [{"name": "fakepkg", "version": "1", "vulns": []}]}')
    assert cli(data_dir, "deps", "audit", "--input", str(clean))[:2] == (
        0,
        "1 package(s) checked, 0 known vulnerabilities (0 new)\n",
    )
    empty = tmp_path / "empty.json"
    empty.write_text('{"dependencies": []}')
    code, out, err = cli(data_dir, "deps", "audit", "--input", str(empty))
    assert code == 2 and "nothing was checked" in err and "vulnerabilit" not in out
