"""Purge: due times, crypto-shredding first, receipts in the audit log, idempotence (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from charter.atlassian import ConnectLifecycle
from charter.audit import AuditLog
from charter.clock import FrozenClock
from charter.crypto import FileKeyProvider
from charter.policy import Duration
from charter.store import Database, KeyDestroyedError, Keyring, RecordRow, TenantStore
from charter.tenants import EventKind, Purger, Registry

T0 = datetime(2026, 10, 20, 12, tzinfo=UTC)
APP = "com.example.issue-notes.connect"
SECRET = "s1-fake-secret-0001-must-vanish"


class World:
    def __init__(self, database: Database, key_database: Database, tmp_path: Path) -> None:
        self.clock = FrozenClock(T0)
        self.keyring = Keyring(key_database, FileKeyProvider(tmp_path / "kek.key"), clock=self.clock)
        self.audit = AuditLog(database, self.keyring, clock=self.clock)
        self.registry = Registry(database, self.keyring, clock=self.clock, audit=self.audit)
        self.store = TenantStore(database, self.keyring, kinds=["note", "note-author"], clock=self.clock)
        self.purger = Purger(database, self.keyring, self.audit, clock=self.clock, retention=Duration.parse("30d"))
        self.database = database

    def install(self, client_key: str, at: datetime) -> str:
        payload = ConnectLifecycle.model_validate(
            {
                "key": APP,
                "clientKey": client_key,
                "sharedSecret": SECRET,
                "baseUrl": "https://fake-site.atlassian.net",
                "productType": "jira",
                "eventType": "installed",
            }
        )
        return self.registry.connect_installed(APP, payload, at=at).id

    def uninstall(self, client_key: str, at: datetime) -> None:
        self.registry.connect_event(APP, client_key, EventKind.UNINSTALLED, at=at)


@pytest.fixture
def world(database: Database, key_database: Database, tmp_path: Path) -> World:
    return World(database, key_database, tmp_path)


def test_due_exactly_30_days_of_24_hours_after_uninstall_across_dst(world: World) -> None:
    tenant = world.install("fake-client-key-1111", T0)
    uninstalled = datetime(2026, 10, 20, 12, tzinfo=UTC)  # Europe/Berlin leaves summer time on 2026-10-25
    world.uninstall("fake-client-key-1111", uninstalled)
    found = world.registry.get(tenant)
    assert found is not None
    assert world.purger.due_at(found) == datetime(2026, 11, 19, 12, tzinfo=UTC)
    assert world.purger.due(now=datetime(2026, 11, 19, 11, 59, 59, tzinfo=UTC)) == []
    [due] = world.purger.due(now=datetime(2026, 11, 19, 12, tzinfo=UTC))
    assert (due.tenant_id, due.state, due.rule) == (
        tenant,
        "uninstalled",
        'retention.tenant_data_after_uninstall = "30d"',
    )


@pytest.fixture
def host_tz(request: pytest.FixtureRequest) -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.mark.parametrize("host_tz", ["UTC", "America/Los_Angeles", "Asia/Kolkata", "Europe/Berlin"], indirect=True)
def test_the_host_time_zone_changes_nothing(world: World, host_tz: None) -> None:
    tenant = world.install("fake-client-key-1111", T0)
    world.uninstall("fake-client-key-1111", datetime(2027, 3, 27, 23, 30, tzinfo=UTC))  # eve of EU summer time
    found = world.registry.get(tenant)
    assert found is not None
    assert world.purger.due_at(found) == datetime(2027, 4, 26, 23, 30, tzinfo=UTC)


def test_a_reinstall_before_the_due_time_cancels_the_purge(world: World) -> None:
    world.install("fake-client-key-1111", T0)
    world.uninstall("fake-client-key-1111", T0 + timedelta(hours=1))
    world.install("fake-client-key-1111", T0 + timedelta(days=29))
    assert world.purger.due(now=T0 + timedelta(days=60)) == []


def seed(world: World, tenant: str, n: int = 5) -> None:
    for i in range(n):
        world.store.put(tenant, "note", f"FAKE-1/{i:04d}", {"text": f"note {i} by jane.roe@example.com"})
        world.store.put(tenant, "note-author", f"FAKE-1/{i:04d}", "557058:fake-user")


def test_purge_shreds_deletes_and_leaves_a_receipt(world: World) -> None:
    gone = world.install("fake-client-key-1111", T0)
    kept = world.install("fake-client-key-2222", T0)
    seed(world, gone)
    seed(world, kept, 2)
    with world.database.session() as session:  # a copy of the data database, taken before the purge
        before = [(r.tenant_id, r.kind, r.key, r.value) for r in session.scalars(select(RecordRow))]
    world.uninstall("fake-client-key-1111", T0 + timedelta(hours=1))
    world.clock.set(T0 + timedelta(days=31))
    [receipt] = world.purger.run(actor="cli")
    assert receipt.tenant_id == gone
    assert receipt.rule == 'retention.tenant_data_after_uninstall = "30d"'
    assert receipt.deleted == {
        "records": {"note": 5, "note-author": 5},
        "lifecycle_events": 2,
        "tenant_registration": 1,
        "sealed_fields": ["shared_secret", "base_url"],
    }
    assert receipt.keys_destroyed == [f"{gone}/v1"]
    assert receipt.due_at == (T0 + timedelta(hours=1, days=30)).isoformat()
    # Everything of the purged tenant is gone from the live database ...
    assert world.registry.get(gone) is None
    assert world.store.list(gone, "note") == []
    # ... and the copy taken before the purge no longer opens for it, while the other tenant's does.
    for tenant_id, kind, key, value in before:
        if tenant_id == gone:
            with pytest.raises(KeyDestroyedError):
                world.keyring.open(tenant_id, f"record:{kind}:{key}", value)
        else:
            assert json.loads(world.keyring.open(tenant_id, f"record:{kind}:{key}", value))
    # The receipt is in the audit log, chained, and holds no personal data or secret.
    [entry] = world.audit.entries(kind="tenant.purged")
    assert entry.payload == receipt.as_dict()
    text = json.dumps(entry.payload)
    assert "jane.roe" not in text and "fake-client-key" not in text and SECRET not in text and "FAKE-1" not in text
    assert world.audit.verify().ok


def test_purge_is_idempotent_and_a_reinstall_after_it_is_a_new_tenant(world: World) -> None:
    first = world.install("fake-client-key-1111", T0)
    world.uninstall("fake-client-key-1111", T0 + timedelta(hours=1))
    world.clock.set(T0 + timedelta(days=31))
    receipt = world.purger.purge(first, actor="cli")
    again = world.purger.purge(first, actor="cli")
    assert receipt is not None and again == receipt
    assert len(world.audit.entries(kind="tenant.purged")) == 1
    assert world.purger.run(actor="scheduler") == []
    second = world.install("fake-client-key-1111", T0 + timedelta(days=40))
    assert second != first
    assert world.registry.connect_secret(APP, "fake-client-key-1111") is not None


def test_a_tenant_that_is_not_due_is_not_purged(world: World) -> None:
    tenant = world.install("fake-client-key-1111", T0)
    assert world.purger.purge(tenant, actor="cli") is None
    world.uninstall("fake-client-key-1111", T0 + timedelta(hours=1))
    world.clock.set(T0 + timedelta(days=29))
    assert world.purger.purge(tenant, actor="cli") is None
    assert world.registry.get(tenant) is not None


def test_lifecycle_changes_are_audited_without_personal_data(world: World) -> None:
    tenant = world.install("fake-client-key-1111", T0)
    world.registry.connect_event(APP, "fake-client-key-1111", EventKind.ENABLED, at=T0)
    world.uninstall("fake-client-key-1111", T0 + timedelta(hours=1))
    world.uninstall("fake-client-key-1111", T0 + timedelta(hours=2))  # a repeat changes nothing
    kinds = [(e.kind, e.payload["state"]) for e in world.audit.entries(tenant_id=tenant)]
    assert kinds == [
        ("tenant.installed", "installed"),
        ("tenant.enabled", "active"),
        ("tenant.uninstalled", "uninstalled"),
        ("tenant.uninstalled", "uninstalled"),
    ]
    assert all("fake-client-key" not in json.dumps(e.payload) for e in world.audit.entries())


def test_an_interrupted_purge_is_listed_and_finished(world: World) -> None:
    tenant = world.install("fake-client-key-1111", T0)
    seed(world, tenant)
    world.uninstall("fake-client-key-1111", T0 + timedelta(hours=1))
    world.clock.set(T0 + timedelta(days=31))
    world.purger._account(tenant, "cli")  # killed right after the first step
    [due] = world.purger.due()
    assert due.state == "purging"
    assert world.registry.connect_secret(APP, "fake-client-key-1111") is None  # detached at once
    [receipt] = world.purger.run(actor="cli")
    assert receipt.deleted["records"] == {"note": 5, "note-author": 5}
    assert world.purger.due() == []
