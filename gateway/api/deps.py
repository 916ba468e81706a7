"""Dependencies of the routes, as ``Annotated`` aliases.

``CasesReader``, ``RecordsWriter``, ``SummariesReader`` and ``Operator`` validate the bearer
token, check the scope (and, for a route with ``{city}``, the city binding), apply the
caller's rate limit and give the :class:`~gateway.auth.rfc6750.Principal`. The OpenAPI
document declares them as the OAuth2 client-credentials scheme with its scopes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes
from sqlalchemy import Engine

from gateway.api.state import AppState
from gateway.auth.rfc6749 import TOKEN_PATH
from gateway.auth.rfc6750 import Principal, bearer_token, require
from gateway.auth.scopes import ADMIN, CASES_READ, RECORDS_WRITE, SUMMARIES_READ
from gateway.settings import Settings

oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl=TOKEN_PATH,
            scopes={
                RECORDS_WRITE: "Push records of the city the client is bound to.",
                CASES_READ: "Read the pseudonymised case feed.",
                SUMMARIES_READ: "Read aggregated summaries.",
                ADMIN: "Read the gateway's operational status.",
            },
        )
    ),
    scheme_name="oauth2",
    description="OAuth2 client credentials; JWT access tokens (RFC 9068).",
    auto_error=False,
)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.lgnet
    return state


State = Annotated[AppState, Depends(get_state)]


def get_settings_of(state: State) -> Settings:
    return state.settings


def get_engine(state: State) -> Engine:
    return state.engine


AppSettings = Annotated[Settings, Depends(get_settings_of)]
DbEngine = Annotated[Engine, Depends(get_engine)]


def authenticated(
    security_scopes: SecurityScopes,
    request: Request,
    state: State,
    authorization: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """The validated caller, holding every scope the route asks for."""
    principal = state.validator.validate(bearer_token(authorization))
    city = request.path_params.get("city")
    for scope in security_scopes.scopes:
        require(principal, scope, city=city)
    state.limiter.check(principal.actor)
    return principal


RecordsWriter = Annotated[Principal, Security(authenticated, scopes=[RECORDS_WRITE])]
CasesReader = Annotated[Principal, Security(authenticated, scopes=[CASES_READ])]
SummariesReader = Annotated[Principal, Security(authenticated, scopes=[SUMMARIES_READ])]
Operator = Annotated[Principal, Security(authenticated, scopes=[ADMIN])]
