"""The snapshot artifact and its manifest: round trips, the manifest's MAC, key unwrapping and damaged artifacts.

Every key here is fake (fixed bytes); nothing touches a database or a destination.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import zstandard

from charter.backup import ArtifactError, BackupKeyError, Manifest, ManifestError
from charter.backup._artifact import FORMAT, ArtifactWriter, _aad, _manifest_key, read_artifact, unwrap_key
from charter.crypto import DEFAULT_CHUNK, EnvKeyProvider, KekRing, StreamEncryptor

SNAPSHOT = "20261129T120000Z-abcdef"
OTHER_SNAPSHOT = "20261130T120000Z-123456"
KEK_BYTES = b"\x11" * 32  # fake
KEK_B64 = base64.b64encode(KEK_BYTES).decode()
TAKEN_AT = datetime(2026, 11, 29, 11, 59, 30, tzinfo=UTC)
FINISHED_AT = datetime(2026, 11, 29, 12, 0, 5, 250000, tzinfo=UTC)
HEADER = 20
TAG = 16


FACTS: dict[str, Any] = {
    "taken_at": TAKEN_AT,
    "finished_at": FINISHED_AT,
    "dialect": "sqlite",
    "source": "sqlite:///x",
    "schema_revision": "0004",
    "tables": {"records": 3, "audit": 12},
}


def kek_ring(key: bytes = KEK_BYTES) -> KekRing:
    return KekRing(EnvKeyProvider(base64.b64encode(key).decode()))


def fixed_random(byte: int) -> Callable[[int], bytes]:
    return lambda n: bytes([byte]) * n


def rows(count: int) -> bytes:
    """Compressible, JSON-like rows with fake personal data."""
    return b"".join(
        json.dumps({"id": i, "email": f"user{i}@example.com", "note": "fake record"}).encode() + b"\n"
        for i in range(count)
    )


def build(
    payload: bytes,
    *,
    snapshot_id: str = SNAPSHOT,
    ring: KekRing | None = None,
    random: Callable[[int], bytes] = os.urandom,
    pieces: int = 1,
) -> tuple[bytes, Manifest]:
    out = io.BytesIO()
    writer = ArtifactWriter(out, snapshot_id=snapshot_id, kek=ring or kek_ring(), random=random)
    step = max(1, -(-len(payload) // pieces))
    for start in range(0, len(payload), step):
        writer.write(payload[start : start + step])
    writer.finish()
    return out.getvalue(), writer.manifest(**FACTS)


def restore(artifact: bytes, manifest: Manifest, ring: KekRing | None = None) -> bytes:
    key = unwrap_key(manifest, ring or kek_ring())
    return b"".join(read_artifact(manifest, key, io.BytesIO(artifact)))


SMALL_PAYLOAD = rows(8)
SMALL_ARTIFACT, SMALL_MANIFEST = build(SMALL_PAYLOAD)
SMALL_KEY = unwrap_key(SMALL_MANIFEST, kek_ring())


# -- round trips ---------------------------------------------------------------------------------


def test_small_round_trip_and_manifest_facts() -> None:
    assert restore(SMALL_ARTIFACT, SMALL_MANIFEST) == SMALL_PAYLOAD
    m = SMALL_MANIFEST
    assert m.id == SNAPSHOT
    assert m.format == FORMAT == "charter-backup/1"
    assert m.plain_bytes == len(SMALL_PAYLOAD)
    assert m.plain_sha256 == hashlib.sha256(SMALL_PAYLOAD).hexdigest()
    assert m.stored_bytes == len(SMALL_ARTIFACT)
    assert m.artifact_sha256 == hashlib.sha256(SMALL_ARTIFACT).hexdigest()
    assert m.kek_id == kek_ring().key_id
    assert m.chunk_size == DEFAULT_CHUNK
    assert m.compression == "zstd"
    assert m.tables == {"records": 3, "audit": 12}
    assert (m.taken_at, m.finished_at) == (TAKEN_AT, FINISHED_AT)
    assert len(m.mac) == 64 and int(m.mac, 16) >= 0
    assert SMALL_ARTIFACT.startswith(b"CHSTREAM\x01")


def test_empty_payload_round_trip() -> None:
    artifact, manifest = build(b"")
    assert manifest.plain_bytes == 0
    assert manifest.plain_sha256 == hashlib.sha256(b"").hexdigest()
    assert restore(artifact, manifest) == b""


def test_large_compressible_payload() -> None:
    payload = rows(80_000)  # ~5 MiB
    assert len(payload) > 4 * DEFAULT_CHUNK
    artifact, manifest = build(payload, pieces=37)
    assert manifest.plain_bytes == len(payload)
    assert manifest.stored_bytes == len(artifact) < len(payload) // 4
    assert restore(artifact, manifest) == payload


def test_large_incompressible_payload_spans_several_chunks() -> None:
    payload = os.urandom(3 * DEFAULT_CHUNK + 12345)
    artifact, manifest = build(payload, pieces=5)
    assert len(artifact) > len(payload)  # several sealed chunks, each with its tag
    assert len(artifact) >= HEADER + 3 * (DEFAULT_CHUNK + TAG) + TAG
    assert manifest.stored_bytes == len(artifact)
    chunks = list(read_artifact(manifest, unwrap_key(manifest, kek_ring()), io.BytesIO(artifact)))
    assert len(chunks) > 1
    assert b"".join(chunks) == payload


def test_writer_is_a_file_for_copyfileobj() -> None:
    payload = rows(500)
    out = io.BytesIO()
    writer = ArtifactWriter(out, snapshot_id=SNAPSHOT, kek=kek_ring(), random=os.urandom)
    assert writer.writable()
    shutil.copyfileobj(io.BytesIO(payload), writer, 1000)
    writer.flush()
    writer.finish()
    manifest = writer.manifest(
        taken_at=TAKEN_AT,
        finished_at=FINISHED_AT,
        dialect="postgresql",
        source="postgresql://db.example.com/charter",
        schema_revision="1",
        tables={},
    )
    assert manifest.dialect == "postgresql" and manifest.tables == {}
    assert restore(out.getvalue(), manifest) == payload


class _CountingSink:
    """An artifact file that keeps only the size and the hash of what it receives."""

    def __init__(self) -> None:
        self.count = 0
        self.sha = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.count += len(data)
        self.sha.update(data)
        return len(data)

    def flush(self) -> None:
        pass


def test_the_writer_streams_instead_of_buffering_the_whole_payload() -> None:
    """Sealed chunks leave while the payload still comes. zstd's worker threads (one per CPU) hold some input
    (about 16 MiB per thread here), so the bound scales with the CPU count, never with the payload."""
    sink = _CountingSink()
    writer = ArtifactWriter(sink, snapshot_id=SNAPSHOT, kek=kek_ring(), random=os.urandom)  # type: ignore[arg-type]
    bound = 32 * ((os.cpu_count() or 1) + 2) * DEFAULT_CHUNK
    plain = hashlib.sha256()
    written = 0
    while sink.count <= HEADER:
        block = os.urandom(DEFAULT_CHUNK)
        writer.write(block)
        plain.update(block)
        written += len(block)
        assert written - sink.count <= bound, "the writer holds back more than zstd's worker buffers"
    for _ in range(48):  # steady state: output keeps pace with input
        block = os.urandom(DEFAULT_CHUNK)
        writer.write(block)
        plain.update(block)
        written += len(block)
        assert written - sink.count <= bound
    writer.finish()
    assert sink.count > written  # random data: stored bytes exceed the payload by the framing
    manifest = writer.manifest(**FACTS)
    assert (manifest.plain_bytes, manifest.plain_sha256) == (written, plain.hexdigest())
    assert (manifest.stored_bytes, manifest.artifact_sha256) == (sink.count, sink.sha.hexdigest())


def test_each_snapshot_has_its_own_key() -> None:
    _, first = build(b"same")
    _, second = build(b"same")
    assert first.wrapped_key != second.wrapped_key
    assert unwrap_key(first, kek_ring()) != unwrap_key(second, kek_ring())


def test_a_retired_kek_still_opens_its_backups() -> None:
    """After a KEK rotation, the previous KEK (kept in the ring) unwraps older snapshots."""
    old = EnvKeyProvider(KEK_B64)
    rotated = KekRing(EnvKeyProvider(base64.b64encode(b"\x33" * 32).decode()), previous=[old])
    assert rotated.key_id != SMALL_MANIFEST.kek_id
    assert restore(SMALL_ARTIFACT, SMALL_MANIFEST, rotated) == SMALL_PAYLOAD
    artifact, manifest = build(b"new backup", ring=rotated)
    assert manifest.kek_id == rotated.key_id
    assert restore(artifact, manifest, rotated) == b"new backup"


# -- the manifest file ---------------------------------------------------------------------------


def test_manifest_json_round_trip() -> None:
    data = SMALL_MANIFEST.to_json()
    parsed = Manifest.from_json(data, name=f"{SNAPSHOT}.manifest.json")
    assert parsed == SMALL_MANIFEST
    assert parsed.mac == SMALL_MANIFEST.mac
    assert parsed.to_json() == data  # canonical: parsing and writing again changes nothing
    assert unwrap_key(parsed, kek_ring()) == SMALL_KEY


def test_manifest_json_layout() -> None:
    raw = json.loads(SMALL_MANIFEST.to_json())
    assert raw["format"] == "charter-backup/1"
    assert raw["id"] == SNAPSHOT
    assert raw["taken_at"] == "2026-11-29T11:59:30Z"
    assert raw["finished_at"] == "2026-11-29T12:00:05.250000Z"
    assert raw["source"] == {"dialect": "sqlite", "database": "sqlite:///x", "schema_revision": "0004"}
    assert raw["tables"] == {"audit": 12, "records": 3}
    assert raw["sizes"] == {"plain": len(SMALL_PAYLOAD), "stored": len(SMALL_ARTIFACT)}
    assert raw["key"]["algorithm"] == "AES-256-GCM-STREAM"
    assert raw["key"]["kek_id"] == kek_ring().key_id
    assert raw["mac"] == SMALL_MANIFEST.mac
    assert SMALL_MANIFEST.to_json().endswith(b"\n")


def test_times_in_other_zones_are_stored_in_utc() -> None:
    zone = timezone(timedelta(hours=2))
    manifest = replace(SMALL_MANIFEST, taken_at=TAKEN_AT.astimezone(zone))
    raw = json.loads(manifest.to_json())
    assert raw["taken_at"] == "2026-11-29T11:59:30Z"
    assert Manifest.from_json(manifest.to_json(), name="m").taken_at.tzinfo == UTC


def _edited(path: tuple[str, ...], value: Any, manifest: Manifest = SMALL_MANIFEST) -> Manifest:
    raw = json.loads(manifest.to_json())
    node = raw
    for part in path[:-1]:
        node = node[part]
    assert path[-1] in node or path[:-1] == ("tables",)
    node[path[-1]] = value
    return Manifest.from_json(json.dumps(raw).encode(), name="edited.manifest.json")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("tables", "records"), 4),
        (("tables", "records"), 0),
        (("tables", "deleted_secretly"), 1),
        (("taken_at",), "2026-11-29T11:59:31Z"),
        (("taken_at",), "2025-11-29T11:59:30Z"),
        (("finished_at",), "2026-11-29T12:00:06Z"),
        (("source", "dialect"), "postgresql"),
        (("source", "database"), "sqlite:///y"),
        (("source", "schema_revision"), "0005"),
        (("sizes", "plain"), len(SMALL_PAYLOAD) + 1),
        (("sizes", "stored"), len(SMALL_ARTIFACT) - 1),
        (("checksums", "plain_sha256"), hashlib.sha256(b"other").hexdigest()),
        (("checksums", "artifact_sha256"), hashlib.sha256(b"other").hexdigest()),
        (("key", "chunk_size"), 4096),
        (("charter_version",), "0.0.0-fake"),
        (("mac",), "0" * 64),
        (("mac",), ""),
    ],
)
def test_an_edited_manifest_is_detected_by_its_mac(path: tuple[str, ...], value: Any) -> None:
    edited = _edited(path, value)
    assert edited.kek_id == SMALL_MANIFEST.kek_id  # the key still unwraps: the MAC is what catches the edit
    with pytest.raises(ManifestError, match=rf"snapshot {SNAPSHOT}: the manifest was altered"):
        unwrap_key(edited, kek_ring())


def test_removing_the_tables_is_detected() -> None:
    raw = json.loads(SMALL_MANIFEST.to_json())
    raw["tables"] = {}
    edited = Manifest.from_json(json.dumps(raw).encode(), name="m")
    with pytest.raises(ManifestError, match="altered"):
        unwrap_key(edited, kek_ring())


def test_an_unedited_manifest_passes_the_mac() -> None:
    """The control for the edits above: the same JSON, rewritten, still unwraps."""
    assert unwrap_key(_edited(("tables", "records"), 3), kek_ring()) == SMALL_KEY
    assert unwrap_key(_edited(("taken_at",), "2026-11-29T12:59:30+01:00"), kek_ring()) == SMALL_KEY  # same instant
    assert unwrap_key(replace(SMALL_MANIFEST), kek_ring()) == SMALL_KEY


@pytest.mark.parametrize(
    "changes",
    [
        {"tables": {"records": 2, "audit": 12}},
        {"finished_at": FINISHED_AT + timedelta(microseconds=1)},
        {"plain_bytes": 0},
        {"schema_revision": "0003"},
        {"chunk_size": 1 << 16},
    ],
)
def test_edited_dataclass_fields_are_detected(changes: dict[str, Any]) -> None:
    edited = replace(SMALL_MANIFEST, **changes)
    with pytest.raises(ManifestError, match="altered"):
        unwrap_key(edited, kek_ring())


def test_an_edited_snapshot_id_does_not_unwrap() -> None:
    """The id is the wrapping's associated data: a manifest renamed to another snapshot does not open."""
    edited = _edited(("id",), OTHER_SNAPSHOT)
    with pytest.raises(BackupKeyError, match=rf"snapshot {OTHER_SNAPSHOT}: .*does not open its backup key"):
        unwrap_key(edited, kek_ring())


