"""A REST JSON service on loopback serving a list of records, for the ``rest`` adapter.

::

    with RestServer(records, paging="cursor", updated_field="updated_at") as server:
        options = RestOptions(url=server.url + "/records", ...)

- ``GET /records``: the records, oldest first by ``updated_field`` (then ``id_field``), filtered by
  ``?updated_since=`` (inclusive), in pages of the chosen style: ``page_number`` (``page``,
  ``page_size``), ``offset`` (``offset``, ``limit``), ``cursor`` (``cursor``, ``limit``; body
  ``next_cursor``), ``next_link`` (``Link: <...>; rel="next"`` header, or body ``next`` with
  ``link_in_body=True``) or ``none``. The body is ``{records_path: [...]}`` (dotted paths nest).
  Page sizes are capped at ``max_page_size`` like real APIs do.
- Auth: ``api_key`` (header), ``basic`` or ``oauth2``. ``POST /oauth2/token`` implements the
  client-credentials grant with ``client_secret_basic``, ``client_secret_post`` and
  ``private_key_jwt`` (RFC 7523: the assertion's signature is checked with the client's public
  JWK, ``iss``/``sub``/``aud``/``exp``/``jti``), issuing opaque or JWT (HS256) access
  tokens (``bearer_style``).
- Faults from :class:`~adapters.simulators.http.SimulatorServer`; ``malformed`` replaces one
  record of the page by a JSON string.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode

from joserfc import jwk, jwt
from joserfc.errors import JoseError

from adapters.simulators.http import SimRequest, SimResponse, SimulatorServer, json_response

__all__ = ["RestServer"]

PagingStyle = Literal["page_number", "offset", "cursor", "next_link", "none"]
AuthKind = Literal["none", "api_key", "basic", "oauth2"]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _time_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float):
        return (0, float(value))
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return (1, str(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (0, parsed.timestamp())


def _unverified_issuer(assertion: str) -> str | None:
    """``iss`` of a JWT before its signature is checked: only used to pick the key."""
    try:
        payload = assertion.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


def _nest(path: str, value: Any) -> Any:
    for part in reversed(path.split(".") if path else []):
        value = {part: value}
    return value


class RestServer(SimulatorServer):
    """Serves ``records`` (a list of dicts, which tests may change between runs)."""

    def __init__(
        self,
        records: Iterable[Mapping[str, Any]] = (),
        *,
        paging: PagingStyle = "page_number",
        path: str = "/records",
        records_path: str = "items",
        id_field: str = "id",
        updated_field: str | None = "updated_at",
        since_param: str = "updated_since",
        max_page_size: int = 50,
        link_in_body: bool = False,
        auth: AuthKind = "none",
        api_key: str = "",
        api_key_header: str = "X-API-Key",
        basic: tuple[str, str] | None = None,
        client_secrets: Mapping[str, str] | None = None,
        client_jwks: Mapping[str, Mapping[str, Any]] | None = None,
        bearer_style: Literal["opaque", "jwt"] = "opaque",
        token_lifetime: int = 300,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.records: list[dict[str, Any]] = [dict(r) for r in records]
        self.paging = paging
        self.path = path
        self.records_path = records_path
        self.id_field = id_field
        self.updated_field = updated_field
        self.since_param = since_param
        self.max_page_size = max_page_size
        self.link_in_body = link_in_body
        self.auth = auth
        self.api_key = api_key
        self.api_key_header = api_key_header
        self.basic = basic
        self.client_secrets = dict(client_secrets or {})
        self.client_jwks = {cid: jwk.import_key(dict(k)) for cid, k in (client_jwks or {}).items()}
        self.bearer_style = bearer_style
        self.token_lifetime = token_lifetime
        self.tokens_issued = 0
        self.assertion_claims: list[dict[str, Any]] = []
        self._tokens: dict[str, float] = {}
        self._jtis: set[str] = set()
        self._jwt_key = jwk.OctKey.import_key(secrets.token_bytes(32))
        self._lock_tokens = threading.Lock()

    # -- records -----------------------------------------------------------------------
    def upsert(self, record: Mapping[str, Any]) -> None:
        """Add ``record``, or replace the record with the same id."""
        rid = record.get(self.id_field)
        self.records = [r for r in self.records if r.get(self.id_field) != rid] + [dict(record)]

    def revoke_tokens(self) -> None:
        """Invalidate every access token issued so far (an early revocation)."""
        with self._lock_tokens:
            self._tokens.clear()

    # -- dispatch ----------------------------------------------------------------------
    def handle(self, request: SimRequest) -> SimResponse:
        if request.path == "/oauth2/token" and request.method == "POST":
            return self._token(request)
        if request.path == self.path and request.method == "GET":
            if not self._authorized(request):
                return json_response({"error": "unauthorized"}, 401, {"WWW-Authenticate": "Bearer"})
            return self._page(request)
        return json_response({"error": "not found"}, status=404)

    def _selected(self, request: SimRequest) -> list[dict[str, Any]]:
        rows = list(self.records)
        if self.updated_field is None:
            return rows
        field = self.updated_field
        since = request.query_one(self.since_param)
        if since is not None:
            floor = _time_key(since)
            rows = [r for r in rows if _time_key(r.get(field)) >= floor]
        return sorted(rows, key=lambda r: (_time_key(r.get(field)), str(r.get(self.id_field))))

    def _page(self, request: SimRequest) -> SimResponse:
        rows = self._selected(request)
        q = request.query_one
        size_param = {"page_number": "page_size", "offset": "limit"}.get(self.paging, "limit")
        size = min(int(q(size_param) or self.max_page_size), self.max_page_size)
        start = 0
        if self.paging == "page_number":
            start = (int(q("page") or 1) - 1) * size
        elif self.paging == "offset":
            start = int(q("offset") or 0)
        elif self.paging in ("cursor", "next_link"):
            token = q("cursor")
            start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
        elif self.paging == "none":
            size = len(rows) or 1
        page: list[Any] = [dict(r) for r in rows[start : start + size]]
        if request.malformed and page:
            page[len(page) // 2] = "not a record"
        more = start + size < len(rows)
        body: dict[str, Any] = _nest(self.records_path, page)
        if not isinstance(body, dict):
            body = {"items": page}
        headers: dict[str, str] = {}
        token = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        if self.paging == "cursor":
            body["next_cursor"] = token if more else None
        elif self.paging == "next_link" and more:
            params = {k: v[0] for k, v in request.query.items() if k != "cursor"}
            params.update({"cursor": token, "limit": str(size)})
            link = f"{request.base_url}{self.path}?{urlencode(params)}"
            if self.link_in_body:
                body["next"] = link
            else:
                headers["Link"] = f'<{link}>; rel="next"'
        return json_response(body, headers=headers)

    # -- auth --------------------------------------------------------------------------
    def _authorized(self, request: SimRequest) -> bool:
        if self.auth == "none":
            return True
        if self.auth == "api_key":
            return secrets.compare_digest(
                request.headers.get(self.api_key_header, ""), self.api_key
            )
        header = request.headers.get("Authorization", "")
        if self.auth == "basic":
            if self.basic is None or not header.startswith("Basic "):
                return False
            expected = base64.b64encode(":".join(self.basic).encode()).decode()
            return secrets.compare_digest(header[6:], expected)
        if not header.startswith("Bearer "):
            return False
        return self._token_valid(header[7:])

    def _token_valid(self, token: str) -> bool:
        with self._lock_tokens:
            expiry = self._tokens.get(token)
        if expiry is None or expiry < time.time():
            return False
        if self.bearer_style == "jwt":
            try:
                jwt.decode(token, self._jwt_key, algorithms=["HS256"])
            except (JoseError, ValueError):
                return False
        return True

    def _token(self, request: SimRequest) -> SimResponse:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, 400)
        client_id = self._authenticate_client(request, form)
        if client_id is None:
            return json_response({"error": "invalid_client"}, 401)
        now = int(time.time())
        if self.bearer_style == "jwt":
            claims = {"sub": client_id, "iat": now, "exp": now + self.token_lifetime}
            token = jwt.encode({"alg": "HS256"}, claims, self._jwt_key)
        else:
            token = secrets.token_urlsafe(24)
        with self._lock_tokens:
            self._tokens[token] = now + self.token_lifetime
            self.tokens_issued += 1
        return json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime},
            headers={"Cache-Control": "no-store"},
        )

    def _authenticate_client(self, request: SimRequest, form: dict[str, str]) -> str | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return None
            return client_id if self._secret_ok(client_id, secret) else None
        if form.get("client_assertion_type") == ASSERTION_TYPE:
            return self._assertion_ok(form.get("client_assertion", ""), form.get("client_id"))
        client_id = form.get("client_id", "")
        return client_id if self._secret_ok(client_id, form.get("client_secret", "")) else None

    def _secret_ok(self, client_id: str, secret: str) -> bool:
        expected = self.client_secrets.get(client_id)
        return expected is not None and secrets.compare_digest(expected, secret)

    def _assertion_ok(self, assertion: str, client_id: str | None) -> str | None:
        issuer = client_id or _unverified_issuer(assertion)
        if issuer is None or (key := self.client_jwks.get(issuer)) is None:
            return None
        try:
            token = jwt.decode(
                assertion, key, algorithms=["RS256", "PS256", "ES256", "RS384", "ES384"]
            )
        except (JoseError, ValueError):
            return None
        claims = token.claims
        kid = key.kid
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            sub={"essential": True, "value": issuer},
            aud={"essential": True, "value": f"{self.url}/oauth2/token"},
            exp={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError:
            return None
        if kid and token.header.get("kid") != kid:
            return None
        with self._lock_tokens:
            if claims["jti"] in self._jtis:
                return None  # replayed assertion
            self._jtis.add(claims["jti"])
            self.assertion_claims.append(dict(claims))
        return str(issuer)
