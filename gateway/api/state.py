"""What one app holds for the lifetime of the process: settings, engine, keys, validators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from gateway.api.limits import RateLimiter
from gateway.auth.issuers import load_trusted_issuers
from gateway.auth.jwks import SigningKeyStore, signing_key_store
from gateway.auth.rfc6749 import TokenIssuer
from gateway.auth.rfc6750 import BearerValidator
from gateway.metrics import Metrics
from gateway.settings import Settings


@dataclass
class AppState:
    """Shared by every request of one app (``app.state.lgnet``)."""

    settings: Settings
    engine: Engine
    keys: SigningKeyStore
    tokens: TokenIssuer
    validator: BearerValidator
    metrics: Metrics
    limiter: RateLimiter
    token_limiter: RateLimiter

    @property
    def idempotency_ttl(self) -> timedelta:
        return timedelta(hours=self.settings.idempotency_ttl_hours)


def build_state(settings: Settings, engine: Engine) -> AppState:
    """Everything an app needs, without touching the database yet."""
    keys = signing_key_store(engine, settings)
    tokens = TokenIssuer(
        engine=engine,
        keys=keys,
        issuer=settings.issuer,
        audience=settings.audience,
        ttl_seconds=settings.token_ttl_seconds,
        leeway_seconds=settings.token_leeway_seconds,
    )
    validator = BearerValidator(
        issuer=settings.issuer,
        audience=settings.audience,
        keys=keys,
        trusted=load_trusted_issuers(settings),
        leeway_seconds=settings.token_leeway_seconds,
    )
    return AppState(
        settings=settings,
        engine=engine,
        keys=keys,
        tokens=tokens,
        validator=validator,
        metrics=Metrics(engine),
        limiter=RateLimiter(settings.rate_limit_per_minute),
        token_limiter=RateLimiter(settings.rate_limit_per_minute),
    )
