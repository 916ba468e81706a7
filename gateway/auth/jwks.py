"""JSON Web Key Sets (RFC 7517): the keys the gateway signs tokens with, and the keys it
trusts other issuers' signatures with.

Own signing keys rotate with overlap: the newest key that is not retired signs, and a retired
key stays published until every token it signed has expired. They live in the database
(private part PKCS#8-encrypted with ``LGNET_SIGNING_KEY_SECRET``, shared by every replica) or
in an operator-managed private JWKS file (``LGNET_SIGNING_KEY_FILE``, first key signs).

Trusted issuers' keys come from a JWKS file (reloaded when it changes) or a ``jwks_uri``
(cached; fetched again when a token names an unknown ``kid``, at most once per cooldown).
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet, RSAKey
from joserfc.jws import JWSRegistry
from sqlalchemy import Engine, insert, select, update

from gateway.settings import DEV_SIGNING_KEY_SECRET, ENV_PREFIX, Settings, SettingsError
from gateway.storage.auth import SigningKeyRow

logger = logging.getLogger(__name__)

# RFC 7518 / RFC 8037 / RFC 9864 names. Never "none", never an HMAC algorithm: a verifier
# that accepted HS256 could be fed a token "signed" with the public key as the secret.
ALLOWED_ALGORITHMS: frozenset[str] = frozenset({"RS256", "PS256", "ES256", "EdDSA", "Ed25519"})
SIGNING_ALGORITHM = "RS256"
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})
MAX_JWKS_BYTES = 256 * 1024

# "EdDSA" (RFC 8037) is what most issuers still write; RFC 9864 deprecates it for "Ed25519",
# and joserfc warns on every use. The algorithm is the same, so verify it without the warning.
_EDDSA = copy.copy(JWSRegistry.algorithms["EdDSA"])
_EDDSA.security_warning = None


class _VerifierRegistry(JWSRegistry):
    algorithms = {**JWSRegistry.algorithms, "EdDSA": _EDDSA}  # noqa: RUF012 (as in the base)


def jws_registry(alg: str) -> JWSRegistry:
    """A registry that allows exactly ``alg`` (which must be on the allow-list)."""
    if alg not in ALLOWED_ALGORITHMS:
        raise KeySetError("algorithm not allowed")
    return _VerifierRegistry(algorithms=[alg])


class KeySetError(ValueError):
    """A key set is malformed or unsafe: fix the JWKS document (the message says what)."""


def load_public_key_set(document: Any, *, where: str = "jwks") -> KeySet:
    """Import a JWKS of public keys; refuse private members, symmetric keys and missing kids."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeySetError(f"{where}: expected an object with a 'keys' list")
    keys = document["keys"]
    if not keys:
        raise KeySetError(f"{where}: the key set is empty")
    for position, jwk in enumerate(keys):
        if not isinstance(jwk, dict):
            raise KeySetError(f"{where}: keys[{position}] is not an object")
        if jwk.get("kty") not in _KEY_TYPES:
            raise KeySetError(f"{where}: keys[{position}].kty must be RSA, EC or OKP")
        if _PRIVATE_MEMBERS & set(jwk):
            raise KeySetError(f"{where}: keys[{position}] holds private key material")
        if not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
            raise KeySetError(f"{where}: keys[{position}].kid is missing")
    try:
        return KeySet.import_key_set({"keys": keys})
    except (JoseError, ValueError, TypeError) as exc:
        raise KeySetError(f"{where}: a key could not be imported") from exc


def find_key(keys: KeySet, kid: str) -> Key | None:
    for key in keys:
        if key.kid == kid:
            return key
    return None


class KeySource(Protocol):
    """Where a verifier finds the public key for a ``kid``."""

    def key(self, kid: str) -> Key | None: ...


class StaticKeys:
    """A fixed key set (a client's registered JWKS)."""

    def __init__(self, keys: KeySet) -> None:
        self._keys = keys

    def key(self, kid: str) -> Key | None:
        return find_key(self._keys, kid)


