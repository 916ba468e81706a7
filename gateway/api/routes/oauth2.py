"""``/oauth2/token``, ``/oauth2/jwks`` and the RFC 8414 metadata document."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from gateway.api.deps import State
from gateway.api.models import Jwks, OAuthErrorBody, TokenBody
from gateway.auth.rfc6749 import TOKEN_PATH, TokenRequest
from gateway.auth.rfc8414 import JWKS_PATH, METADATA_PATH, server_metadata

router = APIRouter(tags=["oauth2"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FormField = Annotated[str | None, Form()]


@router.post(
    TOKEN_PATH,
    response_model=TokenBody,
    responses={
        400: {"model": OAuthErrorBody, "description": "Malformed request, grant or scope."},
        401: {"model": OAuthErrorBody, "description": "Client authentication failed."},
        429: {"description": "Too many requests from this address."},
    },
    summary="Issue an access token (client credentials)",
)
def token(
    request: Request,
    state: State,
    grant_type: FormField = None,
    scope: FormField = None,
    client_id: FormField = None,
    client_secret: FormField = None,
    client_assertion_type: FormField = None,
    client_assertion: FormField = None,
) -> Response:
    """RFC 6749 §4.4 with ``client_secret_basic``, ``client_secret_post`` or
    ``private_key_jwt`` (RFC 7523) client authentication."""
    state.token_limiter.check(request.client.host if request.client else "unknown")
    fields = {
        "grant_type": grant_type,
        "scope": scope,
        "client_id": client_id,
        "client_secret": client_secret,
        "client_assertion_type": client_assertion_type,
        "client_assertion": client_assertion,
    }
    form = {name: value for name, value in fields.items() if value is not None}
    issued = state.tokens.issue(TokenRequest(form, request.headers.get("authorization")))
    return Response(orjson.dumps(issued.body), headers=_NO_STORE, media_type="application/json")


@router.get(JWKS_PATH, response_model=Jwks, summary="The gateway's public signing keys")
def jwks(state: State) -> Response:
    body = {"keys": state.keys.published()}
    return Response(
        orjson.dumps(body),
        headers={"Cache-Control": "public, max-age=60"},
        media_type="application/json",
    )


@router.get(METADATA_PATH, summary="Authorization server metadata (RFC 8414)")
def metadata(state: State) -> dict[str, Any]:
    return server_metadata(state.settings.issuer)
