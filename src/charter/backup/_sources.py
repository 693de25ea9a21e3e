"""Consistent snapshots of a live data database, and putting them back.

* SQLite: the online backup API (``sqlite3.Connection.backup``) copies the database in one read transaction,
  WAL included, while writers go on; never a plain file copy, which can tear a page or miss the WAL.
* PostgreSQL: every table is exported with ``COPY ... TO STDOUT`` inside one ``REPEATABLE READ READ ONLY``
  transaction, so all tables are read from the same instant. The payload frames each table (a JSON header with
  its columns and row count, then its COPY text). Restoring migrates an empty database to the snapshot's schema
  revision, copies the rows back, resets the sequences and migrates on to the newest schema.

The key store (``data_keys``) is never part of a snapshot: tenant data inside stays under the tenant DEKs, so a
purge (which destroys the keys) makes that tenant's data unreadable in every old snapshot too.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import text

from charter.store import Database, StoreError

__all__ = [
    "PG_MAGIC",
    "SQLITE_MAGIC",
    "Dump",
    "SourceError",
    "check_sqlite_file",
    "compare_counts",
    "dump_database",
    "pg_row_counts",
    "restore_postgresql",
]

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"CHPGDUMP1\n"
#: Tables that never go into a data snapshot (the key store, when it shares the PostgreSQL database).
EXCLUDED = frozenset({"data_keys", "alembic_version_keys"})
_FRAME = struct.Struct(">cI")
Progress = Callable[[int, int], None]


class SourceError(Exception):
    """A snapshot cannot be taken or put back; the message says what and where."""


@dataclass(frozen=True)
class Dump:
    """What a dump wrote: its dialect, schema revision and the row count of every table."""

    dialect: str
    schema_revision: str
    tables: dict[str, int]


def dump_database(db: Database, out: BinaryIO, *, scratch: Path, progress: Progress | None = None) -> Dump:
    """Write a consistent snapshot of ``db`` (the data database) to ``out``.

    Args:
        db: the data database (``role="data"``).
        out: a writable binary stream (the compressor).
        scratch: a private directory for the SQLite online-backup copy (removed afterwards).
        progress: called with ``(bytes done, bytes total)``.

    Raises:
        SourceError: the database cannot be read.
    """
    if db.role != "data":
        raise SourceError("only the data database is backed up; the key store never is")
    if db.dialect == "sqlite":
        return _dump_sqlite(db, out, scratch, progress)
    return _dump_postgresql(db, out, progress)


# -- SQLite --------------------------------------------------------------------------------------------


def _sqlite_tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    return [row[0] for row in rows]


def _count(connection: sqlite3.Connection, table: str) -> int:
    quoted = '"' + table.replace('"', '""') + '"'
    return int(connection.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0])  # noqa: S608 - names from the schema


def _dump_sqlite(db: Database, out: BinaryIO, scratch: Path, progress: Progress | None) -> Dump:
    source_path = db.url.database
    if not source_path or source_path == ":memory:":
        raise SourceError("an in-memory database cannot be backed up")
    scratch.mkdir(mode=0o700, parents=True, exist_ok=True)
    copy = scratch / f".snapshot-{os.getpid()}.db"
    with contextlib.suppress(FileNotFoundError):
        copy.unlink()
    try:
        try:
            source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
        except sqlite3.Error as exc:
            raise SourceError(f"cannot open the database {source_path}: {exc}") from None
        try:
            os.close(os.open(copy, os.O_CREAT | os.O_WRONLY, 0o600))
            target = sqlite3.connect(copy)
            try:
                # One step (pages=-1): the whole copy in one read transaction, a consistent snapshot even with
                # writers committing to the WAL meanwhile.
                source.backup(target, pages=-1)
                target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
                tables = {t: _count(target, t) for t in _sqlite_tables(target) if t not in EXCLUDED}
                revision = _sqlite_revision(target)
            finally:
                target.close()
        except sqlite3.Error as exc:
            raise SourceError(f"online backup of {source_path} failed: {exc}") from None
        finally:
            source.close()
        total = copy.stat().st_size
        done = 0
        with open(copy, "rb") as stream:
            while chunk := stream.read(1 << 22):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        return Dump("sqlite", revision, tables)
    finally:
        with contextlib.suppress(FileNotFoundError):
            copy.unlink()


def _sqlite_revision(connection: sqlite3.Connection) -> str:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return ""
    return str(row[0]) if row else ""


def check_sqlite_file(path: Path, expected: dict[str, int], *, full: bool | None) -> list[str]:
    """Open a restored SQLite file and compare it with its manifest.

    Args:
        path: the restored database file.
        expected: row count by table, from the manifest.
        full: ``True`` runs ``PRAGMA integrity_check`` (every page and index), ``False`` ``quick_check``, ``None``
            neither (open and count only).

    Returns:
        Problems found (empty when the file is a sound database with the expected rows).
    """
    problems: list[str] = []
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return [f"does not open as a database: {exc}"]
    try:
        if full is not None:
            check = "integrity_check" if full else "quick_check"
            result = [row[0] for row in connection.execute(f"PRAGMA {check}").fetchall()]
            if result != ["ok"]:
                problems.append(f"{check}: " + "; ".join(str(r) for r in result[:5]))
        found = {t: _count(connection, t) for t in _sqlite_tables(connection) if t not in EXCLUDED}
    except sqlite3.Error as exc:
        return [*problems, f"cannot be read as a database: {exc}"]
    finally:
        connection.close()
    problems.extend(compare_counts(expected, found))
    return problems


def compare_counts(expected: dict[str, int], found: dict[str, int]) -> list[str]:
    """One problem per table whose row count differs from the manifest's (or is missing on one side)."""
    problems = []
    for table in sorted(set(expected) | set(found)):
        if expected.get(table) != found.get(table):
            problems.append(f"table {table}: {found.get(table)} rows, the manifest says {expected.get(table)}")
    return problems


