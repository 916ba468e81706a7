"""The compiled mapping: same results as the interpreter, precise record errors, no values."""

from __future__ import annotations

import gc
import pickle
import random
from pathlib import Path
from typing import Any

import pytest

from mappings import RecordError, compile, load_source, source_code
from mappings.interpreter import Run, diagnose
from mappings.plan import build_plan

DEFINITION = """\
source: welfare-csv
system: welfare
adapter: {kind: csv, options: {path: /srv/drops}}
record_id: {column: ID, transforms: [{type: trim}]}
fields:
  subject.identifiers.fiscal_code:
    column: CF
    transforms: [{type: trim}, {type: case, to: upper}]
  subject.identifiers.local_id: {path: persona.id}
  subject.family_name: {column: COGNOME, transforms: [{type: trim, collapse: true}]}
  subject.given_names:
    column: NOME
    transforms: [{type: concat, with: [{column: NOME2}]}, {type: case, to: title}]
  subject.sex: {column: SESSO, transforms: [{type: trim}, {type: code_map, map: sex}]}
  subject.birth_date: {column: NATO, transforms: [{type: date, formats: ["%d/%m/%Y"]}]}
  subject.languages: {column: LINGUE, transforms: [{type: split, separator: ","}]}
  subject.resident_in_city: {column: RES, transforms: [{type: boolean}]}
  case.intake_channel:
    column: CANALE
    transforms: [{type: code_map, map: channel}, {type: default, value: one_stop_shop}]
  case.status:
    column: CHIUSO
    transforms: [{type: when, present: true, then: closed_goal_met, else: open}]
  deleted: {xml: Stato/@annullata, transforms: [{type: boolean}]}
lists:
  case.vulnerabilities:
    - {column: V1, transforms: [{type: code_map, map: vuln}]}
    - {path: "altre[*]", transforms: [{type: code_map, map: vuln}]}
  services:
    - fields:
        type: {column: S1, transforms: [{type: code_map, map: service}]}
        start: {column: S1_DAL, transforms: [{type: date, formats: ["%d/%m/%Y"]}]}
    - each: {xml: Interventi/Intervento}
      fields:
        type: {xml: tipo, transforms: [{type: code_map, map: service}]}
        status: {xml: "@stato", transforms: [{type: when, equals: "1", then: active}]}
code_maps:
  sex: {codelist: sex, codes: {M: M, F: F}}
  channel: {codelist: intake_channel, codes: {UM: mobile_unit}, default: null}
  vuln: {codelist: vulnerability, codes: {SD: homelessness, DIS: disability}}
  service: {codelist: service_type, codes: {"01": housing_support, "05": language_course}}
required: [subject.family_name]
"""

GOOD = {
    "ID": " R-1 ",
    "CF": " zzzmna90e41z330x",
    "COGNOME": "El  Amrani",
    "NOME": "AMINA",
    "NOME2": "sara",
    "SESSO": "F",
    "NATO": "01/05/1990",
    "LINGUE": "ar, fr",
    "RES": "Sì",
    "CANALE": "UM",
    "CHIUSO": "",
    "V1": "SD",
    "altre": ["DIS", "SD"],
    "S1": "01",
    "S1_DAL": "15/01/2024",
    "persona": {"id": 5001},
    "Interventi": {"Intervento": [{"tipo": "05", "@stato": "1"}, {"tipo": "01"}]},
    "Stato": {"@annullata": "No"},
}


@pytest.fixture
def definition(tmp_path: Path) -> Any:
    path = tmp_path / "roma" / "welfare-csv.yaml"
    path.parent.mkdir()
    path.write_text(DEFINITION, encoding="utf-8")
    return load_source(path)


def test_compiled_mapping_output(definition: Any) -> None:
    record = compile(definition)(GOOD)
    assert record == {
        "source": {
            "city": "roma",
            "source": "welfare-csv",
            "system": "welfare",
            "record_id": "R-1",
        },
        "subject": {
            "identifiers": {"fiscal_code": "ZZZMNA90E41Z330X", "local_id": "5001"},
            "family_name": "El Amrani",
            "given_names": "Amina Sara",
            "sex": "F",
            "birth_date": __import__("datetime").date(1990, 5, 1),
            "languages": ["ar", "fr"],
            "resident_in_city": True,
        },
        "case": {
            "intake_channel": "mobile_unit",
            "status": "open",
            "vulnerabilities": ["homelessness", "disability"],
        },
        "services": [
            {"type": "housing_support", "start": __import__("datetime").date(2024, 1, 15)},
            {"type": "language_course", "status": "active"},
            {"type": "housing_support"},
        ],
        "deleted": False,
    }


# fmt: off
TEXTS: list[Any] = ["", " ", "x", "F", " f ", "01", "SD", "UM", "Sì", "forse", "31/02/1990",
                    "01/05/1990", "a,b", "a,,SD"]
ANYTHING: list[Any] = [*TEXTS, 7, 1.5, True, None, [], ["SD", 3], {"k": "v"}]
# fmt: on


def _mutations(rng: random.Random, csv: bool = False) -> dict[str, Any]:
    record = dict(GOOD)
    for key in rng.sample(sorted(GOOD), rng.randrange(1, 5)):
        # CSV cells are always text (or absent); other sources send anything
        text_only = csv and key.isupper()
        record[key] = rng.choice(TEXTS if text_only else ANYTHING)
    if rng.random() < 0.2:
        record["Interventi"] = rng.choice(
            [None, {"Intervento": {"tipo": "05"}}, {"Intervento": [{"tipo": "99"}]}, "text"]
        )
    return record


