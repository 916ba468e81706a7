"""One runner per source: two gateway processes never sync the same source at once.

- **PostgreSQL**: a session-level advisory lock (``pg_try_advisory_lock``) on a connection of its
  own, held for the whole run. The server releases it when that session ends — also when the
  process holding it is killed — so a dead runner never blocks a source for good.
- **SQLite** (the embedded, single-machine setup): a lock per source inside the process, plus an
  ``flock`` on a file beside the database so that two ``lgnet`` commands on one laptop do not
  overlap either. The kernel drops an ``flock`` when its process dies. SQLite deployments are
  single-host by nature, so nothing more is needed.

The lock key of a source is a stable 63-bit hash of ``city/source`` in its own namespace, so it
cannot collide with advisory locks taken by other parts of the gateway by accident.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

_LOCAL: dict[tuple[str, str, str], threading.Lock] = {}
_LOCAL_GUARD = threading.Lock()


class SourceBusy(RuntimeError):
    """Another runner is syncing this source right now: skip it and try again later."""

    def __init__(self, city: str, source: str) -> None:
        self.city = city
        self.source = source
        super().__init__(f"{city}/{source}: another runner holds this source")


def lock_key(city: str, source: str) -> int:
    """The advisory-lock key of a source: a signed 64-bit integer, stable across processes."""
    digest = hashlib.sha256(f"lgnet-sync\x1f{city}\x1f{source}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def source_lock(engine: Engine, city: str, source: str) -> Iterator[None]:
    """Hold the source's lock for the ``with`` block; raise :class:`SourceBusy` if taken."""
    if engine.dialect.name == "postgresql":
        with _postgres_lock(engine, city, source):
            yield
        return
    with _local_lock(engine, city, source):
        yield


@contextmanager
def _postgres_lock(engine: Engine, city: str, source: str) -> Iterator[None]:
    key = lock_key(city, source)
    # A dedicated connection: the lock lives as long as this session, not a transaction, and
    # the batches of the run commit on other connections meanwhile.
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        if not got:
            raise SourceBusy(city, source)
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    finally:
        connection.close()


@contextmanager
def _local_lock(engine: Engine, city: str, source: str) -> Iterator[None]:
    database = make_url(engine.url).database or ""
    name = str(Path(database).resolve()) if database and database != ":memory:" else database
    with _LOCAL_GUARD:
        lock = _LOCAL.setdefault((name, city, source), threading.Lock())
    if not lock.acquire(blocking=False):
        raise SourceBusy(city, source)
    try:
        if not name or name == ":memory:":
            yield
            return
        path = Path(f"{name}.sync-{lock_key(city, source) & 0xFFFFFFFF:08x}.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SourceBusy(city, source) from None
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        lock.release()
