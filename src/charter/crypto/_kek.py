"""Key-encryption keys (KEK): the master keys that wrap every data key.

:class:`KeyProvider` is the port; three implementations pass one conformance suite
(``tests/crypto/test_kek.py``):

* :class:`FileKeyProvider`: a 256-bit key in a file with mode 0600 in the data directory (the default);
* :class:`EnvKeyProvider`: a 256-bit key given in an environment variable (base64);
* :class:`KmsKeyProvider`: an AWS KMS key; data keys are wrapped by ``kms:Encrypt`` with the associated
  data as encryption context, so the key never leaves KMS.

:class:`KekRing` holds the current KEK and the previous ones: new data keys are wrapped under the current
KEK, and a wrapped key is unwrapped by the KEK named in its ``kek_id``. That is what lets
``charter keys rotate`` re-wrap every data key under a new KEK without downtime and without losing data
(the failure Fides's users met when an application key changed).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from charter.crypto._aead import KEY_BYTES, DecryptionError, Random, open_sealed, seal

__all__ = [
    "EnvKeyProvider",
    "FileKeyProvider",
    "KekRing",
    "KeyProvider",
    "KeyProviderError",
    "KmsKeyProvider",
    "file_kek_ring",
    "promote_file_kek",
    "rotate_file_kek",
]


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


def _local_key_id(prefix: str, key: bytes) -> str:
    return f"{prefix}:" + hashlib.sha256(b"charter-kek-id:" + key).hexdigest()[:16]


class _LocalKey:
    """A KEK held in this process's memory (file and environment providers)."""

    def __init__(self, key: bytes, key_id: str, random: Random) -> None:
        self._key = key
        self.key_id = key_id
        self._random = random

    def wrap(self, data_key: bytes, aad: bytes) -> bytes:
        return seal(self._key, data_key, aad, random=self._random)

    def unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
        return open_sealed(self._key, wrapped, aad)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key_id={self.key_id!r})"


class FileKeyProvider(_LocalKey):
    """A 256-bit KEK in a file readable only by its owner, created on first use.

    Args:
        path: the key file (``<data dir>/keys/kek.key`` by default).
        random: the source of randomness (``os.urandom``).
        create: create the file if it does not exist (otherwise a missing file is an error).

    Raises:
        KeyProviderError: the file is missing (and ``create`` is false), not 32 bytes, or readable by
            group or others.
    """

    def __init__(self, path: Path, *, random: Random = os.urandom, create: bool = True) -> None:
        self.path = path
        key = self._load_or_create(random, create)
        super().__init__(key, _local_key_id("file", key), random)

    def _load_or_create(self, random: Random, create: bool) -> bytes:
        if not self.path.exists():
            if not create:
                raise KeyProviderError(f"key file {self.path} does not exist")
            _write_private(self.path, random(KEY_BYTES), random)
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:
            raise KeyProviderError(f"key file {self.path} is readable by others (mode {mode:o}); chmod 600 it")
        key = self.path.read_bytes()
        if len(key) != KEY_BYTES:
            raise KeyProviderError(f"key file {self.path} does not hold a 256-bit key")
        return key

    def __repr__(self) -> str:
        return f"FileKeyProvider(path={str(self.path)!r}, key_id={self.key_id!r})"


