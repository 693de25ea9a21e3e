"""Verified requests per second and server CPU per request: Charter's FIT and Connect routes, an
unauthenticated route on the same server, and atlassian-connect-express (ACE) serving the same Connect
request for one tenant in its default store, all loaded by the same ``wrk`` in the same run.

Usage::

    .venv/bin/python bench/auth.py [--duration 10] [--connections 32] [--no-ace]

Needs ``wrk`` (Debian package) and, for the ACE column, Node.js with npm (ACE and its default
``sqlite3`` store are installed into ``bench/.cache/ace`` on first use). Prints the figures and the ratios;
machines here are noisy, so compare the ratios, which are measured side by side in one run.

Also prints in-process verifications per second of each token kind (no HTTP).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
APP_ID = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-0000000000aa"
INSTALLATION = "ari:cloud:ecosystem::installation/00000000-0000-4000-8000-0000000000b1"
CLOUD_ID = "00000000-0000-4000-8000-00000000c10d"
CLIENT_KEY = "fake-client-key-bench"
SECRET = "s1-fake-bench-secret-0001-0123456789abcdef"  # a fake shared secret
CONNECT_APP = "com.example.issue-notes.connect"
TICKS = os.sysconf("SC_CLK_TCK")

BENCH_APP = """
from starlette.responses import JSONResponse
from charter.sdk import Routes, TokenKind

routes = Routes()


@routes.route("/bench", methods=["GET"], forge=True, connect=[TokenKind.QSH])
async def bench(ctx, request):
    return JSONResponse({"ok": True, "tenant": ctx.tenant.id})
"""

ACE_APP = """
const express = require('express');
const ace = require('atlassian-connect-express');
const app = express();
app.use(express.json());  // as in ACE's app template: ACE reads the token from the body or the header
app.use(express.urlencoded({extended: false}));
app.set('port', Number(process.env.PORT));
const addon = ace(app);
app.get('/bench', addon.authenticate(), (req, res) => res.json({ok: true, tenant: req.context.clientKey}));
addon.settings.set('clientInfo', {
  key: 'com.example.ace-bench', clientKey: process.env.CLIENT_KEY, sharedSecret: process.env.SECRET,
  baseUrl: 'https://fake-site.atlassian.net', productType: 'jira', eventType: 'installed'
}, process.env.CLIENT_KEY).then(() => {
  app.listen(app.get('port'), '127.0.0.1', () => console.log('ready'));
});
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def wait_http(url: str, timeout: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


class Keys:
    """Fake Forge JWKS and Connect install-keys server (in this process)."""

    def __init__(self) -> None:
        self.forge = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.install = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.forge.public_key()))
        jwk.update({"kid": "bench-kid", "alg": "RS256", "use": "sig"})
        jwks = json.dumps({"keys": [jwk]}).encode()
        pem = self.install.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = jwks if self.path == "/jwks.json" else pem
                self.send_response(200)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def fit(self, lifetime: int = 3600) -> str:
        now = int(time.time())
        claims = {
            "iss": "forge/invocation-token",
            "aud": APP_ID,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": "bench",
            "app": {
                "id": APP_ID,
                "installationId": INSTALLATION,
                "apiBaseUrl": f"https://api.atlassian.com/ex/jira/{CLOUD_ID}",
                "installation": {"id": INSTALLATION, "contexts": [{"cloudId": CLOUD_ID}]},
                "license": {"active": True},
            },
            "principal": "557058:fake-bench-user",
        }
        return jwt.encode(claims, self.forge, algorithm="RS256", headers={"kid": "bench-kid"})

    def install_token(self, base_url: str, path: str) -> str:
        from charter.atlassian import canonical_request, query_hash

        now = int(time.time())
        qsh = query_hash(canonical_request("POST", path, "", base_path="/connect"))
        claims = {"iss": CLIENT_KEY, "aud": base_url, "iat": now, "exp": now + 300, "qsh": qsh}
        return jwt.encode(claims, self.install, algorithm="RS256", headers={"kid": "bench-install"})


def connect_jwt(path: str, base_path: str, lifetime: int = 3600, iss: str = CLIENT_KEY) -> str:
    from charter.atlassian import canonical_request, query_hash

    now = int(time.time())
    claims = {
        "iss": iss,
        "iat": now,
        "exp": now + lifetime,
        "qsh": query_hash(canonical_request("GET", path, "", base_path=base_path)),
    }
    return jwt.encode(claims, SECRET.encode(), algorithm="HS256")


