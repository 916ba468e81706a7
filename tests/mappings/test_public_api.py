"""The public surface of ``mappings``, and its independence from ``gateway``."""

from __future__ import annotations

import subprocess
import sys

import mappings

PUBLIC = {
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
}


def test_all_is_the_public_surface() -> None:
    assert set(mappings.__all__) == PUBLIC
    assert sorted(mappings.__all__) == mappings.__all__
    for name in mappings.__all__:
        assert getattr(mappings, name) is not None


def test_mappings_never_imports_gateway() -> None:
    code = (
        "import sys, mappings, mappings.golden, mappings.samples\n"
        "from pathlib import Path\n"
        "d = mappings.load_source(Path('tests/mappings/fixtures/torino/welfare-csv.yaml'),"
        " resolve_env=False)\n"
        "mappings.compile(d)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('gateway', 'fastapi'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
