"""``default``: a value to use when the source is missing (absent, empty, or emptied by a
transform before it).

.. code-block:: yaml

    case.intake_channel:
      column: CANALE
      transforms:
        - {type: code_map, map: channel}
        - {type: default, value: one_stop_shop}
"""

from __future__ import annotations

from typing import Any, Literal

from mappings.selectors import Scalar
from mappings.transforms.base import BuildContext, Step, TransformNode


class DefaultNode(TransformNode):
    type: Literal["default"]
    value: Scalar

    def literals(self) -> list[Any]:
        return [self.value]

    def gives_text(self, incoming: bool) -> bool:
        return incoming and isinstance(self.value, str)


def build(node: DefaultNode, context: BuildContext) -> Step:
    fallback = node.value

    def apply(value: Any) -> Any:
        return fallback if value is None else value

    return Step(
        "default",
        f"default {fallback!r}",
        apply,
        mode="always",
        inline=("if {v} is None:", "    {v} = {fallback}"),
        names={"fallback": fallback},
    )
