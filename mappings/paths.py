"""Where the mapping language finds its data: ``specs/`` and the cities' source definitions.

``mappings`` never imports ``gateway``, so it locates ``specs/`` on its own, the same way:
``LGNET_SPECS_DIR`` when set, else the ``specs/`` folder beside the packages.
"""

from __future__ import annotations

import os
from pathlib import Path

SPECS_ENV = "LGNET_SPECS_DIR"


def specs_dir() -> Path:
    """The ``specs/`` folder: ``LGNET_SPECS_DIR`` if set, else the one beside the packages."""
    configured = os.environ.get(SPECS_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent / "specs"


def mappings_dir() -> Path:
    """The folder holding one sub-folder of source definitions per city."""
    return Path(__file__).resolve().parent


def source_files(root: Path) -> list[Path]:
    """Source-definition files under ``root``: ``<city>/<source>.yaml`` (or ``root`` itself).

    Golden folders hold samples, not definitions, so they are skipped.
    """
    if root.is_file():
        return [root]
    found = {
        *root.glob("*.yaml"),
        *root.glob("*/*.yaml"),
        *root.glob("*.yml"),
        *root.glob("*/*.yml"),
    }
    return sorted(path for path in found if "golden" not in path.relative_to(root).parts)


def find_source(ref: str | Path, root: Path | None = None) -> Path:
    """Resolve ``city/source`` (or a path to a definition file) to the definition file.

    Raises ``FileNotFoundError`` naming what was looked for.
    """
    candidate = Path(ref)
    if candidate.is_file():
        return candidate
    text = str(ref)
    if text.count("/") == 1 and not text.endswith((".yaml", ".yml")):
        city, source = text.split("/")
        base = root or mappings_dir()
        for suffix in (".yaml", ".yml"):
            path = base / city / f"{source}{suffix}"
            if path.is_file():
                return path
        raise FileNotFoundError(
            f"no source definition {text!r}: looked for {base / city}/{source}.yaml"
        )
    raise FileNotFoundError(f"no source definition file {text!r}")
