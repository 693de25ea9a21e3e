"""The tenant data store: one conformance suite on SQLite and PostgreSQL, and the at-rest properties."""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text, update

from charter.clock import FrozenClock
from charter.crypto import DecryptionError, FileKeyProvider
from charter.store import Database, KeyDestroyedError, Keyring, RecordRow, TenantStore, UndeclaredKindError
from charter.store._keyring import blob_version

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def keyring(key_database: Database, tmp_path: Path, clock: FrozenClock) -> Keyring:
    return Keyring(key_database, FileKeyProvider(tmp_path / "kek.key"), clock=clock)


@pytest.fixture
def store(database: Database, keyring: Keyring, clock: FrozenClock) -> TenantStore:
    return TenantStore(database, keyring, kinds=["note", "note-author"], clock=clock)


def test_put_get_replace_delete(store: TenantStore, database: Database, clock: FrozenClock) -> None:
    assert store.get("tenant-a", "note", "FAKE-1") is None
    store.put("tenant-a", "note", "FAKE-1", {"text": "first", "n": 1})
    assert store.get("tenant-a", "note", "FAKE-1") == {"text": "first", "n": 1}
    clock.advance(timedelta(minutes=5))
    store.put("tenant-a", "note", "FAKE-1", ["second"])
    assert store.get("tenant-a", "note", "FAKE-1") == ["second"]
    with database.session() as session:
        row = session.get(RecordRow, ("tenant-a", "note", "FAKE-1"))
        assert row is not None and row.created_at == T0 and row.updated_at == T0 + timedelta(minutes=5)
    assert store.delete("tenant-a", "note", "FAKE-1") is True
    assert store.delete("tenant-a", "note", "FAKE-1") is False
    assert store.get("tenant-a", "note", "FAKE-1") is None


def test_tenants_and_kinds_are_apart(store: TenantStore) -> None:
    store.put("tenant-a", "note", "K", "a's note")
    store.put("tenant-b", "note", "K", "b's note")
    store.put("tenant-a", "note-author", "K", "a's author")
    assert store.get("tenant-a", "note", "K") == "a's note"
    assert store.get("tenant-b", "note", "K") == "b's note"
    assert store.get("tenant-a", "note-author", "K") == "a's author"
    assert store.count("tenant-a") == {"note": 1, "note-author": 1}
    assert store.count("tenant-b") == {"note": 1}
    assert store.count("tenant-c") == {}
    store.delete("tenant-a", "note", "K")
    assert store.get("tenant-b", "note", "K") == "b's note"


def test_undeclared_kinds_fail_everywhere(store: TenantStore) -> None:
    for call in (
        lambda: store.put("tenant-a", "email", "K", "jane.roe@example.com"),
        lambda: store.get("tenant-a", "email", "K"),
        lambda: store.delete("tenant-a", "email", "K"),
        lambda: store.list("tenant-a", "email"),
    ):
        with pytest.raises(UndeclaredKindError, match="'email' is not declared"):
            call()
    assert store.count("tenant-a") == {}


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_bad_keys_are_refused(store: TenantStore, key: str) -> None:
    with pytest.raises(ValueError, match="1 to 255 characters"):
        store.put("tenant-a", "note", key, 1)


def test_values_json_cannot_hold_are_refused_and_nothing_is_written(store: TenantStore) -> None:
    with pytest.raises(TypeError):
        store.put("tenant-a", "note", "K", {1, 2})
    assert store.count("tenant-a") == {}


def test_list_orders_limits_and_treats_prefix_literally(store: TenantStore) -> None:
    for key in ["a%1", "a_2", "ab3", "a\\4", "b5", "a%0"]:
        store.put("tenant-a", "note", key, key.upper())
    store.put("tenant-b", "note", "a%9", "other tenant")
    assert [k for k, _ in store.list("tenant-a", "note")] == sorted(["a%1", "a_2", "ab3", "a\\4", "b5", "a%0"])
    assert store.list("tenant-a", "note", prefix="a%") == [("a%0", "A%0"), ("a%1", "A%1")]
    assert store.list("tenant-a", "note", prefix="a_") == [("a_2", "A_2")]
    assert store.list("tenant-a", "note", prefix="a\\") == [("a\\4", "A\\4")]
    assert len(store.list("tenant-a", "note", prefix="a", limit=2)) == 2
    with pytest.raises(ValueError, match="limit"):
        store.list("tenant-a", "note", limit=0)


