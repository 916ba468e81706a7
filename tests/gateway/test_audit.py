"""The audit trail: appended in the caller's transaction, hash-chained, and ``verify`` finds
every edited, deleted, reordered or truncated entry."""

from __future__ import annotations

import itertools
import threading

from sqlalchemy import delete, func, select, update

from gateway import audit
from gateway.storage.auth import AuditHeadRow
from gateway.storage.tables import AuditEntryRow


def fill(engine, n: int = 5) -> None:
    for i in range(n):
        with engine.begin() as connection:
            audit.append(
                connection,
                actor=f"client-{i % 2}",
                action="GET /v1/cases",
                city="roma" if i % 2 else None,
                count=i,
                detail={"accepted": i},
            )


def verify(engine) -> audit.VerifyReport:
    with engine.connect() as connection:
        return audit.verify(connection)


def test_an_intact_chain_verifies(engine) -> None:
    assert verify(engine).ok and verify(engine).entries == 0
    fill(engine)
    report = verify(engine)
    assert report.ok and report.entries == 5
    with engine.connect() as connection:
        rows = connection.execute(select(AuditEntryRow).order_by(AuditEntryRow.seq)).all()
    assert [row.seq for row in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert rows[2].detail == {"accepted": "2"}


def test_an_entry_rolled_back_with_its_transaction_leaves_no_trace(engine) -> None:
    fill(engine, 2)
    try:
        with engine.begin() as connection:
            audit.append(connection, actor="c", action="POST /v1/cities/{city}/records", count=9)
            raise RuntimeError("the write failed")
    except RuntimeError:
        pass
    fill(engine, 1)
    assert verify(engine).ok and verify(engine).entries == 3


def test_an_edited_entry_is_found(engine) -> None:
    fill(engine)
    with engine.begin() as connection:
        connection.execute(update(AuditEntryRow).where(AuditEntryRow.seq == 3).values(count=999))
    report = verify(engine)
    assert not report.ok
    assert report.problems == [(3, "the entry was edited (its hash does not match its fields)")]


def test_a_deleted_entry_is_found(engine) -> None:
    fill(engine)
    with engine.begin() as connection:
        connection.execute(delete(AuditEntryRow).where(AuditEntryRow.seq == 2))
    problems = dict(verify(engine).problems)
    assert 3 in problems


def test_entries_cut_off_the_end_are_found(engine) -> None:
    fill(engine)
    with engine.begin() as connection:
        connection.execute(delete(AuditEntryRow).where(AuditEntryRow.seq >= 4))
    report = verify(engine)
    assert report.problems == [(5, "entries at the end of the log are missing (deleted)")]


def test_a_rewritten_chain_is_found_by_the_head(engine) -> None:
    fill(engine)
    with engine.begin() as connection:
        connection.execute(update(AuditHeadRow).values(last_hash="f" * 64))
    assert not verify(engine).ok


def test_concurrent_appends_form_one_chain(engine) -> None:
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(10):
                with engine.begin() as connection:
                    audit.append(connection, actor=f"w{k}", action="GET /v1/cases", count=i)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = verify(engine)
    assert report.ok and report.entries == 40
    with engine.connect() as connection:
        head = connection.execute(select(AuditHeadRow.last_seq)).scalar_one()
        count = connection.execute(select(func.count()).select_from(AuditEntryRow)).scalar_one()
    assert head == count == 40
