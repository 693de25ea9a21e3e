"""Calling the product REST API of the tenant a request came from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from charter.atlassian import sign_outbound

__all__ = ["ProductAuthUnavailable", "ProductClient"]


class ProductAuthUnavailable(Exception):
    """No credential for this call: Forge sent no app system token (or no user token) with the request."""


class ProductClient:
    """A client for the tenant's product REST API, authenticated the right way for its platform.

    * Forge: ``Authorization: Bearer`` with the ``x-forge-oauth-system`` token (acting as the app), or the
      ``x-forge-oauth-user`` token after :meth:`as_user`; the base is the verified ``app.apiBaseUrl``.
    * Connect: a JWT signed with the installation's shared secret (``iss`` = app key, ``qsh`` over the
      canonical request), against the tenant's ``baseUrl``.

    Tokens and secrets are kept private, never logged, and not shown by ``repr``. Only paths are accepted,
    never absolute URLs, so a handler cannot be tricked into sending a tenant's credential elsewhere.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        *,
        bearer: str | None = None,
        user_bearer: str | None = None,
        connect_signer: Callable[[str, str], str] | None = None,
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self._bearer = bearer
        self._user_bearer = user_bearer
        self._signer = connect_signer

    def __repr__(self) -> str:
        return f"ProductClient(base_url={self.base_url!r})"

    def as_user(self) -> ProductClient:
        """The same client acting as the invoking user (Forge ``x-forge-oauth-user``).

        Raises:
            ProductAuthUnavailable: Forge sent no user token (no user in session, or not configured).
        """
        if self._user_bearer is None:
            raise ProductAuthUnavailable("no x-forge-oauth-user token was sent with this request")
        return ProductClient(self._http, self.base_url, bearer=self._user_bearer)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send ``method path`` (a path under the product base, e.g. ``/rest/api/3/myself``).

        Raises:
            ValueError: ``path`` is not a relative path.
            ProductAuthUnavailable: no credential is available.
        """
        if not path.startswith("/") or path.startswith("//"):
            raise ValueError("give a path under the product base URL, not a URL")
        url = self.base_url + path
        headers = dict(kwargs.pop("headers", None) or {})
        if self._signer is not None:
            headers["Authorization"] = self._signer(method, url)
        elif self._bearer is not None:
            headers["Authorization"] = f"Bearer {self._bearer}"
        else:
            raise ProductAuthUnavailable("Forge sent no x-forge-oauth-system token with this request")
        return await self._http.request(method, url, headers=headers, follow_redirects=False, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """``GET path``."""
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """``POST path``."""
        return await self.request("POST", path, **kwargs)


def connect_signer(
    app_key: str, secret: bytes, product_base_url: str, now: Callable[[], float]
) -> Callable[[str, str], str]:
    """A signer for :class:`ProductClient` (Connect): ``(method, url) -> "JWT <token>"``."""

    def sign(method: str, url: str) -> str:
        return sign_outbound(method, url, app_key=app_key, secret=secret, product_base_url=product_base_url, now=now())

    return sign
