"""AES-256-GCM with associated data: the one symmetric recipe Charter uses.

A sealed blob is ``version (1 byte) || nonce (12 bytes) || ciphertext+tag``. The associated data binds a
ciphertext to where it belongs (tenant, record, purpose): a blob copied elsewhere does not open. Every
failure is the same opaque :class:`DecryptionError` (wrong key, wrong associated data, truncated or altered
blob), in the manner of Fernet's ``InvalidToken``.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["KEY_BYTES", "DecryptionError", "Random", "open_sealed", "seal"]

KEY_BYTES = 32
_VERSION = b"\x01"
_NONCE = 12

Random = Callable[[int], bytes]


class DecryptionError(Exception):
    """A sealed blob could not be opened (any reason)."""

    def __init__(self) -> None:
        super().__init__("cannot decrypt")


def seal(key: bytes, plaintext: bytes, aad: bytes, *, random: Random = os.urandom) -> bytes:
    """Encrypt ``plaintext`` under ``key`` (32 bytes), bound to ``aad``; a fresh random 96-bit nonce each time."""
    nonce = random(_NONCE)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Decrypt a blob made by :func:`seal` with the same ``key`` and ``aad``.

    Raises:
        DecryptionError: anything is wrong.
    """
    if len(blob) < 1 + _NONCE + 16 or blob[:1] != _VERSION:
        raise DecryptionError
    try:
        return AESGCM(key).decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], aad)
    except (InvalidTag, ValueError):
        raise DecryptionError from None
