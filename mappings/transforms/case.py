"""``case``: change letter case to ``upper``, ``lower`` or ``title``.

``title`` capitalises each word, a word being a run of letters: ``DE LUCA`` -> ``De Luca``,
``D'ANGELO`` -> ``D'Angelo``, ``AL-SAYED`` -> ``Al-Sayed``.

.. code-block:: yaml

    subject.identifiers.fiscal_code:
      column: CF
      transforms: [{type: trim}, {type: case, to: upper}]
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from mappings.transforms.base import BuildContext, Step, TransformNode, as_text


class CaseNode(TransformNode):
    type: Literal["case"]

    text_output: ClassVar[bool | None] = True

    to: Literal["upper", "lower", "title"]


def build(node: CaseNode, context: BuildContext) -> Step:
    method = node.to
    change = {"upper": str.upper, "lower": str.lower, "title": str.title}[method]

    def apply(value: Any) -> Any:
        return change(value if type(value) is str else as_text(value, "case"))

    return Step(
        "case",
        f"case {method}",
        apply,
        inline=(f"{{v}} = {{v}}.{method}() if type({{v}}) is str else {{f}}({{v}})",),
        inline_text=(f"{{v}} = {{v}}.{method}()",),
    )
