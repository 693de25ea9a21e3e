"""Marketplace technical contacts on SQLite and PostgreSQL: import from CSV and JSON licence exports, mail only
for the charter's purposes with a signed one-click unsubscribe link (a local SMTP server captures it),
unsubscribe and deletion honoured at once and never undone by a later import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from charter.privacy import ContactError, MarketplaceContacts
from charter.security import Mailer
from charter.store import MarketplaceContactRow
from tests.conftest import Captured
from tests.privacy.conftest import declare_contacts

CSV = (
    "Technical contact email,Technical contact name,Company,Licence id\n"
    "ada.fake@example.com,Ada Fake,Fake Analytics,SEN-1\n"
    "not-an-address,Nobody,X,SEN-2\n"
    "grace.fake@example.com,Grace Fake,,SEN-3\n"
)
JSON = {
    "licenses": [
        {
            "contactDetails": {
                "company": "Fake Corp",
                "technicalContact": {"email": "linus.fake@example.com", "name": "L"},
            }
        },
        {"contactDetails": {"technicalContact": {}}},
    ]
}


def _with_purposes(runtime: Any) -> MarketplaceContacts:
    declare_contacts(runtime)
    return runtime.contacts  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def _declared(runtime: Any, request: pytest.FixtureRequest) -> None:
    if "undeclared" not in request.node.name:
        declare_contacts(runtime)


def test_import_csv_and_json_exports(runtime: Any, tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text(CSV)
    report = runtime.contacts.import_file(tmp_path / "l.csv", actor="t")
    assert (report.imported, report.updated, report.skipped) == (2, 0, ["line 3: no valid technical contact e-mail"])
    (tmp_path / "l.json").write_text(json.dumps(JSON))
    report = runtime.contacts.import_file(tmp_path / "l.json", actor="t")
    assert (report.imported, report.skipped) == (1, ["licence 2: no valid technical contact e-mail"])
    again = runtime.contacts.import_file(tmp_path / "l.csv", actor="t")
    assert (again.imported, again.updated) == (0, 2)
    assert runtime.contacts.count() == 3
    assert runtime.contacts.export("ADA.fake@example.com")["company"] == "Fake Analytics"
    with runtime.database.session() as session:
        for row in session.scalars(select(MarketplaceContactRow)):
            assert b"fake@example.com" not in row.email and b"Fake" not in (row.name or b"")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,company\nx,y\n", "no technical contact e-mail column"),
        ('{"licenses": 3}', "a JSON export is a list"),
        ("[{", "is not JSON"),
    ],
)
def test_bad_exports_are_refused(runtime: Any, tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "x").write_text(content)
    with pytest.raises(ContactError, match=message):
        runtime.contacts.import_file(tmp_path / "x", actor="t")
    with pytest.raises(ContactError, match="no such file"):
        runtime.contacts.import_file(tmp_path / "missing.csv", actor="t")
    assert runtime.contacts.count() == 0


def test_mail_only_for_listed_purposes_with_a_one_click_unsubscribe(
    runtime: Any, tmp_path: Path, smtp_server: Captured
) -> None:
    contacts = _with_purposes(runtime)
    (tmp_path / "l.csv").write_text(CSV)
    contacts.import_file(tmp_path / "l.csv", actor="t")
    mailer = Mailer(host=smtp_server.host, port=smtp_server.port, security="plain", sender="news@notes.example.com")
    with pytest.raises(ContactError, match="purpose 'feature-announcements' is not one the charter lists"):
        contacts.send(purpose="feature-announcements", subject="New!", body="b", mailer=mailer, actor="t")
    assert smtp_server.mails == []
    report = contacts.send(purpose="security-notices", subject="Fixed", body="We fixed it.", mailer=mailer, actor="t")
    assert len(report.sent) == 2 and len(smtp_server.mails) == 2
    _, (to,), mail = smtp_server.mails[0]
    link = mail["List-Unsubscribe"].strip("<>")
    assert link.startswith("https://notes.example.com/unsubscribe?token=MC-")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and link in mail.get_content()
    token = link.split("token=")[1]
    assert not contacts.unsubscribe(token[:-1] + ("0" if token[-1] != "0" else "1"))  # a forged signature
    assert contacts.count() == 2
    assert contacts.unsubscribe(token) and contacts.count() == 1 and contacts.find(to) is None
    assert contacts.unsubscribe(token)  # the link keeps working
    assert contacts.import_file(tmp_path / "l.csv", actor="t").suppressed == 1
    entry = runtime.audit.entries(kind="contacts.unsubscribed")[-1]
    assert "fake@example.com" not in json.dumps(entry.payload)


def test_a_charter_without_contacts_stores_and_mails_none_undeclared(
    runtime: Any, tmp_path: Path, smtp_server: Captured
) -> None:
    contacts = MarketplaceContacts(
        runtime.charter, runtime.database, runtime.keyring, runtime.audit, clock=runtime.clock
    )
    (tmp_path / "l.csv").write_text(CSV)
    with pytest.raises(ContactError, match="declares no \\[marketplace_contacts\\]"):
        contacts.import_file(tmp_path / "l.csv", actor="t")
    mailer = Mailer(host=smtp_server.host, port=smtp_server.port, security="plain", sender="news@notes.example.com")
    with pytest.raises(ContactError, match="marketplace_contacts\\] is absent"):
        contacts.send(purpose="billing", subject="s", body="b", mailer=mailer, actor="t")


def test_subjects_staff_ids_and_addresses_are_checked(runtime: Any, smtp_server: Captured) -> None:
    from charter.access import AccessDeniedError

    mailer = Mailer(host=smtp_server.host, port=smtp_server.port, security="plain", sender="news@notes.example.com")
    with pytest.raises(ContactError, match="one non-empty line"):
        runtime.contacts.send(purpose="billing", subject="a\nBcc: x@example.com", body="b", mailer=mailer, actor="t")
    with pytest.raises(AccessDeniedError):
        runtime.contacts.delete("a@example.com", actor="boss@example.com")
    with pytest.raises(ContactError, match="not an e-mail address"):
        runtime.contacts.delete("not an address", actor="t")


def test_unreadable_files_import_nothing(runtime: Any, tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(ContactError, match="nested too deeply"):
        runtime.contacts.import_file(tmp_path / "deep.json", actor="t")
    (tmp_path / "huge.csv").write_text("Technical contact email\nok.fake@example.com\n" + "x" * 200_000 + "\n")
    with pytest.raises(ContactError, match="not a readable CSV"):
        runtime.contacts.import_file(tmp_path / "huge.csv", actor="t")
    assert runtime.contacts.count() == 0  # the good line before the bad one was not imported


def test_a_deletion_request_is_honoured_at_once(runtime: Any, tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text(CSV)
    runtime.contacts.import_file(tmp_path / "l.csv", actor="t")
    contact_id = runtime.contacts.find("grace.fake@example.com")
    assert runtime.contacts.delete("Grace.Fake@example.com", actor="t") == 1
    assert runtime.contacts.find("grace.fake@example.com") is None
    assert f"charter:contact:{contact_id}" in runtime.keyring.destroyed()  # crypto-shredded: backups cannot open it
    assert runtime.contacts.delete("grace.fake@example.com", actor="t") == 0
