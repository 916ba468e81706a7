"""Walk a :class:`~mappings.plan.Plan` rule by rule, optionally recording every step.

Slower than the compiled mapping, and used where slowness does not matter: ``explain`` (every
value along the way, for the mapping's author), ``coverage`` (every record, going on after
failures), and diagnosis (when a compiled mapping fails, the interpreter finds which rule and
field, so the compiled code needs no bookkeeping on the fast path). It uses the same step
functions in the same order as the compiled code, so the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mappings.errors import RecordError
from mappings.plan import FieldPlan, ItemsPlan, ListPlan, Plan, as_list, each, items_of, single
from mappings.plan import to_text as text_of
from mappings.transforms import StepFailed


@dataclass(frozen=True)
class ExplainRow:
    """One step of one field: ``source_value`` went through ``rule`` and became ``result``."""

    target: str
    source_path: str | None
    source_value: Any
    rule: str
    result: Any
    error: str | None = None


class Run:
    """One interpretation of one record."""

    def __init__(self, plan: Plan, *, trace: bool = False, keep_going: bool = False) -> None:
        self.plan = plan
        self.rows: list[ExplainRow] | None = [] if trace else None
        self.keep_going = keep_going
        self.errors: list[RecordError] = []
        self.seen = False  # did a source of the current list item have a value?

    # -- fields ------------------------------------------------------------------------------

    def _fail(
        self, error: RecordError, label: str, source: str | None, value: Any, rule: str = ""
    ) -> None:
        if self.rows is not None:
            self.rows.append(ExplainRow(label, source, value, rule or error.rule, None, str(error)))
        if not self.keep_going:
            raise error
        self.errors.append(error)

    def field(self, fp: FieldPlan, data: Mapping[str, Any], el: Any, label: str) -> Any:
        """The value of one rule; ``None`` after a failure when going on."""
        source = fp.source_field
        value = fp.selector.read(data, el)
        self.seen = self.seen or (value is not None and fp.selector.kind != "value")
        rows = self.rows
        if rows is not None:
            rows.append(
                ExplainRow(label, source, value, f"{fp.selector.kind} {fp.selector.text}", value)
            )
        for step, maybe_list in zip(fp.steps, fp.list_before, strict=True):
            before = value
            if value is None and step.mode != "always":
                continue  # skipped: nothing to transform
            # Errors are raised after the except block, so that no exception holding the
            # value (ValueError texts quote their input) is chained to the RecordError.
            reason = None
            try:
                if step.mode == "always":
                    value = step.apply(value, data, el) if step.reads_record else step.apply(value)
                elif maybe_list and step.mode == "each":
                    value = each(step.apply, value)
                else:
                    value = step.apply(value)
            except StepFailed as exc:
                reason = exc.reason
            except Exception:
                reason = "cannot apply to this value"
            if reason is not None:
                error = RecordError(field=label, rule=step.rule, source_field=source, reason=reason)
                self._fail(error, label, source, before, step.label)
                return None
            if rows is not None:
                rows.append(ExplainRow(label, source, before, step.label, value))
        return value

    def finish(self, fp: FieldPlan, value: Any, label: str) -> Any:
        """Shape a rule's value for its target: one value, or a list; text for text targets."""
        if fp.shape == "scalar_list":
            items = as_list(value)
            return [text_of(item) for item in items] if fp.to_text else items
        if fp.maybe_list and type(value) is list and len(value) > 1:
            error = RecordError(
                field=label,
                rule=fp.selector.kind,
                source_field=fp.source_field,
                reason="several values where the target holds one",
            )
            self._fail(error, label, fp.source_field, value)
            return None
        if fp.maybe_list:
            value = single(value)
        return text_of(value) if fp.to_text else value

    def required(self, label: str, source: str | None) -> None:
        self._fail(
            RecordError(
                field=label, rule="required", source_field=source, reason="missing in the record"
            ),
            label,
            source,
            None,
        )

    def value(self, fp: FieldPlan, data: Mapping[str, Any], el: Any, label: str) -> Any:
        value = self.finish(fp, self.field(fp, data, el, label), label)
        if fp.required and (not value if fp.shape == "scalar_list" else value is None):
            self.required(label, fp.source_field)
        return value

    # -- lists -------------------------------------------------------------------------------

    def items(self, lp: ListPlan, gen: ItemsPlan, data: Mapping[str, Any], out: list[Any]) -> None:
        elements: list[Any] = [data]
        if gen.each is not None:
            elements = items_of(self.field(gen.each, data, data, lp.target))
        for el in elements:
            if el is None:
                continue
            index = len(out)
            self.seen = False
            values = [
                (name, self.value(fp, data, el, f"{lp.target}[{index}].{name}"))
                for name, fp in gen.fields
            ]
            # An item whose sources are all empty, or whose values are all missing, is left out.
            if not self.seen or all(v is None for _, v in values):
                continue
            plans = dict(gen.fields)
            for name in gen.required:
                if dict(values).get(name) is None:
                    self.required(f"{lp.target}[{index}].{name}", plans[name].source_field)
            out.append({name: v for name, v in values if v is not None})

    def list_value(self, lp: ListPlan, data: Mapping[str, Any]) -> list[Any]:
        out: list[Any] = []
        if lp.objects:
            for gen in lp.items:
                self.items(lp, gen, data, out)
        else:
            for fp in lp.rules:
                out.extend(self.finish(fp, self.field(fp, data, data, lp.target), lp.target))
            out = list(dict.fromkeys(out))
        if lp.required and not out:
            self.required(lp.target, None)
        return out

    # -- the record --------------------------------------------------------------------------

    def record(
        self,
        data: Mapping[str, Any],
        record_id: str | None = None,
        updated_at: Any = None,
        deleted: bool = False,
    ) -> dict[str, Any]:
        plan = self.plan
        source: dict[str, Any] = {"city": plan.city, "source": plan.source, "system": plan.system}
        if plan.record_id is not None:
            record_id = self.value(plan.record_id, data, data, "source.record_id")
        elif record_id is None:
            self.required("source.record_id", None)
        source["record_id"] = record_id
        if plan.updated_at is not None:
            updated_at = self.value(plan.updated_at, data, data, "source.updated_at")
        if updated_at is not None:
            source["updated_at"] = updated_at
        out: dict[str, Any] = {"source": source}
        for parent in containers(plan):
            place(out, parent, {})
        flag: Any = None
        for fp in plan.fields:
            value = self.value(fp, data, data, fp.target)
            if fp.target == "deleted":
                flag = value
            elif value is not None:
                place(out, fp.target, value)
        for lp in plan.lists:
            place(out, lp.target, self.list_value(lp, data))
        out["deleted"] = True if deleted else (flag if flag is not None else False)
        return out


