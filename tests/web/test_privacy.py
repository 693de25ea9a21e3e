"""The unsubscribe link over the ASGI app: a GET changes nothing, the button or an RFC 8058 one-click POST
unsubscribes at once, a forged token is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from charter.web import create_app


@pytest.fixture
def client(runtime: Any) -> Iterator[TestClient]:
    app = create_app(
        runtime.charter, runtime.database, clock=runtime.clock, contacts=runtime.contacts, close=lambda: None
    )
    with TestClient(app) as c:
        yield c


def _token(runtime: Any, tmp_path: Path) -> str:
    from tests.privacy.conftest import declare_contacts

    declare_contacts(runtime)
    (tmp_path / "l.csv").write_text("Technical contact email\nada.fake@example.com\n")
    runtime.contacts.import_file(tmp_path / "l.csv", actor="t")
    contact_id = runtime.contacts.find("ada.fake@example.com")
    return str(runtime.contacts.token(contact_id))


def test_get_asks_post_unsubscribes(client: TestClient, runtime: Any, tmp_path: Path) -> None:
    token = _token(runtime, tmp_path)
    page = client.get(f"/unsubscribe?token={token}")
    assert page.status_code == 200 and 'name="token"' in page.text and runtime.contacts.count() == 1
    done = client.post("/unsubscribe", data={"token": token})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert runtime.contacts.count() == 0


def test_one_click_post_from_a_mail_client(client: TestClient, runtime: Any, tmp_path: Path) -> None:
    token = _token(runtime, tmp_path)
    done = client.post(f"/unsubscribe?token={token}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and runtime.contacts.count() == 0


@pytest.mark.parametrize("token", ["", "MC-AAAAAAAAAA.0000", "garbage", "x" * 500])
def test_bad_tokens_change_nothing(client: TestClient, runtime: Any, tmp_path: Path, token: str) -> None:
    _token(runtime, tmp_path)
    answer = client.post(f"/unsubscribe?token={token}")
    assert answer.status_code == 400 and "not valid" in answer.text and runtime.contacts.count() == 1
