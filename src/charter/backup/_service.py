"""Backups as the charter promises them: run, list, verify, restore, prune and drill.

Every action that changes or proves something is written to the audit log (``backup.created``,
``backup.verified``, ``backup.pruned``, ``backup.restored``, ``backup.drill``); the evidence checks of
``charter verify`` read them back.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from charter.audit import AuditLog
from charter.backup._artifact import (
    ArtifactError,
    ArtifactWriter,
    BackupKeyError,
    Manifest,
    ManifestError,
    unwrap_key,
)
from charter.backup._catalog import (
    KEYS_PREFIX,
    BackupError,
    PartialBackupError,
    Snapshot,
    _choose,
    _id_time,
    _key_rows_payload,
    _list,
    _payload,
    _read_key_rows,
    _snapshot_id,
)
from charter.backup._destinations import (
    ARTIFACT,
    MANIFEST,
    Destination,
    DestinationError,
    LocalDestination,
    open_destination,
)
from charter.backup._restore import (
    _drop_tables,
    _restore_sqlite,
    _served,
    _table_counts,
    _table_names,
    _write_chunks,
)
from charter.backup._retention import Decision, plan_retention
from charter.backup._sources import (
    SourceError,
    check_sqlite_file,
    compare_counts,
    dump_database,
    pg_row_counts,
    restore_postgresql,
)
from charter.clock import Clock
from charter.crypto import KeyProviderError, Random
from charter.logs import get_logger
from charter.policy import Backups, Charter
from charter.store import Database, Keyring, StoreError, TenantStore, export_key_rows

__all__ = ["BackupService", "DrillResult", "PrunePlan", "RestoreResult", "VerifyResult"]

log = get_logger("charter.backup")

Progress = Callable[[str, int, int], None]
"""Called with ``(phase, done, total)`` during long work (bytes, or items for prune)."""

#: An artifact without a manifest younger than this may belong to a run still under way.
_ORPHAN_AGE = timedelta(hours=24)


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of verifying one snapshot: decrypted, decompressed, opened, integrity-checked, counted."""

    snapshot_id: str
    destination: str
    ok: bool
    problems: list[str]
    checked_at: datetime
    seconds: float


