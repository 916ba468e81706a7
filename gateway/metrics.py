"""Prometheus metrics of one gateway process: requests, records by outcome, sync lag per
source, quarantine size.

Label values are only route templates (``/v1/cities/{city}/records``), HTTP methods and
status codes, city and source slugs, and outcome names: :func:`label` replaces anything else
with ``other``, so no identifier or record value can ever become a label.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from gateway.storage.tables import CursorRow, QuarantineRow

logger = logging.getLogger(__name__)

_SAFE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
_ROUTE = re.compile(r"^/[A-Za-z0-9_./{}:-]{0,120}$")
OUTCOMES = ("accepted", "duplicate", "rejected")


def label(value: str | None) -> str:
    """A slug-shaped label value, or ``other``."""
    return value if value is not None and _SAFE.match(value) else "other"


def route_label(template: str | None) -> str:
    """A route template (never a concrete path with values), or ``unmatched``."""
    return template if template is not None and _ROUTE.match(template) else "unmatched"


class _DatabaseCollector(Collector):
    """Gauges read from the database at scrape time: sync lag and quarantine size."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def describe(self) -> Iterable[Metric]:
        # Without describe() the registry would call collect() (a query) on registration.
        return self._families()

    def _families(self) -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                "lgnet_sync_lag_seconds",
                "Seconds since a source's cursor last advanced.",
                labels=["city", "source"],
            ),
            GaugeMetricFamily(
                "lgnet_quarantine_records",
                "Records in quarantine, not yet replayed.",
                labels=["city", "source"],
            ),
        ]

    def collect(self) -> Iterable[Metric]:
        lag, quarantine = self._families()
        now = datetime.now(UTC)
        try:
            with self._engine.connect() as connection:
                for row in connection.execute(
                    select(CursorRow.city, CursorRow.source, CursorRow.updated_at)
                ):
                    updated = row.updated_at
                    updated = updated.replace(tzinfo=UTC) if updated.tzinfo is None else updated
                    lag.add_metric(
                        [label(row.city), label(row.source)], (now - updated).total_seconds()
                    )
                for city, source, count in connection.execute(
                    select(QuarantineRow.city, QuarantineRow.source, func.count())
                    .where(QuarantineRow.replayed_at.is_(None))
                    .group_by(QuarantineRow.city, QuarantineRow.source)
                ):
                    quarantine.add_metric([label(city), label(source)], float(count))
        except SQLAlchemyError as exc:
            logger.warning("metrics: database unavailable", extra={"error": type(exc).__name__})
        return [lag, quarantine]


class Metrics:
    """The metrics of one app (own registry, so several apps can live in one process)."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "lgnet_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lgnet_http_request_duration_seconds",
            "HTTP request duration by route template.",
            ["route", "method"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.records = Counter(
            "lgnet_records",
            "Records received, by city, source and outcome (accepted, duplicate, rejected).",
            ["city", "source", "outcome"],
            registry=self.registry,
        )
        if engine is not None:
            self.registry.register(_DatabaseCollector(engine))

    def observe_request(self, route: str | None, method: str, status: int, seconds: float) -> None:
        template = route_label(route)
        verb = method if method.isalpha() and len(method) <= 10 else "OTHER"
        self.requests.labels(template, verb, str(status)).inc()
        self.latency.labels(template, verb).observe(seconds)

    def count_records(self, city: str, source: str, outcomes: dict[str, int]) -> None:
        for outcome in OUTCOMES:
            if outcomes.get(outcome):
                self.records.labels(label(city), label(source), outcome).inc(outcomes[outcome])

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
