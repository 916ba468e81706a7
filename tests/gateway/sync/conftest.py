"""Fixtures of the sync tests: settings pointing at a folder of test source definitions."""

from __future__ import annotations

import pytest

from gateway.settings import Settings, load_settings


@pytest.fixture
def mappings_root(tmp_path):
    root = tmp_path / "mappings"
    root.mkdir()
    return root


@pytest.fixture
def settings(mappings_root) -> Settings:
    return load_settings(mappings_dir=mappings_root, sync_batch_size=500)
