"""Spreadsheet formula injection in CSV cells (OWASP "CSV Injection").

A cell starting with ``=``, ``+``, ``-`` or ``@`` is evaluated as a formula when the file is
opened in a spreadsheet (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``). The gateway never
evaluates anything, but a flagged cell is reported (BRIEF §13) so that the record is
quarantined instead of travelling on to someone's spreadsheet.

Plain signed numbers, dates and phone numbers (``-12,50``, ``+39 06 1234``) are not flagged:
exports are full of them.
"""

from __future__ import annotations

import re

__all__ = ["formula_column", "formula_prefilter"]

_BENIGN_SIGNED = re.compile(r"[+-][0-9 .,/()-]*")


def formula_column(row: list[str], columns: list[str]) -> str | None:
    """Name of the first cell that a spreadsheet would evaluate as a formula (OWASP CSV injection).

    ``=`` and ``@`` always count; ``+`` and ``-`` unless the rest is a plain number, date or
    phone number (``-12,50``, ``+39 06 1234``), which exports contain all the time.
    """
    for i, cell in enumerate(row):
        if cell and cell[0] in "=+-@" and not _BENIGN_SIGNED.fullmatch(cell):
            return columns[i] if i < len(columns) else f"column_{i + 1}"
    return None


def formula_prefilter(delimiter: str, quotechar: str) -> re.Pattern[str]:
    """Matches wherever a cell may start like a formula (a superset of formula_column()).

    It starts with a character class so that ``re`` scans for the four characters quickly and
    looks behind for the start of a cell: ``=``/``@`` after a delimiter, line break or quote;
    a quoted ``+``/``-``; an unquoted ``+``/``-`` unless a plain number ends the cell.
    The first cell of a block is checked apart (there is nothing to look behind).
    """
    d, q = re.escape(delimiter), re.escape(quotechar)
    plain = "[0-9 .,/()-]*"
    return re.compile(
        rf"[=@+-](?:(?<=[{d}\r\n{q}][=@])|(?<={q}[+-])"
        rf"|(?<=[{d}\r\n][+-])(?!{plain}(?:[{d}\r\n]|$)))"
    )
