"""Redacting files: HAR (B13), JSON, text and zip archives, failing closed."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile

import pytest

from charter.redact import Redactor
from charter.redact._formats import Report, redact_bytes

SECRETS = [
    "FAKE-BEARER-0001",
    "FAKE-SESSION-0002",
    "FAKE-SYSTEM-TOKEN-0003",
    "ATATT3xFAKE0004",
    "FAKE-CLOUD-0005",
    "FAKE-ACCESS-0006",
    "FAKE-REFRESH-0007",
    "ZmFrZXNpZw",
    "jane.roe@example.com",
    "7946 0999",
]
RESPONSE = (
    '{"access_token":"FAKE-ACCESS-0006","refresh_token":"FAKE-REFRESH-0007","token_type":"Bearer","expires_in":3600}'
)


def _har(base64_response: bool) -> dict:
    content: dict = {"mimeType": "application/json", "text": RESPONSE}
    if base64_response:
        content = {
            "mimeType": "application/json",
            "encoding": "base64",
            "text": base64.b64encode(RESPONSE.encode()).decode(),
        }
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJmYWtlIn0.ZmFrZXNpZw"
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "fake", "version": "1"},
            "entries": [
                {
                    "request": {
                        "method": "POST",
                        "url": f"https://app.example.com/connect/api/notes?jwt={jwt}&expand=names",
                        "queryString": [{"name": "jwt", "value": jwt}, {"name": "expand", "value": "names"}],
                        "headers": [
                            {"name": "Authorization", "value": "Bearer FAKE-BEARER-0001"},
                            {"name": "cookie", "value": "tenant.session.token=FAKE-SESSION-0002; theme=dark"},
                            {"name": "x-forge-oauth-system", "value": "FAKE-SYSTEM-TOKEN-0003"},
                        ],
                        "cookies": [
                            {"name": "tenant.session.token", "value": "FAKE-SESSION-0002"},
                            {"name": "theme", "value": "dark"},
                        ],
                        "postData": {
                            "mimeType": "application/json",
                            "text": json.dumps(
                                {
                                    "author": "jane.roe@example.com",
                                    "apiToken": "ATATT3xFAKE0004",
                                    "note": "call +44 20 7946 0999",
                                },
                                separators=(",", ":"),
                            ),
                        },
                    },
                    "response": {
                        "status": 200,
                        "headers": [
                            {"name": "Set-Cookie", "value": "cloud.session.token=FAKE-CLOUD-0005; Path=/; HttpOnly"}
                        ],
                        "cookies": [{"name": "cloud.session.token", "value": "FAKE-CLOUD-0005"}],
                        "content": content,
                    },
                }
            ],
        }
    }


@pytest.mark.parametrize("base64_response", [False, True], ids=["plain", "base64"])
def test_b13_har_every_place_a_secret_hides(base64_response: bool) -> None:
    report = Report()
    out = redact_bytes("trace.har", json.dumps(_har(base64_response)).encode(), Redactor(), report)
    assert out is not None
    text = out.decode()
    har = json.loads(text)  # still valid JSON
    entry = har["log"]["entries"][0]
    content = entry["response"]["content"]["text"]
    if base64_response:
        content = base64.b64decode(content).decode()
    for secret in SECRETS:
        assert secret not in text and secret not in content, secret
    assert len(har["log"]["entries"]) == 1
    request, response = entry["request"], entry["response"]
    assert [h["name"] for h in request["headers"]] == ["Authorization", "cookie", "x-forge-oauth-system"]
    assert [h["name"] for h in response["headers"]] == ["Set-Cookie"]
    assert len(request["cookies"]) == 2 and len(response["cookies"]) == 1
    assert request["method"] == "POST" and response["status"] == 200
    assert {"name": "expand", "value": "names"} in request["queryString"]
    assert {"name": "theme", "value": "dark"} in request["cookies"]
    assert '"token_type":"Bearer"' in content and '"expires_in":3600' in content
    assert report.withheld == [] and report.counts["token"] >= 5 and report.counts["cookie"] >= 3


def _f(n: int) -> str:
    unit = "INFO heartbeat ok\n"
    return (unit * (n // len(unit) + 1))[:n]


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_b12_inside_a_support_zip_gives_the_same_result() -> None:
    text = _f(999989) + " erin.fake@example.com " + _f(399987) + " 198.51.100.23 " + _f(99986)
    expected = text.replace("erin.fake@example.com", "<R>").replace("198.51.100.23", "<R>")
    report = Report()
    out = redact_bytes("support.zip", _zip({"logs/app.log": text.encode()}), Redactor(), report)
    assert out is not None
    member = zipfile.ZipFile(io.BytesIO(out)).read("logs/app.log").decode()
    assert re.sub(r"\[REDACTED:[a-z_]+\]", "<R>", member) == expected
    assert report.counts == {"email": 1, "ip": 1}


def test_nested_zips_are_redacted_and_what_cannot_be_scanned_is_withheld() -> None:
    inner = _zip({"inner/app.log": b"for user jdoe01 from 203.0.113.5\n", "inner/photo.png": b"\x89PNG\x00\x01"})
    outer = _zip(
        {"outer.log": b"mail erin.fake@example.com\n", "nested.zip": inner, "broken.zip": b"PK\x03\x04 not a zip"}
    )
    report = Report()
    out = redact_bytes("support.zip", outer, Redactor(), report)
    assert out is not None
    archive = zipfile.ZipFile(io.BytesIO(out))
    assert archive.read("outer.log") == b"mail [REDACTED:email]\n"
    nested = zipfile.ZipFile(io.BytesIO(archive.read("nested.zip")))
    assert nested.namelist() == ["inner/app.log"]
    assert nested.read("inner/app.log") == b"for user [REDACTED:username] from [REDACTED:ip]\n"
    assert "broken.zip" not in archive.namelist()
    reasons = dict(report.withheld)
    assert reasons["support.zip/nested.zip/inner/photo.png"].startswith("binary")
    assert reasons["support.zip/broken.zip"] == "damaged zip: withheld"


def test_zips_nested_too_deep_are_withheld() -> None:
    data = _zip({"a.log": b"x"})
    for _ in range(5):
        data = _zip({"z.zip": data})
    report = Report()
    redact_bytes("deep.zip", data, Redactor(), report)
    assert any("nested deeper" in reason for _, reason in report.withheld)


def test_json_keeps_its_structure_and_redacts_by_key_and_by_value() -> None:
    source = {
        "user": {"displayName": "Jane Fakename", "emailAddress": "jane.fake@example.com", "active": True},
        "db": {"password": "Fake-Passw0rd", "port": 5432},
        "note": "reach me at jane.fake@example.com or 203.0.113.10",
        "version": "9.12.1",
    }
    report = Report()
    out = redact_bytes("data.json", json.dumps(source, indent=2).encode(), Redactor(), report)
    assert out is not None
    result = json.loads(out)
    assert result == {
        "user": {"displayName": "[REDACTED:person_name]", "emailAddress": "[REDACTED:email]", "active": True},
        "db": {"password": "[REDACTED:password]", "port": 5432},
        "note": "reach me at [REDACTED:email] or [REDACTED:ip]",
        "version": "9.12.1",
    }
    assert b"Jane" not in out and out.decode().startswith("{\n  ")


def test_the_report_never_holds_an_original_value() -> None:
    report = Report()
    redact_bytes("a.log", b"password=Fake-Secret-9 for user jdoe01\n", Redactor(), report)
    dumped = json.dumps(report.as_dict())
    assert "Fake-Secret-9" not in dumped and "jdoe01" not in dumped
    assert report.as_dict()["counts"] == {"password": 1, "username": 1}


class _Ticking:
    """A monotonic clock that advances ``step`` seconds on every reading."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_an_item_over_its_time_budget_is_withheld_and_the_others_pass() -> None:
    slow_log = ("INFO heartbeat ok\n" * 200_000).encode()  # several blocks: the clock is read between them
    document = json.dumps({"notes": [f"note {i}" for i in range(50)]}).encode()
    archive = _zip({"big.log": slow_log, "data.json": document, "small.log": b"for user jdoe01\n"})
    report = Report(budget=10.0, clock=_Ticking(4.0))
    out = redact_bytes("support.zip", archive, Redactor(), report)
    assert out is not None
    assert report.withheld == [
        ("support.zip/big.log", "time budget of 10 s exceeded: withheld"),
        ("support.zip/data.json", "time budget of 10 s exceeded: withheld"),
    ]
    assert zipfile.ZipFile(io.BytesIO(out)).namelist() == ["small.log"]  # within budget: two clock readings
    assert Report(budget=10.0, clock=_Ticking(0.001)).budget == 10.0


def test_a_large_text_member_is_streamed_in_bounded_memory() -> None:
    import tracemalloc

    line = b"2026-11-30 10:15:30,123 INFO [c.a.j.DefaultComponent] started in 12 ms, version 9.12.1\n"
    big = line * (48_000_000 // len(line)) + b"mail erin.fake@example.com\n"
    archive_file = io.BytesIO()
    with zipfile.ZipFile(archive_file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("atlassian-jira.log", big)
    del big
    archive_file.seek(0)
    sink = io.BytesIO()
    report = Report()
    tracemalloc.start()
    try:
        from charter.redact._formats import redact_stream

        assert redact_stream("support.zip", archive_file, sink, Redactor(), report)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.counts == {"email": 1} and report.withheld == []
    assert peak < 40 << 20  # the member is 48 MB; blocks of 1 MiB plus the redacted spool's compression
    with zipfile.ZipFile(sink) as result:
        assert result.getinfo("atlassian-jira.log").file_size > 47_000_000
