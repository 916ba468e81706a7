"""``datetime``: parse text into a date and time, trying explicit strptime formats in order.

For ``updated_at`` and other instants. Besides the ``date`` directives it reads ``%H %M %S %f``
and ``%z`` (``Z``, ``+01:00``, ``+0100``). A time without offset is local time of
``timezone`` (default ``Europe/Rome``: the cities' systems record Italian local time).

.. code-block:: yaml

    updated_at:
      column: ULTIMA_MODIFICA
      transforms:
        - type: datetime
          formats: ["%d/%m/%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from mappings.transforms._formats import build_parser, check_format
from mappings.transforms.base import BuildContext, Output, Step, StepFailed, TransformNode


class DateTimeNode(TransformNode):
    type: Literal["datetime"]
    formats: list[str] = Field(min_length=1, description="strptime formats, tried in order.")
    timezone: str = Field("Europe/Rome", description="IANA zone of times without an offset.")

    output: ClassVar[Output] = "datetime"

    @field_validator("formats")
    @classmethod
    def _check(cls, formats: list[str]) -> list[str]:
        for fmt in formats:
            check_format(fmt, with_time=True)
        return formats

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {name!r}; write an IANA name such as 'Europe/Rome'"
            ) from None
        return name


def build(node: DateTimeNode, context: BuildContext) -> Step:
    zone = ZoneInfo(node.timezone)
    reason = f"matches none of the formats {', '.join(node.formats)}"

    def fail() -> Any:
        raise StepFailed(reason)

    def other(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=zone)
        raise StepFailed(f"datetime expects text, got a {type(value).__name__}")

    apply = build_parser(node.formats, with_time=True, tz=zone, other=other, fail=fail)
    return Step("datetime", f"datetime {' | '.join(node.formats)}", apply)
