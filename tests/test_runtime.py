"""Opening Charter's state: which KEK provider the charter names, and clear errors when it cannot be used."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from charter.clock import FrozenClock
from charter.policy import Charter, load_charter
from charter.runtime import SetupError, kek_ring, open_runtime
from tests.conftest import EXAMPLES, NOW


def charter_with(tmp_path: Path, provider: str) -> Charter:
    text = (EXAMPLES / "forge-remote.toml").read_text().replace('key_provider = "file"', f'key_provider = "{provider}"')
    path = tmp_path / f"charter-{provider}.toml"
    path.write_text(text)
    return load_charter(path, clock=FrozenClock(NOW))


def b64key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_the_file_provider_is_the_default_and_private(tmp_path: Path) -> None:
    ring = kek_ring(charter_with(tmp_path, "file"), tmp_path / "data", {})
    assert ring.key_id.startswith("file:")
    key_file = tmp_path / "data" / "keys" / "kek.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert kek_ring(charter_with(tmp_path, "file"), tmp_path / "data", {}).key_id == ring.key_id


def test_the_env_provider_with_previous_keys(tmp_path: Path) -> None:
    charter = charter_with(tmp_path, "env")
    with pytest.raises(SetupError, match="CHARTER_KEK is not set"):
        kek_ring(charter, tmp_path, {})
    with pytest.raises(SetupError, match="CHARTER_KEK is not base64"):
        kek_ring(charter, tmp_path, {"CHARTER_KEK": "not base64!"})
    with pytest.raises(SetupError, match="32 bytes"):
        kek_ring(charter, tmp_path, {"CHARTER_KEK": base64.b64encode(b"sixteen byte key").decode()})
    with pytest.raises(SetupError, match="CHARTER_KEK_PREVIOUS"):
        kek_ring(charter, tmp_path, {"CHARTER_KEK": b64key(), "CHARTER_KEK_PREVIOUS": "nope"})
    current, old1, old2 = b64key(), b64key(), b64key()
    ring = kek_ring(charter, tmp_path, {"CHARTER_KEK": current, "CHARTER_KEK_PREVIOUS": f"{old1}, {old2},"})
    assert ring.key_id.startswith("env:") and len(ring.key_ids) == 3
    assert not (tmp_path / "keys").exists()  # no key file is made for another provider


def test_the_kms_provider_against_a_local_kms(
    tmp_path: Path, kms_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    for name, value in {
        "AWS_ACCESS_KEY_ID": "fake",
        "AWS_SECRET_ACCESS_KEY": "fake",
        "AWS_DEFAULT_REGION": "eu-central-1",
    }.items():
        monkeypatch.setenv(name, value)
    client: Any = boto3.client("kms", endpoint_url=kms_endpoint)
    first = client.create_key()["KeyMetadata"]["KeyId"]
    second = client.create_key()["KeyMetadata"]["KeyId"]
    charter = charter_with(tmp_path, "aws-kms")
    with pytest.raises(SetupError, match="CHARTER_KMS_KEY_ID is not set"):
        kek_ring(charter, tmp_path, {})
    clock = FrozenClock(NOW)
    data = tmp_path / "data"
    env = {"CHARTER_KMS_KEY_ID": first, "CHARTER_KMS_ENDPOINT_URL": kms_endpoint}
    with open_runtime(charter, data_dir=data, clock=clock, environ=env) as rt:
        rt.store.put("tenant-a", "note", "K", "sealed under a KMS-wrapped key")
        assert rt.keyring.kek_id.startswith("kms:arn:aws:kms:")
    rotated = {**env, "CHARTER_KMS_KEY_ID": second, "CHARTER_KMS_PREVIOUS_KEY_IDS": first}
    with open_runtime(charter, data_dir=data, clock=clock, environ=rotated) as rt:
        assert rt.store.get("tenant-a", "note", "K") == "sealed under a KMS-wrapped key"
        assert rt.keyring.rewrap() == 2  # the tenant's key and the audit key
    with open_runtime(charter, data_dir=data, clock=clock, environ={**env, "CHARTER_KMS_KEY_ID": second}) as rt:
        assert rt.store.get("tenant-a", "note", "K") == "sealed under a KMS-wrapped key"


def test_a_wrong_kek_is_a_setup_error_and_the_data_stays(tmp_path: Path) -> None:
    charter = charter_with(tmp_path, "env")
    data = tmp_path / "data"
    clock = FrozenClock(NOW)
    with open_runtime(charter, data_dir=data, clock=clock, environ={"CHARTER_KEK": b64key()}) as rt:
        rt.store.put("tenant-a", "note", "K", "x")
    with pytest.raises(SetupError, match="cannot open the key store"):
        open_runtime(charter, data_dir=data, clock=clock, environ={"CHARTER_KEK": b64key()})
    assert (data / "charter.db").exists() and (data / "keys.db").exists()


def test_a_failed_first_open_leaves_no_data_directory(tmp_path: Path) -> None:
    charter = charter_with(tmp_path, "env")
    with pytest.raises(SetupError, match="CHARTER_KEK"):
        open_runtime(charter, data_dir=tmp_path / "new", clock=FrozenClock(NOW), environ={})
    assert not (tmp_path / "new").exists()


def test_the_runtime_shares_one_state(runtime: Any) -> None:
    assert runtime.keyring.kek_id in runtime.keyring.kek_usage()  # the audit key exists from the start
    assert runtime.store.kinds >= {"note", "note-author"}
    assert runtime.purger.rule == 'retention.tenant_data_after_uninstall = "30d"'


def test_a_missing_key_file_is_never_replaced_by_a_new_one(tmp_path: Path) -> None:
    charter = charter_with(tmp_path, "file")
    data = tmp_path / "data"
    with open_runtime(charter, data_dir=data, clock=FrozenClock(NOW), environ={}) as rt:
        rt.store.put("tenant-a", "note", "K", "x")
    (data / "keys" / "kek.key").unlink()
    with pytest.raises(SetupError, match=r"kek.key is missing, but the key store holds data keys"):
        open_runtime(charter, data_dir=data, clock=FrozenClock(NOW), environ={})
    assert not (data / "keys" / "kek.key").exists()


def test_switching_to_the_file_provider_on_an_env_store_makes_no_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with open_runtime(
        charter_with(tmp_path, "env"), data_dir=data, clock=FrozenClock(NOW), environ={"CHARTER_KEK": b64key()}
    ):
        pass
    with pytest.raises(SetupError, match="is missing"):
        open_runtime(charter_with(tmp_path, "file"), data_dir=data, clock=FrozenClock(NOW), environ={})
    assert not (data / "keys").exists()
