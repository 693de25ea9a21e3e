"""Atlassian personal-data reporting against a local fake of the API, on SQLite and PostgreSQL: B16 step by step
(batches of 90, one report per account per cycle, 429 after Retry-After once, closed accounts erased in every
tenant and never reported again, updated ones dropped, Cycle-Period, no catch-up), and replies that cannot be
read erase nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from charter.privacy import AccountReporter, account_digest
from charter.store import ClosedAccountError
from tests.conftest import connect_install
from tests.privacy.conftest import B16_START
from tests.privacy.fake_atlassian import FakeReportingApi, Reply, fake_reporting_api

RETRIEVED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
OLDER = datetime(2024, 2, 28, 8, 30, tzinfo=UTC)
ACCOUNTS = [f"fake-acct-{n:03d}" for n in range(1, 96)]


@pytest.fixture
def api(runtime: Any) -> Iterator[FakeReportingApi]:
    with fake_reporting_api(runtime.clock) as fake:
        yield fake


def _reporter(runtime: Any, api: FakeReportingApi) -> AccountReporter:
    return AccountReporter(
        runtime.charter,
        runtime.database,
        runtime.keyring,
        runtime.audit,
        clock=runtime.clock,
        support=runtime.support,
        client=httpx.Client(timeout=5),
        url=api.url,
        token=lambda: "fake-reporting-token",
    )


def _store(runtime: Any) -> tuple[str, str]:
    """B16's data: fake-acct-001..095 in tenant A; fake-acct-007 also in tenant B (retrieved earlier there)."""
    a = connect_install(runtime.registry, "fake-client-key-a", B16_START - timedelta(days=30))
    b = connect_install(runtime.registry, "fake-client-key-b", B16_START - timedelta(days=30))
    for account in ACCOUNTS:
        runtime.store.put(a, "note-author", account, {"name": f"Fake {account}"}, accounts={account: RETRIEVED})
    runtime.store.put(b, "note-author", "fake-acct-007", {"name": "Fake Seven"}, accounts={"fake-acct-007": OLDER})
    runtime.store.put(b, "note", "n-1", {"text": "written by seven"}, accounts={"fake-acct-007": RETRIEVED})
    return a, b


def test_b16_batches_cycle_429_and_closed_accounts(runtime: Any, api: FakeReportingApi) -> None:
    a, b = _store(runtime)
    reporter = _reporter(runtime, api)
    api.script = [
        Reply.accounts(("fake-acct-007", "closed"), ("fake-acct-042", "updated")),
        Reply(429, headers={"retry-after": "120"}),
        Reply(204),
    ]
    run = reporter.run()

    # 1. two batches (90 + 5), each account once, with its oldest retrieval time in RFC 3339 UTC
    assert [len(batch) for batch in api.accounts_posted()] == [90, 5, 5]
    first, second, retried = api.seen
    assert sorted(api.accounts_posted()[0] + api.accounts_posted()[1]) == ACCOUNTS
    assert api.accounts_posted()[1] == api.accounts_posted()[2]
    times = {x["accountId"]: x["updatedAt"] for x in first.body["accounts"]}
    assert times["fake-acct-007"] == "2024-02-28T08:30:00Z" and times["fake-acct-001"] == "2024-03-01T12:00:00Z"
    assert first.authorization == "Bearer fake-reporting-token" and first.path == "/app/report-accounts/"
    # 3. the 429 is retried once, no earlier than Retry-After
    assert retried.at - second.at >= timedelta(seconds=120)
    assert run.posts == 3 and run.reported == 95 and run.error is None

    # closed: erased in both tenants (the cached profile and the content), never reported again
    assert [e.records for e in run.closed] == [3] and sorted(run.closed[0].tenants) == sorted([a, b])
    assert runtime.store.get(a, "note-author", "fake-acct-007") is None
    assert runtime.store.get(b, "note-author", "fake-acct-007") is None and runtime.store.get(b, "note", "n-1") is None
    with pytest.raises(ClosedAccountError):
        runtime.store.put(a, "note", "n-2", {"text": "again"}, accounts={"fake-acct-007": B16_START})
    # updated: the cached profile copy is dropped (the app fetches it again when needed)
    assert runtime.store.get(a, "note-author", "fake-acct-042") is None
    erased = runtime.audit.entries(kind="privacy.account-erased")[-1].payload
    assert erased["account"] == account_digest(runtime.keyring, "fake-acct-007") and erased["records"] == 3
    assert "fake-acct" not in str([e.payload for e in runtime.audit.entries()])  # digests, never ids

    # 4. an hour later nothing is due; a week later every account still stored is, once
    runtime.clock.set(B16_START + timedelta(hours=1))
    assert reporter.run().posts == 0
    runtime.clock.set(B16_START + timedelta(days=7))
    again = reporter.run()
    posted = [account for batch in api.accounts_posted()[3:] for account in batch]
    assert again.reported == 93 and len(posted) == 93 == len(set(posted))
    assert "fake-acct-007" not in posted and "fake-acct-042" not in posted


