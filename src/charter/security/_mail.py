"""Sending the desk's e-mail over SMTP (the standard library's ``smtplib``), configured by one URL.

``CHARTER_SMTP_URL`` names the server: ``smtp://host:25`` (plain, for a local relay), ``smtp+starttls://user:
password@host:587`` (RFC 3207 STARTTLS, required: a server that does not offer it is refused) or
``smtps://user:password@host:465`` (implicit TLS, RFC 8314). ``CHARTER_SMTP_FROM`` is the sender; the
charter's security contact when it is an e-mail address. The URL's password is never logged or printed.
"""

from __future__ import annotations

import email.policy
import re
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import unquote, urlsplit

from charter.policy import Charter

__all__ = ["MailError", "Mailer", "email_address"]


class MailError(Exception):
    """Mail cannot be configured or sent; the message says why (never a password or an address)."""


#: One plain ASCII address (RFC 5321 dot-atom local part, a dotted host name): no display name, no second
#: address, no whitespace, nothing a header could be split on. Internationalised addresses need SMTPUTF8, which
#: relays rarely offer, so they are refused where they are given rather than failing at the first send.
_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+",
    re.ASCII,
)


def email_address(contact: str | None) -> str | None:
    """The one e-mail address of a contact (``a@example.com`` or ``mailto:a@example.com``), else ``None``: a list
    of addresses, a display name, whitespace or a non-ASCII address is not one address."""
    if not contact:
        return None
    value = contact.strip().removeprefix("mailto:")
    if len(value) > 254 or "@" not in value or len(value.partition("@")[0]) > 64:
        return None
    return value if _ADDRESS.fullmatch(value) else None


_POLICY = email.policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Mailer:
    """An SMTP server and a sender.

    Attributes:
        host, port: the server.
        security: ``plain``, ``starttls`` or ``tls``.
        username, password: credentials (both or neither).
        sender: the From address.
        timeout: seconds per SMTP operation.
    """

    host: str
    port: int
    security: str
    sender: str
    username: str | None = None
    password: str | None = None
    timeout: float = 20.0

    def __repr__(self) -> str:  # never the password
        return f"Mailer({self.security}://{self.host}:{self.port}, sender set)"

    @classmethod
    def from_env(cls, charter: Charter, environ: Mapping[str, str]) -> Mailer | None:
        """The mailer ``CHARTER_SMTP_URL`` describes, or ``None`` when it is not set.

        Raises:
            MailError: a malformed URL, an unknown scheme, or no sender (no ``CHARTER_SMTP_FROM`` and the
                security contact is not an e-mail address).
        """
        url = environ.get("CHARTER_SMTP_URL", "").strip()
        if not url:
            return None
        parts = urlsplit(url)
        schemes = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}
        if parts.scheme not in schemes:
            raise MailError(
                "CHARTER_SMTP_URL must start with smtp://, smtp+starttls:// or smtps:// "
                f"(not {parts.scheme or 'nothing'}://)"
            )
        try:
            port = parts.port
        except ValueError:
            raise MailError("CHARTER_SMTP_URL has a port that is not a number") from None
        if not parts.hostname:
            raise MailError("CHARTER_SMTP_URL names no host")
        security, default_port = schemes[parts.scheme]
        if (parts.username is None) != (parts.password is None):
            raise MailError("CHARTER_SMTP_URL gives a user without a password, or a password without a user")
        sender = environ.get("CHARTER_SMTP_FROM", "").strip() or email_address(
            charter.security.report_to or charter.vendor.contacts.security
        )
        if not sender or email_address(sender) is None:
            raise MailError(
                "no sender for e-mail: set CHARTER_SMTP_FROM (the security contact is not an e-mail address)"
            )
        return cls(
            host=parts.hostname,
            port=port or default_port,
            security=security,
            sender=sender,
            username=unquote(parts.username) if parts.username is not None else None,
            password=unquote(parts.password) if parts.password is not None else None,
        )

    def message(
        self, *, to: str, subject: str, body: str, reply_to: str | None = None, at: datetime | None = None
    ) -> EmailMessage:
        """A plain-text UTF-8 message from the sender to one address, with a Date (``at``, aware; now when
        ``None``) and a fresh Message-ID.

        Raises:
            MailError: ``to`` is not one plain address.
        """
        address = email_address(to)
        if address is None:
            raise MailError("the recipient is not one plain e-mail address")
        # RFC 5322 allows 998-character lines: long header values (an unsubscribe URL) stay plain instead of
        # being folded into encoded words that mail clients cannot use (RFC 2369, RFC 8058).
        msg = EmailMessage(policy=_POLICY)
        msg["From"] = self.sender
        msg["To"] = address
        msg["Date"] = format_datetime((at or datetime.now(UTC)).astimezone(UTC))
        if "\n" in subject or "\r" in subject:
            raise MailError("a subject is one line")
        msg["Subject"] = subject
        if reply_to:
            msg["Reply-To"] = reply_to
        msg["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        msg.set_content(body)
        return msg

    def send(self, message: EmailMessage) -> str:
        """Send ``message``; returns its Message-ID.

        Raises:
            MailError: the server cannot be reached, refuses the login or a recipient, or (``starttls``) does
                not offer STARTTLS. The reason names the server and the SMTP reply code, never the address.
        """
        context = ssl.create_default_context()
        try:
            smtp: smtplib.SMTP
            if self.security == "tls":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.security == "starttls":
                    smtp.ehlo()
                    if not smtp.has_extn("starttls"):
                        raise MailError(f"SMTP server {self.host}:{self.port} does not offer STARTTLS")
                    smtp.starttls(context=context)
                if self.username is not None and self.password is not None:
                    smtp.login(self.username, self.password)
                refused = smtp.send_message(message)
                if refused:
                    codes = sorted({str(code) for code, _text in refused.values()})
                    raise MailError(f"SMTP server {self.host}:{self.port} refused the recipient ({', '.join(codes)})")
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({str(code) for code, _text in exc.recipients.values()})
            raise MailError(f"SMTP server {self.host}:{self.port} refused the recipient ({', '.join(codes)})") from None
        except smtplib.SMTPNotSupportedError:
            raise MailError(
                f"SMTP server {self.host}:{self.port} does not offer login (AUTH): drop the user from the URL"
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise MailError(f"SMTP server {self.host}:{self.port} answered {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:
            reason = type(exc).__name__ if not getattr(exc, "strerror", None) else exc.strerror
            raise MailError(f"SMTP server {self.host}:{self.port} could not be used: {reason}") from None
        return str(message["Message-ID"])
