"""Adapters: read the cities' systems and yield raw records with a resumable cursor.

This module is the public surface for adapter writers::

    import adapters

    cls = adapters.get("csv")            # the adapter class of a kind
    adapter = cls(cls.Options(path="/drops/*.csv"), source="milano-welfare")
    for record in adapter.fetch(cursor=None):
        ...

Built-in kinds are registered by import path and imported on first use, so a CSV-only
deployment never imports zeep or fhir.resources. Other packages add kinds through the
``lgnet.adapters`` entry-point group (see :mod:`adapters.registry`).
"""

from adapters.base import Adapter, AdapterOptions, RawRecord
from adapters.circuit import CircuitBreaker, CircuitBreakers, CircuitOpenError, CircuitState
from adapters.errors import FatalSourceError, RecordProblem, RetriableSourceError, SourceError
from adapters.registry import get, kinds, register
from adapters.registry import register_builtin as _register_builtin
from adapters.retry import RetryOptions, RetryPolicy

__all__ = [
    "Adapter",
    "AdapterOptions",
    "CircuitBreaker",
    "CircuitBreakers",
    "CircuitOpenError",
    "CircuitState",
    "FatalSourceError",
    "RawRecord",
    "RecordProblem",
    "RetriableSourceError",
    "RetryOptions",
    "RetryPolicy",
    "SourceError",
    "get",
    "kinds",
    "register",
]

for _kind, _target in (
    ("csv", "adapters.csv:CsvAdapter"),
    ("rest", "adapters.rest:RestAdapter"),
    ("soap", "adapters.soap:SoapAdapter"),
    ("fhir_r4", "adapters.fhir_r4:FhirR4Adapter"),
    ("anpr", "adapters.anpr:AnprAdapter"),
):
    _register_builtin(_kind, _target)
del _kind, _target
