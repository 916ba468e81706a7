"""Compile a source definition once into a plain Python function.

The generated function reads each source, calls the steps' functions in a straight line
(guards for missing values inlined, CSV columns read with one ``dict.get``) and builds the
output dict, so a record costs about what a hand-written mapping costs. Nothing on the fast
path tracks which rule is running: when a step raises, the function hands the record to the
interpreter, which walks the same plan and names the field and rule that failed
(:func:`mappings.interpreter.diagnose`).

``source_code(definition)`` shows the generated code, for the curious and for debugging.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from mappings.definition import SourceDefinition
from mappings.errors import RecordError
from mappings.interpreter import containers, diagnose
from mappings.plan import (
    FieldPlan,
    ItemsPlan,
    ListPlan,
    Plan,
    as_list,
    build_plan,
    each,
    items_of,
    single,
    to_text,
)
from mappings.transforms import Step


class Mapper(Protocol):
    """A compiled mapping: raw record data -> intake record as a plain nested dict.

    ``record_id``/``updated_at`` are used when the definition has no rule for them (the
    adapter's own values); ``deleted`` marks a tombstone. Raises :class:`RecordError`.
    """

    def __call__(
        self,
        data: Mapping[str, Any],
        record_id: str | None = None,
        updated_at: Any = None,
        deleted: bool = False,
    ) -> dict[str, Any]: ...


class _Code:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {
            "RecordError": RecordError,
            "each": each,
            "single": single,
            "as_list": as_list,
            "items_of": items_of,
            "to_text": to_text,
        }
        self._count = 0

    def bind(self, value: Any, prefix: str) -> str:
        """A name for ``value`` in the generated module's namespace."""
        self._count += 1
        name = f"{prefix}{self._count}"
        self.names[name] = value
        return name

    def add(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)


def _required(code: _Code, indent: int, var: str, fp: FieldPlan, field: str) -> None:
    test = f"not {var}" if fp.shape == "scalar_list" else f"{var} is None"
    code.add(indent, f"if {test}:")
    code.add(
        indent + 1,
        f"raise RecordError(field={field}, rule='required', "
        f"source_field={fp.source_field!r}, reason='missing in the record')",
    )


def _inline(
    code: _Code,
    indent: int,
    step: Step,
    var: str,
    function: str,
    statements: tuple[str, ...] = (),
) -> None:
    names = {key: code.bind(value, "n") for key, value in step.names.items()}
    for statement in statements or step.inline:
        code.add(indent, statement.format(v=var, f=function, tmp="t", **names))


def _field(
    code: _Code, indent: int, fp: FieldPlan, var: str, el: str, seen: str | None = None
) -> None:
    """Lines that leave the finished value of ``fp`` in ``var`` (and set ``seen`` to True
    when the source had a value)."""
    selector = fp.selector
    chained = False
    if selector.column is not None:
        code.add(indent, f"{var} = get({selector.column!r})")
        # Empty text is missing; a leading trim already makes it so.
        if seen or not (fp.steps and fp.steps[0].rule == "trim" and fp.steps[0].inline):
            code.add(indent, f"if {var} == '':")
            code.add(indent + 1, f"{var} = None")
            chained = seen is None  # the first guard can be an elif of this if
    elif selector.kind == "value":
        code.add(indent, f"{var} = {code.bind(selector.read({}, None), 'k')}")
    else:
        code.add(indent, f"{var} = {code.bind(selector.read, 'r')}(data, {el})")
    if seen is not None and selector.kind != "value":
        code.add(indent, f"if {var} is not None:")
        code.add(indent + 1, f"{seen} = True")
    depth = indent
    for step, maybe_list, text in zip(fp.steps, fp.list_before, fp.text_before, strict=True):
        name = code.bind(step.apply, "s")
        if step.mode == "always":
            depth = indent
            chained = False
            if step.inline and not step.reads_record:
                _inline(code, depth, step, var, name)
                continue
            args = f"{var}, data, {el}" if step.reads_record else var
            code.add(depth, f"{var} = {name}({args})")
            continue
        code.add(depth, f"{'elif' if chained else 'if'} {var} is not None:")
        chained = False
        depth += 1
        if maybe_list and step.mode == "each":
            code.add(depth, f"{var} = each({name}, {var})")
        elif step.inline_text and text:
            _inline(code, depth, step, var, name, step.inline_text)
        elif step.inline:
            _inline(code, depth, step, var, name)
        else:
            code.add(depth, f"{var} = {name}({var})")
    if fp.shape == "each":
        return  # the loop iterates over items_of(value)
    if fp.shape == "scalar_list":
        code.add(indent, f"{var} = as_list({var})")
        if fp.to_text:
            code.add(indent, f"{var} = [to_text(x) for x in {var}]")
        return
    if fp.maybe_list:
        code.add(indent, f"if type({var}) is list:")
        code.add(indent + 1, f"{var} = single({var})")
    if fp.to_text:
        code.add(indent, f"if {var} is not None and type({var}) is not str:")
        code.add(indent + 1, f"{var} = to_text({var})")


def _items(code: _Code, indent: int, lp: ListPlan, gen: ItemsPlan, out: str) -> None:
    if gen.each is not None:
        _field(code, indent, gen.each, "e", "data")
        code.add(indent, "for el in items_of(e):")
        code.add(indent + 1, "if el is None:")
        code.add(indent + 2, "continue")
    else:
        code.add(indent, "for el in (data,):")
    inner = indent + 1
    variables = []
    code.add(inner, "seen = False")
    for position, (name, fp) in enumerate(gen.fields):
        var = f"f{position}"
        variables.append((name, var, fp))
        _field(code, inner, fp, var, "el", seen="seen")
    # An item whose sources are all empty, or whose values are all missing, is left out.
    code.add(
        inner, f"if not seen or ({' and '.join(f'{var} is None' for _, var, _ in variables)}):"
    )
    code.add(inner + 1, "continue")
    for name, var, fp in variables:
        if name in gen.required:
            _required(code, inner, var, fp, f"'{lp.target}[%d].{name}' % len({out})")
    code.add(inner, "item = {}")
    for name, var, _ in variables:
        code.add(inner, f"if {var} is not None:")
        code.add(inner + 1, f"item[{name!r}] = {var}")
    code.add(inner, f"{out}.append(item)")


def generate(plan: Plan) -> tuple[str, dict[str, Any]]:
    """Python source of the mapping function, and the namespace it runs in."""
    code = _Code()
    add = code.add
    add(0, "def map_record(data, record_id=None, updated_at=None, deleted=False):")
    add(1, "try:")
    add(2, "get = data.get")
    if plan.record_id is not None:
        _field(code, 2, plan.record_id, "record_id", "data")
        _required(code, 2, "record_id", plan.record_id, "'source.record_id'")
    else:
        add(2, "if record_id is None:")
        add(
            3,
            "raise RecordError(field='source.record_id', rule='required', "
            "source_field=None, reason='missing in the record')",
        )
    if plan.updated_at is not None:
        _field(code, 2, plan.updated_at, "updated_at", "data")
    add(
        2,
        f"src = {{'city': {plan.city!r}, 'source': {plan.source!r}, "
        f"'system': {plan.system!r}, 'record_id': record_id}}",
    )
    add(2, "if updated_at is not None:")
    add(3, "src['updated_at'] = updated_at")
    parents = containers(plan)
    variables = {parent: f"c{position}" for position, parent in enumerate(parents)}
    for parent in reversed(parents):
        children = [p for p in parents if p.rpartition(".")[0] == parent and "." in p]
        inits = ", ".join(f"{c.rpartition('.')[2]!r}: {variables[c]}" for c in children)
        add(2, f"{variables[parent]} = {{{inits}}}")
    add(2, "flag = None")
    for fp in plan.fields:
        _field(code, 2, fp, "v", "data")
        if fp.target == "deleted":
            add(2, "flag = v")
            continue
        parent, _, name = fp.target.rpartition(".")
        if fp.required or fp.shape == "scalar_list":
            if fp.required:
                _required(code, 2, "v", fp, repr(fp.target))
            add(2, f"{variables[parent]}[{name!r}] = v")
        else:
            add(2, "if v is not None:")
            add(3, f"{variables[parent]}[{name!r}] = v")
    top: list[tuple[str, str]] = [(p, variables[p]) for p in parents if "." not in p]
    for position, lp in enumerate(plan.lists):
        out = f"L{position}"
        add(2, f"{out} = []")
        if lp.objects:
            for gen in lp.items:
                _items(code, 2, lp, gen, out)
        else:
            for fp in lp.rules:
                _field(code, 2, fp, "v", "data")
                add(2, f"{out}.extend(v)")
            add(2, f"{out} = list(dict.fromkeys({out}))")
        if lp.required:
            add(2, f"if not {out}:")
            add(
                3,
                f"raise RecordError(field={lp.target!r}, rule='required', source_field=None, "
                "reason='missing in the record')",
            )
        parent, _, name = lp.target.rpartition(".")
        if parent:
            add(2, f"{variables[parent]}[{name!r}] = {out}")
        else:
            top.append((lp.target, out))
    body = ", ".join(f"{name!r}: {var}" for name, var in top)
    add(
        2,
        f"return {{'source': src, {body}, "
        "'deleted': True if deleted else (flag if flag is not None else False)}",
    )
    add(1, "except RecordError:")
    add(2, "raise")
    add(1, "except Exception:")
    add(2, "pass")
    # Raised outside the except block: the step's own exception (whose text may quote the
    # value) is not chained to the RecordError.
    add(1, "raise diagnose(data, record_id, updated_at, deleted)")
    code.names["diagnose"] = lambda *args: diagnose(plan, *args)
    return "\n".join(code.lines) + "\n", code.names


def compile_mapping(definition: SourceDefinition) -> Mapper:
    """Compile ``definition`` once into a fast :class:`Mapper`."""
    source, namespace = generate(build_plan(definition))
    filename = f"<mapping {definition.city}/{definition.source}>"
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own generated code
    mapper: Callable[..., dict[str, Any]] = namespace["map_record"]
    return mapper


def source_code(definition: SourceDefinition) -> str:
    """The Python source :func:`compile_mapping` generates for ``definition``."""
    return generate(build_plan(definition))[0]
