"""Staff access to tenant data: a reason, an audit entry first, nothing for an unknown tenant."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from charter.access import AccessDeniedError, StaffAccess
from charter.runtime import Runtime
from charter.store import UndeclaredKindError
from tests.conftest import connect_install


def install(rt: Runtime, client_key: str = "fake-client-key-1111") -> str:
    return connect_install(rt.registry, client_key, rt.clock.now() - timedelta(days=1))


@pytest.fixture
def access(runtime: Runtime) -> StaffAccess:
    return StaffAccess(runtime.store, runtime.registry, runtime.audit)


def test_reads_are_audited_with_staff_id_and_reason(runtime: Runtime, access: StaffAccess) -> None:
    tenant = install(runtime)
    runtime.store.put(tenant, "note", "FAKE-7", {"text": "customer note"})
    value = access.get(tenant, "note", "FAKE-7", staff_id="staff-042", reason="Support case SUP-1234: note missing")
    assert value == {"text": "customer note"}
    rows = access.list(tenant, "note", prefix="FAKE", staff_id="staff-042", reason="Support case SUP-1234 export")
    assert rows == [("FAKE-7", {"text": "customer note"})]
    entries = runtime.audit.entries(kind="staff.access")
    assert [(e.actor, e.tenant_id) for e in entries] == [("staff-042", tenant), ("staff-042", tenant)]
    assert entries[0].payload == {"kind": "note", "key": "FAKE-7", "reason": "Support case SUP-1234: note missing"}
    assert entries[1].payload == {
        "kind": "note",
        "prefix": "FAKE",
        "limit": 100,
        "reason": "Support case SUP-1234 export",
    }
    assert runtime.audit.verify().ok


def test_personal_data_in_the_reason_is_masked(runtime: Runtime, access: StaffAccess) -> None:
    tenant = install(runtime)
    access.get(tenant, "note", "K", staff_id="staff-042", reason="asked by jane.roe@example.com from 203.0.113.9")
    [entry] = runtime.audit.entries(kind="staff.access")
    assert "jane.roe" not in entry.payload["reason"] and "203.0.113.9" not in entry.payload["reason"]
    assert entry.payload["reason"].startswith("asked by ")


@pytest.mark.parametrize(
    ("staff_id", "reason", "message"),
    [
        ("", "Support case SUP-1234", "staff id"),
        ("jane.roe@example.com", "Support case SUP-1234", "not an e-mail"),
        ("staff-042", "", "give the reason"),
        ("staff-042", "   because  ", "give the reason"),
        ("staff-042", "x" * 501, "give the reason"),
    ],
)
def test_no_reason_or_no_staff_id_no_access_and_no_entry(
    runtime: Runtime, access: StaffAccess, staff_id: str, reason: str, message: str
) -> None:
    tenant = install(runtime)
    runtime.store.put(tenant, "note", "K", "secret")
    before = len(runtime.audit.entries())
    with pytest.raises(AccessDeniedError, match=message):
        access.get(tenant, "note", "K", staff_id=staff_id, reason=reason)
    assert len(runtime.audit.entries()) == before


def test_unknown_tenants_and_kinds_are_refused(runtime: Runtime, access: StaffAccess) -> None:
    with pytest.raises(AccessDeniedError, match="no tenant 'nobody'"):
        access.get("nobody", "note", "K", staff_id="staff-042", reason="Support case SUP-1234")
    tenant = install(runtime)
    with pytest.raises(UndeclaredKindError):
        access.list(tenant, "email", staff_id="staff-042", reason="Support case SUP-1234")
    assert runtime.audit.entries(kind="staff.access") == []


def test_a_failed_audit_write_means_no_access(
    runtime: Runtime, access: StaffAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = install(runtime)
    runtime.store.put(tenant, "note", "K", "secret")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr(runtime.audit, "record", broken)
    opened: list[str] = []
    monkeypatch.setattr(runtime.store, "get", lambda *a, **k: opened.append("read"))
    with pytest.raises(RuntimeError, match="audit store down"):
        access.get(tenant, "note", "K", staff_id="staff-042", reason="Support case SUP-1234")
    assert opened == []
