"""What every transform shares: the node base class, the compiled :class:`Step`, and the context.

A transform module holds one pydantic node (``type: <name>``, unknown keys rejected) and a
``build(node, context) -> Step`` function that does all the work that does not depend on the
record (parsing formats, folding tables) once, and returns the function applied per value.

Values flow through a rule's transforms one after the other. ``None`` means missing. Steps in
``each`` mode are applied to every item when the value is a list (after ``split``, or a
``[*]`` path) and skip missing values; ``whole`` steps see the whole value but not ``None``;
``always`` steps also run on ``None`` (``default``, ``when``, ``concat``), and may read other
fields of the record.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from mappings.selectors import Selector, Source

Mode = Literal["each", "whole", "always"]
# What a step turns its input into, for the load-time checks against the target's type.
Output = Literal["same", "text", "date", "datetime", "boolean", "number", "code", "list", "any"]


class TransformNode(BaseModel):
    """Base of every transform node: a ``type`` tag and no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str

    output: ClassVar[Output] = "same"
    # True: the output is always text (or missing); None: as the input; False: not known.
    text_output: ClassVar[bool | None] = False

    def literals(self) -> list[Any]:
        """Constant values this node can output (checked against the target's code list)."""
        return []

    def gives_text(self, incoming: bool) -> bool:
        """Is the value certainly text (or missing) after this node, given whether it was?"""
        return incoming if self.text_output is None else self.text_output

    def output_type(self, incoming: str) -> str:
        """What the value is after this node, given what it was (see :data:`Output`)."""
        return incoming if self.output == "same" else self.output


def literal_type(value: Any) -> str:
    """The :data:`Output` kind of a constant from the mapping file."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "text"


MISSING: Any = object()  # a table lookup's "not found", distinct from a None entry

# Inline statements of table-lookup steps (code_map, boolean): a dict lookup in place of the
# call, the call itself (coverage hook, default, error, folding) only on a miss.
TABLE_LOOKUP = (
    "{tmp} = {table}.get({v}, {missing}) if type({v}) is str else {missing}",
    "{v} = {f}({v}) if {tmp} is {missing} else {tmp}",
)
TABLE_LOOKUP_TEXT = (
    "{tmp} = {table}.get({v}, {missing})",
    "{v} = {f}({v}) if {tmp} is {missing} else {tmp}",
)


class StepFailed(ValueError):
    """The step cannot apply to this value. ``reason`` describes the rule, never the value."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Step:
    """A transform compiled once: ``apply`` is called per value (or per item, in ``each`` mode).

    ``reads_record`` steps are called as ``apply(value, record, element)``.
    ``makes_list``: ``True`` when the output is a list (split), ``False`` when it is never one
    (join, concat), ``None`` when the shape is the input's.

    ``inline`` optionally gives statements the compiler writes in place of the call, for the
    hottest steps; they must do exactly what ``apply`` does (a test compares the two). In
    them ``{v}`` is the value's variable, ``{f}`` the ``apply`` function, ``{tmp}`` a scratch
    variable, and ``{name}`` each entry of ``names``.
    """

    rule: str
    label: str
    apply: Callable[..., Any]
    mode: Mode = "each"
    makes_list: bool | None = None
    reads_record: bool = False
    inline: tuple[str, ...] = ()
    names: Mapping[str, Any] = field(default_factory=dict)
    # the same, for when the value is known to be text (a CSV cell, the output of a trim...)
    inline_text: tuple[str, ...] = ()


@dataclass
class BuildContext:
    """What building a step may need besides its node."""

    code_maps: Mapping[str, Any]
    select: Callable[[Source], Selector]
    # Coverage passes a hook to count local codes that no code map entry covers.
    on_miss: Callable[[str, str], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def as_text(value: Any, rule: str) -> str:
    """The value as text; numbers become their decimal text. Anything else is a StepFailed."""
    if type(value) is str:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise StepFailed(f"{rule} expects text, got a {type(value).__name__}")


def fold(text: str) -> str:
    """Casefold and drop accents, for case-insensitive lookups: ``Sì`` -> ``si``."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
