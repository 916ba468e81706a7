"""One runner per source: advisory locks on PostgreSQL, in-process + flock on SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from gateway.storage import make_engine
from gateway.sync.locks import SourceBusy, lock_key, source_lock


def test_lock_keys_are_stable_and_distinct() -> None:
    assert lock_key("roma", "welfare") == lock_key("roma", "welfare")
    assert lock_key("roma", "welfare") != lock_key("roma", "health")
    assert -(2**63) <= lock_key("roma", "welfare") < 2**63


def test_a_held_source_is_busy_for_another_runner_until_released(database_url) -> None:
    one, two = make_engine(database_url), make_engine(database_url)
    try:
        with source_lock(one, "roma", "welfare"):
            with (
                pytest.raises(SourceBusy, match="roma/welfare"),
                source_lock(two, "roma", "welfare"),
            ):
                pass
            with source_lock(two, "roma", "health"):  # another source is free
                pass
        with source_lock(two, "roma", "welfare"):
            pass
    finally:
        one.dispose()
        two.dispose()


HOLDER = textwrap.dedent(
    """
    import sys, time
    from gateway.storage import make_engine
    from gateway.sync.locks import source_lock
    with source_lock(make_engine(sys.argv[1]), "roma", "welfare"):
        print("held", flush=True)
        time.sleep(60)
    """
)


def test_a_killed_runner_releases_its_source(database_url) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, database_url], stdout=subprocess.PIPE, text=True
    )
    engine = make_engine(database_url)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SourceBusy), source_lock(engine, "roma", "welfare"):
            pass
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        deadline = time.monotonic() + 10
        while True:
            try:
                with source_lock(engine, "roma", "welfare"):
                    break
            except SourceBusy:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
        engine.dispose()
