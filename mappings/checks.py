"""Checks of a source definition against the common schema and the code lists.

The node models (:mod:`mappings.nodes`) check the file's shape; these checks need the intake
record's JSON Schema and the code lists from ``specs/``: every target exists and is written
where it belongs, every code-map target is a code of the declared list, constants are valid
codes, a rule ends in the target's type (a date target from a CSV column needs a ``date``
transform), required targets have rules, placeholders sit only in adapter options.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mappings import envvars
from mappings.nodes import CodeMap, Items, Rule, SourceFile
from mappings.targets import RESERVED, Target, Targets
from mappings.transforms.code_map import CodeMapNode
from mappings.yaml_lines import PathKey

Finding = tuple[PathKey, str]

# Rule output kinds a target of each kind accepts, and the transform that makes them.
_ACCEPTS = {
    "date": ({"date", "any"}, "a date transform, e.g. {type: date, formats: ['%d/%m/%Y']}"),
    "date-time": (
        {"datetime", "any"},
        "a datetime transform, e.g. {type: datetime, formats: ['%d/%m/%Y %H:%M']}",
    ),
    "boolean": ({"boolean", "any"}, "a boolean transform: {type: boolean}"),
    "code": ({"code", "text", "any"}, "a code_map transform"),
    "string": ({"text", "code", "number", "any"}, "no date or boolean transform"),
}
UPDATED_AT = Target(
    path="source.updated_at", shape="scalar", json_type="string", format="date-time"
)
RECORD_ID = Target(path="source.record_id", shape="scalar", json_type="string")


@dataclass(frozen=True)
class Context:
    nodes: SourceFile
    targets: Targets
    codelists: dict[str, frozenset[str]]


def check_definition(
    nodes: SourceFile,
    raw: dict[str, Any],
    *,
    file_stem: str,
    city: str,
    cities: frozenset[str] | None,
    targets: Targets,
    codelists: dict[str, frozenset[str]],
) -> list[Finding]:
    """Every problem found, as ``(path in the file, message)``."""
    context = Context(nodes, targets, codelists)
    findings: list[Finding] = []
    if nodes.source != file_stem:
        findings.append(
            (("source",), f"source {nodes.source!r} must match the file name {file_stem!r}")
        )
    # Folders named "_..." hold shared definitions (e.g. _default/fhir.yaml), not a city's.
    if cities is not None and city not in cities and not city.startswith("_"):
        where = ("city",) if nodes.city else ()
        findings.append((where, f"unknown city {city!r}: not in specs/cities.yaml"))
    systems = codelists.get("source_system", frozenset())
    if systems and nodes.system not in systems:
        findings.append(
            (
                ("system",),
                f"unknown system {nodes.system!r}; expected one of: {', '.join(sorted(systems))}",
            )
        )
    findings += _code_maps(context)
    findings += _fields(context)
    findings += _lists(context)
    findings += _required(context)
    findings += _placeholders(raw)
    if nodes.record_id is not None:
        findings += _rule(context, RECORD_ID, nodes.record_id, ("record_id",))
    if nodes.updated_at is not None:
        findings += _rule(context, UPDATED_AT, nodes.updated_at, ("updated_at",))
    return findings


def _suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _code_maps(context: Context) -> Iterator[Finding]:
    for name, spec in context.nodes.code_maps.items():
        where: PathKey = ("code_maps", name)
        codes = context.codelists.get(spec.codelist)
        if codes is None:
            yield (
                (*where, "codelist"),
                f"unknown code list {spec.codelist!r}"
                + _suggest(spec.codelist, sorted(context.codelists)),
            )
            continue
        for local, code in spec.codes.items():
            if code is not None and code not in codes:
                yield ((*where, "codes", local), _not_a_code(code, spec.codelist, codes))
        if spec.default is not None and spec.default not in codes:
            yield ((*where, "default"), _not_a_code(spec.default, spec.codelist, codes))


def _not_a_code(code: Any, codelist: str, codes: frozenset[str]) -> str:
    return f"{code!r} is not a code of {codelist}" + _suggest(str(code), sorted(codes))


def _unknown_target(name: str, options: list[str]) -> str:
    return f"unknown target {name!r}" + (
        _suggest(name, options) or " (see specs/schemas/intake_record.schema.json)"
    )


def _fields(context: Context) -> Iterator[Finding]:
    targets = context.targets
    for name, rule in context.nodes.fields.items():
        where: PathKey = ("fields", name)
        target = targets.get(name)
        if name.split(".")[0] in RESERVED:
            yield (
                where,
                f"{name} is not a field target: the source comes from 'source:', "
                "'system:', 'record_id:' and 'updated_at:'",
            )
        elif target is None:
            yield (where, _unknown_target(name, targets.field_paths))
        elif target.shape == "object_list":
            yield (where, f"{name} is a list of objects: build it under 'lists:'")
        else:
            if name in context.nodes.lists:
                yield (where, f"target {name!r} is set twice: under fields and under lists")
            yield from _rule(context, target, rule, where)


def _lists(context: Context) -> Iterator[Finding]:
    targets = context.targets
    for name, generators in context.nodes.lists.items():
        where: PathKey = ("lists", name)
        target = targets.get(name)
        if target is None:
            yield (where, _unknown_target(name, targets.list_paths))
            continue
        if target.shape == "scalar":
            yield (where, f"{name} holds one value: write it under 'fields:'")
            continue
        for position, generator in enumerate(generators):
            at = (*where, position)
            if target.shape == "scalar_list":
                if isinstance(generator, Items):
                    yield (
                        at,
                        f"{name} is a {target.kind}: give a rule (column, path, xml or "
                        "value with transforms), not fields",
                    )
                else:
                    yield from _rule(context, target, generator, at)
                continue
            if not isinstance(generator, Items):
                yield (at, f"{name} is a list of objects: give 'fields' (and optionally 'each')")
                continue
            if generator.each is not None:
                yield from _code_map_references(context, generator.each, (*at, "each"))
            for sub, rule in generator.fields.items():
                item = target.items.get(sub)
                if item is None:
                    yield (
                        (*at, "fields", sub),
                        f"unknown field {sub!r} of {name} items; "
                        f"expected one of: {', '.join(target.items)}",
                    )
                else:
                    yield from _rule(
                        context, item, rule, (*at, "fields", sub), label=f"{name}.{sub}"
                    )
            missing = [f for f in target.required_items if f not in generator.fields]
            if missing:
                yield ((*at, "fields"), f"{name} items need {', '.join(map(repr, missing))}")


def _required(context: Context) -> Iterator[Finding]:
    nodes = context.nodes
    for position, name in enumerate(nodes.required):
        if name in nodes.fields or name in nodes.lists:
            continue
        if context.targets.get(name) is None:
            yield (("required", position), _unknown_target(name, list(context.targets.by_path)))
        else:
            yield (
                ("required", position),
                f"required target {name!r} has no rule under fields or lists",
            )


def _placeholders(raw: dict[str, Any]) -> Iterator[Finding]:
    options = (
        raw.get("adapter", {}).get("options") if isinstance(raw.get("adapter"), dict) else None
    )
    for path, text in envvars.walk_strings(options or {}, ("adapter", "options")):
        try:
            envvars.variables(text)
        except envvars.PlaceholderSyntaxError as exc:
            yield (path, str(exc))
    for path, text in envvars.walk_strings(raw):
        if "${" in text and path[:2] != ("adapter", "options"):
            yield (path, "${...} placeholders are resolved only in adapter.options")


def _code_map_references(context: Context, rule: Rule, where: PathKey) -> Iterator[Finding]:
    """Every code_map transform of ``rule`` names a declared code map."""
    for position, node in enumerate(rule.transforms):
        if isinstance(node, CodeMapNode) and node.map not in context.nodes.code_maps:
            yield (
                (*where, "transforms", position, "map"),
                f"unknown code map {node.map!r}"
                + _suggest(node.map, sorted(context.nodes.code_maps)),
            )


def _rule(
    context: Context, target: Target, rule: Rule, where: PathKey, *, label: str | None = None
) -> Iterator[Finding]:
    label = label or target.path
    yield from _code_map_references(context, rule, where)
    output = rule.output_kind()
    accepted_kind = "code" if target.codelist else (target.format or target.json_type or "")
    accepts = _ACCEPTS.get(accepted_kind)
    if accepts is not None and output not in accepts[0]:
        yield (
            where,
            f"{label} takes a {target.kind} but the rule gives {_words(output)}: use {accepts[1]}",
        )
    if target.codelist:
        yield from _codes(context, target, rule, where, label)


def _words(output: str) -> str:
    return {"text": "text", "any": "any value", "number": "a number", "list": "a list"}.get(
        output, f"a {output}"
    )


def _codes(
    context: Context, target: Target, rule: Rule, where: PathKey, label: str
) -> Iterator[Finding]:
    codelist = str(target.codelist)
    codes = context.codelists.get(codelist, frozenset())
    literals: list[tuple[PathKey, Any]] = []
    if rule.source_kind == "value":
        literals.append(((*where, "value"), rule.value))
    for position, node in enumerate(rule.transforms):
        at = (*where, "transforms", position)
        if isinstance(node, CodeMapNode):
            literals.clear()  # constants before a code map are local codes
            spec: CodeMap | None = context.nodes.code_maps.get(node.map)
            if spec is not None and spec.codelist != codelist:
                yield (
                    (*at, "map"),
                    f"code map {node.map!r} gives codes of {spec.codelist}, "
                    f"but {label} takes codes of {codelist}",
                )
        literals.extend((at, value) for value in node.literals())
    for at, value in literals:
        if str(value) not in codes:
            yield (at, _not_a_code(value, codelist, codes))
