"""The ``auth:`` options of HTTP adapters, and a client session that applies them.

A discriminated union on ``type``::

    auth: {type: none}
    auth: {type: api_key, header: X-API-Key, key: "${MILANO_API_KEY}"}
    auth: {type: basic, username: gateway, password: "${ROMA_PASSWORD}"}
    auth: {type: client_secret, token_url: https://..., client_id: lgnet,
           client_secret: "${...}", scope: cases.read, method: client_secret_basic}
    auth: {type: private_key_jwt, token_url: https://..., client_id: lgnet,
           private_key: "${PEM}", kid: key-2024, algorithm: RS256, purpose_id: "..."}

Every secret is a ``SecretStr``: a repr, a log line or an error message shows ``**********``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from adapters.auth.rfc7523 import ALGORITHMS, client_assertion, load_private_key
from adapters.http import HttpOptions, build_client, map_httpx_errors, raise_for_status

__all__ = [
    "ApiKeyAuth",
    "AuthOptions",
    "AuthSession",
    "BasicAuth",
    "ClientSecretAuth",
    "NoAuth",
    "PrivateKeyJwtAuth",
    "build_auth_client",
]


class _Scheme(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoAuth(_Scheme):
    type: Literal["none"] = "none"


class ApiKeyAuth(_Scheme):
    """A static key in a request header (``prefix`` e.g. ``"Bearer "`` or ``"ApiKey "``)."""

    type: Literal["api_key"] = "api_key"
    header: str = "X-API-Key"
    key: SecretStr
    prefix: str = ""


class BasicAuth(_Scheme):
    """HTTP Basic (RFC 7617)."""

    type: Literal["basic"] = "basic"
    username: str
    password: SecretStr


class ClientSecretAuth(_Scheme):
    """OAuth2 client credentials with a client secret (RFC 6749 §2.3.1)."""

    type: Literal["client_secret"] = "client_secret"
    token_url: str
    client_id: str
    client_secret: SecretStr
    scope: str | None = None
    method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"


class PrivateKeyJwtAuth(_Scheme):
    """OAuth2 client credentials with a signed JWT assertion (RFC 7523; PDND vouchers)."""

    type: Literal["private_key_jwt"] = "private_key_jwt"
    token_url: str
    client_id: str
    private_key: SecretStr = Field(description="PEM text of an RSA or EC private key.")
    kid: str | None = Field(default=None, description="Key id registered with the server.")
    algorithm: str = "RS256"
    audience: str | None = Field(default=None, description="Defaults to token_url.")
    purpose_id: str | None = Field(default=None, description="PDND purposeId claim.")
    lifetime: int = Field(default=300, gt=0, le=3600)
    scope: str | None = None

    @field_validator("algorithm")
    @classmethod
    def _asymmetric(cls, value: str) -> str:
        if value not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}")
        return value


AuthOptions = Annotated[
    NoAuth | ApiKeyAuth | BasicAuth | ClientSecretAuth | PrivateKeyJwtAuth,
    Field(discriminator="type"),
]


def build_auth_client(
    auth: NoAuth | ApiKeyAuth | BasicAuth | ClientSecretAuth | PrivateKeyJwtAuth,
    http: HttpOptions | None = None,
    *,
    source: str,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """The ``httpx.Client`` for ``auth`` (an Authlib ``OAuth2Client`` for the OAuth2 kinds)."""
    if isinstance(auth, ClientSecretAuth | PrivateKeyJwtAuth):
        from adapters.auth.oauth2 import OAuth2BearerAuth

        bearer = OAuth2BearerAuth(_token_client(auth, http, source), source)
        return build_client(http, auth=bearer, transport=transport)
    if isinstance(auth, ApiKeyAuth):
        value = auth.prefix + auth.key.get_secret_value()
        return build_client(http, headers={auth.header: value}, transport=transport)
    if isinstance(auth, BasicAuth):
        basic = httpx.BasicAuth(auth.username, auth.password.get_secret_value())
        return build_client(http, auth=basic, transport=transport)
    return build_client(http, transport=transport)


def _token_client(
    auth: ClientSecretAuth | PrivateKeyJwtAuth, http: HttpOptions | None, source: str
) -> Any:
    from adapters.auth.oauth2 import PRIVATE_KEY_JWT, oauth2_client

    if isinstance(auth, ClientSecretAuth):
        return oauth2_client(
            token_url=auth.token_url,
            client_id=auth.client_id,
            client_secret=auth.client_secret.get_secret_value(),
            auth_method=auth.method,
            scope=auth.scope,
            http=http,
            source=source,
        )
    key = load_private_key(auth.private_key.get_secret_value())
    audience = auth.audience or auth.token_url

    def assertion() -> str:
        return client_assertion(
            client_id=auth.client_id,
            audience=audience,
            key=key,
            kid=auth.kid,
            algorithm=auth.algorithm,
            lifetime=auth.lifetime,
            purpose_id=auth.purpose_id,
        )

    return oauth2_client(
        token_url=auth.token_url,
        client_id=auth.client_id,
        auth_method=PRIVATE_KEY_JWT,
        assertion=assertion,
        scope=auth.scope,
        http=http,
        source=source,
    )


class AuthSession:
    """An httpx client with its auth applied; ``request()`` returns a checked response.

    Errors are mapped to the source error taxonomy (:mod:`adapters.http`).
    """

    def __init__(
        self,
        auth: NoAuth | ApiKeyAuth | BasicAuth | ClientSecretAuth | PrivateKeyJwtAuth,
        http: HttpOptions | None = None,
        *,
        source: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.auth = auth
        self.source = source
        self.client = build_auth_client(auth, http, source=source, transport=transport)

    def __repr__(self) -> str:
        return f"AuthSession(source={self.source!r}, auth={self.auth!r})"

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        with map_httpx_errors(self.source, url=url):
            response = self.client.request(method, url, **kwargs)
        raise_for_status(response, self.source)
        return response

    def close(self) -> None:
        self.client.close()
        close_auth = getattr(self.client.auth, "close", None)
        if close_auth is not None:
            close_auth()