class FileKeys:
    """A JWKS file, read again whenever its modification time changes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._keys: KeySet | None = None
        self._load()

    def _load(self) -> None:
        mtime = self._path.stat().st_mtime
        if mtime == self._mtime:
            return
        document = orjson.loads(self._path.read_bytes())
        self._keys = load_public_key_set(document, where=self._path.name)
        self._mtime = mtime

    def key(self, kid: str) -> Key | None:
        with self._lock:
            try:
                self._load()
            except (OSError, orjson.JSONDecodeError, KeySetError):
                logger.warning("trusted JWKS file unreadable; keeping the keys already loaded")
        return find_key(self._keys, kid) if self._keys is not None else None


def check_jwks_uri(uri: str) -> str:
    """Allow ``https`` anywhere and ``http`` only on loopback (simulators, tests)."""
    parts = urlsplit(uri)
    if parts.scheme == "https" and parts.hostname:
        return uri
    if parts.scheme == "http" and parts.hostname:
        host = parts.hostname
        try:
            loopback = ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if loopback:
            return uri
    raise KeySetError("jwks_uri must be https (http is allowed on loopback only)")


class RemoteKeys:
    """A ``jwks_uri``: cached for ``cache_seconds``, fetched again on an unknown ``kid``."""

    def __init__(
        self,
        uri: str,
        *,
        cache_seconds: float = 300.0,
        cooldown_seconds: float = 10.0,
        timeout_seconds: float = 5.0,
    ) -> None:
        self._uri = check_jwks_uri(uri)
        self._cache_seconds = cache_seconds
        self._cooldown = cooldown_seconds
        self._timeout = timeout_seconds
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self._client: httpx.Client | None = None

    def _fetch(self) -> None:
        self._fetched_at = time.monotonic()
        if self._client is None:
            # One client for the process: building a TLS context is costly.
            self._client = httpx.Client(timeout=self._timeout, follow_redirects=False)
        try:
            response = self._client.get(self._uri, headers={"Accept": "application/json"})
            response.raise_for_status()
            if len(response.content) > MAX_JWKS_BYTES:
                raise KeySetError("the JWKS document is too large")
            self._keys = load_public_key_set(orjson.loads(response.content), where="jwks_uri")
        except (httpx.HTTPError, orjson.JSONDecodeError, KeySetError) as exc:
            # The URI is configuration, not data; still, only its host is logged.
            logger.warning(
                "could not refresh a trusted issuer's JWKS",
                extra={"host": urlsplit(self._uri).hostname, "error": type(exc).__name__},
            )

    def key(self, kid: str) -> Key | None:
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if self._keys is None or age >= self._cache_seconds:
                self._fetch()
            found = find_key(self._keys, kid) if self._keys is not None else None
            if found is None and time.monotonic() - self._fetched_at >= self._cooldown:
                self._fetch()
                found = find_key(self._keys, kid) if self._keys is not None else None
            return found


@dataclass(frozen=True)
class SigningKey:
    """A private key the token endpoint signs with."""

    kid: str
    alg: str
    key: Key


class SigningKeyStore(Protocol):
    """Own keys: one signs; several are published; any published one verifies."""

    def active(self) -> SigningKey: ...

    def published(self) -> list[dict[str, Any]]: ...

    def key(self, kid: str) -> Key | None: ...


def generate_signing_key() -> tuple[Key, rsa.RSAPrivateKey]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = RSAKey.import_key(private, parameters={"alg": SIGNING_ALGORITHM, "use": "sig"})
    key.ensure_kid()  # RFC 7638 thumbprint
    return key, private


class DatabaseSigningKeys:
    """Signing keys in the ``signing_keys`` table, shared by every replica.

    Each replica reloads the table every ``refresh_seconds`` and when a token names a ``kid``
    it does not know, so a rotation made elsewhere is picked up quickly. A retired key stays
    published for ``overlap_seconds`` (token lifetime + leeway + refresh interval).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        secret: bytes,
        overlap_seconds: int,
        refresh_seconds: float = 30.0,
        unknown_kid_cooldown_seconds: float = 1.0,
    ) -> None:
        self._engine = engine
        self._cooldown = unknown_kid_cooldown_seconds
        self._secret = secret
        self._overlap = timedelta(seconds=overlap_seconds)
        self._refresh = refresh_seconds
        self._lock = threading.Lock()
        self._loaded_at = float("-inf")
        self._private: dict[str, Key] = {}
        self._active: SigningKey | None = None
        self._published: list[tuple[str, dict[str, Any], Key]] = []

    def ensure(self) -> None:
        """Create the first key if there is none that signs."""
        with self._engine.connect() as connection:
            unretired = connection.execute(
                select(SigningKeyRow.kid).where(SigningKeyRow.retired_at.is_(None)).limit(1)
            ).first()
        if unretired is None:
            self._insert_new()
        self._reload()

    def rotate(self) -> str:
        """Retire the signing key(s) and create a new one; return the new ``kid``."""
        now = datetime.now(UTC)
        key, private = generate_signing_key()
        with self._engine.begin() as connection:
            connection.execute(
                update(SigningKeyRow)
                .where(SigningKeyRow.retired_at.is_(None))
                .values(retired_at=now)
            )
            connection.execute(insert(SigningKeyRow), [self._row(key, private, now)])
        self._reload()
        assert key.kid is not None
        return key.kid

    def _insert_new(self) -> None:
        key, private = generate_signing_key()
        with self._engine.begin() as connection:
            connection.execute(insert(SigningKeyRow), [self._row(key, private, datetime.now(UTC))])

    def _row(self, key: Key, private: rsa.RSAPrivateKey, now: datetime) -> dict[str, Any]:
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._secret),
        )
        return {
            "kid": key.kid,
            "alg": SIGNING_ALGORITHM,
            "public_jwk": dict(key.as_dict(private=False)),
            "private_key": pem,
            "created_at": now,
            "retired_at": None,
        }

    def _reload(self) -> None:
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(
                    SigningKeyRow.kid,
                    SigningKeyRow.alg,
                    SigningKeyRow.public_jwk,
                    SigningKeyRow.private_key,
                    SigningKeyRow.retired_at,
                ).order_by(SigningKeyRow.created_at.desc())
            ).all()
        now = datetime.now(UTC)
        published: list[tuple[str, dict[str, Any], Key]] = []
        active: SigningKey | None = None
        for row in rows:
            retired = row.retired_at
            if retired is not None and retired.tzinfo is None:
                retired = retired.replace(tzinfo=UTC)  # SQLite returns naive datetimes
            if retired is not None and retired + self._overlap <= now:
                continue
            jwk = {**row.public_jwk, "kid": row.kid}
            published.append((row.kid, jwk, RSAKey.import_key(jwk)))
            if active is None and retired is None:
                active = SigningKey(row.kid, row.alg, self._private_key(row.kid, row.private_key))
        with self._lock:
            self._published = published
            self._active = active
            self._loaded_at = time.monotonic()

    def _private_key(self, kid: str, pem: bytes) -> Key:
        cached = self._private.get(kid)
        if cached is None:
            try:
                private = serialization.load_pem_private_key(pem, self._secret)
            except ValueError as exc:
                raise SettingsError(
                    f"the signing keys cannot be decrypted: check {ENV_PREFIX}SIGNING_KEY_SECRET"
                ) from exc
            cached = RSAKey.import_key(
                private,  # type: ignore[arg-type]
                parameters={"kid": kid, "alg": SIGNING_ALGORITHM, "use": "sig"},
            )
            self._private[kid] = cached
        return cached

    def _maybe_reload(self, force: bool = False) -> None:
        age = time.monotonic() - self._loaded_at
        if age >= self._refresh or (force and age >= self._cooldown):
            self._reload()

    def active(self) -> SigningKey:
        self._maybe_reload()
        if self._active is None:
            self.ensure()
        assert self._active is not None
        return self._active

    def published(self) -> list[dict[str, Any]]:
        self._maybe_reload()
        return [jwk for _, jwk, _ in self._published]

    def key(self, kid: str) -> Key | None:
        self._maybe_reload()
        if not any(known == kid for known, _, _ in self._published):
            self._maybe_reload(force=True)
        for known, _, public in self._published:
            if known == kid:
                return public
        return None


