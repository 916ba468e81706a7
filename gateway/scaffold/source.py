"""Write the files of a city's new source: definition, golden sample, expected output, test.

``lgnet adapter new roma welfare-rest --kind rest`` calls :func:`new_source`, which renders the
templates of ``templates/`` (``string.Template``: ``$name`` is filled in, ``$$`` is a literal
``$``) into a project root::

    mappings/roma/welfare-rest.yaml                       the source definition
    mappings/roma/golden/welfare-rest.input.json          a sample the source would send
    mappings/roma/golden/welfare-rest.expected.json       what the mapping makes of it
    tests/sources/test_roma_welfare_rest.py               conformance kit + golden check

The expected file is computed by running the new mapping on the sample, so the files agree from
the start; the test then checks the adapter against a loopback simulator serving that sample.
Options that differ per deployment read ``${LGNET_SRC_<CITY>_<SOURCE>_...}`` variables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from string import Template

from gateway import cities
from mappings import MappingError, load_source
from mappings.envvars import variables, walk_strings
from mappings.golden import GoldenCase, render, run_golden
from mappings.nodes import SLUG

__all__ = [
    "KINDS",
    "SYSTEMS",
    "FilesExist",
    "InvalidName",
    "KindTemplate",
    "NewSource",
    "ScaffoldError",
    "env_prefix",
    "find_project_root",
    "new_source",
]

#: The ``system`` a source definition may declare (code list ``source_system``).
SYSTEMS = ("welfare", "health", "registry", "housing")


@dataclass(frozen=True)
class KindTemplate:
    """A kind the scaffold can write: its templates and the adapter kind they use."""

    kind: str
    adapter_kind: str
    sample_suffix: str
    default_system: str
    summary: str


KINDS: dict[str, KindTemplate] = {
    t.kind: t
    for t in (
        KindTemplate("csv", "csv", ".csv", "welfare", "CSV exports dropped in a folder"),
        KindTemplate("rest", "rest", ".json", "welfare", "REST JSON API, paged, OAuth2"),
        KindTemplate("soap", "soap", ".xml", "welfare", "SOAP case-file service (WSDL)"),
        KindTemplate("fhir", "fhir_r4", ".json", "health", "FHIR R4 server, by _lastUpdated"),
    )
}


class ScaffoldError(ValueError):
    """The scaffold cannot write the source; the message says what to change."""


class InvalidName(ScaffoldError):
    """An unknown city, kind or system, or a source name that is not a slug."""


class FilesExist(ScaffoldError):
    """Some files to write exist already; ``--force`` overwrites them."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        listed = ", ".join(str(p) for p in paths)
        super().__init__(f"already there: {listed}; pass --force to overwrite")


@dataclass(frozen=True)
class NewSource:
    """What :func:`new_source` wrote, as absolute paths."""

    city: str
    source: str
    kind: str
    root: Path
    definition: Path
    sample: Path
    expected: Path
    test: Path
    env_vars: tuple[str, ...]

    @property
    def files(self) -> tuple[Path, ...]:
        return (self.definition, self.sample, self.expected, self.test)


def env_prefix(city: str, source: str) -> str:
    """``LGNET_SRC_ROMA_WELFARE_REST`` for ``roma``/``welfare-rest``."""
    return "_".join(("LGNET_SRC", city.upper(), source.upper())).replace("-", "_")


