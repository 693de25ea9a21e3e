"""Reading what a destination holds: snapshot and key-store backup listings, manifests, payloads.

Shared by :class:`~charter.backup._service.BackupService` and disaster recovery (:mod:`charter.backup._recover`),
which must read a destination before any database or keyring exists.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from charter.backup._artifact import BackupKeyError, Manifest, ManifestError, read_artifact, unwrap_key
from charter.backup._destinations import ARTIFACT, MANIFEST, Destination, DestinationError
from charter.crypto import KekRing, Random

#: Key-store backups are named ``keys-<time>-<hex>``; data snapshots ``<time>-<hex>``.
KEYS_PREFIX = "keys-"


class BackupError(Exception):
    """A backup action cannot be done as asked (no backups configured, unknown snapshot or destination, wrong
    key, full disk, damaged manifest, unsafe prune, non-empty restore target). Nothing was deleted or
    overwritten; the message says what and where."""


class PartialBackupError(BackupError):
    """The snapshot was written (and verified) to some destinations but not all; the message says why.

    Attributes:
        manifest: the snapshot written.
        written: the destinations that hold it.
    """

    def __init__(self, message: str, manifest: Manifest, written: list[str]) -> None:
        super().__init__(message)
        self.manifest = manifest
        self.written = written


@dataclass(frozen=True)
class Snapshot:
    """A snapshot found in a destination.

    Attributes:
        id: the snapshot id.
        destination: the destination's name.
        manifest: the parsed (not yet authenticated) manifest, or ``None`` when it is damaged.
        problem: why the manifest could not be read, if it could not.
        verified_at: when it last passed ``verify`` (aware UTC), if its last check passed.
        failed_at: when its last check failed, if it did.
    """

    id: str
    destination: str
    manifest: Manifest | None
    problem: str | None = None
    verified_at: datetime | None = None
    failed_at: datetime | None = None


def _snapshot_id(now: datetime, random: Random) -> str:
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{random(3).hex()}"


def _id_time(snapshot_id: str) -> datetime | None:
    try:
        return datetime.strptime(snapshot_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _newest_first(snapshot: Snapshot) -> tuple[datetime, str]:
    when = snapshot.manifest.taken_at if snapshot.manifest else _id_time(snapshot.id)
    return (when or _EPOCH, snapshot.id)


def _choose(snapshots: list[Snapshot], snapshot_id: str, destination: str) -> Manifest:
    if snapshot_id == "latest":
        good = [s for s in snapshots if s.manifest is not None]
        if not good:
            raise BackupError(f"destination '{destination}' holds no complete snapshot")
        chosen = good[0]
    else:
        found = [s for s in snapshots if s.id == snapshot_id]
        if not found:
            raise BackupError(f"no snapshot '{snapshot_id}' in destination '{destination}'")
        chosen = found[0]
    if chosen.manifest is None:
        raise BackupError(f"snapshot {chosen.id}: {chosen.problem}")
    return chosen.manifest


@contextlib.contextmanager
def _payload(
    target: Destination, manifest: Manifest, kek: KekRing, *, checksums: bool = True
) -> Iterator[Iterator[bytes]]:
    try:
        key = unwrap_key(manifest, kek)
    except (BackupKeyError, ManifestError) as exc:
        raise BackupError(str(exc)) from None
    try:
        with target.open(f"{manifest.id}{ARTIFACT}") as stream:
            yield read_artifact(manifest, key, stream, checksums=checksums)
    except FileNotFoundError:
        raise BackupError(f"snapshot {manifest.id}: the artifact is missing") from None
    except DestinationError as exc:
        raise BackupError(str(exc)) from None


def _list(target: Destination, checks: Mapping[str, tuple[datetime, bool]], *, keys: bool = False) -> list[Snapshot]:
    """The snapshots of ``target`` (data snapshots, or with ``keys`` the key-store backups), newest first."""
    snapshots: list[Snapshot] = []
    try:
        names = set(target.names())
    except DestinationError as exc:
        raise BackupError(str(exc)) from None
    for name in sorted(names, reverse=True):
        if not name.endswith(MANIFEST) or name.startswith(KEYS_PREFIX) != keys:
            continue
        snapshot_id = name[: -len(MANIFEST)]
        at, passed = checks.get(snapshot_id, (None, False))
        failed = None if passed else at
        if f"{snapshot_id}{ARTIFACT}" not in names:
            snapshots.append(Snapshot(snapshot_id, target.name, None, "the artifact is missing", None, failed))
            continue
        try:
            manifest = Manifest.from_json(target.read_small(name), name=name)
            if manifest.id != snapshot_id:
                raise ManifestError(f"{name}: the manifest belongs to snapshot {manifest.id}")
        except (ManifestError, DestinationError, FileNotFoundError) as exc:
            snapshots.append(Snapshot(snapshot_id, target.name, None, str(exc), None, failed))
            continue
        snapshots.append(
            Snapshot(snapshot_id, target.name, manifest, None, at if passed else None, None if passed else at)
        )
    snapshots.sort(key=_newest_first, reverse=True)
    return snapshots


def _read_key_rows(chunks: Iterable[bytes]) -> list[dict[str, Any]]:
    rows = []
    for line in b"".join(chunks).splitlines():
        raw = json.loads(line)
        rows.append(
            {
                "tenant_id": raw["tenant_id"],
                "version": int(raw["version"]),
                "wrapped": base64.b64decode(raw["wrapped"]) if raw["wrapped"] is not None else None,
                "kek_id": raw["kek_id"],
                "created_at": datetime.fromisoformat(raw["created_at"]),
                "destroyed_at": datetime.fromisoformat(raw["destroyed_at"]) if raw["destroyed_at"] else None,
            }
        )
    return rows


def _key_rows_payload(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(
        json.dumps(
            {
                "tenant_id": row["tenant_id"],
                "version": row["version"],
                "wrapped": base64.b64encode(row["wrapped"]).decode() if row["wrapped"] is not None else None,
                "kek_id": row["kek_id"],
                "created_at": row["created_at"].isoformat(),
                "destroyed_at": row["destroyed_at"].isoformat() if row["destroyed_at"] else None,
            },
            separators=(",", ":"),
        ).encode()
        + b"\n"
        for row in rows
    )
