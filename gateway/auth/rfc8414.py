"""Authorization server metadata (RFC 8414): ``/.well-known/oauth-authorization-server``."""

from __future__ import annotations

from typing import Any

from gateway.auth.jwks import ALLOWED_ALGORITHMS, SIGNING_ALGORITHM
from gateway.auth.rfc6749 import AUTH_METHODS, GRANT_TYPE, TOKEN_PATH
from gateway.auth.scopes import SCOPES

JWKS_PATH = "/oauth2/jwks"
METADATA_PATH = "/.well-known/oauth-authorization-server"


def server_metadata(issuer: str) -> dict[str, Any]:
    """The metadata document of the gateway's authorization server."""
    base = issuer.rstrip("/")
    return {
        "issuer": issuer,
        "token_endpoint": base + TOKEN_PATH,
        "jwks_uri": base + JWKS_PATH,
        "grant_types_supported": [GRANT_TYPE],
        # No authorization endpoint: machine clients only.
        "response_types_supported": [],
        "scopes_supported": list(SCOPES),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": sorted(ALLOWED_ALGORITHMS),
        "access_token_signing_alg_values_supported": [SIGNING_ALGORITHM],
    }