def containers(plan: Plan) -> list[str]:
    """Parents of the plan's targets, outermost first: ``subject``, ``subject.identifiers``."""
    found = {"subject": None, "subject.identifiers": None}
    for target in [fp.target for fp in plan.fields] + [lp.target for lp in plan.lists]:
        parts = target.split(".")
        for end in range(1, len(parts)):
            found[".".join(parts[:end])] = None
    return list(found)


def place(out: dict[str, Any], target: str, value: Any) -> None:
    """Put ``value`` at the dotted ``target`` of the output, creating containers on the way."""
    *parents, name = target.split(".")
    container = out
    for parent in parents:
        container = container.setdefault(parent, {})
    container[name] = value


def interpret(
    plan: Plan,
    data: Mapping[str, Any],
    record_id: str | None = None,
    updated_at: Any = None,
    deleted: bool = False,
) -> dict[str, Any]:
    """Map one record the slow way; raises the first :class:`RecordError`."""
    return Run(plan).record(data, record_id, updated_at, deleted)


def diagnose(
    plan: Plan,
    data: Mapping[str, Any],
    record_id: str | None = None,
    updated_at: Any = None,
    deleted: bool = False,
) -> RecordError:
    """The precise error of a record the compiled mapping failed on."""
    try:
        Run(plan).record(data, record_id, updated_at, deleted)
    except RecordError as error:
        # Without its traceback: the frames it holds hold the error (a reference cycle), and
        # the caller's frames with it — a whole batch of records left to the garbage collector.
        return error.with_traceback(None)
    return RecordError(
        field="(record)",
        rule="internal",
        reason="the compiled mapping failed where the interpreter did not",
    )
