"""A protected summary as JSON or CSV (RFC 4180), counts only.

CSV has one row per published cell — the requested tables, then the national programme
totals used for progress against the targets when the tables do not already hold them:
``period,kpi,area,dimension,category,value,suppressed``. A withheld cell has an empty value
and ``primary`` or ``secondary`` in the last column; a zero is written ``0``.
"""

from __future__ import annotations

import csv
import io

import orjson

from gateway.summaries.dimensions import TOTAL
from gateway.summaries.kpis import NATIONAL
from gateway.summaries.periods import PROGRAMME_KEY
from gateway.summaries.report import Summary

CSV_MEDIA_TYPE = "text/csv"
COLUMNS = ("period", "kpi", "area", "dimension", "category", "value", "suppressed")


def to_json(summary: Summary) -> bytes:
    return orjson.dumps(summary.model_dump(mode="json"))


def to_csv(summary: Summary) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    written = set()
    for cell in summary.cells:
        key = (cell.period, cell.kpi, cell.area, cell.dimension, cell.category)
        written.add(key)
        value = "" if cell.value is None else str(cell.value)
        writer.writerow((*key, value, cell.suppressed or ""))
    for item in summary.progress:
        key = (PROGRAMME_KEY, item.kpi, NATIONAL, TOTAL, TOTAL)
        if key not in written:
            value = "" if item.value is None else str(item.value)
            writer.writerow((*key, value, item.suppressed or ""))
    return buffer.getvalue()


def wants_csv(accept: str | None) -> bool:
    """True when the ``Accept`` header prefers CSV (``text/csv``) to JSON."""
    if not accept:
        return False
    best, best_q = "", -1.0
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media.strip() in (CSV_MEDIA_TYPE, "application/json") and quality > best_q:
            best, best_q = media.strip(), quality
    return best == CSV_MEDIA_TYPE
