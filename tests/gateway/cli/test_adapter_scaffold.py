"""``lgnet adapter new`` and ``lgnet adapter kinds`` (gateway/cli/adapter.py, gateway/scaffold).

The scaffold writes every kind into a temporary project root; each definition must pass
``lgnet mapping check`` and each generated test must pass, run by pytest in a subprocess with
the project's strict settings (the project's ``pyproject.toml`` is copied into the root).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import adapters.registry
from gateway.cli import app
from gateway.cli.adapter import ScaffoldKind, System
from gateway.scaffold import KINDS, SYSTEMS, env_prefix
from gateway.schema.codelists import codelist
from gateway.schema.intake import IntakeRecord

PROJECT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
runner = CliRunner()

# One source per kind; the REST one has the longest name a slug allows (41 characters), so the
# generated code is shown to stay within the line length whatever the name.
SOURCES = {
    "csv": ("torino", "welfare-csv"),
    "rest": ("bologna", "servizi-sociali-cartella-rest-api-version"),
    "soap": ("bolzano", "sozialdienst-soap"),
    "fhir": ("trieste", "asugi-fhir"),
}
assert len(SOURCES["rest"][1]) == 41


def new_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT / "pyproject.toml", root / "pyproject.toml")
    (root / "mappings").mkdir(exist_ok=True)
    return root


def scaffold(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["adapter", "new", *args])
    return result.exit_code, result.output


def written(root: Path, kind: str) -> dict[str, Path]:
    city, source = SOURCES[kind]
    suffix = KINDS[kind].sample_suffix
    folder = root / "mappings" / city
    return {
        "definition": folder / f"{source}.yaml",
        "sample": folder / "golden" / f"{source}.input{suffix}",
        "expected": folder / "golden" / f"{source}.expected.json",
        "test": root / "tests" / "sources" / f"test_{city}_{source.replace('-', '_')}.py",
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = new_project(tmp_path_factory.mktemp("scaffold") / "project")
    for kind, (city, source) in SOURCES.items():
        code, output = scaffold(city, source, "--kind", kind, "--root", str(root))
        assert code == 0, output
    return root


@pytest.mark.parametrize("kind", list(SOURCES))
def test_the_definition_passes_mapping_check(project: Path, kind: str) -> None:
    files = written(project, kind)
    assert all(path.is_file() for path in files.values())
    result = runner.invoke(app, ["mapping", "check", str(files["definition"])])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "1 source definition(s) OK"


@pytest.mark.parametrize("kind", list(SOURCES))
def test_the_golden_files_hold_valid_intake_records(project: Path, kind: str) -> None:
    city, source = SOURCES[kind]
    expected = json.loads(written(project, kind)["expected"].read_text(encoding="utf-8"))
    assert len(expected) >= 3
    for record in expected:
        intake = IntakeRecord.model_validate(record)
        assert (intake.source.city, intake.source.source) == (city, source)
        assert intake.source.system == KINDS[kind].default_system
        assert intake.subject.family_name and intake.subject.birth_date


@pytest.mark.parametrize("kind", list(SOURCES))
def test_placeholders_are_named_after_city_and_source(project: Path, kind: str) -> None:
    city, source = SOURCES[kind]
    text = written(project, kind)["definition"].read_text(encoding="utf-8")
    prefix = env_prefix(city, source)
    assert prefix == f"LGNET_SRC_{city.upper()}_{source.upper().replace('-', '_')}"
    placeholders = [part.split("}")[0] for part in text.split("${")[1:]]
    assert placeholders, "the definition reads its location from the environment"
    assert all(name.startswith(prefix + "_") for name in placeholders)
    for path in written(project, kind).values():
        assert "TODO" not in path.read_text(encoding="utf-8", errors="replace")


def test_the_generated_tests_pass(project: Path) -> None:
    """The generated test files, in two pytest processes side by side (one per core)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LGNET_")}
    groups = [("soap", "csv"), ("fhir", "rest")]
    runs = [
        subprocess.Popen(
            [
                BIN / "pytest",
                "-p",
                "no:cacheprovider",
                "-q",
                "-rA",
                *[written(project, kind)["test"] for kind in group],
            ],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for group in groups
    ]
    for group, run in zip(groups, runs, strict=True):
        output, _ = run.communicate(timeout=240)
        assert run.returncode == 0, f"{group}:\n{output}"
        for kind in group:
            test = written(project, kind)["test"].name
            assert f"{test}::" in output
        assert output.count("::test_records_map_to_the_golden_output") == len(group)
        assert output.count("::test_resume_from_cursors_gives_the_rest") == len(group)


def test_the_generated_tests_are_lint_clean(project: Path) -> None:
    # In the project, adapters/ and mappings/ are first-party packages: say so in the copy.
    first_party = "lint.isort.known-first-party=['adapters', 'mappings', 'gateway']"
    tests = str(project / "tests")
    check = subprocess.run(
        [BIN / "ruff", "check", "--config", first_party, tests], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    form = subprocess.run(
        [BIN / "ruff", "format", "--check", tests], capture_output=True, text=True
    )
    assert form.returncode == 0, form.stdout


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    root = new_project(tmp_path / "project")
    code, _ = scaffold("roma", "welfare-rest", "--kind", "rest", "--root", str(root))
    assert code == 0
    definition = root / "mappings" / "roma" / "welfare-rest.yaml"
    definition.write_text("edited by hand\n", encoding="utf-8")
    code, output = scaffold("roma", "welfare-rest", "--kind", "rest", "--root", str(root))
    assert code == 2
    assert "already there: mappings/roma/welfare-rest.yaml" in output
    assert "pass --force to overwrite" in output
    assert definition.read_text(encoding="utf-8") == "edited by hand\n"
    code, output = scaffold(
        "roma", "welfare-rest", "--kind", "rest", "--root", str(root), "--force"
    )
    assert code == 0, output
    assert definition.read_text(encoding="utf-8").startswith("# yaml-language-server")


def test_force_replaces_a_source_of_another_kind(tmp_path: Path) -> None:
    root = new_project(tmp_path / "project")
    assert scaffold("roma", "welfare", "--kind", "csv", "--root", str(root))[0] == 0
    code, output = scaffold("roma", "welfare", "--kind", "soap", "--root", str(root))
    assert code == 2
    assert "mappings/roma/golden/welfare.input.csv" in output
    code, output = scaffold("roma", "welfare", "--kind", "soap", "--root", str(root), "--force")
    assert code == 0, output
    golden = root / "mappings" / "roma" / "golden"
    assert sorted(p.name for p in golden.iterdir()) == [
        "welfare.expected.json",
        "welfare.input.xml",
    ]
    result = runner.invoke(app, ["mapping", "check", str(root / "mappings")])
    assert result.exit_code == 0, result.output


INVALID = [
    (["atlantide", "welfare-rest", "--kind", "rest"], "unknown city 'atlantide'"),
    (["atlantide", "welfare-rest", "--kind", "rest"], "agrigento, bologna, bolzano"),
    (["Roma", "welfare-rest", "--kind", "rest"], "unknown city 'Roma'"),
    (["roma", "Welfare_REST", "--kind", "rest"], "'Welfare_REST' is not a slug"),
    (["roma", "w", "--kind", "rest"], "'w' is not a slug"),
    (["roma", "welfare-", "--kind", "rest"], "'welfare-' is not a slug"),
    (["roma", "welfare--rest", "--kind", "rest"], "is not a slug"),
    (["roma", "1welfare", "--kind", "rest"], "is not a slug"),
    (["roma", "a" * 42, "--kind", "rest"], "is not a slug"),
    (["roma", "welfare-ftp", "--kind", "ftp"], "Invalid value for '--kind'"),
    (["roma", "welfare-rest", "--kind", "rest", "--system", "school"], "Invalid value for"),
    (["roma", "welfare-rest"], "Missing option '--kind'"),
]


@pytest.mark.parametrize(("args", "message"), INVALID)
def test_bad_names_are_refused_with_a_clear_error(
    tmp_path: Path, args: list[str], message: str
) -> None:
    root = new_project(tmp_path / "project")
    code, output = scaffold(*args, "--root", str(root))
    assert code == 2
    assert message in " ".join(output.split())
    assert not (root / "tests").exists()
    assert list((root / "mappings").iterdir()) == []


def test_system_can_be_chosen(tmp_path: Path) -> None:
    root = new_project(tmp_path / "project")
    code, output = scaffold(
        "napoli", "housing-csv", "--kind", "csv", "--system", "housing", "--root", str(root)
    )
    assert code == 0, output
    definition = root / "mappings" / "napoli" / "housing-csv.yaml"
    assert "\nsystem: housing\n" in definition.read_text(encoding="utf-8")
    assert "--kind csv --system housing" in definition.read_text(encoding="utf-8")
    expected = root / "mappings" / "napoli" / "golden" / "housing-csv.expected.json"
    assert {r["source"]["system"] for r in json.loads(expected.read_text())} == {"housing"}


def test_root_is_found_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = new_project(tmp_path / "project")
    (root / "docs").mkdir()
    monkeypatch.chdir(root / "docs")
    code, output = scaffold("roma", "welfare-csv", "--kind", "csv")
    assert code == 0, output
    assert (root / "mappings" / "roma" / "welfare-csv.yaml").is_file()
    assert f"wrote {root / 'mappings' / 'roma' / 'welfare-csv.yaml'}" in output
    monkeypatch.chdir(root)
    code, output = scaffold("roma", "welfare-soap", "--kind", "soap")
    assert code == 0, output
    assert "wrote mappings/roma/welfare-soap.yaml" in output
    assert "  pytest tests/sources/test_roma_welfare_soap.py" in output
    assert "LGNET_SRC_ROMA_WELFARE_SOAP_PASSWORD" in output


def test_outside_a_project_the_root_must_be_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = scaffold("roma", "welfare-csv", "--kind", "csv")
    assert code == 2
    assert "no project root" in output and "pass --root" in output
    assert not (tmp_path / "mappings").exists()


def test_kinds_lists_built_in_kinds_with_their_scaffold() -> None:
    result = runner.invoke(app, ["adapter", "kinds"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert set(lines) >= {"anpr", "csv", "fhir_r4", "rest", "soap"}
    assert "adapters.fhir_r4.FhirR4Adapter" in lines["fhir_r4"]
    assert "--kind fhir" in lines["fhir_r4"]
    assert "built in" in lines["anpr"] and "--kind" not in lines["anpr"]


def test_kinds_lists_adapters_of_other_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package registering through the ``lgnet.adapters`` entry-point group, installed on
    the path as a distribution would be; a broken one is listed, not fatal."""
    site = tmp_path / "site"
    (site / "ftp_adapter").mkdir(parents=True)
    (site / "ftp_adapter" / "__init__.py").write_text(
        textwrap.dedent(
            """
            from adapters import Adapter, AdapterOptions

            class FtpOptions(AdapterOptions):
                host: str

            class FtpDropAdapter(Adapter[FtpOptions]):
                kind = "ftp-drop"
                Options = FtpOptions
            """
        ),
        encoding="utf-8",
    )
    info = site / "ftp_adapter-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ftp-adapter\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[lgnet.adapters]\nftp-drop = ftp_adapter:FtpDropAdapter\nbroken = no_such_module:X\n"
        "csv = ftp_adapter:FtpDropAdapter\n"
    )
    monkeypatch.syspath_prepend(str(site))
    # What the command loads must not stay registered for other tests.
    monkeypatch.setattr(adapters.registry, "_registered", dict(adapters.registry._registered))
    try:
        result = runner.invoke(app, ["adapter", "kinds"])
    finally:
        sys.modules.pop("ftp_adapter", None)
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert "ftp_adapter.FtpDropAdapter" in lines["ftp-drop"]
    assert "entry point ftp_adapter:FtpDropAdapter" in lines["ftp-drop"]
    assert "cannot be loaded (ModuleNotFoundError)" in lines["broken"]
    assert "adapters.csv.CsvAdapter" in lines["csv"]
    assert "built in (entry point ftp_adapter:FtpDropAdapter ignored)" in lines["csv"]


def test_choices_agree_with_the_scaffold_and_the_code_list() -> None:
    assert [k.value for k in ScaffoldKind] == list(KINDS)
    assert [s.value for s in System] == list(SYSTEMS)
    assert set(SYSTEMS) == set(codelist("source_system").codes)


def test_templates_are_package_data() -> None:
    pyproject = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "*.tmpl" in pyproject["tool"]["setuptools"]["package-data"]["*"]
    templates = PROJECT / "gateway" / "scaffold" / "templates"
    for kind, template in KINDS.items():
        for name in ("yaml", f"input{template.sample_suffix}", "test.py"):
            assert (templates / f"{kind}.{name}.tmpl").is_file()
