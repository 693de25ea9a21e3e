"""Marketplace technical contacts: imported from licence exports, mailed only for the charter's purposes, each
message with a signed unsubscribe link, unsubscribe and deletion honoured at once.

* Import reads a Marketplace licence export: CSV (header names such as ``Technical contact email``,
  ``technicalContactEmail``, ``Company``) or JSON (a list of rows, or ``{"licenses": [...]}`` with
  ``contactDetails.technicalContact.{email,name}`` and ``contactDetails.company``). Each contact is sealed under
  its own key (owner ``charter:contact:<id>``) and found by an HMAC digest of its address; an address that
  unsubscribed or asked for deletion is never imported again.
* A message is sent only for a purpose in ``marketplace_contacts.purposes``. It carries ``List-Unsubscribe``
  and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 2369, RFC 8058) and the link in its text;
  the token is the contact id with an HMAC-SHA256 signature, checked in constant time.
* Unsubscribing or a deletion request destroys the contact's key and row at once and records the suppression
  (a digest, never the address) and an audit entry.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select

from charter.audit import AuditLog
from charter.clock import Clock
from charter.policy import Charter
from charter.security import email_address
from charter.store import ContactSuppressionRow, Database, Keyring, MarketplaceContactRow

__all__ = ["ContactError", "ImportReport", "MarketplaceContacts", "SendReport"]

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
MAX_IMPORT = 64 << 20
_EMAIL_KEYS = ("technicalcontactemail", "technical contact email", "contactemail", "contact email", "email")
_NAME_KEYS = ("technicalcontactname", "technical contact name", "contactname", "contact name", "name")
_COMPANY_KEYS = ("company", "companyname", "company name", "organisationname", "organisation name", "organization")
UNSUBSCRIBE_PATH = "/unsubscribe"


class ContactError(ValueError):
    """A request the contacts refuse (a bad file, a purpose the charter does not list); the message says why."""


@dataclass
class ImportReport:
    """What an import did (counts and row numbers; never addresses)."""

    imported: int = 0
    updated: int = 0
    suppressed: int = 0
    skipped: list[str] = field(default_factory=list)


@dataclass
class SendReport:
    """What a mailing did: contact ids sent to, and failures with the reason."""

    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def _norm(address: str) -> str:
    return address.strip().lower()


class MarketplaceContacts:
    """The technical contacts.

    Args:
        charter: ``marketplace_contacts`` (purposes) and ``statement.url`` (the unsubscribe link's origin).
        db, keyring, audit, clock: Charter's state.
        random: randomness for ids.
    """

    def __init__(
        self,
        charter: Charter,
        db: Database,
        keyring: Keyring,
        audit: AuditLog,
        *,
        clock: Clock,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._charter = charter
        self._db = db
        self._keyring = keyring
        self._audit = audit
        self._clock = clock
        self._random = random

    # -- digests and tokens -----------------------------------------------------------------------------

    def digest(self, address: str) -> str:
        """The HMAC-SHA256 digest an address is found by (the address itself is only stored sealed)."""
        key = self._keyring.derive("charter:contacts", b"email-digest")
        return hmac.new(key, _norm(address).encode(), hashlib.sha256).hexdigest()

    def _token_key(self) -> bytes:
        return self._keyring.derive("charter:contacts", b"unsubscribe-token")

    def token(self, contact_id: str) -> str:
        """The unsubscribe token of a contact: ``<id>.<HMAC-SHA256 hex>``."""
        mac = hmac.new(self._token_key(), contact_id.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{contact_id}.{mac}"

    def unsubscribe_url(self, contact_id: str) -> str | None:
        """The unsubscribe link (at the origin of ``statement.url``), or ``None`` without one."""
        url = self._charter.statement.url
        if not url:
            return None
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}{UNSUBSCRIBE_PATH}?token={self.token(contact_id)}"

    def _check_token(self, token: str) -> str | None:
        contact_id, _, mac = (token or "").partition(".")
        if not contact_id or not mac:
            return None
        expected = self.token(contact_id).partition(".")[2]
        return contact_id if hmac.compare_digest(mac, expected) else None

    # -- import -----------------------------------------------------------------------------------------

    def _rows(self, path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
        try:
            if path.stat().st_size > MAX_IMPORT:
                raise ContactError(f"{path} is larger than 64 MiB")
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise ContactError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise ContactError(f"{path} is a directory, not a licence export") from None
        except UnicodeDecodeError:
            raise ContactError(f"{path} is not UTF-8 text") from None
        if text.lstrip().startswith(("[", "{")):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ContactError(f"{path} is not JSON (line {exc.lineno}: {exc.msg})") from None
            except RecursionError:
                raise ContactError(f"{path} is nested too deeply to be a licence export") from None
            rows = data.get("licenses") if isinstance(data, dict) else data
            if not isinstance(rows, list):
                raise ContactError(f"{path}: a JSON export is a list of licences or {{'licenses': [...]}}")
            for number, row in enumerate(rows, start=1):
                yield f"licence {number}", row if isinstance(row, dict) else {}
            return
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or not any(_flat(f) in _EMAIL_KEYS for f in reader.fieldnames):
            raise ContactError(f"{path}: no technical contact e-mail column (e.g. 'Technical contact email')")
        try:
            rows = [(f"line {number}", dict(row)) for number, row in enumerate(reader, start=2)]
        except csv.Error as exc:
            raise ContactError(f"{path}: not a readable CSV ({exc})") from None
        yield from rows

    def import_file(self, path: Path, *, actor: str) -> ImportReport:
        """Import (or update) the technical contacts of a licence export.

        Raises:
            ContactError: not a readable CSV or JSON licence export.
        """
        from charter.access import check_staff_id

        check_staff_id(actor)
        if self._charter.marketplace_contacts is None:
            raise ContactError(
                "the charter declares no [marketplace_contacts]: storing technical contacts would make the published "
                "statement untrue (declare their purposes first)"
            )
        rows = list(self._rows(Path(path)))  # read and parse all first: a bad file imports nothing
        report = ImportReport()
        now = self._clock.now()
        with self._db.session() as session:
            suppressed = set(session.scalars(select(ContactSuppressionRow.email_digest)))
        for where, row in rows:
            email, name, company = _fields(row)
            if email_address(email) is None:
                report.skipped.append(f"{where}: no valid technical contact e-mail")
                continue
            digest = self.digest(email)
            if digest in suppressed:
                report.suppressed += 1
                continue
            with self._db.session() as session:
                existing = session.scalar(
                    select(MarketplaceContactRow).where(MarketplaceContactRow.email_digest == digest)
                )
                contact_id = existing.id if existing else "MC-" + "".join(_ALPHABET[b % 32] for b in self._random(10))
                owner = f"charter:contact:{contact_id}"
                sealed_email = self._keyring.seal(owner, "email", _norm(email).encode())
                sealed_name = self._keyring.seal(owner, "name", name.encode()) if name else None
                sealed_company = self._keyring.seal(owner, "company", company.encode()) if company else None
                if existing is None:
                    existing = MarketplaceContactRow(
                        id=contact_id, email_digest=digest, source="marketplace", imported_at=now
                    )
                    session.add(existing)
                    report.imported += 1
                else:
                    report.updated += 1
                existing.email, existing.name, existing.company = sealed_email, sealed_name, sealed_company
        self._audit.record(
            "contacts.imported",
            actor=actor,
            payload={"imported": report.imported, "updated": report.updated, "suppressed": report.suppressed},
        )
        return report

    # -- reading ----------------------------------------------------------------------------------------

    def find(self, address: str) -> str | None:
        """The id of the contact with ``address``, or ``None``."""
        with self._db.session() as session:
            return session.scalar(
                select(MarketplaceContactRow.id).where(MarketplaceContactRow.email_digest == self.digest(address))
            )

    def _open(self, row: MarketplaceContactRow) -> dict[str, str | None]:
        owner = f"charter:contact:{row.id}"

        def text(purpose: str, blob: bytes | None) -> str | None:
            return None if blob is None else self._keyring.open(owner, purpose, blob).decode()

        return {
            "id": row.id,
            "email": text("email", row.email),
            "name": text("name", row.name),
            "company": text("company", row.company),
            "imported_at": row.imported_at.isoformat(),
        }

    def export(self, address: str) -> dict[str, str | None]:
        """Everything held about the contact with ``address`` (for a data subject request)."""
        with self._db.session() as session:
            row = session.scalar(
                select(MarketplaceContactRow).where(MarketplaceContactRow.email_digest == self.digest(address))
            )
            if row is None:
                return {}
            session.expunge(row)
        return self._open(row)

    def count(self) -> int:
        """How many contacts are held."""
        with self._db.session() as session:
            return len(session.scalars(select(MarketplaceContactRow.id)).all())

    # -- sending ----------------------------------------------------------------------------------------

    def send(self, *, purpose: str, subject: str, body: str, mailer: Any, actor: str) -> SendReport:
        """Mail every contact for ``purpose`` (one of ``marketplace_contacts.purposes``), each message with its
        own unsubscribe link and RFC 8058 headers.

        Raises:
            ContactError: the charter lists no such purpose, or no statement URL for the unsubscribe link.
        """
        from charter.access import check_staff_id
        from charter.security import MailError

        check_staff_id(actor)
        if not subject.strip() or "\n" in subject or "\r" in subject:
            raise ContactError("the subject is one non-empty line")
        policy = self._charter.marketplace_contacts
        purposes = policy.purposes if policy is not None else []
        if purpose not in purposes:
            listed = ", ".join(purposes) or "none ([marketplace_contacts] is absent)"
            raise ContactError(f"purpose {purpose!r} is not one the charter lists for contacts ({listed})")
        if not self._charter.statement.url:
            raise ContactError("statement.url is not set: messages need an unsubscribe link at its origin")
        report = SendReport()
        with self._db.session() as session:
            rows = session.scalars(select(MarketplaceContactRow).order_by(MarketplaceContactRow.id)).all()
            for row in rows:
                session.expunge(row)
        for row in rows:
            contact = self._open(row)
            link = self.unsubscribe_url(row.id)
            if link is None or contact["email"] is None:  # pragma: no cover - checked above; sealed on import
                continue
            footer = f"--\nYou receive this as a technical contact of a licence.\nUnsubscribe: {link}\n"
            text = f"{body.rstrip()}\n\n{footer}"
            message = mailer.message(to=contact["email"], subject=subject, body=text, at=self._clock.now())
            message["List-Unsubscribe"] = f"<{link}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            try:
                mailer.send(message)
            except MailError as exc:
                report.failed.append((row.id, str(exc)))
                continue
            report.sent.append(row.id)
        self._audit.record(
            "contacts.mailed",
            actor=actor,
            payload={"purpose": purpose, "sent": len(report.sent), "failed": len(report.failed)},
        )
        return report

    # -- unsubscribe and deletion ----------------------------------------------------------------------

    def unsubscribe(self, token: str, *, actor: str = "unsubscribe-link") -> bool:
        """Honour an unsubscribe link: the contact is deleted at once (key destroyed, row removed) and its
        address digest suppressed. Returns ``False`` for a token that is not valid (nothing changes); a valid
        token of a contact already gone is ``True`` (the link keeps working)."""
        contact_id = self._check_token(token)
        if contact_id is None:
            return False
        with self._db.session() as session:
            row = session.get(MarketplaceContactRow, contact_id)
            digest = row.email_digest if row is not None else None
        if digest is not None:
            self._remove(contact_id, digest, reason="unsubscribed", actor=actor)
        return True

    def delete(self, address: str, *, actor: str, reason: str = "deleted") -> int:
        """A deletion request for ``address``: removed at once and suppressed; how many contacts went (0 or 1).

        Raises:
            ContactError: not an e-mail address.
        """
        from charter.access import check_staff_id

        check_staff_id(actor)
        if email_address(_norm(address)) is None:
            raise ContactError(f"{address[:80]!r} is not an e-mail address")
        digest = self.digest(address)
        with self._db.session() as session:
            contact_id = session.scalar(
                select(MarketplaceContactRow.id).where(MarketplaceContactRow.email_digest == digest)
            )
        self._remove(contact_id, digest, reason=reason, actor=actor)
        return 0 if contact_id is None else 1

    def _remove(self, contact_id: str | None, digest: str, *, reason: str, actor: str) -> None:
        if contact_id is not None:
            self._keyring.destroy(f"charter:contact:{contact_id}")
        now = self._clock.now()
        with self._db.session() as session:
            if contact_id is not None:
                session.execute(delete(MarketplaceContactRow).where(MarketplaceContactRow.id == contact_id))
            if session.get(ContactSuppressionRow, digest) is None:
                session.add(ContactSuppressionRow(email_digest=digest, reason=reason, at=now))
            self._audit.record(
                f"contacts.{reason}", actor=actor, session=session, payload={"contact": contact_id, "reason": reason}
            )


def _flat(name: str) -> str:
    return re.sub(r"[\s_]+", " ", str(name)).strip().lower()


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _pick(row: dict[str, Any], keys: tuple[str, ...]) -> str:
    flat = {_flat(k): v for k, v in row.items()}
    for key in keys:
        for candidate in (key, key.replace(" ", "")):
            value = flat.get(candidate)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return ""


def _fields(row: dict[str, Any]) -> tuple[str, str, str]:
    details = row.get("contactDetails")
    if isinstance(details, dict):
        found = details.get("technicalContact")
        technical: dict[str, Any] = found if isinstance(found, dict) else {}
        email = _str(technical.get("email"))
        name = _str(technical.get("name"))
        company = _str(details.get("company"))
        return email, name[:200], company[:200]
    return _pick(row, _EMAIL_KEYS), _pick(row, _NAME_KEYS)[:200], _pick(row, _COMPANY_KEYS)[:200]
