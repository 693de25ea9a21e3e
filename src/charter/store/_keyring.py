"""Per-tenant data-encryption keys (DEKs), wrapped by the key-encryption key (KEK).

Each tenant's values are sealed under its own 256-bit DEK with associated data naming the tenant and
the purpose of the value, so a ciphertext copied to another tenant or another column does not open.
DEKs are stored only wrapped (:class:`~charter.crypto.KeyProvider`); destroying a tenant's DEKs
(crypto-shredding) makes every copy of its data unreadable, including copies in backups.

Blob layout: ``DEK version (4 bytes, big-endian) || sealed`` (see :mod:`charter.crypto`).

Unwrapped DEKs are cached in memory for ``cache_ttl`` seconds (monotonic clock), so that a hot path does
not unwrap on every request; a destroy in this process evicts at once, in another process within the TTL.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from charter.clock import Clock
from charter.crypto import KEY_BYTES, DecryptionError, KeyProvider, Random, open_sealed, seal
from charter.store._db import Database
from charter.store._models import DataKeyRow

__all__ = ["KeyDestroyedError", "Keyring"]


class KeyDestroyedError(DecryptionError):
    """The tenant's data key was destroyed (the tenant was purged): its data is gone for good."""


@dataclass
class _Cached:
    keys: dict[int, bytes]
    current: int
    loaded_at: float


def _dek_aad(tenant_id: str, version: int) -> bytes:
    return f"charter:dek:{tenant_id}:{version}".encode()


def _data_aad(tenant_id: str, purpose: str) -> bytes:
    return f"charter:data:{tenant_id}:{purpose}".encode()


class Keyring:
    """Seals and opens tenant values under per-tenant DEKs.

    Args:
        db: the migrated key store (a :class:`Database` with ``role="keys"``), apart from the data.
        kek: the key-encryption-key provider.
        clock: for timestamps and the cache's monotonic clock.
        random: source of key material and nonces (``os.urandom``).
        cache_ttl: seconds an unwrapped DEK stays in memory.
    """

    def __init__(
        self, db: Database, kek: KeyProvider, *, clock: Clock, random: Random = os.urandom, cache_ttl: float = 60.0
    ) -> None:
        if db.role != "keys":
            raise ValueError("the keyring needs the key store (Database(url, role='keys')), apart from the data")
        self._db = db
        self._kek = kek
        self._clock = clock
        self._random = random
        self._ttl = cache_ttl
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def seal(self, tenant_id: str, purpose: str, plaintext: bytes) -> bytes:
        """Encrypt ``plaintext`` for ``tenant_id`` under its current DEK (created on first use)."""
        keys = self._keys(tenant_id, create=True)
        key = keys.keys[keys.current]
        return keys.current.to_bytes(4, "big") + seal(
            key, plaintext, _data_aad(tenant_id, purpose), random=self._random
        )

    def open(self, tenant_id: str, purpose: str, blob: bytes) -> bytes:
        """Decrypt a blob sealed by :meth:`seal` for the same tenant and purpose.

        Raises:
            KeyDestroyedError: the tenant's keys were destroyed.
            DecryptionError: any other failure (wrong tenant or purpose, damaged blob).
        """
        if len(blob) < 5:
            raise DecryptionError
        version = int.from_bytes(blob[:4], "big")
        keys = self._keys(tenant_id, create=False)
        key = keys.keys.get(version)
        if key is None:
            keys = self._keys(tenant_id, create=False, refresh=True)
            key = keys.keys.get(version)
            if key is None:
                raise KeyDestroyedError
        return open_sealed(key, blob[4:], _data_aad(tenant_id, purpose))

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

    # -- internals ------------------------------------------------------------------------------

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
        keys = {
            row.version: self._kek.unwrap(row.wrapped, _dek_aad(tenant_id, row.version))
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
