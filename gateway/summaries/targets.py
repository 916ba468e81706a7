"""The programme's reporting window and declared targets, from ``specs/targets.yaml``.

The targets are data, not code: the programme office edits the YAML file. Each target names a
KPI of :mod:`gateway.summaries.kpis`; a test checks that they exist.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.paths import specs_dir


class Programme(BaseModel):
    """The whole programme's reporting window (both ends included)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> Programme:
        if self.end < self.start:
            raise ValueError("programme.end is before programme.start")
        return self

    @property
    def fingerprint(self) -> str:
        """Changes whenever the window does (stored with the pre-aggregated figures)."""
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


class Target(BaseModel):
    """A declared target: ``more_than`` 3000 people, ``about`` 600 projects."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: int = Field(gt=0)
    comparison: Literal["more_than", "about"]
    source: str = ""

    def reached(self, count: int) -> bool:
        if self.comparison == "more_than":
            return count > self.value
        return count >= self.value


class TargetsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    programme: Programme
    targets: dict[str, Target]


@cache
def load_targets() -> TargetsFile:
    """Read and validate ``specs/targets.yaml`` (cached)."""
    path = specs_dir() / "targets.yaml"
    with path.open(encoding="utf-8") as handle:
        return TargetsFile.model_validate(yaml.safe_load(handle))


def programme() -> Programme:
    return load_targets().programme


def targets() -> dict[str, Target]:
    return dict(load_targets().targets)
