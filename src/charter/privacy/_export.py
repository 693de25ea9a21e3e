"""Per-tenant export of everything Charter holds for a tenant, as JSON (data portability, GDPR Art. 20)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from charter.clock import Clock
from charter.store import (
    AccountRefRow,
    Database,
    Keyring,
    RecordRow,
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
        keys = session.execute(
            select(RecordRow.kind, RecordRow.key, RecordRow.created_at, RecordRow.updated_at)
            .where(RecordRow.tenant_id == tenant_id)
            .order_by(RecordRow.kind, RecordRow.key)
        ).all()
        refs: dict[tuple[str, str], list[str]] = {}
        for holder, key, account in session.execute(
            select(AccountRefRow.holder, AccountRefRow.key, AccountRefRow.account_id).where(
                AccountRefRow.tenant_id == tenant_id
            )
        ):
            refs.setdefault((holder, key), []).append(account)
        contact = session.get(TenantContactRow, tenant_id)
        sealed_contact = contact.email if contact is not None else None
        cases = [
            {"case": c.id, "status": c.status, "opened_at": c.opened_at.isoformat()}
            for c in session.scalars(select(SupportCaseRow).where(SupportCaseRow.tenant_id == tenant_id))
        ]
    records = []
    for kind, key, created, updated in keys:
        value = store.get(tenant_id, kind, key) if kind in store.kinds else "(kind no longer declared)"
        records.append(
            {
                "kind": kind,
                "key": key,
                "value": value,
                "created_at": created.isoformat(),
                "updated_at": updated.isoformat(),
                "accounts": sorted(refs.get((kind, key), [])),
            }
        )
    return {
        "tenant": info,
        "generated_at": clock.now().isoformat(),
        "records": records,
        "notification_contact": keyring.open(tenant_id, "contact-email", sealed_contact).decode()
        if sealed_contact
        else None,
        "support_cases": cases,
    }
