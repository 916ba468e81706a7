"""JSON logs with a redaction filter for identifier-shaped text."""

from __future__ import annotations

import io
import json
import logging

import pytest

from gateway.logs import MASK, JsonFormatter, RedactionFilter, redact

LEAKS = [
    "RSSMRA85M01H501Q",  # codice fiscale
    "RSSMRA85M01H50MU",  # omocodic variant
    "rssmra85m01h501q",  # lower case
    "STP1201090000123",  # STP code
    "ENI1201090000456",  # ENI code
    "amina.diallo@example.org",
    "+39 333 123 4567",
    "3331234567",
]


@pytest.mark.parametrize("leak", LEAKS)
def test_redact_masks_identifier_shaped_text(leak: str) -> None:
    assert leak not in redact(f"record 12 field subject: {leak} rejected")
    assert MASK in redact(f"value {leak}")


def test_redact_keeps_ordinary_operational_text() -> None:
    text = "synced 1250 records from milano/welfare-rest in 2.5 s (page 12, 2026-01-31)"
    assert redact(text) == text


def test_log_lines_are_json_and_redacted_in_message_args_extra_and_exceptions() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactionFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("rejected %s", "RSSMRA85M01H501Q", extra={"who": "a@b.it", "count": 3})
        try:
            raise ValueError("bad STP1201090000123")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    output = stream.getvalue()
    for leak in ("RSSMRA85M01H501Q", "a@b.it", "STP1201090000123"):
        assert leak not in output
    assert lines[0]["level"] == "WARNING" and lines[0]["count"] == 3
    assert "exception" in lines[1]
