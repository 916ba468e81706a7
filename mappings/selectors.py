"""Where a value comes from: a CSV column, a JSON path, an XML element path, or a constant.

::

    column: DATA_NASCITA              # CSV: the column of that name
    path: assistito.documenti[0].numero   # JSON: dotted keys, [n] (0-based), [*] for each
    xml: Assistito/Nome               # XML-derived data: element names, [n] (1-based, as in
                                      # XPath), @attr for attributes
    value: one_stop_shop              # a constant

Inside a list's ``each``, ``path`` and ``xml`` are relative to the current element (``.`` is
the element itself); ``$.a.b`` and ``/A/B`` start from the record instead. A ``column`` is
always a column of the record. An empty text reads as missing.

XML data follows ``adapters.xml.element_to_data``: repeated elements are lists, and a step
over a list of elements continues in each of them (like an XPath node set); an element with
attributes keeps its text under ``#text``, which a path ending on it reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Scalar = str | int | float | bool
Segment = tuple[Literal["key", "index", "each"], Any]

SOURCE_KEYS = ("column", "path", "xml", "value")


class Node(BaseModel):
    """Base of every node of the language: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Node):
    """Exactly one of ``column``, ``path``, ``xml`` or ``value``."""

    column: str | None = Field(None, min_length=1, description="CSV column name.")
    path: str | None = Field(None, description="JSON path: a.b[0].c, a[*].b, $.root, '.'")
    xml: str | None = Field(None, description="XML element path: A/B[1]/@attr, /Root/A, '.'")
    value: Scalar | None = Field(None, description="A constant value.")

    @field_validator("path")
    @classmethod
    def _check_path(cls, text: str | None) -> str | None:
        if text is not None:
            parse_json_path(text)
        return text

    @field_validator("xml")
    @classmethod
    def _check_xml(cls, text: str | None) -> str | None:
        if text is not None:
            parse_xml_path(text)
        return text

    @model_validator(mode="after")
    def _one_source(self) -> Source:
        given = [key for key in SOURCE_KEYS if key in self.model_fields_set]
        if len(given) != 1:
            have = f" (found {', '.join(given)})" if given else ""
            raise ValueError(f"give exactly one source: column, path, xml or value{have}")
        return self

    @property
    def source_kind(self) -> str:
        return next(key for key in SOURCE_KEYS if key in self.model_fields_set)

    @property
    def source_text(self) -> str:
        """The source as written, for messages: a column or path name, never a record value."""
        kind = self.source_kind
        return "constant" if kind == "value" else str(getattr(self, kind))


# -- path syntax -----------------------------------------------------------------------------

_JSON_TOKEN = re.compile(
    r"""\.?(?P<key>[^.\[\]\s'"]+)|\[(?P<index>-?\d+)\]|\[(?P<each>\*)\]"""
    r"""|\[(?P<quote>['"])(?P<quoted>.*?)(?P=quote)\]"""
)
_XML_STEP = re.compile(r"(?P<attr>@)?(?P<name>[A-Za-z_#][\w.\-]*)(?:\[(?P<index>\d+)\])?")


def parse_json_path(text: str) -> tuple[bool, tuple[Segment, ...]]:
    """``(absolute, segments)`` of a JSON path; ``ValueError`` says what is wrong."""
    if text in (".", "$"):
        return text == "$", ()
    absolute = text.startswith("$.") or text.startswith("$[")
    body = text[1:] if absolute else text
    if not body or (body.startswith(".") and not absolute) or body.endswith("."):
        raise ValueError(f"bad path {text!r}: write keys separated by dots, e.g. a.b[0].c")
    segments: list[Segment] = []
    position = 0
    while position < len(body):
        match = _JSON_TOKEN.match(body, position)
        if match is None or match.end() == position:
            raise ValueError(
                f"bad path {text!r} at character {position + 1 + absolute}: "
                "write keys separated by dots, [n] or [*], e.g. a.b[0].c"
            )
        if match.group("key") is not None:
            segments.append(("key", match.group("key")))
        elif match.group("index") is not None:
            segments.append(("index", int(match.group("index"))))
        elif match.group("each") is not None:
            segments.append(("each", None))
        else:
            segments.append(("key", match.group("quoted")))
        position = match.end()
    return absolute, tuple(segments)


