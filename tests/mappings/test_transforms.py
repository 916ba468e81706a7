"""The transforms: the node table, the examples in their docstrings, and their behaviour."""

from __future__ import annotations

import datetime as dt
import importlib
import re
import typing
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter, ValidationError

from mappings.compiler import _Code, _inline
from mappings.nodes import CodeMap
from mappings.selectors import build_selector
from mappings.transforms import BUILDERS, BuildContext, StepFailed, Transform, build_step
from mappings.yaml_lines import load_yaml

NODES = TypeAdapter(Transform)
CODE_MAPS = {
    "sex": CodeMap(codelist="sex", codes={"M": "M", "F": "F", "01": "X"}),
    "loose": CodeMap(codelist="sex", codes={"Männlich": "M"}, ignore_case=True, default=None),
}


def step(node: dict[str, Any], on_miss: Any = None) -> Any:
    context = BuildContext(code_maps=CODE_MAPS, select=build_selector, on_miss=on_miss)
    return build_step(NODES.validate_python(node), context)


def test_every_node_type_has_a_builder_and_back() -> None:
    members = typing.get_args(typing.get_args(Transform)[0])
    types = {typing.get_args(m.model_fields["type"].annotation)[0] for m in members}
    assert types == set(BUILDERS)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_docstring_example_is_valid_yaml_with_valid_nodes(name: str) -> None:
    builder = BUILDERS[name]
    module = importlib.import_module(builder.__module__)
    doc = module.__doc__ or ""
    assert ".. code-block:: yaml" in doc, f"{module.__name__}: no YAML example"
    block = doc.split(".. code-block:: yaml", 1)[1]
    # The language's own loader: keys stay text, so `true:` is the key "true".
    example, _ = load_yaml(re.sub(r"\n(?=\S)[\s\S]*$", "\n", block.lstrip("\n")))
    found = []

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("type") == name:
                found.append(NODES.validate_python(value))
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit(example)
    assert found, f"the example of {name} uses no {name} node"


