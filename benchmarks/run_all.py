"""Run every benchmark and write ``benchmarks/results.json`` plus a short table.

Each ``bench_*.py`` script prints, with ``--json``, one JSON object a line:
``{"name", "value", "unit", "limit", "ratio"}`` — the figure, the limit or baseline it is
compared with (measured in the same run where the issue asks for it), and their ratio.
This runner adds the machine and the script, and prints one table of everything.

    .venv/bin/python benchmarks/run_all.py [--only NAME ...] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        meminfo = Path("/proc/meminfo").read_text().split()
        info["memory_gib"] = round(int(meminfo[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return info


def run(script: Path, extra: list[str]) -> tuple[list[dict[str, Any]], str | None, float]:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, str(script), "--json", *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    figures = []
    for line in completed.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                figure = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "name" in figure:
                figures.append(figure)
            else:  # a script reporting one object of named numbers
                figures += [
                    {"name": key, "value": value, "unit": "", "limit": None, "ratio": None}
                    for key, value in figure.items()
                    if isinstance(value, int | float) and not isinstance(value, bool)
                ]
    error = None
    if completed.returncode != 0:
        error = (completed.stderr.strip().splitlines() or [f"exit {completed.returncode}"])[-1]
    return figures, error, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="run only these benchmarks (e.g. csv_adapter)")
    parser.add_argument("--postgres", help="PostgreSQL URL for the benchmarks that take one")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()

    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
    env_pg = args.postgres or os.environ.get("LGNET_TEST_POSTGRES_URL")
    results: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    for script in scripts:
        print(f"running {script.name} ...", file=sys.stderr, flush=True)
        extra = ["--postgres", env_pg] if env_pg and "--postgres" in script.read_text() else []
        figures, error, elapsed = run(script, extra)
        for figure in figures:
            results.append({"benchmark": script.stem, **figure})
        if error:
            failures[script.stem] = error
        print(f"  {len(figures)} figures in {elapsed:.1f} s", file=sys.stderr)

    report = {
        "machine": machine(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "results": results,
        "failures": failures,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")

    print(f"\n{'benchmark':<18} {'figure':<44} {'value':>14} {'limit':>14} {'ratio':>7}")
    for r in results:
        value = f"{r.get('value', 0):,.1f} {r.get('unit', '')}".strip()
        limit = r.get("limit")
        limit_s = f"{limit:,.1f}" if isinstance(limit, int | float) else str(limit or "")
        ratio = r.get("ratio")
        ratio_s = f"{ratio:.2f}" if isinstance(ratio, int | float) else ""
        name = r["benchmark"].removeprefix("bench_")
        print(f"{name:<18} {r['name'][:44]:<44} {value:>14} {limit_s:>14} {ratio_s:>7}")
    for name, error in failures.items():
        print(f"FAILED {name}: {error}")
    print(f"\nmachine: {report['machine']}")
    print(f"written: {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
