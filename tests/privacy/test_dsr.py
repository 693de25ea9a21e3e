"""Data subject requests on SQLite and PostgreSQL: GDPR's one-month deadline (frozen clock, several host time
zones), verification before anything else, export of everything held, erasure with a receipt after which a new
export finds nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from charter.access import AccessDeniedError
from charter.privacy import DsrError, dsr_due
from tests.conftest import connect_install
from tests.privacy.conftest import B16_START, declare_contacts

STAFF = "staff-dpo"


@pytest.fixture(params=["UTC", "Pacific/Auckland", "America/New_York"])
def host_tz(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("received", "due"),
    [
        ("2024-01-31T10:00:00Z", "2024-02-29T10:00:00Z"),  # no 31 February: the month's last day (leap year)
        ("2023-01-31T10:00:00Z", "2023-02-28T10:00:00Z"),
        ("2024-03-31T23:30:00Z", "2024-04-30T23:30:00Z"),
        ("2024-03-10T00:00:00Z", "2024-04-10T00:00:00Z"),
        ("2024-12-15T08:00:00+01:00", "2025-01-15T07:00:00Z"),  # an offset is converted, then a month added
    ],
)
def test_one_calendar_month(host_tz: str, received: str, due: str) -> None:
    at = datetime.fromisoformat(received.replace("Z", "+00:00")).astimezone(UTC)
    assert dsr_due(at) == datetime.fromisoformat(due.replace("Z", "+00:00"))


def _data(runtime: Any) -> tuple[str, str]:
    a = connect_install(runtime.registry, "fake-client-key-a", B16_START - timedelta(days=30))
    b = connect_install(runtime.registry, "fake-client-key-b", B16_START - timedelta(days=30))
    account = "fake-acct-ds1"
    runtime.store.put(a, "note-author", account, {"name": "Fake Subject"}, accounts={account: B16_START})
    runtime.store.put(b, "note", "n-9", {"text": "a note by the subject"}, accounts={account: B16_START})
    runtime.store.put(b, "note", "n-10", {"text": "someone else's"}, accounts={"fake-acct-other": B16_START})
    runtime.support.open_case(subject="cannot log in", tenant_id=a, actor="t", account_ids=[account])
    return a, b


def test_an_account_request_from_open_to_erasure(runtime: Any, host_tz: str) -> None:
    a, b = _data(runtime)
    request = runtime.dsr.open("account:fake-acct-ds1", kind="both", actor="cli")
    assert request.due_at == datetime(2024, 4, 10, tzinfo=UTC)
    with pytest.raises(DsrError, match="verify the requester's identity first"):
        runtime.dsr.export(request.id, staff_id=STAFF)
    with pytest.raises(AccessDeniedError):
        runtime.dsr.verify(request.id, method="ok", staff_id=STAFF)  # a method says how, in 10+ characters
    runtime.dsr.verify(request.id, method="signed-in Atlassian account matched", staff_id=STAFF)

    package = runtime.dsr.export(request.id, staff_id=STAFF)
    json.dumps(package)  # JSON-ready
    assert {(r["tenant"], r["kind"], r["key"]) for r in package["tenant_records"]} == {
        (a, "note-author", "fake-acct-ds1"),
        (b, "note", "n-9"),
    }
    assert {r["value"]["text"] for r in package["tenant_records"] if r["kind"] == "note"} == {"a note by the subject"}
    assert len(package["support_cases"]) == 1 and package["identity"] == {"kind": "account", "value": "fake-acct-ds1"}

    receipt = runtime.dsr.erase(request.id, staff_id=STAFF)
    assert receipt["records"] == 2 and len(receipt["support_cases"]) == 1 and receipt["held_by_legal_hold"] == []
    assert runtime.store.get(b, "note", "n-10") == {"text": "someone else's"}  # others' data untouched
    again = runtime.dsr.export(request.id, staff_id=STAFF)
    assert again["tenant_records"] == [] and again["support_cases"] == []
    assert again["audit_references"][-1]["kind"] == "privacy.account-erased"  # the receipt, by digest
    # the account is not closed by a data subject's erasure: a returning user can store data again
    runtime.store.put(a, "note", "n-11", {"text": "new"}, accounts={"fake-acct-ds1": B16_START})
    with pytest.raises(DsrError, match="already erased"):
        runtime.dsr.erase(request.id, staff_id=STAFF)
    assert runtime.dsr.get(request.id).state == "erased"
    erased = runtime.audit.entries(kind="privacy.dsr-erased")[-1]
    assert erased.actor == STAFF and "fake-acct-ds1" not in json.dumps(erased.payload)

    runtime.dsr.close(request.id, staff_id=STAFF)
    with pytest.raises(DsrError, match="is closed"):
        runtime.dsr.export(request.id, staff_id=STAFF)
    with pytest.raises(DsrError, match="already closed"):
        runtime.dsr.close(request.id, staff_id=STAFF)
    assert runtime.dsr.get(request.id).state == "closed"


def test_an_email_request_finds_contacts_reports_and_cases(runtime: Any, tmp_path: Any) -> None:
    a, _ = _data(runtime)
    address = "subject.fake@example.com"
    runtime.security.set_contact(a, address.upper(), actor="t")  # case does not matter
    report, _ = runtime.security.report(
        summary="XSS", details="steps", source="researcher", reporter="Fake Subject", contact=address, actor="t"
    )
    case = runtime.support.open_case(subject="billing", customer=address, actor="t")
    declare_contacts(runtime)
    csv = tmp_path / "licences.csv"
    csv.write_text(f"Technical contact email,Technical contact name,Company\n{address},Fake Subject,Fake Co\n")
    runtime.contacts.import_file(csv, actor="t")
    request = runtime.dsr.open(address, kind="erasure", actor="cli")
    runtime.dsr.verify(request.id, method="replied from the address on file", staff_id=STAFF)
    package = runtime.dsr.export(request.id, staff_id=STAFF)
    assert [c["tenant"] for c in package["tenant_contacts"]] == [a]
    assert package["security_reports"] == [
        {"report": report.id, "reporter": "Fake Subject", "contact": address, "summary": "XSS", "details": "steps"}
    ]
    assert [(c["case"], c["subject"], c["customer"]) for c in package["support_cases"]] == [
        (case.id, "billing", address)
    ]
    assert package["marketplace_contacts"][0]["company"] == "Fake Co"

    receipt = runtime.dsr.erase(request.id, staff_id=STAFF)
    assert receipt["tenant_contacts"] == [a] and receipt["marketplace_contacts"] == 1
    assert receipt["security_reports_pseudonymised"] == [report.id] and receipt["support_cases"] == [case.id]
    content = runtime.security.read(report.id, staff_id=STAFF)
    assert content.contact is None and content.reporter is None and content.details == "steps"  # the finding stays
    empty = runtime.dsr.export(request.id, staff_id=STAFF)
    assert not any(empty[k] for k in ("tenant_contacts", "security_reports", "support_cases", "marketplace_contacts"))
    # the address is suppressed: a later licence export does not bring it back
    assert runtime.contacts.import_file(csv, actor="t").suppressed == 1


def test_access_only_requests_are_not_erased_and_extensions_are_once(runtime: Any) -> None:
    request = runtime.dsr.open("subject.fake@example.com", kind="access", actor="cli")
    runtime.dsr.verify(request.id, method="replied from the address on file", staff_id=STAFF)
    with pytest.raises(DsrError, match="request for access, not erasure"):
        runtime.dsr.erase(request.id, staff_id=STAFF)
    extended = runtime.dsr.extend(request.id, reason="complex: many tenants to search", staff_id=STAFF)
    assert extended.due_at == datetime(2024, 6, 10, tzinfo=UTC) and extended.extension_reason is not None
    with pytest.raises(DsrError, match="already extended"):
        runtime.dsr.extend(request.id, reason="again, more time please", staff_id=STAFF)


@pytest.mark.parametrize(
    ("identity", "kind", "received", "message"),
    [
        ("someone", "both", None, "account:<Atlassian account id>"),
        ("account:unknown", "both", None, "not an Atlassian account id"),
        ("account:bad id!", "both", None, "not an Atlassian account id"),
        ("a@example.com", "forget", None, "kind 'forget'"),
        ("a@example.com", "both", datetime(2024, 3, 9), "time zone"),  # noqa: DTZ001 - the mistake under test
        ("a@example.com", "both", datetime(2024, 3, 11, tzinfo=UTC), "future"),
        ("a@example.com", "both", datetime(2020, 1, 1, tzinfo=UTC), "more than a year ago"),
        ("a@b", "both", None, "account:<Atlassian account id>"),
    ],
)
def test_bad_requests_are_refused(
    runtime: Any, identity: str, kind: str, received: datetime | None, message: str
) -> None:
    with pytest.raises(DsrError, match=message):
        runtime.dsr.open(identity, kind=kind, actor="cli", received_at=received)
    assert runtime.dsr.requests() == []


def test_nothing_of_the_identity_is_in_clear_at_rest(runtime: Any) -> None:
    from sqlalchemy import select

    from charter.store import DsrRow

    runtime.dsr.open("subject.fake@example.com", kind="both", actor="cli")
    with runtime.database.session() as session:
        row = session.scalars(select(DsrRow)).one()
        assert b"subject.fake" not in (row.identity or b"")
    assert "subject.fake" not in json.dumps([e.payload for e in runtime.audit.entries()])


def test_a_failed_delivery_leaves_the_request_as_it_was(runtime: Any) -> None:
    request = runtime.dsr.open("subject.fake@example.com", kind="access", actor="cli")
    runtime.dsr.verify(request.id, method="replied from the address on file", staff_id=STAFF)

    def broken(package: dict[str, Any]) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        runtime.dsr.export(request.id, staff_id=STAFF, deliver=broken)
    assert runtime.dsr.get(request.id).exported_at is None
    assert runtime.audit.entries(kind="privacy.dsr-exported") == []


def test_received_times_are_kept_in_utc(runtime: Any) -> None:
    request = runtime.dsr.open(
        "a@example.com", kind="both", actor="cli", received_at=datetime.fromisoformat("2024-03-09T05:59:00+14:00")
    )
    assert request.received_at == datetime(
        2024, 3, 8, 15, 59, tzinfo=UTC
    ) and request.received_at.utcoffset() == timedelta(0)
