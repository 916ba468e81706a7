"""gateway.privacy.keys: keyrings from settings and key files, HKDF purpose keys, key files."""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.privacy.keys import (
    Keyring,
    KeyringError,
    add_key_version,
    check_domain,
    city_domain,
    decode_key,
    generate_key_file,
    key_file_document,
)
from gateway.settings import load_settings


def test_a_single_key_from_settings_is_version_1(monkeypatch) -> None:
    monkeypatch.setenv("LGNET_PSEUDONYM_KEY", "a-long-enough-test-key-0123456789")
    keyring = Keyring.from_settings(load_settings())
    assert keyring.versions == [1] and keyring.current == 1 and keyring.inner_version == 1
    expected = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"lgnet-gateway/pseudonyms/v1", info=b"inner"
    ).derive(b"a-long-enough-test-key-0123456789")
    assert keyring.inner_key() == expected


def test_a_short_key_is_refused_naming_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("LGNET_PSEUDONYM_KEY", "short")
    with pytest.raises(KeyringError, match="LGNET_PSEUDONYM_KEY") as caught:
        Keyring.from_settings(load_settings())
    assert "short" not in str(caught.value).replace("LGNET", "")


def test_the_default_key_is_refused_outside_development(monkeypatch, tmp_path) -> None:
    from gateway.settings import SettingsError

    monkeypatch.setenv("LGNET_ENV", "production")
    monkeypatch.setenv("LGNET_QUARANTINE_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    with pytest.raises(SettingsError, match="LGNET_PSEUDONYM_KEY"):
        load_settings()
    generate_key_file(tmp_path / "keys.json")
    monkeypatch.setenv("LGNET_PSEUDONYM_KEY_FILE", str(tmp_path / "keys.json"))
    assert Keyring.from_settings(load_settings()).versions == [1]


def test_purpose_keys_are_separate_and_only_outer_keys_rotate() -> None:
    keyring = Keyring({1: b"a" * 32, 2: b"b" * 32}, current=2, inner=1)
    keys = {
        keyring.inner_key(),
        keyring.record_key(),
        keyring.outer_key("national", 1),
        keyring.outer_key("national", 2),
        keyring.outer_key("city:roma", 1),
        keyring.outer_key("city:roma", 2),
        keyring.outer_key("city:milano", 2),
    }
    assert len(keys) == 7
    # Adding versions never changes the inner and record keys.
    wider = Keyring({1: b"a" * 32, 2: b"b" * 32, 3: b"c" * 32}, current=3, inner=1)
    assert wider.inner_key() == keyring.inner_key()
    assert wider.record_key() == keyring.record_key()
    assert wider.outer_key("national", 2) == keyring.outer_key("national", 2)
    with pytest.raises(KeyringError, match="version 4"):
        wider.outer_key("national", 4)


def test_domains_are_national_or_a_city() -> None:
    assert city_domain("roma") == "city:roma" and check_domain("national") == "national"
    for bad in ("", "city:", "city:Roma", "regional", "city:roma;drop"):
        with pytest.raises(ValueError):
            check_domain(bad)


def _write(path, document) -> None:
    path.write_text(json.dumps(document))


def test_key_files_read_hex_and_base64_and_default_current_and_inner(tmp_path) -> None:
    one, two = secrets.token_bytes(32), secrets.token_bytes(48)
    path = tmp_path / "keys.json"
    _write(path, {"keys": {"1": one.hex(), "2": base64.urlsafe_b64encode(two).decode()}})
    keyring = Keyring.from_file(path)
    assert keyring.versions == [1, 2] and keyring.current == 2 and keyring.inner_version == 1
    assert keyring.inner_key() == Keyring({1: one}, current=1, inner=1).inner_key()
    assert decode_key(base64.b64encode(two).decode()) == two


def test_a_plain_key_file_holds_one_key_a_line(tmp_path) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(f"# rotated 2025\n{secrets.token_hex(32)}\n\n{secrets.token_hex(32)}\n")
    keyring = Keyring.from_file(path)
    assert keyring.versions == [1, 2] and keyring.current == 2


BAD_KEY_FILES = [
    ("not json {", "hex or base64"),
    ('{"keys": {}}', "'keys' must map"),
    ('{"keys": {"one": "%s"}}' % ("ab" * 32), "positive integers"),
    ('{"keys": {"1": "%s"}}' % ("ab" * 8), "at least 32 bytes"),
    ('{"keys": {"1": "not a key!!"}}', "hex or base64"),
    ('{"current": 3, "keys": {"1": "%s"}}' % ("ab" * 32), "current key version 3"),
    ('{"inner": 2, "keys": {"1": "%s"}}' % ("ab" * 32), "inner key version 2"),
    ('{"keys": [1, 2]', "not valid JSON"),
]


@pytest.mark.parametrize(("content", "message"), BAD_KEY_FILES)
def test_bad_key_files_name_the_file_and_the_problem_never_a_key(
    tmp_path, content, message
) -> None:
    path = tmp_path / "keys.json"
    path.write_text(content)
    with pytest.raises(KeyringError) as caught:
        Keyring.from_file(path)
    text = str(caught.value)
    assert "LGNET_PSEUDONYM_KEY_FILE" in text and str(path) in text and message in text
    assert "ab" * 8 not in text


def test_a_missing_key_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(KeyringError, match="cannot read"):
        Keyring.from_file(tmp_path / "absent.json")


def test_generate_writes_mode_0600_and_refuses_to_overwrite(tmp_path) -> None:
    path = tmp_path / "keys.json"
    generate_key_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    document = json.loads(path.read_text())
    assert document["current"] == 1 and document["inner"] == 1
    assert len(base64.b64decode(document["keys"]["1"])) == 32
    with pytest.raises(KeyringError, match="refusing to overwrite"):
        generate_key_file(path)


def test_add_version_keeps_old_keys_and_the_inner_key(tmp_path) -> None:
    path = tmp_path / "keys.json"
    generate_key_file(path)
    before = Keyring.from_file(path)
    assert add_key_version(path) == 2
    assert add_key_version(path, make_current=False) == 3
    after = Keyring.from_file(path)
    assert after.versions == [1, 2, 3] and after.current == 2
    assert after.inner_key() == before.inner_key()
    assert after.outer_key("national", 1) == before.outer_key("national", 1)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert key_file_document(path)["keys"]["1"] == json.loads(path.read_text())["keys"]["1"]
    assert [p.name for p in tmp_path.iterdir()] == ["keys.json"]  # no temporary left


def test_repr_shows_versions_only() -> None:
    key = secrets.token_bytes(32)
    keyring = Keyring({1: key}, current=1, inner=1)
    assert repr(keyring) == "Keyring(versions=[1], current=1)"