BEHAVIOUR: list[tuple[dict[str, Any], Any, Any]] = [
    # (node, input, expected output; StepFailed: a record error)
    ({"type": "trim"}, "  Rossi  ", "Rossi"),
    ({"type": "trim"}, "   ", None),
    ({"type": "trim"}, 42, 42),
    ({"type": "trim", "collapse": True}, " De   Luca ", "De Luca"),
    ({"type": "case", "to": "upper"}, "zzzmna90e41", "ZZZMNA90E41"),
    ({"type": "case", "to": "lower"}, "AR", "ar"),
    ({"type": "case", "to": "title"}, "D'ANGELO AL-SAYED", "D'Angelo Al-Sayed"),
    ({"type": "case", "to": "upper"}, 7, "7"),
    ({"type": "case", "to": "upper"}, {"a": 1}, StepFailed),
    ({"type": "date", "formats": ["%d/%m/%Y"]}, "01/05/1990", dt.date(1990, 5, 1)),
    ({"type": "date", "formats": ["%d/%m/%Y"]}, " 1/5/1990 ", dt.date(1990, 5, 1)),
    ({"type": "date", "formats": ["%d/%m/%Y"]}, "31/02/1990", StepFailed),
    ({"type": "date", "formats": ["%d/%m/%Y"]}, "1990-05-01", StepFailed),
    ({"type": "date", "formats": ["%d/%m/%Y"]}, "١٢/05/1990", StepFailed),
    ({"type": "date", "formats": ["%d/%m/%Y", "%Y-%m-%d"]}, "1990-05-01", dt.date(1990, 5, 1)),
    ({"type": "date", "formats": ["%d.%m.%Y"]}, "14.02.1987", dt.date(1987, 2, 14)),
    ({"type": "date", "formats": ["%Y%m%d"]}, "19870214", dt.date(1987, 2, 14)),
    ({"type": "date", "formats": ["%d/%m/%y"]}, "01/05/68", dt.date(2068, 5, 1)),
    ({"type": "date", "formats": ["%d %B %Y"]}, "3 marzo 1990", dt.date(1990, 3, 3)),
    ({"type": "date", "formats": ["%d %b %Y"]}, "3 Mär 1990", dt.date(1990, 3, 3)),
    ({"type": "date", "formats": ["%d %B %Y"]}, "3 Brumaire 1990", StepFailed),
    ({"type": "date", "formats": ["%d/%m/%Y"]}, dt.datetime(1990, 5, 1, 8), dt.date(1990, 5, 1)),
    ({"type": "date", "formats": ["%d/%m/%Y"]}, 19900501, StepFailed),
    (
        {"type": "datetime", "formats": ["%d/%m/%Y %H:%M"]},
        "01/03/2024 09:15",
        dt.datetime(2024, 3, 1, 9, 15, tzinfo=ZoneInfo("Europe/Rome")),
    ),
    (
        {"type": "datetime", "formats": ["%Y-%m-%dT%H:%M:%S%z"]},
        "2024-03-01T09:15:00Z",
        dt.datetime(2024, 3, 1, 9, 15, tzinfo=dt.UTC),
    ),
    (
        {"type": "datetime", "formats": ["%Y-%m-%dT%H:%M:%S.%f%z"]},
        "2024-03-01T09:15:00.5-0130",
        dt.datetime(
            2024, 3, 1, 9, 15, 0, 500000, tzinfo=dt.timezone(-dt.timedelta(hours=1, minutes=30))
        ),
    ),
    (
        {"type": "datetime", "formats": ["%d/%m/%Y %H:%M"], "timezone": "UTC"},
        "01/03/2024 25:00",
        StepFailed,
    ),
    ({"type": "number"}, "1.234,56", 1234.56),
    ({"type": "number", "as": "int"}, "12.345.678.901", 12345678901),
    ({"type": "number", "as": "int"}, "1.234,5", StepFailed),
    ({"type": "number", "as": "decimal"}, "-0,10", Decimal("-0.10")),
    ({"type": "number", "thousands": ",", "decimal": "."}, "1,234.5", 1234.5),
    ({"type": "number"}, "1.23", StepFailed),
    ({"type": "number"}, "12 abc", StepFailed),
    ({"type": "number", "as": "int"}, 7.0, 7),
    ({"type": "number"}, True, StepFailed),
    ({"type": "boolean"}, "Sì", True),
    ({"type": "boolean"}, "SI", True),
    ({"type": "boolean"}, "s", True),
    ({"type": "boolean"}, " sí ", True),
    ({"type": "boolean"}, "No", False),
    ({"type": "boolean"}, "N", False),
    ({"type": "boolean"}, "Ja", True),
    ({"type": "boolean"}, "NEIN", False),
    ({"type": "boolean"}, "1", True),
    ({"type": "boolean"}, 0, False),
    ({"type": "boolean"}, "yes", True),
    ({"type": "boolean"}, False, False),
    ({"type": "boolean"}, "forse", StepFailed),
    (
        {"type": "boolean", "true": ["residente"], "false": ["Non residente"]},
        "NON RESIDENTE",
        False,
    ),
    ({"type": "split", "separator": ";"}, "SD; DIS;;", ["SD", "DIS"]),
    ({"type": "split", "separator": ";"}, " ; ", None),
    ({"type": "split", "separator": "|", "trim": False}, "a | b", ["a ", " b"]),
    ({"type": "join"}, ["Amina", "Sara"], "Amina Sara"),
    ({"type": "join", "separator": "-"}, "solo", "solo"),
    ({"type": "regex", "pattern": r"^(\d+)\s*-"}, "03 - Sostegno abitativo", "03"),
    ({"type": "regex", "pattern": r"^(?P<code>[A-Z]+)", "group": "code"}, "SFD/x", "SFD"),
    ({"type": "regex", "pattern": r"^\d+$", "group": 0}, "abc", None),
    ({"type": "code_map", "map": "sex"}, "F", "F"),
    ({"type": "code_map", "map": "sex"}, 1, StepFailed),
    ({"type": "code_map", "map": "sex"}, "01", "X"),
    ({"type": "code_map", "map": "sex"}, "f", StepFailed),
    ({"type": "code_map", "map": "loose"}, " MÄNNLICH", "M"),
    ({"type": "code_map", "map": "loose"}, "unbekannt", None),
    ({"type": "default", "value": "open"}, None, "open"),
    ({"type": "default", "value": "open"}, "closed", "closed"),
    ({"type": "when", "equals": "ANNULLATA", "then": True, "else": False}, "ANNULLATA", True),
    ({"type": "when", "equals": "ANNULLATA", "then": True, "else": False}, "ATTIVA", False),
    ({"type": "when", "equals": 1, "then": "yes"}, "1", "yes"),
    ({"type": "when", "in": ["A", "B"]}, "B", "B"),
    ({"type": "when", "in": ["A", "B"]}, "C", None),
    ({"type": "when", "matches": "[0-9]{11}", "else": "x"}, "12345678901", "12345678901"),
    ({"type": "when", "present": True, "then": "closed_goal_met", "else": "open"}, None, "open"),
    ({"type": "when", "present": False, "then": "unknown"}, None, "unknown"),
    ({"type": "when", "equals": "X", "then": 1}, ["A", "X"], 1),
]