def parse_xml_path(text: str) -> tuple[bool, tuple[Segment, ...]]:
    """``(absolute, segments)`` of an XML element path; ``ValueError`` says what is wrong."""
    if text == ".":
        return False, ()
    absolute = text.startswith("/")
    steps = text[1:].split("/") if absolute else text.split("/")
    segments: list[Segment] = []
    for position, step in enumerate(steps):
        if ":" in step:
            raise ValueError(
                f"bad XML path {text!r}: use local names without prefix "
                "(namespaces are dropped from record data)"
            )
        match = _XML_STEP.fullmatch(step)
        if match is None:
            raise ValueError(
                f"bad XML path {text!r}: write element names separated by /, "
                "e.g. Assistito/Nome, Interventi/Intervento[1]/@id"
            )
        if match.group("attr") and position != len(steps) - 1:
            raise ValueError(f"bad XML path {text!r}: an @attribute can only come last")
        if match.group("index") is not None and int(match.group("index")) < 1:
            raise ValueError(f"bad XML path {text!r}: positions start at 1, as in XPath")
        segments.append(("key", f"{match.group('attr') or ''}{match.group('name')}"))
        if match.group("index") is not None:
            segments.append(("index", int(match.group("index")) - 1))
    return absolute, tuple(segments)


# -- reading ---------------------------------------------------------------------------------

Reader = Callable[[Mapping[str, Any], Any], Any]


@dataclass(frozen=True)
class Selector:
    """A compiled source: ``read(record, element)`` returns the value, ``None`` when missing."""

    kind: str
    text: str
    read: Reader
    maybe_list: bool
    column: str | None = None  # set for columns, which the compiler reads inline


def _clean(value: Any) -> Any:
    """Empty text and empty lists are missing values; ``None`` items are dropped from lists."""
    if value == "" or value == []:
        return None
    if type(value) is list:
        items = [item for item in value if item is not None and item != ""]
        return items or None
    return value


def _walk_json(value: Any, segments: tuple[Segment, ...]) -> Any:
    for position, (kind, arg) in enumerate(segments):
        if value is None:
            return None
        if kind == "key":
            value = value.get(arg) if isinstance(value, Mapping) else None
        elif kind == "index":
            value = (
                value[arg] if isinstance(value, list) and -len(value) <= arg < len(value) else None
            )
        else:
            if not isinstance(value, list):
                return None
            rest = segments[position + 1 :]
            nested = any(k == "each" for k, _ in rest)
            out: list[Any] = []
            for item in value:
                found = _walk_json(item, rest)
                if found is None:
                    continue
                if nested and isinstance(found, list):
                    out.extend(found)
                else:
                    out.append(found)
            return out
    return value


def _xml_text(value: Any) -> Any:
    if isinstance(value, Mapping) and "#text" in value:
        return value["#text"]
    return value


def _walk_xml(value: Any, segments: tuple[Segment, ...]) -> Any:
    for kind, arg in segments:
        if value is None:
            return None
        if kind == "key":
            if isinstance(value, list):
                out: list[Any] = []
                for item in value:
                    found = item.get(arg) if isinstance(item, Mapping) else None
                    if isinstance(found, list):
                        out.extend(found)
                    elif found is not None:
                        out.append(found)
                value = out
            else:
                value = value.get(arg) if isinstance(value, Mapping) else None
        elif isinstance(value, list):
            value = value[arg] if arg < len(value) else None
        elif arg != 0:
            value = None
    if isinstance(value, list):
        return [_xml_text(item) for item in value]
    return _xml_text(value)


def build_selector(source: Source) -> Selector:
    """Compile ``source`` once into a :class:`Selector`."""
    kind = source.source_kind
    if kind == "value":
        constant = source.value
        return Selector(kind, "constant", lambda data, el: constant, maybe_list=False)
    if kind == "column":
        name = source.column or ""

        def read_column(data: Mapping[str, Any], el: Any) -> Any:
            value = data.get(name)
            return None if value == "" else value

        return Selector(kind, name, read_column, maybe_list=False, column=name)
    text = str(source.path if kind == "path" else source.xml)
    absolute, segments = parse_json_path(text) if kind == "path" else parse_xml_path(text)
    walk = _walk_json if kind == "path" else _walk_xml

    def read(data: Mapping[str, Any], el: Any) -> Any:
        return _clean(walk(data if absolute else el, segments))

    return Selector(kind, text, read, maybe_list=True)
