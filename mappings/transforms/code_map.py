"""``code_map``: translate a source's local code into a code of a common code list.

The map itself is declared once under ``code_maps:`` with the code list its targets belong to,
so ``lgnet mapping check`` can refuse a target that is not a code of that list. A local code
the map does not know is a record error, unless the map has a ``default`` (which may be
``null``: "unknown"). Coverage counts such codes either way, so drift stays visible.

.. code-block:: yaml

    code_maps:
      service:
        codelist: service_type
        codes:
          "01": housing_support
          "02": emergency_accommodation
          "07": language_course
        # default: null            # unknown codes become a missing value

    lists:
      services:
        - each: {xml: Interventi/Intervento}
          fields:
            type: {xml: Tipo, transforms: [{type: code_map, map: service}]}
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

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


class CodeMapNode(TransformNode):
    type: Literal["code_map"]

    text_output: ClassVar[bool | None] = True
    map: str = Field(min_length=1, description="Name of a map under code_maps.")

    output: ClassVar[Output] = "code"


_NO_DEFAULT: Any = object()


def build(node: CodeMapNode, context: BuildContext) -> Step:
    spec = context.code_maps[node.map]
    name = node.map
    ignore_case = bool(spec.ignore_case)
    table: dict[Any, Any] = {}
    for local, code in spec.codes.items():
        table[fold(local) if ignore_case else local] = code
    default = spec.default if "default" in spec.model_fields_set else _NO_DEFAULT
    on_miss = context.on_miss
    reason = f"local code not in code map {name!r}, which has no default"

    def apply(value: Any) -> Any:
        key = value if type(value) is str else _key(value)
        if ignore_case:
            key = fold(key)
        try:
            return table[key]
        except KeyError:
            if on_miss is not None:
                on_miss(name, key)
            if default is _NO_DEFAULT:
                raise StepFailed(reason) from None
            return default

    if ignore_case:
        return Step("code_map", f"code_map {name}", apply)
    return Step(
        "code_map",
        f"code_map {name}",
        apply,
        inline=TABLE_LOOKUP,
        inline_text=TABLE_LOOKUP_TEXT,
        names={"table": table, "missing": MISSING},
    )


def _key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | str):
        return str(value)
    raise StepFailed(f"code_map expects a code, got a {type(value).__name__}")
