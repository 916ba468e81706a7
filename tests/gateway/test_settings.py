"""Settings: defaults for development, refusal of default secrets elsewhere, clear errors."""

from __future__ import annotations

import json

import pytest

from gateway.settings import SettingsError, load_settings


def test_development_defaults_work() -> None:
    settings = load_settings()
    assert settings.env == "development"
    assert settings.database_url == "sqlite:///var/lgnet.db"
    assert settings.k_threshold == 5


def test_default_pseudonym_key_is_refused_in_production_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LGNET_ENV", "production")
    with pytest.raises(SettingsError, match="LGNET_PSEUDONYM_KEY"):
        load_settings()


def test_default_quarantine_key_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGNET_ENV", "production")
    monkeypatch.setenv("LGNET_PSEUDONYM_KEY", "a-real-secret-of-enough-length-0123456789")
    with pytest.raises(SettingsError, match="LGNET_QUARANTINE_KEY"):
        load_settings()


def test_k_threshold_below_three_is_refused_without_echoing_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LGNET_K_THRESHOLD", "2")
    monkeypatch.setenv("LGNET_PSEUDONYM_KEY", "top-secret-value-xyz")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "LGNET_K_THRESHOLD" in str(info.value)
    assert "top-secret-value-xyz" not in str(info.value)


def test_trusted_issuers_are_read_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    issuers = [{"issuer": "https://auth.example", "jwks_file": "/etc/jwks.json", "audience": "x"}]
    monkeypatch.setenv("LGNET_TRUSTED_ISSUERS", json.dumps(issuers))
    assert load_settings().trusted_issuers == issuers


def test_secrets_are_masked_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGNET_PSEUDONYM_KEY", "never-show-me-0123456789")
    assert "never-show-me" not in repr(load_settings())
