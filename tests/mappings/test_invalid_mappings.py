"""Every way a source definition can be wrong, with the exact message its author gets.

``INVALID_MAPPINGS`` is the one place that shows them (as dlt's INVALID_CONFIGS): each entry
is the file's text and the message, ``{file}`` standing for the file's path. Every message
names the file, the line and the path inside the file. ``VALID_MAPPINGS`` are small files
that load, with a record and (part of) what it maps to.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from mappings import MappingError, MissingEnvironmentVariable, check, compile, load_source

# Lines 1-3 of most cases: the smallest valid header.
H = """\
source: welfare-csv
system: welfare
adapter: {kind: csv, options: {path: /srv/drops}}
"""

INVALID_MAPPINGS: list[tuple[str, str]] = [
    # -- YAML and the file's shape ------------------------------------------------------------
    (
        "fields: [\n",
        "{file}:2: not valid YAML: expected the node content, but found '<stream end>'",
    ),
    (
        "- source: welfare-csv\n",
        "{file}:1: expected a mapping with source, system, adapter and fields",
    ),
    ("", "{file}:1: expected a mapping with source, system, adapter and fields"),
    (
        H + "fields:\n  subject.sex: {column: A}\n  subject.sex: {column: B}\n",
        "{file}:6: fields.subject.sex: duplicate key 'subject.sex' (first at line 5)",
    ),
    ("system: welfare\nadapter: {kind: csv}\n", "{file}:1: missing key 'source'"),
    ("source: welfare-csv\nsystem: welfare\n", "{file}:1: missing key 'adapter'"),
    (
        H + "feilds:\n  subject.sex: {column: SESSO}\n",
        "{file}:4: unknown key 'feilds'; did you mean 'fields'?",
    ),
    (
        H.replace("source: welfare-csv", "source: Welfare_CSV"),
        "{file}:1: source: expected a slug: lowercase letters, digits and '-', starting with a "
        "letter",
    ),
    (
        H.replace("source: welfare-csv", "source: welfare-rest"),
        "{file}:1: source: source 'welfare-rest' must match the file name 'welfare-csv'",
    ),
    (
        H.replace("system: welfare", "system: social"),
        "{file}:2: system: unknown system 'social'; expected one of: health, housing, registry, "
        "welfare",
    ),
    (H + "city: atlantis\n", "{file}:4: city: unknown city 'atlantis': not in specs/cities.yaml"),
    (
        H + "schedule: {every: 15 minutes}\n",
        "{file}:4: schedule.every: write the interval as a number and s, m, h or d, e.g. 15m",
    ),
    (
        H.replace("{kind: csv,", "{type: csv,"),
        "{file}:3: adapter: missing key 'kind'\n"
        "{file}:3: adapter: unknown key 'type'; expected one of: kind, options",
    ),
    # -- rules: where a value comes from -----------------------------------------------------
    (
        H + "fields:\n  subject.family_name: {colum: COGNOME}\n",
        "{file}:5: fields.subject.family_name: unknown key 'colum'; did you mean 'column'?",
    ),
    (
        H + "fields:\n  subject.family_name: {column: COGNOME, path: cognome}\n",
        "{file}:5: fields.subject.family_name: give exactly one source: column, path, xml or value "
        "(found column, path)",
    ),
    (
        H + "fields:\n  subject.family_name: {transforms: [{type: trim}]}\n",
        "{file}:5: fields.subject.family_name: give exactly one source: column, path, xml or value",
    ),
    (H + "record_id: ID\n", "{file}:4: record_id: expected a mapping"),
    (
        H + "fields:\n  subject.family_name: {column: COGNOME, transforms: trim}\n",
        "{file}:5: fields.subject.family_name.transforms: expected a list",
    ),
    (
        H + "fields:\n  case.intake_channel: {value: {a: 1}}\n",
        "{file}:5: fields.case.intake_channel.value: expected text, a whole number, a number or "
        "true/false",
    ),
    (
        H + "fields:\n  subject.family_name: {path: persona..cognome}\n",
        "{file}:5: fields.subject.family_name.path: bad path 'persona..cognome' at character 8: "
        "write keys separated by dots, [n] or [*], e.g. a.b[0].c",
    ),
    (
        H + "fields:\n  subject.family_name: {xml: cs:Assistito/cs:cognome}\n",
        "{file}:5: fields.subject.family_name.xml: bad XML path 'cs:Assistito/cs:cognome': use "
        "local names without prefix (namespaces are dropped from record data)",
    ),
    # -- transforms ----------------------------------------------------------------------------
    (
        H + "fields:\n  subject.birth_date:\n    column: NASCITA\n"
        "    transforms: [{type: dat, formats: ['%d/%m/%Y']}]\n",
        "{file}:7: fields.subject.birth_date.transforms[0]: unknown transform type 'dat'; expected "
        "one of: boolean, case, code_map, concat, date, datetime, default, join, number, regex, "
        "split, trim, when",
    ),
    (
        H + "fields:\n  subject.birth_date:\n    column: NASCITA\n"
        "    transforms: [{formats: ['%d/%m/%Y']}]\n",
        "{file}:7: fields.subject.birth_date.transforms[0]: a transform needs a 'type'",
    ),
    (
        H + "fields:\n  subject.family_name:\n    column: COGNOME\n"
        "    transforms: [{type: trim, colapse: true}]\n",
        "{file}:7: fields.subject.family_name.transforms[0]: unknown key 'colapse'; did you mean "
        "'collapse'?",
    ),
    (
        H + "fields:\n  subject.birth_date:\n    column: NASCITA\n    transforms: [{type: date}]\n",
        "{file}:7: fields.subject.birth_date.transforms[0]: missing key 'formats'",
    ),
    (
        H + "fields:\n  subject.birth_date:\n    column: NASCITA\n"
        "    transforms: [{type: date, formats: [dd/mm/yyyy]}]\n",
        "{file}:7: fields.subject.birth_date.transforms[0].formats: format 'dd/mm/yyyy' has no % "
        "directive: write it with strptime directives, e.g. '%d/%m/%Y'",
    ),
    (
        H + "fields:\n  subject.birth_date:\n    column: NASCITA\n"
        "    transforms: [{type: date, formats: ['%d/%m/%Q']}]\n",
        "{file}:7: fields.subject.birth_date.transforms[0].formats: format '%d/%m/%Q': unsupported "
        "directive %Q; use %d %m %Y %y %b %B %H %M %S %f %z",
    ),
    (
        H + "fields:\n  subject.birth_date:\n    column: NASCITA\n"
        "    transforms: [{type: date, formats: ['%d/%m']}]\n",
        "{file}:7: fields.subject.birth_date.transforms[0].formats: format '%d/%m' needs a day "
        "(%d), a month (%m or %b) and a year (%Y)",
    ),
    (
        H + "fields:\n  subject.birth_date:\n    column: NASCITA\n"
        "    transforms: [{type: date, formats: ['%d/%m/%Y %H:%M']}]\n",
        "{file}:7: fields.subject.birth_date.transforms[0].formats: format '%d/%m/%Y %H:%M' has a "
        "time: use type datetime for date and time",
    ),
    (
        H + "updated_at:\n  column: MODIFICA\n  transforms:\n"
        "    - {type: datetime, formats: ['%d/%m/%Y %H:%M'], timezone: Europe/Bozen}\n",
        "{file}:7: updated_at.transforms[0].timezone: unknown time zone 'Europe/Bozen'; write an "
        "IANA name such as 'Europe/Rome'",
    ),
    (
        H + "fields:\n  subject.family_name:\n    column: COGNOME\n"
        "    transforms: [{type: case, to: shout}]\n",
        "{file}:7: fields.subject.family_name.transforms[0].to: expected 'upper', 'lower' or "
        "'title'",
    ),
    (
        H + "fields:\n  subject.identifiers.local_id:\n    column: N\n"
        "    transforms: [{type: number, thousands: ',', decimal: ','}]\n",
        "{file}:7: fields.subject.identifiers.local_id.transforms[0]: thousands and decimal "
        "separators must differ",
    ),
    (
        H + "fields:\n  subject.identifiers.local_id:\n    column: N\n"
        "    transforms: [{type: regex, pattern: '(\\d+'}]\n",
        "{file}:7: fields.subject.identifiers.local_id.transforms[0]: pattern does not compile: "
        "missing ), unterminated subpattern",
    ),
    (
        H + "fields:\n  deleted:\n    column: STATO\n"
        "    transforms: [{type: when, equals: X, present: true, then: true}]\n",
        "{file}:7: fields.deleted.transforms[0]: give exactly one condition: equals, in, "
        "matches or present (found equals, present)",
    ),
    (
        H + "fields:\n  deleted: {column: FLAG, transforms: [{type: boolean, true: [nein]}]}\n",
        "{file}:5: fields.deleted.transforms[0]: a word is listed under both true and false",
    ),
    # -- targets -------------------------------------------------------------------------------
    (
        H + "fields:\n  subject.nme: {column: NOME}\n",
        "{file}:5: fields.subject.nme: unknown target 'subject.nme'; did you mean 'subject.sex'?",
    ),
    (
        H + "fields:\n  source.record_id: {column: ID}\n",
        "{file}:5: fields.source.record_id: source.record_id is not a field target: the source "
        "comes from 'source:', 'system:', 'record_id:' and 'updated_at:'",
    ),
    (
        H + "fields:\n  services: {column: SERVIZIO}\n",
        "{file}:5: fields.services: services is a list of objects: build it under 'lists:'",
    ),
    (
        H + "lists:\n  subject.sex: [{column: SESSO}]\n",
        "{file}:5: lists.subject.sex: subject.sex holds one value: write it under 'fields:'",
    ),
    (
        H + "lists:\n  services:\n    - fields:\n        tipo: {column: SERVIZIO}\n",
        "{file}:6: lists.services[0].fields: services items need 'type'\n"
        "{file}:7: lists.services[0].fields.tipo: unknown field 'tipo' of services items; expected "
        "one of: end, start, status, type",
    ),
    (
        H + "lists:\n  services:\n    - fields:\n"
        "        start: {column: INIZIO, transforms: [{type: date, formats: ['%d/%m/%Y']}]}\n",
        "{file}:6: lists.services[0].fields: services items need 'type'",
    ),
    (
        H + "lists:\n  services:\n    - {column: SERVIZIO}\n",
        "{file}:6: lists.services[0]: services is a list of objects: give 'fields' (and optionally "
        "'each')",
    ),
    (
        H + "lists:\n  case.vulnerabilities:\n    - fields: {type: {column: V}}\n",
        "{file}:6: lists.case.vulnerabilities[0]: case.vulnerabilities is a list of codes of "
        "vulnerability: give a rule (column, path, xml or value with transforms), not fields",
    ),
    (
        H + "fields:\n  case.needs: {column: BISOGNI}\nlists:\n  case.needs: [{column: ALTRI}]\n",
        "{file}:5: fields.case.needs: target 'case.needs' is set twice: under fields and under "
        "lists",
    ),
    (
        H + "fields:\n  subject.birth_date: {column: NASCITA}\n",
        "{file}:5: fields.subject.birth_date: subject.birth_date takes a date but the rule gives "
        "text: use a date transform, e.g. {type: date, formats: ['%d/%m/%Y']}",
    ),
    (
        H + "fields:\n  subject.resident_in_city: {column: RESIDENTE}\n",
        "{file}:5: fields.subject.resident_in_city: subject.resident_in_city takes a boolean but "
        "the rule gives text: use a boolean transform: {type: boolean}",
    ),
    (
        H + "updated_at: {column: MODIFICA, transforms: [{type: date, formats: ['%d/%m/%Y']}]}\n",
        "{file}:4: updated_at: source.updated_at takes a date-time but the rule gives a date: "
        "use a datetime transform, e.g. {type: datetime, formats: ['%d/%m/%Y %H:%M']}",
    ),
    # -- code maps and codes -------------------------------------------------------------------
    (
        H + "fields:\n  subject.sex: {column: S, transforms: [{type: code_map, map: sesso}]}\n"
        "code_maps:\n  sex: {codelist: sex, codes: {M: M}}\n",
        "{file}:5: fields.subject.sex.transforms[0].map: unknown code map 'sesso'",
    ),
    (
        H + 'code_maps:\n  service:\n    codelist: service_type\n    codes:\n      "01": housing\n',
        "{file}:8: code_maps.service.codes.01: 'housing' is not a code of service_type; did you "
        "mean 'housing_support'?",
    ),
    (
        H + 'code_maps:\n  service: {codelist: services_type, codes: {"01": housing_support}}\n',
        "{file}:5: code_maps.service.codelist: unknown code list 'services_type'; did you mean "
        "'service_type'?",
    ),
    (
        H + "code_maps:\n  service: {codelist: service_type, codes: {}}\n",
        "{file}:5: code_maps.service.codes: must not be empty",
    ),
    (
        H + "code_maps:\n  service:\n    codelist: service_type\n"
        '    codes: {"01": housing_support}\n    default: unknown\n',
        "{file}:8: code_maps.service.default: 'unknown' is not a code of service_type",
    ),
    (
        H
        + "fields:\n  subject.citizenship: {column: C, transforms: [{type: code_map, map: sex}]}\n"
        "code_maps:\n  sex: {codelist: sex, codes: {M: M}}\n",
        "{file}:5: fields.subject.citizenship.transforms[0].map: code map 'sex' gives codes of "
        "sex, but subject.citizenship takes codes of country",
    ),
    (
        H + "fields:\n  case.intake_channel: {value: mobile}\n",
        "{file}:5: fields.case.intake_channel.value: 'mobile' is not a code of intake_channel; did "
        "you mean 'mobile_unit'?",
    ),
    (
        H + "fields:\n  case.intake_channel:\n    column: CANALE\n    transforms:\n"
        "      - {type: code_map, map: channel}\n      - {type: default, value: desk}\n"
        "code_maps:\n  channel: {codelist: intake_channel, codes: {UM: mobile_unit}}\n",
        "{file}:9: fields.case.intake_channel.transforms[1]: 'desk' is not a code of "
        "intake_channel",
    ),
    # -- required targets ----------------------------------------------------------------------
    (
        H + "required: [subject.family_name]\n",
        "{file}:4: required[0]: required target 'subject.family_name' has no rule under fields or "
        "lists",
    ),
    (
        H + "required: [subject.surname]\n",
        "{file}:4: required[0]: unknown target 'subject.surname'; did you mean 'subject.sex'?",
    ),
    # -- ${ENV} placeholders -------------------------------------------------------------------
    (
        "source: welfare-csv\nsystem: welfare\nadapter:\n  kind: csv\n  options:\n"
        "    path: ${LGNET DROP DIR}\n",
        "{file}:6: adapter.options.path: bad placeholder at character 1: write ${NAME} or "
        "${NAME:-default} (NAME: letters, digits and _)",
    ),
    (
        "source: welfare-csv\nsystem: welfare\nadapter:\n  kind: csv\n  options:\n"
        "    path: /srv/${LGNET_DROP_DIR/in\n",
        "{file}:6: adapter.options.path: bad placeholder at character 6: write ${NAME} or "
        "${NAME:-default} (NAME: letters, digits and _)",
    ),
    (
        H + 'fields:\n  subject.family_name: {column: "${COLUMN}"}\n',
        "{file}:5: fields.subject.family_name.column: ${...} placeholders are resolved only in "
        "adapter.options",
    ),
]

VALID_MAPPINGS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    # (definition, record data, entries the mapped record must contain)
    (
        H + "record_id: {column: ID}\n"
        "fields:\n  subject.family_name: {column: COGNOME, transforms: [{type: trim}]}\n",
        {"ID": "7", "COGNOME": "  Rossi "},
        {
            "source": {
                "city": "roma",
                "source": "welfare-csv",
                "system": "welfare",
                "record_id": "7",
            },
            "subject": {"identifiers": {}, "family_name": "Rossi"},
            "deleted": False,
        },
    ),
    (
        H + "record_id: {column: ID}\n"
        "fields:\n  subject.birth_date:\n    column: NATO\n"
        "    transforms: [{type: date, formats: ['%d/%m/%Y', '%d %B %Y']}]\n"
        "  subject.resident_in_city: {column: RES, transforms: [{type: boolean}]}\n",
        {"ID": "8", "NATO": "3 marzo 1990", "RES": "SÌ"},
        {
            "subject": {
                "identifiers": {},
                "birth_date": dt.date(1990, 3, 3),
                "resident_in_city": True,
            }
        },
    ),
    (
        H + "record_id: {column: ID, transforms: [{type: number, as: int}]}\n"
        "fields:\n  case.vulnerabilities:\n    column: V\n"
        "    transforms: [{type: split, separator: ','}, {type: code_map, map: v}]\n"
        "code_maps:\n  v: {codelist: vulnerability, codes: {SD: homelessness, D: disability},"
        " default: null}\n",
        {"ID": "1.234", "V": "SD, X, D, SD"},
        {
            "source": {
                "city": "roma",
                "source": "welfare-csv",
                "system": "welfare",
                "record_id": "1234",
            },
            "case": {"vulnerabilities": ["homelessness", "disability"]},
        },
    ),
    (
        H + "record_id: {path: id}\n"
        "fields:\n  subject.given_names: {path: 'nomi[*]', transforms: [{type: join}]}\n"
        "  case.intake_channel: {value: outreach_event}\n"
        "lists:\n  referrals:\n    - each: {path: 'invii[*]'}\n      fields:\n"
        "        target: {path: a, transforms: [{type: code_map, map: t}]}\n"
        "code_maps:\n  t: {codelist: referral_target, codes: {ASL: health_service}}\n",
        {"id": 9, "nomi": ["Ada", "Maria"], "invii": [{"a": "ASL"}, {"b": 1}]},
        {
            "subject": {"identifiers": {}, "given_names": "Ada Maria"},
            "case": {"intake_channel": "outreach_event"},
            "referrals": [{"target": "health_service"}],
        },
    ),
    (
        H.replace("{path: /srv/drops}", "{path: '${LGNET_DROPS:-/srv/drops}', user: '$$ok'}")
        + "fields:\n  subject.sex: {xml: Persona/@sesso}\n",
        {"Persona": {"@sesso": "F"}},
        {"subject": {"identifiers": {}, "sex": "F"}},
    ),
]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roma" / "welfare-csv.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "expected"), INVALID_MAPPINGS)
def test_invalid_mapping_message(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(MappingError) as caught:
        load_source(path, resolve_env=False)
    message = expected.replace("{file}", str(path))
    assert str(caught.value) == message
    # check() reports the same problems, one per line
    assert "\n".join(map(str, check(path))) == message


@pytest.mark.parametrize(("text", "record", "expected"), VALID_MAPPINGS)
def test_valid_mapping(
    tmp_path: Path, text: str, record: dict[str, Any], expected: dict[str, Any]
) -> None:
    path = _write(tmp_path, text)
    assert check(path) == []
    result = compile(load_source(path, environ={}))(record, record_id="fallback")
    for key, value in expected.items():
        assert result[key] == value


def test_unset_variable_names_the_variable_not_a_value(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "source: welfare-csv\nsystem: welfare\nadapter:\n  kind: soap\n"
        "  options:\n    user: ${LGNET_U}\n    password: ${LGNET_PW}\n",
    )
    with pytest.raises(MissingEnvironmentVariable) as caught:
        load_source(path, environ={"LGNET_U": "operatore"})
    assert caught.value.variable == "LGNET_PW"
    assert (
        str(caught.value) == f"{path}:7: adapter.options.password: environment variable "
        "LGNET_PW is not set"
    )
    assert "operatore" not in str(caught.value)