# -- PostgreSQL -----------------------------------------------------------------------------------------


def _frame(out: BinaryIO, kind: bytes, payload: bytes = b"") -> None:
    out.write(_FRAME.pack(kind, len(payload)))
    if payload:
        out.write(payload)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pg_tables(cursor: Any) -> list[str]:
    from charter.store._models import Base  # the dependency order of Charter's own tables

    cursor.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    )
    present = {row[0] for row in cursor.fetchall()} - EXCLUDED - {"alembic_version"}
    ordered = [t.name for t in Base.metadata.sorted_tables if t.name in present]
    return ordered + sorted(present - set(ordered))


def _pg_columns(cursor: Any, table: str) -> list[str]:
    cursor.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
        (table,),
    )
    return [row[0] for row in cursor.fetchall()]


def _dump_postgresql(db: Database, out: BinaryIO, progress: Progress | None) -> Dump:
    import psycopg

    raw = db.engine.raw_connection()
    try:
        connection: Any = raw.driver_connection
        connection.rollback()
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        tables: dict[str, int] = {}
        try:
            with connection.transaction(), connection.cursor() as cursor:
                # Every statement below sees the database as of this transaction's first query.
                cursor.execute("SELECT version_num FROM alembic_version")
                row = cursor.fetchone()
                revision = str(row[0]) if row else ""
                names = _pg_tables(cursor)
                cursor.execute(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                    "WHERE c.relname = ANY(%s) AND c.relnamespace = current_schema()::regnamespace",
                    (names,),
                )
                total = int(cursor.fetchone()[0])
                done = 0
                out.write(PG_MAGIC)
                for table in names:
                    columns = _pg_columns(cursor, table)
                    cursor.execute(f"SELECT count(*) FROM {_quote(table)}")  # noqa: S608 - names from the catalog
                    rows = int(cursor.fetchone()[0])
                    tables[table] = rows
                    header = {"table": table, "columns": columns, "rows": rows}
                    _frame(out, b"T", json.dumps(header).encode())
                    column_list = ", ".join(_quote(c) for c in columns)
                    with cursor.copy(f"COPY {_quote(table)} ({column_list}) TO STDOUT") as copy:
                        for block in copy:
                            data = bytes(block)
                            _frame(out, b"D", data)
                            done += len(data)
                            if progress:
                                progress(min(done, total), max(total, done))
                    _frame(out, b"E")
                _frame(out, b"Z")
        finally:
            connection.rollback()
            connection.read_only = False
            connection.isolation_level = None
    except psycopg.Error as exc:
        raise SourceError(f"export of {db.display_url} failed: {type(exc).__name__}: {exc}") from None
    finally:
        raw.close()
    return Dump("postgresql", revision, tables)


