"""Insert synthetic cases, services and referrals straight into the tables (no sync engine)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from dataclasses import dataclass, field

from sqlalchemy import Engine, delete, func, insert, select, update

from gateway.storage.summaries import SummaryStateRow
from gateway.storage.tables import CaseReferralRow, CaseRow, CaseServiceRow, SourceRecordRow

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_counter = itertools.count(1)


@dataclass
class Service:
    type: str
    start: dt.date | None = None
    end: dt.date | None = None
    status: str | None = "active"


@dataclass
class Case:
    pid: str
    city: str
    opened_on: dt.date | None = dt.date(2025, 3, 10)
    channel: str | None = "mobile_unit"
    sex: str | None = "F"
    birth_year: int | None = 1990
    citizenship: str | None = "NGA"
    vulnerabilities: list[str] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    referrals: list[dt.date | None] = field(default_factory=list)


def _source_record(conn, city: str) -> int:
    n = next(_counter)
    return conn.execute(
        insert(SourceRecordRow).returning(SourceRecordRow.id),
        {
            "city": city,
            "source": "welfare",
            "record_key": f"k{n:08d}",
            "content_hash": "0" * 64,
            "deleted": False,
            "received_at": NOW,
        },
    ).scalar_one()


def _next_seq(conn) -> int:
    return conn.execute(select(func.coalesce(func.max(CaseRow.feed_seq), 0))).scalar_one() + 1


def _person_id(pid: str) -> int:
    return int.from_bytes(hashlib.blake2b(pid.encode(), digest_size=7).digest(), "big")


def add_cases(engine: Engine, cases: list[Case]) -> list[int]:
    """Insert cases (one per city and pid) with services and referrals; returns their pks."""
    pks = []
    with engine.begin() as conn:
        for case in cases:
            record = _source_record(conn, case.city)
            n = next(_counter)
            pk = conn.execute(
                insert(CaseRow).returning(CaseRow.id),
                {
                    "case_id": f"case-{n:010d}",
                    "city": case.city,
                    "person_id": _person_id(case.pid),
                    "pid": case.pid,
                    "key_version": 1,
                    "sex": case.sex,
                    "birth_year": case.birth_year,
                    "citizenship": case.citizenship,
                    "years_in_italy": "unknown",
                    "opened_on": case.opened_on,
                    "status": "open",
                    "intake_channel": case.channel,
                    "vulnerabilities": list(case.vulnerabilities),
                    "provenance": [],
                    "updated_at": NOW,
                    "feed_seq": _next_seq(conn),
                },
            ).scalar_one()
            _children(conn, pk, record, case)
            pks.append(pk)
    return pks


def _children(conn, pk: int, record: int, case: Case) -> None:
    for service in case.services:
        conn.execute(
            insert(CaseServiceRow),
            {
                "case_pk": pk,
                "source_record_pk": record,
                "type": service.type,
                "start": service.start,
                "end": service.end,
                "status": service.status,
            },
        )
    for day in case.referrals:
        conn.execute(
            insert(CaseReferralRow),
            {
                "case_pk": pk,
                "source_record_pk": record,
                "target": "health_service",
                "date": day,
                "outcome": "pending",
            },
        )


def change_case(engine: Engine, pk: int, case: Case) -> None:
    """Rewrite a case (and its services and referrals) and bump its feed_seq, as sync does."""
    with engine.begin() as conn:
        conn.execute(delete(CaseServiceRow).where(CaseServiceRow.case_pk == pk))
        conn.execute(delete(CaseReferralRow).where(CaseReferralRow.case_pk == pk))
        conn.execute(
            update(CaseRow)
            .where(CaseRow.id == pk)
            .values(
                pid=case.pid,
                city=case.city,
                sex=case.sex,
                birth_year=case.birth_year,
                citizenship=case.citizenship,
                opened_on=case.opened_on,
                intake_channel=case.channel,
                vulnerabilities=list(case.vulnerabilities),
                feed_seq=_next_seq(conn),
            )
        )
        _children(conn, pk, _source_record(conn, case.city), case)


def clear(engine: Engine) -> None:
    """Remove every case, and make the next summary rebuild (hard deletes bump no feed_seq)."""
    with engine.begin() as conn:
        for table in (CaseServiceRow, CaseReferralRow, CaseRow, SourceRecordRow):
            conn.execute(delete(table))
        conn.execute(update(SummaryStateRow).values(definitions=""))
