"""Ground-truth population generator: people and records per second, streamed (issue 3 and 6).

Generates ``--people`` synthetic people and all their source records without keeping them,
and reports people/s, records/s and the peak memory. The baseline measured in the same run is
the floor of the generator's design: one seeded ``random.Random`` per person drawing 100
numbers.

    python benchmarks/bench_population.py [--people 1000000] [--seed 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.simulators.population import Population


def baseline(n: int) -> float:
    """Seeded random streams per second (one per person, 100 draws each)."""
    started = time.perf_counter()
    for i in range(n):
        rng = random.Random(i)
        for _ in range(100):
            rng.random()
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="JSON lines instead of text.")
    args = parser.parse_args()
    floor = baseline(min(args.people, 50_000))
    population = Population(args.seed, args.people)
    records = 0
    started = time.perf_counter()
    for person in population.people():
        records += len(population.records_of(person))
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    people_rate = args.people / elapsed
    results = [
        {"name": "population.people_per_s", "value": round(people_rate), "unit": "people/s",
         "limit": None, "ratio": round(people_rate / floor, 4)},
        {"name": "population.records_per_s", "value": round(records / elapsed),
         "unit": "records/s", "limit": None, "ratio": round(records / elapsed / floor, 4)},
        {"name": "population.peak_rss", "value": round(peak_mb), "unit": "MiB", "limit": None,
         "ratio": None},
    ]  # fmt: skip
    if args.json:
        for result in results:
            print(json.dumps(result))
        return
    print(f"{args.people:,} people, {records:,} records in {elapsed:,.1f} s (seed {args.seed})")
    print(
        f"  {people_rate:,.0f} people/s, {records / elapsed:,.0f} records/s; "
        f"baseline {floor:,.0f} seeded streams/s, ratio {people_rate / floor:.3f}; "
        f"peak memory {peak_mb:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
