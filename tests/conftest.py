"""Shared fixtures: a frozen clock, the examples, the shared cases, and a PostgreSQL schema per test.

Services and shared case files may be missing on a developer's machine: tests that need them skip
with the reason. With ``CI=true`` a missing service or case file fails the test instead.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from charter.clock import FrozenClock

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED = Path(os.environ.get("CHARTER_SHARED_DIR", ROOT.parent / "shared"))
POSTGRES_URL = os.environ.get("CHARTER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

#: What the runtimes of the tests see: the example's S3 destination at a closed local port (never AWS).
NO_AWS = {"CHARTER_S3_ENDPOINT_URL": "http://127.0.0.1:9"}

#: The instant the golden files and example checks are pinned to.
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def need(condition: bool, reason: str) -> None:
    """Skip the test when ``condition`` is false, or fail it under CI=true."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test talks to AWS: the example charter's S3 destination points at a closed local port (refused at
    once, one attempt), fake credentials, no instance-metadata lookups. Tests that use S3 or KMS pass the
    local moto server's endpoint themselves."""
    monkeypatch.setenv("CHARTER_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-fake-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-fake-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def shared_dir() -> Path:
    need(SHARED.is_dir(), f"the shared case files are not at {SHARED} (set CHARTER_SHARED_DIR)")
    return SHARED


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.toml"))


_pg_available: bool | None = None


def _postgres_reachable() -> bool:
    global _pg_available
    if _pg_available is None:
        import psycopg

        try:
            psycopg.connect(POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3).close()
            _pg_available = True
        except psycopg.Error:
            _pg_available = False
    return _pg_available


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections use a fresh, empty schema, dropped after the test."""
    yield from _postgres_schema()


def _postgres_schema() -> Iterator[str]:
    from charter.store import redact_url

    need(
        _postgres_reachable(),
        f"PostgreSQL is not reachable at {redact_url(POSTGRES_URL)} (set CHARTER_TEST_POSTGRES_URL)",
    )
    import psycopg

    schema = f"charter_test_{uuid.uuid4().hex[:12]}"
    base = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def postgres_keys_url() -> Iterator[str]:
    """A second fresh schema, for a PostgreSQL key store beside ``postgres_url``."""
    yield from _postgres_schema()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Every implementation of the store port: the conformance suites run once per backend."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'charter.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def key_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The key store: a file of its own on SQLite, a schema of its own on PostgreSQL."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'keys.db'}"
        return
    yield from _postgres_schema()


@pytest.fixture
def database(database_url: str) -> Iterator[Any]:
    """A migrated :class:`~charter.store.Database` on every backend, closed after the test."""
    from charter.store import Database

    db = Database(database_url)
    db.upgrade()
    yield db
    db.close()


@pytest.fixture
def key_database(key_database_url: str) -> Iterator[Any]:
    """A migrated key store (``role="keys"``) on every backend, closed after the test."""
    from charter.store import Database

    db = Database(key_database_url, role="keys")
    db.upgrade()
    yield db
    db.close()


@pytest.fixture
def runtime(backend: str, request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock) -> Iterator[Any]:
    """A :class:`~charter.runtime.Runtime` of the forge-remote example on every backend (frozen clock)."""
    from charter.policy import load_charter
    from charter.runtime import open_runtime

    charter = load_charter(EXAMPLES / "forge-remote.toml", clock=FrozenClock(NOW))
    urls: dict[str, str | None] = {"database_url": None, "keys_database_url": None}
    if backend == "postgresql":
        urls = {
            "database_url": str(request.getfixturevalue("postgres_url")),
            "keys_database_url": str(request.getfixturevalue("postgres_keys_url")),
        }
    with open_runtime(charter, data_dir=tmp_path / "data", clock=clock, environ=dict(NO_AWS), **urls) as opened:
        yield opened


def reopen_runtime(rt: Any, environ: dict[str, str] | None = None) -> Any:
    """Another process's :class:`~charter.runtime.Runtime` on the same state as ``rt``."""
    from charter.runtime import open_runtime

    return open_runtime(
        rt.charter,
        data_dir=rt.data_dir,
        clock=rt.clock,
        database_url=None if rt.database.dialect == "sqlite" else rt.database.url,
        keys_database_url=None if rt.key_database.dialect == "sqlite" else rt.key_database.url,
        environ=environ or dict(NO_AWS),
    )


@pytest.fixture(scope="session")
def kms_endpoint() -> Iterator[str]:
    """A local AWS KMS (moto server) for the KMS key provider; stopped after the session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


#: The Connect app of ``examples/forge-remote.toml``.
CONNECT_APP = "com.example.issue-notes.connect"


def connect_install(registry: Any, client_key: str, at: datetime, *, secret: str = "s1-fake-secret-0001") -> str:
    """Install a fake Connect tenant through the registry (as a verified ``installed`` callback would);
    returns Charter's tenant id."""
    from charter.atlassian import ConnectLifecycle

    payload = ConnectLifecycle.model_validate(
        {
            "key": CONNECT_APP,
            "clientKey": client_key,
            "sharedSecret": secret,
            "baseUrl": "https://fake-site.atlassian.net",
            "productType": "jira",
            "eventType": "installed",
        }
    )
    return str(registry.connect_installed(CONNECT_APP, payload, at=at).id)


@pytest.fixture
def s3_bucket(kms_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A fresh, empty bucket on the local moto server: ``(endpoint URL, bucket name)``; fake AWS credentials
    are set in the environment for boto3."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-fake-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-fake-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    bucket = f"charter-test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=kms_endpoint, region_name="eu-west-1").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    return kms_endpoint, bucket


@dataclass
class Captured:
    """What the local SMTP server received: one (envelope sender, recipients, parsed message) per mail."""

    mails: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    host: str = "127.0.0.1"
    port: int = 0

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[Captured]:
    """A local SMTP server (aiosmtpd) on a free port, capturing every message; stopped after the test."""
    from aiosmtpd.controller import Controller

    captured = Captured(port=_free_port())
    controller = Controller(captured, hostname=captured.host, port=captured.port)
    controller.start()
    try:
        yield captured
    finally:
        controller.stop()