def test_an_edited_kek_id_names_the_missing_kek() -> None:
    edited = _edited(("key", "kek_id"), "env:0123456789abcdef")
    with pytest.raises(BackupKeyError, match="env:0123456789abcdef, which is not configured here"):
        unwrap_key(edited, kek_ring())


def test_an_edited_wrapped_key_does_not_unwrap() -> None:
    wrapped = bytearray(base64.b64decode(SMALL_MANIFEST.wrapped_key))
    wrapped[-1] ^= 1
    edited = _edited(("key", "wrapped"), base64.b64encode(bytes(wrapped)).decode())
    with pytest.raises(BackupKeyError, match="wrong key"):
        unwrap_key(edited, kek_ring())


@pytest.mark.parametrize("wrapped", ["", "not base64!", "QUJD", SMALL_MANIFEST.wrapped_key[:-4]])
def test_a_damaged_wrapped_key_is_a_key_error(wrapped: str) -> None:
    edited = _edited(("key", "wrapped"), wrapped)
    with pytest.raises(BackupKeyError):
        unwrap_key(edited, kek_ring())


def test_the_wrapped_key_of_another_snapshot_does_not_unwrap() -> None:
    _, other = build(b"other", snapshot_id=OTHER_SNAPSHOT)
    edited = _edited(("key", "wrapped"), other.wrapped_key)
    with pytest.raises(BackupKeyError, match="wrong key"):
        unwrap_key(edited, kek_ring())


