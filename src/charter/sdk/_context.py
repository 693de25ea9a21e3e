"""What a verified request hands to a vendor's handler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from charter.atlassian import ConnectClaims, ForgeInvocation
from charter.sdk._product import ProductClient
from charter.sdk._records import TenantRecords
from charter.tenants import Tenant

__all__ = ["TenantContext"]


@dataclass(frozen=True)
class TenantContext:
    """A request's verified tenant and user.

    Attributes:
        tenant: the registered tenant (from verified claims only, never from headers or the query).
        account_id: the Atlassian account id of the user (FIT ``principal`` or Connect ``sub``), if any.
        platform: ``forge`` or ``connect``.
        product: a client for the tenant's product REST API with the right credential.
        forge: the verified FIT facts (Forge requests).
        connect: the verified Connect claims (Connect requests).
        records: the tenant's encrypted records (kinds declared in the charter's inventory).
    """

    tenant: Tenant
    account_id: str | None
    platform: Literal["forge", "connect"]
    product: ProductClient
    forge: ForgeInvocation | None = None
    connect: ConnectClaims | None = None
    records: TenantRecords | None = None
