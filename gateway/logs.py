"""Structured JSON logs with a redaction filter.

Code never logs identifiers on purpose; the filter is the safety net for the day someone
does by mistake (or a library echoes a request). It masks anything shaped like a codice
fiscale (omocodic ones too), an STP/ENI code, a provisional 11-digit fiscal code, an e-mail
address or a phone number, in the message, its arguments and any extra fields.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

MASK = "[redacted]"

_OMO = "[0-9LMNPQRSTUV]"
_PATTERNS = [
    # Codice fiscale, omocodia included (digits may be letters LMNPQRSTUV).
    re.compile(rf"(?i)\b[A-Z]{{6}}{_OMO}{{2}}[ABCDEHLMPRST]{_OMO}{{2}}[A-Z]{_OMO}{{3}}[A-Z]\b"),
    # STP / ENI codes: prefix, region/ASL digits, progressive number.
    re.compile(r"(?i)\b(?:STP|ENI)[0-9A-Z]{13}\b"),
    # E-mail addresses.
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    # Phone numbers: international (+ or 00) or Italian (mobile 3.., landline 0..), 9-13
    # digits with optional separators. Dates (8 digits) and counts are left alone.
    re.compile(r"(?<![\w.+])(?:(?:\+|00)\d{1,3}[ .-]?)?[03]\d(?:[ .-]?\d){7,11}(?![\w.])"),
]


def redact(text: str) -> str:
    """Mask every identifier-shaped substring of ``text``."""
    for pattern in _PATTERNS:
        text = pattern.sub(MASK, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    return value


class RedactionFilter(logging.Filter):
    """Rewrite each record so that no identifier-shaped text leaves the process."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS:
                record.__dict__[key] = _redact_value(value)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Install the redacting handler on the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_lgnet", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._lgnet = True  # type: ignore[attr-defined]
    handler.addFilter(RedactionFilter())
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level.upper())
