"""The README's set-up commands and its tour run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def test_the_two_setup_commands_come_first_exactly_as_typed() -> None:
    assert sh_blocks(README)[0] == "make demo\nmake test\n"
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo:", "test:", "lint:", "bench:"):
        assert re.search(rf"^{target}", makefile, re.M), target


def test_the_tour_runs(tmp_path: Path) -> None:
    script = "set -euo pipefail\n" + "\n".join(sh_blocks(README)[1:])
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LGNET_ENV": "development",
        "LGNET_SPECS_DIR": str(ROOT / "specs"),
    }
    completed = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    log = (tmp_path / "serve.log").read_text() if (tmp_path / "serve.log").exists() else ""
    assert completed.returncode == 0, completed.stdout + completed.stderr + log
    out = completed.stdout
    assert '"outcome":"accepted"' in out
    assert '"services":["housing_support"]' in out
    assert "period,kpi,area,dimension,category,value,suppressed" in out
    assert "programme,taken_in_charge,national,total,total" in out
    # The synthetic person's name never comes back.
    assert "Diallo" not in out and "Amadou" not in out
    assert (tmp_path / "scratch" / "mappings" / "latina" / "housing-rest.yaml").exists()
