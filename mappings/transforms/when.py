"""``when``: a value that depends on a condition, on this value or on another field.

Exactly one condition: ``equals`` (compared as text), ``in`` (a list), ``matches`` (a regular
expression that must match the whole text) or ``present`` (``true``: not missing). On a list,
a condition holds when it holds for any item. ``then`` replaces the value when the condition
holds (omit it to keep the value); ``else`` replaces it otherwise (omit it: missing).

.. code-block:: yaml

    subject.identifiers.stp_code:          # NUM_DOC holds an STP code only when TIPO_DOC says so
      column: NUM_DOC
      transforms:
        - type: when
          source: {column: TIPO_DOC}
          equals: STP
    deleted:
      column: STATO
      transforms: [{type: when, equals: ANNULLATA, then: true, else: false}]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from mappings.selectors import Scalar, Source
from mappings.transforms.base import BuildContext, Step, TransformNode, literal_type

CONDITIONS = ("equals", "in", "matches", "present")


class WhenNode(TransformNode):
    type: Literal["when"]
    source: Source | None = Field(None, description="Field tested (default: this value).")
    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(None, alias="in", min_length=1)
    matches: str | None = None
    present: bool | None = None
    then: Scalar | None = Field(None, description="Value when the condition holds.")
    else_: Scalar | None = Field(None, alias="else", description="Value when it does not.")

    @model_validator(mode="after")
    def _one_condition(self) -> WhenNode:
        names = {"in_": "in"}
        given = [
            names.get(k, k)
            for k in ("equals", "in_", "matches", "present")
            if k in self.model_fields_set
        ]
        if len(given) != 1:
            found = f" (found {', '.join(given)})" if given else ""
            raise ValueError(f"give exactly one condition: equals, in, matches or present{found}")
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise ValueError(f"matches does not compile: {exc.msg}") from None
        return self

    def literals(self) -> list[Any]:
        return [v for v in (self.then, self.else_) if v is not None]

    def gives_text(self, incoming: bool) -> bool:
        kept = incoming if "then" not in self.model_fields_set else isinstance(self.then, str)
        return kept and (self.else_ is None or isinstance(self.else_, str))

    def output_type(self, incoming: str) -> str:
        kinds = {literal_type(v) for v in self.literals()}
        if "then" not in self.model_fields_set:
            kinds.add(incoming)
        return kinds.pop() if len(kinds) == 1 else "any"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _condition(node: WhenNode) -> Callable[[Any], bool]:
    if "present" in node.model_fields_set:
        wanted = bool(node.present)
        return lambda value: wanted
    if node.matches is not None:
        full = re.compile(node.matches).fullmatch
        return lambda value: full(_text(value)) is not None
    choices = node.in_ if node.in_ is not None else [node.equals]
    options = {_text(v) for v in choices if v is not None}
    return lambda value: _text(value) in options


def build(node: WhenNode, context: BuildContext) -> Step:
    test = _condition(node)
    check_presence = "present" in node.model_fields_set
    keep = "then" not in node.model_fields_set
    then, otherwise = node.then, node.else_
    read = context.select(node.source).read if node.source is not None else None

    def holds(tested: Any) -> bool:
        if tested is None:
            return check_presence and not node.present
        if check_presence:
            return test(tested)
        if type(tested) is list:
            return any(test(item) for item in tested)
        return test(tested)

    def apply(value: Any, data: Mapping[str, Any], element: Any) -> Any:
        tested = read(data, element) if read is not None else value
        if holds(tested):
            return value if keep else then
        return otherwise

    on = f" on {node.source.source_text}" if node.source is not None else ""
    return Step("when", f"when{on}", apply, mode="always", reads_record=True)
