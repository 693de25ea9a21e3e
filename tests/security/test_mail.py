"""The SMTP mailer: configuration from CHARTER_SMTP_URL with named errors, delivery to a local aiosmtpd server,
STARTTLS required when asked for, and no password or address in any error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from charter.security import Mailer, MailError, email_address
from tests.conftest import Captured


def test_configuration_from_the_environment(runtime: Any) -> None:
    charter = runtime.charter
    assert Mailer.from_env(charter, {}) is None
    mailer = Mailer.from_env(charter, {"CHARTER_SMTP_URL": "smtp+starttls://fake-user:p%40ss-fake@mail.example.com"})
    assert mailer is not None
    assert (mailer.host, mailer.port, mailer.security) == ("mail.example.com", 587, "starttls")
    assert (mailer.username, mailer.password) == ("fake-user", "p@ss-fake")
    assert mailer.sender == "security@notes.example.com"  # the charter's security contact
    assert "p@ss" not in repr(mailer) and "p%40ss" not in repr(mailer)
    tls = Mailer.from_env(
        charter, {"CHARTER_SMTP_URL": "smtps://mail.example.com", "CHARTER_SMTP_FROM": "a@example.com"}
    )
    assert tls is not None and (tls.port, tls.security, tls.sender) == (465, "tls", "a@example.com")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CHARTER_SMTP_URL": "http://mail.example.com"}, "must start with smtp://"),
        ({"CHARTER_SMTP_URL": "smtp://"}, "names no host"),
        ({"CHARTER_SMTP_URL": "smtp://mail.example.com:port"}, "port that is not a number"),
        ({"CHARTER_SMTP_URL": "smtp://user@mail.example.com"}, "without a password"),
        ({"CHARTER_SMTP_URL": "smtp://mail.example.com", "CHARTER_SMTP_FROM": "nobody"}, "CHARTER_SMTP_FROM"),
    ],
)
def test_bad_configuration_is_named(runtime: Any, environ: dict[str, str], message: str) -> None:
    with pytest.raises(MailError, match=message):
        Mailer.from_env(runtime.charter, environ)


def test_delivery_to_a_local_server(smtp_server: Captured) -> None:
    mailer = Mailer(host=smtp_server.host, port=smtp_server.port, security="plain", sender="security@example.com")
    message_id = mailer.send(mailer.message(to="admin.fake@example.com", subject="Grüße", body="Zeile 1\nZeile 2\n"))
    ((sender, recipients, mail),) = smtp_server.mails
    assert sender == "security@example.com" and recipients == ["admin.fake@example.com"]
    assert mail["Subject"] == "Grüße" and mail.get_content().splitlines() == ["Zeile 1", "Zeile 2"]
    assert mail["Message-ID"] == message_id and message_id.endswith("@example.com>")
    assert mail["Date"] is not None  # RFC 5322 3.6: every message has one


def test_a_message_goes_to_one_plain_address() -> None:
    mailer = Mailer(host="127.0.0.1", port=9, security="plain", sender="security@example.com")
    for bad in ("a@example.com, b@example.com", "a@example.com\r\nBcc: b@example.com", "Fake <a@example.com>"):
        with pytest.raises(MailError, match="not one plain e-mail address"):
            mailer.message(to=bad, subject="s", body="b")
    at = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert mailer.message(to="a@example.com", subject="s", body="b", at=at)["Date"] == "Sun, 29 Nov 2026 12:00:00 +0000"


def test_starttls_is_required_when_asked_for(smtp_server: Captured) -> None:
    mailer = Mailer(host=smtp_server.host, port=smtp_server.port, security="starttls", sender="security@example.com")
    with pytest.raises(MailError, match="does not offer STARTTLS"):
        mailer.send(mailer.message(to="admin.fake@example.com", subject="s", body="b"))
    assert smtp_server.mails == []


def test_errors_name_the_server_not_the_address(smtp_server: Captured) -> None:
    smtp_server.refuse.add("gone.fake@example.com")
    mailer = Mailer(host=smtp_server.host, port=smtp_server.port, security="plain", sender="security@example.com")
    with pytest.raises(MailError) as refused:
        mailer.send(mailer.message(to="gone.fake@example.com", subject="s", body="b"))
    assert "550" in str(refused.value) and "gone.fake" not in str(refused.value)
    closed = Mailer(host="127.0.0.1", port=9, security="plain", sender="security@example.com", timeout=2)
    with pytest.raises(MailError, match=r"127\.0\.0\.1:9 could not be used"):
        closed.send(closed.message(to="a@example.com", subject="s", body="b"))


@pytest.mark.parametrize(
    ("contact", "address"),
    [
        ("security@example.com", "security@example.com"),
        ("mailto:security@example.com", "security@example.com"),
        ("https://example.com/security", None),
        ("tel:+15550100", None),
        (None, None),
    ],
)
def test_email_address_of_a_contact(contact: str | None, address: str | None) -> None:
    assert email_address(contact) == address
