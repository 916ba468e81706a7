"""The scopes of the gateway's API (BRIEF §9): a contract with the cities and the platform."""

from __future__ import annotations

RECORDS_WRITE = "records:write"
CASES_READ = "cases:read"
SUMMARIES_READ = "summaries:read"
ADMIN = "admin"

SCOPES: tuple[str, ...] = (RECORDS_WRITE, CASES_READ, SUMMARIES_READ, ADMIN)
# A token with these scopes is only valid for the city it is bound to.
CITY_BOUND: frozenset[str] = frozenset({RECORDS_WRITE})


def parse_scope(value: object) -> frozenset[str]:
    """Scopes from a ``scope`` string (RFC 6749 §3.3) or a ``scp`` list; garbage gives none."""
    if isinstance(value, str):
        return frozenset(part for part in value.split(" ") if part)
    if isinstance(value, list):
        return frozenset(part for part in value if isinstance(part, str) and part)
    return frozenset()


def format_scope(scopes: frozenset[str] | set[str]) -> str:
    """Scopes as a space-delimited string in a stable order."""
    order = {name: position for position, name in enumerate(SCOPES)}
    return " ".join(sorted(scopes, key=lambda s: (order.get(s, len(order)), s)))
