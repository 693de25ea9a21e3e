"""The destination port: one conformance suite for the local directory and S3 (a local moto server).

Adapter-specific facts (file modes, temporary files, buckets, prefixes, ``open_destination``) follow the suite.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from charter.backup import Destination, DestinationError, LocalDestination, S3Destination
from charter.backup._destinations import open_destination
from charter.policy import BackupDestination

ARTIFACT = "20261129T120000Z-abcdef.artifact"
MANIFEST = "20261129T120000Z-abcdef.manifest.json"
REGION = "eu-west-1"


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION)


@pytest.fixture(params=["local", "s3"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def destination(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Destination:
    """An empty destination of each kind (the conformance suite runs once per adapter)."""
    if kind == "local":
        return LocalDestination("nightly", tmp_path / "backups")
    endpoint, bucket = request.getfixturevalue("s3_bucket")
    return S3Destination("nightly", bucket, "charter/backups", s3_client(endpoint))


@pytest.fixture
def files(tmp_path: Path) -> Callable[[bytes], Path]:
    """Write source files to upload."""
    folder = tmp_path / "sources"
    folder.mkdir()
    counter = iter(range(1_000_000))

    def make(data: bytes) -> Path:
        path = folder / f"source-{next(counter)}"
        path.write_bytes(data)
        return path

    return make


def read_all(destination: Destination, name: str) -> bytes:
    with destination.open(name) as stream:
        return stream.read()


# -- the conformance suite -----------------------------------------------------------------------


def test_a_new_destination_is_empty(destination: Destination) -> None:
    assert destination.names() == []
    assert destination.name == "nightly"


def test_put_and_read_back(destination: Destination, files: Callable[[bytes], Path]) -> None:
    artifact = os.urandom(70_000)
    manifest = b'{"format": "charter-backup/1", "fake": true}\n'
    destination.put(ARTIFACT, files(artifact))
    destination.put(MANIFEST, files(manifest))
    assert destination.names() == [ARTIFACT, MANIFEST]
    assert read_all(destination, ARTIFACT) == artifact
    assert destination.read_small(MANIFEST) == manifest
    assert destination.size(ARTIFACT) == len(artifact)
    assert destination.size(MANIFEST) == len(manifest)


def test_put_leaves_the_source(destination: Destination, files: Callable[[bytes], Path]) -> None:
    source = files(b"payload")
    destination.put(ARTIFACT, source)
    assert source.read_bytes() == b"payload"


def test_empty_object(destination: Destination, files: Callable[[bytes], Path]) -> None:
    destination.put(MANIFEST, files(b""))
    assert destination.names() == [MANIFEST]
    assert destination.size(MANIFEST) == 0
    assert destination.read_small(MANIFEST) == b""
    assert read_all(destination, MANIFEST) == b""


def test_open_streams_in_parts(destination: Destination, files: Callable[[bytes], Path]) -> None:
    data = os.urandom(300_000)
    destination.put(ARTIFACT, files(data))
    parts: list[bytes] = []
    with destination.open(ARTIFACT) as stream:
        while part := stream.read(65_536):
            assert len(part) <= 65_536
            parts.append(part)
    assert b"".join(parts) == data
    assert len(parts) >= 5


def test_a_large_object(destination: Destination, files: Callable[[bytes], Path]) -> None:
    """Large enough for boto3's multipart upload (8 MiB threshold): it appears whole, once."""
    data = os.urandom(9 * (1 << 20) + 7)
    destination.put(ARTIFACT, files(data))
    assert destination.names() == [ARTIFACT]
    assert destination.size(ARTIFACT) == len(data)
    with destination.open(ARTIFACT) as stream:
        digest = hashlib.sha256()
        while part := stream.read(1 << 20):
            digest.update(part)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


def test_names_are_sorted(destination: Destination, files: Callable[[bytes], Path]) -> None:
    wanted = [
        "20261129T120000Z-abcdef.artifact",
        "20251129T120000Z-abcdef.manifest.json",
        "20261129T120000Z-abcdef.manifest.json",
        "20260101T000000Z-000000.artifact",
    ]
    for name in wanted:
        destination.put(name, files(name.encode()))
    assert destination.names() == sorted(wanted)
    for name in wanted:
        assert destination.read_small(name) == name.encode()