def test_another_kek_with_the_same_id() -> None:
    impostor = EnvKeyProvider(base64.b64encode(b"\x22" * 32).decode())
    impostor.key_id = SMALL_MANIFEST.kek_id  # e.g. a replaced key file the id check cannot tell apart
    with pytest.raises(BackupKeyError) as caught:
        unwrap_key(SMALL_MANIFEST, KekRing(impostor))
    message = str(caught.value)
    assert SNAPSHOT in message
    assert "does not open its backup key (wrong key)" in message


def test_kek_not_configured() -> None:
    ring = kek_ring(b"\x22" * 32)
    assert ring.key_id != SMALL_MANIFEST.kek_id
    with pytest.raises(BackupKeyError) as caught:
        unwrap_key(SMALL_MANIFEST, ring)
    message = str(caught.value)
    assert SNAPSHOT in message
    assert SMALL_MANIFEST.kek_id in message
    assert "not configured here" in message
    assert KEK_B64 not in message and base64.b64encode(b"\x22" * 32).decode() not in message


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json at all",
        b"\xff\xfe garbage",
        b"[]",
        b"null",
        b"42",
        b'"charter-backup/1"',
        b"{",
    ],
)
def test_a_manifest_that_is_not_json_names_the_file(data: bytes) -> None:
    with pytest.raises(ManifestError, match=r"^broken\.manifest\.json: ") as caught:
        Manifest.from_json(data, name="broken.manifest.json")
    assert caught.value.__cause__ is None


