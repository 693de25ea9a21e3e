"""Declaring the routes of a vendor's app: each route says which tokens it accepts.

Usage::

    from charter.sdk import Routes, TenantContext, TokenKind

    routes = Routes()

    @routes.route("/notes/{issue_key}", methods=["GET"], forge=True, connect=[TokenKind.QSH, TokenKind.CONTEXT])
    async def list_notes(ctx: TenantContext, request: Request) -> Response:
        ...

A route is mounted under the base path of each platform it declares (the Forge remote's ``baseUrl`` and
the Connect app's ``baseUrl`` from the charter) and its handler gets a verified :class:`TenantContext`.
A route that declares no token kind cannot be registered: there is no unauthenticated app route and no
"skip qsh" fallback (case B03).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from charter.atlassian import TokenKind
from charter.sdk._context import TenantContext

__all__ = ["IFRAME_SCOPE_KEY", "Handler", "RouteSpec", "Routes"]

#: Set in the ASGI scope of a route declared ``iframe=True``; the web layer's security headers then allow
#: framing by Atlassian sites (and Connect's all.js) instead of refusing all framing.
IFRAME_SCOPE_KEY = "charter.iframe"

Handler = Callable[[TenantContext, Request], Awaitable[Response]]


@dataclass(frozen=True)
class RouteSpec:
    """A declared route.

    Attributes:
        path: the path under the app's base path (Starlette syntax, e.g. ``/notes/{issue_key}``).
        methods: HTTP methods.
        forge: served to Forge with a verified FIT.
        connect: the Connect token kinds accepted (empty: not served to Connect).
        handler: the coroutine receiving the verified context.
        iframe: the route renders a page shown inside the customer's Atlassian site (a Connect module).
    """

    path: str
    methods: tuple[str, ...]
    forge: bool
    connect: frozenset[TokenKind]
    handler: Handler
    iframe: bool = False


class Routes:
    """The set of routes a vendor's app declares."""

    def __init__(self) -> None:
        self.specs: list[RouteSpec] = []

    def route(
        self,
        path: str,
        *,
        methods: Sequence[str] = ("GET",),
        forge: bool = False,
        connect: Collection[TokenKind | str] = (),
        iframe: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Register the decorated handler for ``path``.

        Args:
            path: under the app's base path; Starlette syntax (``/notes/{issue_key}``).
            methods: HTTP methods.
            forge: serve it to Forge (a verified FIT).
            connect: the Connect token kinds it accepts.
            iframe: its pages are shown in an iframe on the customer's Atlassian site (a Connect module):
                framing by ``*.atlassian.net`` and Connect's ``all.js`` are allowed; every other page
                refuses to be framed.

        Raises:
            ValueError: the route accepts no token at all, names an unknown token kind, or its path does
                not start with ``/``.
        """
        kinds = frozenset(TokenKind(k) for k in connect)
        if not forge and not kinds:
            raise ValueError(f"route {path!r} declares no token: pass forge=True and/or connect=[TokenKind.QSH, ...]")
        if not path.startswith("/"):
            raise ValueError(f"route {path!r} must start with '/'")

        def register(handler: Handler) -> Handler:
            self.specs.append(RouteSpec(path, tuple(m.upper() for m in methods), forge, kinds, handler, iframe))
            return handler

        return register
