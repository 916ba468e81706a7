"""Real keys and real signed JWTs for the tests, plus the forged ones attackers send."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, Key, KeySet, RSAKey

from gateway.auth.jwks import jws_registry


def rsa_key(kid: str | None = None) -> RSAKey:
    key = RSAKey.generate_key(2048, parameters={"kid": kid} if kid else None, auto_kid=kid is None)
    return key


def ec_key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid})


def public_jwks(*keys: Key) -> dict[str, Any]:
    return {"keys": [dict(key.as_dict(private=False)) for key in keys]}


def sign(
    key: Key,
    claims: dict[str, Any],
    *,
    alg: str = "RS256",
    typ: str | None = "at+jwt",
    kid: str | None = None,
    header: dict[str, Any] | None = None,
) -> str:
    head: dict[str, Any] = {"alg": alg, "kid": kid or key.kid}
    if typ is not None:
        head["typ"] = typ
    head.update(header or {})
    return jwt.encode(head, claims, key, registry=jws_registry(alg), default_type=None)


def claims(
    *,
    iss: str,
    aud: str,
    scope: str = "cases:read",
    client_id: str = "test-client",
    lifetime: int = 300,
    **extra: Any,
) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": iss,
        "sub": client_id,
        "aud": aud,
        "client_id": client_id,
        "scope": scope,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": secrets.token_hex(8),
        **extra,
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _segments(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(payload).encode())


def alg_none(payload: dict[str, Any], kid: str) -> str:
    """An unsigned token: ``alg: none`` and an empty signature."""
    return _segments({"alg": "none", "kid": kid, "typ": "at+jwt"}, payload) + "."


def hs256_with_public_key(payload: dict[str, Any], public_pem: bytes, kid: str) -> str:
    """The algorithm-confusion attack: HMAC "signed" with the verifier's public key."""
    signing_input = _segments({"alg": "HS256", "kid": kid, "typ": "at+jwt"}, payload)
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(mac)


def tamper(token: str, **changes: Any) -> str:
    """Change claims of a signed token, keeping its header and signature."""
    header, payload, signature = token.split(".")
    padded = payload + "=" * (-len(payload) % 4)
    claims_ = json.loads(base64.urlsafe_b64decode(padded))
    claims_.update(changes)
    return header + "." + _b64(json.dumps(claims_).encode()) + "." + signature


class JwksServer:
    """A JWKS document served over loopback HTTP; the keys can be swapped while it runs."""

    def __init__(self, keys: KeySet | list[Key]) -> None:
        self.document = public_jwks(*keys)
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                body = json.dumps(outer.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    def publish(self, *keys: Key) -> None:
        self.document = public_jwks(*keys)

    @contextmanager
    def running(self) -> Iterator[JwksServer]:
        thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join(timeout=5)
