"""``check``: every source definition under a folder, loaded, checked and compiled.

Placeholders are checked for syntax but not resolved: a mapping is checked on an author's
machine or in CI, where the deployment's variables are not set.
"""

from __future__ import annotations

from pathlib import Path

from mappings.compiler import compile_mapping
from mappings.definition import load_source
from mappings.errors import MappingError, Problem
from mappings.paths import mappings_dir, source_files


def check(path: str | Path | None = None) -> list[Problem]:
    """Problems of the definition file ``path``, or of every ``<city>/<source>.yaml`` under
    the folder ``path`` (default: the cities' folders in ``mappings/``). Empty: all good."""
    root = Path(path) if path is not None else mappings_dir()
    if not root.exists():
        return [Problem(str(root), None, "", "no such file or folder")]
    problems: list[Problem] = []
    for file in source_files(root):
        try:
            compile_mapping(load_source(file, resolve_env=False))
        except MappingError as exc:
            problems.extend(exc.problems)
    return problems


def checked_files(path: str | Path | None = None) -> list[Path]:
    """The definition files :func:`check` looks at."""
    root = Path(path) if path is not None else mappings_dir()
    return source_files(root) if root.exists() else []
