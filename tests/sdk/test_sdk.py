from __future__ import annotations

import asyncio
from typing import Any

import httpx
import jwt
import pytest
from starlette.responses import Response

from charter.atlassian import TokenKind, canonical_request, query_hash
from charter.sdk import ProductAuthUnavailable, ProductClient, Routes
from charter.sdk._product import connect_signer


def test_a_route_must_declare_its_tokens() -> None:
    routes = Routes()

    async def handler(ctx: object, request: object) -> Response:
        return Response()

    with pytest.raises(ValueError, match="declares no token"):
        routes.route("/open")(handler)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="declares no token"):
        routes.route("/open", connect=[])(handler)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must start with '/'"):
        routes.route("relative", forge=True)(handler)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no-such-kind"):
        routes.route("/x", connect=["no-such-kind"])(handler)  # type: ignore[arg-type]
    routes.route("/ok", connect=["context-qsh"])(handler)  # type: ignore[arg-type]
    assert routes.specs[0].connect == frozenset({TokenKind.CONTEXT})
    assert routes.specs[0].forge is False


def _run(client: ProductClient, path: str) -> httpx.Request:
    return asyncio.run(client.get(path)).request


def test_forge_product_calls_carry_the_system_or_user_token() -> None:
    seen: list[httpx.Request] = []
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200)))
    client = ProductClient(http, "https://api.atlassian.com/ex/jira/fake-cloud", bearer="SYS", user_bearer="USR")
    assert _run(client, "/rest/api/3/myself").headers["authorization"] == "Bearer SYS"
    assert _run(client.as_user(), "/rest/api/3/myself").headers["authorization"] == "Bearer USR"
    assert str(seen[0].url) == "https://api.atlassian.com/ex/jira/fake-cloud/rest/api/3/myself"
    assert "SYS" not in repr(client)
    with pytest.raises(ValueError, match="not a URL"):
        _run(client, "https://evil.example.net/steal")
    with pytest.raises(ValueError, match="not a URL"):
        _run(client, "//evil.example.net/steal")
    bare = ProductClient(http, "https://api.atlassian.com/ex/jira/fake-cloud")
    with pytest.raises(ProductAuthUnavailable):
        _run(bare, "/rest/api/3/myself")
    with pytest.raises(ProductAuthUnavailable):
        bare.as_user()


def test_connect_product_calls_are_signed_with_the_canonical_request() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    signer = connect_signer(
        "com.example.app",
        b"s1-fake-secret-0001-long-enough-xx",
        "https://fake-site.atlassian.net/jira",
        lambda: 1_800_000_000.0,
    )
    client = ProductClient(http, "https://fake-site.atlassian.net/jira", connect_signer=signer)
    request = _run(client, "/rest/api/3/search?jql=project%20%3D%20FAKE")
    token = request.headers["authorization"].removeprefix("JWT ")
    claims = jwt.decode(
        token,
        b"s1-fake-secret-0001-long-enough-xx",
        algorithms=["HS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["qsh"] == query_hash(canonical_request("GET", "/rest/api/3/search", "jql=project%20%3D%20FAKE"))
    assert claims["iss"] == "com.example.app" and claims["iat"] == 1_800_000_000


def test_tenant_records_put_with_accounts_and_export_for_portability(runtime: Any) -> None:
    from datetime import timedelta

    from charter.sdk import TenantRecords
    from tests.conftest import NOW, connect_install

    tenant = connect_install(runtime.registry, "fake-client-key-sdk", NOW)
    other = connect_install(runtime.registry, "fake-client-key-sdk-2", NOW)
    records = TenantRecords(runtime.store, tenant)

    async def scenario() -> list[dict[str, Any]]:
        await records.put("note", "FAKE-1/1", {"text": "hi"}, accounts={"fake-acct-sdk": NOW - timedelta(hours=1)})
        await TenantRecords(runtime.store, other).put("note", "FAKE-1/2", {"text": "not theirs"})
        return await records.export()

    exported = asyncio.run(scenario())
    assert [(r["kind"], r["key"], r["value"], r["accounts"]) for r in exported] == [
        ("note", "FAKE-1/1", {"text": "hi"}, ["fake-acct-sdk"])
    ]
