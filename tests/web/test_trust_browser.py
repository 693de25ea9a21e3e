"""The trust page in a real headless Chromium (Debian's ``chromium``, driven by Playwright): every section is
there with its evidence, the page fits a phone's width, loads nothing from elsewhere, and has the structure
screen readers rely on."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from charter.evidence import record, run_checks
from charter.statement import build_statement
from charter.web import create_app
from tests.conftest import need

CHROMIUM = os.environ.get("CHARTER_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(runtime: Any) -> Iterator[str]:
    record(runtime.database, run_checks(runtime), charter=runtime.charter)
    app = create_app(runtime.charter, runtime.database, clock=runtime.clock, close=lambda: None)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    need(CHROMIUM is not None, "Chromium is not installed (Debian: apt-get install chromium; or set CHARTER_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("width", [375, 1280])
def test_the_trust_page_in_chromium(served: str, browser: Any, runtime: Any, width: int) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    elsewhere: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(served) else elsewhere.append(request.url))
    response = page.goto(f"{served}/trust")
    assert response is not None and response.status == 200
    statement = build_statement(runtime.charter)
    ids = page.eval_on_selector_all("main > section", "els => els.map(e => e.id)")
    assert ids == [s.id for s in statement.sections]
    for section in statement.sections:  # each section has its heading, labelled, and visible
        heading = page.locator(f"#{section.id}-title")
        assert heading.inner_text() == section.title and heading.is_visible()
    asides = page.eval_on_selector_all("aside.evidence", "els => els.length")
    assert asides >= 8  # live evidence beside the sections that make promises
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.eval_on_selector_all("h1", "els => els.length") == 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scrolling
    assert elsewhere == []  # no external assets
    assert page.evaluate("getComputedStyle(document.body).fontSize") in ("16px",)
    page.goto(f"{served}/trust/history")
    assert page.locator("h1").inner_text().endswith("Statement history")
