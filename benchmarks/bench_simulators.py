"""The cities' simulators: how fast a fleet is built, and what it costs in memory, per person.

    python benchmarks/bench_simulators.py                  # 5,000 people, every city
    python benchmarks/bench_simulators.py --people 50000   # the scale knob: 100 .. 1,000,000
    python benchmarks/bench_simulators.py --json           # also one JSON line

Baseline, measured in the same run on the same seed: generating the ground-truth population
alone (``Population.records()``). The fleet does that too, and renders every record in its
city's layout and codes, writes the CSV drops and fills the servers; the ratio says what the
simulators add. The RSS growth is what the servers hold (CSV rows stream to files): divide a
machine's memory by the KB per person to size the largest simulation it can run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.simulators.fleet import Fleet
from adapters.simulators.population import Population


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    process = psutil.Process(os.getpid())

    start = time.perf_counter()
    truth_records = sum(1 for _ in Population(args.seed, args.people).records())
    baseline = time.perf_counter() - start

    gc.collect()
    before = process.memory_info().rss
    with tempfile.TemporaryDirectory() as drops:
        start = time.perf_counter()
        fleet = Fleet(seed=args.seed, people=args.people, drop_dir=drops).start()
        elapsed = time.perf_counter() - start
        grown = process.memory_info().rss - before
        served = sum(r.records for r in fleet.sources.values())
        servers = sum(1 for r in fleet.sources.values() if r.server is not None)
        fleet.stop()

    figures = {
        "people": args.people,
        "truth_records": truth_records,
        "served_records": served,
        "servers": servers,
        "population_people_per_s": round(args.people / baseline),
        "fleet_people_per_s": round(args.people / elapsed),
        "ratio_to_population": round(baseline / elapsed, 2),
        "rss_kb_per_person": round(grown / args.people / 1024, 1),
    }
    print(f"population alone   {figures['population_people_per_s']:>9,} people/s")
    print(
        f"fleet start        {figures['fleet_people_per_s']:>9,} people/s"
        f"   ({figures['ratio_to_population']:.2f}x the population alone)"
    )
    print(f"served records     {served:>9,} of {truth_records:,} in {servers} servers + CSV drops")
    print(f"server memory      {figures['rss_kb_per_person']:>9,} KB per person")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
