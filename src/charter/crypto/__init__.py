"""Cryptography recipes: AES-256-GCM with associated data, and key-encryption-key providers.

Only safe, opinionated recipes live here; raw primitives stay inside ``cryptography``. Wrapped data keys
are persisted by :mod:`charter.store` (the keyring), which builds on these recipes.
"""

from charter.crypto._aead import KEY_BYTES, DecryptionError, Random, open_sealed, seal
from charter.crypto._kek import FileKeyProvider, KeyProvider, KeyProviderError

__all__ = [
    "KEY_BYTES",
    "DecryptionError",
    "FileKeyProvider",
    "KeyProvider",
    "KeyProviderError",
    "Random",
    "open_sealed",
    "seal",
]
