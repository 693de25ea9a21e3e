"""Reports that arrive by e-mail: an mbox file or a Maildir directory, read with the standard ``mailbox`` module.

Only messages whose Subject carries the charter's prefix (``security.subject_prefix``, ``[Security]`` by
default; case-insensitive) are reports; the others are counted and left alone. Each message becomes one
report (summary: the subject without the prefix; details: the text part, or the HTML part's text), keyed by
its Message-ID so importing the same mailbox twice records nothing twice.
"""

from __future__ import annotations

import hashlib
import mailbox
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

from charter.security._desk import DeskError, Report, SecurityDesk

__all__ = ["ImportResult", "MailboxError", "import_mailbox"]


class MailboxError(ValueError):
    """The path is not an mbox file or a Maildir directory, or cannot be read."""


@dataclass
class ImportResult:
    """What an import did: reports created, messages seen before, messages without the prefix, messages
    refused (with the reason, never their content)."""

    created: list[Report] = field(default_factory=list)
    seen_before: list[str] = field(default_factory=list)
    not_reports: int = 0
    refused: list[str] = field(default_factory=list)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _header(message: EmailMessage, name: str) -> str:
    """A header's text, decoded from RFC 2047 encoded words where possible, from the raw value: a malformed
    header in a real mailbox (a broken Message-ID, say) must not stop the import."""
    wanted = name.lower()
    raw = next((str(value) for key, value in message.raw_items() if key.lower() == wanted), "")
    raw = " ".join(raw.split())
    try:
        return str(make_header(decode_header(raw)))
    except (HeaderParseError, LookupError, ValueError, UnicodeDecodeError):
        return raw


def _body(message: EmailMessage) -> str:
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:  # a malformed MIME structure: the stdlib parser raises many kinds
        part = None
    if part is None:
        payload = message.get_payload(decode=True) if not message.is_multipart() else None
        return payload.decode("utf-8", "replace").strip() if isinstance(payload, bytes) else ""
    try:
        content = part.get_content()
    except Exception:  # an unknown charset or a broken part: decode what can be decoded
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if part.get_content_subtype() == "html":
        parser = _Text()
        parser.feed(content)
        content = "".join(parser.parts)
    return "\n".join(line.rstrip() for line in content.strip().splitlines())


def _messages(path: Path) -> list[bytes]:
    if path.is_dir():
        if not all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            raise MailboxError(f"{path} is a directory but not a Maildir (it has no cur/, new/ and tmp/)")
        box: mailbox.Mailbox[mailbox.Message] = mailbox.Maildir(path, create=False)
    elif path.exists() and not path.is_file():
        raise MailboxError(f"{path} is not a regular file (an mbox) or a Maildir directory")
    elif path.is_file():
        with path.open("rb") as handle:
            start = handle.read(5)
        if start != b"From ":
            raise MailboxError(f"{path} is not an mbox file (it does not start with a 'From ' line)")
        box = mailbox.mbox(path, create=False)
    else:
        raise MailboxError(f"{path}: no such file or directory")
    try:
        return [box.get_bytes(key) for key in box.iterkeys()]
    except OSError as exc:
        raise MailboxError(f"{path}: {exc.strerror}") from None
    finally:
        box.close()


def import_mailbox(path: Path, desk: SecurityDesk, *, prefix: str, actor: str, now: datetime) -> ImportResult:
    """Record a report for each message of ``path`` (mbox or Maildir) whose Subject carries ``prefix``.

    A message's Date is its receipt time when it is in the past year and not in the future; otherwise the
    import time is used (the clock then runs from the import).

    Raises:
        MailboxError: the path is not a mailbox.
    """
    result = ImportResult()
    parser = BytesParser(policy=policy.default)
    wanted = prefix.casefold()
    for number, raw in enumerate(_messages(Path(path)), start=1):
        message = parser.parsebytes(raw)
        assert isinstance(message, EmailMessage)
        subject = _header(message, "Subject")
        position = subject.casefold().find(wanted)
        if not wanted or position < 0:
            result.not_reports += 1
            continue
        summary = (subject[:position] + subject[position + len(prefix) :]).strip(" :-") or "(no subject)"
        for reply in ("re:", "fwd:", "fw:"):
            if summary.casefold().startswith(reply):
                summary = summary[len(reply) :].strip()
        name, address = parseaddr(_header(message, "From"))
        received = now
        try:
            date = _header(message, "Date")
            dated = parsedate_to_datetime(date) if date else None
        except (TypeError, ValueError, IndexError):
            dated = None
        if dated is not None and dated.tzinfo is not None and now - timedelta(days=366) <= dated <= now:
            received = dated.astimezone(UTC)
        message_id = _header(message, "Message-ID").strip()
        reference = f"mail:{message_id}" if message_id else "mail-sha256:" + hashlib.sha256(raw).hexdigest()
        try:
            report, created = desk.report(
                summary=summary[:300],
                details=_body(message) or "(the message has no text)",
                source="researcher",
                reporter=name or None,
                contact=address if "@" in address else None,
                received_at=received,
                intake="mailbox",
                intake_ref=reference,
                actor=actor,
            )
        except DeskError as exc:
            result.refused.append(f"message {number}: {exc}")
            continue
        if created:
            result.created.append(report)
        else:
            result.seen_before.append(report.id)
    return result
