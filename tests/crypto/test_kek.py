"""The KEK provider port: one conformance suite for the file, environment and AWS KMS providers.

The KMS provider runs against a local moto server started by the tests.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from charter.crypto import (
    DecryptionError,
    EnvKeyProvider,
    FileKeyProvider,
    KekRing,
    KeyProvider,
    KeyProviderError,
    KmsKeyProvider,
    file_kek_ring,
    promote_file_kek,
    rotate_file_kek,
)


def kms_client(endpoint: str) -> object:
    import boto3

    return boto3.client(
        "kms", region_name="eu-central-1", endpoint_url=endpoint, aws_access_key_id="fake", aws_secret_access_key="fake"
    )


def new_kms_key(endpoint: str) -> KmsKeyProvider:
    client = kms_client(endpoint)
    key = client.create_key(Description="charter test KEK")["KeyMetadata"]["KeyId"]  # type: ignore[attr-defined]
    return KmsKeyProvider(key, client=client)


@pytest.fixture(params=["file", "env", "kms"])
def make_provider(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    """A factory of distinct providers of one kind."""
    counter = iter(range(100))
    if request.param == "file":
        return lambda: FileKeyProvider(tmp_path / f"kek-{next(counter)}.key")
    if request.param == "env":
        return lambda: EnvKeyProvider(base64.b64encode(os.urandom(32)).decode())
    endpoint = request.getfixturevalue("kms_endpoint")
    return lambda: new_kms_key(endpoint)


def test_round_trip_and_protocol(make_provider: object) -> None:
    provider = make_provider()  # type: ignore[operator]
    assert isinstance(provider, KeyProvider)
    dek = os.urandom(32)
    wrapped = provider.wrap(dek, b"charter:dek:t1:1")
    assert dek not in wrapped
    assert provider.unwrap(wrapped, b"charter:dek:t1:1") == dek
    assert provider.wrap(dek, b"charter:dek:t1:1") != wrapped  # fresh randomness every time


def test_wrong_context_tampering_and_another_kek_fail_closed(make_provider: object) -> None:
    provider, other = make_provider(), make_provider()  # type: ignore[operator]
    wrapped = provider.wrap(os.urandom(32), b"charter:dek:t1:1")
    tampered = bytearray(wrapped)
    tampered[-1] ^= 1
    with pytest.raises(DecryptionError):
        provider.unwrap(wrapped, b"charter:dek:t2:1")  # bound to its tenant and version
    with pytest.raises(DecryptionError):
        provider.unwrap(bytes(tampered), b"charter:dek:t1:1")
    if not isinstance(provider, KmsKeyProvider):  # KMS finds its key from the blob itself
        with pytest.raises(DecryptionError):
            other.unwrap(wrapped, b"charter:dek:t1:1")
    assert provider.key_id != other.key_id
    secret = getattr(provider, "_key", b"")
    assert secret.hex() not in repr(provider) or not secret
    assert base64.b64encode(secret).decode() not in repr(provider) or not secret


def test_key_ids_are_stable_and_reveal_nothing(make_provider: object) -> None:
    provider = make_provider()  # type: ignore[operator]
    assert provider.key_id.split(":", 1)[0] in {"file", "env", "kms"}
    assert len(provider.key_id) < 120


def test_a_ring_unwraps_with_the_kek_named_by_id(make_provider: object) -> None:
    old, new = make_provider(), make_provider()  # type: ignore[operator]
    dek = os.urandom(32)
    wrapped_old = old.wrap(dek, b"aad")
    ring = KekRing(new, [old])
    assert ring.key_id == new.key_id
    assert ring.unwrap(wrapped_old, b"aad", old.key_id) == dek
    assert ring.unwrap(ring.wrap(dek, b"aad"), b"aad", new.key_id) == dek
    with pytest.raises(KeyProviderError, match="key-encryption key file:unknown, which is not configured here"):
        ring.unwrap(wrapped_old, b"aad", "file:unknown")


def test_env_provider_errors() -> None:
    with pytest.raises(KeyProviderError, match="must hold 32 bytes"):
        EnvKeyProvider(base64.b64encode(b"short").decode())
    url_safe = base64.urlsafe_b64encode(bytes([251] * 32)).decode().rstrip("=")
    assert EnvKeyProvider(url_safe).key_id == EnvKeyProvider(base64.b64encode(bytes([251] * 32)).decode()).key_id


def test_kms_provider_errors(kms_endpoint: str) -> None:
    with pytest.raises(KeyProviderError, match="KMS key alias/nope"):
        KmsKeyProvider("alias/nope", client=kms_client(kms_endpoint))


def test_file_rotation_keeps_every_wrapped_key_readable(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    ring = file_kek_ring(keys)
    dek = os.urandom(32)
    wrapped = ring.wrap(dek, b"aad")
    first = ring.key_id
    old, new = rotate_file_kek(keys)
    assert old.key_id == first
    during = file_kek_ring(keys)  # a process starting mid-rotation knows both
    assert during.key_id == first and new.key_id in during.key_ids
    promote_file_kek(keys, old)
    after = file_kek_ring(keys)
    assert after.key_id == new.key_id
    assert after.unwrap(wrapped, b"aad", first) == dek  # the retired KEK is kept until retired
    assert sorted(p.name for p in keys.iterdir()) == ["kek-" + first.split(":")[1] + ".key", "kek.key"]


def test_a_rotation_interrupted_between_renames_is_completed(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    first = file_kek_ring(keys).key_id
    _old, new = rotate_file_kek(keys)
    os.replace(keys / "kek.key", keys / f"kek-{first.split(':')[1]}.key")  # crash after the first rename
    ring = file_kek_ring(keys)
    assert ring.key_id == new.key_id
    assert first in ring.key_ids
