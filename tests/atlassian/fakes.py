"""Fake Atlassian keys and tokens for tests (every id, key and secret here is fake)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import threading
import time
import time as _time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from charter.atlassian import canonical_request, query_hash

APP_ID = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-0000000000aa"
OTHER_APP_ID = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-0000000000bb"
INSTALLATION = "ari:cloud:ecosystem::installation/00000000-0000-4000-8000-0000000000c1"
CLOUD_ID = "00000000-0000-4000-8000-00000000c10d"
FORGE_KID = "fake-forge-kid-1"
INSTALL_KID = "fake-kid-1"


@functools.cache
def rsa_key(name: str = "default") -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_der(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def jwks(*pairs: tuple[str, rsa.RSAPrivateKey]) -> dict[str, Any]:
    keys = []
    for kid, key in pairs:
        jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
        keys.append(jwk)
    return {"keys": keys}


def fit_claims(now: float, **overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": "forge/invocation-token",
        "aud": APP_ID,
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now) + 25,
        "jti": "0123456789abcdef",
        "app": {
            "id": APP_ID,
            "installationId": INSTALLATION,
            "apiBaseUrl": f"https://api.atlassian.com/ex/jira/{CLOUD_ID}",
            "appVersion": "2.0.0",
            "environment": {"type": "PRODUCTION", "id": "ari:cloud:ecosystem::environment/fake"},
            "module": {"type": "core:endpoint", "key": "notes-remote"},
            "installation": {
                "id": INSTALLATION,
                "contexts": [
                    {"name": "jira", "cloudId": CLOUD_ID, "apiBaseUrl": "https://api.atlassian.com/ex/jira/x"}
                ],
            },
            "license": {"active": True, "type": "COMMERCIAL"},
        },
        "principal": "557058:fake-user-0001",
    }
    for key, value in overrides.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    return claims


def fit(
    now: float, *, key: rsa.RSAPrivateKey | None = None, kid: str = FORGE_KID, alg: str = "RS256", **claims: Any
) -> str:
    return jwt.encode(fit_claims(now, **claims), key or rsa_key(), algorithm=alg, headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes] | None = None) -> str:
    """A token with any header, signed by ``sign`` (no signature when ``None``): for attack tests."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}".encode()
    signature = sign(signing_input) if sign else b""
    return signing_input.decode() + "." + _b64(signature)


def hmac_signer(secret: bytes, digest: Any = hashlib.sha256) -> Callable[[bytes], bytes]:
    return lambda data: hmac.new(secret, data, digest).digest()


def connect_token(
    secret: str | bytes,
    *,
    iss: str,
    method: str = "GET",
    path: str = "/",
    query: str = "",
    base_path: str = "",
    now: float | None = None,
    qsh: str | None = None,
    alg: str = "HS256",
    **extra: Any,
) -> str:
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {"iss": iss, "iat": issued, "exp": issued + 180}
    claims["qsh"] = qsh if qsh is not None else query_hash(canonical_request(method, path, query, base_path=base_path))
    claims.update(extra)
    if claims.get("qsh") == "":
        claims.pop("qsh")
    key = secret.encode() if isinstance(secret, str) else secret
    if alg == "HS256":  # signed by hand: PyJWT warns about the short secrets of the bug cases
        return forged({"typ": "JWT", "alg": "HS256"}, claims, hmac_signer(key))
    return jwt.encode(claims, key, algorithm=alg)


def install_token(
    *,
    iss: str,
    aud: Any,
    path: str,
    now: float,
    key: rsa.RSAPrivateKey | None = None,
    kid: str = INSTALL_KID,
    base_path: str = "/connect",
    qsh: str | None = None,
) -> str:
    claims = {
        "iss": iss,
        "aud": aud,
        "iat": int(now),
        "exp": int(now) + 180,
        "qsh": qsh or query_hash(canonical_request("POST", path, "", base_path=base_path)),
    }
    return jwt.encode(claims, key or rsa_key("install"), algorithm="RS256", headers={"kid": kid})


class KeyServer:
    """An httpx transport serving the Forge JWKS and install keys, counting fetches."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = jwks((FORGE_KID, rsa_key()))
        self.install: dict[str, bytes] = {INSTALL_KID: public_pem(rsa_key("install"))}
        self.requests: list[str] = []
        self.failing = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(str(request.url))
        if self.failing:
            return httpx.Response(503)
        if request.url.path.endswith("/jwks.json"):
            return httpx.Response(200, json=self.jwks)
        kid = request.url.path.rsplit("/", 1)[-1]
        if kid in self.install:
            return httpx.Response(200, content=self.install[kid])
        return httpx.Response(404)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


class FakeKeyServer:
    """A local HTTP server: ``/jwks.json`` and ``/keys/<kid>``, with switchable failures."""

    def __init__(self) -> None:
        self.jwks: Any = jwks((FORGE_KID, rsa_key()))
        self.install = {INSTALL_KID: public_pem(rsa_key("install"))}
        self.status = 200
        self.delay = 0.0
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.paths.append(self.path)
                _time.sleep(server.delay)
                if server.status != 200:
                    body, status = b"down", server.status
                elif self.path == "/jwks.json":
                    body, status = json.dumps(server.jwks).encode(), 200
                elif self.path.startswith("/keys/") and self.path[6:] in server.install:
                    body, status = server.install[self.path[6:]], 200
                else:
                    body, status = b"not found", 404
                self.send_response(status)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
