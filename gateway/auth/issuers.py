"""Trusted external issuers, from ``LGNET_TRUSTED_ISSUERS`` (BRIEF §9).

A JSON list of objects::

    [{"issuer": "https://idp.comune.example",
      "jwks_uri": "https://idp.comune.example/jwks",      # or "jwks_file": "/etc/lgnet/idp.json"
      "audience": "lgnet-gateway",
      "client_cities": {"roma-welfare": "roma"},          # binds a client to a city (optional)
      "scopes": ["records:write"]},                       # the most it may grant (optional)
     {"issuer": "interop.pagopa.it", "profile": "pdnd",
      "jwks_uri": "https://interop.pagopa.it/.well-known/jwks.json",
      "audience": "lgnet-gateway", "allowed_purpose_ids": ["..."],
      "scopes": ["cases:read", "summaries:read"]}]
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gateway.auth.jwks import FileKeys, KeySetError, KeySource, RemoteKeys, check_jwks_uri
from gateway.auth.scopes import SCOPES
from gateway.cities import is_city
from gateway.settings import ENV_PREFIX, Settings, SettingsError

VARIABLE = f"{ENV_PREFIX}TRUSTED_ISSUERS"


class TrustedIssuer(BaseModel):
    """One external issuer whose access tokens the gateway accepts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(min_length=1, max_length=400)
    jwks_file: Path | None = None
    jwks_uri: str | None = None
    audience: str = Field(min_length=1, max_length=400)
    profile: Literal["default", "pdnd"] = "default"
    allowed_purpose_ids: list[str] = Field(default_factory=list)
    client_cities: dict[str, str] = Field(default_factory=dict)
    scopes: list[str] | None = None
    jwks_cache_seconds: float = Field(300.0, ge=0)
    jwks_refresh_cooldown_seconds: float = Field(10.0, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> TrustedIssuer:
        if (self.jwks_file is None) == (self.jwks_uri is None):
            raise ValueError("give exactly one of jwks_file and jwks_uri")
        if self.jwks_uri is not None:
            try:
                check_jwks_uri(self.jwks_uri)
            except KeySetError as exc:
                raise ValueError(str(exc)) from None
        if self.profile == "pdnd" and not self.allowed_purpose_ids:
            raise ValueError("the pdnd profile needs allowed_purpose_ids")
        unknown_cities = [c for c in self.client_cities.values() if not is_city(c)]
        if unknown_cities:
            raise ValueError("client_cities names a city that is not in the network")
        if self.scopes is not None and not set(self.scopes) <= set(SCOPES):
            raise ValueError(f"scopes must be among: {', '.join(SCOPES)}")
        return self

    def key_source(self) -> KeySource:
        if self.jwks_uri is not None:
            return RemoteKeys(
                self.jwks_uri,
                cache_seconds=self.jwks_cache_seconds,
                cooldown_seconds=self.jwks_refresh_cooldown_seconds,
            )
        assert self.jwks_file is not None
        try:
            return FileKeys(self.jwks_file)
        except (OSError, ValueError) as exc:
            raise SettingsError(
                f"{VARIABLE}: the jwks_file of issuer {self.issuer!r} is not a readable JWKS"
            ) from exc


def load_trusted_issuers(settings: Settings) -> list[TrustedIssuer]:
    """Parse the setting; errors name the variable, the entry and the field."""
    issuers: list[TrustedIssuer] = []
    for position, entry in enumerate(settings.trusted_issuers):
        try:
            issuers.append(TrustedIssuer.model_validate(entry))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or 'entry'}: {error['msg']}"
                for error in exc.errors()
            )
            raise SettingsError(f"{VARIABLE}[{position}]: {problems}") from None
    names = [issuer.issuer for issuer in issuers]
    if len(set(names)) != len(names) or settings.issuer in names:
        raise SettingsError(f"{VARIABLE}: each issuer must appear once and differ from ours")
    return issuers
