"""CSV adapter throughput against bare ``csv.reader`` on the same file, in the same run.

    python benchmarks/bench_csv_adapter.py                 # 500k rows, table
    python benchmarks/bench_csv_adapter.py --json          # also JSON lines
    python benchmarks/bench_csv_adapter.py --big           # + peak RSS streaming a ~1 GB file

Goals (BRIEF §12): the adapter yields >= 300,000 rows/s on one core and >= 0.5x ``csv.reader``
(which only splits fields; the adapter also builds a dict, a RawRecord and a resumable cursor per
row and checks encodings and formula-like cells). The RSS figure shows constant memory: it is
measured while streaming the big file and compared with the RSS before it.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.csv import CsvAdapter, CsvOptions

COLUMNS = [
    "id_pratica", "cognome", "nome", "sesso", "data_nascita", "paese_nascita", "cittadinanza",
    "data_presa_in_carico", "canale", "servizio", "stato", "importo",
]  # fmt: skip
SURNAMES = ["Rossi", "Bianchi", "Mammì", "Diallo", "Nguyen", "El Amrani", "Popescu", "Kaur"]
NAMES = ["Mario", "Niccolò", "Fatima", "Mohamed", "Anna", "Jürgen", "Aïcha", "Li"]


def generate(path: Path, rows: int, seed: int = 12) -> int:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=";", lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for i in range(rows):
            writer.writerow([
                f"RM{i:08d}", rng.choice(SURNAMES), rng.choice(NAMES), rng.choice("MF"),
                f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1950, 2005)}",
                rng.choice(["Marocco", "Senegal", "Romania", "Perù"]),
                rng.choice(["MA", "SN", "RO"]),
                f"{rng.randint(1, 28):02d}/03/2024", rng.choice(["unita_mobile", "sportello"]),
                rng.choice(["housing_support", "legal_advice"]), rng.choice(["aperto", "chiuso"]),
                f"{rng.randint(0, 9999)},{rng.randint(0, 99):02d}",
            ])  # fmt: skip
    return path.stat().st_size


def bare_reader(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as f:
        return sum(1 for _ in csv.reader(f, delimiter=";"))


def adapter_rows(path: Path) -> int:
    n = 0
    for _ in CsvAdapter(CsvOptions(path=str(path)), source="bench").fetch(None):
        n += 1
    return n


def best_rate(fn: object, path: Path, rows: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn(path)  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return rows / best


def rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def peak_rss_while(fn: object, path: Path) -> tuple[int, int]:
    """RSS before, and the peak RSS sampled every 10 ms while ``fn(path)`` runs."""
    before = rss()
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        fn(path)  # type: ignore[operator]
    finally:
        done.set()
        sampler.join()
    return before, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--big", action="store_true", help="also stream a ~1 GB file")
    parser.add_argument("--big-mb", type=int, default=1024)
    parser.add_argument("--json", action="store_true", help="also print JSON lines")
    args = parser.parse_args()

    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        size = generate(path, args.rows)
        base = best_rate(lambda p: bare_reader(p) - 1, path, args.rows, args.repeat)
        ours = best_rate(adapter_rows, path, args.rows, args.repeat)
        results.append({"name": "csv.reader rows/s", "value": round(base), "unit": "rows/s",
                        "limit": None, "ratio": 1.0})  # fmt: skip
        results.append({"name": "csv adapter rows/s", "value": round(ours), "unit": "rows/s",
                        "limit": 300_000, "ratio": round(ours / base, 3)})  # fmt: skip
        print(f"{args.rows:,} rows x {len(COLUMNS)} columns, {size / 1e6:.1f} MB, one core")
        if args.big:
            big = Path(tmp) / "big.csv"
            rows_big = int(args.rows * args.big_mb * 1e6 / size)
            generate(big, rows_big)
            before, peak = peak_rss_while(adapter_rows, big)
            growth = round((peak - before) / 2**20, 1)
            results.append({"name": "csv adapter peak RSS growth", "value": growth, "unit": "MiB",
                            "limit": 64, "ratio": round(peak / before, 3),
                            "file_mb": round(big.stat().st_size / 1e6)})  # fmt: skip
            big.unlink()

    print(f"{'measure':32} {'value':>12} {'unit':8} {'ratio':>7} {'goal':>10}")
    for r in results:
        goal = (
            ""
            if r["limit"] is None
            else f">= {r['limit']:,}"
            if r["unit"] == "rows/s"
            else f"<= {r['limit']}"
        )
        print(f"{r['name']:32} {r['value']:>12,} {r['unit']:8} {r['ratio']:>7} {goal:>10}")
    print(f"ratio goal: >= 0.5x csv.reader; measured {results[1]['ratio']}x")
    if args.json:
        for r in results:
            print(json.dumps(r))


if __name__ == "__main__":
    main()
