"""Per-tenant data-encryption keys (DEKs), wrapped by the key-encryption key (KEK).

Each tenant's values are sealed under its own 256-bit DEK with associated data naming the tenant and
the purpose of the value, so a ciphertext copied to another tenant or another column does not open.
DEKs are stored only wrapped, in the key store (a database apart from the data, never in a data backup);
destroying a tenant's DEKs (crypto-shredding) makes every copy of its data unreadable, backups included.

Blob layout: ``DEK version (4 bytes, big-endian) || sealed`` (see :mod:`charter.crypto`).

Rotation without downtime:

* KEK: :meth:`Keyring.rewrap` unwraps every DEK wrapped under an older KEK (found by the ``kek_id``
  stored beside it) and wraps it under the current one; data is untouched.
* DEK: :meth:`Keyring.rotate_data_key` adds a version; new values use it, older versions keep opening
  what they sealed until :meth:`Keyring.retire_old_versions` destroys them (after re-encryption).

Unwrapped DEKs are cached in memory for ``cache_ttl`` seconds (monotonic clock), so that a hot path does
not unwrap on every request; a destroy in this process evicts at once, in another process within the TTL.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from charter.clock import Clock
from charter.crypto import KEY_BYTES, DecryptionError, KekRing, KeyProvider, Random, open_sealed, seal
from charter.store._db import Database
from charter.store._models import DataKeyRow

__all__ = [
    "KeyDestroyedError",
    "Keyring",
    "RotationTooRecentError",
    "blob_version",
    "export_key_rows",
    "import_key_rows",
    "key_store_is_empty",
]


class KeyDestroyedError(DecryptionError):
    """The tenant's data key was destroyed (the tenant was purged): its data is gone for good."""


class RotationTooRecentError(Exception):
    """Old data-key versions cannot be retired yet: the newest is younger than the key cache's TTL.

    Attributes:
        retry_after: seconds until they can be.
    """

    def __init__(self, tenant_id: str, retry_after: float) -> None:
        super().__init__(tenant_id)
        self.retry_after = retry_after


@dataclass
class _Cached:
    keys: dict[int, bytes]
    current: int
    loaded_at: float


def _dek_aad(tenant_id: str, version: int) -> bytes:
    return f"charter:dek:{tenant_id}:{version}".encode()


def _data_aad(tenant_id: str, purpose: str) -> bytes:
    return f"charter:data:{tenant_id}:{purpose}".encode()


def key_store_is_empty(db: Database) -> bool:
    """Whether the key store holds no data key at all (a new installation: a new KEK may be made)."""
    with db.session() as session:
        return session.scalar(select(DataKeyRow.tenant_id).limit(1)) is None


def blob_version(blob: bytes) -> int:
    """The DEK version a blob was sealed with."""
    return int.from_bytes(blob[:4], "big")


