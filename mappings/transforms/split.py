"""``split``: cut text into a list at a separator; the following transforms apply to each item.

Items are trimmed and empty ones dropped, so ``"A; B;;"`` gives ``["A", "B"]``.

.. code-block:: yaml

    case.vulnerabilities:
      column: VULNERABILITA           # "SD;DIS"
      transforms:
        - {type: split, separator: ";"}
        - {type: code_map, map: vulnerability}
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from mappings.transforms.base import BuildContext, Output, Step, TransformNode, as_text


class SplitNode(TransformNode):
    type: Literal["split"]

    text_output: ClassVar[bool | None] = True
    separator: str = Field(min_length=1)
    trim: bool = True

    output: ClassVar[Output] = "text"  # of each item


def build(node: SplitNode, context: BuildContext) -> Step:
    separator = node.separator
    trim = node.trim

    def apply(value: Any) -> Any:
        text = value if type(value) is str else as_text(value, "split")
        parts = [part.strip() for part in text.split(separator)] if trim else text.split(separator)
        return [part for part in parts if part] or None

    return Step("split", f"split {separator!r}", apply, makes_list=True)