@dataclass(frozen=True)
class RestoreResult:
    """A restored snapshot.

    Attributes:
        target: where it was restored (a path, or a database URL without password).
        tables: row count by table, as restored.
        seconds: wall time of the restore, fetch to checked database.
        tenants_readable: tenants whose data opens with the live key store.
        tenants_key_destroyed: tenants purged since the snapshot: rows present, keys destroyed.
        tenants_unreadable: tenants with live keys whose values do not open (their key versions were retired
            since, e.g. ``keys rotate --re-encrypt --retire``): the restore lost their data.
        moved_aside: where a replaced database was moved, if ``replace`` was asked.
    """

    snapshot_id: str
    target: str
    tables: dict[str, int]
    seconds: float
    tenants_readable: list[str]
    tenants_key_destroyed: list[str]
    moved_aside: str | None = None
    tenants_unreadable: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DrillResult:
    """A restore drill: the latest snapshot restored to a scratch place, measured against the charter.

    Attributes:
        restore_seconds: measured recovery time (compare: ``rto_seconds``).
        data_age_seconds: age of the newest restorable data when the drill ran (compare: ``rpo_seconds``).
        rto_seconds / rpo_seconds: the charter's promises (``None`` when it makes none).
        ok: restored, checked, and within both promises.
    """

    snapshot_id: str
    destination: str
    at: datetime
    restore_seconds: float
    data_age_seconds: float
    rto_seconds: int | None
    rpo_seconds: int | None
    ok: bool
    problems: list[str]
    tenants_readable: int
    tenants_key_destroyed: int
    tenants_unreadable: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (times as ISO 8601 UTC)."""
        return {
            "snapshot": self.snapshot_id,
            "destination": self.destination,
            "at": self.at.isoformat(),
            "restore_seconds": round(self.restore_seconds, 3),
            "data_age_seconds": round(self.data_age_seconds, 3),
            "rto_seconds": self.rto_seconds,
            "rpo_seconds": self.rpo_seconds,
            "ok": self.ok,
            "problems": self.problems,
            "tenants_readable": self.tenants_readable,
            "tenants_key_destroyed": self.tenants_key_destroyed,
            "tenants_unreadable": self.tenants_unreadable,
        }


@dataclass(frozen=True)
class PrunePlan:
    """What prune keeps and removes in one destination.

    Attributes:
        decisions: one per listed snapshot, newest first, with the reasons it is kept.
        orphans: objects of interrupted runs (artifacts without manifest, older than a day) to remove.
        damaged: snapshots whose manifest is damaged or that failed their last verification: they keep no
            period, are never removed by prune, and are reported.
        applied: whether the removals were done (``False`` for a dry run).
    """

    destination: str
    decisions: list[Decision]
    orphans: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    applied: bool = False

    @property
    def removed(self) -> list[str]:
        """Ids of the snapshots removed (or to remove, in a dry run)."""
        return [d.snapshot_id for d in self.decisions if not d.keep]


class BackupService:
    """The backups of one Charter: its data database, its charter's ``[backups]``, its KEK ring.

    Args:
        charter: the validated charter (``[backups]`` gives frequency, zone, retention, destinations, RPO, RTO).
        database: the data database (the key store is never backed up: see :mod:`charter.backup._sources`).
        keyring: the live keyring (its KEK ring wraps backup keys; its DEKs decide what a restore can read).
        audit: where backup events are recorded.
        clock: the clock (``now`` for times, ``monotonic`` for measured durations).
        data_dir: the data directory (scratch space; base of relative local destinations).
        environ: where ``CHARTER_S3_ENDPOINT_URL`` and AWS settings are read.
        random: source of backup keys, nonces and snapshot ids.
    """

    def __init__(
        self,
        charter: Charter,
        database: Database,
        keyring: Keyring,
        audit: AuditLog,
        *,
        clock: Clock,
        data_dir: Path,
        environ: Mapping[str, str] | None = None,
        random: Random = os.urandom,
    ) -> None:
        self._charter = charter
        self._db = database
        self._keyring = keyring
        self._audit = audit
        self._clock = clock
        self._data_dir = Path(data_dir)
        self._environ = os.environ if environ is None else environ
        self._random = random

    # -- configuration --------------------------------------------------------------------------------

    @property
    def policy(self) -> Backups:
        """The charter's ``[backups]``.

        Raises:
            BackupError: the charter declares no backups, or disables them.
        """
        backups = self._charter.backups
        if backups is None:
            raise BackupError("the charter declares no backups: add a [backups] section to it")
        if not backups.destinations:
            raise BackupError("the charter names no backup destination: add [[backups.destinations]]")
        return backups

    def _enabled(self) -> Backups:
        policy = self.policy
        if not policy.enabled:
            raise BackupError(
                "backups are disabled in the charter (backups.enabled = false): existing snapshots can still be "
                "listed, verified and restored"
            )
        return policy

    def destination(self, name: str | None = None, *, create: bool = False) -> Destination:
        """The destination called ``name``, or the first one of the charter.

        Raises:
            BackupError: no such destination, or it cannot be used.
        """
        configs = self.policy.destinations
        if name is None:
            config = configs[0]
        else:
            matches = [c for c in configs if c.name == name]
            if not matches:
                known = ", ".join(c.name for c in configs)
                raise BackupError(f"no backup destination '{name}' in the charter (it has: {known})")
            config = matches[0]
        try:
            return open_destination(config, self._data_dir, self._environ, create=create)
        except DestinationError as exc:
            raise BackupError(str(exc)) from None

    def destinations(self, *, create: bool = False) -> list[Destination]:
        """Every destination of the charter, in order."""
        return [self.destination(c.name, create=create) for c in self.policy.destinations]

    def _scratch(self) -> Path:
        scratch = self._data_dir / ".backup-tmp"
        scratch.mkdir(mode=0o700, exist_ok=True)
        return scratch

    def _clean_scratch(self) -> None:
        """Remove what killed runs left in the scratch directory: online-backup copies of processes that are
        gone, and artifacts older than an hour (a live run rewrites its own file continuously)."""
        cutoff = time.time() - 3600
        for path in self._scratch().iterdir():
            with contextlib.suppress(OSError, ValueError):
                orphan = path.name.startswith(".snapshot-") and not _alive(int(path.name[10:].split(".")[0]))
                if orphan or (path.is_file() and path.stat().st_mtime < cutoff):
                    path.unlink()

    # -- run ------------------------------------------------------------------------------------------

    def run(
        self,
        *,
        actor: str = "cli",
        verify: bool = True,
        progress: Progress | None = None,
        destinations: list[str] | None = None,
    ) -> Manifest:
        """Take a snapshot of the data database and write it to every destination (or those named).

        The snapshot is verified in the first destination unless ``verify`` is false (``backup.verified``).

        Returns:
            The snapshot's manifest.

        Raises:
            BackupError: the database cannot be read, the KEK cannot wrap, the scratch space or a destination
                cannot be written (destinations written before stay; nothing partial is listed anywhere).
        """
        policy = self._enabled()
        targets = [self.destination(n, create=True) for n in (destinations or [d.name for d in policy.destinations])]
        started = self._clock.now()
        snapshot_id = _snapshot_id(started, self._random)
        self._clean_scratch()
        scratch = self._scratch()
        artifact_name = f"{snapshot_id}{ARTIFACT}"
        # A local first destination receives the artifact directly (a temporary file renamed into place): no
        # second copy of a large file. Otherwise the artifact is built in the scratch directory and uploaded.
        direct = targets[0] if isinstance(targets[0], LocalDestination) else None
        building = direct.temporary(artifact_name) if direct else scratch / artifact_name
        artifact = building
        try:
            try:
                with open(os.open(building, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "wb") as out:
                    writer = ArtifactWriter(out, snapshot_id=snapshot_id, kek=self._keyring.kek, random=self._random)
                    dump = dump_database(
                        self._db,
                        writer,  # type: ignore[arg-type]
                        scratch=scratch,
                        progress=(lambda d, t: progress("snapshot", d, t)) if progress else None,
                    )
                    writer.finish()
                    out.flush()
                    os.fsync(out.fileno())
                if direct:
                    artifact = direct.commit(building, artifact_name)
            except KeyProviderError as exc:
                raise BackupError(f"the key-encryption key cannot wrap the backup key: {exc}") from None
            except SourceError as exc:
                raise BackupError(str(exc)) from None
            except DestinationError as exc:
                raise BackupError(str(exc)) from None
            except OSError as exc:
                where = f"backup destination '{direct.name}'" if direct else str(scratch)
                if exc.errno == errno.ENOSPC:
                    raise BackupError(f"cannot write the snapshot: {where} is full (no space left)") from None
                raise BackupError(f"cannot write the snapshot in {where}: {exc.strerror or exc}") from None
            manifest = writer.manifest(
                taken_at=started,
                finished_at=self._clock.now(),
                dialect=dump.dialect,
                source=self._db.display_url,
                schema_revision=dump.schema_revision,
                tables=dump.tables,
            )
            # The key store before each manifest: a snapshot is listed only once a key-store backup that opens
            # it is there (a run killed in between leaves an unlisted artifact, never a snapshot without keys).
            written, failures = self._publish(
                targets,
                manifest,
                artifact,
                skip=direct,
                before=lambda target: self._save_keys_for(target, actor),
                progress=progress,
            )
        finally:
            for leftover in (building, None if direct else artifact):
                if leftover is not None:
                    with contextlib.suppress(FileNotFoundError):
                        leftover.unlink()
        if written:
            self._audit.record(
                "backup.created",
                actor=actor,
                payload={
                    "snapshot": snapshot_id,
                    "destinations": written,
                    "taken_at": manifest.taken_at.isoformat(),
                    "plain_bytes": manifest.plain_bytes,
                    "stored_bytes": manifest.stored_bytes,
                    "rows": sum(manifest.tables.values()),
                    "kek_id": manifest.kek_id,
                },
            )
            log.info("backup written", snapshot=snapshot_id, destinations=written, bytes=manifest.stored_bytes)
        if verify and written:
            result = self.verify(snapshot_id, destination=written[0], actor=actor, progress=progress)
            if not result.ok:
                raise BackupError(f"snapshot {snapshot_id} was written but fails verification: {result.problems[0]}")
        if failures and written:
            raise PartialBackupError("; ".join(failures), manifest, written)
        if failures:
            raise BackupError("; ".join(failures))
        return manifest

    def _publish(
        self,
        targets: list[Destination],
        manifest: Manifest,
        artifact: Path,
        *,
        skip: Destination | None = None,
        before: Callable[[Destination], None] | None = None,
        after: Callable[[Destination], None] | None = None,
        progress: Progress | None = None,
    ) -> tuple[list[str], list[str]]:
        """Put an artifact, then its manifest (last: the object now shows), into each target; ``skip`` already
        holds the artifact, ``after`` runs once a target holds both. Returns ``(written, failures)``; a failing
        target does not stop the others."""
        manifest_file = self._scratch() / f"{manifest.id}{MANIFEST}"
        manifest_file.write_bytes(manifest.to_json())
        written: list[str] = []
        failures: list[str] = []
        try:
            for target in targets:
                try:
                    if progress:
                        progress(f"upload {target.name}", 0, manifest.stored_bytes)
                    if target is not skip:
                        target.put(f"{manifest.id}{ARTIFACT}", artifact)
                    if before is not None:
                        before(target)
                    target.put(f"{manifest.id}{MANIFEST}", manifest_file)
                    if after is not None:
                        after(target)
                    written.append(target.name)
                    if progress:
                        progress(f"upload {target.name}", manifest.stored_bytes, manifest.stored_bytes)
                except (DestinationError, BackupError) as exc:
                    failures.append(str(exc))
        finally:
            with contextlib.suppress(FileNotFoundError):
                manifest_file.unlink()
        return written, failures

    # -- key store ----------------------------------------------------------------------------------

    def _save_keys_for(self, target: Destination, actor: str) -> None:
        try:
            self.save_keys(actor=actor, destinations=[target.name])
        except BackupError as exc:
            raise BackupError(f"key-store backup: {exc}") from None

    def save_keys(self, *, actor: str = "cli", destinations: list[str] | None = None) -> Manifest:
        """Write the key store (every DEK, still wrapped by its KEK) to each destination as one key-store backup,
        then remove the older ones: a destination holds only the newest, so a tenant purged since is in no
        key-store backup after the next save (``charter serve`` saves after every backup and every purge).

        Without it, data snapshots cannot be read after losing the key store; with it and the KEK (kept apart
        from the backups: key file, environment or KMS), ``charter backup recover`` brings everything back.

        Raises:
            BackupError: a destination cannot be written (the older key-store backups there are kept).
        """
        policy = self._enabled()
        targets = [self.destination(n, create=True) for n in (destinations or [d.name for d in policy.destinations])]
        now = self._clock.now()
        backup_id = KEYS_PREFIX + _snapshot_id(now, self._random)
        rows = export_key_rows(self._keyring.database)
        scratch = self._scratch()
        artifact = scratch / f"{backup_id}{ARTIFACT}"

        def drop_older(target: Destination) -> None:
            for name in target.names():
                if name.startswith(KEYS_PREFIX) and not name.startswith(backup_id):
                    target.delete(name)  # older key-store backups: they may hold keys destroyed since

        try:
            with open(os.open(artifact, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "wb") as out:
                writer = ArtifactWriter(out, snapshot_id=backup_id, kek=self._keyring.kek, random=self._random)
                writer.write(_key_rows_payload(rows))
                writer.finish()
                out.flush()
                os.fsync(out.fileno())
            manifest = writer.manifest(
                taken_at=now,
                finished_at=self._clock.now(),
                dialect="keys",
                source=self._keyring.database.display_url,
                schema_revision=self._keyring.database.revision() or "",
                tables={"data_keys": len(rows)},
            )
            written, failures = self._publish(targets, manifest, artifact, after=drop_older)
        except KeyProviderError as exc:
            raise BackupError(f"the key-encryption key cannot wrap the backup key: {exc}") from None
        except OSError as exc:
            raise BackupError(f"cannot write the key-store backup in {scratch}: {exc.strerror or exc}") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                artifact.unlink()
        live = sum(1 for row in rows if row["wrapped"] is not None)
        if written:
            self._audit.record(
                "backup.keys-saved",
                actor=actor,
                payload={"backup": backup_id, "destinations": written, "keys": len(rows), "live_keys": live},
            )
        if failures:
            raise BackupError("; ".join(failures))
        return manifest

    def _check_key_backup(self, destination: str) -> list[str]:
        """Problems with the newest key-store backup of ``destination`` (decrypted, parsed, counted); without it
        no snapshot can be recovered after losing the key store."""
        target = self.destination(destination)
        backups = _list(target, {}, keys=True)
        if not backups:
            return [f"destination '{destination}' holds no key-store backup: run `charter backup run`"]
        newest = backups[0]
        if newest.manifest is None:
            return [f"key-store backup {newest.id}: {newest.problem}"]
        try:
            with _payload(target, newest.manifest, self._keyring.kek) as chunks:
                rows = _read_key_rows(chunks)
        except BackupError as exc:
            return [f"key-store backup: {exc}"]
        except ArtifactError as exc:
            return [f"key-store backup: {exc}"]
        except (ValueError, KeyError):
            return [f"key-store backup {newest.id} is malformed"]
        if len(rows) != newest.manifest.tables.get("data_keys"):
            return [f"key-store backup {newest.id}: {len(rows)} keys, the manifest says otherwise"]
        return []

    def key_backups(self, destination: str | None = None) -> list[Snapshot]:
        """The key-store backups of a destination (normally one), newest first."""
        target = self.destination(destination)
        return _list(target, {}, keys=True)

    # -- list -----------------------------------------------------------------------------------------

    def _checks(self, destination: str) -> dict[str, tuple[datetime, bool]]:
        """The last verification of each snapshot of ``destination``: ``(when, passed)``."""
        checks: dict[str, tuple[datetime, bool]] = {}
        for entry in self._audit.entries(kind="backup.verified"):
            if entry.payload.get("destination") == destination:
                checks[str(entry.payload.get("snapshot"))] = (entry.at, bool(entry.payload.get("ok")))
        return checks

    def snapshots(self, destination: str | None = None, *, strict: bool = False) -> list[Snapshot]:
        """The snapshots of a destination (the first by default), newest first; complete ones only.

        A manifest is only believed once its MAC checks (one key unwrap each): an edited one is listed as
        damaged. One whose KEK is not configured here is listed as is (a setup problem, reported when the
        snapshot is used), or as damaged with ``strict`` (prune decides only on authenticated manifests).

        Raises:
            BackupError: the destination cannot be read.
        """
        target = self.destination(destination)
        snapshots = _list(target, self._checks(target.name))
        for i, snap in enumerate(snapshots):
            if snap.manifest is not None:
                try:
                    unwrap_key(snap.manifest, self._keyring.kek)
                except (ManifestError, BackupKeyError) as exc:
                    if strict or isinstance(exc, ManifestError):
                        snapshots[i] = Snapshot(snap.id, snap.destination, None, str(exc), None, snap.failed_at)
        return snapshots

    def _find(self, snapshot_id: str, destination: str | None) -> tuple[Destination, Manifest]:
        target = self.destination(destination)
        return target, _choose(self.snapshots(target.name), snapshot_id, target.name)

    # -- verify ---------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _payload(self, target: Destination, manifest: Manifest, *, checksums: bool = True) -> Iterator[Iterator[bytes]]:
        with _payload(target, manifest, self._keyring.kek, checksums=checksums) as chunks:
            yield chunks

    def verify(
        self,
        snapshot_id: str = "latest",
        *,
        destination: str | None = None,
        actor: str = "cli",
        progress: Progress | None = None,
    ) -> VerifyResult:
        """Decrypt, decompress and open a snapshot, check the database's integrity and its row counts.

        The result is recorded (``backup.verified``), passed or failed.

        Raises:
            BackupError: unknown snapshot or destination, damaged manifest, the key cannot be unwrapped (a
                problem with the setup, not a verdict on the snapshot).
        """
        target = self.destination(destination)
        snapshots = self.snapshots(target.name)
        wanted = next((s for s in snapshots if s.id == snapshot_id), None) if snapshot_id != "latest" else None
        if wanted is not None and wanted.manifest is None:
            # found, but its manifest is damaged or altered: a verdict on the snapshot, recorded as such
            problem = wanted.problem or "damaged"
            problems = [problem if problem.startswith(wanted.id) else f"snapshot {wanted.id}: {problem}"]
            self._audit.record(
                "backup.verified",
                actor=actor,
                payload={"snapshot": wanted.id, "destination": target.name, "ok": False, "problems": problems},
            )
            return VerifyResult(wanted.id, target.name, False, problems, self._clock.now(), 0.0)
        manifest = _choose(snapshots, snapshot_id, target.name)
        start = self._clock.monotonic()
        problems = []
        with self._payload(target, manifest) as payload:
            chunks = _progress(payload, "verify", manifest.plain_bytes, progress)
            try:
                if manifest.dialect == "sqlite":
                    with tempfile.TemporaryDirectory(dir=self._scratch()) as scratch:
                        path = Path(scratch) / "verify.db"
                        _write_chunks(chunks, path)
                        problems = check_sqlite_file(path, manifest.tables, full=True)
                else:
                    counts = pg_row_counts(chunks)
                    problems = compare_counts(manifest.tables, counts)
            except (ArtifactError, SourceError) as exc:
                problems = [str(exc)]
            except OSError as exc:
                raise BackupError(f"cannot verify in {self._scratch()}: {exc.strerror or exc}") from None
        problems.extend(self._check_key_backup(target.name))
        result = VerifyResult(
            manifest.id, target.name, not problems, problems, self._clock.now(), self._clock.monotonic() - start
        )
        self._audit.record(
            "backup.verified",
            actor=actor,
            payload={"snapshot": manifest.id, "destination": target.name, "ok": result.ok, "problems": problems},
        )
        log.info("backup verified", snapshot=manifest.id, destination=target.name, ok=result.ok)
        return result

    # -- restore --------------------------------------------------------------------------------------

    def restore(
        self,
        snapshot_id: str,
        target: str,
        *,
        destination: str | None = None,
        replace: bool = False,
        actor: str = "cli",
        progress: Progress | None = None,
    ) -> RestoreResult:
        """Restore a snapshot: a SQLite snapshot to a file path, a PostgreSQL one into an empty database URL.

        The database is written beside its final place and appears there only once complete and checked. An
        existing file is replaced only with ``replace`` (stop ``charter serve`` first), and is then moved aside
        as ``<name>.before-restore-<time>``, never deleted.

        Raises:
            BackupError: unknown snapshot, wrong key, damaged artifact (nothing is put in place), an existing
                target without ``replace``, a non-empty PostgreSQL target, a dialect mismatch.
        """
        source, manifest = self._find(snapshot_id, destination)
        start = self._clock.monotonic()
        moved: str | None = None
        with self._payload(source, manifest, checksums=False) as payload:
            chunks = _progress(payload, "restore", manifest.plain_bytes, progress)
            if manifest.dialect == "sqlite":
                if "://" in target:
                    raise BackupError("a SQLite snapshot is restored to a file path, not a database URL")
                if replace and Path(target).expanduser().exists() and _served(Path(target).expanduser().parent):
                    raise BackupError(
                        f"charter serve is running on {Path(target).expanduser().parent}: stop it before replacing "
                        "its database (nothing was changed)"
                    )
                path, moved = _restore_sqlite(
                    chunks, manifest, Path(target).expanduser(), replace=replace, now=self._clock.now()
                )
                live = self._db.url.database
                if self._db.dialect == "sqlite" and live and Path(live).resolve() == path.resolve():
                    self._db.close()  # pooled connections still point at the file moved aside
                shown = str(path)
                restored = Database(f"sqlite:///{path.resolve()}")
            else:
                if not target.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
                    raise BackupError("a PostgreSQL snapshot is restored into a database URL (postgresql://...)")
                try:
                    restored = Database(target)
                except StoreError as exc:
                    raise BackupError(str(exc)) from None
                shown = restored.display_url
                try:
                    restore_postgresql(chunks, restored, schema_revision=manifest.schema_revision)
                except (SourceError, ArtifactError) as exc:
                    restored.close()
                    raise BackupError(str(exc)) from None
        try:
            readable, destroyed, unreadable = self.readability(restored)
            tables = _table_counts(restored, manifest.tables)
        finally:
            restored.close()
        seconds = self._clock.monotonic() - start
        self._audit.record(
            "backup.restored",
            actor=actor,
            payload={
                "snapshot": manifest.id,
                "destination": source.name,
                "target": shown,
                "seconds": round(seconds, 3),
                "tenants_readable": len(readable),
                "tenants_key_destroyed": len(destroyed),
                "tenants_unreadable": len(unreadable),
            },
        )
        return RestoreResult(manifest.id, shown, tables, seconds, readable, destroyed, moved, unreadable)

    def readability(self, restored: Database) -> tuple[list[str], list[str], list[str]]:
        """Which tenants of a (restored) data database open with the live keys. Reads only.

        Returns:
            ``(readable, purged, unreadable)``, sorted tenant ids: ``purged`` have no live key (destroyed by a
            purge since); ``unreadable`` have live keys that no longer open their values here (key versions
            retired since the snapshot).
        """
        store = TenantStore(restored, self._keyring, kinds=(), clock=self._clock)
        with restored.engine.connect() as connection:
            # every record belongs to a registered tenant (a purge removes both): the registry lists them all
            tenants = {row[0] for row in connection.execute(text("SELECT id FROM tenants"))}
        live = set(self._keyring.tenants())  # one query for every tenant with a live key
        self._keyring.preload(tenants & live)  # and one for all their keys
        opens = store.readable_many(sorted(tenants & live))
        readable = sorted(t for t in tenants & live if opens.get(t) is not False)
        unreadable = sorted(t for t in tenants & live if opens.get(t) is False)
        return readable, sorted(tenants - live), unreadable

    # -- prune ----------------------------------------------------------------------------------------

    def prune(
        self,
        *,
        destination: str | None = None,
        dry_run: bool = False,
        actor: str = "cli",
        progress: Progress | None = None,
    ) -> PrunePlan:
        """Apply the charter's retention policy (``[backups.keep]`` in ``backups.time_zone``) to a destination.

        A snapshot older than the longest retention the policy allows (``KeepPolicy.longest``, what the statement
        publishes) is removed even when a rule would keep it (periods without snapshots in between). Never
        removes the newest verified snapshot, nor a snapshot whose manifest is damaged; removes the leftovers
        of interrupted runs older than a day. The manifest goes first, so a removal interrupted
        halfway leaves an unlisted artifact that the next prune removes.

        Every manifest is authenticated first (one that is not is treated as damaged), and before anything is
        removed the newest verified snapshot is verified again.

        Raises:
            BackupError: no snapshot of the destination is verified, or the newest verified one no longer
                verifies (nothing is removed), or the destination cannot be used.
        """
        policy = self.policy
        target = self.destination(destination)
        # Nothing a destination says decides what is kept before its MAC checks (an edited manifest could
        # claim another time, to look newest); a snapshot that failed its last check keeps no period either.
        snapshots = self.snapshots(target.name, strict=True)
        complete = [s for s in snapshots if s.manifest is not None and s.failed_at is None]
        damaged = [s.id for s in snapshots if s.manifest is None or s.failed_at is not None]
        decisions = plan_retention(
            [(s.id, s.manifest.taken_at) for s in complete if s.manifest], policy.keep, policy.time_zone
        )
        # The statement promises no backup outlives the longest retention ("about 1 year"): a rule that reaches
        # back over periods without snapshots (backups stopped for a while) must not keep one longer.
        expires = self._clock.now() - timedelta(seconds=policy.keep.longest.seconds)
        decisions = [
            Decision(d.snapshot_id, d.taken_at, False, ()) if d.keep and d.taken_at < expires else d for d in decisions
        ]
        verified = [s for s in complete if s.verified_at is not None]
        if complete and not verified:
            raise BackupError(
                f"no snapshot in destination '{target.name}' is verified, so none may be removed: "
                "run `charter backup verify` first (nothing was deleted)"
            )
        if verified:
            newest_verified = verified[0].id
            decisions = [
                Decision(d.snapshot_id, d.taken_at, True, (*d.reasons, "newest verified"))
                if d.snapshot_id == newest_verified
                else d
                for d in decisions
            ]
        names = target.names()
        listed = {s.id for s in snapshots}
        cutoff = self._clock.now() - _ORPHAN_AGE
        orphans = [
            name
            for name in names
            if name.endswith(ARTIFACT)
            and not name.startswith(KEYS_PREFIX)
            and name[: -len(ARTIFACT)] not in listed
            and (_id_time(name) or cutoff) < cutoff
        ]
        plan = PrunePlan(target.name, decisions, orphans, damaged)
        if dry_run:
            return plan
        removals = plan.removed
        if removals and verified:
            # What stays must still restore: check the newest verified snapshot again before deleting others.
            check = self.verify(verified[0].id, destination=target.name, actor=actor, progress=progress)
            if not check.ok:
                raise BackupError(
                    f"the newest verified snapshot {check.snapshot_id} no longer verifies ({check.problems[0]}); "
                    "nothing was deleted"
                )
        total = len(removals) + len(orphans)
        done = 0
        for snapshot_id in removals:
            target.delete(f"{snapshot_id}{MANIFEST}")
            target.delete(f"{snapshot_id}{ARTIFACT}")
            done += 1
            if progress:
                progress("prune", done, total)
        for name in orphans:
            target.delete(name)
            done += 1
            if progress:
                progress("prune", done, total)
        if isinstance(target, LocalDestination):
            orphans = [*orphans, *target.remove_stale_temporaries(cutoff.timestamp())]
        if removals or orphans:
            self._audit.record(
                "backup.pruned",
                actor=actor,
                payload={"destination": target.name, "removed": removals, "orphans": orphans},
            )
        log.info("backups pruned", destination=target.name, removed=len(removals), orphans=len(orphans))
        return PrunePlan(target.name, decisions, orphans, damaged, applied=True)

    # -- drill ----------------------------------------------------------------------------------------

    def drill(
        self,
        *,
        destination: str | None = None,
        scratch_url: str | None = None,
        actor: str = "cli",
        progress: Progress | None = None,
    ) -> DrillResult:
        """Restore the latest snapshot to a scratch place, measure it and compare with the RTO and RPO.

        SQLite snapshots are restored to a private directory under the data directory; PostgreSQL ones into
        ``scratch_url`` when given, else a new database ``charter_drill_<hex>`` on the same server (dropped
        afterwards). The result is recorded (``backup.drill``) for ``charter verify``.

        Raises:
            BackupError: there is no snapshot, or the scratch place cannot be made.
        """
        policy = self.policy
        start = self._clock.monotonic()
        target, manifest = self._find("latest", destination)
        problems: list[str] = []
        readable: list[str] = []
        destroyed: list[str] = []
        unreadable: list[str] = []
        with self._drill_target(manifest, scratch_url) as scratch_target:
            try:
                result = self.restore(
                    manifest.id, scratch_target, destination=target.name, actor=actor, progress=progress
                )
                readable, destroyed = result.tenants_readable, result.tenants_key_destroyed
                unreadable = result.tenants_unreadable
            except BackupError as exc:
                problems.append(str(exc))
        if unreadable:
            problems.append(
                f"{len(unreadable)} tenant(s) with live keys do not open in the snapshot (their key versions were "
                "retired since): their data would be lost"
            )
        problems.extend(self._check_key_backup(target.name))
        seconds = self._clock.monotonic() - start
        now = self._clock.now()
        age = (now - manifest.taken_at).total_seconds()
        rto = policy.rto.seconds if policy.rto else None
        rpo = policy.rpo.seconds if policy.rpo else None
        if rto is not None and seconds > rto:
            problems.append(f"the restore took {seconds:.0f} s, more than the RTO of {policy.rto}")
        if rpo is not None and age > rpo:
            problems.append(f"the newest restorable data is {age / 3600:.1f} h old, more than the RPO of {policy.rpo}")
        drill = DrillResult(
            manifest.id,
            target.name,
            now,
            seconds,
            age,
            rto,
            rpo,
            not problems,
            problems,
            len(readable),
            len(destroyed),
            len(unreadable),
        )
        self._audit.record("backup.drill", actor=actor, payload=drill.as_dict())
        log.info("backup drill", snapshot=manifest.id, ok=drill.ok, restore_seconds=round(seconds, 3))
        return drill

    @contextlib.contextmanager
    def _drill_target(self, manifest: Manifest, scratch_url: str | None) -> Iterator[str]:
        if manifest.dialect == "sqlite":
            if scratch_url:
                raise BackupError("--scratch-url is for PostgreSQL snapshots; a SQLite drill uses a private directory")
            with tempfile.TemporaryDirectory(prefix="drill-", dir=self._scratch()) as scratch:
                yield str(Path(scratch) / "charter.db")
            return
        if scratch_url:
            try:
                scratch_db = Database(scratch_url)
            except StoreError as exc:
                raise BackupError(str(exc)) from None
            live = {self._db.url, self._keyring.database.url}
            try:
                # Checked before anything is done to it: a refused scratch database is left exactly as it was.
                if scratch_db.url in live:
                    raise BackupError("--scratch-url names Charter's own database: give an empty, separate one")
                if _table_names(scratch_db):
                    raise BackupError(
                        f"the scratch database {scratch_db.display_url} is not empty: a drill needs an empty one "
                        "(it is emptied again afterwards)"
                    )
            except BackupError:
                scratch_db.close()
                raise
            try:
                yield scratch_url
            finally:
                _drop_tables(scratch_db)  # it was empty: everything in it now is what the drill made
                scratch_db.close()
            return
        if self._db.dialect != "postgresql":
            raise BackupError("a PostgreSQL snapshot needs --scratch-url (an empty database) for a drill")
        name = f"charter_drill_{self._random(6).hex()}"
        admin = self._db.engine.execution_options(isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:
            raise BackupError(
                f"cannot create a scratch database for the drill ({type(exc).__name__}); pass --scratch-url"
            ) from None
        # the new database has only its public schema: drop a search_path set for the live one
        created_url = make_url(self._db.url).set(database=name).difference_update_query(["options"])
        url = created_url.render_as_string(hide_password=False)
        try:
            yield url
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def last_drill(self) -> DrillResult | None:
        """The most recent drill recorded in the audit log, if any."""
        entries = self._audit.entries(kind="backup.drill")
        if not entries:
            return None
        p = entries[-1].payload
        return DrillResult(
            p["snapshot"],
            p["destination"],
            datetime.fromisoformat(p["at"]),
            float(p["restore_seconds"]),
            float(p["data_age_seconds"]),
            p.get("rto_seconds"),
            p.get("rpo_seconds"),
            bool(p["ok"]),
            list(p.get("problems", [])),
            int(p.get("tenants_readable", 0)),
            int(p.get("tenants_key_destroyed", 0)),
            int(p.get("tenants_unreadable", 0)),
        )

    def due(self) -> bool:
        """Whether a snapshot is due: none in the first destination is younger than ``backups.frequency``."""
        newest = next((s for s in self.snapshots() if s.manifest is not None), None)
        if newest is None or newest.manifest is None:
            return True
        return self._clock.now() - newest.manifest.taken_at >= timedelta(seconds=self.policy.frequency.seconds)


# -- helpers ---------------------------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _progress(chunks: Iterator[bytes], phase: str, total: int, progress: Progress | None) -> Iterator[bytes]:
    done = 0
    for chunk in chunks:
        done += len(chunk)
        if progress:
            progress(phase, done, total)
        yield chunk
