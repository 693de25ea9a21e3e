"""Disaster recovery: a new data directory (or empty databases) rebuilt from a destination and the KEK alone.

The order matters: the key store first (its newest backup), then the data snapshot. Nothing is opened through a
runtime before both are in place, so no new key, audit key or empty database is created in their way.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from charter.backup._artifact import ArtifactError
from charter.backup._catalog import BackupError, _choose, _list, _payload, _read_key_rows
from charter.backup._destinations import DestinationError, open_destination
from charter.backup._restore import _restore_sqlite
from charter.backup._sources import SourceError, _require_empty, restore_postgresql
from charter.clock import Clock
from charter.crypto import KekRing
from charter.policy import Charter
from charter.store import DATABASE_FILE, KEYS_FILE, Database, StoreError, import_key_rows, prepare_data_dir, sqlite_url

__all__ = ["Recovery", "recover"]


@dataclass(frozen=True)
class Recovery:
    """What :func:`recover` put back: the snapshot and key-store backup used, and where."""

    snapshot_id: str
    key_backup_id: str
    database: str
    key_database: str
    keys: int
    rows: int


def _undo(created: list[Path], keys_db: Database | None) -> None:
    """A failed recovery leaves nothing half-done: the files it made are removed, the keys it imported into
    a PostgreSQL key store (empty before) are deleted."""
    for path in created:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(path) + suffix).unlink()
    if keys_db is not None and keys_db.dialect == "postgresql":
        with contextlib.suppress(SQLAlchemyError), keys_db.engine.begin() as connection:
            connection.execute(text("DELETE FROM data_keys"))


def _is_empty_sqlite(path: Path) -> bool:
    return not path.exists() or path.stat().st_size == 0


def recover(
    charter: Charter,
    *,
    data_dir: Path,
    kek: KekRing,
    clock: Clock,
    environ: dict[str, str] | None = None,
    database_url: str | None = None,
    keys_database_url: str | None = None,
    snapshot: str = "latest",
    destination: str | None = None,
) -> Recovery:
    """Rebuild Charter's state from backups: the newest key-store backup into an empty key store, then a data
    snapshot into an empty data database.

    Args:
        charter: the charter (its ``[backups]`` names the destinations).
        data_dir: the data directory (for SQLite: must not hold ``charter.db`` or ``keys.db`` yet).
        kek: the KEK ring (the key file put back in ``<data dir>/keys/``, ``CHARTER_KEK`` or KMS).
        clock: the clock.
        environ: where S3 settings are read.
        database_url / keys_database_url: empty PostgreSQL targets instead of the SQLite files.
        snapshot: the data snapshot id, or ``latest``.
        destination: the destination's name (the first by default).

    Raises:
        BackupError: no key-store backup or snapshot, the KEK does not open them, a target is not empty, or a
            destination cannot be read. A target written before the failure is removed again (SQLite) or left
            empty of data (PostgreSQL).
    """
    backups = charter.backups
    if backups is None or not backups.destinations:
        raise BackupError("the charter names no backup destination to recover from")
    configs = backups.destinations
    config = configs[0] if destination is None else next((c for c in configs if c.name == destination), None)
    if config is None:
        raise BackupError(f"no backup destination '{destination}' in the charter")
    try:
        target = open_destination(config, data_dir, environ or {}, create=False)
    except DestinationError as exc:
        raise BackupError(str(exc)) from None
    try:
        data_dir = prepare_data_dir(data_dir)
    except StoreError as exc:
        raise BackupError(str(exc)) from None
    data_file = data_dir / DATABASE_FILE
    keys_file = data_dir / KEYS_FILE
    for path, url in ((data_file, database_url), (keys_file, keys_database_url)):
        if url is None and not _is_empty_sqlite(path):
            raise BackupError(f"{path} exists: recover into a data directory without Charter's databases")

    # As `charter serve` does: without its own URL, the key store shares the data's PostgreSQL database.
    keys_database_url = keys_database_url or database_url
    where = f"destination '{target.name}' ({target.describe()})"
    key_backups = _list(target, {}, keys=True)
    if not key_backups:
        raise BackupError(f"{where} holds no key-store backup (keys-*): without it no snapshot can be read")
    key_manifest = _choose(key_backups, "latest", target.name)
    manifest = _choose(_list(target, {}), snapshot, target.name)
    try:
        with _payload(target, key_manifest, kek, checksums=True) as chunks:
            rows = _read_key_rows(chunks)
    except ArtifactError as exc:
        raise BackupError(f"key-store backup: {exc}") from None
    except (ValueError, KeyError) as exc:
        raise BackupError(f"key-store backup {key_manifest.id} is malformed ({type(exc).__name__})") from None
    if database_url is not None and manifest.dialect == "postgresql":
        data_check = Database(database_url)
        try:
            _require_empty(data_check)  # before anything is written, so a refusal changes nothing
        except SourceError as exc:
            raise BackupError(str(exc)) from None
        except SQLAlchemyError as exc:
            raise BackupError(f"cannot open {data_check.display_url}: {type(exc).__name__}") from None
        finally:
            data_check.close()

    created: list[Path] = []
    keys_db = Database(keys_database_url or sqlite_url(data_dir, KEYS_FILE), role="keys")
    if keys_database_url is None:
        created.append(keys_file)
    imported = False
    try:
        try:
            keys_db.upgrade()
            count = import_key_rows(keys_db, rows)
            imported = True
        except (StoreError, ValueError) as exc:
            raise BackupError(f"key store: {exc}") from None
        with _payload(target, manifest, kek) as chunks:
            if manifest.dialect == "sqlite":
                if database_url is not None:
                    raise BackupError("a SQLite snapshot is recovered into the data directory, not a database URL")
                created.append(data_file)
                _restore_sqlite(chunks, manifest, data_file, replace=True, now=clock.now())
                shown = str(data_file)
            else:
                if database_url is None:
                    raise BackupError("a PostgreSQL snapshot needs --database-url (an empty database)")
                data_db = Database(database_url)
                try:
                    restore_postgresql(chunks, data_db, schema_revision=manifest.schema_revision)
                except SourceError as exc:
                    raise BackupError(str(exc)) from None
                finally:
                    data_db.close()
                shown = data_db.display_url
    except ArtifactError as exc:
        _undo(created, keys_db if imported else None)
        raise BackupError(str(exc)) from None
    except BaseException:
        _undo(created, keys_db if imported else None)
        raise
    finally:
        keys_db.close()
    return Recovery(
        manifest.id,
        key_manifest.id,
        shown,
        keys_db.display_url if keys_database_url else str(keys_file),
        count,
        sum(manifest.tables.values()),
    )
