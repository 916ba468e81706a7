"""The Docker files are written and checked, not run (no engine here): every reference in
them must point at something that exists — build files, copied folders, settings, commands."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from gateway.cli import app
from gateway.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"


def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def settings_variables() -> set[str]:
    return {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}


def cli_variables() -> set[str]:
    """``LGNET_`` variables that CLI options read (``envvar=...``)."""
    found: set[str] = set()
    for path in (ROOT / "gateway" / "cli").glob("*.py"):
        found.update(re.findall(r'envvar="(LGNET_[A-Z0-9_]+)"', path.read_text()))
    return found


def test_builds_use_a_dockerfile_that_exists_and_copies_existing_paths() -> None:
    for name, service in services().items():
        build = service.get("build")
        if build is None:
            continue
        context = (DOCKER / build["context"]).resolve()
        assert context == ROOT, name
        dockerfile = context / build["dockerfile"]
        assert dockerfile.is_file(), name
    text = (DOCKER / "Dockerfile").read_text()
    for line in text.splitlines():
        if line.startswith("COPY") and "--from" not in line:
            *sources, _target = shlex.split(line)[1:]
            for source in sources:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"


def test_the_image_runs_as_a_non_root_user_from_a_slim_base() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\s*$", text, re.M)
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")


def test_every_gateway_variable_is_a_setting_or_a_documented_cli_variable() -> None:
    known = settings_variables() | cli_variables()
    for name, service in services().items():
        for variable in service.get("environment", {}) or {}:
            if variable.startswith(ENV_PREFIX):
                assert variable in known, f"{name}: {variable} is not a setting"


def test_interpolated_variables_are_settings_too() -> None:
    text = (DOCKER / "compose.yaml").read_text()
    for variable in re.findall(r"\$\{(LGNET_[A-Z0-9_]+)", text):
        assert variable in settings_variables() | cli_variables(), variable


def test_two_gateway_replicas_share_postgresql_and_the_simulators_run() -> None:
    svc = services()
    replicas = [s for s in svc.values() if "serve" in " ".join(map(str, s.get("command", [])))]
    assert len(replicas) == 2
    urls = {s["environment"]["LGNET_DATABASE_URL"] for s in replicas}
    assert len(urls) == 1 and next(iter(urls)).startswith("postgresql+psycopg://")
    assert svc["postgres"]["image"].startswith("postgres:")
    assert svc["simulators"]["command"][:2] == ["lgnet", "simulate"]


def _lgnet_invocations() -> list[list[str]]:
    calls = []
    for service in services().values():
        command = service.get("command")
        if not command:
            continue
        text = command if isinstance(command, str) else " ".join(map(str, command))
        for part in re.split(r"&&|;", text):
            words = shlex.split(part.replace("exec ", ""))
            if words and words[0] == "lgnet":
                calls.append(words[1:])
    return calls


@pytest.mark.parametrize("arguments", _lgnet_invocations(), ids=lambda a: " ".join(a[:2]))
def test_every_lgnet_command_in_compose_exists_with_its_options(arguments: list[str]) -> None:
    # Each option used must be accepted: run the command's --help and look for it.
    words = [w for w in arguments if not w.startswith("-")]
    command = words[:2] if words[:1] == ["db"] else words[:1]
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for option in (w.split("=", 1)[0] for w in arguments if w.startswith("--")):
        assert option in result.output, f"lgnet {' '.join(command)} has no {option}"
