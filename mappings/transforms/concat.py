"""``concat``: append other fields of the record to the value, joined by ``separator``.

Missing parts are left out (no double spaces); when every part is missing, so is the result.

.. code-block:: yaml

    subject.given_names:
      column: NOME
      transforms:
        - type: concat
          with: [{column: SECONDO_NOME}]
          separator: " "
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field

from mappings.selectors import Source
from mappings.transforms.base import BuildContext, Output, Step, TransformNode, as_text


class ConcatNode(TransformNode):
    type: Literal["concat"]

    text_output: ClassVar[bool | None] = True
    with_: list[Source] = Field(alias="with", min_length=1, description="Sources appended.")
    separator: str = " "

    output: ClassVar[Output] = "text"


def build(node: ConcatNode, context: BuildContext) -> Step:
    readers = [context.select(source).read for source in node.with_]
    separator = node.separator

    def apply(value: Any, data: Mapping[str, Any], element: Any) -> Any:
        parts: list[str] = []
        for item in (value, *(read(data, element) for read in readers)):
            if item is None:
                continue
            for piece in item if type(item) is list else (item,):
                text = as_text(piece, "concat").strip()
                if text:
                    parts.append(text)
        return separator.join(parts) or None

    label = " + ".join(source.source_text for source in node.with_)
    return Step(
        "concat", f"concat {label}", apply, mode="always", makes_list=False, reads_record=True
    )
