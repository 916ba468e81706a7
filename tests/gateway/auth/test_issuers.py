"""``LGNET_TRUSTED_ISSUERS``: every way an entry can be wrong, and the message it gets."""

from __future__ import annotations

import json

import pytest

from gateway.auth.issuers import load_trusted_issuers
from gateway.settings import SettingsError, load_settings

BASE = {"issuer": "https://idp.test", "jwks_uri": "https://idp.test/jwks", "audience": "lgnet"}

VALID_CONFIGS = [
    BASE,
    {**BASE, "client_cities": {"roma-welfare": "roma"}, "scopes": ["records:write"]},
    {
        "issuer": "interop.pagopa.it",
        "jwks_file": "/etc/pdnd.json",
        "audience": "x",
        "profile": "pdnd",
        "allowed_purpose_ids": ["p-1"],
    },
    {**BASE, "jwks_uri": "http://127.0.0.1:9999/jwks"},
]

INVALID_CONFIGS = [
    ({k: v for k, v in BASE.items() if k != "audience"}, "[0]: audience: Field required"),
    ({**BASE, "jwks_file": "/x.json"}, "exactly one of jwks_file and jwks_uri"),
    ({"issuer": "i", "audience": "a"}, "exactly one of jwks_file and jwks_uri"),
    ({**BASE, "jwks_uri": "http://idp.test/jwks"}, "https"),
    ({**BASE, "profile": "pdnd"}, "allowed_purpose_ids"),
    ({**BASE, "profile": "oidc"}, "profile"),
    ({**BASE, "client_cities": {"c": "atlantis"}}, "city that is not in the network"),
    ({**BASE, "scopes": ["root"]}, "scopes must be among"),
    ({**BASE, "extra": 1}, "extra: Extra inputs are not permitted"),
]


@pytest.mark.parametrize("entry", VALID_CONFIGS)
def test_valid_configs(entry, monkeypatch) -> None:
    monkeypatch.setenv("LGNET_TRUSTED_ISSUERS", json.dumps([entry]))
    (issuer,) = load_trusted_issuers(load_settings())
    assert issuer.issuer == entry["issuer"]


@pytest.mark.parametrize(("entry", "message"), INVALID_CONFIGS)
def test_invalid_configs_name_the_variable_and_the_field(entry, message, monkeypatch) -> None:
    monkeypatch.setenv("LGNET_TRUSTED_ISSUERS", json.dumps([entry]))
    with pytest.raises(SettingsError) as info:
        load_trusted_issuers(load_settings())
    assert str(info.value).startswith("LGNET_TRUSTED_ISSUERS[0]")
    assert message in str(info.value)


def test_an_issuer_appears_once_and_is_not_the_gateway(monkeypatch) -> None:
    monkeypatch.setenv("LGNET_TRUSTED_ISSUERS", json.dumps([BASE, BASE]))
    with pytest.raises(SettingsError, match="once"):
        load_trusted_issuers(load_settings())
    own = {**BASE, "issuer": "http://127.0.0.1:8000"}
    monkeypatch.setenv("LGNET_TRUSTED_ISSUERS", json.dumps([own]))
    with pytest.raises(SettingsError, match="differ from ours"):
        load_trusted_issuers(load_settings())
