"""A source definition turned into what runs: selectors and steps built once, shapes known.

The compiler (:mod:`mappings.compiler`) generates code from a :class:`Plan`; the interpreter
(:mod:`mappings.interpreter`, for ``explain``, ``coverage`` and error diagnosis) walks the
same plan with the same step functions, so both agree on every value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from mappings.definition import SourceDefinition
from mappings.nodes import Items, Rule
from mappings.selectors import Selector, build_selector
from mappings.targets import Target, load_targets
from mappings.transforms import BuildContext, Step, StepFailed, build_step


@dataclass(frozen=True)
class FieldPlan:
    """One rule: read ``selector``, apply ``steps``, shape the result for its target."""

    target: str
    selector: Selector
    steps: tuple[Step, ...]
    list_before: tuple[bool, ...]  # may the value be a list before each step?
    text_before: tuple[bool, ...]  # is it certainly text (or missing) before each step?
    maybe_list: bool  # ... after the last one
    shape: Literal["scalar", "scalar_list", "each"]  # each: the items a list item is made per
    to_text: bool  # the target is text: numbers become their decimal text
    required: bool = False

    @property
    def source_field(self) -> str | None:
        return None if self.selector.kind == "value" else self.selector.text


@dataclass(frozen=True)
class ItemsPlan:
    """One way of adding items to a list of objects."""

    each: FieldPlan | None
    fields: tuple[tuple[str, FieldPlan], ...]
    required: tuple[str, ...]


@dataclass(frozen=True)
class ListPlan:
    target: str
    objects: bool
    rules: tuple[FieldPlan, ...]  # lists of scalars
    items: tuple[ItemsPlan, ...]  # lists of objects
    required: bool


@dataclass(frozen=True)
class Plan:
    city: str
    source: str
    system: str
    record_id: FieldPlan | None
    updated_at: FieldPlan | None
    fields: tuple[FieldPlan, ...]
    lists: tuple[ListPlan, ...]


def build_plan(
    definition: SourceDefinition, *, on_miss: Callable[[str, str], None] | None = None
) -> Plan:
    """Build every selector and step of ``definition`` once."""
    nodes = definition.nodes
    targets = load_targets()
    context = BuildContext(code_maps=nodes.code_maps, select=build_selector, on_miss=on_miss)
    # CSV adapters give text cells only: no run-time check that a column is text.
    context.extra["csv"] = definition.adapter_kind == "csv"
    required = set(nodes.required)

    def field(name: str, rule: Rule) -> FieldPlan:
        target = targets.by_path[name]
        return _field_plan(
            name,
            rule,
            context,
            shape=target.shape,
            to_text=_is_text(target),
            required=name in required,
        )

    record_id = updated_at = None
    if nodes.record_id is not None:
        record_id = _field_plan(
            "source.record_id",
            nodes.record_id,
            context,
            shape="scalar",
            to_text=True,
            required=True,
        )
    if nodes.updated_at is not None:
        updated_at = _field_plan(
            "source.updated_at", nodes.updated_at, context, shape="scalar", to_text=False
        )
    fields = tuple(field(name, rule) for name, rule in nodes.fields.items())
    lists = []
    for name, generators in nodes.lists.items():
        target = targets.by_path[name]
        if target.shape == "object_list":
            items = tuple(
                _items_plan(name, generator, target, context)
                for generator in generators
                if isinstance(generator, Items)
            )
            lists.append(ListPlan(name, True, (), items, name in required))
        else:
            rules = tuple(
                _field_plan(
                    name,
                    generator,
                    context,
                    shape="scalar_list",
                    to_text=_is_text(target),
                )
                for generator in generators
                if isinstance(generator, Rule)
            )
            lists.append(ListPlan(name, False, rules, (), name in required))
    return Plan(
        definition.city, nodes.source, nodes.system, record_id, updated_at, fields, tuple(lists)
    )


def _is_text(target: Target) -> bool:
    """Does the target (or its items) hold plain text? Then numbers are turned into text."""
    return target.json_type == "string" and not target.format


def _items_plan(name: str, generator: Items, target: Target, context: BuildContext) -> ItemsPlan:
    each = None
    if generator.each is not None:
        each = _field_plan(name, generator.each, context, shape="each", to_text=False)
    fields = []
    for sub, rule in generator.fields.items():
        item = target.items[sub]
        plan = _field_plan(f"{name}.{sub}", rule, context, shape="scalar", to_text=_is_text(item))
        fields.append((sub, plan))
    return ItemsPlan(each, tuple(fields), target.required_items)


def _field_plan(
    name: str,
    rule: Rule,
    context: BuildContext,
    *,
    shape: str,
    to_text: bool,
    required: bool = False,
) -> FieldPlan:
    csv = bool(context.extra.get("csv", False))
    to_text = to_text and not rule.gives_text(columns_are_text=csv)
    selector = build_selector(rule)
    steps = tuple(build_step(node, context) for node in rule.transforms)
    maybe_list = selector.maybe_list
    text = (rule.source_kind == "column" and csv) or (
        rule.source_kind == "value" and isinstance(rule.value, str)
    )
    before = []
    text_before = []
    for node, step in zip(rule.transforms, steps, strict=True):
        before.append(maybe_list)
        text_before.append(text and not maybe_list)
        if step.makes_list is not None:
            maybe_list = step.makes_list
        text = node.gives_text(text)
    return FieldPlan(
        target=name,
        selector=selector,
        steps=steps,
        list_before=tuple(before),
        text_before=tuple(text_before),
        maybe_list=maybe_list,
        shape="scalar_list" if shape == "scalar_list" else "each" if shape == "each" else "scalar",
        to_text=to_text,
        required=required,
    )


# -- helpers shared by generated code and the interpreter ------------------------------------


def each(apply: Callable[[Any], Any], value: Any) -> Any:
    """Apply an item step to every item of a list (flattening lists it returns), or to a value."""
    if type(value) is not list:
        return apply(value)
    out: list[Any] = []
    for item in value:
        if item is None:
            continue
        result = apply(item)
        if result is None:
            continue
        if type(result) is list:
            out.extend(result)
        else:
            out.append(result)
    return out or None


def single(value: Any) -> Any:
    """The one value of a single-valued target."""
    if type(value) is list:
        if len(value) > 1:
            raise StepFailed("several values where the target holds one")
        return value[0] if value else None
    return value


def as_list(value: Any) -> list[Any]:
    """The items of a list target, without repeats."""
    if value is None:
        return []
    if type(value) is list:
        return list(dict.fromkeys(value)) if len(value) > 1 else value
    return [value]


def items_of(value: Any) -> list[Any]:
    """What a list's ``each`` iterates over: the items of a list, a value, or nothing."""
    if value is None:
        return []
    return value if type(value) is list else [value]


def to_text(value: Any) -> Any:
    """Numbers become text (identifiers arriving as JSON numbers); other values stay."""
    if value is None or type(value) is str or isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return value
