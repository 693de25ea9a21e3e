"""Streaming AES-256-GCM (STREAM): round trips, the header, bounded memory, and every way a stream can be damaged.

Small chunk sizes keep the exhaustive checks (every cut, every bit) fast; the construction does not depend on
the chunk size.
"""

from __future__ import annotations

import io
import itertools
import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charter.crypto import DEFAULT_CHUNK, DecryptionError, StreamEncryptor, decrypt_stream

KEY = bytes(range(32))  # a fake key
OTHER_KEY = bytes(range(1, 33))
AAD = b"charter-test|snapshot-1"
HEADER = 8 + 1 + 4 + 7
TAG = 16
CHUNK = 64


def fixed_random(byte: int) -> Callable[[int], bytes]:
    return lambda n: bytes([byte]) * n


def payload(size: int) -> bytes:
    """Distinctive, non-repeating plaintext (so a leak would be visible in the ciphertext)."""
    pattern = b"".join(f"row {i:06d} alice@example.com;".encode() for i in range(size // 20 + 1))
    assert len(pattern) >= size
    return pattern[:size]


def encrypt(
    data: bytes,
    *,
    key: bytes = KEY,
    aad: bytes = AAD,
    chunk_size: int = CHUNK,
    random: Callable[[int], bytes] | None = None,
) -> bytes:
    out = io.BytesIO()
    enc = StreamEncryptor(key, out, aad, chunk_size=chunk_size, random=random or fixed_random(0xA5))
    enc.write(data)
    enc.close()
    return out.getvalue()


def decrypt(blob: bytes, *, key: bytes = KEY, aad: bytes = AAD) -> bytes:
    return b"".join(decrypt_stream(key, io.BytesIO(blob), aad))


def chunks_of(blob: bytes, chunk_size: int = CHUNK) -> list[bytes]:
    """The sealed chunks after the header."""
    body = blob[HEADER:]
    full = chunk_size + TAG
    return [body[i : i + full] for i in range(0, len(body), full)]


def expected_length(size: int, chunk_size: int = CHUNK) -> int:
    full_chunks = size // chunk_size
    return HEADER + full_chunks * (chunk_size + TAG) + (size - full_chunks * chunk_size) + TAG


# -- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 5 * CHUNK + 17, 10 * CHUNK])
def test_round_trip_by_size(size: int) -> None:
    data = payload(size)
    blob = encrypt(data)
    assert len(blob) == expected_length(size)
    assert decrypt(blob) == data


@pytest.mark.parametrize("size", [0, CHUNK - 1, CHUNK, 3 * CHUNK, 3 * CHUNK + 5])
def test_decrypt_yields_authenticated_chunks_of_the_chunk_size(size: int) -> None:
    data = payload(size)
    parts = list(decrypt_stream(KEY, io.BytesIO(encrypt(data)), AAD))
    assert b"".join(parts) == data
    assert all(0 < len(part) <= CHUNK for part in parts)  # never an empty chunk
    assert all(len(part) == CHUNK for part in parts[:-1])
    assert len(parts) == -(-size // CHUNK)


def test_last_chunk_of_an_exact_multiple_is_empty_and_flagged() -> None:
    blob = encrypt(payload(2 * CHUNK))
    sealed = chunks_of(blob)
    assert [len(c) for c in sealed] == [CHUNK + TAG, CHUNK + TAG, TAG]


def test_default_chunk_is_one_mebibyte() -> None:
    assert DEFAULT_CHUNK == 1 << 20
    out = io.BytesIO()
    enc = StreamEncryptor(KEY, out, AAD, random=fixed_random(1))
    enc.write(b"x" * (DEFAULT_CHUNK + 3))
    assert len(out.getvalue()) == HEADER + DEFAULT_CHUNK + TAG
    enc.close()
    blob = out.getvalue()
    assert struct.unpack(">I", blob[9:13])[0] == DEFAULT_CHUNK
    assert len(blob) == HEADER + DEFAULT_CHUNK + TAG + 3 + TAG
    assert decrypt(blob) == b"x" * (DEFAULT_CHUNK + 3)


def test_header_layout() -> None:
    blob = encrypt(b"hello", chunk_size=4096, random=fixed_random(0x42))
    assert blob[:8] == b"CHSTREAM"
    assert blob[8] == 1
    assert blob[9:13] == (4096).to_bytes(4, "big")
    assert blob[13:20] == b"\x42" * 7


def test_the_nonce_prefix_is_random_per_stream() -> None:
    draws: list[int] = []

    def counting_random(n: int) -> bytes:
        draws.append(n)
        return bytes([len(draws)]) * n

    first = encrypt(b"same plaintext", random=counting_random)
    second = encrypt(b"same plaintext", random=counting_random)
    assert draws == [7, 7]
    assert first[13:20] != second[13:20]
    assert first[HEADER:] != second[HEADER:]
    assert decrypt(first) == decrypt(second) == b"same plaintext"


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=700),
    cuts=st.lists(st.integers(min_value=0, max_value=700), max_size=12),
    chunk_size=st.sampled_from([1, 7, 16, 64, 255]),
)
def test_arbitrary_write_splits_give_the_same_stream(data: bytes, cuts: list[int], chunk_size: int) -> None:
    whole = encrypt(data, chunk_size=chunk_size)
    out = io.BytesIO()
    enc = StreamEncryptor(KEY, out, AAD, chunk_size=chunk_size, random=fixed_random(0xA5))
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    for start, end in itertools.pairwise(bounds):
        piece = data[start:end]
        assert enc.write(piece) == len(piece)
    enc.write(b"")
    enc.close()
    assert out.getvalue() == whole  # the chunking is independent of how the writes were split
    assert decrypt(out.getvalue()) == data
    assert enc.bytes_out == len(whole) == expected_length(len(data), chunk_size)


def test_write_accepts_bytearray_and_memoryview() -> None:
    out = io.BytesIO()
    enc = StreamEncryptor(KEY, out, AAD, chunk_size=CHUNK, random=fixed_random(3))
    assert enc.write(bytearray(b"abc" * 30)) == 90
    assert enc.write(memoryview(b"def" * 30)) == 90
    enc.close()
    assert decrypt(out.getvalue()) == b"abc" * 30 + b"def" * 30


def test_file_like_surface() -> None:
    out = io.BytesIO()
    enc = StreamEncryptor(KEY, out, AAD, chunk_size=CHUNK)
    assert enc.writable()
    assert not enc.closed
    enc.write(b"abc")
    enc.flush()
    assert len(out.getvalue()) == HEADER  # flush does not seal a partial chunk
    enc.close()
    assert enc.closed
    assert not out.closed  # ``out`` is left open


# -- lifecycle -----------------------------------------------------------------------------------


def test_write_after_close_raises() -> None:
    out = io.BytesIO()
    enc = StreamEncryptor(KEY, out, AAD, chunk_size=CHUNK)
    enc.write(b"data")
    enc.close()
    before = out.getvalue()
    with pytest.raises(ValueError, match="closed"):
        enc.write(b"more")
    assert out.getvalue() == before


def test_close_is_idempotent() -> None:
    out = io.BytesIO()
    enc = StreamEncryptor(KEY, out, AAD, chunk_size=CHUNK)
    enc.write(payload(CHUNK + 3))
    enc.close()
    once = out.getvalue()
    enc.close()
    enc.close()
    assert out.getvalue() == once
    assert enc.bytes_out == len(once)
    assert decrypt(once) == payload(CHUNK + 3)


def test_an_unclosed_stream_does_not_open() -> None:
    out = io.BytesIO()
    enc = StreamEncryptor(KEY, out, AAD, chunk_size=CHUNK)
    enc.write(payload(3 * CHUNK))  # three full chunks sealed, no last chunk
    with pytest.raises(DecryptionError):
        decrypt(out.getvalue())


@pytest.mark.parametrize("key", [b"", b"k" * 16, b"k" * 31, b"k" * 33])
def test_key_must_be_32_bytes(key: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        StreamEncryptor(key, io.BytesIO(), AAD)


@pytest.mark.parametrize("chunk_size", [0, -1, (1 << 26) + 1])
def test_chunk_size_is_bounded(chunk_size: int) -> None:
    out = io.BytesIO()
    with pytest.raises(ValueError, match="chunk size"):
        StreamEncryptor(KEY, out, AAD, chunk_size=chunk_size)
    assert out.getvalue() == b""


def test_largest_chunk_size_is_accepted() -> None:
    out = io.BytesIO()
    enc = StreamEncryptor(KEY, out, AAD, chunk_size=1 << 26)
    enc.write(b"small")
    enc.close()
    assert decrypt(out.getvalue()) == b"small"


# -- bounded memory ------------------------------------------------------------------------------


def test_encryptor_buffers_less_than_one_chunk() -> None:
    out = io.BytesIO()
    enc = StreamEncryptor(KEY, out, AAD, chunk_size=CHUNK, random=fixed_random(9))
    data = payload(10 * CHUNK)
    assert len(out.getvalue()) == HEADER
    for i in range(10):
        chunk = data[i * CHUNK : (i + 1) * CHUNK]
        enc.write(chunk[:-1])
        # one byte short of a full chunk: nothing more is written, the bytes wait in the buffer
        assert len(out.getvalue()) == HEADER + i * (CHUNK + TAG)
        assert len(enc._buffer) == CHUNK - 1
        enc.write(chunk[-1:])
        # the chunk is full: sealed and written at once, the buffer emptied
        assert len(out.getvalue()) == HEADER + (i + 1) * (CHUNK + TAG)
        assert len(enc._buffer) == 0
        assert enc.bytes_out == len(out.getvalue())
    enc.close()
    assert len(out.getvalue()) == HEADER + 10 * (CHUNK + TAG) + TAG
    assert decrypt(out.getvalue()) == data


def test_one_large_write_seals_every_full_chunk_and_keeps_the_rest() -> None:
    out = io.BytesIO()
    enc = StreamEncryptor(KEY, out, AAD, chunk_size=CHUNK)
    enc.write(payload(10 * CHUNK + 5))
    assert len(out.getvalue()) == HEADER + 10 * (CHUNK + TAG)
    assert len(enc._buffer) == 5
    enc.close()
    assert decrypt(out.getvalue()) == payload(10 * CHUNK + 5)


def test_small_writes_never_accumulate_a_chunk() -> None:
    out = io.BytesIO()
    enc = StreamEncryptor(KEY, out, AAD, chunk_size=CHUNK)
    for i in range(CHUNK * 8):
        enc.write(bytes([i % 256]))
        assert len(enc._buffer) < CHUNK
        assert len(out.getvalue()) == HEADER + ((i + 1) // CHUNK) * (CHUNK + TAG)
    enc.close()
    assert decrypt(out.getvalue()) == bytes(i % 256 for i in range(CHUNK * 8))


def test_decryption_reads_incrementally() -> None:
    """The decryptor yields a chunk before it has read the rest of the stream."""
    blob = encrypt(payload(4 * CHUNK))
    source = io.BytesIO(blob)
    chunks = decrypt_stream(KEY, source, AAD)
    assert next(chunks) == payload(CHUNK)
    assert source.tell() < len(blob)
    assert b"".join(chunks) == payload(4 * CHUNK)[CHUNK:]


# -- confidentiality -----------------------------------------------------------------------------


def test_ciphertext_does_not_contain_the_plaintext() -> None:
    data = payload(20 * CHUNK)
    blob = encrypt(data)
    assert b"alice@example.com" not in blob
    assert b"row 0000" not in blob
    windows = {data[i : i + 12] for i in range(0, len(data) - 12)}
    assert not any(blob[i : i + 12] in windows for i in range(len(blob) - 12))


def test_repeated_plaintext_chunks_give_different_ciphertext() -> None:
    blob = encrypt(b"A" * (4 * CHUNK))
    sealed = chunks_of(blob)[:4]
    assert len(set(sealed)) == 4


# -- every failure is one opaque DecryptionError --------------------------------------------------

SMALL = payload(2 * CHUNK + 9)  # two full chunks and a short last one
SMALL_BLOB = encrypt(SMALL)
EXACT = payload(2 * CHUNK)  # two full chunks and an empty last one
EXACT_BLOB = encrypt(EXACT)


def test_small_streams_are_what_the_failure_tests_expect() -> None:
    assert [len(c) for c in chunks_of(SMALL_BLOB)] == [CHUNK + TAG, CHUNK + TAG, 9 + TAG]
    assert [len(c) for c in chunks_of(EXACT_BLOB)] == [CHUNK + TAG, CHUNK + TAG, TAG]
    assert decrypt(SMALL_BLOB) == SMALL
    assert decrypt(EXACT_BLOB) == EXACT


def test_wrong_key() -> None:
    with pytest.raises(DecryptionError):
        decrypt(SMALL_BLOB, key=OTHER_KEY)


@pytest.mark.parametrize("key", [b"", KEY[:16], KEY + b"x"])
def test_key_of_the_wrong_size(key: bytes) -> None:
    with pytest.raises(DecryptionError):
        decrypt(SMALL_BLOB, key=key)


@pytest.mark.parametrize("aad", [b"", AAD + b"x", AAD[:-1], b"charter-test|snapshot-2"])
def test_wrong_associated_data(aad: bytes) -> None:
    with pytest.raises(DecryptionError):
        decrypt(SMALL_BLOB, aad=aad)


def test_wrong_key_for_an_empty_stream() -> None:
    with pytest.raises(DecryptionError):
        decrypt(encrypt(b""), key=OTHER_KEY)


@pytest.mark.parametrize("blob", [SMALL_BLOB, EXACT_BLOB], ids=["short-last-chunk", "empty-last-chunk"])
def test_truncation_at_every_position(blob: bytes) -> None:
    for cut in range(len(blob)):
        with pytest.raises(DecryptionError):
            decrypt(blob[:cut])


@pytest.mark.parametrize("blob", [SMALL_BLOB, EXACT_BLOB], ids=["short-last-chunk", "empty-last-chunk"])
def test_dropping_the_last_chunks(blob: bytes) -> None:
    """Cutting exactly after a full chunk (the stream looks whole up to there) is detected."""
    for kept in range(len(chunks_of(blob))):
        cut = HEADER + kept * (CHUNK + TAG)
        with pytest.raises(DecryptionError):
            decrypt(blob[:cut])


def test_a_full_chunk_relabelled_as_last_does_not_open() -> None:
    """The attacker cuts a full chunk's last byte, hoping it is taken as the (shorter) last chunk."""
    cut = HEADER + 2 * (CHUNK + TAG) - 1
    with pytest.raises(DecryptionError):
        decrypt(SMALL_BLOB[:cut])


def test_the_truncated_stream_yields_chunks_before_failing() -> None:
    """Chunks before the cut are authentic; the failure comes at the end (so consumers must finish first)."""
    cut = HEADER + 2 * (CHUNK + TAG)
    chunks = decrypt_stream(KEY, io.BytesIO(SMALL_BLOB[:cut]), AAD)
    assert next(chunks) == SMALL[:CHUNK]
    assert next(chunks) == SMALL[CHUNK : 2 * CHUNK]
    with pytest.raises(DecryptionError):
        next(chunks)


@pytest.mark.parametrize("blob", [SMALL_BLOB, EXACT_BLOB, encrypt(b"")], ids=["short", "exact", "empty"])
def test_one_flipped_bit_anywhere(blob: bytes) -> None:
    for position in range(len(blob)):
        for bit in range(8):
            damaged = bytearray(blob)
            damaged[position] ^= 1 << bit
            with pytest.raises(DecryptionError):
                decrypt(bytes(damaged))


def test_two_chunks_swapped() -> None:
    first, second, last = chunks_of(SMALL_BLOB)
    with pytest.raises(DecryptionError):
        decrypt(SMALL_BLOB[:HEADER] + second + first + last)


def test_last_chunk_moved_forward() -> None:
    first, second, last = chunks_of(EXACT_BLOB)
    with pytest.raises(DecryptionError):
        decrypt(EXACT_BLOB[:HEADER] + first + last + second)


@pytest.mark.parametrize("index", [0, 1])
def test_a_chunk_duplicated(index: int) -> None:
    sealed = chunks_of(SMALL_BLOB)
    duplicated = [*sealed[: index + 1], sealed[index], *sealed[index + 1 :]]
    with pytest.raises(DecryptionError):
        decrypt(SMALL_BLOB[:HEADER] + b"".join(duplicated))


def test_a_chunk_removed_from_the_middle() -> None:
    first, _second, last = chunks_of(SMALL_BLOB)
    with pytest.raises(DecryptionError):
        decrypt(SMALL_BLOB[:HEADER] + first + last)


@pytest.mark.parametrize("extra", [b"\x00", b"garbage", b"\x00" * TAG, b"\x00" * (CHUNK + TAG)])
def test_bytes_appended(extra: bytes) -> None:
    for blob in (SMALL_BLOB, EXACT_BLOB, encrypt(b"")):
        with pytest.raises(DecryptionError):
            decrypt(blob + extra)


def test_the_last_chunk_of_another_stream_appended() -> None:
    """Same key, same prefix: a chunk sealed at another position does not fit."""
    other = encrypt(payload(3 * CHUNK + 1))
    with pytest.raises(DecryptionError):
        decrypt(SMALL_BLOB + chunks_of(other)[-1])


def test_chunks_from_another_stream_with_another_aad() -> None:
    other = encrypt(SMALL, aad=b"charter-test|snapshot-2")
    spliced = SMALL_BLOB[:HEADER] + chunks_of(SMALL_BLOB)[0] + chunks_of(other)[1] + chunks_of(SMALL_BLOB)[2]
    with pytest.raises(DecryptionError):
        decrypt(spliced)


def _with_header(blob: bytes, *, magic: bytes = b"CHSTREAM", version: int = 1, chunk: int = CHUNK) -> bytes:
    return struct.pack(">8sBI", magic, version, chunk) + blob[13:]


def test_header_helper_is_faithful() -> None:
    assert _with_header(SMALL_BLOB) == SMALL_BLOB


@pytest.mark.parametrize("chunk", [0, 1, CHUNK - 1, CHUNK + 1, 2 * CHUNK, CHUNK + TAG, (1 << 26) + 1, 0xFFFFFFFF])
def test_header_chunk_size_edited(chunk: int) -> None:
    with pytest.raises(DecryptionError):
        decrypt(_with_header(SMALL_BLOB, chunk=chunk))


@pytest.mark.parametrize("version", [0, 2, 255])
def test_header_version_edited(version: int) -> None:
    with pytest.raises(DecryptionError):
        decrypt(_with_header(SMALL_BLOB, version=version))


@pytest.mark.parametrize("magic", [b"CHSTREAX", b"\x00" * 8, b"chstream"])
def test_header_magic_edited(magic: bytes) -> None:
    with pytest.raises(DecryptionError):
        decrypt(_with_header(SMALL_BLOB, magic=magic))


def test_header_nonce_prefix_edited() -> None:
    damaged = SMALL_BLOB[:13] + b"\x00" * 7 + SMALL_BLOB[HEADER:]
    with pytest.raises(DecryptionError):
        decrypt(damaged)


@pytest.mark.parametrize("blob", [b"", b"CHSTREAM", SMALL_BLOB[:HEADER], b"\x00" * 100])
def test_not_a_stream(blob: bytes) -> None:
    with pytest.raises(DecryptionError):
        decrypt(blob)


def test_the_error_says_nothing_specific() -> None:
    with pytest.raises(DecryptionError) as wrong_key:
        decrypt(SMALL_BLOB, key=OTHER_KEY)
    with pytest.raises(DecryptionError) as truncated:
        decrypt(SMALL_BLOB[:-1])
    assert str(wrong_key.value) == str(truncated.value) == "cannot decrypt"
    assert wrong_key.value.__cause__ is None
    assert wrong_key.value.__suppress_context__