@pytest.mark.parametrize(
    "path",
    [
        ("id",),
        ("taken_at",),
        ("finished_at",),
        ("source",),
        ("source", "dialect"),
        ("source", "database"),
        ("source", "schema_revision"),
        ("tables",),
        ("sizes",),
        ("sizes", "plain"),
        ("sizes", "stored"),
        ("checksums", "plain_sha256"),
        ("checksums", "artifact_sha256"),
        ("key",),
        ("key", "kek_id"),
        ("key", "wrapped"),
        ("key", "chunk_size"),
        ("compression",),
        ("mac",),
    ],
)
def test_a_manifest_missing_a_field(path: tuple[str, ...]) -> None:
    raw = json.loads(SMALL_MANIFEST.to_json())
    node = raw
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    with pytest.raises(ManifestError, match=r"^snap\.manifest\.json: the manifest is damaged"):
        Manifest.from_json(json.dumps(raw).encode(), name="snap.manifest.json")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("taken_at",), "yesterday"),
        (("taken_at",), "2026-11-29T11:59:30"),  # naive: no zone
        (("finished_at",), 1764417600),
        (("tables",), ["records"]),
        (("tables",), {"records": "three"}),
        (("tables",), {"records": None}),
        (("sizes",), "big"),
        (("sizes", "plain"), "lots"),
        (("source",), "sqlite"),
        (("key",), None),
        (("key", "chunk_size"), [1]),
    ],
)
def test_a_manifest_with_a_field_of_the_wrong_type(path: tuple[str, ...], value: Any) -> None:
    raw = json.loads(SMALL_MANIFEST.to_json())
    node = raw
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(ManifestError, match=r"^snap\.manifest\.json: the manifest is damaged"):
        Manifest.from_json(json.dumps(raw).encode(), name="snap.manifest.json")


