"""The tenant's records, bound to the request's tenant, for async handlers."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from charter.store import TenantStore

__all__ = ["TenantRecords"]


class TenantRecords:
    """Records of one tenant (see :class:`charter.store.TenantStore`); each call runs off the event loop.

    A handler can reach only the tenant of its verified request: the tenant id is bound here, never
    taken from the request.
    """

    def __init__(self, store: TenantStore, tenant_id: str) -> None:
        self._store = store
        self._tenant_id = tenant_id

    async def put(self, kind: str, key: str, value: Any, *, accounts: Mapping[str, datetime] | None = None) -> None:
        """Store ``value`` under ``(kind, key)``; ``kind`` must be declared in the charter's inventory.

        ``accounts``: the Atlassian account ids whose personal data ``value`` holds, each with when it was
        retrieved (aware); Charter reports them to Atlassian and erases the record when one is closed.
        """
        await run_in_threadpool(lambda: self._store.put(self._tenant_id, kind, key, value, accounts=accounts))

    async def get(self, kind: str, key: str) -> Any | None:
        """The value under ``(kind, key)``, or ``None``."""
        return await run_in_threadpool(self._store.get, self._tenant_id, kind, key)

    async def delete(self, kind: str, key: str) -> bool:
        """Delete a record; whether it existed."""
        return bool(await run_in_threadpool(self._store.delete, self._tenant_id, kind, key))

    async def list(self, kind: str, *, prefix: str = "", limit: int = 1000) -> list[tuple[str, Any]]:
        """``(key, value)`` pairs of ``kind`` whose key starts with ``prefix``."""
        return list(
            await run_in_threadpool(lambda: self._store.list(self._tenant_id, kind, prefix=prefix, limit=limit))
        )

    async def export(self) -> builtins.list[dict[str, Any]]:
        """Every record of this tenant, decrypted (data portability, GDPR Art. 20): expose it to the tenant's
        admin behind your own admin check (see the README)."""
        records: builtins.list[dict[str, Any]] = await run_in_threadpool(self._store.export, self._tenant_id)
        return records
