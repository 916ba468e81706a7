"""``boolean``: read yes/no answers in Italian, German and English.

Recognised, ignoring case and accents: ``sì si s vero``, ``ja j wahr``, ``yes y true t 1``
and ``no n falso``, ``nein``, ``false f 0``. ``true:`` and ``false:`` add a source's own words.
Anything else is a record error (never guessed as false).

.. code-block:: yaml

    subject.resident_in_city:
      column: RESIDENTE
      transforms:
        - type: boolean
          true: [residente]         # besides Sì/Si/S/Ja/Yes/1...
          false: [non residente]
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from mappings.transforms.base import (
    MISSING,
    TABLE_LOOKUP,
    TABLE_LOOKUP_TEXT,
    BuildContext,
    Output,
    Step,
    StepFailed,
    TransformNode,
    fold,
)

TRUE_WORDS = ("sì", "si", "s", "vero", "ja", "j", "wahr", "yes", "y", "true", "t", "1")
FALSE_WORDS = ("no", "n", "falso", "nein", "false", "f", "0")


class BooleanNode(TransformNode):
    type: Literal["boolean"]
    true: list[str] = Field(default_factory=list, description="More words meaning true.")
    false: list[str] = Field(default_factory=list, description="More words meaning false.")

    output: ClassVar[Output] = "boolean"

    @model_validator(mode="after")
    def _no_overlap(self) -> BooleanNode:
        words = {fold(w) for w in (*TRUE_WORDS, *self.true)} & {
            fold(w) for w in (*FALSE_WORDS, *self.false)
        }
        if words:
            raise ValueError("a word is listed under both true and false")
        return self


def build(node: BooleanNode, context: BuildContext) -> Step:
    table: dict[Any, bool] = {fold(word): True for word in (*TRUE_WORDS, *node.true)}
    table.update({fold(word): False for word in (*FALSE_WORDS, *node.false)})
    # Exact spellings first, so the common cases skip the folding.
    for word, meaning in list(table.items()):
        table.setdefault(word.upper(), meaning)
        table.setdefault(word.capitalize(), meaning)
    table.update({"Sì": True, "SÌ": True, 1: True, 0: False})

    def apply(value: Any) -> Any:
        if value is True or value is False:
            return value
        try:
            return table[value]
        except (KeyError, TypeError):
            pass
        if type(value) is str:
            found = table.get(fold(value))
            if found is not None:
                return found
        raise StepFailed("not a recognised yes/no value")

    return Step(
        "boolean",
        "boolean",
        apply,
        inline=TABLE_LOOKUP,
        inline_text=TABLE_LOOKUP_TEXT,
        names={"table": table, "missing": MISSING},
    )