def test_a_late_run_does_not_catch_up(runtime: Any, api: FakeReportingApi) -> None:
    _store(runtime)
    reporter = _reporter(runtime, api)
    reporter.run()
    runtime.clock.set(B16_START + timedelta(days=9, hours=5))  # two days late
    assert reporter.run().reported == 95
    runtime.clock.set(B16_START + timedelta(days=9, hours=6))
    assert reporter.run().posts == 0
    runtime.clock.set(B16_START + timedelta(days=16, hours=4))  # within 7 days of the late run: not due
    assert reporter.run().posts == 0
    runtime.clock.set(B16_START + timedelta(days=16, hours=5))
    assert reporter.run().reported == 95


def test_a_longer_cycle_period_pushes_the_next_report_out(runtime: Any, api: FakeReportingApi) -> None:
    _store(runtime)
    reporter = _reporter(runtime, api)
    api.script = [Reply(204, headers={"cycle-period": str(10 * 86400)}), Reply(204)]
    reporter.run()
    assert reporter.cycle_period() == timedelta(days=10)
    runtime.clock.set(B16_START + timedelta(days=7))
    assert reporter.run().posts == 0
    runtime.clock.set(B16_START + timedelta(days=10))
    assert reporter.run().reported == 95
    api.script = [Reply(204, headers={"cycle-period": "3600"})]  # shorter than 7 days: never more often
    runtime.clock.set(B16_START + timedelta(days=20))
    reporter.run()
    assert reporter.cycle_period() == timedelta(days=10)


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b"<html>gateway</html>", {"content-type": "text/html"}),
        Reply(200, b'{"accounts": [{"accountId": "fake-acct-007", "status": "deleted"}]}'),
        Reply(200, b'{"accounts": [{"accountId": "fake-acct-999", "status": "closed"}]}'),
        Reply(200, b'{"accounts": {"accountId": "fake-acct-007"}}'),
        Reply(500, b'{"errorType": "x"}'),
        Reply(503),
        Reply(400, b'{"errorType": "bad"}'),
    ],
)
def test_replies_that_cannot_be_read_erase_nothing_and_keep_accounts_due(
    runtime: Any, api: FakeReportingApi, reply: Reply
) -> None:
    a, _ = _store(runtime)
    reporter = _reporter(runtime, api)
    api.script = [reply]
    run = reporter.run()
    assert run.error is not None and run.closed == [] and run.reported == 0 and run.left == 95
    assert runtime.store.get(a, "note-author", "fake-acct-007") == {"name": "Fake fake-acct-007"}
    assert runtime.audit.entries(kind="privacy.account-erased") == []
    assert len(reporter.due()) == 95  # tried again by the next run
    assert reporter.run().reported == 95


def test_429_twice_stops_the_run_until_the_next(runtime: Any, api: FakeReportingApi) -> None:
    _store(runtime)
    reporter = _reporter(runtime, api)
    api.script = [Reply(429, headers={"retry-after": "30"}), Reply(429, headers={"retry-after": "30"})]
    run = reporter.run()
    assert run.posts == 2 and run.reported == 0 and "429 again" in (run.error or "")
    assert api.seen[1].at - api.seen[0].at == timedelta(seconds=30)
    api.script = [Reply(429)]  # no Retry-After: never retried at once
    assert "without a usable Retry-After" in (reporter.run().error or "")


def test_an_unreachable_api_is_an_error_not_a_crash(runtime: Any) -> None:
    _store(runtime)
    reporter = AccountReporter(
        runtime.charter,
        runtime.database,
        runtime.keyring,
        runtime.audit,
        clock=runtime.clock,
        support=runtime.support,
        client=httpx.Client(timeout=2),
        url="http://127.0.0.1:9/app/report-accounts/",
    )
    run = reporter.run()
    assert "could not be reached" in (run.error or "") and run.left == 95


def test_support_cases_about_a_closed_account_are_deleted(runtime: Any, api: FakeReportingApi) -> None:
    a, _ = _store(runtime)
    case = runtime.support.open_case(subject="profile broken", tenant_id=a, actor="t", account_ids=["fake-acct-007"])
    held = runtime.support.open_case(subject="dispute", tenant_id=a, actor="t", account_ids=["fake-acct-007"])
    runtime.support.hold(held.id, reason="litigation hold, matter 12", actor="t")
    api.script = [Reply.accounts(("fake-acct-007", "closed"))]
    (erasure,) = _reporter(runtime, api).run().closed
    assert erasure.cases == [case.id] and erasure.held == [held.id]
    assert runtime.support.get(case.id).status == "deleted" and runtime.support.get(held.id).status == "open"


@pytest.mark.parametrize("wait", ["100000", "99999999999999999999"])
def test_a_retry_after_over_an_hour_ends_the_run_without_waiting(
    runtime: Any, api: FakeReportingApi, wait: str
) -> None:
    _store(runtime)
    before = runtime.clock.now()
    api.script = [Reply(429, headers={"retry-after": wait})]
    run = _reporter(runtime, api).run()
    assert run.posts == 1 and "over an hour" in (run.error or "") and runtime.clock.now() == before
