"""Source paths: CSV columns, JSON paths, XML element paths, constants."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mappings.selectors import Source, build_selector

JSON = {
    "id": 7,
    "persona": {"nomi": ["Ada", "Maria"], "doc.tipo": "CF", "vuoto": ""},
    "interventi": [{"tipo": "A", "date": {"dal": "2024-01-01"}}, {"tipo": "B"}, {"x": 1}],
    "nested": [[{"v": 1}], [{"v": 2}, {"v": 3}]],
}
XML = {
    "@id": "C-1",
    "Assistito": {
        "Nome": "Ada",
        "Lingua": ["it", "fr"],
        "Sesso": {"@cod": "F", "#text": "Femmina"},
    },
    "Interventi": {"Intervento": [{"@id": "1", "Tipo": "A"}, {"@id": "2", "Tipo": "B"}]},
    "Singolo": {"Intervento": {"@id": "9", "Tipo": "Z"}},
    "Vuoto": None,
}

CASES: list[tuple[dict[str, Any], Any, Any, Any]] = [
    # (source, record, current element, value read)
    ({"column": "COGNOME"}, {"COGNOME": "Rossi"}, None, "Rossi"),
    ({"column": "COGNOME"}, {"COGNOME": ""}, None, None),
    ({"column": "COGNOME"}, {}, None, None),
    ({"value": "mobile_unit"}, {}, None, "mobile_unit"),
    ({"path": "id"}, JSON, JSON, 7),
    ({"path": "persona.nomi[1]"}, JSON, JSON, "Maria"),
    ({"path": "persona.nomi[-1]"}, JSON, JSON, "Maria"),
    ({"path": "persona.nomi[5]"}, JSON, JSON, None),
    ({"path": "persona['doc.tipo']"}, JSON, JSON, "CF"),
    ({"path": "persona.vuoto"}, JSON, JSON, None),
    ({"path": "interventi[*].tipo"}, JSON, JSON, ["A", "B"]),
    ({"path": "interventi[0].date.dal"}, JSON, JSON, "2024-01-01"),
    ({"path": "nested[*][*].v"}, JSON, JSON, [1, 2, 3]),
    ({"path": "interventi.tipo"}, JSON, JSON, None),  # strict: no [*], no match
    ({"path": "tipo"}, JSON, {"tipo": "C"}, "C"),  # relative to the current element
    ({"path": "$.id"}, JSON, {"tipo": "C"}, 7),  # absolute
    ({"path": "."}, JSON, "SAN", "SAN"),
    ({"xml": "Assistito/Nome"}, XML, XML, "Ada"),
    ({"xml": "Assistito/Lingua"}, XML, XML, ["it", "fr"]),
    ({"xml": "Assistito/Lingua[2]"}, XML, XML, "fr"),
    ({"xml": "Assistito/Sesso"}, XML, XML, "Femmina"),
    ({"xml": "Assistito/Sesso/@cod"}, XML, XML, "F"),
    ({"xml": "@id"}, XML, XML, "C-1"),
    ({"xml": "Interventi/Intervento/Tipo"}, XML, XML, ["A", "B"]),
    ({"xml": "Interventi/Intervento[2]/@id"}, XML, XML, "2"),
    ({"xml": "Singolo/Intervento[1]/Tipo"}, XML, XML, "Z"),
    ({"xml": "Singolo/Intervento[2]/Tipo"}, XML, XML, None),
    ({"xml": "Vuoto/Dentro"}, XML, XML, None),
    ({"xml": "/@id"}, XML, {"Tipo": "A"}, "C-1"),
]


@pytest.mark.parametrize(("source", "record", "element", "expected"), CASES)
def test_read(source: dict[str, Any], record: Any, element: Any, expected: Any) -> None:
    selector = build_selector(Source.model_validate(source))
    assert selector.read(record, element if element is not None else record) == expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"path": "a..b"}, "bad path 'a..b' at character 2"),
        ({"path": "a[x]"}, "bad path 'a[x]' at character 2"),
        ({"path": ".a"}, "bad path '.a': write keys separated by dots"),
        ({"xml": "A//B"}, "bad XML path 'A//B': write element names separated by /"),
        ({"xml": "A/@b/C"}, "an @attribute can only come last"),
        ({"xml": "A[0]"}, "positions start at 1, as in XPath"),
        ({"xml": "soap:Body"}, "use local names without prefix"),
        ({"column": ""}, "at least 1 character"),
        ({}, "give exactly one source"),
    ],
)
def test_bad_sources(source: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Source.model_validate(source)
    assert message in str(caught.value)
