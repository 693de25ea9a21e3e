"""A local fake of Atlassian's personal-data reporting API (``POST /app/report-accounts/``), started by the tests:
each request is recorded with the test clock's time, and answered from a script of replies."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from charter.clock import Clock

PATH = "/app/report-accounts/"


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def accounts(cls, *pairs: tuple[str, str], headers: dict[str, str] | None = None) -> Reply:
        body = {"accounts": [{"accountId": a, "status": s} for a, s in pairs]}
        return cls(200, json.dumps(body).encode(), {"content-type": "application/json", **(headers or {})})


@dataclass
class Seen:
    at: datetime
    path: str
    authorization: str | None
    body: dict[str, Any]


class FakeReportingApi:
    """Answers each POST with the next scripted reply (204 when the script is empty)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.script: list[Reply] = []
        self.seen: list[Seen] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length)
                fake.seen.append(
                    Seen(fake.clock.now(), self.path, self.headers.get("authorization"), json.loads(raw or b"{}"))
                )
                reply = fake.script.pop(0) if fake.script else Reply(204)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}{PATH}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def accounts_posted(self) -> list[list[str]]:
        return [[a["accountId"] for a in s.body["accounts"]] for s in self.seen]


@contextmanager
def fake_reporting_api(clock: Clock) -> Iterator[FakeReportingApi]:
    api = FakeReportingApi(clock)
    api._thread.start()
    try:
        yield api
    finally:
        api.httpd.shutdown()
        api.httpd.server_close()