@pytest.mark.parametrize("kind", ["rest", "csv"])
def test_compiled_code_and_interpreter_agree_on_odd_records(tmp_path: Path, kind: str) -> None:
    """The fast path skips bookkeeping; the interpreter names errors. They must never differ."""
    path = tmp_path / "roma" / "welfare-csv.yaml"
    path.parent.mkdir()
    path.write_text(DEFINITION.replace("kind: csv", f"kind: {kind}"), encoding="utf-8")
    definition = load_source(path)
    mapper = compile(definition)
    plan = build_plan(definition)
    rng = random.Random(20240301)
    outcomes = set()
    for _ in range(2000):
        record = _mutations(rng, csv=kind == "csv")
        try:
            compiled: Any = mapper(record)
        except RecordError as error:
            compiled = ("error", error.field, error.rule)
        try:
            interpreted: Any = Run(plan).record(record)
        except RecordError as error:
            interpreted = ("error", error.field, error.rule)
        assert compiled == interpreted, record
        assert compiled != ("error", "(record)", "internal")
        outcomes.add(compiled[2] if isinstance(compiled, tuple) else "ok")
    # the fuzzing reached mapped records and several kinds of failure
    assert {"ok", "date", "code_map", "required", "boolean"} <= outcomes


SECRETS = {
    "CF": "ZZZMNA90E41Z330X",
    "COGNOME": "",
    "NATO": "ZZZMNA90E41Z330X",
    "SESSO": "ZZZMNA90E41Z330X",
    "S1": "ZZZMNA90E41Z330X",
}


@pytest.mark.parametrize(
    ("change", "field", "rule", "source_field"),
    [
        ({"NATO": "ZZZMNA90E41Z330X"}, "subject.birth_date", "date", "NATO"),
        ({"SESSO": "ZZZMNA90E41Z330X"}, "subject.sex", "code_map", "SESSO"),
        ({"COGNOME": "   "}, "subject.family_name", "required", "COGNOME"),
        ({"ID": ""}, "source.record_id", "required", "ID"),
        ({"S1": "ZZZMNA90E41Z330X"}, "services[0].type", "code_map", "S1"),
        ({"S1": "", "S1_DAL": "01/01/2024"}, "services[0].type", "required", "S1"),
        (
            {"Interventi": {"Intervento": [{"tipo": "05"}, {"tipo": "ZZZMNA90E41Z330X"}]}},
            "services[2].type",
            "code_map",
            "tipo",
        ),
        ({"RES": "ZZZMNA90E41Z330X"}, "subject.resident_in_city", "boolean", "RES"),
        ({"altre": ["ZZZMNA90E41Z330X"]}, "case.vulnerabilities", "code_map", "altre[*]"),
        ({"Stato": {"@annullata": ["Sì", "No"]}}, "deleted", "xml", "Stato/@annullata"),
    ],
)
def test_record_error_names_field_rule_and_source_never_the_value(
    definition: Any, change: dict[str, Any], field: str, rule: str, source_field: str
) -> None:
    with pytest.raises(RecordError) as caught:
        compile(definition)({**GOOD, **change})
    error = caught.value
    assert (error.field, error.rule, error.source_field) == (field, rule, source_field)
    assert str(error).startswith(f"{field} (from {source_field}): rule {rule} failed")
    for text in (str(error), repr(error), str(error.reason)):
        assert "ZZZMNA90E41Z330X" not in text
    # no exception (whose text could quote the value) is chained to it
    assert error.__context__ is None and error.__cause__ is None
    # picklable, for process pools
    again = pickle.loads(pickle.dumps(error))
    assert (again.field, again.rule, str(again)) == (error.field, error.rule, str(error))


def test_a_failing_record_leaves_no_reference_cycle(definition: Any) -> None:
    """An error whose traceback frames hold it is a cycle: the pipeline's whole batch (in the
    caller's frames) would wait for the garbage collector, which it pauses per batch."""
    mapper = compile(definition)
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            with pytest.raises(RecordError):
                mapper({**GOOD, "NATO": "not a date"})
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_record_id_and_tombstone_from_the_adapter(tmp_path: Path) -> None:
    path = tmp_path / "roma" / "welfare-csv.yaml"
    path.parent.mkdir()
    path.write_text(
        "source: welfare-csv\nsystem: welfare\nadapter: {kind: csv}\n"
        "fields:\n  subject.family_name: {column: COGNOME}\n",
        encoding="utf-8",
    )
    mapper = compile(load_source(path))
    record = mapper(
        {"COGNOME": "Rossi"}, record_id="A7", updated_at="2024-03-01T10:00:00Z", deleted=True
    )
    assert record["source"]["record_id"] == "A7"
    assert record["source"]["updated_at"] == "2024-03-01T10:00:00Z"
    assert record["deleted"] is True
    assert "case" not in record and "services" not in record
    with pytest.raises(RecordError) as caught:
        mapper({"COGNOME": "Rossi"})
    assert (caught.value.field, caught.value.rule) == ("source.record_id", "required")


def test_generated_code_is_plain_python_without_interpretation(definition: Any) -> None:
    code = source_code(definition)
    assert code.startswith("def map_record(data, record_id=None, updated_at=None, deleted=False)")
    assert "get('COGNOME')" in code  # CSV columns read inline
    assert "n" in code and ".get(v, " in code  # code maps inlined as dict lookups
    compile(definition)  # compiles without error


def test_diagnose_reports_internal_disagreement(definition: Any) -> None:
    error = diagnose(build_plan(definition), GOOD)
    assert (error.field, error.rule) == ("(record)", "internal")