def _write_private(path: Path, data: bytes, random: Random) -> None:
    """Create ``path`` (mode 0600) holding ``data``, never replacing a file another process created."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{random(6).hex()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


class EnvKeyProvider(_LocalKey):
    """A 256-bit KEK given as base64 in an environment variable (for container platforms' secrets).

    Args:
        value: the base64 text (standard or URL-safe alphabet).
        name: the variable's name, for error messages.

    Raises:
        KeyProviderError: the value is not base64 of exactly 32 bytes.
    """

    def __init__(self, value: str, *, name: str = "CHARTER_KEK", random: Random = os.urandom) -> None:
        try:
            key = base64.b64decode(value.strip().replace("-", "+").replace("_", "/") + "==", validate=False)
        except (binascii.Error, ValueError):
            raise KeyProviderError(f"{name} is not base64") from None
        if len(key) != KEY_BYTES:
            raise KeyProviderError(f"{name} must hold 32 bytes (a 256-bit key), base64-encoded")
        super().__init__(key, _local_key_id("env", key), random)


class KmsKeyProvider:
    """A KEK that never leaves AWS KMS: data keys are wrapped with ``Encrypt`` and unwrapped with
    ``Decrypt``, the associated data travelling as the encryption context.

    Args:
        key_id: the KMS key id, ARN or alias (``alias/charter``).
        client: a boto3 KMS client (``boto3.client("kms", ...)``).

    Raises:
        KeyProviderError: the key cannot be described (missing, no permission, KMS unreachable).
    """

    def __init__(self, key_id: str, *, client: Any) -> None:
        self._client = client
        try:
            described = client.describe_key(KeyId=key_id)
        except Exception as exc:  # botocore raises many types; all mean "cannot use this key"
            raise KeyProviderError(f"KMS key {key_id}: {type(exc).__name__}") from None
        self.key_id = "kms:" + str(described["KeyMetadata"]["Arn"])
        self._arn = str(described["KeyMetadata"]["Arn"])

    @staticmethod
    def _context(aad: bytes) -> dict[str, str]:
        return {"charter": base64.b64encode(aad).decode("ascii")}

    def wrap(self, data_key: bytes, aad: bytes) -> bytes:
        response = self._client.encrypt(KeyId=self._arn, Plaintext=data_key, EncryptionContext=self._context(aad))
        return bytes(response["CiphertextBlob"])

    def unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
        try:
            response = self._client.decrypt(CiphertextBlob=wrapped, EncryptionContext=self._context(aad))
        except Exception:  # InvalidCiphertextException and friends: one opaque error
            raise DecryptionError from None
        return bytes(response["Plaintext"])

    def __repr__(self) -> str:
        return f"KmsKeyProvider(key_id={self.key_id!r})"


class KekRing:
    """The current KEK and the previous ones.

    Args:
        current: wraps every new or re-wrapped data key.
        previous: still unwrap keys wrapped before a rotation.
    """

    def __init__(self, current: KeyProvider, previous: Sequence[KeyProvider] = ()) -> None:
        self.current = current
        self._by_id = {p.key_id: p for p in (*previous, current)}

    @property
    def key_id(self) -> str:
        """The current KEK's id."""
        return self.current.key_id

    @property
    def key_ids(self) -> list[str]:
        """Every KEK this ring can unwrap with."""
        return list(self._by_id)

    @property
    def providers(self) -> list[KeyProvider]:
        """Every KEK of the ring, the current one last."""
        return list(self._by_id.values())

    def wrap(self, data_key: bytes, aad: bytes) -> bytes:
        """Wrap under the current KEK."""
        return self.current.wrap(data_key, aad)

    def unwrap(self, wrapped: bytes, aad: bytes, kek_id: str | None = None) -> bytes:
        """Unwrap with the KEK named ``kek_id`` (the current one when ``None``).

        Raises:
            KeyProviderError: no KEK with that id is configured (say which, so the operator can add it).
            DecryptionError: the KEK does not open the blob.
        """
        provider = self._by_id.get(kek_id or self.current.key_id)
        if provider is None:
            raise KeyProviderError(
                f"a data key is wrapped by the key-encryption key {kek_id}, which is not configured here "
                "(another key file, CHARTER_KEK or KMS key; or one retired too early)"
            )
        return provider.unwrap(wrapped, aad)


CURRENT_FILE = "kek.key"
_NEXT_FILE = "kek-next.key"


class _FileKekRing(KekRing):
    """The KEK ring of a ``keys/`` folder, which follows a rotation made by another process.

    Another process (``charter keys rotate --kek``) may make a new ``kek.key`` and re-wrap every data key
    under it while this one runs. So before wrapping or naming its current KEK, the ring checks whether
    ``kek.key`` changed (one ``stat``; both are rare: a new tenant, a new key version, a rotation) and
    reloads the folder if so; and a data key wrapped under a KEK it does not know makes it reload the
    folder once before failing.
    """

    def __init__(self, directory: Path, random: Random, create: bool) -> None:
        self._directory = directory
        self._random = random
        self._lock = threading.Lock()
        self._load(create)

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = (self._directory / CURRENT_FILE).stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns

    def _load(self, create: bool = False) -> None:
        directory, random = self._directory, self._random
        current, upcoming = directory / CURRENT_FILE, directory / _NEXT_FILE
        if not current.exists() and upcoming.exists():
            os.replace(upcoming, current)  # a rotation interrupted between its two renames
        previous = [
            FileKeyProvider(path, random=random, create=False)
            for path in sorted(directory.glob("kek-*.key"))
            if path.name != _NEXT_FILE
        ]
        if upcoming.exists():
            previous.append(FileKeyProvider(upcoming, random=random, create=False))
        KekRing.__init__(self, FileKeyProvider(current, random=random, create=create), previous)
        self._loaded = self._stamp()

    def _reload(self) -> None:
        with self._lock:
            self._load()

    def _follow(self) -> None:
        if self._stamp() != self._loaded:
            self._reload()

    @property
    def key_id(self) -> str:
        self._follow()
        return self.current.key_id

    def wrap(self, data_key: bytes, aad: bytes) -> bytes:
        self._follow()
        return super().wrap(data_key, aad)

    def unwrap(self, wrapped: bytes, aad: bytes, kek_id: str | None = None) -> bytes:
        if kek_id is not None and kek_id not in self._by_id:
            self._reload()
        return super().unwrap(wrapped, aad, kek_id)


def file_kek_ring(directory: Path, *, random: Random = os.urandom, create: bool = True) -> KekRing:
    """The file KEKs of a data directory's ``keys/`` folder: ``kek.key`` (current; created if missing
    and ``create``) and every retired ``kek-*.key`` kept by earlier rotations.

    A rotation interrupted between its two renames is completed here. The ring follows a rotation made
    by another process while this one runs (see :class:`_FileKekRing`).

    Raises:
        KeyProviderError: ``kek.key`` is missing (and not ``create``), unreadable, or readable by others.
    """
    return _FileKekRing(directory, random, create)


def rotate_file_kek(directory: Path, *, random: Random = os.urandom) -> tuple[KeyProvider, KeyProvider]:
    """Create the next file KEK (``kek-next.key``) beside the current one.

    Returns:
        ``(old current, new)``: re-wrap every data key under ``new`` (which a ring built with
        :func:`file_kek_ring` already unwraps with), then call :func:`promote_file_kek`.
    """
    old = FileKeyProvider(directory / CURRENT_FILE, random=random, create=False)
    upcoming = directory / _NEXT_FILE
    if not upcoming.exists():
        _write_private(upcoming, random(KEY_BYTES), random)
    return old, FileKeyProvider(upcoming, random=random, create=False)


def promote_file_kek(directory: Path, old: KeyProvider) -> Path:
    """Make ``kek-next.key`` the current KEK; the old one is kept as ``kek-<id>.key`` until retired.

    Returns:
        The retired key file's path.
    """
    retired = directory / f"kek-{old.key_id.split(':', 1)[1]}.key"
    os.replace(directory / CURRENT_FILE, retired)
    os.replace(directory / _NEXT_FILE, directory / CURRENT_FILE)
    return retired
