"""The tenant registry: conformance on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from charter.atlassian import ConnectLifecycle, ForgeInvocation
from charter.clock import FrozenClock
from charter.crypto import FileKeyProvider
from charter.store import Database, Keyring
from charter.tenants import EventKind, Registry, State

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
SECRET = "s1-fake-secret-0001-that-must-never-be-stored-in-plaintext"
BASE_URL = "https://fake-site-plaintext-marker.atlassian.net"
APP = "com.example.issue-notes.connect"


def payload(secret: str = SECRET, event: str = "installed") -> ConnectLifecycle:
    return ConnectLifecycle.model_validate(
        {
            "key": APP,
            "clientKey": "fake-client-key-1111",
            "sharedSecret": secret,
            "baseUrl": BASE_URL,
            "productType": "jira",
            "eventType": event,
        }
    )


@pytest.fixture
def registry(database: Database, key_database: Database, tmp_path: Path) -> Registry:
    clock = FrozenClock(T0)
    return Registry(database, Keyring(key_database, FileKeyProvider(tmp_path / "kek.key"), clock=clock), clock=clock)


def test_connect_install_stores_the_secret_sealed(registry: Registry, database: Database, database_url: str) -> None:
    tenant = registry.connect_installed(APP, payload(), at=T0)
    assert tenant.state is State.INSTALLED
    assert tenant.client_key == "fake-client-key-1111"
    found = registry.connect_secret(APP, "fake-client-key-1111")
    assert found is not None and found[1] == SECRET.encode()
    assert registry.connect_base_url(APP, "fake-client-key-1111") == BASE_URL
    # No plaintext secret or base URL anywhere in the stored bytes.
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert b"fake-client-key-1111" in raw  # the id is stored, and findable
    else:
        with database.engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM tenants")).all()
        raw = json.dumps([[v.hex() if isinstance(v, bytes | memoryview) else str(v) for v in r] for r in rows]).encode()
    assert SECRET.encode() not in raw and SECRET.encode().hex().encode() not in raw
    assert b"plaintext-marker" not in raw and b"plaintext-marker".hex().encode() not in raw


def test_reinstall_rotates_the_secret_at_once(registry: Registry) -> None:
    registry.connect_installed(APP, payload(), at=T0)
    assert registry.connect_secret(APP, "fake-client-key-1111")[1] == SECRET.encode()  # type: ignore[index]
    registry.connect_installed(APP, payload("s2-fake-rotated-secret-0002-xxxxxxxxx"), at=T0 + timedelta(minutes=5))
    cached = registry.cached_connect_secret(APP, "fake-client-key-1111")
    assert cached is None or cached[1] == b"s2-fake-rotated-secret-0002-xxxxxxxxx"
    assert registry.connect_secret(APP, "fake-client-key-1111")[1] == b"s2-fake-rotated-secret-0002-xxxxxxxxx"  # type: ignore[index]


def test_events_apply_by_event_time(registry: Registry) -> None:
    tenant = registry.connect_installed(APP, payload(), at=T0)
    registry.connect_event(APP, "fake-client-key-1111", EventKind.ENABLED, at=T0)
    gone = registry.connect_event(APP, "fake-client-key-1111", EventKind.UNINSTALLED, at=T0 + timedelta(hours=1))
    assert gone is not None and gone.state is State.UNINSTALLED
    late = registry.connect_event(APP, "fake-client-key-1111", EventKind.DISABLED, at=T0 + timedelta(minutes=59))
    assert late is not None and late.state is State.UNINSTALLED
    again = registry.connect_event(APP, "fake-client-key-1111", EventKind.UNINSTALLED, at=T0 + timedelta(days=3))
    assert again is not None and again.clock_started_at == T0 + timedelta(hours=1)
    # Exact duplicates are recorded once.
    registry.connect_event(APP, "fake-client-key-1111", EventKind.UNINSTALLED, at=T0 + timedelta(days=3))
    assert [e.kind for e in registry.events(tenant.id)] == [
        EventKind.INSTALLED,
        EventKind.ENABLED,
        EventKind.DISABLED,
        EventKind.UNINSTALLED,
        EventKind.UNINSTALLED,
    ]
    # An uninstalled tenant's secret no longer authenticates anything.
    assert registry.connect_secret(APP, "fake-client-key-1111") is None
    back = registry.connect_installed(APP, payload(), at=T0 + timedelta(days=10))
    assert (back.state, back.clock_started_at) == (State.INSTALLED, None)
    assert back.id == tenant.id


def test_unknown_tenants(registry: Registry) -> None:
    assert registry.connect_event(APP, "nobody", EventKind.UNINSTALLED, at=T0) is None
    assert registry.connect_secret(APP, "nobody") is None
    assert registry.forge_event("ari:cloud:ecosystem::installation/nobody", EventKind.PRE_UNINSTALL, at=T0) is None


INVOCATION = ForgeInvocation(
    app_id="ari:cloud:ecosystem::app/00000000-0000-4000-8000-0000000000aa",
    installation_id="ari:cloud:ecosystem::installation/00000000-0000-4000-8000-0000000000c1",
    cloud_id="00000000-0000-4000-8000-00000000c10d",
    workspace_id=None,
    api_base_url="https://api.atlassian.com/ex/jira/00000000-0000-4000-8000-00000000c10d",
    principal=None,
    license_active=True,
    environment_type="PRODUCTION",
    module_key="notes",
    app_version="2.0.0",
    issued_at=T0,
    token_id="jti-1",
)
FORGE_APP = "com.example.issue-notes"


def test_forge_lifecycle(registry: Registry) -> None:
    tenant = registry.forge_seen(FORGE_APP, INVOCATION, installed=True)
    assert tenant.state is State.ACTIVE and tenant.cloud_id == INVOCATION.cloud_id
    assert registry.cached_forge_tenant(INVOCATION) == tenant
    inactive = replace(INVOCATION, license_active=False, issued_at=T0 + timedelta(days=1))
    assert registry.cached_forge_tenant(inactive) is None
    lost = registry.forge_seen(FORGE_APP, inactive)
    assert (lost.state, lost.clock_started_at) == (State.ACCESS_LOST, T0 + timedelta(days=1))
    back = registry.forge_seen(FORGE_APP, replace(INVOCATION, issued_at=T0 + timedelta(days=2)))
    assert (back.state, back.clock_started_at) == (State.ACTIVE, None)
    pre = registry.forge_event(INVOCATION.installation_id, EventKind.PRE_UNINSTALL, at=T0 + timedelta(days=3))
    assert pre is not None and pre.state is State.ACCESS_LOST


def test_forge_reinstall_relinks_by_site(registry: Registry) -> None:
    first = registry.forge_seen(FORGE_APP, INVOCATION, installed=True)
    registry.forge_event(INVOCATION.installation_id, EventKind.PRE_UNINSTALL, at=T0 + timedelta(days=1))
    new_installation = "ari:cloud:ecosystem::installation/00000000-0000-4000-8000-0000000000c2"
    again = registry.forge_seen(
        FORGE_APP,
        replace(INVOCATION, installation_id=new_installation, issued_at=T0 + timedelta(days=5)),
        installed=True,
    )
    assert again.id == first.id
    assert (again.state, again.clock_started_at, again.installation_id) == (State.ACTIVE, None, new_installation)
    assert registry.by_installation(INVOCATION.installation_id) is None


def test_a_verified_invocation_registers_an_unknown_installation(registry: Registry) -> None:
    tenant = registry.forge_seen(FORGE_APP, INVOCATION)
    assert tenant.state is State.ACTIVE
    assert [e.kind for e in registry.events(tenant.id)] == [EventKind.INSTALLED]
    registry.forge_seen(FORGE_APP, replace(INVOCATION, issued_at=T0 + timedelta(minutes=1)))
    assert len(registry.events(tenant.id)) == 1  # ordinary invocations add nothing to the history


def test_access_probes(registry: Registry) -> None:
    tenant = registry.forge_seen(FORGE_APP, INVOCATION, installed=True)
    inst = INVOCATION.installation_id
    for day in (1, 2, 3):
        registry.forge_probe(inst, ok=True, at=T0 + timedelta(days=day))
    assert [e.kind for e in registry.events(tenant.id)] == [EventKind.INSTALLED]  # healthy probes add nothing
    for day in (4, 5):
        assert registry.forge_probe(inst, ok=False, at=T0 + timedelta(days=day)).state is State.ACTIVE  # type: ignore[union-attr]
    registry.forge_probe(inst, ok=True, at=T0 + timedelta(days=6))  # resets the count
    for day in (7, 8):
        registry.forge_probe(inst, ok=False, at=T0 + timedelta(days=day))
    lost = registry.forge_probe(inst, ok=False, at=T0 + timedelta(days=9))
    assert lost is not None and (lost.state, lost.clock_started_at) == (State.ACCESS_LOST, T0 + timedelta(days=9))
    back = registry.forge_probe(inst, ok=True, at=T0 + timedelta(days=10))
    assert back is not None and back.state is State.ACTIVE


def test_concurrent_duplicate_deliveries_record_one_event(
    registry: Registry, database: Database, tmp_path: Path
) -> None:
    import threading

    tenant = registry.connect_installed(APP, payload(), at=T0)
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            registry.connect_event(APP, "fake-client-key-1111", EventKind.UNINSTALLED, at=T0 + timedelta(hours=1))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [e.kind for e in registry.events(tenant.id)] == [EventKind.INSTALLED, EventKind.UNINSTALLED]
    assert registry.by_client_key(APP, "fake-client-key-1111").state is State.UNINSTALLED  # type: ignore[union-attr]


def test_the_app_version_a_forge_tenant_runs_is_recorded_and_follows_upgrades(registry: Registry) -> None:
    tenant = registry.forge_seen(FORGE_APP, replace(INVOCATION, app_version="2.2.0"), installed=True)
    assert tenant.app_version == "2.2.0"
    cached = registry.cached_forge_tenant(replace(INVOCATION, app_version="2.2.0"))
    assert cached is not None and cached.app_version == "2.2.0"
    # a newer version is not served from the cache: it is recorded
    assert registry.cached_forge_tenant(replace(INVOCATION, app_version="2.3.1")) is None
    upgraded = registry.forge_seen(FORGE_APP, replace(INVOCATION, app_version="2.3.1"))
    assert upgraded.app_version == "2.3.1" and registry.get(tenant.id).app_version == "2.3.1"
    # a token without a version keeps the last one known
    assert registry.forge_seen(FORGE_APP, replace(INVOCATION, app_version=None)).app_version == "2.3.1"
