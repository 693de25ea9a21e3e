"""An app with real Atlassian routes: registry, keyring and store on every backend; keys served by fakes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from charter.atlassian import ForgeVerifier, InstallKeys, JwksCache
from charter.clock import FrozenClock
from charter.crypto import FileKeyProvider
from charter.server import load_routes
from charter.store import Database, Keyring, TenantStore
from charter.tenants import Registry
from charter.web import AtlassianServices, create_app
from tests.atlassian.fakes import APP_ID, KeyServer
from tests.conftest import EXAMPLES, NOW
from tests.policy.test_load import BASE
from tests.statement.test_build import charter_of


@dataclass
class Harness:
    client: TestClient
    registry: Registry
    keys: KeyServer
    product: list[httpx.Request]
    product_status: list[int]
    clock: FrozenClock


@pytest.fixture
def harness(database: Database, key_database: Database, tmp_path: Path) -> Iterator[Harness]:
    clock = FrozenClock(NOW)
    keys = KeyServer()
    product: list[httpx.Request] = []
    product_status = [200]

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host in ("forge.example.com", "keys.example.com"):
            return keys.handler(request)
        product.append(request)
        return httpx.Response(product_status[0], json={})

    http = httpx.AsyncClient(transport=httpx.MockTransport(route))
    keyring = Keyring(key_database, FileKeyProvider(tmp_path / "kek.key"), clock=clock)
    registry = Registry(database, keyring, clock=clock)
    charter = charter_of(BASE)
    services = AtlassianServices(
        registry=registry,
        http=http,
        clock=clock,
        forge=ForgeVerifier(
            [APP_ID],
            jwks=JwksCache("https://forge.example.com/.well-known/jwks.json", clock=clock, client=http),
            clock=clock,
        ),
        install_keys=InstallKeys("https://keys.example.com", clock=clock, client=http),
        store=TenantStore(database, keyring, kinds=[i.name for i in charter.inventory.items], clock=clock),
    )
    app = create_app(
        charter, database, clock=clock, services=services, routes=load_routes(str(EXAMPLES / "notes_app.py"))
    )
    with TestClient(app, base_url="https://notes.example.com") as client:
        yield Harness(client, registry, keys, product, product_status, clock)