@pytest.mark.parametrize("fmt", ["charter-backup/2", "", None, 1])
def test_a_manifest_of_another_format(fmt: Any) -> None:
    raw = json.loads(SMALL_MANIFEST.to_json())
    raw["format"] = fmt
    with pytest.raises(ManifestError, match=r"^x\.manifest\.json: not a charter-backup/1 manifest") as caught:
        Manifest.from_json(json.dumps(raw).encode(), name="x.manifest.json")
    assert repr(fmt) in str(caught.value)


def test_a_json_object_that_is_not_a_manifest() -> None:
    with pytest.raises(ManifestError, match=r"^other\.json: not a charter-backup/1 manifest \(format None\)"):
        Manifest.from_json(b'{"hello": "world"}', name="other.json")


@pytest.mark.parametrize(("path", "value"), [(("source", "dialect"), "mysql"), (("compression",), "gzip")])
def test_a_manifest_with_an_unknown_source_or_compression(path: tuple[str, ...], value: str) -> None:
    raw = json.loads(SMALL_MANIFEST.to_json())
    node = raw
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(ManifestError, match=r"^y\.manifest\.json: unknown source or compression"):
        Manifest.from_json(json.dumps(raw).encode(), name="y.manifest.json")


def test_the_manifest_holds_no_key_material_but_the_wrapped_key() -> None:
    data = SMALL_MANIFEST.to_json()
    key = SMALL_KEY
    assert len(key) == 32
    derived = _manifest_key(key)
    for secret in (key, derived, KEK_BYTES):
        encodings = {
            secret,
            secret.hex().encode(),
            secret.hex().upper().encode(),
            base64.b64encode(secret),
            base64.b64encode(secret).rstrip(b"="),
            base64.urlsafe_b64encode(secret).rstrip(b"="),
            base64.b32encode(secret).rstrip(b"="),
        }
        for encoded in encodings:
            assert encoded not in data
        # nor a long piece of it (e.g. a prefix of the hex)
        assert secret.hex()[:16].encode() not in data
        assert base64.b64encode(secret)[:16] not in data
    raw = json.loads(data)
    wrapped = base64.b64decode(raw["key"]["wrapped"])
    assert key not in wrapped
    assert len(wrapped) == 1 + 12 + 32 + 16  # a sealed 32-byte key: version, nonce, ciphertext, tag
    assert set(raw) == {
        "format",
        "id",
        "taken_at",
        "finished_at",
        "source",
        "tables",
        "sizes",
        "checksums",
        "key",
        "compression",
        "charter_version",
        "mac",
    }
    assert set(raw["key"]) == {"algorithm", "chunk_size", "kek_id", "wrapped"}


