"""Load a source definition: parse, validate, check against ``specs/``, resolve placeholders.

:func:`load_source` is what the gateway calls; every problem in the file is reported at once,
as a :class:`~mappings.errors.MappingError` naming file, line and path for each.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mappings import envvars
from mappings.checks import check_definition
from mappings.codelists import load_codelists
from mappings.diagnostics import problems_from_validation, render_path
from mappings.errors import MappingError, MissingEnvironmentVariable, Problem
from mappings.nodes import SourceFile
from mappings.paths import specs_dir
from mappings.targets import SchemaUnavailable, Targets, load_targets
from mappings.yaml_lines import LineIndex, YamlProblem, load_yaml

SHAPE_HINT = "expected a mapping with source, system, adapter and fields"


@dataclass(frozen=True)
class SourceDefinition:
    """A checked source definition. ``adapter_options`` have their placeholders resolved
    (unless loaded with ``resolve_env=False``) and never appear in a repr."""

    file: Path
    city: str
    nodes: SourceFile
    adapter_options: dict[str, Any] = field(repr=False)
    lines: LineIndex = field(repr=False, compare=False)

    @property
    def source(self) -> str:
        return self.nodes.source

    @property
    def system(self) -> str:
        return self.nodes.system

    @property
    def adapter_kind(self) -> str:
        return self.nodes.adapter.kind

    @property
    def schedule(self) -> timedelta | None:
        """How often the gateway pulls the source, if it is pulled on a schedule."""
        return self.nodes.schedule.interval if self.nodes.schedule else None

    def line_of(self, *path: str | int) -> int:
        """The line of a path in the file (for tools that point at the file)."""
        return self.lines.line(tuple(path))


def load_source(
    path: str | Path,
    *,
    environ: Mapping[str, str] | None = None,
    resolve_env: bool = True,
    specs: Path | None = None,
) -> SourceDefinition:
    """Load and check ``mappings/<city>/<source>.yaml``.

    ``${NAME}`` placeholders in ``adapter.options`` are resolved from ``environ`` (default
    ``os.environ``); with ``resolve_env=False`` they are only checked for syntax, which is
    what ``check``, ``explain`` and ``coverage`` do on an author's machine.
    Raises :class:`MappingError` listing every problem.
    """
    file = Path(path)
    label = str(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise MappingError([Problem(label, None, "", "not UTF-8 text")]) from None
    except OSError as exc:
        raise MappingError([Problem(label, None, "", f"cannot read: {exc.strerror}")]) from None
    return parse_source(
        text, file, label=label, environ=environ, resolve_env=resolve_env, specs=specs
    )


def parse_source(
    text: str,
    file: Path,
    *,
    label: str | None = None,
    environ: Mapping[str, str] | None = None,
    resolve_env: bool = True,
    specs: Path | None = None,
) -> SourceDefinition:
    """Like :func:`load_source`, for text already read; ``file`` gives the city and name."""
    label = label or str(file)
    try:
        raw, lines = load_yaml(text)
    except YamlProblem as exc:
        raise MappingError([Problem(label, exc.line, render_path(exc.path), exc.message)]) from None
    if not isinstance(raw, dict):
        raise MappingError([Problem(label, lines.line(()), "", SHAPE_HINT)])
    try:
        nodes = SourceFile.model_validate(raw)
    except ValidationError as exc:
        problems = problems_from_validation(exc, file=label, data=raw, lines=lines, root=SourceFile)
        raise MappingError(sorted(problems, key=_order)) from None
    city = nodes.city or file.resolve().parent.name
    specs_folder = specs or specs_dir()
    try:
        targets: Targets = load_targets(specs_folder)
    except SchemaUnavailable as exc:
        raise MappingError([Problem(label, None, "", str(exc))]) from None
    findings = check_definition(
        nodes,
        raw,
        file_stem=file.stem,
        city=city,
        cities=_cities(specs_folder.resolve()),
        targets=targets,
        codelists=load_codelists(specs_folder),
    )
    problems = [
        Problem(label, lines.line(path), render_path(path), message) for path, message in findings
    ]
    if problems:
        raise MappingError(sorted(problems, key=_order))
    options = nodes.adapter.options
    if resolve_env:
        options = _resolve_options(options, environ, label, lines)
    return SourceDefinition(file=file, city=city, nodes=nodes, adapter_options=options, lines=lines)


def _order(problem: Problem) -> tuple[int, str]:
    return (problem.line or 0, problem.path)


def _resolve_options(
    options: dict[str, Any], environ: Mapping[str, str] | None, label: str, lines: LineIndex
) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    resolved: dict[str, Any] = {}
    for key, value in options.items():
        try:
            resolved[key] = envvars.resolve_all(value, env)
        except envvars.UnsetVariable as exc:
            path = ("adapter", "options", key)
            problem = Problem(
                label,
                lines.line(path),
                render_path(path),
                f"environment variable {exc.name} is not set",
            )
            raise MissingEnvironmentVariable(problem, exc.name) from None
    return resolved


@cache
def _cities(folder: Path) -> frozenset[str] | None:
    """City slugs from ``specs/cities.yaml``; ``None`` (no check) when the file is absent."""
    path = folder / "cities.yaml"
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return frozenset(str(city["slug"]) for city in data.get("cities", []))
