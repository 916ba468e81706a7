"""``regex``: keep the part of the text a regular expression captures (missing if no match).

``group`` is the capture group kept (0: the whole match). Useful to pull a code out of a
label, e.g. ``"03 - Sostegno abitativo"`` -> ``"03"``.

.. code-block:: yaml

    services.type:
      xml: Tipo
      transforms:
        - {type: regex, pattern: "^(\\\\d+)\\\\s*-", group: 1}
        - {type: code_map, map: service_type}
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from mappings.transforms.base import BuildContext, Step, TransformNode, as_text


class RegexNode(TransformNode):
    type: Literal["regex"]

    text_output: ClassVar[bool | None] = True
    pattern: str = Field(min_length=1, description="Python regular expression, searched.")
    group: int | str = Field(1, description="Capture group to keep: number or name.")

    @model_validator(mode="after")
    def _compiles(self) -> RegexNode:
        try:
            compiled = re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"pattern does not compile: {exc.msg}") from None
        if isinstance(self.group, int) and self.group > compiled.groups:
            raise ValueError(f"pattern has {compiled.groups} group(s), not {self.group}")
        if isinstance(self.group, str) and self.group not in compiled.groupindex:
            raise ValueError(f"pattern has no group named {self.group!r}")
        return self


def build(node: RegexNode, context: BuildContext) -> Step:
    search = re.compile(node.pattern).search
    group = node.group

    def apply(value: Any) -> Any:
        match = search(value if type(value) is str else as_text(value, "regex"))
        return (match.group(group) or None) if match else None

    return Step("regex", f"regex {node.pattern!r}", apply)