def test_repr_and_str_hold_no_key() -> None:
    text = repr(SMALL_MANIFEST) + str(SMALL_MANIFEST)
    assert SMALL_KEY.hex() not in text
    assert base64.b64encode(SMALL_KEY).decode() not in text


# -- damaged artifacts ---------------------------------------------------------------------------


def _read(artifact: bytes, manifest: Manifest = SMALL_MANIFEST, key: bytes = SMALL_KEY) -> bytes:
    return b"".join(read_artifact(manifest, key, io.BytesIO(artifact)))


def test_the_payload_does_not_appear_in_the_artifact() -> None:
    payload = rows(2000)
    artifact, _ = build(payload)
    assert b"example.com" not in artifact
    assert b"fake record" not in artifact
    random_payload = os.urandom(200_000)
    artifact, _ = build(random_payload)
    assert not any(random_payload[i : i + 16] in artifact for i in range(0, len(random_payload) - 16, 997))


def test_truncated_at_every_position() -> None:
    assert _read(SMALL_ARTIFACT) == SMALL_PAYLOAD
    for cut in range(len(SMALL_ARTIFACT)):
        with pytest.raises(ArtifactError, match=SNAPSHOT):
            _read(SMALL_ARTIFACT[:cut])


def test_one_flipped_bit_anywhere() -> None:
    for position in range(len(SMALL_ARTIFACT)):
        for bit in (0, 3, 7):
            damaged = bytearray(SMALL_ARTIFACT)
            damaged[position] ^= 1 << bit
            with pytest.raises(ArtifactError, match=SNAPSHOT):
                _read(bytes(damaged))


@pytest.mark.parametrize("extra", [b"\x00", b"x" * 100])
def test_bytes_appended(extra: bytes) -> None:
    with pytest.raises(ArtifactError):
        _read(SMALL_ARTIFACT + extra)


LARGE_PAYLOAD = os.urandom(2 * DEFAULT_CHUNK + 999)
LARGE_ARTIFACT, LARGE_MANIFEST = build(LARGE_PAYLOAD)


@pytest.mark.parametrize(
    "cut",
    [
        0,
        HEADER,
        HEADER + DEFAULT_CHUNK,
        HEADER + DEFAULT_CHUNK + TAG,  # exactly after the first full chunk
        HEADER + 2 * (DEFAULT_CHUNK + TAG),  # exactly after the second: the last chunk dropped
        len(LARGE_ARTIFACT) - 1,
    ],
)
def test_large_artifact_truncated(cut: int) -> None:
    key = unwrap_key(LARGE_MANIFEST, kek_ring())
    with pytest.raises(ArtifactError, match="does not decrypt"):
        _read(LARGE_ARTIFACT[:cut], LARGE_MANIFEST, key)


