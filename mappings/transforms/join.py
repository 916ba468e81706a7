"""``join``: turn a list into one text, items separated by ``separator`` (default a space).

.. code-block:: yaml

    subject.given_names:
      path: name[0].given[*]          # FHIR HumanName.given: ["Amina", "Sara"]
      transforms: [{type: join, separator: " "}]
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from mappings.transforms.base import BuildContext, Output, Step, TransformNode, as_text


class JoinNode(TransformNode):
    type: Literal["join"]

    text_output: ClassVar[bool | None] = True
    separator: str = " "

    output: ClassVar[Output] = "text"


def build(node: JoinNode, context: BuildContext) -> Step:
    separator = node.separator

    def apply(value: Any) -> Any:
        items = value if type(value) is list else [value]
        return separator.join(as_text(item, "join") for item in items) or None

    return Step("join", f"join {separator!r}", apply, mode="whole", makes_list=False)
