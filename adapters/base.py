"""The adapter contract: a few class attributes and one ``fetch(cursor)`` method.

An adapter reads one source system and yields :class:`RawRecord` objects. Each record carries
the cursor that resumes *after* it, so the caller can commit the cursor together with the data
it covers and restart from there after a crash. Cursors are opaque strings owned by the
adapter that made them.

A new adapter::

    class MyOptions(AdapterOptions):
        url: str
        token: SecretStr

    class MyAdapter(Adapter[MyOptions]):
        kind = "my-system"
        Options = MyOptions

        def fetch(self, cursor: str | None) -> Iterator[RawRecord]:
            ...
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from adapters.errors import RecordProblem


class AdapterOptions(BaseModel):
    """Base of every adapter's options. Secrets are ``SecretStr`` so a repr never shows them."""

    model_config = ConfigDict(extra="forbid", frozen=True)


OptionsT = TypeVar("OptionsT", bound=AdapterOptions)


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as the source system gave it.

    ``data`` is a mapping the mapping language addresses: CSV rows are flat
    ``{column: text}``; JSON, SOAP (XML elements become keys, repeated elements lists,
    attributes ``@name``) and flattened FHIR records are nested mappings.
    ``record_id`` is the source's own identifier of the record when it has one.
    ``cursor`` resumes after this record. ``deleted`` marks a tombstone from the source.
    ``problem`` is set instead of ``data`` when the record could not be read at all
    (a ragged CSV row, an undecodable line): the caller quarantines it and goes on.
    """

    data: Mapping[str, Any]
    cursor: str
    record_id: str | None = None
    position: str | None = None
    deleted: bool = False
    problem: RecordProblem | None = None
    raw: bytes | None = field(default=None, repr=False)


class Adapter(Generic[OptionsT]):
    """Base class of every adapter: set ``kind`` and ``Options``, write ``fetch``."""

    kind: ClassVar[str]
    Options: ClassVar[type[AdapterOptions]]

    def __init__(self, options: OptionsT, *, source: str = "") -> None:
        self.options = options
        self.source = source or self.kind

    def fetch(self, cursor: str | None) -> Iterator[RawRecord]:
        """Yield records after ``cursor`` (``None``: from the beginning)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; called once the caller is done with the adapter."""

    def __enter__(self) -> Adapter[OptionsT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        # Options hold SecretStr fields, whose repr is masked.
        return f"{type(self).__name__}(source={self.source!r}, options={self.options!r})"
