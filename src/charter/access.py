"""Staff access to tenant data: only with a reason, and never without an audit entry.

Statements promise that staff see customer data only when a case needs it, and that such access is
recorded. :class:`StaffAccess` is the one way Charter's tools read a tenant's records for a person: the
audit entry (``staff.access``: staff id, tenant, kind, key or prefix, reason) is committed *before* any
value is decrypted, so a failed audit write means no access (fail closed).

The reason is free text typed by staff; e-mail addresses, IP addresses and tokens in it are masked
before it is recorded, so the audit log keeps ids and reasons, never personal data.
"""

from __future__ import annotations

import re
from typing import Any

from charter.audit import AuditLog
from charter.logs import mask
from charter.store import TenantStore
from charter.tenants import Registry

__all__ = ["AccessDeniedError", "StaffAccess", "check_staff", "check_staff_id"]

_STAFF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
MIN_REASON = 10
MAX_REASON = 500


class AccessDeniedError(ValueError):
    """Staff access refused: no valid staff id, no real reason, or no such tenant. The message says which."""


def check_staff_id(staff_id: str) -> str:
    """A staff id as the audit log records it (1-64 of ``A-Za-z0-9._:-``; an id, never an e-mail address).

    Raises:
        AccessDeniedError: anything else.
    """
    if not _STAFF_ID.fullmatch(staff_id or ""):
        raise AccessDeniedError(
            "the staff id must be 1-64 letters, digits, '.', '_', ':' or '-' (an id, not an e-mail address)"
        )
    return staff_id


def check_staff(staff_id: str, reason: str) -> str:
    """Validate a staff member's id and reason for an access; returns the reason as the audit log keeps it
    (whitespace collapsed, e-mail addresses, IPs and tokens masked).

    Raises:
        AccessDeniedError: the staff id is not an id (1-64 of ``A-Za-z0-9._:-``), or the reason is missing,
            shorter than 10 or longer than 500 characters.
    """
    if not _STAFF_ID.fullmatch(staff_id or ""):
        raise AccessDeniedError(
            "the staff id must be 1-64 letters, digits, '.', '_', ':' or '-' (an id, not an e-mail address)"
        )
    reason = " ".join((reason or "").split())
    if not MIN_REASON <= len(reason) <= MAX_REASON:
        raise AccessDeniedError(
            f"give the reason for this access ({MIN_REASON} to {MAX_REASON} characters, e.g. a support case id)"
        )
    return mask(reason)


class StaffAccess:
    """Reads tenant records for staff, each read recorded in the audit log with its reason.

    Args:
        store: the tenant data store.
        registry: the tenant registry (access is only to registered tenants).
        audit: the audit log.
    """

    def __init__(self, store: TenantStore, registry: Registry, audit: AuditLog) -> None:
        self._store = store
        self._registry = registry
        self._audit = audit

    def _authorise(self, staff_id: str, tenant_id: str, reason: str, what: dict[str, Any]) -> None:
        reason = check_staff(staff_id, reason)
        if self._registry.get(tenant_id) is None:
            raise AccessDeniedError(f"no tenant {tenant_id!r} is registered")
        self._audit.record("staff.access", actor=staff_id, tenant_id=tenant_id, payload={**what, "reason": reason})

    def get(self, tenant_id: str, kind: str, key: str, *, staff_id: str, reason: str) -> Any | None:
        """One record's value (or ``None``), after recording the access.

        Raises:
            AccessDeniedError: a bad staff id, a missing or too short reason, or an unknown tenant.
            UndeclaredKindError: ``kind`` is not in the charter's inventory.
        """
        self._store.check_kind(kind)
        self._authorise(staff_id, tenant_id, reason, {"kind": kind, "key": key})
        return self._store.get(tenant_id, kind, key)

    def list(
        self, tenant_id: str, kind: str, *, prefix: str = "", limit: int = 100, staff_id: str, reason: str
    ) -> list[tuple[str, Any]]:
        """Up to ``limit`` ``(key, value)`` pairs of a kind, after recording the access (see :meth:`get`)."""
        self._store.check_kind(kind)
        self._authorise(staff_id, tenant_id, reason, {"kind": kind, "prefix": prefix, "limit": limit})
        return self._store.list(tenant_id, kind, prefix=prefix, limit=limit)