def serve_charter(args: argparse.Namespace) -> None:
    """Child process: Charter's app plus one unauthenticated route, on uvicorn."""
    import uvicorn
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from charter.clock import SystemClock
    from charter.policy import load_charter
    from charter.server import load_routes, prepare

    async def plain(request: Any) -> JSONResponse:
        return JSONResponse({"ok": True, "tenant": None})

    from charter.logs import configure_logging

    configure_logging(level="info", json=True)  # as charter serve does: one JSON access-log line a request
    charter = load_charter(ROOT / "examples" / "forge-remote.toml")
    app, _ = prepare(
        charter, data_dir=Path(args.data_dir), database_url=None, clock=SystemClock(), routes=load_routes(args.app)
    )
    app.router.routes.append(Route("/plain", plain))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, server_header=False)


@contextmanager
def process(command: list[str], env: dict[str, str], cwd: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def run_wrk(url: str, headers: dict[str, str], duration: int, connections: int, pid: int) -> dict[str, float]:
    import httpx

    check = httpx.get(url, headers=headers)
    if check.status_code != 200:
        raise RuntimeError(f"{url} answered {check.status_code}: {check.text[:200]}")
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    before = cpu_seconds(pid)
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - before
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} failed responses under load")
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "cpu_ms": 1000 * cpu / requests}  # type: ignore[union-attr]


def ensure_ace() -> Path | None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None
    folder = CACHE / "ace"
    if (
        not (folder / "node_modules" / "atlassian-connect-express").exists()
        or not (folder / "node_modules" / "sqlite3").exists()
    ):
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "init", "-y"], cwd=folder, check=True, capture_output=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "atlassian-connect-express",
                "express",
                "sqlite3",
                "sequelize",
            ],
            cwd=folder,
            check=True,
            capture_output=True,
        )
    return folder


