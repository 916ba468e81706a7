"""adapters.xml: defused parsing (no entity expansion, no external entities) and XML -> data."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

import adapters.xml as xml_module
from adapters.errors import FatalSourceError, RecordProblem
from adapters.xml import XmlRefused, declares_dtd, element_to_data, make_parser, parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""

SECRET = "TOP-SECRET-CONTENT-7d1f"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET, encoding="utf-8")
    return path


def xxe_general(path: Path) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "{path.as_uri()}">]>'
        "<x><nome>&e;</nome></x>"
    ).encode()


def xxe_parameter(path: Path) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "{path.as_uri()}"> %p;]><x>a</x>'
    ).encode()


def xxe_external_dtd(path: Path) -> bytes:
    return f'<?xml version="1.0"?><!DOCTYPE x SYSTEM "{path.as_uri()}"><x>a</x>'.encode()


def test_parses_plain_xml() -> None:
    root = parse_xml(b"<a xmlns='urn:x'><b>1</b></a>")
    assert etree.QName(root).localname == "a"


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(XmlRefused, match="DTD") as info:
        parse_xml(BILLION_LAUGHS, source="welfare")
    assert isinstance(info.value, FatalSourceError)
    assert str(info.value).startswith("welfare: ")


def test_billion_laughs_in_one_record_is_a_record_problem() -> None:
    with pytest.raises(RecordProblem) as info:
        parse_xml(BILLION_LAUGHS, source="welfare", position="item 3")
    assert info.value.position == "item 3"


@pytest.mark.parametrize("make", [xxe_general, xxe_parameter, xxe_external_dtd])
def test_external_entities_are_refused_and_never_read(
    make, secret_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = make(secret_file)

    # libxml2 would open an external subset or parameter entity even with load_dtd=False:
    # the document must be refused before lxml sees it.
    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("a document with a DTD reached lxml")

    monkeypatch.setattr(xml_module.etree, "fromstring", no_parsing)
    with pytest.raises(XmlRefused, match="DTD") as info:
        parse_xml(document)
    assert SECRET not in str(info.value)


def test_the_parser_never_expands_entities_even_if_called(secret_file: Path) -> None:
    tree = etree.fromstring(xxe_general(secret_file), make_parser())
    assert SECRET not in etree.tostring(tree).decode()
    assert SECRET not in "".join(tree.itertext())


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_dtd_is_found_in_utf16_and_utf32_documents(codec: str, secret_file: Path) -> None:
    text = xxe_external_dtd(secret_file).decode().replace('<?xml version="1.0"?>', "")
    with pytest.raises(XmlRefused, match="DTD"):
        parse_xml(text.encode(codec))


def test_dtd_after_comments_and_processing_instructions_is_found() -> None:
    document = b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- c --><?pi x?>\n<!DOCTYPE a><a/>"
    assert declares_dtd(document)
    assert not declares_dtd(b"<?xml version='1.0'?><a><![CDATA[<!DOCTYPE html>]]></a>")


def test_not_well_formed_names_line_and_column_but_no_content() -> None:
    with pytest.raises(XmlRefused, match=r"line 1, column \d+") as info:
        parse_xml(b"<a><cognome>Rossi</nome></a>")
    assert "Rossi" not in str(info.value)
    assert "cognome" not in str(info.value)


def test_element_to_data_shape() -> None:
    root = parse_xml(
        b"""<c:Cartella xmlns:c="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                versione="2">
              <c:idCartella>C-1</c:idCartella>
              <c:Assistito>
                <c:nome>Ada</c:nome>
                <c:lingua>ar</c:lingua><c:lingua>fr</c:lingua>
                <c:dataArrivo xsi:nil="true"/>
                <c:note/>
              </c:Assistito>
              <c:Interventi><c:Intervento id="I1"><c:tipo>HS</c:tipo></c:Intervento></c:Interventi>
              <c:codice sistema="ISTAT">058091</c:codice>
            </c:Cartella>"""
    )
    assert element_to_data(root, force_list={"Intervento"}) == {
        "@versione": "2",
        "idCartella": "C-1",
        "Assistito": {"nome": "Ada", "lingua": ["ar", "fr"], "dataArrivo": None, "note": None},
        "Interventi": {"Intervento": [{"@id": "I1", "tipo": "HS"}]},
        "codice": {"@sistema": "ISTAT", "#text": "058091"},
    }


def test_element_to_data_single_occurrence_is_scalar_without_force_list() -> None:
    root = parse_xml(b"<a><b>1</b></a>")
    assert element_to_data(root) == {"b": "1"}
