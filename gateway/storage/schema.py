"""Every table module, imported so that ``Base.metadata`` is complete (migrations, drift test)."""

from __future__ import annotations

from sqlalchemy import MetaData

import gateway.storage.auth
import gateway.storage.summaries  # noqa: F401
from gateway.storage import identity, linkage, sync, tables  # noqa: F401
from gateway.storage.base import Base


def metadata() -> MetaData:
    # Table modules of later features register themselves here as they are added.
    return Base.metadata