def find_project_root(start: Path) -> Path:
    """The nearest folder from ``start`` upwards holding ``pyproject.toml`` and ``mappings/``."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "mappings").is_dir():
            return folder
    raise ScaffoldError(
        f"no project root at or above {start} (a folder with pyproject.toml and mappings/); "
        "run from the project or pass --root"
    )


def new_source(
    city: str,
    source: str,
    kind: str,
    *,
    root: Path,
    system: str | None = None,
    force: bool = False,
) -> NewSource:
    """Write a new source's definition, golden files and test under ``root``.

    Raises :class:`InvalidName` for a bad name and :class:`FilesExist` when a file is there
    already (unless ``force``). If a step fails, the files this call created are removed.
    """
    template = _kind(kind)
    system = system or template.default_system
    _check_names(city, source, system)
    root = root.resolve()
    folder = root / "mappings" / city
    stem = f"test_{city}_{source.replace('-', '_')}"
    planned = NewSource(
        city=city,
        source=source,
        kind=kind,
        root=root,
        definition=folder / f"{source}.yaml",
        sample=folder / "golden" / f"{source}.input{template.sample_suffix}",
        expected=folder / "golden" / f"{source}.expected.json",
        test=root / "tests" / "sources" / f"{stem}.py",
        env_vars=(),
    )
    # A sample of another kind would be taken for this source's golden input: it goes too.
    stale = sorted(set(planned.sample.parent.glob(f"{source}.input.*")) - {planned.sample})
    existing = [path for path in planned.files if path.exists()] + stale
    if existing and not force:
        raise FilesExist([path.relative_to(root) for path in existing])
    values = _values(planned, template, system)
    texts = {
        planned.definition: _render(f"{kind}.yaml.tmpl", values),
        planned.sample: _render(f"{kind}.input{template.sample_suffix}.tmpl", values),
        planned.test: _render(f"{kind}.test.py.tmpl", values),
    }
    written: list[Path] = []
    try:
        for path, text in texts.items():
            _write(path, text, bom=template.kind == "csv" and path == planned.sample)
            written.append(path)
        case = GoldenCase(planned.definition, planned.sample, planned.expected)
        _write(planned.expected, render(run_golden(case)))
        written.append(planned.expected)
        env_vars = _env_vars(planned.definition)
    except (MappingError, OSError):
        for path in written:
            if path not in existing:
                path.unlink(missing_ok=True)
        raise
    for path in stale:
        path.unlink()
    return replace(planned, env_vars=env_vars)


def _kind(kind: str) -> KindTemplate:
    try:
        return KINDS[kind]
    except KeyError:
        raise InvalidName(f"unknown kind {kind!r}; choose one of: {', '.join(KINDS)}") from None


def _check_names(city: str, source: str, system: str) -> None:
    if not cities.is_city(city):
        known = ", ".join(c.slug for c in cities.cities())
        raise InvalidName(f"unknown city {city!r}; the cities of specs/cities.yaml are: {known}")
    if re.fullmatch(SLUG, source) is None or source.endswith("-") or "--" in source:
        raise InvalidName(
            f"the source name {source!r} is not a slug: 2 to 41 lowercase letters, digits and "
            "single hyphens, starting with a letter (e.g. welfare-rest)"
        )
    if system not in SYSTEMS:
        raise InvalidName(f"unknown system {system!r}; choose one of: {', '.join(SYSTEMS)}")


def _values(planned: NewSource, template: KindTemplate, system: str) -> dict[str, str]:
    command = f"lgnet adapter new {planned.city} {planned.source} --kind {template.kind}"
    if system != template.default_system:
        command += f" --system {system}"
    words = [planned.city, *planned.source.split("-")]
    return {
        "city": planned.city,
        "city_name": cities.city(planned.city).name,
        "source": planned.source,
        "system": system,
        "kind": template.kind,
        "env": env_prefix(planned.city, planned.source),
        "command": command,
        "class_name": "".join(word.capitalize() for word in words),
        "input_name": planned.sample.name,
        "expected_name": planned.expected.name,
        "test_path": planned.test.relative_to(planned.root).as_posix(),
    }


def _render(name: str, values: dict[str, str]) -> str:
    text = (
        resources.files("gateway.scaffold").joinpath("templates", name).read_text(encoding="utf-8")
    )
    return Template(text).substitute(values)


def _write(path: Path, text: str, *, bom: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if bom:
        # What office software exports as "CSV UTF-8": a BOM and CRLF line ends.
        path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    else:
        path.write_text(text, encoding="utf-8", newline="\n")


def _env_vars(definition: Path) -> tuple[str, ...]:
    loaded = load_source(definition, resolve_env=False)
    names: dict[str, None] = {}
    for _, text in walk_strings(loaded.adapter_options):
        names.update(dict.fromkeys(variables(text)))
    return tuple(names)
