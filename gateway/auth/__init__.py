"""OAuth2 for the gateway: the token endpoint, client authentication, bearer validation.

One module per standard: :mod:`rfc6749` (token endpoint, client credentials), :mod:`rfc7523`
(``private_key_jwt``), :mod:`rfc6750` (bearer tokens), :mod:`rfc8414` (metadata),
:mod:`jwks` (keys), :mod:`pdnd` (PDND vouchers). Nothing here imports a web framework.
"""

from gateway.auth.clients import NewClient, RegisteredClient, list_clients, register_client
from gateway.auth.errors import (
    InsufficientScope,
    InvalidClient,
    InvalidRequest,
    InvalidScope,
    InvalidToken,
    MissingToken,
    OAuthError,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from gateway.auth.issuers import TrustedIssuer, load_trusted_issuers
from gateway.auth.jwks import SigningKeyStore, signing_key_store
from gateway.auth.rfc6749 import TokenIssuer, TokenRequest
from gateway.auth.rfc6750 import BearerValidator, Principal, bearer_token, require
from gateway.auth.rfc8414 import server_metadata

__all__ = [
    "BearerValidator",
    "InsufficientScope",
    "InvalidClient",
    "InvalidRequest",
    "InvalidScope",
    "InvalidToken",
    "MissingToken",
    "NewClient",
    "OAuthError",
    "Principal",
    "RegisteredClient",
    "SigningKeyStore",
    "TokenIssuer",
    "TokenRequest",
    "TrustedIssuer",
    "UnauthorizedClient",
    "UnsupportedGrantType",
    "bearer_token",
    "list_clients",
    "load_trusted_issuers",
    "register_client",
    "require",
    "server_metadata",
    "signing_key_store",
]
