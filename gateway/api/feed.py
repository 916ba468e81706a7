"""The pseudonymised case feed read by ``GET /v1/cases`` (BRIEF §9).

Cases come in ``feed_seq`` order. The sync pipeline gives a case a new, higher ``feed_seq``
in the transaction that changes it, and hands positions out in commit order, so a reader that
resumes after the last position it saw gets every change exactly once more — a case changed
since appears again, further on. The cursor is opaque to clients: ``v1:<feed_seq>`` in
base64url, so its format can change behind a new prefix.
"""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, select

from gateway.api.problems import FixTheRequest
from gateway.schema.version import SCHEMA_VERSION
from gateway.storage.tables import CaseReferralRow, CaseRow, CaseServiceRow

_PREFIX = "v1:"

_CASE_COLUMNS = (
    CaseRow.id,
    CaseRow.case_id,
    CaseRow.pid,
    CaseRow.key_version,
    CaseRow.city,
    CaseRow.sex,
    CaseRow.birth_year,
    CaseRow.citizenship,
    CaseRow.country_of_birth,
    CaseRow.years_in_italy,
    CaseRow.permit_category,
    CaseRow.resident_in_city,
    CaseRow.opened_on,
    CaseRow.closed_on,
    CaseRow.status,
    CaseRow.intake_channel,
    CaseRow.vulnerabilities,
    CaseRow.provenance,
    CaseRow.updated_at,
    CaseRow.feed_seq,
)


def encode_cursor(feed_seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{feed_seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The ``feed_seq`` after which to read; no cursor means from the start."""
    if cursor is None or cursor == "":
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        if not text.startswith(_PREFIX):
            raise ValueError
        value = int(text[len(_PREFIX) :])
        if value < 0 or not text[len(_PREFIX) :].isdigit():
            raise ValueError
    except (ValueError, UnicodeError, binascii.Error):
        raise FixTheRequest(
            "after: not a cursor given by this API (use the 'next' of a previous page)"
        ) from None
    return value


def _utc(value: datetime) -> str:
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).isoformat()


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def read_page(
    connection: Connection, *, after: int, limit: int, city: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Up to ``limit`` cases after ``after`` (as :class:`gateway.schema.Case` dicts) and the
    position of the last one (``after`` when there is none)."""
    query = select(*_CASE_COLUMNS).where(CaseRow.feed_seq > after)
    if city is not None:
        query = query.where(CaseRow.city == city)
    rows = connection.execute(query.order_by(CaseRow.feed_seq).limit(limit)).all()
    if not rows:
        return [], after
    pks = [row.id for row in rows]
    services: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for service in connection.execute(
        select(
            CaseServiceRow.case_pk,
            CaseServiceRow.type,
            CaseServiceRow.start,
            CaseServiceRow.end,
            CaseServiceRow.status,
        )
        .where(CaseServiceRow.case_pk.in_(pks))
        .order_by(CaseServiceRow.case_pk, CaseServiceRow.start, CaseServiceRow.type)
    ):
        services[service.case_pk].append(
            {
                "type": service.type,
                "start": _day(service.start),
                "end": _day(service.end),
                "status": service.status,
            }
        )
    referrals: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for referral in connection.execute(
        select(
            CaseReferralRow.case_pk,
            CaseReferralRow.target,
            CaseReferralRow.date,
            CaseReferralRow.outcome,
        )
        .where(CaseReferralRow.case_pk.in_(pks))
        .order_by(CaseReferralRow.case_pk, CaseReferralRow.date, CaseReferralRow.target)
    ):
        referrals[referral.case_pk].append(
            {"target": referral.target, "date": _day(referral.date), "outcome": referral.outcome}
        )
    items = [
        {
            "schema_version": SCHEMA_VERSION,
            "case_id": row.case_id,
            "pid": row.pid,
            "key_version": row.key_version,
            "city": row.city,
            "sex": row.sex,
            "birth_year": row.birth_year,
            "citizenship": row.citizenship,
            "country_of_birth": row.country_of_birth,
            "years_in_italy": row.years_in_italy,
            "permit_category": row.permit_category,
            "resident_in_city": row.resident_in_city,
            "opened_on": _day(row.opened_on),
            "closed_on": _day(row.closed_on),
            "status": row.status,
            "intake_channel": row.intake_channel,
            "vulnerabilities": list(row.vulnerabilities or []),
            "services": services.get(row.id, []),
            "referrals": referrals.get(row.id, []),
            "provenance": list(row.provenance or []),
            "updated_at": _utc(row.updated_at),
        }
        for row in rows
    ]
    return items, rows[-1].feed_seq
