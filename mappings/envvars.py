"""``${NAME}`` and ``${NAME:-default}`` placeholders in adapter options, resolved at load time.

Source definitions are committed to the repository, so URLs that differ per deployment and every
secret come from the environment::

    adapter:
      kind: soap
      options:
        endpoint: ${LGNET_ROMA_WELFARE_URL:-http://127.0.0.1:8081/soap}
        password: ${LGNET_ROMA_WELFARE_PASSWORD}

Shell semantics: ``${NAME:-default}`` uses the default when ``NAME`` is unset *or empty*.
``$$`` is a literal ``$``; a ``$`` not followed by ``{`` or ``$`` is kept as it is.
Errors name the variable and where it is used, never a value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_TOKEN = re.compile(r"\$(?:\$|\{(?P<body>[^{}$]*)\}|\{)")
_BODY = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?", re.DOTALL)

SYNTAX_HELP = "write ${NAME} or ${NAME:-default} (NAME: letters, digits and _)"


class PlaceholderSyntaxError(ValueError):
    """A ``${`` that is not a well-formed placeholder."""


class UnsetVariable(LookupError):
    """A placeholder without default names a variable that is not set."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"environment variable {name} is not set")


def _substitute(text: str, lookup: Callable[[str, str | None], str]) -> str:
    out: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        out.append(text[position : match.start()])
        position = match.end()
        if match.group(0) == "$$":
            out.append("$")
            continue
        body = match.group("body")
        parsed = _BODY.fullmatch(body) if body is not None else None
        if parsed is None:
            raise PlaceholderSyntaxError(
                f"bad placeholder at character {match.start() + 1}: {SYNTAX_HELP}"
            )
        out.append(lookup(parsed.group("name"), parsed.group("default")))
    out.append(text[position:])
    return "".join(out)


def variables(text: str) -> list[str]:
    """Names of the variables ``text`` refers to. Raises :class:`PlaceholderSyntaxError`."""
    names: list[str] = []

    def record(name: str, default: str | None) -> str:
        names.append(name)
        return ""

    _substitute(text, record)
    return names


def resolve(text: str, environ: Mapping[str, str]) -> str:
    """Replace every placeholder of ``text``.

    Raises :class:`UnsetVariable` (naming the variable) or :class:`PlaceholderSyntaxError`.
    """

    def lookup(name: str, default: str | None) -> str:
        value = environ.get(name)
        if value:
            return value
        if default is not None:
            return default
        if value is not None:
            return value
        raise UnsetVariable(name)

    return _substitute(text, lookup)


def walk_strings(
    value: Any, path: tuple[str | int, ...] = ()
) -> list[tuple[tuple[str | int, ...], str]]:
    """Every string inside nested dicts and lists, with its path."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, Mapping):
        return [item for key, sub in value.items() for item in walk_strings(sub, (*path, key))]
    if isinstance(value, list):
        return [item for i, sub in enumerate(value) for item in walk_strings(sub, (*path, i))]
    return []


def resolve_all(value: Any, environ: Mapping[str, str]) -> Any:
    """A copy of nested dicts/lists with every string's placeholders resolved."""
    if isinstance(value, str):
        return resolve(value, environ)
    if isinstance(value, Mapping):
        return {key: resolve_all(sub, environ) for key, sub in value.items()}
    if isinstance(value, list):
        return [resolve_all(sub, environ) for sub in value]
    return value
