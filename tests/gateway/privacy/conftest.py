"""Keys for the privacy tests: two random master keys per test; version 1 or 2 current."""

from __future__ import annotations

import secrets

import pytest

from gateway.privacy.keys import Keyring
from gateway.privacy.pseudonyms import Pseudonymiser


def make_keyring(versions: int = 2, current: int = 1) -> Keyring:
    keys = {v: secrets.token_bytes(32) for v in range(1, versions + 1)}
    return Keyring(keys, current=current, inner=1)


@pytest.fixture
def master_keys() -> dict[int, bytes]:
    return {1: secrets.token_bytes(32), 2: secrets.token_bytes(32)}


@pytest.fixture
def keyring(master_keys: dict[int, bytes]) -> Keyring:
    """Versions 1 and 2, version 1 current (before the operator's rotation)."""
    return Keyring(master_keys, current=1, inner=1)


@pytest.fixture
def keyring_v2(master_keys: dict[int, bytes]) -> Keyring:
    """The same keys with version 2 current (after ``lgnet keys add-version``)."""
    return Keyring(master_keys, current=2, inner=1)


@pytest.fixture
def pseudonymiser(keyring: Keyring) -> Pseudonymiser:
    return Pseudonymiser(keyring)
