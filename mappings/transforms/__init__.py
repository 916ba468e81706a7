"""The transforms of the mapping language: one module per node type, and the table below.

:data:`Transform` is the discriminated union the rule models accept (the ``type:`` key picks
the node); :data:`BUILDERS` maps each ``type`` to the function that compiles that node into a
:class:`~mappings.transforms.base.Step`. To add a transform: write a module with a node class
and a ``build`` function, then add it to both (a test checks they agree).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field

from mappings.transforms import (
    boolean,
    case,
    code_map,
    concat,
    date,
    default,
    join,
    number,
    regex,
    split,
    timestamp,
    trim,
    when,
)
from mappings.transforms.base import BuildContext, Step, StepFailed, TransformNode

Transform = Annotated[
    boolean.BooleanNode
    | case.CaseNode
    | code_map.CodeMapNode
    | concat.ConcatNode
    | date.DateNode
    | timestamp.DateTimeNode
    | default.DefaultNode
    | join.JoinNode
    | number.NumberNode
    | regex.RegexNode
    | split.SplitNode
    | trim.TrimNode
    | when.WhenNode,
    Field(discriminator="type"),
]

Builder = Callable[[Any, BuildContext], Step]

BUILDERS: dict[str, Builder] = {
    "boolean": boolean.build,
    "case": case.build,
    "code_map": code_map.build,
    "concat": concat.build,
    "date": date.build,
    "datetime": timestamp.build,
    "default": default.build,
    "join": join.build,
    "number": number.build,
    "regex": regex.build,
    "split": split.build,
    "trim": trim.build,
    "when": when.build,
}


def build_step(node: TransformNode, context: BuildContext) -> Step:
    """Compile one transform node through :data:`BUILDERS`."""
    return BUILDERS[str(node.type)](node, context)


__all__ = [
    "BUILDERS",
    "BuildContext",
    "Step",
    "StepFailed",
    "Transform",
    "TransformNode",
    "build_step",
]
