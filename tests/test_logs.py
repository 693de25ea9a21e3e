from __future__ import annotations

import io
import json
from contextlib import redirect_stderr

import structlog

from charter.logs import configure_logging, get_logger, scrub


def test_sensitive_fields_are_redacted() -> None:
    event = scrub(
        None,
        "info",
        {
            "event": "install from jane.roe@example.com",
            "shared_secret": "s1-fake-secret-0001",
            "token": "abc",
            "authorization": "JWT eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJmYWtlIn0.ZmFrZXNpZw",
            "api_key": "k",
            "key_id": "kid-1",
            "tenant": "fake-client-key-1111",
            "reason": "bad header Bearer FAKE-BEARER-0001 from ops@example.com",
        },
    )
    assert event == {
        "event": "install from [redacted-email]",
        "shared_secret": "[redacted]",
        "token": "[redacted]",
        "authorization": "[redacted]",
        "api_key": "[redacted]",
        "key_id": "kid-1",
        "tenant": "fake-client-key-1111",
        "reason": "bad header Bearer [redacted] from [redacted-email]",
    }


def test_configured_logger_writes_json_without_secrets() -> None:
    buffer = io.StringIO()
    with redirect_stderr(buffer):
        configure_logging(level="info", json=True)
        get_logger("t").info("verified", tenant="t-1", password="hunter2")
        get_logger("t").debug("hidden")
    structlog.reset_defaults()
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert len(lines) == 1
    assert lines[0]["tenant"] == "t-1"
    assert lines[0]["password"] == "[redacted]"
    assert lines[0]["timestamp"].endswith("Z")


def test_paths_lose_ips_and_named_secrets() -> None:
    event = scrub(None, "info", {"path": "/x/203.0.113.5/2001:db8::1/token=abcd;password=hunter2/AKIAABCDEFGHIJKLMNOP"})
    assert event["path"] == "/x/[redacted-ip]/[redacted-ip]/token=[redacted];password=[redacted]/[redacted-key]"
    untouched = "at 22:10:29 ver 5.2.13 std::vector bind=:: key_id=k-1 http://127.0.0.1:8000 on 0.0.0.0 and ::1"
    assert scrub(None, "info", {"detail": untouched})["detail"] == untouched


def test_the_fast_path_never_skips_a_secret() -> None:
    for text, expected in (
        ("bearer\tabcdefghijklmn", "bearer [redacted]"),
        ("x/eyJhbGciOiJIUzI1NiJ9x.eyJpc3MiOiJmYWtlIn0.ZmFrZXNpZw", "x/[redacted-jwt]"),
        ("AKIAABCDEFGHIJKLMNOP", "[redacted-key]"),
        ("/forge/bench", "/forge/bench"),
    ):
        assert scrub(None, "info", {"detail": text})["detail"] == expected
