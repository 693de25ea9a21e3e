"""Key rotation without downtime: every value stays readable throughout, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from charter.clock import FrozenClock
from charter.policy import load_charter
from charter.rotation import KeyRotationError, reencrypt_all, rotate_data_keys, rotate_kek
from charter.runtime import Runtime, open_runtime
from charter.store import RecordRow
from charter.store._keyring import blob_version
from charter.store._models import DataKeyRow
from tests.conftest import EXAMPLES, NOW, reopen_runtime


def seed(rt: Runtime, tenants: int = 3, records: int = 4) -> dict[tuple[str, str], Any]:
    values = {}
    for t in range(tenants):
        tenant = f"tenant-{t}"
        for r in range(records):
            value = {"text": f"note {r} of {tenant}"}
            rt.store.put(tenant, "note", f"K{r}", value)
            values[(tenant, f"K{r}")] = value
    return values


def readable(rt: Runtime, values: dict[tuple[str, str], Any]) -> bool:
    return all(rt.store.get(tenant, "note", key) == value for (tenant, key), value in values.items())


def test_a_new_file_kek_rewraps_every_data_key_and_keeps_the_old_file(runtime: Runtime) -> None:
    values = seed(runtime)
    before = runtime.keyring.kek_id
    summary = rotate_kek(runtime, new_file_kek=True)
    assert "4 data key(s) re-wrapped" in summary  # three tenants and the audit key
    assert readable(runtime, values)  # this process, still holding the old KEK ring
    with reopen_runtime(runtime) as after:
        assert after.keyring.kek_id != before
        assert after.keyring.kek_usage() == {after.keyring.kek_id: 4}
        assert readable(after, values)
        assert after.audit.verify().ok
        [entry] = after.audit.entries(kind="keys.kek-rotated")
        assert entry.payload == {"from": before, "to": after.keyring.kek_id, "data_keys": 4}
    assert sorted(p.name for p in (runtime.data_dir / "keys").iterdir()) == [
        f"kek-{before.split(':')[1]}.key",
        "kek.key",
    ]


def test_rewrap_is_idempotent(runtime: Runtime) -> None:
    seed(runtime, 1, 1)
    assert "re-wrapped 0 data key(s)" in rotate_kek(runtime, new_file_kek=False)


def _env_charter(tmp_path: Path) -> Any:
    text = (EXAMPLES / "forge-remote.toml").read_text().replace('key_provider = "file"', 'key_provider = "env"')
    path = tmp_path / "charter.toml"
    path.write_text(text)
    return load_charter(path, clock=FrozenClock(NOW))


def test_env_kek_rotation_through_previous(tmp_path: Path) -> None:
    charter = _env_charter(tmp_path)
    old = base64.b64encode(os.urandom(32)).decode()
    new = base64.b64encode(os.urandom(32)).decode()
    clock = FrozenClock(NOW)
    data = tmp_path / "data"
    with open_runtime(charter, data_dir=data, clock=clock, environ={"CHARTER_KEK": old}) as rt:
        values = seed(rt)
        with pytest.raises(KeyRotationError, match="--rewrap"):
            rotate_kek(rt, new_file_kek=True)
    environ = {"CHARTER_KEK": new, "CHARTER_KEK_PREVIOUS": old}
    with open_runtime(charter, data_dir=data, clock=clock, environ=environ) as rt:
        assert readable(rt, values)  # before the re-wrap: the previous KEK still unwraps
        assert "re-wrapped 4 data key(s)" in rotate_kek(rt, new_file_kek=False)
        assert set(rt.keyring.kek_usage()) == {rt.keyring.kek_id}
    with open_runtime(charter, data_dir=data, clock=clock, environ={"CHARTER_KEK": new}) as rt:
        assert readable(rt, values)  # the old KEK is gone and nothing needs it
        assert rt.audit.verify().ok


def test_data_key_rotation_lazy_then_batch_then_retired(runtime: Runtime) -> None:
    values = seed(runtime)
    assert "3 tenant(s)" in rotate_data_keys(runtime)  # never the audit key
    assert runtime.keyring.current_version("tenant-0") == 2
    assert readable(runtime, values)  # lazily re-sealed while read
    runtime.store.put("tenant-0", "note", "K0", "rewritten")
    values[("tenant-0", "K0")] = "rewritten"
    rotate_data_keys(runtime)  # v3, nothing read since
    summary = reencrypt_all(runtime, retire=True)  # too recent to retire: another process may still cache v2
    assert "rotated too recently" in summary and "re-encrypted 12 value(s)" in summary
    assert runtime.keyring.live_versions("tenant-0") == [1, 2, 3]
    assert isinstance(runtime.clock, FrozenClock)
    runtime.clock.advance(timedelta(minutes=2))
    summary = reencrypt_all(runtime, retire=True)
    assert summary == "re-encrypted 0 value(s); retired 6 old data key version(s)"
    assert runtime.keyring.live_versions("tenant-0") == [3]
    with runtime.database.session() as session:
        assert {blob_version(v) for v in session.scalars(select(RecordRow.value))} == {3}
    assert readable(runtime, values)
    with runtime.key_database.session() as session:
        destroyed = session.scalars(select(DataKeyRow).where(DataKeyRow.wrapped.is_(None))).all()
    assert len(destroyed) == 6 and all(row.destroyed_at is not None for row in destroyed)
    kinds = [e.kind for e in runtime.audit.entries() if e.kind.startswith("keys.")]
    assert kinds == ["keys.data-keys-rotated", "keys.data-keys-rotated", "keys.re-encrypted", "keys.re-encrypted"]
    assert runtime.audit.verify().ok


def test_a_running_process_follows_a_file_kek_rotation_made_by_another(runtime: Runtime) -> None:
    values = seed(runtime)  # `runtime` plays `charter serve`: it has not read any value yet
    with reopen_runtime(runtime) as cli:  # `charter keys rotate --kek` in another process
        rotate_kek(cli, new_file_kek=True)
        new_kek = cli.keyring.kek_id
    assert readable(runtime, values)  # data keys now wrapped under a KEK the server did not load
    runtime.store.put("tenant-new", "note", "K", "after the rotation")  # a new data key ...
    assert runtime.keyring.kek_id == new_kek
    assert runtime.keyring.kek_usage() == {new_kek: 5}  # ... wrapped under the new KEK, not the retired one


def test_re_encryption_can_wait_out_the_key_cache_and_retire_in_one_run(runtime: Runtime) -> None:
    values = seed(runtime, 2, 2)
    rotate_data_keys(runtime)
    assert isinstance(runtime.clock, FrozenClock)
    clock = runtime.clock
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        runtime.store.put("tenant-0", "note", "late", "sealed meanwhile")  # written meanwhile
        clock.advance(timedelta(seconds=seconds))

    summary = reencrypt_all(runtime, wait=wait, retire=True)
    assert waits == [60.0]
    assert summary == "re-encrypted 4 value(s); retired 2 old data key version(s)"
    assert runtime.keyring.live_versions("tenant-0") == [2]
    assert readable(runtime, values) and runtime.store.get("tenant-0", "note", "late") == "sealed meanwhile"