class FileSigningKeys:
    """Signing keys from an operator-managed private JWKS file; its first key signs.

    Rotation: put the new key first and keep the old one until its tokens expired.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        try:
            document = orjson.loads(path.read_bytes())
            keys = KeySet.import_key_set(document)
        except (OSError, orjson.JSONDecodeError, JoseError, KeyError, TypeError) as exc:
            raise SettingsError(
                f"{ENV_PREFIX}SIGNING_KEY_FILE: not a readable private JWKS file"
            ) from exc
        for key in keys:
            if not key.is_private or key.key_type not in {"RSA"}:
                raise SettingsError(
                    f"{ENV_PREFIX}SIGNING_KEY_FILE: every key must be a private RSA key"
                )
        self._keys = keys

    def active(self) -> SigningKey:
        first = next(iter(self._keys))
        assert first.kid is not None
        return SigningKey(first.kid, SIGNING_ALGORITHM, first)

    def published(self) -> list[dict[str, Any]]:
        return [
            {**key.as_dict(private=False), "kid": key.kid, "alg": SIGNING_ALGORITHM, "use": "sig"}
            for key in self._keys
        ]

    def key(self, kid: str) -> Key | None:
        return find_key(self._keys, kid)


def signing_key_store(engine: Engine, settings: Settings) -> SigningKeyStore:
    """The store the settings ask for; refuses the development secret outside development."""
    if settings.signing_key_file is not None:
        return FileSigningKeys(settings.signing_key_file)
    secret = settings.signing_key_secret.get_secret_value()
    if settings.env != "development" and secret == DEV_SIGNING_KEY_SECRET:
        raise SettingsError(
            "the development signing-key secret is refused outside development: "
            f"set {ENV_PREFIX}SIGNING_KEY_SECRET or {ENV_PREFIX}SIGNING_KEY_FILE"
        )
    overlap = settings.token_ttl_seconds + settings.token_leeway_seconds + 60
    return DatabaseSigningKeys(engine, secret=secret.encode(), overlap_seconds=overlap)
