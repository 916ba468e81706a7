"""The sync engine (BRIEF §3, §8): records in, pseudonymised cases out, never lost, never twice.

- :mod:`~gateway.sync.pipeline` — :func:`ingest`, the one entry point for pulled and pushed
  records: map → validate → pseudonymise → link → store, one transaction per batch;
- :mod:`~gateway.sync.prepare` (in memory) and :mod:`~gateway.sync.upserts` (in the batch's
  transaction) — idempotent upserts keyed on the source record and its content hash;
- :mod:`~gateway.sync.identity` — persons and pseudonyms through :mod:`gateway.privacy`;
- :mod:`~gateway.sync.cases` — case assembly from generalised per-record contributions;
- :mod:`~gateway.sync.watermarks` — cursors committed with the data they cover;
- :mod:`~gateway.sync.quarantine`, :mod:`~gateway.sync.replay` — encrypted quarantine, replay;
- :mod:`~gateway.sync.runner`, :mod:`~gateway.sync.locks`, :mod:`~gateway.sync.runs`,
  :mod:`~gateway.sync.scheduler` — one source's sync, one runner per source, the run log, and
  scheduled pulls inside ``lgnet serve``.
"""

from gateway.sync.pipeline import IngestReport, RecordResult, ingest

__all__ = ["IngestReport", "RecordResult", "ingest"]
