"""Opening Charter's database: SQLite in the data directory by default, PostgreSQL to scale out."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["DATABASE_FILE", "KEYS_FILE", "Database", "StoreError", "prepare_data_dir", "redact_url", "sqlite_url"]

DATABASE_FILE = "charter.db"
#: The key store's file: kept apart from the data so that no data copy or backup carries a key.
KEYS_FILE = "keys.db"

#: The newest migration of each role and its version table. A database already there is opened without
#: loading Alembic (it costs start-up time and memory); tests/store pin these to the migration trees.
HEADS = {"data": "0008", "keys": "k0001"}
_VERSION_TABLES = {"data": "alembic_version", "keys": "alembic_version_keys"}

# An arbitrary constant: PostgreSQL advisory-lock key held while migrations run, so that many replicas
# starting together migrate once.
_MIGRATION_LOCK = 0x43686172746572


class StoreError(Exception):
    """The database or data directory cannot be used; the message says why and where."""


def prepare_data_dir(path: str | os.PathLike[str]) -> Path:
    """Create the data directory (mode 0700) if needed and check that it is a writable directory.

    Raises:
        StoreError: it exists but is not a directory, or cannot be created or written.
    """
    directory = Path(path).expanduser()
    if directory.exists() and not directory.is_dir():
        raise StoreError(f"data directory {directory} exists but is not a directory")
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create data directory {directory}: {exc.strerror}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StoreError(f"data directory {directory} is not writable")
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o077:
        # Keys and tenant data live here: nobody but the service account may read it.
        directory.chmod(mode & 0o700)
    return directory


_URL_PASSWORD = re.compile(r"(://[^/:@]*:)[^@/]*@")
_QUERY_SECRET = re.compile(r"([?&][^=&]*(?:password|passwd|secret|token|key)[^=&]*=)[^&]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` with the password (before ``@``) and secret-looking query values replaced by ``***``."""
    return _QUERY_SECRET.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", url))


def sqlite_url(data_dir: Path, file: str = DATABASE_FILE) -> str:
    """The SQLAlchemy URL of an embedded database inside ``data_dir`` (the data by default; the key store
    with ``file=KEYS_FILE``)."""
    return f"sqlite:///{(data_dir / file).resolve()}"


def _create_private(path: Path) -> None:
    """Create the database file readable only by its owner, or tighten an existing one (SQLite's -wal and
    -shm files copy the database file's mode)."""
    try:
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if file.exists() and stat.S_IMODE(file.stat().st_mode) & 0o077:
                file.chmod(0o600)  # tenant data: readable by the service account only
    except OSError as exc:
        raise StoreError(f"cannot create database file {path}: {exc.strerror}") from None


def _sqlite_begin(connection: Any) -> None:
    # Take the write lock when the transaction starts: a deferred transaction that reads, then writes,
    # fails at once ("database is locked") if another connection wrote meanwhile, instead of waiting.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the driver's own BEGIN is replaced by _sqlite_begin
    cursor = dbapi_connection.cursor()
    # WAL lets readers (web replicas, backups) work while one writer writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    """A connection pool to Charter's database and its sessions.

    Args:
        url: a SQLAlchemy URL: ``sqlite:///path/charter.db`` or ``postgresql://user@host/db``
            (``postgresql://`` is read as the psycopg 3 driver).
        role: ``"data"`` (tenants, records, history) or ``"keys"`` (the key store: wrapped data keys).
            Each role has its own migrations and version table, so both may share one PostgreSQL
            database if data backups leave the key table out.

    Raises:
        StoreError: the URL is malformed or names an unsupported database.
    """

    def __init__(self, url: str, *, role: Literal["data", "keys"] = "data") -> None:
        self.role = role
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):
            raise StoreError("malformed database URL (expected e.g. postgresql://user@host:5432/db)") from None
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise StoreError(f"unsupported database '{parsed.get_backend_name()}': use sqlite or postgresql")
        self.url = parsed
        if self.dialect == "sqlite" and parsed.database and parsed.database != ":memory:":
            _create_private(Path(parsed.database))
        self.engine: Engine = create_engine(parsed, pool_pre_ping=True)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.url.get_backend_name()

    @property
    def display_url(self) -> str:
        """The URL without its password (also in the query, e.g. ``?password=``), safe to print and log."""
        return redact_url(self.url.render_as_string(hide_password=False))

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision``, the newest migration by default (idempotent; one migrator at a
        time on PostgreSQL). A restore migrates to a snapshot's revision first, then to the newest.

        Raises:
            StoreError: the database cannot be reached or migrated.
        """
        target = HEADS[self.role] if revision == "head" else revision
        if self.revision() == target:
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        location = "charter.store:migrations" if self.role == "data" else "charter.store:key_migrations"
        config.set_main_option("script_location", location)
        try:
            with self.engine.begin() as connection:
                if self.dialect == "postgresql":
                    lock = _MIGRATION_LOCK if self.role == "data" else _MIGRATION_LOCK + 1
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        except OperationalError as exc:
            raise StoreError(f"cannot open database {self.display_url}: {exc.orig}") from None
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate database {self.display_url}: {type(exc).__name__}") from None

    def revision(self) -> str | None:
        """The schema's current migration, or ``None`` when it has none yet or cannot be read."""
        try:
            with self.engine.connect() as connection:
                row = connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLES[self.role]}")).first()  # noqa: S608
        except SQLAlchemyError:
            return None
        return str(row[0]) if row else None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on any exception."""
        with self._sessions.begin() as session:
            yield session

    def ping(self) -> bool:
        """Whether the database answers a trivial query."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
