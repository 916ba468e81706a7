"""Load YAML while remembering the line of every key and item, for errors that point at lines.

PyYAML composes a node tree whose nodes carry ``start_mark``; we build plain Python values from
it and keep ``path -> line`` beside them. Two deliberate departures from YAML 1.1 defaults:

- mapping keys are always the text as written, so code-map keys like ``01`` or ``NO``
  (Norway) stay the strings ``"01"`` and ``"NO"`` instead of ``1`` and ``False``;
- only ``true``/``false`` are booleans, only plain decimal numbers are numbers, and dates stay
  text (YAML 1.2 core schema), so ``value: Sì`` or ``value: 01`` mean what they say.

A duplicate key is an error instead of silently keeping the last one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

PathKey = tuple[str | int, ...]

_DROPPED_TAGS = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
}


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789"),
)


@dataclass
class LineIndex:
    """``path -> line`` (1-based) for every key of every mapping and every item of every list."""

    lines: dict[PathKey, int] = field(default_factory=dict)

    def line(self, path: PathKey) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return 1


class YamlProblem(Exception):
    """The text is not YAML we accept; ``line`` and ``path`` locate it."""

    def __init__(self, message: str, line: int | None, path: PathKey = ()) -> None:
        self.message = message
        self.line = line
        self.path = path
        super().__init__(message)


def load_yaml(text: str) -> tuple[Any, LineIndex]:
    """Parse ``text``; return the value and its line index. Raises :class:`YamlProblem`."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "not valid YAML"
        raise YamlProblem(f"not valid YAML: {reason}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError:
        raise YamlProblem("not valid YAML", None) from None
    index = LineIndex()
    if node is None:
        return None, index
    index.lines[()] = node.start_mark.line + 1
    constructor = _Loader("")
    return _build(node, (), index, constructor), index


def _build(node: yaml.Node, path: PathKey, index: LineIndex, constructor: _Loader) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in _pairs(node, path):
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlProblem("a key must be plain text", key_node.start_mark.line + 1, path)
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in result:
                first = index.lines[(*path, key)]
                raise YamlProblem(
                    f"duplicate key {key!r} (first at line {first})", line, (*path, key)
                )
            index.lines[(*path, key)] = line
            result[key] = _build(value_node, (*path, key), index, constructor)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for position, item in enumerate(node.value):
            index.lines[(*path, position)] = item.start_mark.line + 1
            items.append(_build(item, (*path, position), index, constructor))
        return items
    try:
        return constructor.construct_object(node, deep=True)
    except yaml.YAMLError:
        raise YamlProblem("value cannot be read", node.start_mark.line + 1, path) from None


def _pairs(node: yaml.MappingNode, path: PathKey) -> Iterator[tuple[yaml.Node, yaml.Node]]:
    for key_node, value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            raise YamlProblem(
                "merge keys (<<) are not supported", key_node.start_mark.line + 1, path
            )
        yield key_node, value_node
