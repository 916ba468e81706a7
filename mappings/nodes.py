"""The typed nodes of a source-definition file ``mappings/<city>/<source>.yaml``.

Every node is a pydantic model that rejects unknown keys; transforms are told apart by their
``type:`` (see :mod:`mappings.transforms`). These models check the shape of the file; the
checks that need the common schema and the code lists (targets, codes, types) are in
:mod:`mappings.checks`. A whole file::

    source: welfare-csv                 # slug, the file's name
    system: welfare                     # welfare | health | registry | housing
    adapter:
      kind: csv
      options: {path: "${LGNET_ROMA_DROP_DIR}/*.csv", delimiter: ";"}
    schedule: {every: 15m}
    record_id: {column: ID_CARTELLA}
    fields:
      subject.family_name: {column: COGNOME, transforms: [{type: trim}]}
      subject.birth_date:
        column: DATA_NASCITA
        transforms: [{type: date, formats: ["%d/%m/%Y"]}]
    lists:
      services:
        - fields:
            type: {column: SERVIZIO_1, transforms: [{type: code_map, map: service}]}
    code_maps:
      service: {codelist: service_type, codes: {"01": housing_support}}
    required: [subject.family_name]
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag, field_validator

from mappings.selectors import Node, Source
from mappings.transforms import Transform
from mappings.transforms.base import literal_type

SLUG = r"^[a-z][a-z0-9-]{1,40}$"
_DURATION = re.compile(r"^(?P<amount>[1-9][0-9]*)(?P<unit>[smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_SOURCE_OUTPUT = {"column": "text", "xml": "text", "path": "any"}


class Rule(Source):
    """Where a value comes from, and the transforms applied to it in order."""

    transforms: list[Transform] = Field(default_factory=list)

    def output_kind(self) -> str:
        """What the rule gives (``text``, ``date``, ``code``, ``any``...), known at load time.

        CSV columns and XML elements are text, JSON values could be anything.
        """
        kind = self.source_kind
        output = literal_type(self.value) if kind == "value" else _SOURCE_OUTPUT[kind]
        for node in self.transforms:
            output = node.output_type(output)
        return output

    def gives_text(self, *, columns_are_text: bool = False) -> bool:
        """Is the result certainly text (or missing)? Else numbers are turned into text for
        text targets at run time. ``columns_are_text``: the source is a CSV file."""
        kind = self.source_kind
        text = (kind == "value" and isinstance(self.value, str)) or (
            kind == "column" and columns_are_text
        )
        for node in self.transforms:
            text = node.gives_text(text)
        return text


class Items(Node):
    """Items of a list of objects (``services``, ``referrals``).

    With ``each``, one item per value it yields (repeated XML elements, a JSON array, the
    pieces of a split cell), and the item's ``path``/``xml`` sources are relative to it.
    Without ``each``, one item from the record (e.g. from columns ``SERVIZIO_1``,
    ``DATA_INIZIO_1``). An item whose sources are all empty, or whose values are all missing,
    is left out (so an empty column group adds nothing, even if a ``when`` would give a
    value); an item that is kept but lacks a required field (``services[].type``) is a
    record error.
    """

    each: Rule | None = None
    fields: dict[str, Rule] = Field(min_length=1)


def _generator_kind(value: Any) -> str:
    if isinstance(value, dict) and ("fields" in value or "each" in value):
        return "items"
    return "rule"


Generator = Annotated[
    Annotated[Items, Tag("items")] | Annotated[Rule, Tag("rule")],
    Discriminator(_generator_kind),
]


class CodeMap(Node):
    """Local codes of one source -> codes of one common code list."""

    codelist: str = Field(description="The code list its codes belong to, e.g. service_type.")
    codes: dict[str, str | None] = Field(min_length=1, description="local code -> code")
    default: str | None = Field(None, description="Code for unknown local codes (null: missing).")
    ignore_case: bool = Field(False, description="Match local codes ignoring case and accents.")


class AdapterSpec(Node):
    """Which adapter reads the source. ``options`` are checked by the adapter's own model."""

    kind: str = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict, repr=False)


class Schedule(Node):
    every: str = Field(description="Pull interval: a number and s, m, h or d (e.g. 15m).")

    @field_validator("every")
    @classmethod
    def _duration(cls, text: str) -> str:
        if _DURATION.fullmatch(text) is None:
            raise ValueError("write the interval as a number and s, m, h or d, e.g. 15m")
        return text

    @property
    def interval(self) -> timedelta:
        match = _DURATION.fullmatch(self.every)
        assert match is not None
        return timedelta(**{_UNITS[match.group("unit")]: int(match.group("amount"))})


class SourceFile(Node):
    """A source definition: ``mappings/<city>/<source>.yaml``."""

    source: str = Field(pattern=SLUG, description="Slug of the source; the file's name.")
    city: str | None = Field(None, pattern=SLUG, description="Default: the folder's name.")
    system: str = Field(description="welfare | health | registry | housing")
    description: str | None = None
    adapter: AdapterSpec
    schedule: Schedule | None = None
    record_id: Rule | None = Field(None, description="Default: the adapter's record id.")
    updated_at: Rule | None = None
    fields: dict[str, Rule] = Field(default_factory=dict, description="target -> rule")
    lists: dict[str, list[Generator]] = Field(
        default_factory=dict, description="list target -> the rules that add its items"
    )
    code_maps: dict[str, CodeMap] = Field(default_factory=dict)
    required: list[str] = Field(default_factory=list, description="Targets a record must have.")
