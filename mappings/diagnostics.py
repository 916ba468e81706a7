"""Turn pydantic validation errors into :class:`Problem` lines a mapping author can act on.

pydantic reports a location inside the validated data (``('fields', 'subject.sex',
'transforms', 0, 'date', 'formats')``, with union tags such as ``'date'`` mixed in) and a
generic message. Here the location is walked over the YAML data to find the line, tags are
dropped, and the common messages are rewritten in the file's terms ("unknown key 'colum';
did you mean 'column'?").
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from mappings.errors import Problem
from mappings.yaml_lines import LineIndex, PathKey

_NOUNS = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true/false",
    "bool_parsing": "true/false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "none_required": "null",
}


def render_path(path: PathKey) -> str:
    """``('fields', 'subject.sex', 'transforms', 0)`` -> ``fields.subject.sex.transforms[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def data_path(data: Any, loc: Sequence[int | str]) -> PathKey:
    """The part of ``loc`` that exists in ``data`` (union tags and missing keys dropped)."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if isinstance(current, dict):
            if not isinstance(part, str) or part not in current:
                continue
            current = current[part]
        elif isinstance(current, list):
            if not isinstance(part, int) or not 0 <= part < len(current):
                continue
            current = current[part]
        else:
            continue
        path.append(part)
    return tuple(path)


def problems_from_validation(
    exc: ValidationError, *, file: str, data: Any, lines: LineIndex, root: type[BaseModel]
) -> list[Problem]:
    """One problem per location; several errors at one place (a union) become one message."""
    # Errors at one place are reported together; an unknown key is reported at its parent.
    grouped: dict[tuple[PathKey, str | None], list[ErrorDetails]] = {}
    for error in exc.errors(include_url=False, include_input=False):
        path = data_path(data, error["loc"])
        if error["type"] == "extra_forbidden":
            grouped.setdefault((path[:-1], str(error["loc"][-1])), []).append(error)
        else:
            grouped.setdefault((path, None), []).append(error)
    problems = []
    for (path, unknown), errors in grouped.items():
        if unknown is not None:
            line = lines.line((*path, unknown))
            message = _unknown_key(unknown, _allowed_keys(root, errors[0]["loc"][:-1]))
        else:
            line = lines.line(path)
            message = _message(errors)
        problems.append(Problem(file, line, render_path(path), message))
    return problems


def _unknown_key(name: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key {name!r}; did you mean {close[0]!r}?"
    if allowed:
        return f"unknown key {name!r}; expected one of: {', '.join(allowed)}"
    return f"unknown key {name!r}"


def _message(errors: list[ErrorDetails]) -> str:
    first = errors[0]
    kind = first["type"]
    if len(errors) > 1 and all(e["type"] in _NOUNS for e in errors):
        nouns = list(dict.fromkeys(_NOUNS[e["type"]] for e in errors))
        return "expected " + (
            ", ".join(nouns[:-1]) + " or " + nouns[-1] if len(nouns) > 1 else nouns[0]
        )
    if kind == "missing":
        return f"missing key {first['loc'][-1]!r}"
    if kind == "union_tag_invalid":
        ctx = first.get("ctx", {})
        expected = str(ctx.get("expected_tags", "")).replace("'", "")
        return f"unknown transform type {ctx.get('tag')!r}; expected one of: {expected}"
    if kind == "union_tag_not_found":
        return "a transform needs a 'type'"
    if kind == "value_error":
        return first["msg"].removeprefix("Value error, ")
    if kind == "assertion_error":
        return first["msg"].removeprefix("Assertion failed, ")
    if kind in _NOUNS:
        return f"expected {_NOUNS[kind]}"
    if kind == "string_pattern_mismatch":
        return "expected a slug: lowercase letters, digits and '-', starting with a letter"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    return first["msg"].replace("Input should be", "expected")


# -- which keys does the node at a location accept? -------------------------------------------


def _allowed_keys(root: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    current: Any = root
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    model = _model(current)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _members(tp: Any) -> list[Any]:
    """The alternatives of a union (through Annotated), else ``[tp]``."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    if origin is typing.Union or isinstance(tp, types.UnionType):
        return [m for arg in typing.get_args(tp) for m in _members(arg) if m is not type(None)]
    return [tp]


def _tags(tp: Any) -> set[str]:
    tags: set[str] = set()
    if typing.get_origin(tp) is typing.Annotated:
        for meta in typing.get_args(tp)[1:]:
            tag = getattr(meta, "tag", None)
            if isinstance(tag, str):
                tags.add(tag)
    model = _model(tp)
    if model is not None and "type" in model.model_fields:
        annotation = model.model_fields["type"].annotation
        tags.update(str(arg) for arg in typing.get_args(annotation))
    return tags


def _unwrap_annotated(tp: Any) -> list[Any]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap_annotated(typing.get_args(tp)[0])
    if origin is typing.Union or isinstance(tp, types.UnionType):
        return [arg for arg in typing.get_args(tp) if arg is not type(None)]
    return [tp]


def _model(tp: Any) -> type[BaseModel] | None:
    members = _members(tp)
    if len(members) == 1 and isinstance(members[0], type) and issubclass(members[0], BaseModel):
        return members[0]
    return None


def _step(tp: Any, part: int | str) -> Any:
    alternatives = _unwrap_annotated(tp)
    if len(alternatives) > 1:
        tagged = [alt for alt in alternatives if isinstance(part, str) and part in _tags(alt)]
        return tagged[0] if tagged else None
    tp = alternatives[0]
    model = _model(tp)
    if model is not None:
        for name, field in model.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is dict:
        return args[1]
    if origin is list:
        return args[0]
    return None
