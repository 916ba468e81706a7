"""Defused XML parsing, and the conversion of XML elements into record data.

Every XML document that reaches an adapter goes through :func:`parse_xml`. The lxml parser is
configured so that nothing in the document can make it read a file, open a connection or
expand entities (``resolve_entities=False``, ``load_dtd=False``, ``no_network=True``,
``huge_tree=False``), and a document that declares a DTD at all is refused: SOAP forbids DTDs
(SOAP 1.1 §3, SOAP 1.2 part 1 §5) and no source system of ours needs one, so a DOCTYPE is
either a mistake or an attack ("billion laughs" entity expansion, XXE external entities). See
the OWASP XML External Entity Prevention Cheat Sheet. The DOCTYPE is looked for in the prolog
*before* parsing (:func:`declares_dtd`): libxml2 opens an external DTD subset or external
parameter entity even when told not to load DTDs, so such a document never reaches it.

:func:`element_to_data` turns an element into the nested shape of ``RawRecord.data``:

- child elements become keys by local name (namespaces dropped);
- an element that occurs more than once (or whose name is in ``force_list``) becomes a list;
- attributes become ``"@name"`` keys (``xsi:nil="true"`` makes the element ``None``);
- a leaf element becomes its text (``None`` when empty); an element with attributes or
  children and non-blank text keeps the text under ``"#text"``.

For example ``<Assistito id="7"><nome>Ada</nome><lingua>it</lingua><lingua>fr</lingua>
</Assistito>`` becomes ``{"@id": "7", "nome": "Ada", "lingua": ["it", "fr"]}``.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Collection
from typing import Any

from lxml import etree

from adapters.errors import FatalSourceError, RecordProblem, SourceError

__all__ = [
    "XmlRefused",
    "declares_dtd",
    "element_to_data",
    "local_name",
    "make_parser",
    "parse_xml",
]

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_DTD_REFUSED = "XML declares a DTD; entity declarations and external entities are refused"
# What may precede the root element or a DOCTYPE: white space, the XML declaration and
# other processing instructions, comments.
_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)


class XmlRefused(FatalSourceError):
    """A document was refused by the defused parser (a DTD, or XML that is not well-formed)."""


def make_parser() -> etree.XMLParser:
    """A fresh lxml parser that never resolves entities, loads a DTD or touches the network."""
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def parse_xml(
    data: bytes,
    *,
    source: str | None = None,
    position: str | None = None,
) -> etree._Element:
    """Parse ``data`` defensively and return its root element.

    A document that is not well-formed or declares a DTD is refused. Without ``position`` the
    document is a whole answer of the source and the error is an :class:`XmlRefused`
    (a ``FatalSourceError``); with ``position`` it is one record and the error is a
    :class:`RecordProblem` at that position, so the caller quarantines it and goes on.
    Messages give the line and column, never the content.
    """
    # libxml2 opens an external DTD subset and external parameter entities even with
    # load_dtd=False and resolve_entities=False (it only declines to expand them), so a
    # document that declares a DTD must not reach the parser at all.
    if declares_dtd(data):
        raise _refusal(_DTD_REFUSED, source, position)
    try:
        root = etree.fromstring(data, make_parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (0, 0)
        raise _refusal(
            f"XML is not well-formed (line {line}, column {column})", source, position
        ) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _refusal(_DTD_REFUSED, source, position)
    return root


def declares_dtd(data: bytes) -> bool:
    """Whether the prolog of ``data`` holds a ``<!DOCTYPE`` (checked before any parsing)."""
    text = _as_utf8(data)
    position = 3 if text.startswith(codecs.BOM_UTF8) else 0
    while True:
        item = _PROLOG_ITEM.match(text, position)
        if item is None or item.end() == position:
            break
        position = item.end()
    return text.startswith(b"<!DOCTYPE", position)


def _as_utf8(data: bytes) -> bytes:
    """UTF-16/32 documents re-encoded so that the prolog can be scanned as bytes."""
    head = data[:4]
    for boms, codec in (
        ((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE), "utf-32"),
        ((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE), "utf-16"),
    ):
        if head.startswith(boms):
            return data.decode(codec, errors="replace").encode("utf-8")
    if len(head) == 4 and head.count(0) == 3:
        codec = "utf-32-be" if head[3] else "utf-32-le"
        return data.decode(codec, errors="replace").encode("utf-8")
    if len(head) == 4 and head[0] == head[2] == 0 and head[1] and head[3]:
        return data.decode("utf-16-be", errors="replace").encode("utf-8")
    if len(head) == 4 and head[1] == head[3] == 0 and head[0] and head[2]:
        return data.decode("utf-16-le", errors="replace").encode("utf-8")
    return data


def _refusal(message: str, source: str | None, position: str | None) -> SourceError:
    if position is not None:
        return RecordProblem(message, source=source, position=position)
    return XmlRefused(message, source=source)


def local_name(tag: object) -> str:
    """``{namespace}name`` -> ``name``."""
    text = str(tag)
    return text.rpartition("}")[2] if text.startswith("{") else text


def element_to_data(element: etree._Element, *, force_list: Collection[str] = ()) -> Any:
    """Convert ``element`` into nested dicts, lists and strings (see the module docstring)."""
    if element.get(f"{{{XSI_NS}}}nil") in ("true", "1"):
        return None
    attributes = {
        f"@{local_name(name)}": value
        for name, value in element.attrib.items()
        if not str(name).startswith(f"{{{XSI_NS}}}")
    }
    children = [child for child in element if isinstance(child.tag, str)]
    text = element.text
    if not children and not attributes:
        return text if text is not None and text != "" else None
    result: dict[str, Any] = dict(attributes)
    for child in children:
        name = local_name(child.tag)
        value = element_to_data(child, force_list=force_list)
        if name in result:
            existing = result[name]
            if isinstance(existing, _Repeated):
                existing.append(value)
            else:
                result[name] = _Repeated([existing, value])
        elif name in force_list:
            result[name] = _Repeated([value])
        else:
            result[name] = value
    if text is not None and text.strip():
        result["#text"] = text
    # Unwrap the marker type so callers see plain lists.
    return {
        key: list(value) if isinstance(value, _Repeated) else value for key, value in result.items()
    }


class _Repeated(list[Any]):
    """A list built from repeated elements (told apart from a value that is itself a list)."""
