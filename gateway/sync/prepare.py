"""The in-memory half of a batch: read problems, mapping, validation, keys and features.

Nothing here writes to the database, so it runs before the batch's transaction takes its
locks. Each record ends up either *valid* — with its record key (a keyed hash of the source's
record id), the keyed hash of its content, its subject's keyed linkage features, its
generalised case contribution, services and referrals — or *rejected*, with the stage, field
path, rule and reason, and the raw payload to quarantine. Linkage features, the costliest part,
are computed last (:meth:`Batch.encode`) and skipped for records the gateway already holds with
the same content: a source exported in full every day is mostly duplicates. Until then the
validated record is kept with the batch, in memory only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from adapters.base import RawRecord
from gateway.privacy.features import FeatureEncoder
from gateway.privacy.pseudonyms import HmacSha256, Pseudonymiser
from gateway.schema.intake import IntakeRecord
from gateway.settings import Settings
from gateway.sync.cases import contribution_of
from gateway.sync.identity import subject_of
from gateway.sync.quarantine import Payload, QuarantineCipher, Rejection
from gateway.sync.upserts import DELETED_HASH, Valid
from mappings.compiler import Mapper
from mappings.errors import RecordError

# IntakeRecord.model_validate without its Python wrapper (same validator, same errors).
_validate: Callable[[object], IntakeRecord] = IntakeRecord.__pydantic_validator__.validate_python
_dumps = orjson.dumps
_SORT = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


@dataclass(frozen=True, slots=True)
class Keys:
    """Everything keyed the pipeline needs, derived once from the settings."""

    pseudonymiser: Pseudonymiser
    cipher: QuarantineCipher
    content_key: bytes
    encoder: FeatureEncoder
    content_hash: HmacSha256  # HMAC-SHA256 under ``content_key``, the key set up once


_KEYS: dict[tuple[str, str, float, str], Keys] = {}


def keys_of(settings: Settings) -> Keys:
    """The :class:`Keys` of ``settings`` (cached; a changed key file is noticed by its
    modification time, so a key version added by ``lgnet keys`` is used without a restart)."""
    path: Path | None = settings.pseudonym_key_file
    mtime = path.stat().st_mtime if path is not None and path.exists() else 0.0
    cache_key = (
        settings.pseudonym_key.get_secret_value(),
        str(path or ""),
        mtime,
        settings.quarantine_key.get_secret_value(),
    )
    found = _KEYS.get(cache_key)
    if found is None:
        pseudonymiser = Pseudonymiser.from_settings(settings)
        record_key = pseudonymiser.keyring.record_key()
        content_key = hashlib.sha256(b"lgnet-content\x1f" + record_key).digest()
        found = Keys(
            pseudonymiser=pseudonymiser,
            cipher=QuarantineCipher.from_settings(settings),
            content_key=content_key,
            encoder=FeatureEncoder(pseudonymiser),
            content_hash=HmacSha256(content_key),
        )
        if len(_KEYS) >= 8:
            _KEYS.clear()
        _KEYS[cache_key] = found
    return found


@dataclass(slots=True)
class Rejected:
    index: int
    rejection: Rejection
    payload: Payload


class Batch:
    """One batch being prepared: :meth:`add` each record, then write :attr:`valid` and
    quarantine :attr:`rejected`."""

    def __init__(
        self, *, city: str, source: str, system: str | None, mapper: Mapper | None, keys: Keys
    ) -> None:
        self.city = city
        self.source = source
        self.system = system
        self.mapper = mapper
        self.keys = keys
        self.valid: list[Valid] = []
        self._due: dict[int, IntakeRecord] = {}  # records whose features are not computed yet
        self.rejected: list[Rejected] = []
        self.cursor: str | None = None
        self.received = datetime.now(UTC)
        self._kind = "raw" if mapper is not None else "intake"

    def _reject(
        self, index: int, stage: str, field: str | None, rule: str, reason: str, payload: Payload
    ) -> None:
        self.rejected.append(Rejected(index, Rejection(stage, field, rule, reason), payload))

    def add(self, index: int, item: RawRecord | Mapping[str, Any]) -> None:
        """Prepare the record at ``index`` of the input."""
        mapper = self.mapper
        record_id: str | None = None
        position: str | None = None
        deleted = False
        if isinstance(item, RawRecord):
            self.cursor = item.cursor
            data, record_id, position, deleted = (
                item.data,
                item.record_id,
                item.position,
                item.deleted,
            )
            if item.problem is not None:
                problem = item.problem
                payload = Payload(self._kind, data, record_id, position, deleted)
                self._reject(index, "read", problem.field, "unreadable", problem.reason, payload)
                return
            if deleted and (record_id or mapper is None):
                self._tombstone(
                    index, record_id, Payload(self._kind, data, record_id, position, True)
                )
                return
        else:
            data = item
        if mapper is not None:
            try:
                mapped = mapper(data, record_id, None, deleted)
            except RecordError as exc:
                payload = Payload(self._kind, data, record_id, position, deleted)
                self._reject(index, "mapping", exc.field, exc.rule, str(exc), payload)
                return
            except Exception as exc:  # a mapping bug must not lose the record: quarantine it
                payload = Payload(self._kind, data, record_id, position, deleted)
                reason = f"mapping failed: {type(exc).__name__}"
                self._reject(index, "mapping", None, "error", reason, payload)
                return
            self._complete_source(mapped, record_id)
        else:
            mapped = data  # type: ignore[assignment]
        try:
            record = _validate(mapped)
        except ValidationError as exc:
            error = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in error["loc"]) or None
            payload = Payload(self._kind, data, record_id, position, deleted)
            self._reject(index, "validation", where, error["type"], error["msg"], payload)
            return
        ref = record.source
        city = self.city
        if ref.city != city:
            payload = Payload(self._kind, data, record_id, position, deleted)
            reason = "the record belongs to another city than the one it was sent to"
            self._reject(index, "validation", "source.city", "city", reason, payload)
            return
        keys = self.keys
        source = ref.source
        record_key = keys.pseudonymiser.record_key(city, source, ref.record_id)
        if record.deleted:
            self.valid.append(Valid(index, source, record_key, DELETED_HASH, True, ref.updated_at))
            return
        services = record.services
        referrals = record.referrals
        self._due[index] = record
        self.valid.append(
            Valid(
                index,
                source,
                record_key,
                keys.content_hash(_dumps(mapped, default=str, option=_SORT)).hex(),
                False,
                ref.updated_at,
                None,
                contribution_of(record, self.received),
                [(s.type, s.start, s.end, s.status) for s in services] if services else [],
                [(r.target, r.date, r.outcome) for r in referrals] if referrals else [],
            )
        )

    def encode(self, stored: Mapping[tuple[str, str], str]) -> None:
        """Compute the linkage features of the batch's records, but for those the gateway
        holds already with the same content (``stored``: content hash by source and record
        key, read before the batch's transaction): most likely duplicates, which link to
        nothing. The transaction decides; :meth:`finish` encodes any that were not."""
        for item in self.valid:
            if (
                item.index in self._due
                and stored.get((item.source, item.record_key)) != item.content_hash
            ):
                self.finish(item)

    def finish(self, item: Valid) -> None:
        """Compute the linkage features of ``item`` if not done yet."""
        record = self._due.pop(item.index, None)
        if record is not None:
            item.subject = subject_of(self.keys.encoder, record, city=self.city, source=item.source)

    def _tombstone(self, index: int, record_id: str | None, payload: Payload) -> None:
        if not record_id:
            reason = "a deletion must name the record it deletes"
            self._reject(index, "read", "record_id", "required", reason, payload)
            return
        record_key = self.keys.pseudonymiser.record_key(self.city, self.source, record_id)
        self.valid.append(Valid(index, self.source, record_key, DELETED_HASH, True))

    def _complete_source(self, mapped: dict[str, Any], record_id: str | None) -> None:
        """Fill what the source definition knows and a mapping need not repeat."""
        ref = mapped.get("source")
        if not isinstance(ref, dict):
            ref = mapped["source"] = {}
        ref.setdefault("city", self.city)
        ref.setdefault("source", self.source)
        if self.system is not None:
            ref.setdefault("system", self.system)
        if record_id is not None and ref.get("record_id") is None:
            ref["record_id"] = record_id
