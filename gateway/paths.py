"""Where the project's data files live (``specs/``), for source checkouts and installs."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path


@cache
def specs_dir() -> Path:
    """The ``specs/`` folder: ``LGNET_SPECS_DIR`` if set, else the one beside the packages."""
    configured = os.environ.get("LGNET_SPECS_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent / "specs"
