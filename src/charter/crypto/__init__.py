"""Cryptography recipes: AES-256-GCM with associated data (one blob or a stream), and key-encryption-key
providers.

Only safe, opinionated recipes live here; raw primitives stay inside ``cryptography``. Wrapped data keys
are persisted by :mod:`charter.store` (the keyring, in the key store), which builds on these recipes.
"""

from charter.crypto._aead import KEY_BYTES, DecryptionError, Random, open_sealed, seal
from charter.crypto._kek import (
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
from charter.crypto._stream import DEFAULT_CHUNK, StreamEncryptor, decrypt_stream

__all__ = [
    "DEFAULT_CHUNK",
    "KEY_BYTES",
    "DecryptionError",
    "EnvKeyProvider",
    "FileKeyProvider",
    "KekRing",
    "KeyProvider",
    "KeyProviderError",
    "KmsKeyProvider",
    "Random",
    "StreamEncryptor",
    "decrypt_stream",
    "file_kek_ring",
    "open_sealed",
    "promote_file_kek",
    "rotate_file_kek",
    "seal",
]