def microbench(keys: Keys) -> dict[str, float]:
    """In-process verifications per second of each token kind (keys and secret already cached)."""
    import httpx

    from charter.atlassian import (
        ForgeVerifier,
        InstallKeys,
        JwksCache,
        TokenKind,
        verify_connect_request,
        verify_signed_install,
    )
    from charter.clock import SystemClock

    clock = SystemClock()
    results: dict[str, float] = {}

    async def run() -> None:
        async with httpx.AsyncClient() as client:
            forge = ForgeVerifier(
                [APP_ID], jwks=JwksCache(f"{keys.url}/jwks.json", clock=clock, client=client), clock=clock
            )
            install = InstallKeys(keys.url, clock=clock, client=client)
            fit = keys.fit()
            qsh_token = connect_jwt("/connect/bench", "/connect")
            ctx_claims = {
                "iss": CLIENT_KEY,
                "iat": int(time.time()),
                "exp": int(time.time()) + 3600,
                "qsh": "context-qsh",
            }
            ctx_token = jwt.encode(ctx_claims, SECRET.encode(), algorithm="HS256")
            signed = keys.install_token("https://notes.example.com/connect", "/connect/installed")

            async def forge_once() -> None:
                await forge.verify(fit)

            def connect_once(token: str, kind: TokenKind) -> None:
                verify_connect_request(
                    token,
                    secret=SECRET.encode(),
                    client_key=CLIENT_KEY,
                    method="GET",
                    raw_path="/connect/bench",
                    raw_query=b"",
                    base_path="/connect",
                    accepts={kind},
                    clock=clock,
                )

            async def install_once() -> None:
                await verify_signed_install(
                    signed,
                    body_client_key=CLIENT_KEY,
                    app_base_url="https://notes.example.com/connect",
                    method="POST",
                    raw_path="/connect/installed",
                    raw_query=b"",
                    keys=install,
                    clock=clock,
                )

            await forge_once()  # warm the key caches
            await install_once()
            for name, count, step in (
                ("forge FIT (RS256)", 3000, forge_once),
                ("connect signed install (RS256)", 3000, install_once),
            ):
                started = time.perf_counter()
                for _ in range(count):
                    await step()
                results[name] = count / (time.perf_counter() - started)
            for name, token, kind in (
                ("connect qsh (HS256)", qsh_token, TokenKind.QSH),
                ("connect context-qsh (HS256)", ctx_token, TokenKind.CONTEXT),
            ):
                started = time.perf_counter()
                for _ in range(20000):
                    connect_once(token, kind)
                results[name] = 20000 / (time.perf_counter() - started)

    asyncio.run(run())
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per target")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-ace", action="store_true", help="skip the ACE comparison")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--app", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_charter(args)
        return
    if shutil.which("wrk") is None:
        sys.exit("bench/auth.py needs wrk (apt-get install wrk)")

    import httpx

    keys = Keys()
    work = Path(tempfile.mkdtemp(prefix="charter-bench-"))
    (work / "bench_app.py").write_text(BENCH_APP)
    port = free_port()
    env = {
        **os.environ,
        "CHARTER_FORGE_JWKS_URL": f"{keys.url}/jwks.json",
        "CHARTER_CONNECT_INSTALL_KEYS_URL": keys.url,
    }
    results: dict[str, dict[str, float]] = {}
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        __file__,
        "--serve",
        "--port",
        str(port),
        "--data-dir",
        str(work / "data"),
        "--app",
        str(work / "bench_app.py"),
    ]
    with process(command, env) as server:
        wait_http(f"{base}/plain")
        # Install the tenants through the real lifecycle endpoints.
        body = {
            "key": CONNECT_APP,
            "clientKey": CLIENT_KEY,
            "sharedSecret": SECRET,
            "baseUrl": "https://fake-site.atlassian.net",
            "productType": "jira",
            "eventType": "installed",
        }
        installed = httpx.post(
            f"{base}/connect/installed",
            json=body,
            headers={
                "authorization": "JWT " + keys.install_token("https://notes.example.com/connect", "/connect/installed")
            },
        )
        lifecycle = httpx.post(
            f"{base}/forge/lifecycle",
            json={"eventType": "avi:forge:installed:app"},
            headers={"authorization": f"Bearer {keys.fit()}"},
        )
        if installed.status_code != 204 or lifecycle.status_code != 204:
            raise RuntimeError(f"tenant setup failed: {installed.status_code} {lifecycle.status_code}")
        targets = {
            "charter unauthenticated": (f"{base}/plain", {}),
            "charter FIT route": (f"{base}/forge/bench", {"Authorization": f"Bearer {keys.fit()}"}),
            "charter Connect route": (
                f"{base}/connect/bench",
                {"Authorization": "JWT " + connect_jwt("/connect/bench", "/connect")},
            ),
        }
        for name, (url, headers) in targets.items():
            run_wrk(url, headers, 2, args.connections, server.pid)  # warm-up
            results[name] = run_wrk(url, headers, args.duration, args.connections, server.pid)
            print(f"{name:28} {results[name]['rps']:9.0f} req/s  {results[name]['cpu_ms']:.3f} ms CPU/req", flush=True)

    ace = None if args.no_ace else ensure_ace()
    if ace is not None:
        ace_port = free_port()
        (ace / "app.js").write_text(ACE_APP)
        (ace / "atlassian-connect.json").write_text(
            json.dumps(
                {
                    "key": "com.example.ace-bench",
                    "name": "ACE bench",
                    "baseUrl": f"http://127.0.0.1:{ace_port}",
                    "authentication": {"type": "jwt"},
                    "lifecycle": {"installed": "/installed"},
                    "scopes": ["READ"],
                    "modules": {},
                }
            )
        )
        (ace / "config.json").write_text(
            json.dumps(
                {
                    "development": {"port": ace_port, "localBaseUrl": f"http://127.0.0.1:{ace_port}"},
                    "production": {"port": ace_port, "localBaseUrl": f"http://127.0.0.1:{ace_port}"},
                }
            )
        )
        # ACE's defaults (development mode: it logs every store query) and its production mode.
        for label, node_env in (
            ("ACE Connect route (defaults)", None),
            ("ACE Connect route (production)", "production"),
        ):
            ace_env = {**os.environ, "PORT": str(ace_port), "CLIENT_KEY": CLIENT_KEY, "SECRET": SECRET}
            ace_env.pop("NODE_ENV", None)
            if node_env:
                ace_env["NODE_ENV"] = node_env
            with process(["node", "app.js"], ace_env, cwd=ace) as node:
                wait_http(f"http://127.0.0.1:{ace_port}/bench")
                headers = {"Authorization": "JWT " + connect_jwt("/bench", "")}
                url = f"http://127.0.0.1:{ace_port}/bench"
                run_wrk(url, headers, 2, args.connections, node.pid)
                results[label] = r = run_wrk(url, headers, args.duration, args.connections, node.pid)
                print(f"{label:28} {r['rps']:9.0f} req/s  {r['cpu_ms']:.3f} ms CPU/req", flush=True)

    print()
    verifications = microbench(keys)
    for name, rate in verifications.items():
        print(f"{name:34} {rate:9.0f} verifications/s (in process, one core)")
    for label in ("ACE Connect route (defaults)", "ACE Connect route (production)"):
        if label in results:
            ace_rps = results[label]["rps"]
            mode = label.split("(")[1].rstrip(")")
            print()
            print(f"Connect route / ACE {mode}: {results['charter Connect route']['rps'] / ace_rps:.2f}x  (goal >= 3x)")
            print(f"FIT route / ACE {mode}:     {results['charter FIT route']['rps'] / ace_rps:.2f}x  (goal >= 2.5x)")
    print(f"Connect route CPU:   {results['charter Connect route']['cpu_ms']:.3f} ms/request (goal <= 0.3 ms)")
    if args.json:
        args.json.write_text(json.dumps({"http": results, "verifications_per_second": verifications}, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
