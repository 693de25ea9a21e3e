"""Key-encryption keys (KEK): the master keys that wrap every data key.

:class:`KeyProvider` is the port; :class:`FileKeyProvider` (a key file with mode 0600 in the data
directory) is the default implementation.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Protocol, runtime_checkable

from charter.crypto._aead import KEY_BYTES, Random, open_sealed, seal

__all__ = ["FileKeyProvider", "KeyProvider", "KeyProviderError"]


class KeyProviderError(Exception):
    """The key-encryption key cannot be used; the message says why (never the key)."""


@runtime_checkable
class KeyProvider(Protocol):
    """Wraps and unwraps data keys under a key-encryption key.

    Attributes:
        key_id: identifies the KEK (stored beside each wrapped key; reveals nothing about the key).
    """

    key_id: str

    def wrap(self, data_key: bytes, aad: bytes) -> bytes:
        """Encrypt ``data_key`` bound to ``aad``."""
        ...

    def unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
        """Decrypt a wrapped key.

        Raises:
            DecryptionError: wrong KEK, wrong ``aad``, or a damaged blob.
        """
        ...


class FileKeyProvider:
    """A 256-bit KEK in a file readable only by its owner, created on first use.

    Args:
        path: the key file (``<data dir>/keys/kek.key`` by default).
        random: the source of randomness (``os.urandom``).

    Raises:
        KeyProviderError: the file is not 32 bytes, or is readable by group or others.
    """

    def __init__(self, path: Path, *, random: Random = os.urandom) -> None:
        self.path = path
        self._random = random
        self._key = self._load_or_create()
        self.key_id = "file:" + hashlib.sha256(b"charter-kek-id:" + self._key).hexdigest()[:16]

    def _load_or_create(self) -> bytes:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():
            key = self._random(KEY_BYTES)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{self._random(6).hex()}.tmp")
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            try:
                os.write(fd, key)
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, self.path)  # never replaces a key another process created meanwhile
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:
            raise KeyProviderError(f"key file {self.path} is readable by others (mode {mode:o}); chmod 600 it")
        key = self.path.read_bytes()
        if len(key) != KEY_BYTES:
            raise KeyProviderError(f"key file {self.path} does not hold a 256-bit key")
        return key

    def wrap(self, data_key: bytes, aad: bytes) -> bytes:
        return seal(self._key, data_key, aad, random=self._random)

    def unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
        return open_sealed(self._key, wrapped, aad)

    def __repr__(self) -> str:
        return f"FileKeyProvider(path={str(self.path)!r}, key_id={self.key_id!r})"
