"""XML elements to record data, typed by their XML Schema (through zeep's schema objects).

The SOAP adapter reads each record of an answer separately, with the schema type of the
element, so one bad record is reported on its own instead of failing the whole page, and
the error names the field (``Assistito.dataNascita``, ``Interventi.Intervento[1].@id``),
never its value. (zeep's own parser turns an invalid value into ``None`` and logs the
value; this module does neither.)

The shape follows :func:`adapters.xml.element_to_data`, with the schema deciding the rest:

- every element and attribute the type declares is a key, ``None`` (or ``[]`` for elements
  that may repeat) when absent, so records of one source all have the same keys;
- elements that may repeat are always lists, even with one occurrence;
- simple values are typed and JSON-ready: ``xsd:date``/``dateTime``/``time`` as ISO 8601
  strings, booleans, integers, floats; ``xsd:decimal`` as a string (no rounding);
  binary as base64 text;
- elements under an ``xsd:any`` wildcard, or of ``xsd:anyType``, are converted untyped.
"""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any

from lxml import etree
from zeep.xsd.elements.any import Any as AnyElement
from zeep.xsd.types.complex import ComplexType
from zeep.xsd.types.simple import AnySimpleType

from adapters.xml import XSI_NS, element_to_data, local_name

__all__ = ["XsdValueError", "find_child_element", "to_data"]


class XsdValueError(Exception):
    """A record element does not match its schema; ``path`` names the field."""

    def __init__(self, reason: str, path: str) -> None:
        self.reason = reason
        self.path = path or "."
        super().__init__(f"{self.path}: {reason}")


def find_child_element(element: Any, name: str) -> Any:
    """The zeep ``Element`` declared as child ``name`` (local name) of ``element``, or None."""
    xsd_type = getattr(element, "type", None)
    if not isinstance(xsd_type, ComplexType):
        return None
    return dict(xsd_type.elements).get(name)


def to_data(xml: etree._Element, element: Any) -> Any:
    """Convert ``xml``, an occurrence of the zeep ``element``, to record data."""
    return _convert(xml, element.type, "")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _is_nil(xml: etree._Element) -> bool:
    return xml.get(f"{{{XSI_NS}}}nil") in ("true", "1")


def _convert(xml: etree._Element, xsd_type: Any, path: str) -> Any:
    if _is_nil(xml):
        return None
    if isinstance(xsd_type, ComplexType):
        return _complex(xml, xsd_type, path)
    if isinstance(xsd_type, AnySimpleType):
        if len(xml):
            raise XsdValueError("element has children where the schema expects a value", path)
        return _simple(xsd_type, xml.text, path)
    return element_to_data(xml)


def _complex(xml: etree._Element, xsd_type: Any, path: str) -> dict[str, Any]:
    declared = {name: el for name, el in xsd_type.elements if not isinstance(el, AnyElement)}
    wildcard = len(declared) < len(xsd_type.elements)
    attributes = {name: attr for name, attr in xsd_type.attributes if name}
    result: dict[str, Any] = {f"@{name}": None for name in attributes}
    value_element = declared.pop("_value_1", None)
    for name, el in declared.items():
        result[name] = [] if el.accepts_multiple else None

    for attr_name, text in xml.attrib.items():
        name = local_name(attr_name)
        if str(attr_name).startswith(f"{{{XSI_NS}}}"):
            continue
        attr_path = _join(path, f"@{name}")
        attr = attributes.get(name)
        if attr is None:
            raise XsdValueError("attribute is not in the schema", attr_path)
        result[f"@{name}"] = _simple(attr.type, text, attr_path)

    seen: dict[str, int] = {}
    for child in xml:
        if not isinstance(child.tag, str):
            continue
        name = local_name(child.tag)
        count = seen.get(name, 0)
        seen[name] = count + 1
        el = declared.get(name)
        if el is None and not wildcard:
            raise XsdValueError("element is not in the schema", _join(path, name))
        if el is not None and el.accepts_multiple:
            result[name].append(_convert(child, el.type, f"{_join(path, name)}[{count}]"))
            continue
        value = (
            element_to_data(child) if el is None else _convert(child, el.type, _join(path, name))
        )
        if count == 0:
            result[name] = value
        elif count == 1:
            # Repeated although declared once (a repeating group around it): keep both.
            result[name] = [result[name], value]
        else:
            result[name].append(value)

    text = xml.text
    if text is not None and text.strip():
        if value_element is not None and isinstance(value_element.type, AnySimpleType):
            result["#text"] = _simple(value_element.type, text, path)
        else:
            result["#text"] = text
    return result


def _simple(xsd_type: Any, text: str | None, path: str) -> Any:
    if text is None or text == "":
        return None
    try:
        value = xsd_type.pythonvalue(text)
    except (ValueError, TypeError, ArithmeticError, LookupError) as exc:
        qname = getattr(xsd_type, "qname", None)
        type_name = qname.localname if qname is not None else type(xsd_type).__name__
        raise XsdValueError(f"not a valid {type_name}", path) from exc
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return str(value)
