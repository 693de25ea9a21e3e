"""Per-tenant data keys: conformance on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from charter.clock import FrozenClock
from charter.crypto import DecryptionError, FileKeyProvider, KeyProviderError
from charter.store import Database, KeyDestroyedError, Keyring
from charter.store._models import DataKeyRow


@pytest.fixture
def keyring(key_database: Database, tmp_path: Path) -> Keyring:
    return Keyring(
        key_database, FileKeyProvider(tmp_path / "kek.key"), clock=FrozenClock(datetime(2026, 11, 1, tzinfo=UTC))
    )


def test_values_are_bound_to_tenant_and_purpose(keyring: Keyring) -> None:
    blob = keyring.seal("tenant-a", "secret", b"s1-fake-secret-0001")
    assert keyring.open("tenant-a", "secret", blob) == b"s1-fake-secret-0001"
    keyring.seal("tenant-b", "secret", b"x")
    with pytest.raises(DecryptionError):
        keyring.open("tenant-b", "secret", blob)  # copied into another tenant
    with pytest.raises(DecryptionError):
        keyring.open("tenant-a", "base-url", blob)  # copied into another column


def test_deks_are_stored_only_wrapped(keyring: Keyring) -> None:
    keyring.seal("tenant-a", "secret", b"x")
    with keyring._db.session() as session:
        rows = session.scalars(select(DataKeyRow)).all()
    assert len(rows) == 1
    assert rows[0].wrapped is not None and len(rows[0].wrapped) == 1 + 12 + 32 + 16
    assert rows[0].kek_id.startswith("file:")


def test_destroy_is_crypto_shredding(keyring: Keyring, key_database_url: str, tmp_path: Path) -> None:
    blob = keyring.seal("tenant-a", "secret", b"x")
    other = keyring.seal("tenant-b", "secret", b"y")
    assert keyring.destroy("tenant-a") == ["tenant-a/v1"]
    assert keyring.destroy("tenant-a") == []  # idempotent
    second_process = Database(key_database_url, role="keys")
    fresh = Keyring(
        second_process, FileKeyProvider(tmp_path / "kek.key"), clock=FrozenClock(datetime(2026, 11, 2, tzinfo=UTC))
    )
    for ring in (keyring, fresh):
        with pytest.raises(KeyDestroyedError):
            ring.open("tenant-a", "secret", blob)
        with pytest.raises(KeyDestroyedError):
            ring.seal("tenant-a", "secret", b"new data for a purged tenant")
        assert ring.open("tenant-b", "secret", other) == b"y"
    second_process.close()


def test_a_wrong_kek_cannot_unwrap(keyring: Keyring, tmp_path: Path) -> None:
    blob = keyring.seal("tenant-a", "secret", b"x")
    stranger = Keyring(
        keyring._db, FileKeyProvider(tmp_path / "other.key"), clock=FrozenClock(datetime(2026, 11, 1, tzinfo=UTC))
    )
    with pytest.raises(KeyProviderError, match=r"wrapped by the key-encryption key file:.*not configured here"):
        stranger.open("tenant-a", "secret", blob)


def test_the_keyring_refuses_the_data_database(database: Database, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="key store"):
        Keyring(database, FileKeyProvider(tmp_path / "kek.key"), clock=FrozenClock(datetime(2026, 11, 1, tzinfo=UTC)))
