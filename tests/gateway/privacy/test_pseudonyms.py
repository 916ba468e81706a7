"""gateway.privacy.pseudonyms: inner tokens, outer pseudonyms, record keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pytest

from gateway.privacy.identifiers import Kind, NormalisedIdentifier, Strength
from gateway.privacy.keys import Keyring
from gateway.privacy.pseudonyms import (
    HmacSha256,
    Pseudonymiser,
    is_pseudonym,
    new_person_token,
    new_person_tokens,
    pseudonym_prefix,
    version_of,
)

from .conftest import make_keyring


@pytest.mark.parametrize("key_length", [0, 1, 32, 63, 64, 65, 200])
def test_hmac_fast_path_equals_the_standard_library(key_length: int) -> None:
    key = secrets.token_bytes(key_length)
    mac = HmacSha256(key)
    for message in (b"", b"cf:RSSMRA80C15H501M", secrets.token_bytes(1000)):
        assert mac(message) == hmac.new(key, message, hashlib.sha256).digest()
        assert mac(message) == mac(message)  # the precomputed states are not consumed
    assert key.hex() not in repr(mac) or key_length == 0


def test_inner_tokens_are_hmac_of_kind_and_value(keyring: Keyring) -> None:
    p = Pseudonymiser(keyring)
    token = p.inner_token("cf", "RSSMRA80C15H501M")
    assert token == hmac.digest(keyring.inner_key(), b"cf:RSSMRA80C15H501M", "sha256")
    assert len(token) == 32
    # The kind separates identifiers with the same text.
    assert p.inner_token("stp", "X") != p.inner_token("eni", "X")
    items = [
        NormalisedIdentifier(Kind.FISCAL_CODE, "RSSMRA80C15H501M", Strength.STRONG),
        NormalisedIdentifier(Kind.LOCAL, "roma/w/1", Strength.LOCAL),
    ]
    assert p.inner_tokens(items) == [token, p.inner_token("local", "roma/w/1")]


def test_inner_tokens_survive_new_key_versions_but_not_another_key() -> None:
    base = Keyring({1: b"k" * 32}, current=1, inner=1)
    wider = Keyring({1: b"k" * 32, 2: b"n" * 32}, current=2, inner=1)
    other = Keyring({1: b"x" * 32}, current=1, inner=1)
    tokens = {Pseudonymiser(k).inner_token("cf", "V") for k in (base, wider)}
    assert len(tokens) == 1
    assert Pseudonymiser(other).inner_token("cf", "V") not in tokens


def test_pseudonyms_are_deterministic_fixed_length_and_show_their_version(
    pseudonymiser: Pseudonymiser,
) -> None:
    token = new_person_token()
    national = pseudonymiser.pseudonym("national", token, 1)
    assert national == pseudonymiser.pseudonym("national", token, 1)
    assert national == Pseudonymiser(pseudonymiser.keyring).pseudonym("national", token, 1)
    assert national.startswith("n1_") and len(national) == 31 and is_pseudonym(national)
    assert version_of(national) == 1
    city = pseudonymiser.pseudonym("city:roma", token, 2)
    assert city.startswith("c2_") and version_of(city) == 2 and len(city) == 31
    assert pseudonymiser.pseudonyms("national", [token, token], 1) == [national, national]


def test_domains_and_versions_separate_pseudonyms(pseudonymiser: Pseudonymiser) -> None:
    token = new_person_token()
    values = [
        pseudonymiser.pseudonym(domain, token, version)
        for domain in ("national", "city:roma", "city:milano")
        for version in (1, 2)
    ]
    bodies = {value.split("_", 1)[1] for value in values}
    assert len(bodies) == 6  # not only the prefixes differ
    other_person = pseudonymiser.pseudonym("national", new_person_token(), 1)
    assert other_person != values[0]


def test_pseudonyms_need_the_key_version(pseudonymiser: Pseudonymiser) -> None:
    from gateway.privacy.keys import KeyringError

    with pytest.raises(KeyringError, match="version 3"):
        pseudonymiser.pseudonym("national", new_person_token(), 3)
    with pytest.raises(ValueError, match="domain"):
        pseudonymiser.pseudonym("regional", new_person_token(), 1)
    with pytest.raises(ValueError):
        pseudonym_prefix("national", 0)
    with pytest.raises(ValueError):
        version_of("RSSMRA80C15H501M")


def test_many_persons_get_distinct_pseudonyms(pseudonymiser: Pseudonymiser) -> None:
    tokens = [new_person_token() for _ in range(20_000)]
    values = pseudonymiser.pseudonyms("national", tokens, 1)
    assert len(set(values)) == len(tokens)
    assert values[:3] == [pseudonymiser.pseudonym("national", t, 1) for t in tokens[:3]]


def test_record_keys_are_keyed_hex_and_namespaced() -> None:
    keyring = make_keyring()
    p = Pseudonymiser(keyring)
    key = p.record_key("roma", "welfare", "R-1")
    assert len(key) == 64 and int(key, 16) >= 0
    assert key == hmac.digest(keyring.record_key(), b"roma\x1fwelfare\x1fR-1", "sha256").hex()
    assert key != p.record_key("milano", "welfare", "R-1")
    assert key != p.record_key("roma", "health", "R-1")
    assert key != Pseudonymiser(make_keyring()).record_key("roma", "welfare", "R-1")


def test_reprs_hold_no_key(keyring: Keyring) -> None:
    p = Pseudonymiser(keyring)
    text = repr(p)
    assert keyring.inner_key().hex() not in text and "versions=[1, 2]" in text


def test_person_tokens_are_random_32_bytes() -> None:
    tokens = [*new_person_tokens(1000), new_person_token()]
    assert all(len(t) == 32 for t in tokens) and len(set(tokens)) == 1001
    assert new_person_tokens(0) == []
