"""OAuth2 client credentials (RFC 6749 §4.4) for adapters, on Authlib's httpx integration.

Client authentication at the token endpoint:

- ``client_secret_basic`` / ``client_secret_post`` (RFC 6749 §2.3.1);
- ``private_key_jwt`` (RFC 7523 §2.2, OpenID Connect Core §9): a fresh signed assertion from
  :func:`adapters.auth.rfc7523.client_assertion` on every token request.

Authlib's client only talks to the token endpoint; API requests go through the adapter's own
``httpx.Client`` with :class:`OAuth2BearerAuth`, which fetches the token on first use, again
when it expires (Authlib does that for the client-credentials grant) and once more when the API
answers 401 (a token revoked early). Authlib's httpx integration runs on the ``httpx2`` fork
when that is installed, so keeping it to the token endpoint keeps the API traffic on one
library whatever is installed. Token endpoint failures
enter the error taxonomy here: 429/5xx are retriable, an OAuth2 error answer (``invalid_client``,
``invalid_scope``...) is fatal, and only the error *code* is kept in the message.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import httpx

from adapters.auth.rfc7523 import CLIENT_ASSERTION_TYPE
from adapters.errors import FatalSourceError, RetriableSourceError
from adapters.http import HttpOptions, map_httpx_errors, raise_for_status

with warnings.catch_warnings():
    # Authlib 1.9 warns that its httpx integration will move to the "httpx2" fork and falls
    # back to httpx when that is missing. This project is on httpx (FastAPI's test client,
    # adapters.http), so the fallback is what we want; the warning would fail strict tests.
    # authlib.deprecate installs an "always" filter when first imported: import it inside the
    # block (so that is undone on exit) and ignore after it (so ours comes first).
    import authlib.deprecate  # noqa: F401

    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import OAuth2Client

__all__ = [
    "PRIVATE_KEY_JWT",
    "OAuth2BearerAuth",
    "fetch_token",
    "map_oauth_errors",
    "oauth2_client",
]

PRIVATE_KEY_JWT = "private_key_jwt"
_SAFE_ERROR_CODES = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "access_denied",
        "temporarily_unavailable",
        "server_error",
    }
)


def oauth2_client(
    *,
    token_url: str,
    client_id: str,
    client_secret: str | None = None,
    auth_method: str = "client_secret_basic",
    assertion: Callable[[], str] | None = None,
    scope: str | None = None,
    http: HttpOptions | None = None,
    source: str,
) -> Any:
    """An Authlib ``OAuth2Client`` for the client-credentials grant at ``token_url``.

    With ``auth_method="private_key_jwt"``, ``assertion()`` returns a new signed assertion.
    """
    opts = http or HttpOptions()
    client = OAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method=auth_method,
        scope=scope,
        token_endpoint=token_url,
        grant_type="client_credentials",
        # Plain values: the client may be an httpx or an httpx2 one.
        timeout=opts.timeout,
        verify=opts.ca_file if opts.ca_file else opts.verify_tls,
        headers=dict(opts.headers),
    )
    if auth_method == PRIVATE_KEY_JWT:
        if assertion is None:
            raise ValueError("private_key_jwt needs an assertion factory")
        client.register_client_auth_method((PRIVATE_KEY_JWT, _assertion_method(assertion)))

    def check(response: Any) -> Any:
        # Rate limits and server errors are not OAuth2 errors: keep their Retry-After.
        if response.status_code in (408, 425, 429) or response.status_code >= 500:
            raise_for_status(response, source)
        return response

    client.register_compliance_hook("access_token_response", check)
    return client


class OAuth2BearerAuth(httpx.Auth):
    """``Authorization: Bearer`` from an Authlib client; one retry with a new token on 401."""

    def __init__(self, oauth: Any, source: str) -> None:
        self.oauth = oauth
        self.source = source
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OAuth2BearerAuth(source={self.source!r})"

    def access_token(self, *, renew: bool = False) -> str:
        with self._lock:
            if renew or not self.oauth.token:
                fetch_token(self.oauth, self.source)
            else:
                with map_oauth_errors(self.source):
                    self.oauth.ensure_active_token(self.oauth.token)
            return str(self.oauth.token["access_token"])

    def close(self) -> None:
        self.oauth.close()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.access_token()}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.access_token(renew=True)}"
            yield request


def _assertion_method(assertion: Callable[[], str]) -> Callable[..., Any]:
    def sign(auth: Any, method: str, uri: str, headers: Any, body: str | bytes) -> Any:
        if isinstance(body, bytes):  # the httpx integration passes the request content
            body = body.decode()
        extra = urlencode(
            {
                "client_id": auth.client_id,
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": assertion(),
            }
        )
        body = f"{body}&{extra}" if body else extra
        if "Content-Length" in headers:
            headers["Content-Length"] = str(len(body))
        return uri, headers, body

    return sign


@contextmanager
def map_oauth_errors(source: str) -> Iterator[None]:
    """Turn Authlib and httpx errors at the token endpoint into source errors."""
    try:
        with map_httpx_errors(source):
            yield
    except OAuthError as exc:
        code = exc.error if exc.error in _SAFE_ERROR_CODES else "error"
        if code in ("temporarily_unavailable", "server_error"):
            raise RetriableSourceError(f"token endpoint answered {code}", source=source) from exc
        raise FatalSourceError(f"token endpoint refused the client: {code}", source=source) from exc
    except ValueError as exc:  # a 2xx token answer that is not a JSON object
        raise FatalSourceError("token endpoint answer is not a token", source=source) from exc
    except KeyError as exc:  # a JSON answer without access_token
        raise FatalSourceError("token endpoint answer has no access_token", source=source) from exc


def fetch_token(client: Any, source: str) -> None:
    """Fetch a new access token into ``client``."""
    with map_oauth_errors(source):
        token = client.fetch_token(grant_type="client_credentials")
        if not isinstance(token, dict) or "access_token" not in token:
            raise KeyError("access_token")
