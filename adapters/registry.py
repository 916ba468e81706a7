"""Registry of adapter kinds: the built-in ones and those of other packages.

Other packages register adapters through the ``lgnet.adapters`` entry-point group::

    [project.entry-points."lgnet.adapters"]
    my-system = "my_package.adapter:MyAdapter"
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from adapters.base import Adapter
from adapters.errors import FatalSourceError

ENTRY_POINT_GROUP = "lgnet.adapters"

# kind -> "module:Class"; imported lazily so that a CSV-only deployment never imports zeep.
_BUILTIN: dict[str, str] = {}
_registered: dict[str, type[Adapter[Any]]] = {}


def register(adapter_class: type[Adapter[Any]]) -> type[Adapter[Any]]:
    """Register an adapter class under its ``kind`` (usable as a class decorator)."""
    kind = getattr(adapter_class, "kind", None)
    if not kind:
        raise TypeError(f"{adapter_class.__name__} has no 'kind'")
    _registered[kind] = adapter_class
    return adapter_class


def register_builtin(kind: str, target: str) -> None:
    _BUILTIN[kind] = target


def get(kind: str) -> type[Adapter[Any]]:
    """Return the adapter class for ``kind``; a clear error lists the known kinds."""
    if kind in _registered:
        return _registered[kind]
    if kind in _BUILTIN:
        module_name, _, attr = _BUILTIN[kind].partition(":")
        cls: type[Adapter[Any]] = getattr(import_module(module_name), attr)
        _registered[kind] = cls
        return cls
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == kind:
            cls = ep.load()
            _registered[kind] = cls
            return cls
    raise FatalSourceError(f"unknown adapter kind {kind!r}; known kinds: {', '.join(kinds())}")


def kinds() -> list[str]:
    """Every kind that :func:`get` can resolve."""
    names = set(_registered) | set(_BUILTIN)
    names.update(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return sorted(names)
