"""``adapters.__all__`` is exactly what the package exports (as httpx checks its own)."""

from __future__ import annotations

from types import ModuleType

import adapters


def test_all_is_exactly_the_public_names() -> None:
    public = sorted(
        name
        for name, value in vars(adapters).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    )
    assert sorted(adapters.__all__) == public


def test_all_names_resolve() -> None:
    for name in adapters.__all__:
        assert getattr(adapters, name) is not None


def test_contract_names() -> None:
    assert {
        "Adapter",
        "AdapterOptions",
        "RawRecord",
        "FatalSourceError",
        "RetriableSourceError",
        "RecordProblem",
        "get",
        "register",
        "kinds",
        "RetryPolicy",
    } <= set(adapters.__all__)


def test_subpackage_surfaces() -> None:
    import adapters.auth
    import adapters.simulators
    import adapters.testing

    for module in (adapters.auth, adapters.simulators, adapters.testing):
        public = sorted(
            name
            for name, value in vars(module).items()
            if not name.startswith("_") and not isinstance(value, ModuleType)
        )
        assert sorted(module.__all__) == public, module.__name__
