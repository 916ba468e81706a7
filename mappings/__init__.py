"""The declarative mapping language: source definitions, their compiler, and tools.

A source definition (``mappings/<city>/<source>.yaml``) says which adapter reads a city's
system and how its records become intake records. What the gateway and adapter writers use::

    import mappings

    definition = mappings.load_source("mappings/roma/welfare-soap.yaml")  # MappingError
    mapper = mappings.compile(definition)          # once
    record = mapper(raw.data, raw.record_id)       # per record; RecordError -> quarantine

    mappings.check()                               # every definition: list of Problems
    mappings.explain(definition, samples, 0)       # field by field, values shown
    mappings.coverage(definition, samples)         # unmapped local codes, counted

This package never imports ``gateway``: targets are checked against the exported JSON Schema
and the code lists in ``specs/``.
"""

from mappings.check import check
from mappings.compiler import Mapper, source_code
from mappings.compiler import compile_mapping as compile
from mappings.coverage import coverage
from mappings.definition import SourceDefinition, load_source, parse_source
from mappings.envvars import resolve as resolve_placeholders
from mappings.errors import MappingError, MissingEnvironmentVariable, Problem, RecordError
from mappings.explain import explain, explain_result
from mappings.interpreter import ExplainRow
from mappings.language_schema import export_language_schema, language_schema
from mappings.paths import find_source, mappings_dir, specs_dir
from mappings.samples import Sample, SampleError, read_samples

__all__ = [
    "ExplainRow",
    "Mapper",
    "MappingError",
    "MissingEnvironmentVariable",
    "Problem",
    "RecordError",
    "Sample",
    "SampleError",
    "SourceDefinition",
    "check",
    "compile",
    "coverage",
    "explain",
    "explain_result",
    "export_language_schema",
    "find_source",
    "language_schema",
    "load_source",
    "mappings_dir",
    "parse_source",
    "read_samples",
    "resolve_placeholders",
    "source_code",
    "specs_dir",
]
