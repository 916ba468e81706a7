"""All settings, from ``LGNET_`` environment variables (BRIEF §11).

Outside development the gateway refuses to start with a default secret, and the error names
the variable to set. Secrets are ``SecretStr``: their repr is masked.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development defaults. Public on purpose: they are refused outside development.
DEV_PSEUDONYM_KEY = "dev-only-pseudonym-key-do-not-use-in-production"
DEV_QUARANTINE_KEY = "ZGV2LW9ubHktcXVhcmFudGluZS1rZXktMzJieXRlcyE="  # 32 bytes, base64
DEV_SIGNING_KEY_SECRET = "dev-only-signing-key-secret-do-not-use-in-production"  # noqa: S105

ENV_PREFIX = "LGNET_"


class SettingsError(RuntimeError):
    """Settings are missing or unsafe; the message names the variable to set."""


class Settings(BaseSettings):
    """The gateway's settings. Every field ``x`` is read from ``LGNET_X``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///var/lgnet.db"

    # Privacy (BRIEF §5): keyed pseudonyms. Either a key or a key file (JSON or one key a line).
    pseudonym_key: SecretStr = SecretStr(DEV_PSEUDONYM_KEY)
    pseudonym_key_file: Path | None = None
    # AES-GCM key (base64, 32 bytes) for quarantined raw payloads.
    quarantine_key: SecretStr = SecretStr(DEV_QUARANTINE_KEY)
    quarantine_retention_days: int = Field(30, ge=1)

    # Disclosure control (BRIEF §10).
    k_threshold: int = 5

    # OAuth2 (BRIEF §9).
    issuer: str = "http://127.0.0.1:8000"
    audience: str = "lgnet-gateway"
    token_ttl_seconds: int = Field(600, ge=60, le=86400)
    signing_key_file: Path | None = None
    trusted_issuers: list[dict[str, Any]] = Field(default_factory=list)
    # Encrypts the token signing keys kept in the database (unused with signing_key_file);
    # the development value is refused outside development when the API starts.
    signing_key_secret: SecretStr = SecretStr(DEV_SIGNING_KEY_SECRET)
    token_leeway_seconds: int = Field(30, ge=0, le=300)
    idempotency_ttl_hours: int = Field(24, ge=1)
    # Scheduled source pulls inside the API process (gateway.sync.scheduler); `lgnet serve`
    # turns them on unless LGNET_SCHEDULER=off.
    scheduler: Literal["on", "off"] = "off"
    # Sync engine (gateway.sync): where source definitions live (default: the mappings
    # package's own folder), records per transaction, sources pulled at once by the scheduler.
    mappings_dir: Path | None = None
    sync_batch_size: int = Field(5000, ge=1, le=100_000)
    sync_workers: int = Field(4, ge=1, le=64)

    # HTTP limits (BRIEF §13).
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    max_records_per_request: int = Field(5000, ge=1)
    max_json_depth: int = Field(32, ge=4)
    rate_limit_per_minute: int = Field(600, ge=1)

    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"

    @field_validator("k_threshold")
    @classmethod
    def _k_at_least_3(cls, value: int) -> int:
        if value < 3:
            raise ValueError("must be at least 3 (smaller cells single people out)")
        return value

    @field_validator("trusted_issuers", mode="before")
    @classmethod
    def _issuers_json(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else []
        return value

    @model_validator(mode="after")
    def _no_default_secrets_outside_development(self) -> Settings:
        if self.env == "development":
            return self
        if self.pseudonym_key.get_secret_value() == DEV_PSEUDONYM_KEY and not (
            self.pseudonym_key_file
        ):
            raise ValueError(
                "the development pseudonym key is refused outside development: "
                f"set {ENV_PREFIX}PSEUDONYM_KEY or {ENV_PREFIX}PSEUDONYM_KEY_FILE"
            )
        if self.quarantine_key.get_secret_value() == DEV_QUARANTINE_KEY:
            raise ValueError(
                "the development quarantine key is refused outside development: "
                f"set {ENV_PREFIX}QUARANTINE_KEY (32 random bytes, base64)"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: Any) -> Settings:
    """Read settings; turn validation errors into one message naming the variables."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]) if error["loc"] else ""
            variable = f"{ENV_PREFIX}{field.upper()}" if field else "settings"
            # pydantic's msg never includes the input value; the input itself is not shown.
            problems.append(f"{variable}: {error['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None


@cache
def get_settings() -> Settings:
    """Process-wide settings (cached; tests clear the cache)."""
    return load_settings()
