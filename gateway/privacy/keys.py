"""Pseudonymisation keys: versioned master keys and the purpose keys derived from them.

Master keys come from the settings (BRIEF §5, never from the repository):

- ``LGNET_PSEUDONYM_KEY``: one key, version 1 (its UTF-8 bytes; at least 16 of them);
- ``LGNET_PSEUDONYM_KEY_FILE``: a key file, which wins over the single key. Format (JSON)::

      {"current": 2, "inner": 1, "keys": {"1": "<base64 or hex>", "2": "<base64 or hex>"}}

  ``keys`` maps a version (a positive integer) to at least 32 random bytes, written as hex or
  base64 (standard or url-safe). ``current`` is the version new pseudonyms and rotations use
  (default: the highest). ``inner`` names the version the never-rotated keys derive from
  (default: the lowest); it must never change, and its key must stay in the file.
  A plain-text file with one key a line is also read: versions 1, 2, ... in order, the last
  one current. ``lgnet keys generate`` writes a JSON key file with mode 0600.

Purpose keys are derived with HKDF-SHA256 (RFC 5869), one per purpose, so that a token of
one purpose says nothing about another:

- ``inner`` — keys the inner tokens of identifiers kept by the gateway. NEVER rotated: the
  stored tokens are how a returning person is recognised, and the identities are not kept.
- ``record`` — keys the hashes of source record ids (``source_records.record_key``).
- ``outer:<domain>:v<version>`` — one per pseudonym domain (``national``, ``city:<slug>``)
  and key version: these rotate.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.settings import ENV_PREFIX, Settings, SettingsError

NATIONAL = "national"
_DOMAIN_RE = re.compile(r"national|city:[a-z][a-z0-9-]{1,40}")
_HKDF_SALT = b"lgnet-gateway/pseudonyms/v1"
MIN_FILE_KEY_BYTES = 32
MIN_SETTING_KEY_BYTES = 16


class KeyringError(SettingsError):
    """The keys are missing, malformed or inconsistent: fix the key file or the setting."""


def city_domain(city: str) -> str:
    """The local pseudonym domain of a city."""
    return check_domain(f"city:{city}")


def check_domain(domain: str) -> str:
    """Return ``domain`` if it is ``national`` or ``city:<slug>``; else raise ValueError."""
    if not _DOMAIN_RE.fullmatch(domain):
        raise ValueError("a pseudonym domain is 'national' or 'city:<slug>'")
    return domain


def _derive(master: bytes, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=info.encode()).derive(
        master
    )


def decode_key(text: str) -> bytes:
    """Key bytes from hex or base64 text; raise ValueError (without the text) if neither."""
    text = text.strip()
    if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", text):
        return bytes.fromhex(text)
    body = text.replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a key must be hex or base64") from None


class Keyring:
    """Master keys by version, and the purpose keys derived from them (cached)."""

    def __init__(self, keys: Mapping[int, bytes], *, current: int, inner: int) -> None:
        if not keys:
            raise KeyringError("the keyring holds no key")
        if current not in keys:
            raise KeyringError(f"the current key version {current} is not in the keyring")
        if inner not in keys:
            raise KeyringError(f"the inner key version {inner} is not in the keyring")
        self._keys = dict(keys)
        self.current = current
        self.inner_version = inner
        self._derived: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return f"Keyring(versions={self.versions}, current={self.current})"

    @property
    def versions(self) -> list[int]:
        return sorted(self._keys)

    def _purpose(self, info: str, version: int) -> bytes:
        cached = self._derived.get(info)
        if cached is None:
            try:
                master = self._keys[version]
            except KeyError:
                raise KeyringError(
                    f"key version {version} is not in the keyring: add it to the key file"
                ) from None
            cached = self._derived[info] = _derive(master, info)
        return cached

    def inner_key(self) -> bytes:
        """Key of the inner identifier tokens (never rotated)."""
        return self._purpose("inner", self.inner_version)

    def record_key(self) -> bytes:
        """Key of the source record id hashes (never rotated: they are looked up)."""
        return self._purpose("record", self.inner_version)

    def outer_key(self, domain: str, version: int) -> bytes:
        """Key of the outer pseudonyms of ``domain`` at key ``version``."""
        check_domain(domain)
        return self._purpose(f"outer:{domain}:v{version}", version)

    # --- loading ---------------------------------------------------------------------------

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        """The key file if ``LGNET_PSEUDONYM_KEY_FILE`` is set, else the single key."""
        if settings.pseudonym_key_file is not None:
            return cls.from_file(settings.pseudonym_key_file)
        secret = settings.pseudonym_key.get_secret_value().encode()
        if len(secret) < MIN_SETTING_KEY_BYTES:
            raise KeyringError(
                f"{ENV_PREFIX}PSEUDONYM_KEY must be at least {MIN_SETTING_KEY_BYTES} bytes"
            )
        return cls({1: secret}, current=1, inner=1)

    @classmethod
    def from_file(cls, path: Path) -> Keyring:
        """Read a key file (JSON, or one key a line). Errors name the file, never a key."""
        where = f"{ENV_PREFIX}PSEUDONYM_KEY_FILE ({path})"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise KeyringError(f"{where}: cannot read: {exc.strerror}") from None
        try:
            return cls.from_mapping(_parse(text))
        except KeyringError as exc:
            raise KeyringError(f"{where}: {exc}") from None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Keyring:
        """A keyring from the key file's JSON document."""
        raw = data.get("keys")
        if not isinstance(raw, Mapping) or not raw:
            raise KeyringError("'keys' must map versions to keys")
        keys: dict[int, bytes] = {}
        for name, text in raw.items():
            if not str(name).isdigit() or int(name) < 1:
                raise KeyringError("key versions must be positive integers")
            if not isinstance(text, str):
                raise KeyringError(f"key {name} must be a hex or base64 string")
            try:
                key = decode_key(text)
            except ValueError as exc:
                raise KeyringError(f"key {name}: {exc}") from None
            if len(key) < MIN_FILE_KEY_BYTES:
                raise KeyringError(f"key {name} must hold at least {MIN_FILE_KEY_BYTES} bytes")
            keys[int(name)] = key
        current, inner = data.get("current", max(keys)), data.get("inner", min(keys))
        if not isinstance(current, int) or not isinstance(inner, int):
            raise KeyringError("'current' and 'inner' must be integers")
        return cls(keys, current=current, inner=inner)