@pytest.mark.parametrize(("node", "value", "expected"), BEHAVIOUR)
def test_transform_behaviour(node: dict[str, Any], value: Any, expected: Any) -> None:
    built = step(node)
    apply = built.apply
    call = (lambda v: apply(v, {}, {})) if built.reads_record else apply
    if expected is StepFailed:
        with pytest.raises(StepFailed) as caught:
            call(value)
        # the reason describes the rule, never the value
        if len(str(value)) > 3:
            assert str(value) not in caught.value.reason
    else:
        assert call(value) == expected


def test_concat_and_when_read_other_fields() -> None:
    record = {"NOME2": "Sara", "TIPO": "STP", "VUOTO": ""}
    concat = step({"type": "concat", "with": [{"column": "NOME2"}, {"column": "VUOTO"}]})
    assert concat.apply("Amina", record, record) == "Amina Sara"
    assert concat.apply(None, record, record) == "Sara"
    when = step({"type": "when", "source": {"column": "TIPO"}, "equals": "STP"})
    assert when.apply("STP0080000012345", record, record) == "STP0080000012345"
    assert when.apply("X", {"TIPO": "ENI"}, {}) is None


def test_code_map_reports_misses_to_coverage() -> None:
    misses: list[tuple[str, str]] = []
    built = step({"type": "code_map", "map": "loose"}, on_miss=lambda n, c: misses.append((n, c)))
    assert built.apply("Weiblich") is None
    assert misses == [("loose", "weiblich")]


INLINE_INPUTS: list[Any] = [
    "",
    " ",
    " Ab ",
    "F",
    "f",
    "01",
    "Sì",
    "NEIN",
    "x",
    0,
    1,
    1.0,
    True,
    False,
    12,
    [],
    ["a"],
    {"a": 1},
    dt.date(2024, 1, 1),
]
INLINED = [
    {"type": "trim"},
    {"type": "case", "to": "upper"},
    {"type": "case", "to": "lower"},
    {"type": "case", "to": "title"},
    {"type": "code_map", "map": "sex"},
    {"type": "boolean"},
    {"type": "default", "value": "open"},
]


@pytest.mark.parametrize("node", INLINED, ids=lambda n: n["type"])
def _inlined(built: Any, statements: tuple[str, ...]) -> Any:
    code = _Code()
    name = code.bind(built.apply, "s")
    code.add(0, "def inlined(v):")
    _inline(code, 1, built, "v", name, statements)
    code.add(1, "return v")
    exec("\n".join(code.lines), code.names)
    return code.names["inlined"]


def _outcome(function: Any, value: Any) -> Any:
    try:
        return function(value)
    except Exception as exc:
        return type(exc)


@pytest.mark.parametrize("node", INLINED, ids=lambda n: n["type"])
def test_inline_code_does_exactly_what_apply_does(node: dict[str, Any]) -> None:
    built = step(node)
    assert built.inline, "expected an inline form"
    generic = _inlined(built, built.inline)
    for value in [*INLINE_INPUTS, None] if built.mode == "always" else INLINE_INPUTS:
        expected = _outcome(built.apply, value)
        got = _outcome(generic, value)
        assert got == expected and type(got) is type(expected), value
    if built.inline_text:  # used only when the value is known to be text
        text_only = _inlined(built, built.inline_text)
        for value in [v for v in INLINE_INPUTS if isinstance(v, str)]:
            expected = _outcome(built.apply, value)
            got = _outcome(text_only, value)
            assert got == expected and type(got) is type(expected), value


def test_nodes_reject_unknown_keys_and_types() -> None:
    with pytest.raises(ValidationError):
        NODES.validate_python({"type": "trim", "colapse": True})
    with pytest.raises(ValidationError):
        NODES.validate_python({"type": "nope"})
