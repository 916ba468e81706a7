"""Errors of the mapping language, named by what the caller should do.

- :class:`MappingError`: a source-definition file is wrong; a person fixes the file. It carries
  every :class:`Problem` found, each naming the file, the line and the path inside the file.
- :class:`RecordError`: one record cannot be mapped (a date in no known format, a local code
  no code map covers, a required field missing); quarantine the record and go on. It names the
  target field, the rule and the source field, never the value: the message ends up in logs,
  quarantine tables and API responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a mapping file: ``file:line: path: message``."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class MappingError(Exception):
    """A source-definition file is wrong: fix the file. ``problems`` lists every finding."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class MissingEnvironmentVariable(MappingError):
    """A ``${NAME}`` placeholder names a variable that is not set: set it (or give a default)."""

    def __init__(self, problem: Problem, variable: str) -> None:
        self.variable = variable
        super().__init__([problem])


class RecordError(Exception):
    """One record cannot be mapped: quarantine it and go on.

    ``field`` is the target path (``subject.birth_date``, ``services[1].type``), ``rule`` the
    node type that failed (``date``, ``code_map``, ``required``...), ``source_field`` the
    source path the value came from. The message never holds the value.
    """

    def __init__(
        self,
        *,
        field: str,
        rule: str,
        source_field: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.field = field
        self.rule = rule
        self.source_field = source_field
        self.reason = reason
        origin = f" (from {source_field})" if source_field else ""
        detail = f": {reason}" if reason else ""
        super().__init__(f"{field}{origin}: rule {rule} failed{detail}")

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only constructor: pickle (multiprocessing) needs help to rebuild it.
        return (_rebuild_record_error, (self.field, self.rule, self.source_field, self.reason))


def _rebuild_record_error(
    field: str, rule: str, source_field: str | None, reason: str | None
) -> RecordError:
    return RecordError(field=field, rule=rule, source_field=source_field, reason=reason)