def _parse(text: str) -> dict[str, Any]:
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise KeyringError(f"not valid JSON (line {exc.lineno})") from None
        if not isinstance(data, dict):
            raise KeyringError("must be a JSON object")
        return data
    lines = [line.strip() for line in stripped.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    return {"keys": {str(i): line for i, line in enumerate(lines, start=1)}}


# --- key files -----------------------------------------------------------------------------


def new_key() -> str:
    """A fresh 32-byte key, base64."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def key_file_document(path: Path) -> dict[str, Any]:
    """The JSON document of an existing key file (validated)."""
    data = _parse(path.read_text(encoding="utf-8"))
    Keyring.from_mapping(data)
    return data


def write_key_file(path: Path, document: Mapping[str, Any], *, overwrite: bool = False) -> None:
    """Write a key file with mode 0600, atomically (temporary file, then rename)."""
    Keyring.from_mapping(document)
    path = Path(path)
    if path.exists() and not overwrite:
        raise KeyringError(f"{path} exists: refusing to overwrite a key file")
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def generate_key_file(path: Path) -> None:
    """Create a new key file holding version 1 (current and inner)."""
    write_key_file(path, {"current": 1, "inner": 1, "keys": {"1": new_key()}})


def add_key_version(path: Path, *, make_current: bool = True) -> int:
    """Add a fresh key version to a JSON key file; return the new version number.

    The inner version and every old key are kept: old versions are needed until every
    domain has been rotated, the inner one for ever.
    """
    document = key_file_document(path)
    keys = dict(document["keys"])
    version = max(int(v) for v in keys) + 1
    keys[str(version)] = new_key()
    updated = {
        "current": version if make_current else document.get("current", version - 1),
        "inner": document.get("inner", min(int(v) for v in keys)),
        "keys": keys,
    }
    write_key_file(path, updated, overwrite=True)
    return version
