"""The snapshot artifact: zstd-compressed, then sealed with streaming AES-256-GCM under a fresh backup key.

Each snapshot has its own 256-bit backup data key, wrapped by the KEK ring of the running Charter (file, env
or AWS KMS) and stored, wrapped, in the manifest. The manifest (time, source, sizes, checksums, key ids, row
counts) is authenticated with an HMAC under a key derived from the backup key (HKDF-SHA256), so an edited
manifest is detected as soon as the key is unwrapped; the artifact's associated data binds it to its snapshot
id, so an artifact swapped in from another snapshot does not open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, BinaryIO

import zstandard
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from charter.__about__ import __version__
from charter.crypto import (
    DEFAULT_CHUNK,
    KEY_BYTES,
    DecryptionError,
    KekRing,
    KeyProviderError,
    Random,
    StreamEncryptor,
    decrypt_stream,
)

__all__ = [
    "FORMAT",
    "ArtifactError",
    "ArtifactWriter",
    "BackupKeyError",
    "Manifest",
    "ManifestError",
    "read_artifact",
    "unwrap_key",
]

FORMAT = "charter-backup/1"
_READ = 1 << 20


class ManifestError(Exception):
    """A manifest is unreadable, incomplete or altered; the message says which snapshot and what."""


class BackupKeyError(Exception):
    """The backup key of a snapshot cannot be unwrapped here (its KEK is not configured, or is another key)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class Manifest:
    """What a snapshot holds and how to open it.

    Attributes:
        id: the snapshot id, ``YYYYMMDDTHHMMSSZ-xxxxxx`` (sorts by time).
        taken_at: the consistent point of the snapshot (aware UTC): everything committed before is in it.
        finished_at: when the artifact was complete (aware UTC).
        dialect: ``sqlite`` or ``postgresql`` (a data snapshot), or ``keys`` (a key-store backup).
        source: the database it came from, without password.
        schema_revision: the Alembic revision of the data schema.
        tables: row count by table.
        plain_bytes: bytes of the uncompressed payload.
        stored_bytes: bytes of the artifact as stored.
        plain_sha256: SHA-256 (hex) of the payload.
        artifact_sha256: SHA-256 (hex) of the stored artifact.
        kek_id: the KEK that wraps the backup key.
        wrapped_key: the backup key, wrapped (base64).
        chunk_size: plaintext bytes per sealed chunk.
        charter_version: the Charter that wrote it.
        mac: HMAC-SHA256 (hex) of everything above, under a key derived from the backup key.
    """

    id: str
    taken_at: datetime
    finished_at: datetime
    dialect: str
    source: str
    schema_revision: str
    tables: dict[str, int]
    plain_bytes: int
    stored_bytes: int
    plain_sha256: str
    artifact_sha256: str
    kek_id: str
    wrapped_key: str
    chunk_size: int = DEFAULT_CHUNK
    compression: str = "zstd"
    format: str = FORMAT
    charter_version: str = __version__
    mac: str = field(default="", compare=False)

    def _body(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "id": self.id,
            "taken_at": self.taken_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "finished_at": self.finished_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "source": {"dialect": self.dialect, "database": self.source, "schema_revision": self.schema_revision},
            "tables": dict(sorted(self.tables.items())),
            "sizes": {"plain": self.plain_bytes, "stored": self.stored_bytes},
            "checksums": {"plain_sha256": self.plain_sha256, "artifact_sha256": self.artifact_sha256},
            "key": {
                "algorithm": "AES-256-GCM-STREAM",
                "chunk_size": self.chunk_size,
                "kek_id": self.kek_id,
                "wrapped": self.wrapped_key,
            },
            "compression": self.compression,
            "charter_version": self.charter_version,
        }

    def _mac(self, key: bytes) -> str:
        canonical = json.dumps(self._body(), sort_keys=True, separators=(",", ":")).encode()
        return hmac.new(_manifest_key(key), canonical, hashlib.sha256).hexdigest()

    def to_json(self) -> bytes:
        """The manifest file's bytes (UTF-8 JSON)."""
        return json.dumps({**self._body(), "mac": self.mac}, indent=2, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes, *, name: str) -> Manifest:
        """Parse a manifest file (not yet authenticated: :func:`read_artifact` checks the MAC).

        Raises:
            ManifestError: not JSON, another format, or a field missing or of the wrong type.
        """
        try:
            raw = json.loads(data)
            if raw.get("format") != FORMAT:
                raise ManifestError(f"{name}: not a {FORMAT} manifest (format {raw.get('format')!r})")
            source, sizes, sums, key = raw["source"], raw["sizes"], raw["checksums"], raw["key"]
            tables = {str(k): int(v) for k, v in raw["tables"].items()}
            manifest = cls(
                id=str(raw["id"]),
                taken_at=_utc(raw["taken_at"]),
                finished_at=_utc(raw["finished_at"]),
                dialect=str(source["dialect"]),
                source=str(source["database"]),
                schema_revision=str(source["schema_revision"]),
                tables=tables,
                plain_bytes=int(sizes["plain"]),
                stored_bytes=int(sizes["stored"]),
                plain_sha256=str(sums["plain_sha256"]),
                artifact_sha256=str(sums["artifact_sha256"]),
                kek_id=str(key["kek_id"]),
                wrapped_key=str(key["wrapped"]),
                chunk_size=int(key["chunk_size"]),
                compression=str(raw["compression"]),
                charter_version=str(raw.get("charter_version", "")),
                mac=str(raw["mac"]),
            )
        except ManifestError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ManifestError(f"{name}: the manifest is damaged (not a complete Charter manifest)") from None
        if manifest.dialect not in ("sqlite", "postgresql", "keys") or manifest.compression != "zstd":
            raise ManifestError(f"{name}: unknown source or compression")
        return manifest


