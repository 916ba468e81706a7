"""The scaffold of a city's new source (``lgnet adapter new``): see :mod:`gateway.scaffold.source`.

Templates live in ``templates/`` as package data, one set per kind: ``<kind>.yaml.tmpl`` (the
source definition), ``<kind>.input.<ext>.tmpl`` (the golden sample) and ``<kind>.test.py.tmpl``
(the conformance test). A test renders every kind and runs what it wrote.
"""

from gateway.scaffold.source import (
    KINDS,
    SYSTEMS,
    FilesExist,
    InvalidName,
    KindTemplate,
    NewSource,
    ScaffoldError,
    env_prefix,
    find_project_root,
    new_source,
)

__all__ = [
    "KINDS",
    "SYSTEMS",
    "FilesExist",
    "InvalidName",
    "KindTemplate",
    "NewSource",
    "ScaffoldError",
    "env_prefix",
    "find_project_root",
    "new_source",
]
