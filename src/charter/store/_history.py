"""The statement's history: every distinct published text, with its version and effective date."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from charter.clock import Clock
from charter.store._db import Database
from charter.store._models import StatementVersionRow

__all__ = ["StatementVersion", "list_statement_versions", "record_statement"]


@dataclass(frozen=True)
class StatementVersion:
    """A published text of the statement.

    Attributes:
        version: the charter's ``statement.version`` when it was recorded.
        effective: the charter's ``statement.effective``.
        digest: SHA-256 (hex) of ``markdown``; identifies the text.
        markdown: the rendered statement.
        recorded_at: when Charter first served it (aware UTC).
    """

    version: str
    effective: date
    digest: str
    markdown: str
    recorded_at: datetime


def _from_row(row: StatementVersionRow) -> StatementVersion:
    return StatementVersion(row.version, row.effective, row.digest, row.markdown, row.recorded_at)


def record_statement(
    db: Database, *, version: str, effective: date, markdown: str, clock: Clock
) -> tuple[StatementVersion, bool]:
    """Record ``markdown`` as a published text unless the same text is already recorded.

    Safe under concurrency: several replicas starting at once record one row.

    Returns:
        ``(the stored version, True when it was new)``.
    """
    digest = hashlib.sha256(markdown.encode("utf-8")).hexdigest()
    with db.session() as session:
        existing = session.scalar(select(StatementVersionRow).where(StatementVersionRow.digest == digest))
        if existing is not None:
            return _from_row(existing), False
    try:
        with db.session() as session:
            row = StatementVersionRow(
                version=version,
                effective=effective,
                digest=digest,
                markdown=markdown,
                recorded_at=clock.now(),
            )
            session.add(row)
            session.flush()
            return _from_row(row), True
    except IntegrityError:
        # Another process recorded the same text between our read and our insert.
        with db.session() as session:
            row = session.scalars(select(StatementVersionRow).where(StatementVersionRow.digest == digest)).one()
            return _from_row(row), False


def list_statement_versions(db: Database) -> list[StatementVersion]:
    """Every recorded text, oldest first."""
    with db.session() as session:
        rows = session.scalars(
            select(StatementVersionRow).order_by(StatementVersionRow.recorded_at, StatementVersionRow.id)
        )
        return [_from_row(r) for r in rows]