def test_a_row_copied_to_another_tenant_or_key_does_not_decrypt(store: TenantStore, database: Database) -> None:
    store.put("tenant-a", "note", "K1", "a secret note")
    store.put("tenant-a", "note", "K2", "another")
    store.put("tenant-b", "note", "K1", "b's")
    with database.session() as session:
        sealed = session.get(RecordRow, ("tenant-a", "note", "K1")).value  # type: ignore[union-attr]
        for target in (("tenant-b", "note", "K1"), ("tenant-a", "note", "K2")):
            session.execute(
                update(RecordRow)
                .where(RecordRow.tenant_id == target[0], RecordRow.kind == target[1], RecordRow.key == target[2])
                .values(value=sealed)
            )
    with pytest.raises(DecryptionError):
        store.get("tenant-b", "note", "K1")
    with pytest.raises(DecryptionError):
        store.get("tenant-a", "note", "K2")
    assert store.get("tenant-a", "note", "K1") == "a secret note"


def test_a_purged_tenant_can_neither_read_nor_write(store: TenantStore, keyring: Keyring) -> None:
    store.put("tenant-a", "note", "K", "x")
    keyring.destroy("tenant-a")
    with pytest.raises(KeyDestroyedError):
        store.get("tenant-a", "note", "K")
    with pytest.raises(KeyDestroyedError):
        store.put("tenant-a", "note", "K2", "y")


def test_old_key_versions_stay_readable_and_are_resealed_lazily_or_in_batch(
    store: TenantStore, keyring: Keyring, database: Database
) -> None:
    for i in range(7):
        store.put("tenant-a", "note", f"K{i}", i)
    assert keyring.rotate_data_key("tenant-a") == 2
    store.put("tenant-a", "note", "new", "under v2")

    def versions() -> dict[str, int]:
        with database.session() as session:
            rows = session.execute(select(RecordRow.key, RecordRow.value).where(RecordRow.tenant_id == "tenant-a"))
            return {key: blob_version(value) for key, value in rows}

    assert versions()["new"] == 2 and versions()["K0"] == 1
    assert store.get("tenant-a", "note", "K0") == 0  # read under v1 ...
    assert versions()["K0"] == 2  # ... and re-sealed under v2
    assert store.reencrypt("tenant-a", batch=2) == 6
    assert set(versions().values()) == {2}
    assert store.reencrypt("tenant-a") == 0
    assert [v for _, v in store.list("tenant-a", "note")] == [0, 1, 2, 3, 4, 5, 6, "under v2"]


# -- at rest: no plaintext of any stored value in the raw database ------------------------------------

_text = st.text(alphabet=string.ascii_letters + string.digits + " @.-", min_size=12, max_size=40)


def _raw(database: Database, tmp_path: Path) -> bytes:
    """Every byte the data database holds: the SQLite files, or a dump of every table on PostgreSQL."""
    if database.dialect == "sqlite":
        return b"".join(p.read_bytes() for p in tmp_path.glob("charter.db*"))
    with database.engine.connect() as conn:
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars()
        return b"".join(
            repr(row).encode() for table in list(tables) for row in conn.execute(text(f'SELECT * FROM "{table}"'))
        )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.tuples(_text, _text), min_size=1, max_size=5))
def test_no_plaintext_of_any_stored_value_reaches_the_database(
    store: TenantStore, database: Database, tmp_path: Path, values: list[tuple[str, str]]
) -> None:
    for i, (value, nested) in enumerate(values):
        store.put("tenant-a", "note", f"K{i}", {"text": value, "nested": [nested]})
    raw = _raw(database, tmp_path)
    for value, nested in values:
        for secret in (value, nested, json.dumps(value)):
            assert secret.encode() not in raw
    assert store.get("tenant-a", "note", "K0") == {"text": values[0][0], "nested": [values[0][1]]}


def test_readable_tells_live_purged_and_empty_tenants_apart(store: TenantStore, keyring: Keyring) -> None:
    store.put("tenant-a", "note", "FAKE-1", {"text": "a"})
    store.put("tenant-b", "note", "FAKE-1", {"text": "b"})
    keyring.destroy("tenant-b")
    assert [store.readable(t) for t in ("tenant-a", "tenant-b", "tenant-none")] == [True, False, None]
    keyring.preload(["tenant-a", "tenant-b"])
    assert store.readable_many(["tenant-a", "tenant-b", "tenant-none"]) == {
        "tenant-a": True,
        "tenant-b": False,
        "tenant-none": None,
    }
