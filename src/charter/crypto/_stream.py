"""Streaming AES-256-GCM for large artifacts (backups): bounded memory, truncation and reordering detected.

The construction is the STREAM online authenticated encryption of Hoang, Reyhanitabar, Rogaway and Vizár
("Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015), as used by age and
Tink's streaming AEAD:

* header: ``MAGIC (8) || version (1) || chunk size (4, big-endian) || nonce prefix (7, random)``;
* then chunks of ``chunk size`` plaintext bytes, each sealed with the nonce
  ``prefix || counter (4, big-endian) || last flag (1)`` and the associated data ``aad || header``;
* the last chunk, and only it, has the flag 1 and fewer than ``chunk size`` plaintext bytes (possibly none).

A key must seal one stream only (Charter draws a fresh data key per backup). Cutting the stream after any
chunk, swapping chunks, appending bytes, editing the header or opening with other associated data all end in
the same opaque :class:`DecryptionError`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from charter.crypto._aead import KEY_BYTES, DecryptionError, Random

__all__ = ["DEFAULT_CHUNK", "StreamEncryptor", "decrypt_stream"]

_MAGIC = b"CHSTREAM"
_VERSION = 1
_HEADER = struct.Struct(">8sBI7s")
_TAG = 16
#: Plaintext bytes per chunk: large enough that per-chunk costs vanish, small enough to bound memory.
DEFAULT_CHUNK = 1 << 20
_MAX_CHUNK = 1 << 26
_MAX_CHUNKS = 1 << 32


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= _MAX_CHUNKS:
        raise OverflowError("stream too long for one key")
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class StreamEncryptor:
    """A write-only binary stream that seals what is written to it into ``out``.

    Args:
        key: 32 bytes, used for this stream only.
        out: where the header and sealed chunks are written (left open by :meth:`close`).
        aad: associated data binding the stream to its context (e.g. the snapshot id).
        chunk_size: plaintext bytes per chunk (1 MiB by default).
        random: the randomness for the nonce prefix.

    :meth:`close` must be called: it writes the last chunk, without which the stream does not open.
    """

    def __init__(
        self,
        key: bytes,
        out: BinaryIO,
        aad: bytes,
        *,
        chunk_size: int = DEFAULT_CHUNK,
        random: Random = os.urandom,
    ) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("the stream key must be 32 bytes")
        if not 1 <= chunk_size <= _MAX_CHUNK:
            raise ValueError(f"chunk size must be between 1 and {_MAX_CHUNK} bytes")
        self._aead = AESGCM(key)
        self._out = out
        self._prefix = random(7)
        self._header = _HEADER.pack(_MAGIC, _VERSION, chunk_size, self._prefix)
        self._aad = aad + self._header
        self._chunk = chunk_size
        self._buffer = bytearray()
        self._counter = 0
        self._closed = False
        self.bytes_out = len(self._header)
        out.write(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Buffer ``data`` and seal every full chunk; returns ``len(data)``."""
        if self._closed:
            raise ValueError("write to a closed stream")
        self._buffer += data
        if len(self._buffer) >= self._chunk:
            view = memoryview(self._buffer)
            start = 0
            while len(self._buffer) - start >= self._chunk:
                self._seal(bytes(view[start : start + self._chunk]), last=False)
                start += self._chunk
            view.release()
            del self._buffer[:start]
        return len(data)

    def flush(self) -> None:
        """Chunks are written as they fill; nothing else to flush."""

    def _seal(self, plaintext: bytes, *, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._counter, last), plaintext, self._aad)
        self._counter += 1
        self._out.write(sealed)
        self.bytes_out += len(sealed)

    def close(self) -> None:
        """Seal the last chunk (shorter than a full one, possibly empty). Idempotent."""
        if not self._closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining:
        part = source.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def decrypt_stream(key: bytes, source: BinaryIO, aad: bytes) -> Iterator[bytes]:
    """Yield the plaintext chunks of a stream made by :class:`StreamEncryptor`, each one authenticated.

    A consumer must treat what it received as untrusted until the generator is exhausted without error: only
    then is the stream known to be complete.

    Raises:
        DecryptionError: wrong key or associated data, a damaged, cut, reordered or extended stream.
    """
    header = _read_exactly(source, _HEADER.size)
    if len(header) != _HEADER.size or len(key) != KEY_BYTES:
        raise DecryptionError
    magic, version, chunk_size, prefix = _HEADER.unpack(header)
    if magic != _MAGIC or version != _VERSION or not 1 <= chunk_size <= _MAX_CHUNK:
        raise DecryptionError
    aead = AESGCM(key)
    full = chunk_size + _TAG
    counter = 0
    while True:
        sealed = _read_exactly(source, full)
        last = len(sealed) < full
        if len(sealed) < _TAG:
            raise DecryptionError  # cut inside a chunk, or after a full chunk with no last chunk
        try:
            plaintext = aead.decrypt(_nonce(prefix, counter, last), sealed, aad + header)
        except (InvalidTag, ValueError, OverflowError):
            raise DecryptionError from None
        counter += 1
        if last:
            if source.read(1):
                raise DecryptionError  # bytes after the last chunk
            if plaintext:
                yield plaintext
            return
        yield plaintext
