"""The OpenAPI document, exported to ``specs/openapi.json`` and kept fresh by a test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.paths import specs_dir
from gateway.settings import Settings
from gateway.storage.engine import make_engine


def openapi_document() -> dict[str, Any]:
    """The document of an app with default settings (it never depends on the environment)."""
    from gateway.api.app import create_app  # the app imports every route module

    settings = Settings.model_construct(scheduler="off")
    engine = make_engine("sqlite://")
    try:
        return create_app(settings, engine).openapi()
    finally:
        engine.dispose()


def render() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


def openapi_path() -> Path:
    return specs_dir() / "openapi.json"


def export(path: Path | None = None) -> Path:
    """Write the document; return where."""
    target = path or openapi_path()
    target.write_text(render(), encoding="utf-8")
    return target


def is_fresh(path: Path | None = None) -> bool:
    target = path or openapi_path()
    return target.is_file() and target.read_text(encoding="utf-8") == render()
