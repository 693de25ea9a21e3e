"""Per-tenant export (data portability): every record decrypted with its accounts, the contact, support cases;
never the shared secret; an unknown tenant is refused."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from charter.privacy import export_tenant
from tests.conftest import connect_install
from tests.privacy.conftest import B16_START


def test_a_tenant_export_holds_everything_and_no_secret(runtime: Any) -> None:
    tenant = connect_install(runtime.registry, "fake-client-key-x", B16_START - timedelta(days=1))
    other = connect_install(runtime.registry, "fake-client-key-y", B16_START - timedelta(days=1))
    runtime.store.put(tenant, "note", "n-1", {"text": "hello"}, accounts={"fake-acct-1": B16_START})
    runtime.store.put(other, "note", "n-2", {"text": "not theirs"})
    runtime.security.set_contact(tenant, "admin.fake@example.com", actor="t")
    case = runtime.support.open_case(subject="s", tenant_id=tenant, actor="t")
    package = export_tenant(runtime.database, runtime.keyring, runtime.store, tenant, clock=runtime.clock)
    assert package["tenant"]["client_key"] == "fake-client-key-x" and package["tenant"]["platform"] == "connect"
    assert [(r["key"], r["value"], r["accounts"]) for r in package["records"]] == [
        ("n-1", {"text": "hello"}, ["fake-acct-1"])
    ]
    assert package["notification_contact"] == "admin.fake@example.com"
    assert [c["case"] for c in package["support_cases"]] == [case.id]
    assert "s1-fake-secret-0001" not in json.dumps(package)
    with pytest.raises(LookupError, match="no tenant"):
        export_tenant(runtime.database, runtime.keyring, runtime.store, "nope", clock=runtime.clock)
