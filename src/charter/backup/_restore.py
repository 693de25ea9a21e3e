"""Putting a snapshot's payload back into a file or checking a database: the local-file side of a restore."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path

from sqlalchemy import text

from charter.backup._artifact import ArtifactError, Manifest
from charter.backup._catalog import BackupError
from charter.backup._sources import check_sqlite_file
from charter.store import Database


def _restore_sqlite(
    chunks: Iterator[bytes], manifest: Manifest, path: Path, *, replace: bool, now: datetime
) -> tuple[Path, str | None]:
    if path.is_dir():
        raise BackupError(f"{path} is a directory: give the database file's path, e.g. {path / 'charter.db'}")
    if path.exists() and not replace:
        raise BackupError(f"{path} exists: restore to a new path, or pass --replace (stop charter serve first)")
    if path.exists() and _is_key_store(path):
        raise BackupError(f"{path} is a key store, not a data database: a data snapshot never replaces keys")
    parent = path.parent
    try:
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.restore-", dir=parent)
        os.close(fd)
    except OSError as exc:
        raise BackupError(f"cannot write in {parent}: {exc.strerror or exc}") from None
    temp = Path(temp_name)
    try:
        try:
            _write_chunks(chunks, temp)
        except ArtifactError as exc:
            raise BackupError(str(exc)) from None
        except OSError as exc:
            raise BackupError(f"cannot write {temp}: {exc.strerror or exc}") from None
        # The bytes are authenticated chunk by chunk and in size against the MAC-checked manifest: they are the
        # consistent copy that was backed up. Opening it and counting rows is the check left here; `verify`
        # runs the full integrity check.
        problems = check_sqlite_file(temp, manifest.tables, full=None)
        if problems:
            raise BackupError(f"snapshot {manifest.id} restored a damaged database: {problems[0]}")
        moved: str | None = None
        if path.exists():
            stamp = f"{now:%Y%m%dT%H%M%SZ}"
            aside = path.with_name(f"{path.name}.before-restore-{stamp}")
            for suffix in ("", "-wal", "-shm"):
                old = Path(str(path) + suffix)
                if old.exists():
                    os.replace(old, Path(str(aside) + suffix))
            moved = str(aside)
        os.replace(temp, path)
        return path, moved
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _is_key_store(path: Path) -> bool:
    """Whether ``path`` is a SQLite key store (it has the ``data_keys`` table)."""
    import sqlite3

    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)  # sees a live WAL too
        try:
            found = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'data_keys'")
            return found.fetchone() is not None
        finally:
            connection.close()
    except sqlite3.Error:
        return False


def _served(directory: Path) -> bool:
    """Whether a ``charter serve`` holds the serving lock of the data directory ``directory``."""
    lock = directory / ".serve.lock"
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock taken here
    return False


def _write_chunks(chunks: Iterable[bytes], path: Path) -> None:
    with open(path, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())


def _table_names(db: Database) -> list[str]:
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return list(inspect(db.engine).get_table_names())
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot open the scratch database {db.display_url}: {type(exc).__name__}") from None


def _drop_tables(db: Database) -> None:
    from sqlalchemy import MetaData
    from sqlalchemy.exc import SQLAlchemyError

    with contextlib.suppress(SQLAlchemyError):
        metadata = MetaData()
        metadata.reflect(db.engine)
        metadata.drop_all(db.engine)


def _table_counts(db: Database, expected: Mapping[str, int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    with db.engine.connect() as connection:
        for table in expected:
            quoted = '"' + table.replace('"', '""') + '"'
            counts[table] = int(connection.execute(text(f"SELECT count(*) FROM {quoted}")).scalar() or 0)  # noqa: S608
    return counts
