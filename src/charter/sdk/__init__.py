"""The public API for building an app on Charter: declare routes, get a verified :class:`TenantContext`."""

from charter.atlassian import TokenKind
from charter.sdk._context import TenantContext
from charter.sdk._product import ProductAuthUnavailable, ProductClient
from charter.sdk._records import TenantRecords
from charter.sdk._routes import IFRAME_SCOPE_KEY, Handler, Routes, RouteSpec

__all__ = [
    "IFRAME_SCOPE_KEY",
    "Handler",
    "ProductAuthUnavailable",
    "ProductClient",
    "RouteSpec",
    "Routes",
    "TenantContext",
    "TenantRecords",
    "TokenKind",
]
