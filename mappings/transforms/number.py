"""``number``: parse a number written the Italian way (``1.234,5``) or any other.

``thousands`` and ``decimal`` default to Italian usage (``.`` and ``,``); ``as: int`` refuses
a fractional part instead of rounding it away. Numbers from JSON pass through.

.. code-block:: yaml

    fields:
      subject.identifiers.local_id:
        column: NUM_CARTELLA          # "12.345" -> 12345 -> "12345" in the record
        transforms: [{type: number, as: int}]
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from mappings.transforms.base import BuildContext, Output, Step, StepFailed, TransformNode


class NumberNode(TransformNode):
    type: Literal["number"]
    thousands: str = Field(".", max_length=1, description="Thousands separator ('' for none).")
    decimal: str = Field(",", min_length=1, max_length=1, description="Decimal separator.")
    as_: Literal["int", "float", "decimal"] = Field("float", alias="as")

    output: ClassVar[Output] = "number"

    @model_validator(mode="after")
    def _distinct(self) -> NumberNode:
        if self.thousands == self.decimal:
            raise ValueError("thousands and decimal separators must differ")
        return self


def build(node: NumberNode, context: BuildContext) -> Step:
    thousands = re.escape(node.thousands)
    group = rf"\d{{1,3}}(?:{thousands}\d{{3}})+|\d+" if node.thousands else r"\d+"
    pattern = re.compile(rf"[+-]?(?:{group})(?:{re.escape(node.decimal)}\d+)?")
    kind = node.as_

    def apply(value: Any) -> Any:
        if isinstance(value, bool):
            raise StepFailed("number expects text or a number, got a boolean")
        if isinstance(value, int | float | Decimal):
            number: Any = value
        elif type(value) is str:
            text = value.strip().replace(" ", "")
            if pattern.fullmatch(text) is None:
                raise StepFailed(
                    f"not a number with thousands {node.thousands!r} and decimal {node.decimal!r}"
                )
            if node.thousands:
                text = text.replace(node.thousands, "")
            number = Decimal(text.replace(node.decimal, "."))
        else:
            raise StepFailed(f"number expects text, got a {type(value).__name__}")
        return _convert(number, kind)

    return Step(
        "number", f"number ({node.thousands or 'no'} thousands, {node.decimal} decimal)", apply
    )


def _convert(number: Any, kind: str) -> Any:
    if kind == "float":
        return float(number)
    if kind == "decimal":
        try:
            return Decimal(str(number)) if not isinstance(number, Decimal) else number
        except InvalidOperation:
            raise StepFailed("not a number") from None
    if number != int(number):
        raise StepFailed("has a fractional part but 'as' is int")
    return int(number)
