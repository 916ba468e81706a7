"""The adapter registry: built-in kinds by import path, classes, entry points."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import adapters
from adapters import registry
from adapters.base import Adapter, AdapterOptions
from adapters.errors import FatalSourceError


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    saved = dict(registry._registered)
    yield
    registry._registered.clear()
    registry._registered.update(saved)


def test_builtin_kinds_are_known_without_importing_them() -> None:
    assert {"csv", "rest", "soap", "fhir_r4", "anpr"} <= set(adapters.kinds())


def test_builtin_kinds_resolve_to_their_classes() -> None:
    from adapters.csv import CsvAdapter
    from adapters.rest import RestAdapter

    assert adapters.get("csv") is CsvAdapter and adapters.get("rest") is RestAdapter
    assert adapters.get("csv").kind == "csv"


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(FatalSourceError, match="unknown adapter kind 'ftp'; known kinds: anpr"):
        adapters.get("ftp")


class EchoOptions(AdapterOptions):
    text: str = "x"


class EchoAdapter(Adapter[EchoOptions]):
    kind = "echo-test"
    Options = EchoOptions


def test_register_a_class() -> None:
    assert adapters.register(EchoAdapter) is EchoAdapter
    assert adapters.get("echo-test") is EchoAdapter and "echo-test" in adapters.kinds()

    class Nameless(Adapter[EchoOptions]):
        Options = EchoOptions

    with pytest.raises(TypeError, match="no 'kind'"):
        adapters.register(Nameless)


def test_entry_point_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeEntryPoint:
        name = "plugin-kind"

        def load(self) -> Any:
            return EchoAdapter

    monkeypatch.setattr(registry, "entry_points", lambda group: [FakeEntryPoint()])
    assert "plugin-kind" in adapters.kinds()
    assert adapters.get("plugin-kind") is EchoAdapter


def test_importing_adapters_does_not_import_protocol_libraries() -> None:
    code = (
        "import sys, adapters; adapters.kinds(); "
        "print(sorted(m for m in ('zeep', 'fhir', 'httpx', 'authlib', 'lxml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