class Keyring:
    """Seals and opens tenant values under per-tenant DEKs.

    Args:
        db: the migrated key store (a :class:`Database` with ``role="keys"``), apart from the data.
        kek: the KEK ring (current and previous KEKs), or a single KEK provider.
        clock: for timestamps and the cache's monotonic clock.
        random: source of key material and nonces (``os.urandom``).
        cache_ttl: seconds an unwrapped DEK stays in memory.

    Raises:
        ValueError: ``db`` is not a key store.
    """

    def __init__(
        self,
        db: Database,
        kek: KekRing | KeyProvider,
        *,
        clock: Clock,
        random: Random = os.urandom,
        cache_ttl: float = 60.0,
    ) -> None:
        if db.role != "keys":
            raise ValueError("the keyring needs the key store (Database(url, role='keys')), apart from the data")
        self._db = db
        self._kek = kek if isinstance(kek, KekRing) else KekRing(kek)
        self._clock = clock
        self._random = random
        self._ttl = cache_ttl
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    # -- sealing --------------------------------------------------------------------------------------

    def seal(self, tenant_id: str, purpose: str, plaintext: bytes) -> bytes:
        """Encrypt ``plaintext`` for ``tenant_id`` under its newest DEK (created on first use).

        Raises:
            KeyDestroyedError: the tenant was purged.
        """
        keys = self._keys(tenant_id, create=True)
        key = keys.keys[keys.current]
        return keys.current.to_bytes(4, "big") + seal(
            key, plaintext, _data_aad(tenant_id, purpose), random=self._random
        )

    def open(self, tenant_id: str, purpose: str, blob: bytes) -> bytes:
        """Decrypt a blob sealed by :meth:`seal` for the same tenant and purpose.

        Raises:
            KeyDestroyedError: the tenant's keys (or that version) were destroyed.
            DecryptionError: any other failure (wrong tenant or purpose, damaged blob).
        """
        if len(blob) < 5:
            raise DecryptionError
        version = blob_version(blob)
        keys = self._keys(tenant_id, create=False)
        key = keys.keys.get(version)
        if key is None:
            keys = self._keys(tenant_id, create=False, refresh=True)
            key = keys.keys.get(version)
            if key is None:
                raise KeyDestroyedError
        return open_sealed(key, blob[4:], _data_aad(tenant_id, purpose))

    def derive(self, owner: str, label: bytes) -> bytes:
        """A 256-bit key for ``label``, derived (HMAC-SHA256) from ``owner``'s oldest live data key.

        Stable across processes and KEK rotations; do not rotate or retire the owner's data keys.
        """
        keys = self._keys(owner, create=True)
        return hmac.new(keys.keys[min(keys.keys)], label, hashlib.sha256).digest()

    def live_versions(self, tenant_id: str) -> list[int]:
        """The tenant's DEK versions that are not destroyed (read from the key store, not the cache)."""
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(DataKeyRow.version)
                    .where(DataKeyRow.tenant_id == tenant_id, DataKeyRow.wrapped.is_not(None))
                    .order_by(DataKeyRow.version)
                )
            )

    def current_version(self, tenant_id: str) -> int | None:
        """The newest DEK version of a tenant, or ``None`` if it has none (or they were destroyed)."""
        try:
            return self._keys(tenant_id, create=False).current
        except KeyDestroyedError:
            return None

    # -- destruction ------------------------------------------------------------------------------------

    def destroy(self, tenant_id: str) -> list[str]:
        """Crypto-shred: erase every DEK of ``tenant_id`` (idempotent). Returns the ids of destroyed keys."""
        with self._lock:
            self._cache.pop(tenant_id, None)
        now = self._clock.now()
        with self._db.session() as session:
            rows = session.scalars(select(DataKeyRow).where(DataKeyRow.tenant_id == tenant_id)).all()
            destroyed = [f"{tenant_id}/v{row.version}" for row in rows if row.wrapped is not None]
            session.execute(
                update(DataKeyRow)
                .where(DataKeyRow.tenant_id == tenant_id, DataKeyRow.wrapped.is_not(None))
                .values(wrapped=None, destroyed_at=now)
            )
        return destroyed

    # -- rotation ---------------------------------------------------------------------------------------

    def rewrap(self, *, batch: int = 500, progress: Callable[[int, int], None] | None = None) -> int:
        """Re-wrap every live DEK that is not under the current KEK (KEK rotation). Idempotent.

        Args:
            batch: DEKs per transaction.
            progress: called with ``(done, total)`` after each batch.

        Returns:
            How many DEKs were re-wrapped.

        Raises:
            KeyProviderError: a DEK's KEK is not configured (nothing of that batch is changed).
        """
        current = self._kek.key_id
        with self._db.session() as session:
            total = (
                session.scalar(
                    select(func.count()).where(DataKeyRow.wrapped.is_not(None), DataKeyRow.kek_id != current)
                )
                or 0
            )
        done = 0
        while True:
            with self._db.session() as session:
                rows = session.scalars(
                    select(DataKeyRow)
                    .where(DataKeyRow.wrapped.is_not(None), DataKeyRow.kek_id != current)
                    .order_by(DataKeyRow.tenant_id, DataKeyRow.version)
                    .limit(batch)
                ).all()
                if not rows:
                    break
                for row in rows:
                    assert row.wrapped is not None
                    aad = _dek_aad(row.tenant_id, row.version)
                    dek = self._kek.unwrap(row.wrapped, aad, row.kek_id)
                    row.wrapped = self._kek.wrap(dek, aad)
                    row.kek_id = current
                done += len(rows)
            if progress is not None:
                progress(done, total)
        return done

    @property
    def database(self) -> Database:
        """The key store."""
        return self._db

    @property
    def kek(self) -> KekRing:
        """The KEK ring (backups wrap their own data keys with it)."""
        return self._kek

    @property
    def kek_id(self) -> str:
        """The current KEK's id."""
        return self._kek.key_id

    def kek_usage(self) -> dict[str, int]:
        """Live DEKs per KEK id (after a complete :meth:`rewrap`, only the current one)."""
        with self._db.session() as session:
            rows = session.execute(
                select(DataKeyRow.kek_id, func.count())
                .where(DataKeyRow.wrapped.is_not(None))
                .group_by(DataKeyRow.kek_id)
            ).all()
        return {kek_id: int(count) for kek_id, count in rows}

    def rotate_data_key(self, tenant_id: str) -> int:
        """Add a new DEK version for the tenant; new values use it, old versions still open their values.

        Returns:
            The new version.

        Raises:
            KeyDestroyedError: the tenant was purged.
        """
        with self._db.session() as session:
            rows = session.scalars(select(DataKeyRow).where(DataKeyRow.tenant_id == tenant_id)).all()
            if rows and all(r.wrapped is None for r in rows):
                raise KeyDestroyedError
            version = max((r.version for r in rows), default=0) + 1
            dek = self._random(KEY_BYTES)
            session.add(
                DataKeyRow(
                    tenant_id=tenant_id,
                    version=version,
                    wrapped=self._kek.wrap(dek, _dek_aad(tenant_id, version)),
                    kek_id=self._kek.key_id,
                    created_at=self._clock.now(),
                )
            )
        with self._lock:
            self._cache.pop(tenant_id, None)
        return version

    def retire_old_versions(self, tenant_id: str) -> list[str]:
        """Destroy every DEK version but the newest ("rotated out"): call it after re-encrypting the
        tenant's values under the newest version. Returns the ids of destroyed keys.

        Raises:
            RotationTooRecentError: the newest version is younger than the cache TTL, so another process may
                still seal with an older one; retire later.
        """
        live = self.live_versions(tenant_id)
        if not live:
            return []
        newest = live[-1]
        with self._db.session() as session:
            created = session.scalar(
                select(DataKeyRow.created_at).where(DataKeyRow.tenant_id == tenant_id, DataKeyRow.version == newest)
            )
        if created is not None and (age := (self._clock.now() - created).total_seconds()) < self._ttl:
            raise RotationTooRecentError(tenant_id, self._ttl - age)
        with self._lock:
            self._cache.pop(tenant_id, None)
        with self._db.session() as session:
            rows = session.scalars(
                select(DataKeyRow).where(
                    DataKeyRow.tenant_id == tenant_id, DataKeyRow.version < newest, DataKeyRow.wrapped.is_not(None)
                )
            ).all()
            for row in rows:
                row.wrapped = None
                row.destroyed_at = self._clock.now()
            return [f"{tenant_id}/v{row.version}" for row in rows]

    def preload(self, tenant_ids: Collection[str]) -> None:
        """Load the live DEKs of many tenants with one key-store query (a restore check reads thousands of
        tenants); tenants without live keys are skipped. The usual cache TTL applies."""
        wanted = set(tenant_ids)
        rows: dict[str, list[DataKeyRow]] = {}
        with self._db.session() as session:
            for row in session.scalars(select(DataKeyRow).where(DataKeyRow.wrapped.is_not(None))):
                if row.tenant_id in wanted:
                    rows.setdefault(row.tenant_id, []).append(row)
        loaded = {tenant_id: self._unwrap(tenant_id, tenant_rows) for tenant_id, tenant_rows in rows.items()}
        with self._lock:
            self._cache.update(loaded)

    def tenants(self) -> list[str]:
        """Every tenant id with a live DEK."""
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(DataKeyRow.tenant_id)
                    .where(DataKeyRow.wrapped.is_not(None))
                    .distinct()
                    .order_by(DataKeyRow.tenant_id)
                )
            )

    def destroyed(self) -> set[str]:
        """Every owner whose DEKs were all destroyed (crypto-shredded), read from the key store."""
        with self._db.session() as session:
            rows = session.execute(select(DataKeyRow.tenant_id, DataKeyRow.wrapped.is_(None))).all()
        owners: dict[str, bool] = {}
        for owner, gone in rows:
            owners[owner] = owners.get(owner, True) and bool(gone)
        return {owner for owner, gone in owners.items() if gone}

    # -- internals ------------------------------------------------------------------------------------

    def _keys(self, tenant_id: str, *, create: bool, refresh: bool = False) -> _Cached:
        now = self._clock.monotonic()
        with self._lock:
            cached = self._cache.get(tenant_id)
            if cached is not None and not refresh and now - cached.loaded_at < self._ttl:
                return cached
        loaded = self._load(tenant_id)
        if loaded is None:
            if not create:
                raise KeyDestroyedError
            loaded = self._create(tenant_id)
        with self._lock:
            self._cache[tenant_id] = loaded
        return loaded

    def _load(self, tenant_id: str) -> _Cached | None:
        with self._db.session() as session:
            rows = session.scalars(select(DataKeyRow).where(DataKeyRow.tenant_id == tenant_id)).all()
        if not rows:
            return None
        return self._unwrap(tenant_id, rows)

    def _unwrap(self, tenant_id: str, rows: Sequence[DataKeyRow]) -> _Cached:
        """The live DEKs of ``rows`` (one tenant's), unwrapped. Raises KeyDestroyedError when none is live."""
        keys = {
            row.version: self._kek.unwrap(row.wrapped, _dek_aad(tenant_id, row.version), row.kek_id)
            for row in rows
            if row.wrapped is not None
        }
        if not keys:
            raise KeyDestroyedError
        return _Cached(keys, max(keys), self._clock.monotonic())

    def _create(self, tenant_id: str) -> _Cached:
        dek = self._random(KEY_BYTES)
        row = DataKeyRow(
            tenant_id=tenant_id,
            version=1,
            wrapped=self._kek.wrap(dek, _dek_aad(tenant_id, 1)),
            kek_id=self._kek.key_id,
            created_at=self._clock.now(),
        )
        try:
            with self._db.session() as session:
                session.add(row)
        except IntegrityError:
            # Another process created the key first: use theirs.
            loaded = self._load(tenant_id)
            if loaded is None:  # pragma: no cover - the conflicting row cannot vanish
                raise
            return loaded
        return _Cached({1: dek}, 1, self._clock.monotonic())


