"""Two ``lgnet serve`` processes on one PostgreSQL: every source synced, never by both at once.

Both replicas run the scheduler on a one-second schedule over three CSV sources whose exports
keep growing; afterwards the run log (``sync_runs``) must show runs of every source by both
replicas, and no two runs of one source whose intervals overlap.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import text

from gateway.storage import make_engine, upgrade
from tests.gateway.sync.synthetic import csv_row, write_csv, write_definition

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
SOURCES = ("welfare-a", "welfare-b", "welfare-c")
SERVE = "from gateway.cli import main; main()"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(url: str, mappings: str, port: int, log) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LGNET_DATABASE_URL": url,
        "LGNET_MAPPINGS_DIR": mappings,
        "LGNET_SCHEDULER": "on",
        "LGNET_SYNC_BATCH_SIZE": "200",
        "LGNET_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-c", SERVE, "serve", "--port", str(port), "--no-migrate"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "lgnet serve exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("lgnet serve did not start")


def test_two_replicas_never_run_one_source_at_once(database_url, tmp_path) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("replicas share a PostgreSQL database")
    engine = make_engine(database_url)
    upgrade(engine)
    mappings = tmp_path / "mappings"
    drops = {}
    for n, name in enumerate(SOURCES):
        drops[name] = write_csv(tmp_path / f"{name}.csv", 1500, start=n * 1_000_000)
        write_definition(mappings, source=name, path=str(drops[name]), every="1s")

    ports = [free_port(), free_port()]
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed in finally
    replicas = [serve(database_url, str(mappings), port, log) for port in ports]
    try:
        for port, process in zip(ports, replicas, strict=True):
            wait_healthy(port, process)
        # The exports keep growing, so runs have work to do while the other replica tries.
        for round_ in range(16):
            for n, name in enumerate(SOURCES):
                with open(drops[name], "a", encoding="utf-8") as handle:
                    for i in range(150):
                        row = csv_row(n * 1_000_000 + 1500 + round_ * 150 + i)
                        handle.write(";".join(row) + "\n")
            time.sleep(0.5)
        time.sleep(3)  # let the last rows be picked up
    finally:
        for process in replicas:
            process.send_signal(signal.SIGTERM)
        for process in replicas:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()

    with engine.connect() as connection:
        runs = connection.execute(
            text(
                "SELECT source, runner, started_at, finished_at, status FROM sync_runs"
                " ORDER BY source, started_at"
            )
        ).all()
        stored = dict(
            connection.execute(
                text("SELECT source, count(*) FROM source_records GROUP BY source")
            ).all()
        )
    engine.dispose()
    assert {run.source for run in runs} == set(SOURCES)
    assert all(run.status == "ok" and run.finished_at is not None for run in runs), runs
    assert len({run.runner for run in runs}) == 2, "both replicas should have run sources"
    for name in SOURCES:
        mine = [run for run in runs if run.source == name]
        for before, after in itertools.pairwise(mine):
            assert before.finished_at <= after.started_at, f"{name}: overlapping runs"
        assert stored[name] == 1500 + 16 * 150  # every row, once
