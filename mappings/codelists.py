"""Code lists of the common schema, read from ``specs/codelists/*.yaml``.

Each file holds ``name``, ``description`` and ``codes: {code: {it: ..., en: ..., de: ...}}``.
The mapping language needs only the set of codes of each list, to check code-map targets.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from mappings.paths import specs_dir


def load_codelists(folder: Path | None = None) -> dict[str, frozenset[str]]:
    """Code list name -> its codes, for every list in ``<specs>/codelists``."""
    return _load((folder or specs_dir()).resolve())


@cache
def _load(folder: Path) -> dict[str, frozenset[str]]:
    lists: dict[str, frozenset[str]] = {}
    for path in sorted((folder / "codelists").glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        codes = data.get("codes") or {}
        lists[str(data.get("name") or path.stem)] = frozenset(str(code) for code in codes)
    return lists