def export_key_rows(db: Database) -> list[dict[str, object]]:
    """Every row of a key store, for a key-store backup: ``tenant_id``, ``version``, ``wrapped`` (bytes, or
    ``None`` once destroyed), ``kek_id``, ``created_at`` and ``destroyed_at`` (aware UTC or ``None``).

    The DEKs stay wrapped by their KEK: the export opens nothing without it.
    """
    with db.session() as session:
        return [
            {
                "tenant_id": row.tenant_id,
                "version": row.version,
                "wrapped": row.wrapped,
                "kek_id": row.kek_id,
                "created_at": row.created_at,
                "destroyed_at": row.destroyed_at,
            }
            for row in session.scalars(select(DataKeyRow).order_by(DataKeyRow.tenant_id, DataKeyRow.version))
        ]


def import_key_rows(db: Database, rows: list[dict[str, object]]) -> int:
    """Put exported rows into ``db``, a migrated key store that holds no key yet; returns how many.

    Raises:
        ValueError: ``db`` is not a key store, or already holds keys (nothing is written).
    """
    if db.role != "keys":
        raise ValueError("keys are imported into a key store (Database(url, role='keys'))")
    with db.session() as session:
        if session.scalar(select(func.count()).select_from(DataKeyRow)):
            raise ValueError("the key store already holds keys: recover into an empty one")
        session.add_all(DataKeyRow(**row) for row in rows)
    return len(rows)
