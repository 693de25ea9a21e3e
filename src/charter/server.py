"""Assembling a running service: data directory, database, statement history, ASGI app.

The CLI's ``serve`` command and tests call :func:`prepare`; it does everything that can fail with a
user-facing reason before the server starts listening.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette

from charter.clock import Clock
from charter.logs import get_logger
from charter.policy import Charter
from charter.statement import build_statement, render
from charter.store import Database, StoreError, prepare_data_dir, record_statement, sqlite_url
from charter.web import create_app

__all__ = ["ServeError", "prepare"]

log = get_logger("charter.server")


class ServeError(Exception):
    """The service cannot start; the message says why."""


def prepare(charter: Charter, *, data_dir: Path, database_url: str | None, clock: Clock) -> tuple[Starlette, str]:
    """Create the data directory and database if needed, record the statement text, build the app.

    Args:
        charter: the validated charter.
        data_dir: Charter's data directory (created with mode 0700).
        database_url: a PostgreSQL URL, or ``None`` for SQLite inside ``data_dir``.
        clock: the clock.

    Returns:
        ``(the ASGI app, a printable description of where data is kept)``.

    Raises:
        ServeError: the data directory or database cannot be used.
    """
    try:
        directory = prepare_data_dir(data_dir)
        database = Database(database_url or sqlite_url(directory))
        database.upgrade()
    except StoreError as exc:
        raise ServeError(str(exc)) from None
    statement = build_statement(charter)
    stored, new = record_statement(
        database,
        version=charter.statement.version,
        effective=charter.statement.effective,
        markdown=render(statement, "md"),
        clock=clock,
    )
    if new:
        log.info("statement recorded", version=stored.version, digest=stored.digest[:12])
    app = create_app(charter, database, clock=clock)
    return app, database.display_url if database_url else str(directory)
