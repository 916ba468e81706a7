"""``date``: parse text into a date, trying explicit strptime formats in order.

Formats are explicit so that ``03/04/1990`` is never guessed: Italian systems write
``%d/%m/%Y``. Supported directives: ``%d %m %Y %y %b %B`` (month names in Italian, English and
German) and ``%%``. A value that is already a date is kept; a datetime keeps its date.

.. code-block:: yaml

    subject.birth_date:
      column: DATA_NASCITA
      transforms:
        - type: date
          formats: ["%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d"]
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from mappings.transforms._formats import build_parser, check_format
from mappings.transforms.base import BuildContext, Output, Step, StepFailed, TransformNode


class DateNode(TransformNode):
    type: Literal["date"]
    formats: list[str] = Field(min_length=1, description="strptime formats, tried in order.")

    output: ClassVar[Output] = "date"

    @field_validator("formats")
    @classmethod
    def _check(cls, formats: list[str]) -> list[str]:
        for fmt in formats:
            check_format(fmt, with_time=False)
        return formats


def build(node: DateNode, context: BuildContext) -> Step:
    reason = f"matches none of the formats {', '.join(node.formats)}"

    def fail() -> Any:
        raise StepFailed(reason)

    apply = build_parser(node.formats, with_time=False, other=_not_text, fail=fail)
    return Step("date", f"date {' | '.join(node.formats)}", apply)


def _not_text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise StepFailed(f"date expects text, got a {type(value).__name__}")
