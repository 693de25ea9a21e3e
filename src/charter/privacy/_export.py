"""Per-tenant export of everything Charter holds for a tenant, as JSON (data portability, GDPR Art. 20)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from charter.clock import Clock
from charter.store import (
    Database,
    Keyring,
    SupportCaseRow,
    TenantContactRow,
    TenantRow,
    TenantStore,
)

__all__ = ["export_tenant"]


def export_tenant(
    db: Database, keyring: Keyring, store: TenantStore, tenant_id: str, *, clock: Clock
) -> dict[str, Any]:
    """Everything held for ``tenant_id``: its registration (ids, state, app version; never the shared secret),
    every record decrypted (with the accounts it holds data of), its notification contact, and its support
    cases' metadata.

    Raises:
        LookupError: no such tenant (or it was purged).
    """
    with db.session() as session:
        tenant = session.get(TenantRow, tenant_id)
        if tenant is None or tenant.state == "purged":
            raise LookupError(f"no tenant {tenant_id!r} is registered")
        info = {
            "id": tenant.id,
            "platform": tenant.platform,
            "app_key": tenant.app_key,
            "installation_id": tenant.installation_id,
            "client_key": tenant.client_key,
            "cloud_id": tenant.cloud_id,
            "app_version": tenant.app_version,
            "state": tenant.state,
            "installed_at": tenant.created_at.isoformat(),
        }
        contact = session.get(TenantContactRow, tenant_id)
        sealed_contact = contact.email if contact is not None else None
        cases = [
            {"case": c.id, "status": c.status, "opened_at": c.opened_at.isoformat()}
            for c in session.scalars(select(SupportCaseRow).where(SupportCaseRow.tenant_id == tenant_id))
        ]
    records = store.export(tenant_id)
    return {
        "tenant": info,
        "generated_at": clock.now().isoformat(),
        "records": records,
        "notification_contact": keyring.open(tenant_id, "contact-email", sealed_contact).decode()
        if sealed_contact
        else None,
        "support_cases": cases,
    }