class _Frames:
    """Reads the frames of a PostgreSQL payload from plaintext chunks (linear time: an offset into the buffer,
    compacted only when a new chunk is appended)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""
        self._at = 0

    def _need(self, size: int) -> bytes:
        while len(self._buffer) - self._at < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                raise SourceError("the snapshot payload ends early")
            self._buffer = self._buffer[self._at :] + chunk
            self._at = 0
        data = self._buffer[self._at : self._at + size]
        self._at += size
        return data

    def magic(self) -> None:
        if self._need(len(PG_MAGIC)) != PG_MAGIC:
            raise SourceError("the snapshot payload is not a Charter PostgreSQL export")

    def next(self) -> tuple[bytes, bytes]:
        kind, size = _FRAME.unpack(self._need(_FRAME.size))
        if kind not in (b"T", b"D", b"E", b"Z") or size > 1 << 30:
            raise SourceError("the snapshot payload is malformed")
        return kind, self._need(size) if size else b""

    def end(self) -> None:
        if len(self._buffer) > self._at or next(self._chunks, None):
            raise SourceError("the snapshot payload has bytes after its end")


def _tables(frames: _Frames) -> Iterator[tuple[dict[str, Any], Iterator[bytes]]]:
    """Yield ``(header, data blocks)`` per table; each data iterator must be consumed before the next."""
    frames.magic()
    while True:
        kind, payload = frames.next()
        if kind == b"Z":
            frames.end()
            return
        if kind != b"T":
            raise SourceError("the snapshot payload is malformed (a table frame was expected)")
        try:
            header = json.loads(payload)
            if not isinstance(header.get("table"), str) or not isinstance(header.get("columns"), list):
                raise ValueError
        except (ValueError, AttributeError):
            raise SourceError("the snapshot payload has a malformed table header") from None

        def blocks() -> Iterator[bytes]:
            while True:
                kind, data = frames.next()
                if kind == b"E":
                    return
                if kind != b"D":
                    raise SourceError("the snapshot payload is malformed (table data was expected)")
                yield data

        yield header, blocks()


def pg_row_counts(chunks: Iterable[bytes]) -> dict[str, int]:
    """Parse a whole PostgreSQL payload and count the rows of each table (COPY text: one line per row).

    Raises:
        SourceError: the payload is malformed, cut, or a table's rows differ from its own header.
    """
    counts: dict[str, int] = {}
    for header, blocks in _tables(_Frames(chunks)):
        rows = 0
        ends_with_newline = True
        for data in blocks:
            rows += data.count(b"\n")
            ends_with_newline = data.endswith(b"\n")
        if not ends_with_newline:
            raise SourceError(f"table {header['table']}: its data is cut")
        if rows != header.get("rows"):
            raise SourceError(f"table {header['table']}: {rows} rows, its header says {header.get('rows')}")
        counts[header["table"]] = rows
    return counts


def restore_postgresql(
    chunks: Iterable[bytes], target: Database, *, schema_revision: str, progress: Callable[[int], None] | None = None
) -> dict[str, int]:
    """Put a PostgreSQL payload back into ``target``, an empty database, and migrate it to the newest schema.

    Returns:
        The row count of every table restored.

    Raises:
        SourceError: the target already holds Charter data, or the payload is malformed (the copy is rolled
            back; the schema created for it stays, empty).
    """
    import psycopg

    if target.dialect != "postgresql":
        raise SourceError("a PostgreSQL snapshot is restored into PostgreSQL")
    from sqlalchemy.exc import SQLAlchemyError

    try:
        _require_empty(target)
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or type(exc).__name__
        raise SourceError(f"cannot open the target database {target.display_url}: {reason}") from None
    try:
        target.upgrade(schema_revision or "head")
    except StoreError as exc:
        raise SourceError(str(exc)) from None
    counts: dict[str, int] = {}
    raw = target.engine.raw_connection()
    try:
        connection: Any = raw.driver_connection
        connection.rollback()
        with connection.transaction(), connection.cursor() as cursor:
            for header, blocks in _tables(_Frames(chunks)):
                table = header["table"]
                columns = ", ".join(_quote(c) for c in header["columns"])
                rows = 0
                with cursor.copy(f"COPY {_quote(table)} ({columns}) FROM STDIN") as copy:
                    for data in blocks:
                        copy.write(data)
                        rows += data.count(b"\n")
                        if progress:
                            progress(len(data))
                if rows != header.get("rows"):
                    raise SourceError(f"table {table}: {rows} rows, its header says {header.get('rows')}")
                counts[table] = rows
                for column in header["columns"]:
                    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", (_quote(table), column))
                    sequence = cursor.fetchone()[0]
                    if sequence:
                        cursor.execute(
                            f"SELECT setval(%s, coalesce(max({_quote(column)}), 1), max({_quote(column)}) IS NOT NULL) "  # noqa: S608
                            f"FROM {_quote(table)}",
                            (sequence,),
                        )
    except psycopg.Error as exc:
        raise SourceError(f"restore into {target.display_url} failed: {type(exc).__name__}") from None
    finally:
        raw.close()
    try:
        target.upgrade("head")
    except StoreError as exc:
        raise SourceError(str(exc)) from None
    return counts


def _require_empty(target: Database) -> None:
    with target.engine.connect() as connection:
        names = [
            row[0]
            for row in connection.execute(
                text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
                )
            )
        ]
        for name in names:
            if name in EXCLUDED or name.startswith("alembic_version"):
                continue
            if connection.execute(text(f"SELECT EXISTS (SELECT 1 FROM {_quote(name)})")).scalar():  # noqa: S608
                raise SourceError(
                    f"the target database {target.display_url} already holds data (table {name}); "
                    "restore into an empty database"
                )