@pytest.mark.parametrize("position", [0, 10, HEADER, HEADER + DEFAULT_CHUNK // 2, HEADER + DEFAULT_CHUNK + TAG, -1])
def test_large_artifact_bit_flipped(position: int) -> None:
    key = unwrap_key(LARGE_MANIFEST, kek_ring())
    damaged = bytearray(LARGE_ARTIFACT)
    damaged[position] ^= 0x10
    with pytest.raises(ArtifactError, match="does not decrypt"):
        _read(bytes(damaged), LARGE_MANIFEST, key)


def test_large_artifact_chunks_swapped() -> None:
    key = unwrap_key(LARGE_MANIFEST, kek_ring())
    full = DEFAULT_CHUNK + TAG
    first = LARGE_ARTIFACT[HEADER : HEADER + full]
    second = LARGE_ARTIFACT[HEADER + full : HEADER + 2 * full]
    swapped = LARGE_ARTIFACT[:HEADER] + second + first + LARGE_ARTIFACT[HEADER + 2 * full :]
    assert len(swapped) == len(LARGE_ARTIFACT)
    with pytest.raises(ArtifactError, match="does not decrypt"):
        _read(swapped, LARGE_MANIFEST, key)


def test_the_artifact_of_another_snapshot() -> None:
    """Even with the same backup key (a deterministic random here), the snapshot id binds the artifact."""
    payload = rows(50)
    mine, my_manifest = build(payload, random=fixed_random(0x5A))
    theirs, their_manifest = build(payload, snapshot_id=OTHER_SNAPSHOT, random=fixed_random(0x5A))
    key = unwrap_key(my_manifest, kek_ring())
    assert unwrap_key(their_manifest, kek_ring()) == key  # same key on purpose
    assert mine[:HEADER] == theirs[:HEADER]
    assert _read(mine, my_manifest, key) == payload
    with pytest.raises(ArtifactError, match=rf"snapshot {SNAPSHOT}: the artifact does not decrypt"):
        _read(theirs, my_manifest, key)


def test_another_artifact_under_a_random_key() -> None:
    other_artifact, _ = build(SMALL_PAYLOAD, snapshot_id=OTHER_SNAPSHOT)
    with pytest.raises(ArtifactError):
        _read(other_artifact)


def test_the_wrong_key() -> None:
    with pytest.raises(ArtifactError, match="does not decrypt"):
        _read(SMALL_ARTIFACT, key=b"\x00" * 32)


@pytest.mark.parametrize(
    "changes",
    [
        {"stored_bytes": len(SMALL_ARTIFACT) + 1},
        {"artifact_sha256": hashlib.sha256(b"x").hexdigest()},
    ],
)
def test_the_artifact_differs_from_its_manifest(changes: dict[str, Any]) -> None:
    """read_artifact checks sizes and checksums itself (even for a manifest whose MAC it does not check)."""
    manifest = replace(SMALL_MANIFEST, **changes)
    with pytest.raises(ArtifactError, match="the artifact's size or checksum differs from the manifest"):
        _read(SMALL_ARTIFACT, manifest)


@pytest.mark.parametrize(
    "changes",
    [
        {"plain_bytes": len(SMALL_PAYLOAD) - 1},
        {"plain_sha256": hashlib.sha256(b"x").hexdigest()},
    ],
)
def test_the_payload_differs_from_its_manifest(changes: dict[str, Any]) -> None:
    manifest = replace(SMALL_MANIFEST, **changes)
    with pytest.raises(ArtifactError, match="the payload's size or checksum differs from the manifest"):
        _read(SMALL_ARTIFACT, manifest)


def _sealed(plain: bytes, snapshot_id: str = SNAPSHOT, key: bytes = SMALL_KEY) -> bytes:
    out = io.BytesIO()
    sealer = StreamEncryptor(key, out, _aad(snapshot_id))
    sealer.write(plain)
    sealer.close()
    return out.getvalue()


def test_a_cut_compressed_payload() -> None:
    """A validly sealed stream whose zstd frame stops early (a writer that never finished compressing), even
    with a manifest whose artifact size and checksum match it: the payload is still refused."""
    frame = zstandard.ZstdCompressor().compress(SMALL_PAYLOAD * 20)
    artifact = _sealed(frame[: len(frame) // 2])
    manifest = replace(SMALL_MANIFEST, stored_bytes=len(artifact), artifact_sha256=hashlib.sha256(artifact).hexdigest())
    with pytest.raises(ArtifactError, match=rf"^snapshot {SNAPSHOT}: the (compressed )?payload"):
        _read(artifact, manifest)


def test_a_payload_that_is_not_zstd() -> None:
    with pytest.raises(ArtifactError, match="the payload does not decompress"):
        _read(_sealed(b"this is not a zstd frame, just fake bytes" * 4))


def test_an_artifact_without_finish_does_not_open() -> None:
    out = io.BytesIO()
    writer = ArtifactWriter(out, snapshot_id=SNAPSHOT, kek=kek_ring(), random=os.urandom)
    writer.write(os.urandom(DEFAULT_CHUNK * 2))
    manifest = writer.manifest(**FACTS)
    key = unwrap_key(manifest, kek_ring())
    with pytest.raises(ArtifactError, match="does not decrypt"):
        _read(out.getvalue(), manifest, key)


def test_the_payload_is_untrusted_until_the_end() -> None:
    """Chunks before a cut are yielded, then the error: a consumer must drain the generator before trusting."""
    key = unwrap_key(LARGE_MANIFEST, kek_ring())
    chunks = read_artifact(LARGE_MANIFEST, key, io.BytesIO(LARGE_ARTIFACT[: HEADER + DEFAULT_CHUNK + TAG]))
    first = next(chunks)  # authentic, but not yet known to be complete
    assert first and LARGE_PAYLOAD.startswith(first)
    with pytest.raises(ArtifactError, match="does not decrypt"):
        list(chunks)
