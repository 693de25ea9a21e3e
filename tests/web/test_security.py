"""The disclosure form (rate-limited, no account) and the published advisories, over the ASGI app."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from charter.web import FormLimiter, create_app
from tests.conftest import need

CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
REDIS_URL = os.environ.get("CHARTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
FORM = {
    "summary": "IDOR on /notes/<id>",
    "details": "Change the id and read another site's note. <script>alert(1)</script>",
    "name": "Fake Researcher",
    "contact": "researcher.fake@example.com",
    "website": "",
}


@pytest.fixture
def client(runtime: Any) -> Iterator[TestClient]:
    app = create_app(
        runtime.charter, runtime.database, clock=runtime.clock, security=runtime.security, close=lambda: None
    )
    with TestClient(app, client=("203.0.113.10", 50000)) as c:
        yield c


def test_the_form_is_served_with_the_charter_promises(client: TestClient) -> None:
    page = client.get("/security/report")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "within 3 business days" in page.text and "<code>[Security]</code>" in page.text
    assert 'action="/security/report"' in page.text and "form-action 'self'" in page.headers["content-security-policy"]


def test_a_posted_report_is_recorded_and_answered_with_its_id(client: TestClient, runtime: Any) -> None:
    answer = client.post("/security/report", data=FORM)
    assert answer.status_code == 201
    (report,) = runtime.security.reports()
    assert report.id in answer.text and report.intake == "form" and report.source == "researcher"
    assert "2026-12-02 12:00 UTC" in answer.text  # the acknowledgement deadline
    content = runtime.security.read(report.id, staff_id="staff-01")
    assert content.details == FORM["details"] and content.contact == FORM["contact"]


def test_bad_posts_get_the_form_back_with_what_is_wrong(client: TestClient, runtime: Any) -> None:
    answer = client.post("/security/report", data={**FORM, "summary": ""})
    assert answer.status_code == 422 and "the summary is required" in answer.text
    assert "Change the id and read another site&#39;s note. &lt;script&gt;" in answer.text  # kept, escaped
    answer = client.post("/security/report", data={**FORM, "contact": "call me"})
    assert answer.status_code == 422 and "must be one e-mail address" in answer.text
    answer = client.post("/security/report", data={**FORM, "app": "com.example.unknown"})
    assert answer.status_code == 422 and "not in the charter" in answer.text
    assert runtime.security.reports() == []


def test_the_trap_field_records_nothing(client: TestClient, runtime: Any) -> None:
    answer = client.post("/security/report", data={**FORM, "website": "https://spam.example"})
    assert answer.status_code == 201 and runtime.security.reports() == []


def test_posts_with_mistakes_are_not_counted(client: TestClient, runtime: Any) -> None:
    for _ in range(8):
        assert client.post("/security/report", data={**FORM, "summary": ""}).status_code == 422
    assert client.post("/security/report", data=FORM).status_code == 201


def test_posts_are_rate_limited_per_client(client: TestClient, runtime: Any) -> None:
    for _ in range(5):
        assert client.post("/security/report", data=FORM).status_code == 201
    sixth = client.post("/security/report", data=FORM)
    assert sixth.status_code == 429 and 1 <= int(sixth.headers["retry-after"]) <= 3600
    assert "too many reports" in sixth.text
    assert len(runtime.security.reports()) == 5
    with TestClient(client.app, client=("203.0.113.11", 50000)) as other:
        assert other.post("/security/report", data=FORM).status_code == 201


def test_advisories_are_published_once_disclosed(client: TestClient, runtime: Any) -> None:
    assert "No advisories have been published." in client.get("/trust/advisories").text
    assert client.get("/trust/advisories.json").json() == []
    desk = runtime.security
    report, _ = desk.report(summary="s", details="d", source="internal", app_key="com.example.issue-notes", actor="t")
    desk.triage(report.id, cvss=CRITICAL, affected="<2.3.1", actor="t")
    desk.start_fix(report.id, actor="t")
    desk.fixed(report.id, version="2.3.1", actor="t")
    desk.released(report.id, actor="t")
    assert client.get("/trust/advisories.json").json() == []  # released, not yet disclosed
    text = "Upgrade to **2.3.1**.\n\n<script>x</script>\n\n[more](javascript:alert(1))\n"
    desk.disclose(report.id, title="<b>IDOR</b> in notes", text=text, actor="t")
    page = client.get("/trust/advisories").text
    assert "&lt;b&gt;IDOR&lt;/b&gt; in notes" in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<strong>2.3.1</strong>" in page and 'href="javascript' not in page  # Markdown, never script
    assert "Critical (CVSS 9.8)" in page and "fixed in 2.3.1" in page
    (item,) = client.get("/trust/advisories.json").json()
    assert item["id"] == report.id and item["severity"] == "critical" and item["affected_versions"] == "<2.3.1"
    assert item["published_at"] == "2026-11-29T12:00:00+00:00" and item["credit"] is None


def test_security_txt_links_the_form(client: TestClient) -> None:
    txt = client.get("/.well-known/security.txt").text
    assert "Contact: mailto:security@notes.example.com\nContact: https://notes.example.com/security/report\n" in txt


def _redis() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError:
        need(False, f"Redis is not reachable at {REDIS_URL} (set CHARTER_TEST_REDIS_URL)")
    return REDIS_URL


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_replicas_sharing_a_store_count_together(storage: str) -> None:
    """Two limiters (two replicas) on one Redis count one client's posts together; addresses are digested."""
    import uuid

    url = "memory://" if storage == "memory" else _redis()
    secret = uuid.uuid4().bytes  # a fresh key: a fresh count
    first = FormLimiter(url, secret)
    second = first if storage == "memory" else FormLimiter(url, secret)
    assert [first.hit("203.0.113.20") for _ in range(3)] == [None, None, None]
    assert [second.hit("203.0.113.20") for _ in range(2)] == [None, None]
    assert second.hit("203.0.113.20") is not None
    assert first.hit("203.0.113.21") is None
    if storage == "redis":
        import redis

        keys = [k.decode() for k in redis.Redis.from_url(url).keys("*security-form*")]
        assert keys and not any("203.0.113" in k for k in keys)
