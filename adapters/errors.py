"""Errors named by what the caller should do with them.

- ``FatalSourceError``: stop syncing this source until a person fixes something
  (bad credentials, a missing WSDL, a 4xx that a retry cannot change).
- ``RetriableSourceError``: try again later with backoff (timeouts, 429, 5xx).
- ``RecordProblem``: one record is unusable; quarantine it and go on.

Messages carry the source, the record position and the field path, never a value:
they end up in logs and API responses.
"""

from __future__ import annotations


class SourceError(Exception):
    """Base of every error raised by an adapter."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class FatalSourceError(SourceError):
    """The source cannot be read until something is fixed; retrying will not help."""


class RetriableSourceError(SourceError):
    """A transient failure; the same request may succeed later."""

    def __init__(
        self, message: str, *, source: str | None = None, retry_after: float | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, source=source)


class RecordProblem(SourceError):
    """One record is malformed; it is reported (and quarantined) while the others go on.

    ``position`` locates the record in its source (a CSV line number, a page and index, a
    Bundle entry); ``field`` is the path of the offending field, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        position: str | None = None,
        field: str | None = None,
    ) -> None:
        self.position = position
        self.field = field
        self.reason = message
        where = ", ".join(
            p
            for p in (
                f"record {position}" if position else None,
                f"field {field}" if field else None,
            )
            if p
        )
        super().__init__(f"{where}: {message}" if where else message, source=source)
