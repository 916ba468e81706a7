"""Summaries for the national platform: programme KPIs with disclosure control (BRIEF §10).

``summarise(engine, SummaryRequest.parse(...))`` refreshes the pre-aggregated cube from the
change feed, reads the requested tables and withholds small cells (primary) and the cells
that would let them be recomputed (secondary). Modules: :mod:`.kpis` (what counts),
:mod:`.periods`, :mod:`.dimensions` (breakdowns), :mod:`.targets` (``specs/targets.yaml``),
:mod:`.preaggregate` (the cube), :mod:`.layout` (cells and their relations),
:mod:`.disclosure` (suppression), :mod:`.report` (a request), :mod:`.render` (JSON, CSV).
"""

from gateway.summaries.preaggregate import RefreshConflictError, RefreshResult, refresh
from gateway.summaries.render import to_csv, to_json
from gateway.summaries.report import (
    Summary,
    SummaryCell,
    SummaryRequest,
    SummaryRequestError,
    summarise,
)

__all__ = [
    "RefreshConflictError",
    "RefreshResult",
    "Summary",
    "SummaryCell",
    "SummaryRequest",
    "SummaryRequestError",
    "refresh",
    "summarise",
    "to_csv",
    "to_json",
]
