"""Reports from an mbox file or a Maildir: the subject prefix selects them, Message-IDs deduplicate them, and a
path that is not a mailbox is refused with the reason."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from charter.security import MailboxError, import_mailbox
from tests.conftest import NOW


def _mail(
    subject: str, body: str, *, sender: str = "Fake Researcher <researcher.fake@example.com>", **headers: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "security@notes.example.com"
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def _mbox(path: Path, messages: list[EmailMessage]) -> Path:
    box = mailbox.mbox(path)
    for message in messages:
        box.add(message)
    box.close()
    return path


def test_an_mbox_becomes_reports_once(runtime: Any, tmp_path: Path) -> None:
    html = EmailMessage()
    html["From"] = "anon@example.com"
    html["Subject"] = "[SECURITY] open redirect"
    html["Message-ID"] = "<html-1@example.com>"
    html.set_content("<p>Go to <b>/login?next=//evil.example</b></p><script>x()</script>", subtype="html")
    path = _mbox(
        tmp_path / "security.mbox",
        [
            _mail(
                "Re: [Security] SSRF in the webhook test",
                "Steps: point the webhook at 203.0.113.9.",
                Message_ID="<one@example.com>",
                Date="Fri, 27 Nov 2026 09:15:00 +0100",
            ),
            _mail("Invoice 42", "not a report", Message_ID="<two@example.com>"),
            html,
        ],
    )
    result = import_mailbox(path, runtime.security, prefix="[Security]", actor="cli", now=NOW)
    assert result.not_reports == 1 and result.refused == []
    first, second = result.created
    assert first.received_at == datetime(2026, 11, 27, 8, 15, tzinfo=UTC)  # the Date header, in UTC
    assert first.intake == "mailbox" and first.state == "received"
    content = runtime.security.read(first.id, staff_id="staff-01")
    assert content.summary == "SSRF in the webhook test"  # prefix and "Re:" removed
    assert content.reporter == "Fake Researcher" and content.contact == "researcher.fake@example.com"
    assert content.details == "Steps: point the webhook at 203.0.113.9."
    html_content = runtime.security.read(second.id, staff_id="staff-01")
    assert html_content.summary == "open redirect"  # the prefix matches whatever the case
    assert html_content.details == "Go to /login?next=//evil.example"  # text of the HTML, no script
    again = import_mailbox(path, runtime.security, prefix="[Security]", actor="cli", now=NOW)
    assert again.created == [] and sorted(again.seen_before) == sorted([first.id, second.id])
    assert len(runtime.security.reports()) == 2


def test_a_maildir_is_read_and_odd_dates_fall_back_to_the_import_time(runtime: Any, tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir")
    box.add(_mail("[Security] future", "x", Message_ID="<f@example.com>", Date="Mon, 01 Jan 2035 00:00:00 +0000"))
    box.add(_mail("[Security] no id, no date", "y"))
    box.close()
    result = import_mailbox(tmp_path / "Maildir", runtime.security, prefix="[Security]", actor="cli", now=NOW)
    assert [r.received_at for r in result.created] == [NOW, NOW]
    # a message without a Message-ID is keyed by its bytes: importing it again records nothing
    again = import_mailbox(tmp_path / "Maildir", runtime.security, prefix="[Security]", actor="cli", now=NOW)
    assert again.created == [] and len(again.seen_before) == 2


def test_a_message_the_desk_refuses_is_listed_not_fatal(runtime: Any, tmp_path: Path) -> None:
    path = _mbox(
        tmp_path / "m.mbox",
        [_mail("[Security] bad", "text", sender="Fake <not-an-address>"), _mail("[Security] ok", "t")],
    )
    result = import_mailbox(path, runtime.security, prefix="[Security]", actor="cli", now=NOW)
    assert len(result.created) == 2  # an unusable From is dropped, not the report
    assert runtime.security.read(result.created[0].id, staff_id="s1").contact is None


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.mbox", "no such file"),
        (lambda p: (p / "plain.txt").write_text("hello") and p / "plain.txt", "not an mbox"),
        (lambda p: (p / "dir").mkdir() or p / "dir", "not a Maildir"),
    ],
)
def test_a_path_that_is_not_a_mailbox_is_refused(runtime: Any, tmp_path: Path, make: Any, message: str) -> None:
    with pytest.raises(MailboxError, match=message):
        import_mailbox(make(tmp_path), runtime.security, prefix="[Security]", actor="cli", now=NOW)
    assert runtime.security.reports() == []


def test_malformed_real_world_headers_do_not_stop_the_import(runtime: Any, tmp_path: Path) -> None:
    raw = (
        b"From MAILER-DAEMON Fri Nov 27 09:00:00 2026\n"
        b"From: =?bogus-charset?q?Fake?= <reporter.fake@example.com>\n"
        b"Subject: =?utf-8?q?=5BSecurity=5D_caf=C3=A9_leak?=\n"
        b"Message-ID: <[Secu@example.com>\n"
        b"Date: not a date\n"
        b"Content-Type: text/plain; charset=unknown-8bit\n"
        b"\n"
        b"body \xe9 text\n"
        b"\n"
        b"From MAILER-DAEMON Fri Nov 27 09:00:01 2026\n"
        b"Subject: [Security] multipart without parts\n"
        b"Content-Type: multipart/mixed; boundary=nope\n"
        b"\n"
        b"no boundary here\n"
    )
    (tmp_path / "odd.mbox").write_bytes(raw)
    result = import_mailbox(tmp_path / "odd.mbox", runtime.security, prefix="[security]", actor="cli", now=NOW)
    assert len(result.created) == 2 and result.refused == []
    first = runtime.security.read(result.created[0].id, staff_id="staff-01")
    assert first.summary == "café leak" and first.contact == "reporter.fake@example.com"
    assert first.details.startswith("body ") and result.created[0].received_at == NOW
