"""SQLAlchemy models of Charter's own tables (the migrations in ``migrations/`` create them)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from charter.store._types import UTCDateTime

__all__ = ["Base", "StatementVersionRow"]

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)


class StatementVersionRow(Base):
    """One published text of the statement; a new row only when the rendered text changes."""

    __tablename__ = "statement_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    effective: Mapped[date] = mapped_column(Date)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    markdown: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
