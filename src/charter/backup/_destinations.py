"""Where snapshots are kept: a local directory or S3-compatible object storage (one port, two adapters).

A snapshot is two objects: ``<id>.artifact`` (the encrypted, compressed database) and ``<id>.manifest.json``.
The manifest is written last, and each object appears under its final name only when complete (a rename in a
directory; a finished upload in S3), so a snapshot is listed only once both are whole. A run killed halfway
leaves at most an unlisted artifact, which ``prune`` removes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from charter.policy import BackupDestination

__all__ = [
    "ARTIFACT",
    "MANIFEST",
    "Destination",
    "DestinationError",
    "LocalDestination",
    "S3Destination",
    "open_destination",
]

ARTIFACT = ".artifact"
MANIFEST = ".manifest.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


class DestinationError(Exception):
    """A destination cannot be used (missing, unreachable, full, not permitted); the message names it and why."""


def _check_name(name: str) -> str:
    if not _NAME.match(name) or ".." in name:
        raise ValueError(f"'{name}' is not a snapshot object name")
    return name


class Destination(Protocol):
    """The port every destination implements (tested by one conformance suite)."""

    name: str

    def put(self, name: str, source: Path) -> None:
        """Store the file ``source`` as ``name``; ``name`` appears only once complete (atomic).

        Raises:
            DestinationError: the destination cannot be written (nothing is left under ``name``).
        """

    def names(self) -> list[str]:
        """Every object name (sorted)."""
        ...

    def open(self, name: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """A readable binary stream of ``name``.

        Raises:
            FileNotFoundError: no such object.
            DestinationError: the destination cannot be read.
        """
        ...

    def read_small(self, name: str, limit: int = 1 << 20) -> bytes:
        """The whole of a small object (a manifest), at most ``limit`` bytes.

        Raises:
            FileNotFoundError: no such object.
            DestinationError: it is larger than ``limit`` or cannot be read.
        """
        ...

    def size(self, name: str) -> int:
        """The size of ``name`` in bytes (``FileNotFoundError`` when absent)."""
        ...

    def delete(self, name: str) -> None:
        """Remove ``name`` (no error when already absent)."""

    def describe(self) -> str:
        """Where it is, safe to print (no credentials)."""
        ...


def _os_error(destination: str, exc: OSError) -> DestinationError:
    if exc.errno == errno.ENOSPC:
        return DestinationError(f"backup destination '{destination}' is full (no space left on device)")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return DestinationError(f"backup destination '{destination}' cannot be written: {exc.strerror}")
    return DestinationError(f"backup destination '{destination}': {exc.strerror or exc}")


class LocalDestination:
    """Snapshots in a local directory (mode 0700; files 0600), written as temporary files then renamed.

    Args:
        name: the destination's name in the charter.
        path: the directory (created when missing, with its parents, if ``create``).
        create: whether to create a missing directory (``charter backup run``); reading commands don't, and
            see a missing directory as one without snapshots.

    Raises:
        DestinationError: the path exists but is not a directory, or cannot be created.
    """

    def __init__(self, name: str, path: Path, *, create: bool = True) -> None:
        self.name = name
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise DestinationError(f"backup destination '{name}': {self.path} is not a directory")
        if not self.path.exists() and create:
            try:
                self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise _os_error(name, exc) from None

    def describe(self) -> str:
        return str(self.path)

    def _file(self, name: str) -> Path:
        return self.path / _check_name(name)

    def put(self, name: str, source: Path) -> None:
        target = self._file(name)
        try:
            fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=self.path)
        except OSError as exc:  # missing or read-only directory, disk full
            raise _os_error(self.name, exc) from None
        try:
            with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
            _fsync_dir(self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise _os_error(self.name, exc) from None
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    def temporary(self, name: str) -> Path:
        """A temporary path in the directory for writing ``name`` in place (``.tmp-*``: never listed); pass it
        to :meth:`commit` once written and flushed."""
        return self.path / f".tmp-{_check_name(name)}"

    def commit(self, temporary: Path, name: str) -> Path:
        """Rename a file written at :meth:`temporary` to ``name`` (atomic; the directory entry is synced).

        Raises:
            OSError: the rename failed (the temporary file is left for the caller to remove).
        """
        target = self._file(name)
        os.replace(temporary, target)
        _fsync_dir(self.path)
        return target

    def names(self) -> list[str]:
        if not self.path.exists():
            return []  # nothing was ever written here
        try:
            return sorted(p.name for p in self.path.iterdir() if p.is_file() and not p.name.startswith(".tmp-"))
        except OSError as exc:
            raise _os_error(self.name, exc) from None

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        with open(self._file(name), "rb") as stream:
            yield stream

    def read_small(self, name: str, limit: int = 1 << 20) -> bytes:
        with open(self._file(name), "rb") as stream:
            data = stream.read(limit + 1)
        if len(data) > limit:
            raise DestinationError(f"backup destination '{self.name}': {name} is larger than {limit} bytes")
        return data

    def size(self, name: str) -> int:
        return self._file(name).stat().st_size

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._file(name).unlink()

    def remove_stale_temporaries(self, before: float) -> list[str]:
        """Remove the leftovers of interrupted writes (``.tmp-*``) last modified before ``before`` (a POSIX
        time, seconds); returns their names. ``prune`` calls it."""
        if not self.path.exists():
            return []
        removed = []
        for path in sorted(self.path.glob(".tmp-*")):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < before:
                    path.unlink()
                    removed.append(path.name)
        return removed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3Destination:
    """Snapshots in an S3 bucket (or any S3-compatible store) through boto3.

    An object appears only when its upload completes (S3 writes are atomic per object, multipart uploads
    included), so no partial object is ever listed.

    Args:
        name: the destination's name in the charter.
        bucket: the bucket.
        prefix: key prefix (a trailing ``/`` is added when missing).
        client: a boto3 S3 client.
    """

    def __init__(self, name: str, bucket: str, prefix: str, client: Any) -> None:
        self.name = name
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self._client = client

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _key(self, name: str) -> str:
        return self.prefix + _check_name(name)

    def _error(self, exc: Exception) -> DestinationError:
        from botocore.exceptions import ClientError

        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "error")
            if code in ("NoSuchBucket",):
                return DestinationError(f"backup destination '{self.name}': bucket '{self.bucket}' does not exist")
            if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                return DestinationError(f"backup destination '{self.name}': access denied ({code})")
            return DestinationError(f"backup destination '{self.name}': S3 error {code}")
        from botocore.exceptions import EndpointConnectionError, NoCredentialsError, NoRegionError

        if isinstance(exc, NoCredentialsError):
            return DestinationError(
                f"backup destination '{self.name}': no AWS credentials (set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
            )
        if isinstance(exc, NoRegionError):
            return DestinationError(f"backup destination '{self.name}': no region (set its region in the charter)")
        if isinstance(exc, EndpointConnectionError):
            endpoint = getattr(getattr(self._client, "meta", None), "endpoint_url", "")
            return DestinationError(f"backup destination '{self.name}': cannot reach the S3 endpoint {endpoint}")
        return DestinationError(f"backup destination '{self.name}': {type(exc).__name__}: cannot reach S3")

    def put(self, name: str, source: Path) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.upload_file(str(source), self.bucket, self._key(name))
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc) from None
        except Exception as exc:  # boto3's S3UploadFailedError wraps the ClientError
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, (BotoCoreError, ClientError)):
                raise self._error(cause) from None
            raise

    def names(self) -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        names: list[str] = []
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                for item in page.get("Contents", []):
                    rest = item["Key"][len(self.prefix) :]
                    if "/" not in rest:
                        names.append(rest)
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc) from None
        return sorted(names)

    def _get(self, name: str) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self._client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(name) from None
            raise self._error(exc) from None
        except BotoCoreError as exc:
            raise self._error(exc) from None

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        body = self._get(name)
        try:
            yield body
        finally:
            body.close()

    def read_small(self, name: str, limit: int = 1 << 20) -> bytes:
        body = self._get(name)
        try:
            data: bytes = body.read(limit + 1)
        finally:
            body.close()
        if len(data) > limit:
            raise DestinationError(f"backup destination '{self.name}': {name} is larger than {limit} bytes")
        return data

    def size(self, name: str) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return int(self._client.head_object(Bucket=self.bucket, Key=self._key(name))["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                self._check_bucket()  # a HEAD has no body: a missing bucket is a bare 404 too
                raise FileNotFoundError(name) from None
            raise self._error(exc) from None
        except BotoCoreError as exc:
            raise self._error(exc) from None

    def _check_bucket(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchBucket", "404", "NotFound"):
                raise DestinationError(
                    f"backup destination '{self.name}': bucket '{self.bucket}' does not exist"
                ) from None
            raise self._error(exc) from None
        except BotoCoreError as exc:
            raise self._error(exc) from None

    def delete(self, name: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(name))
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc) from None


def open_destination(
    config: BackupDestination, data_dir: Path, environ: Mapping[str, str], *, create: bool = True
) -> Destination:
    """The destination a charter's ``[[backups.destinations]]`` entry names.

    A local ``path`` is relative to the data directory (an absolute path is used as is). For S3 the endpoint is
    ``CHARTER_S3_ENDPOINT_URL`` when set, else the entry's ``endpoint_url``, else AWS; the region is the entry's;
    credentials come from the usual AWS environment.

    Raises:
        DestinationError: a local directory that cannot be used.
    """
    if config.kind == "local":
        assert config.path is not None  # the schema requires it
        path = Path(config.path).expanduser()
        return LocalDestination(config.name, path if path.is_absolute() else data_dir / path, create=create)
    import boto3

    assert config.bucket is not None  # the schema requires it
    endpoint = environ.get("CHARTER_S3_ENDPOINT_URL") or (str(config.endpoint_url) if config.endpoint_url else None)
    client = boto3.client("s3", endpoint_url=endpoint, region_name=config.region or None)
    return S3Destination(config.name, config.bucket, config.prefix, client)
