"""Outbound authentication of the adapters: API keys, HTTP Basic and OAuth2 client credentials.

- :mod:`adapters.auth.schemes`: the ``auth:`` options (a discriminated union on ``type``)
  and the ``httpx`` client each one needs;
- :mod:`adapters.auth.oauth2`: OAuth2 client credentials (RFC 6749 §4.4) on Authlib's httpx
  integration, with ``client_secret_basic``/``client_secret_post`` or ``private_key_jwt``;
- :mod:`adapters.auth.rfc7523`: the JWT client assertion of ``private_key_jwt``.
"""

from adapters.auth.rfc7523 import CLIENT_ASSERTION_TYPE, client_assertion
from adapters.auth.schemes import (
    ApiKeyAuth,
    AuthOptions,
    AuthSession,
    BasicAuth,
    ClientSecretAuth,
    NoAuth,
    PrivateKeyJwtAuth,
    build_auth_client,
)

__all__ = [
    "CLIENT_ASSERTION_TYPE",
    "ApiKeyAuth",
    "AuthOptions",
    "AuthSession",
    "BasicAuth",
    "ClientSecretAuth",
    "NoAuth",
    "PrivateKeyJwtAuth",
    "build_auth_client",
    "client_assertion",
]
