"""``trim``: remove surrounding whitespace (and, optionally, collapse inner runs of it).

Text that is empty after trimming is a missing value.

.. code-block:: yaml

    subject.family_name:
      column: COGNOME
      transforms:
        - type: trim
          collapse: true     # "  DE  LUCA " -> "DE LUCA"
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from mappings.transforms.base import BuildContext, Step, TransformNode


class TrimNode(TransformNode):
    type: Literal["trim"]

    text_output: ClassVar[bool | None] = None
    collapse: bool = False


def build(node: TrimNode, context: BuildContext) -> Step:
    if node.collapse:

        def apply(value: Any) -> Any:
            if type(value) is not str:
                return value
            return " ".join(value.split()) or None

        return Step("trim", "trim (collapse)", apply)

    def strip(value: Any) -> Any:
        if type(value) is not str:
            return value
        return value.strip() or None

    return Step(
        "trim",
        "trim",
        strip,
        inline=("{v} = ({v}.strip() or None) if type({v}) is str else {v}",),
        inline_text=("{v} = {v}.strip() or None",),
    )