def _utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("naive time")
    return parsed.astimezone(UTC)


def _manifest_key(backup_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"charter-backup-manifest").derive(backup_key)


def _aad(snapshot_id: str) -> bytes:
    return b"charter-backup|" + snapshot_id.encode()


class _Counting:
    """A write-through stream that hashes and counts what passes."""

    def __init__(self, out: BinaryIO | Any) -> None:
        self._out = out
        self.sha = hashlib.sha256()
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.sha.update(data)
        self.count += len(data)
        self._out.write(data)
        return len(data)

    def flush(self) -> None:
        pass


class ArtifactWriter:
    """Writes an artifact into ``out``: write the payload, then :meth:`finish`, then :meth:`manifest`.

    Args:
        out: the artifact file (binary, writable).
        snapshot_id: the snapshot's id (bound into the encryption as associated data).
        kek: the KEK ring; its current KEK wraps the fresh backup key.
        random: source of the backup key and nonce prefix.
        level: zstd level. 1 by default: tenant values are already encrypted (incompressible), so higher levels
            save little (level 3: about 2.6% smaller on the benchmark database) and cost time and memory.
        threads: zstd worker threads; 0 compresses in this thread with small, fixed buffers (bounded memory
            whatever the host's core count).

    Raises:
        KeyProviderError: the KEK cannot wrap (e.g. KMS unreachable).
    """

    def __init__(
        self, out: BinaryIO, *, snapshot_id: str, kek: KekRing, random: Random, level: int = 1, threads: int = 0
    ) -> None:
        self.snapshot_id = snapshot_id
        self._key = random(KEY_BYTES)
        self._kek_id = kek.key_id
        self._wrapped = _b64(kek.wrap(self._key, _aad(snapshot_id)))
        self._stored = _Counting(out)
        self._sealer = StreamEncryptor(self._key, self._stored, _aad(snapshot_id), random=random)  # type: ignore[arg-type]
        self._compressor = zstandard.ZstdCompressor(level=level, threads=threads).stream_writer(
            self._sealer,  # type: ignore[arg-type]
            closefd=False,
            write_return_read=True,
        )
        self._plain = _Counting(self._compressor)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Add payload bytes."""
        return self._plain.write(data)

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        """Compress and seal what is buffered, and the last chunk."""
        self._compressor.close()  # type: ignore[no-untyped-call]
        self._sealer.close()

    def manifest(self, **fields: Any) -> Manifest:
        """The signed manifest of the finished artifact; ``fields`` give id-independent facts (times, source,
        tables)."""
        manifest = Manifest(
            id=self.snapshot_id,
            kek_id=self._kek_id,
            wrapped_key=self._wrapped,
            plain_bytes=self._plain.count,
            stored_bytes=self._stored.count,
            plain_sha256=self._plain.sha.hexdigest(),
            artifact_sha256=self._stored.sha.hexdigest(),
            **fields,
        )
        return replace(manifest, mac=manifest._mac(self._key))


def unwrap_key(manifest: Manifest, kek: KekRing) -> bytes:
    """Unwrap the snapshot's backup key and check the manifest's MAC with it.

    Raises:
        BackupKeyError: the KEK is not configured here, or is another key.
        ManifestError: the manifest was altered.
    """
    try:
        wrapped = base64.b64decode(manifest.wrapped_key, validate=True)
        key = kek.unwrap(wrapped, _aad(manifest.id), manifest.kek_id)
    except KeyProviderError:
        raise BackupKeyError(
            f"snapshot {manifest.id}: its backup key is wrapped by the key-encryption key {manifest.kek_id}, "
            "which is not configured here (keep retired KEKs as long as the backups they wrap)"
        ) from None
    except (DecryptionError, ValueError):
        raise BackupKeyError(
            f"snapshot {manifest.id}: the configured key-encryption key does not open its backup key (wrong key)"
        ) from None
    if not hmac.compare_digest(manifest._mac(key), manifest.mac):
        raise ManifestError(f"snapshot {manifest.id}: the manifest was altered (its MAC does not match)")
    return key


class ArtifactError(Exception):
    """An artifact is damaged: cut, altered, or not the one its manifest describes."""


class _ChunkReader:
    """A file-like ``read`` over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        if not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._buffer = memoryview(chunk)
        if size < 0 or size >= len(self._buffer):
            data, self._buffer = bytes(self._buffer), memoryview(b"")
        else:
            data, self._buffer = bytes(self._buffer[:size]), self._buffer[size:]
        return data


