"""strptime-style formats compiled once into fast parsers (used by ``date`` and ``datetime``).

``datetime.strptime`` re-reads its format and consults the locale on every call (~3.6 µs); a
mapping parses millions of dates with the same few formats, so each format becomes a regular
expression once, and the commonest layouts (``%d/%m/%Y``, ``%Y-%m-%d`` and their
separators) a slice-and-``fromisoformat`` path of ~0.3 µs. Month names (``%b``, ``%B``) are read
in Italian, English and German, whatever the machine's locale.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

# ASCII digits only ([0-9], not \d), as date.fromisoformat on the fast path.
DIRECTIVES = {
    "d": r"(?P<d>[0-9]{1,2})",
    "m": r"(?P<m>[0-9]{1,2})",
    "Y": r"(?P<Y>[0-9]{4})",
    "y": r"(?P<y>[0-9]{2})",
    "b": r"(?P<b>[^\W\d_]{3,}\.?)",
    "B": r"(?P<b>[^\W\d_]{3,}\.?)",
    "H": r"(?P<H>[0-9]{1,2})",
    "M": r"(?P<M>[0-9]{2})",
    "S": r"(?P<S>[0-9]{2})",
    "f": r"(?P<f>[0-9]{1,6})",
    "z": r"(?P<z>Z|[+-][0-9]{2}:?[0-9]{2})",
}
TIME_DIRECTIVES = frozenset("HMSfz")
KNOWN = " ".join(f"%{d}" for d in DIRECTIVES)

_MONTHS = {
    1: "gennaio january januar jan gen jänner",
    2: "febbraio february februar feb",
    3: "marzo march märz mar mär",
    4: "aprile april apr",
    5: "maggio may mai mag",
    6: "giugno june juni jun giu",
    7: "luglio july juli jul lug",
    8: "agosto august aug ago",
    9: "settembre september sep set sept",
    10: "ottobre october oktober oct ott okt",
    11: "novembre november nov",
    12: "dicembre december dezember dec dic dez",
}


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


MONTH_NAMES = {_fold(name): number for number, names in _MONTHS.items() for name in names.split()}

Parser = Callable[[str], Any]


def _directives(fmt: str) -> list[str]:
    found: list[str] = []
    position = 0
    while position < len(fmt):
        if fmt[position] == "%":
            if position + 1 >= len(fmt):
                raise ValueError(f"format {fmt!r} ends with a lone %")
            found.append(fmt[position + 1])
            position += 2
        else:
            position += 1
    return found


def check_format(fmt: str, *, with_time: bool) -> None:
    """Raise ``ValueError`` (saying how to fix it) unless ``fmt`` is a usable format."""
    directives = [d for d in _directives(fmt) if d != "%"]
    if not directives:
        raise ValueError(
            f"format {fmt!r} has no % directive: write it with strptime directives, e.g. '%d/%m/%Y'"
        )
    for directive in directives:
        if directive not in DIRECTIVES:
            raise ValueError(f"format {fmt!r}: unsupported directive %{directive}; use {KNOWN}")
    folded = [d.replace("B", "b") for d in directives]
    if len(set(folded)) != len(folded):
        raise ValueError(f"format {fmt!r} repeats a directive")
    has = set(directives) | ({"m"} if {"b", "B"} & set(directives) else set())
    if not {"d", "m"} <= has or not {"Y", "y"} & has:
        raise ValueError(f"format {fmt!r} needs a day (%d), a month (%m or %b) and a year (%Y)")
    if not with_time and set(directives) & TIME_DIRECTIVES:
        raise ValueError(f"format {fmt!r} has a time: use type datetime for date and time")


def _regex(fmt: str) -> re.Pattern[str]:
    out: list[str] = []
    position = 0
    while position < len(fmt):
        char = fmt[position]
        if char == "%":
            directive = fmt[position + 1]
            out.append("%" if directive == "%" else DIRECTIVES[directive])
            position += 2
            continue
        out.append(r"\s*" if char.isspace() else re.escape(char))
        position += 1
    return re.compile("".join(out), re.IGNORECASE)


def _fast_layout(fmt: str) -> tuple[str, int, int, int, int, int] | None:
    """``(separator, sep1, sep2, year, month, day)`` offsets for a fixed-width d/m/Y layout."""
    parts = re.fullmatch(r"%([dmY])(\W)%([dmY])\2%([dmY])", fmt)
    if parts is None:
        return None
    order = [parts.group(1), parts.group(3), parts.group(4)]
    if set(order) != {"d", "m", "Y"}:
        return None
    starts: dict[str, int] = {}
    position = 0
    for directive in order:
        starts[directive] = position
        position += (4 if directive == "Y" else 2) + 1
    return (
        parts.group(2),
        starts[order[1]] - 1,
        starts[order[2]] - 1,
        starts["Y"],
        starts["m"],
        starts["d"],
    )


def _slow(fmt: str, *, with_time: bool, tz: Any) -> Parser:
    """text -> date/datetime, or None when the text does not match ``fmt``."""
    pattern = _regex(fmt)

    def parse(text: str) -> Any:
        match = pattern.fullmatch(text)
        if match is None:
            return None
        groups = match.groupdict()
        if groups.get("Y"):
            year = int(groups["Y"])
        else:
            short = int(groups["y"])
            year = short + (1900 if short >= 69 else 2000)  # POSIX, as strptime
        month = MONTH_NAMES.get(_fold(groups["b"].rstrip("."))) if groups.get("b") else None
        if groups.get("b") and month is None:
            return None
        try:
            day = date(year, month or int(groups["m"]), int(groups["d"]))
            if not with_time:
                return day
            fraction = (groups.get("f") or "0").ljust(6, "0")
            moment = datetime(
                day.year,
                day.month,
                day.day,
                int(groups.get("H") or 0),
                int(groups.get("M") or 0),
                int(groups.get("S") or 0),
                int(fraction),
            )
        except ValueError:
            return None
        zone = groups.get("z")
        if zone:
            if zone.upper() == "Z":
                return moment.replace(tzinfo=UTC)
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            return moment.replace(tzinfo=timezone(sign * offset))
        return moment.replace(tzinfo=tz) if tz is not None else moment

    return parse


def build_parser(
    formats: list[str],
    *,
    with_time: bool,
    tz: Any = None,
    other: Callable[[Any], Any],
    fail: Callable[[], Any],
) -> Parser:
    """``apply(value)``: text parsed with ``formats`` in order (``fail()`` when none matches);
    a value that is not text goes to ``other``. The first format's fast path, if it has one,
    is written out in the function itself: this runs for every date of every record."""
    parsers = [_slow(fmt, with_time=with_time, tz=tz) for fmt in formats]

    def slow(text: str) -> Any:
        for parse in parsers:
            found = parse(text)
            if found is not None:
                return found
        return fail()

    layout = None if with_time else _fast_layout(formats[0])
    if layout is None:

        def apply(value: Any) -> Any:
            if type(value) is str:
                return slow(value.strip())
            return other(value)

        return apply
    sep, first, second, y, m, d = layout
    from_iso = date.fromisoformat

    def apply_fast(value: Any) -> Any:
        if type(value) is str:
            text = value.strip()
            if len(text) == 10 and text[first] == sep and text[second] == sep:
                try:
                    return from_iso(f"{text[y : y + 4]}-{text[m : m + 2]}-{text[d : d + 2]}")
                except ValueError:
                    pass
            return slow(text)
        return other(value)

    return apply_fast
