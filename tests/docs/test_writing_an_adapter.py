"""docs/writing-an-adapter.md works as typed: every ``sh`` block runs, in order, in a project root.

The project root is a temporary folder with a copy of ``pyproject.toml`` and an empty
``mappings/``, so the doc's relative paths and ``lgnet adapter new``'s root discovery work as
they do in a checkout. Conventions of the doc that this test relies on:

- a ``sh`` block is run line by line: ``lgnet ...`` in-process through the CLI app (starting
  the console script costs seconds), ``pytest ...`` as a subprocess, ``cd DIR`` for the rest
  of the block; any other command fails the test, so add support here before using one;
- a ``text`` block right after a ``sh`` block shows output: each of its lines must appear in
  what the block printed (spaces normalised);
- a block whose first line is ``# PATH`` (a ``.py``, ``.toml`` or ``.yaml`` file, relative to
  the project root) is that file's content and is written there before the commands run; with
  ``# PATH (excerpt)`` its lines must instead appear in that file once the commands have run.

The doc's ``pyproject.toml`` of a plugin package is "installed" by writing a dist-info folder
with its entry points on ``sys.path``, as pip would.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import adapters.registry
from gateway.cli import app

PROJECT = Path(__file__).resolve().parents[2]
DOC = PROJECT / "docs" / "writing-an-adapter.md"
BIN = Path(sys.executable).parent
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
FILE_MARK = re.compile(r"^# (\S+\.(?:py|toml|yaml))( \(excerpt\))?$")


@dataclass
class Block:
    language: str
    text: str

    @property
    def marked(self) -> tuple[str, bool] | None:
        """``(path, is_excerpt)`` when the first line names a file."""
        match = FILE_MARK.match(self.text.splitlines()[0]) if self.text else None
        return (match.group(1), bool(match.group(2))) if match else None

    @property
    def body(self) -> str:
        return self.text.split("\n", 1)[1] if self.marked else self.text


def blocks() -> list[Block]:
    return [Block(m.group(1), m.group(2)) for m in FENCE.finditer(DOC.read_text("utf-8"))]


def commands(block: Block) -> list[str]:
    text = block.text.replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def normalised(text: str) -> str:
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


def install(pyproject: Path, site: Path) -> None:
    """What pip would leave on the path for the package's entry points."""
    meta = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    info = site / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n"
    )
    lines = []
    for group, points in meta.get("entry-points", {}).items():
        lines.append(f"[{group}]")
        lines.extend(f"{name} = {target}" for name, target in points.items())
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


class Shell:
    """Runs the doc's command lines from the project root."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.monkeypatch = monkeypatch
        self.runner = CliRunner()

    def run_block(self, block: Block) -> str:
        cwd = self.root
        output: list[str] = []
        for line in commands(block):
            argv = shlex.split(line)
            if argv[0] == "cd":
                cwd = (cwd / argv[1]).resolve()
                assert cwd.is_dir(), line
            elif argv[0] == "lgnet":
                self.monkeypatch.chdir(cwd)
                result = self.runner.invoke(app, argv[1:])
                assert result.exit_code == 0, f"{line}\n{result.output}{result.exception!r}"
                output.append(result.output)
            elif argv[0] == "pytest":
                env = {k: v for k, v in os.environ.items() if not k.startswith("LGNET_")}
                run = subprocess.run(
                    [BIN / "pytest", "-p", "no:cacheprovider", *argv[1:]],
                    cwd=cwd,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=240,
                )
                assert run.returncode == 0, f"{line}\n{run.stdout}\n{run.stderr}"
                output.append(run.stdout)
            else:
                pytest.fail(f"the doc runs {argv[0]!r}, which this test does not support: {line}")
        return "".join(output)


def run_in_order(found: list[Block], shell: Shell) -> int:
    """Run the sh blocks, check the text blocks after them; return how many blocks ran."""
    output: str | None = None
    ran = 0
    for block in found:
        if block.language == "sh":
            output = shell.run_block(block)
            ran += 1
        elif block.language == "text" and output is not None:
            printed = normalised(output)
            for line in normalised(block.text).splitlines():
                assert line in printed, f"the doc shows {line!r}; the command printed:\n{output}"
            output = None
        else:
            output = None
    return ran


def test_the_doc_has_commands_and_marks_its_files() -> None:
    found = blocks()
    run = [line for b in found if b.language == "sh" for line in commands(b)]
    assert any(line.startswith("lgnet adapter new ") for line in run)
    assert any(line.startswith("pytest tests/sources/") for line in run)
    assert {"lgnet adapter kinds", "pytest test_jsonl_drop.py"} <= set(run)
    assert any(line.startswith("lgnet mapping explain ") for line in run)
    assert any(line.startswith("lgnet mapping coverage ") for line in run)
    marked = [b.marked for b in found if b.marked]
    assert ("../jsonl-drop/jsonl_drop.py", False) in marked
    assert ("mappings/latina/housing-rest.yaml", True) in marked


def test_every_command_of_the_doc_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "project"
    (root / "mappings").mkdir(parents=True)
    shutil.copy(PROJECT / "pyproject.toml", root / "pyproject.toml")
    found = blocks()

    # Files the doc gives in full; a plugin package's pyproject is installed on the path.
    for block in found:
        if block.marked and not block.marked[1]:
            path = (root / block.marked[0]).resolve()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.body, encoding="utf-8")
            if path.name == "pyproject.toml":
                install(path, tmp_path / "site")
                monkeypatch.syspath_prepend(str(tmp_path / "site"))
                monkeypatch.syspath_prepend(str(path.parent))
    # The kinds loaded through entry points must not stay registered for other tests.
    monkeypatch.setattr(adapters.registry, "_registered", dict(adapters.registry._registered))

    try:
        ran = run_in_order(found, Shell(root, monkeypatch))
    finally:
        sys.modules.pop("jsonl_drop", None)
    assert ran >= 8

    for block in found:
        if block.marked and block.marked[1]:
            text = (root / block.marked[0]).read_text(encoding="utf-8").splitlines()
            for line in block.body.splitlines():
                assert line in text, f"{block.marked[0]} has no line {line!r}"