class _HashingReader:
    def __init__(self, source: BinaryIO, *, hashing: bool) -> None:
        self._source = source
        self.sha = hashlib.sha256() if hashing else None
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        if self.sha is not None:
            self.sha.update(data)
        self.count += len(data)
        return data


def read_artifact(manifest: Manifest, key: bytes, source: BinaryIO, *, checksums: bool = True) -> Iterator[bytes]:
    """Yield the payload of an artifact in chunks, checking everything the manifest says.

    The payload is trustworthy only once the generator finished without error. Every chunk is authenticated
    (AES-GCM, counter and last flag) and the sizes are compared with the MAC-checked manifest; ``checksums``
    also compares the SHA-256 of the artifact and of the payload (``verify`` does; a restore, which needs
    speed, relies on the authentication, which already proves the same bytes).

    Raises:
        ArtifactError: the artifact is cut, altered, swapped or does not match the manifest's sizes and
            checksums (one opaque reason for any decryption failure, as cryptography's recipes do).
    """
    reader = _HashingReader(source, hashing=checksums)
    plain = hashlib.sha256() if checksums else None
    count = 0
    # read_to_iter bounds what one step yields (1 MiB), however well a chunk had compressed
    payload = zstandard.ZstdDecompressor().read_to_iter(
        _ChunkReader(decrypt_stream(key, reader, _aad(manifest.id))),  # type: ignore[arg-type]
        read_size=_READ,
        write_size=_READ,
    )
    try:
        for data in payload:
            if plain is not None:
                plain.update(data)
            count += len(data)
            yield data
    except DecryptionError:
        raise ArtifactError(
            f"snapshot {manifest.id}: the artifact does not decrypt (cut, altered, or from another snapshot)"
        ) from None
    except zstandard.ZstdError:
        raise ArtifactError(f"snapshot {manifest.id}: the payload does not decompress") from None
    if reader.count != manifest.stored_bytes or (reader.sha and reader.sha.hexdigest() != manifest.artifact_sha256):
        raise ArtifactError(f"snapshot {manifest.id}: the artifact's size or checksum differs from the manifest")
    if count != manifest.plain_bytes or (plain and plain.hexdigest() != manifest.plain_sha256):
        raise ArtifactError(f"snapshot {manifest.id}: the payload's size or checksum differs from the manifest")
