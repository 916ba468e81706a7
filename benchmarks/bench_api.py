"""HTTP push throughput and latency, beside the pipeline's in-process rate, in one run.

    python benchmarks/bench_api.py                 # 20,000 records, SQLite
    python benchmarks/bench_api.py --records 50000 --latency-requests 5000
    python benchmarks/bench_api.py --json          # also JSON lines

What is measured (issue 8), all on loopback, SQLite, fresh migrated databases:

1. the pipeline in process: ``gateway.sync.pipeline.ingest`` of the records in batches of 500,
   one transaction per batch — the baseline;
2. the same records pushed over HTTP to ONE uvicorn worker (``lgnet serve``) as JSON arrays
   of 500 (``POST /v1/cities/roma/records`` with a bearer token): goal >= 10,000 records/s;
   the ratio is HTTP over in-process (what the HTTP layer costs: parsing, auth, audit, the
   response). Batches alternate between the two, so both see the same machine load;
3. both again with the same records (all duplicates: the pipeline's fast path, so the HTTP
   layer's share shows at a higher rate);
4. single-record pushes from 50 concurrent clients (httpx AsyncClient): p50 and p99 latency,
   over a bounded number of requests.

The records are synthetic people (``tests.gateway.sync.synthetic``), all distinct.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import orjson  # noqa: E402

from gateway.auth.clients import register_client  # noqa: E402
from gateway.settings import load_settings  # noqa: E402
from gateway.storage import make_engine, upgrade  # noqa: E402
from gateway.sync.pipeline import ingest  # noqa: E402
from tests.gateway.sync.synthetic import intake  # noqa: E402

BATCH = 500
CLIENTS = 50
CITY = "roma"


def records(first: int, count: int) -> list[dict[str, Any]]:
    return [intake(n, city=CITY, source="push") for n in range(first, first + count)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """``lgnet serve`` (one uvicorn worker) on a migrated SQLite database."""

    def __init__(self, folder: Path) -> None:
        self.url = f"sqlite:///{folder}/http.sqlite"
        engine = make_engine(self.url)
        upgrade(engine)
        self.client = register_client(
            engine, name="Bench writer", scopes=["records:write"], city=CITY
        )
        engine.dispose()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LGNET_")}
        env.update(
            LGNET_DATABASE_URL=self.url,
            LGNET_ISSUER=self.base,
            LGNET_SCHEDULER="off",
            LGNET_LOG_LEVEL="WARNING",
            LGNET_RATE_LIMIT_PER_MINUTE=str(10**9),
        )
        command = [sys.executable, "-c", "from gateway.cli import main; main()", "serve"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port), "--no-migrate", "--workers", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise SystemExit("lgnet serve did not become ready")

    def token(self) -> str:
        response = httpx.post(
            self.base + "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(self.client.client_id, self.client.secret or ""),
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def batch_rates(
    server: Server, token: str, url: str, batches: list[list[dict[str, Any]]], outcome: str
) -> tuple[float, float]:
    """Records/s in process and over HTTP, batch by batch in turn (same load for both).

    In process: ``ingest`` into the database at ``url``; over HTTP: the server's own database.
    """
    engine = make_engine(url)
    settings = load_settings(database_url=url)
    bodies = [orjson.dumps(batch) for batch in batches]  # client-side cost kept out
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    local = remote = 0.0
    with httpx.Client(base_url=server.base, timeout=60) as client:
        for batch, body in zip(batches, bodies, strict=True):
            started = time.perf_counter()
            report = ingest(
                engine, city=CITY, source="push", records=batch, mapper=None, settings=settings
            )
            local += time.perf_counter() - started
            started = time.perf_counter()
            response = client.post(f"/v1/cities/{CITY}/records", content=body, headers=headers)
            remote += time.perf_counter() - started
            if getattr(report, outcome) != BATCH:
                raise SystemExit(f"in-process ingest: {getattr(report, outcome)} {outcome}")
            if response.status_code != 200 or response.json()[outcome] != BATCH:
                raise SystemExit(f"push failed: {response.status_code} {response.text[:300]}")
    engine.dispose()
    total = sum(len(b) for b in batches)
    return total / local, total / remote


async def single_record_latencies(
    server: Server, token: str, first: int, count: int, budget_seconds: float
) -> tuple[list[float], float, int]:
    bodies = [orjson.dumps([record]) for record in records(first, count)]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    deadline = time.monotonic() + budget_seconds
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)

    async with httpx.AsyncClient(base_url=server.base, timeout=60, limits=limits) as client:

        async def worker() -> None:
            nonlocal failures
            while not queue.empty() and time.monotonic() < deadline:
                body = queue.get_nowait()
                started = time.perf_counter()
                try:
                    response = await client.post(
                        f"/v1/cities/{CITY}/records", content=body, headers=headers
                    )
                except httpx.TransportError:
                    failures += 1  # counted and reported, not timed
                    continue
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"push failed: {response.status_code} {response.text[:300]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    return latencies, len(latencies) / elapsed, failures


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, help="records pushed in batches")
    parser.add_argument("--latency-requests", type=int, default=2_000)
    parser.add_argument("--latency-seconds", type=float, default=60.0, help="time bound")
    parser.add_argument("--json", action="store_true", help="also print JSON lines")
    args = parser.parse_args()
    count = args.records - args.records % BATCH or BATCH
    data = records(0, count)
    batches = [data[i : i + BATCH] for i in range(0, count, BATCH)]

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inproc = f"sqlite:///{folder}/inproc.sqlite"
        upgrade(make_engine(inproc))
        server = Server(folder)
        try:
            server.wait_ready()
            token = server.token()
            baseline, rate = batch_rates(server, token, inproc, batches, "accepted")
            baseline_again, again = batch_rates(server, token, inproc, batches, "duplicate")
            results += [
                {"name": f"pipeline in process, batches of {BATCH}", "value": round(baseline),
                 "unit": "records/s", "limit": None, "ratio": 1.0},
                {"name": f"HTTP push, batches of {BATCH}, 1 uvicorn worker", "value": round(rate),
                 "unit": "records/s", "limit": 10_000, "ratio": round(rate / baseline, 3)},
                {"name": "pipeline in process, same records again", "value": round(baseline_again),
                 "unit": "records/s", "limit": None, "ratio": 1.0},
                {"name": "HTTP push, same records again", "value": round(again),
                 "unit": "records/s", "limit": None, "ratio": round(again / baseline_again, 3)},
            ]  # fmt: skip
            latencies, throughput, failures = asyncio.run(
                single_record_latencies(
                    server, token, count, args.latency_requests, args.latency_seconds
                )
            )
        finally:
            server.stop()
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    label = f"single-record push, {CLIENTS} clients"
    results += [
        {"name": f"{label}: p50", "value": round(p50 * 1000, 1), "unit": "ms",
         "limit": None, "ratio": None},
        {"name": f"{label}: p99", "value": round(p99 * 1000, 1), "unit": "ms",
         "limit": None, "ratio": round(p99 / p50, 2)},
        {"name": f"{label}: throughput", "value": round(throughput), "unit": "requests/s",
         "limit": None, "ratio": None},
    ]  # fmt: skip

    print(
        f"{count:,} records in batches of {BATCH}; {len(latencies):,} single-record pushes "
        f"(mean {statistics.fmean(latencies) * 1000:.1f} ms, {failures} transport errors); "
        "loopback, SQLite"
    )
    print(f"{'measure':48} {'value':>10} {'unit':11} {'ratio':>7} {'goal':>10}")
    for r in results:
        goal = "" if r["limit"] is None else f">= {r['limit']:,}"
        ratio = "" if r["ratio"] is None else r["ratio"]
        print(f"{r['name']:48} {r['value']:>10,} {r['unit']:11} {ratio:>7} {goal:>10}")
    print("ratio: HTTP over in-process rate (the HTTP overhead); for p99, p99 over p50")
    if args.json:
        for r in results:
            print(json.dumps(r))


if __name__ == "__main__":
    main()