def test_put_replaces_an_existing_object(destination: Destination, files: Callable[[bytes], Path]) -> None:
    destination.put(MANIFEST, files(b"old version " * 100))
    destination.put(MANIFEST, files(b"new"))
    assert destination.names() == [MANIFEST]
    assert destination.read_small(MANIFEST) == b"new"
    assert destination.size(MANIFEST) == 3


def test_a_reader_of_the_old_object_sees_it_whole(destination: Destination, files: Callable[[bytes], Path]) -> None:
    old, new = os.urandom(200_000), os.urandom(150_000)
    destination.put(ARTIFACT, files(old))
    with destination.open(ARTIFACT) as stream:
        first = stream.read(1000)
        destination.put(ARTIFACT, files(new))
        rest = stream.read()
    assert first + rest in (old, new)  # never a mix of the two
    assert read_all(destination, ARTIFACT) == new


def test_concurrent_readers_see_old_or_new_never_partial(
    destination: Destination, files: Callable[[bytes], Path]
) -> None:
    versions = [os.urandom(120_000), os.urandom(60_000), os.urandom(180_000)]
    sources = [files(v) for v in versions]
    destination.put(ARTIFACT, sources[0])
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(12):
                destination.put(ARTIFACT, sources[(i + 1) % len(sources)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            stop.set()

    thread = threading.Thread(target=writer)
    thread.start()
    seen: list[bytes] = []
    try:
        while not stop.is_set() or not seen:
            try:
                seen.append(read_all(destination, ARTIFACT))
            except FileNotFoundError:  # pragma: no cover - the object must never disappear
                pytest.fail("the object vanished while being replaced")
    finally:
        thread.join()
    assert errors == []
    assert all(data in versions for data in seen)
    assert destination.names() == [ARTIFACT]


def test_read_small_limit(destination: Destination, files: Callable[[bytes], Path]) -> None:
    destination.put(MANIFEST, files(b"x" * 100))
    assert destination.read_small(MANIFEST, limit=100) == b"x" * 100
    assert destination.read_small(MANIFEST, limit=101) == b"x" * 100
    with pytest.raises(DestinationError, match=rf"'nightly': {MANIFEST} is larger than 99 bytes"):
        destination.read_small(MANIFEST, limit=99)
    with pytest.raises(DestinationError, match="larger than 0 bytes"):
        destination.read_small(MANIFEST, limit=0)


def test_read_small_default_limit_is_one_mebibyte(destination: Destination, files: Callable[[bytes], Path]) -> None:
    destination.put(MANIFEST, files(b"m" * (1 << 20)))
    destination.put(ARTIFACT, files(b"a" * ((1 << 20) + 1)))
    assert len(destination.read_small(MANIFEST)) == 1 << 20
    with pytest.raises(DestinationError, match="larger than 1048576 bytes"):
        destination.read_small(ARTIFACT)


def test_missing_objects(destination: Destination, files: Callable[[bytes], Path]) -> None:
    destination.put(ARTIFACT, files(b"present"))
    with pytest.raises(FileNotFoundError):
        destination.read_small(MANIFEST)
    with pytest.raises(FileNotFoundError):
        destination.size(MANIFEST)
    with pytest.raises(FileNotFoundError), destination.open(MANIFEST):
        pass  # pragma: no cover


def test_delete(destination: Destination, files: Callable[[bytes], Path]) -> None:
    destination.put(ARTIFACT, files(b"a"))
    destination.put(MANIFEST, files(b"m"))
    destination.delete(ARTIFACT)
    assert destination.names() == [MANIFEST]
    with pytest.raises(FileNotFoundError):
        destination.size(ARTIFACT)
    destination.delete(ARTIFACT)  # already gone: fine
    destination.delete("20000101T000000Z-000000.artifact")  # never there: fine
    assert destination.names() == [MANIFEST]
    assert destination.read_small(MANIFEST) == b"m"


BAD_NAMES = [
    "",
    "..",
    "../escape",
    "a/../../etc",
    "sub/object",
    "/etc/passwd",
    "a..b",
    "name/",
    ".tmp-hidden",
    ".hidden",
    "-dash-first",
    "back\\slash",
    "space name",
    "x" * 202,
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_names_outside_the_destination_are_rejected(
    destination: Destination, files: Callable[[bytes], Path], name: str
) -> None:
    source = files(b"data")
    with pytest.raises(ValueError, match="is not a snapshot object name"):
        destination.put(name, source)
    with pytest.raises(ValueError, match="is not a snapshot object name"):
        destination.read_small(name)
    with pytest.raises(ValueError, match="is not a snapshot object name"):
        destination.size(name)
    with pytest.raises(ValueError, match="is not a snapshot object name"):
        destination.delete(name)
    with pytest.raises(ValueError, match="is not a snapshot object name"), destination.open(name):
        pass  # pragma: no cover
    assert destination.names() == []


def test_longest_name_is_accepted(destination: Destination, files: Callable[[bytes], Path]) -> None:
    name = "a" * 201
    destination.put(name, files(b"long"))
    assert destination.names() == [name]


def test_describe_names_the_place_without_credentials(destination: Destination, kind: str, tmp_path: Path) -> None:
    text = destination.describe()
    if kind == "local":
        assert text == str(tmp_path / "backups")
    else:
        assert text.startswith("s3://charter-test-") and text.endswith("/charter/backups/")
    assert "testing-fake-secret" not in text and "testing-fake-key-id" not in text


# -- local directory -----------------------------------------------------------------------------


def test_local_modes(tmp_path: Path, files: Callable[[bytes], Path]) -> None:
    destination = LocalDestination("nightly", tmp_path / "deep" / "backups")
    assert stat.S_IMODE((tmp_path / "deep" / "backups").stat().st_mode) == 0o700
    destination.put(ARTIFACT, files(b"secret-ish"))
    destination.put(ARTIFACT, files(b"replaced"))
    destination.put(MANIFEST, files(b"{}"))
    for name in (ARTIFACT, MANIFEST):
        assert stat.S_IMODE((destination.path / name).stat().st_mode) == 0o600


def test_local_objects_are_0600_whatever_the_source_mode(tmp_path: Path, files: Callable[[bytes], Path]) -> None:
    destination = LocalDestination("nightly", tmp_path / "backups")
    source = files(b"world readable source")
    source.chmod(0o644)
    destination.put(ARTIFACT, source)
    assert stat.S_IMODE((destination.path / ARTIFACT).stat().st_mode) == 0o600


def test_local_existing_directory_is_used_as_is(tmp_path: Path, files: Callable[[bytes], Path]) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / MANIFEST).write_bytes(b"already here")
    destination = LocalDestination("nightly", folder, create=False)
    assert destination.names() == [MANIFEST]
    assert destination.read_small(MANIFEST) == b"already here"


def test_local_path_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "backups"
    path.write_text("not a directory")
    for create in (True, False):
        with pytest.raises(DestinationError, match=rf"'nightly': {path} is not a directory"):
            LocalDestination("nightly", path, create=create)
    assert path.read_text() == "not a directory"


def test_local_missing_directory_without_create_reads_as_empty(tmp_path: Path) -> None:
    """Reading commands (create=False) see a missing directory as one without snapshots, and never make it."""
    path = tmp_path / "missing" / "backups"
    destination = LocalDestination("nightly", path, create=False)
    assert destination.names() == []
    assert destination.remove_stale_temporaries(before=2e9) == []
    with pytest.raises(FileNotFoundError):
        destination.read_small(MANIFEST)
    with pytest.raises(FileNotFoundError):
        destination.size(ARTIFACT)
    with pytest.raises(FileNotFoundError), destination.open(ARTIFACT):
        pass  # pragma: no cover
    destination.delete(ARTIFACT)
    assert not (tmp_path / "missing").exists()


def test_local_missing_directory_without_create_cannot_be_written(
    tmp_path: Path, files: Callable[[bytes], Path]
) -> None:
    path = tmp_path / "missing" / "backups"
    destination = LocalDestination("nightly", path, create=False)
    with pytest.raises(DestinationError, match="'nightly'"):
        destination.put(ARTIFACT, files(b"data"))
    assert not (tmp_path / "missing").exists()


def test_local_directory_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DestinationError, match="'nightly'"):
        LocalDestination("nightly", blocker / "backups")


def temporaries(destination: LocalDestination) -> list[str]:
    return sorted(p.name for p in destination.path.iterdir() if p.name.startswith(".tmp-"))


def test_local_names_skip_temporary_files_and_folders(tmp_path: Path, files: Callable[[bytes], Path]) -> None:
    destination = LocalDestination("nightly", tmp_path / "backups")
    destination.put(MANIFEST, files(b"m"))
    (destination.path / ".tmp-abc123").write_bytes(b"half an upload")
    (destination.path / "subfolder").mkdir()
    assert destination.names() == [MANIFEST]
    assert temporaries(destination) == [".tmp-abc123"]


def test_local_remove_stale_temporaries(tmp_path: Path, files: Callable[[bytes], Path]) -> None:
    destination = LocalDestination("nightly", tmp_path / "backups")
    destination.put(MANIFEST, files(b"m"))
    old, fresh = destination.path / ".tmp-old", destination.path / ".tmp-fresh"
    old.write_bytes(b"left by a killed run")
    fresh.write_bytes(b"a run in progress")
    os.utime(old, (1_700_000_000, 1_700_000_000))
    os.utime(fresh, (1_800_000_000, 1_800_000_000))
    assert destination.remove_stale_temporaries(before=1_750_000_000) == [".tmp-old"]
    assert temporaries(destination) == [".tmp-fresh"]
    assert destination.names() == [MANIFEST]  # snapshots are never touched, whatever their age
    assert destination.remove_stale_temporaries(before=1_750_000_000) == []


@pytest.fixture
def failing_copy(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Make the next copies write half of the source, then fail with the given errno."""

    def arm(code: int) -> None:
        def copy(src: BinaryIO, dst: BinaryIO, length: int = 0) -> None:
            data = src.read()
            dst.write(data[: len(data) // 2])
            dst.flush()
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(shutil, "copyfileobj", copy)

    return arm


def test_local_disk_full_mid_copy_leaves_nothing(
    tmp_path: Path, files: Callable[[bytes], Path], failing_copy: Callable[[int], None]
) -> None:
    destination = LocalDestination("nightly", tmp_path / "backups")
    destination.put(MANIFEST, files(b"old manifest"))
    before = destination.names()
    new_artifact, new_manifest = files(os.urandom(50_000)), files(b"new manifest")
    failing_copy(errno.ENOSPC)
    with pytest.raises(DestinationError, match=r"'nightly' is full \(no space left on device\)") as caught:
        destination.put(ARTIFACT, new_artifact)
    assert caught.value.__cause__ is None
    with pytest.raises(DestinationError, match="full"):
        destination.put(MANIFEST, new_manifest)  # replacing: the old object survives
    assert destination.names() == before
    assert destination.read_small(MANIFEST) == b"old manifest"
    assert temporaries(destination) == []
    assert sorted(p.name for p in destination.path.iterdir()) == [MANIFEST]


def test_local_permission_denied_mid_copy(
    tmp_path: Path, files: Callable[[bytes], Path], failing_copy: Callable[[int], None]
) -> None:
    destination = LocalDestination("nightly", tmp_path / "backups")
    failing_copy(errno.EACCES)
    with pytest.raises(DestinationError, match="'nightly' cannot be written: Permission denied"):
        destination.put(ARTIFACT, files(b"data"))
    assert os.listdir(destination.path) == []


def test_local_interrupted_copy_leaves_nothing(
    tmp_path: Path, files: Callable[[bytes], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not an OSError (e.g. Ctrl-C): it propagates unchanged and the temporary file is removed."""
    destination = LocalDestination("nightly", tmp_path / "backups")

    def interrupted(src: BinaryIO, dst: BinaryIO, length: int = 0) -> None:
        dst.write(src.read(10))
        raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "copyfileobj", interrupted)
    with pytest.raises(KeyboardInterrupt):
        destination.put(ARTIFACT, files(b"0123456789abcdef"))
    assert os.listdir(destination.path) == []


@pytest.mark.parametrize(("code", "message"), [(errno.ENOSPC, "is full"), (errno.EACCES, "cannot be written")])
def test_local_temporary_file_cannot_be_created(
    tmp_path: Path, files: Callable[[bytes], Path], monkeypatch: pytest.MonkeyPatch, code: int, message: str
) -> None:
    """The first step of put (the temporary file) fails as a DestinationError too, not a bare OSError."""
    destination = LocalDestination("nightly", tmp_path / "backups")
    source = files(b"data")

    def refuse(*args: Any, **kwargs: Any) -> tuple[int, str]:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(DestinationError, match=rf"'nightly' {message}"):
        destination.put(ARTIFACT, source)
    assert os.listdir(destination.path) == []


def test_local_missing_source(tmp_path: Path) -> None:
    destination = LocalDestination("nightly", tmp_path / "backups")
    with pytest.raises(DestinationError, match="'nightly'"):
        destination.put(ARTIFACT, tmp_path / "no-such-file")
    assert os.listdir(destination.path) == []


def test_local_read_only_directory(
    tmp_path: Path, files: Callable[[bytes], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import tempfile

    destination = LocalDestination("nightly", tmp_path / "backups")

    def read_only(*args: Any, **kwargs: Any) -> Any:  # what a 0500 directory gives (root would ignore a chmod)
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(DestinationError, match="'nightly' cannot be written: Permission denied"):
        destination.put(ARTIFACT, files(b"data"))
    monkeypatch.undo()
    assert destination.names() == []


# -- S3 ------------------------------------------------------------------------------------------


@pytest.fixture
def s3(s3_bucket: tuple[str, str]) -> tuple[Any, str]:
    endpoint, bucket = s3_bucket
    return s3_client(endpoint), bucket


def test_s3_prefix_gets_a_trailing_slash(s3: tuple[Any, str], files: Callable[[bytes], Path]) -> None:
    client, bucket = s3
    for prefix, expected in (("backups", "backups/"), ("backups/", "backups/"), ("", "")):
        destination = S3Destination("nightly", bucket, prefix, client)
        assert destination.prefix == expected
        assert destination.describe() == f"s3://{bucket}/{expected}"
    S3Destination("nightly", bucket, "backups", client).put(MANIFEST, files(b"m"))
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [f"backups/{MANIFEST}"]


def test_s3_names_only_direct_children_of_the_prefix(s3: tuple[Any, str], files: Callable[[bytes], Path]) -> None:
    client, bucket = s3
    destination = S3Destination("nightly", bucket, "prod", client)
    destination.put(MANIFEST, files(b"mine"))
    client.put_object(Bucket=bucket, Key="production/" + ARTIFACT, Body=b"another prefix")
    client.put_object(Bucket=bucket, Key="prod/nested/" + ARTIFACT, Body=b"deeper")
    client.put_object(Bucket=bucket, Key=ARTIFACT, Body=b"at the root")
    assert destination.names() == [MANIFEST]
    assert S3Destination("nightly", bucket, "", client).names() == [ARTIFACT]


def test_s3_names_page_through_every_page(s3: tuple[Any, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """S3 lists at most 1000 keys a page; pages of 4 here show that names() follows them all."""
    client, bucket = s3
    wanted = sorted(f"20261129T12{i:04d}Z-abcdef.artifact" for i in range(23))
    for name in wanted:
        client.put_object(Bucket=bucket, Key="many/" + name, Body=b"")
    real = client.get_paginator
    pages: list[int] = []

    class SmallPages:
        def __init__(self, name: str) -> None:
            self._paginator = real(name)

        def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
            for page in self._paginator.paginate(**kwargs, PaginationConfig={"PageSize": 4}):
                pages.append(len(page.get("Contents", [])))
                yield page

    monkeypatch.setattr(client, "get_paginator", SmallPages)
    assert S3Destination("nightly", bucket, "many", client).names() == wanted
    assert pages == [4, 4, 4, 4, 4, 3]


def test_s3_unfinished_upload_is_not_listed(s3: tuple[Any, str], files: Callable[[bytes], Path]) -> None:
    """The S3 counterpart of a temporary file: a multipart upload never completed."""
    client, bucket = s3
    destination = S3Destination("nightly", bucket, "charter", client)
    destination.put(MANIFEST, files(b"m"))
    upload = client.create_multipart_upload(Bucket=bucket, Key="charter/" + ARTIFACT)
    client.upload_part(
        Bucket=bucket, Key="charter/" + ARTIFACT, UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 1000
    )
    assert destination.names() == [MANIFEST]
    with pytest.raises(FileNotFoundError):
        destination.size(ARTIFACT)


@pytest.mark.parametrize("operation", ["put", "names", "open", "read_small", "size", "delete"])
def test_s3_missing_bucket(s3: tuple[Any, str], files: Callable[[bytes], Path], operation: str) -> None:
    client, _ = s3
    destination = S3Destination("offsite", "charter-no-such-bucket-0000", "x", client)
    source = files(b"data")

    def read_open() -> None:
        with destination.open(ARTIFACT):
            pass  # pragma: no cover

    calls: dict[str, Callable[[], object]] = {
        "put": lambda: destination.put(ARTIFACT, source),
        "names": destination.names,
        "open": read_open,
        "read_small": lambda: destination.read_small(MANIFEST),
        "size": lambda: destination.size(ARTIFACT),
        "delete": lambda: destination.delete(ARTIFACT),
    }
    with pytest.raises(DestinationError, match="'offsite': bucket 'charter-no-such-bucket-0000' does not exist"):
        calls[operation]()


def test_s3_unreachable_endpoint(files: Callable[[bytes], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from botocore.config import Config

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-fake-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-fake-secret")
    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",  # the discard port: nothing listens
        region_name=REGION,
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1),
    )
    destination = S3Destination("offsite", "bucket", "", client)
    with pytest.raises(DestinationError, match=r"'offsite': cannot reach the S3 endpoint"):
        destination.names()
    with pytest.raises(DestinationError, match="cannot reach the S3 endpoint"):
        destination.put(ARTIFACT, files(b"data"))


def test_s3_bad_credentials(s3_bucket: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The error names the problem, never the secret."""
    endpoint, bucket = s3_bucket
    client = s3_client(endpoint)

    def deny(*args: Any, **kwargs: Any) -> None:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "fake"}}, "ListObjectsV2")

    monkeypatch.setattr(client, "get_paginator", lambda name: type("P", (), {"paginate": deny})())
    with pytest.raises(DestinationError, match=r"'nightly': access denied \(AccessDenied\)") as caught:
        S3Destination("nightly", bucket, "", client).names()
    assert "testing-fake-secret" not in str(caught.value)


# -- open_destination ----------------------------------------------------------------------------


def test_open_local_relative_to_the_data_dir(tmp_path: Path, files: Callable[[bytes], Path]) -> None:
    config = BackupDestination(name="nightly", kind="local", path="backups/main", provider="on-premises")
    data_dir = tmp_path / "data"
    destination = open_destination(config, data_dir, {})
    assert isinstance(destination, LocalDestination)
    assert destination.path == data_dir / "backups" / "main"
    assert destination.name == "nightly"
    assert destination.path.is_dir()
    destination.put(MANIFEST, files(b"m"))
    assert (data_dir / "backups" / "main" / MANIFEST).read_bytes() == b"m"


def test_open_local_absolute_path(tmp_path: Path) -> None:
    config = BackupDestination(name="nightly", kind="local", path=str(tmp_path / "abs"), provider="on-premises")
    destination = open_destination(config, tmp_path / "data", {})
    assert isinstance(destination, LocalDestination)
    assert destination.path == tmp_path / "abs"
    assert not (tmp_path / "data").exists()


def test_open_local_without_create(tmp_path: Path) -> None:
    config = BackupDestination(name="nightly", kind="local", path="backups", provider="on-premises")
    destination = open_destination(config, tmp_path / "data", {}, create=False)
    assert isinstance(destination, LocalDestination)
    assert destination.names() == []
    assert not (tmp_path / "data").exists()


def test_open_s3_through_the_environment_endpoint(s3_bucket: tuple[str, str], files: Callable[[bytes], Path]) -> None:
    endpoint, bucket = s3_bucket
    config = BackupDestination(
        name="offsite",
        kind="s3",
        bucket=bucket,
        prefix="charter",
        endpoint_url="https://s3.example.com",  # overridden by CHARTER_S3_ENDPOINT_URL
        provider="aws",
        region=REGION,
    )
    destination = open_destination(config, Path("/nonexistent-data-dir"), {"CHARTER_S3_ENDPOINT_URL": endpoint})
    assert isinstance(destination, S3Destination)
    assert destination.describe() == f"s3://{bucket}/charter/"
    destination.put(MANIFEST, files(b"via open_destination"))
    assert destination.names() == [MANIFEST]
    obj = s3_client(endpoint).get_object(Bucket=bucket, Key=f"charter/{MANIFEST}")
    assert obj["Body"].read() == b"via open_destination"
