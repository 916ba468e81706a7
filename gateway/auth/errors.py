"""OAuth2 errors, named by the RFC error code the client acts on.

Descriptions are fixed phrases: never a token, a secret, a claim value or a key.
"""

from __future__ import annotations


class OAuthError(Exception):
    """Base of the OAuth2 errors: ``error`` is the RFC code, ``status`` the HTTP status."""

    error: str = "invalid_request"
    status: int = 400

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


# RFC 6749 §5.2: token endpoint errors.
class InvalidRequest(OAuthError):
    """The request is malformed: fix it before retrying."""


class InvalidClient(OAuthError):
    """Client authentication failed: check the client id, secret or signing key."""

    error = "invalid_client"
    status = 401


class UnauthorizedClient(OAuthError):
    """This client may not use this grant."""

    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    """Only ``client_credentials`` is served."""

    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    """The scope asked for is unknown or beyond what the client was registered with."""

    error = "invalid_scope"


# RFC 6750 §3.1: protected resource errors.
class MissingToken(OAuthError):
    """No bearer token was sent: obtain one and send it (RFC 6750 §3.1: no error code)."""

    error = ""
    status = 401


class InvalidToken(OAuthError):
    """The token is expired, malformed, untrusted or badly signed: get a new one."""

    error = "invalid_token"
    status = 401


class InsufficientScope(OAuthError):
    """The token is valid but does not allow this request: ask for ``scope``."""

    error = "insufficient_scope"
    status = 403

    def __init__(self, description: str, scope: str) -> None:
        super().__init__(description)
        self.scope = scope
