from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from charter.crypto import DecryptionError, FileKeyProvider, KeyProvider, KeyProviderError, open_sealed, seal

KEY = bytes(range(32))


@given(st.binary(max_size=512), st.binary(max_size=64))
def test_round_trip(plaintext: bytes, aad: bytes) -> None:
    assert open_sealed(KEY, seal(KEY, plaintext, aad), aad) == plaintext


def test_every_failure_is_the_same_opaque_error() -> None:
    blob = seal(KEY, b"secret", b"tenant:a")
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    for key, data, aad in (
        (bytes(32), blob, b"tenant:a"),
        (KEY, blob, b"tenant:b"),
        (KEY, bytes(tampered), b"tenant:a"),
        (KEY, blob[:20], b"tenant:a"),
        (KEY, b"\x02" + blob[1:], b"tenant:a"),
    ):
        with pytest.raises(DecryptionError) as info:
            open_sealed(key, data, aad)
        assert str(info.value) == "cannot decrypt"


def test_nonces_are_fresh() -> None:
    assert seal(KEY, b"x", b"") != seal(KEY, b"x", b"")


def test_file_key_provider_creates_a_private_key_once(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "kek.key"
    first = FileKeyProvider(path)
    assert isinstance(first, KeyProvider)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = FileKeyProvider(path)
    assert again.key_id == first.key_id
    wrapped = first.wrap(b"k" * 32, b"aad")
    assert again.unwrap(wrapped, b"aad") == b"k" * 32
    assert path.read_bytes() not in repr(first).encode()
    assert [p.name for p in path.parent.iterdir()] == ["kek.key"]


def test_file_key_provider_refuses_loose_or_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "kek.key"
    path.write_bytes(os.urandom(32))
    path.chmod(0o644)
    with pytest.raises(KeyProviderError, match="readable by others"):
        FileKeyProvider(path)
    path.chmod(0o600)
    path.write_bytes(b"short")
    with pytest.raises(KeyProviderError, match="does not hold a 256-bit key"):
        FileKeyProvider(path)
