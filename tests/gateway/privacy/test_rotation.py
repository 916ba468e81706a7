"""gateway.privacy.rotation: every pseudonym of a domain moves to a new key version at once.

The crash tests kill a real rotation (SIGKILL of a subprocess, or an exception before the
commit) and check that the database shows the old version or the new one, never a mix.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select

from gateway.privacy import rotation, store
from gateway.privacy.keys import NATIONAL, Keyring, add_key_version, generate_key_file
from gateway.privacy.pseudonyms import Pseudonymiser
from gateway.storage.identity import KeyVersionRow, PersonRow, PseudonymRow
from gateway.storage.tables import CaseRow, FeedStateRow

from .seeding import NOW, seed


def snapshot(engine: Engine) -> dict[str, object]:
    """What must be consistent: versions of pseudonyms and cases, and pid agreement."""
    with engine.connect() as conn:
        versions = {
            domain: sorted(
                conn.execute(
                    select(PseudonymRow.key_version).where(PseudonymRow.domain == domain).distinct()
                ).scalars()
            )
            for domain in ("national", "city:roma", "city:milano")
        }
        current = dict(
            conn.execute(select(KeyVersionRow.domain, KeyVersionRow.current_version)).tuples().all()
        )
        case_versions = sorted(conn.execute(select(CaseRow.key_version).distinct()).scalars())
        mismatched = conn.execute(
            select(func.count())
            .select_from(CaseRow)
            .join(
                PseudonymRow,
                (PseudonymRow.person_id == CaseRow.person_id) & (PseudonymRow.domain == NATIONAL),
            )
            .where(PseudonymRow.value != CaseRow.pid)
        ).scalar_one()
        prefixes = sorted(conn.execute(select(func.substr(CaseRow.pid, 1, 3)).distinct()).scalars())
        last_seq = conn.execute(select(FeedStateRow.last_seq)).scalar_one()
        min_seq = conn.execute(select(func.min(CaseRow.feed_seq))).scalar_one()
    return {
        "versions": versions,
        "current": current,
        "cases": case_versions,
        "mismatched": mismatched,
        "prefixes": prefixes,
        "last_seq": last_seq,
        "min_seq": min_seq,
    }


def assert_consistent(state: dict[str, object], national: int) -> None:
    assert state["versions"]["national"] == [national]  # type: ignore[index]
    assert state["current"]["national"] == national  # type: ignore[index]
    assert state["cases"] == [national]
    assert state["prefixes"] == [f"n{national}_"]
    assert state["mismatched"] == 0


def test_rotation_moves_a_domain_and_resends_every_case(
    engine: Engine, pseudonymiser: Pseudonymiser, keyring_v2: Keyring
) -> None:
    seed(engine, pseudonymiser, 500)
    before = snapshot(engine)
    assert_consistent(before, 1)
    with engine.connect() as conn:
        old = dict(conn.execute(select(CaseRow.case_id, CaseRow.pid)).tuples().all())
    calls: list[tuple[int, int]] = []
    rotated = Pseudonymiser(keyring_v2)
    result = rotation.rotate(
        engine, rotated, NATIONAL, batch_size=64, progress=lambda d, t: calls.append((d, t))
    )
    assert (result.from_version, result.to_version, result.pseudonyms, result.cases) == (
        1,
        2,
        500,
        500,
    )
    assert calls[0] == (0, 500) and calls[-1] == (500, 500) and len(calls) == 9
    after = snapshot(engine)
    assert_consistent(after, 2)
    assert after["versions"]["city:roma"] == [1]  # other domains untouched
    assert after["min_seq"] > before["last_seq"]  # the feed shows every case again
    with engine.connect() as conn:
        new = dict(conn.execute(select(CaseRow.case_id, CaseRow.pid)).tuples().all())
        person_token = dict(
            conn.execute(select(PersonRow.id, PersonRow.person_token)).tuples().all()
        )
        person_of = dict(conn.execute(select(CaseRow.case_id, CaseRow.person_id)).tuples().all())
    assert set(new) == set(old) and not set(new.values()) & set(old.values())
    for case_id, pid in list(new.items())[:20]:  # derived from the person token alone
        assert pid == rotated.pseudonym(NATIONAL, bytes(person_token[person_of[case_id]]), 2)

    if engine.dialect.name == "sqlite":  # the larger page cache was for the rotation only
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar_one() == -2000

    city = rotation.rotate(engine, rotated, "city:roma")
    assert city.cases == 0 and city.pseudonyms == 250
    assert snapshot(engine)["versions"]["city:roma"] == [2]
    with engine.connect() as conn:
        status = {s.domain: s for s in rotation.status(conn)}
    assert status["national"].current_version == 2 and status["national"].by_version == {2: 500}
    assert status["city:milano"].by_version == {1: 250} and status["city:roma"].rotated_at


def test_rotation_refuses_old_versions_unknown_versions_and_unknown_domains(
    engine: Engine, pseudonymiser: Pseudonymiser
) -> None:
    seed(engine, pseudonymiser, 10)
    with pytest.raises(rotation.RotationError, match="newer"):
        rotation.rotate(engine, pseudonymiser, NATIONAL)  # keyring current is 1
    with pytest.raises(rotation.RotationError, match="not in the key file"):
        rotation.rotate(engine, pseudonymiser, NATIONAL, to_version=7)
    with pytest.raises(rotation.RotationError, match="nothing to rotate"):
        rotation.rotate(engine, pseudonymiser, "city:napoli", to_version=2)
    assert_consistent(snapshot(engine), 1)


class Crash(Exception):
    pass


def test_an_exception_before_commit_leaves_the_old_version(
    engine: Engine, pseudonymiser: Pseudonymiser
) -> None:
    seed(engine, pseudonymiser, 300)
    before = snapshot(engine)

    def crash(done: int, total: int) -> None:
        if done >= 100:
            raise Crash

    with pytest.raises(Crash):
        rotation.rotate(
            engine, pseudonymiser, NATIONAL, to_version=2, batch_size=50, progress=crash
        )
    assert snapshot(engine) == before


def test_a_broken_case_rolls_the_whole_rotation_back(
    engine: Engine, pseudonymiser: Pseudonymiser
) -> None:
    seed(engine, pseudonymiser, 20)
    with engine.begin() as conn:  # a case whose person has no national pseudonym
        (orphan,) = store.create_persons(conn, 1)
        conn.execute(
            insert(CaseRow),
            [
                {
                    "case_id": "x",
                    "city": "roma",
                    "person_id": orphan.id,
                    "pid": "n1_" + "A" * 28,
                    "key_version": 1,
                    "vulnerabilities": [],
                    "provenance": [],
                    "updated_at": NOW,
                    "feed_seq": 10_000,
                }
            ],
        )
    before = snapshot(engine)
    with pytest.raises(rotation.RotationError, match="no national pseudonym"):
        rotation.rotate(engine, pseudonymiser, NATIONAL, to_version=2)
    assert snapshot(engine) == before


ROTATE_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from gateway.privacy import rotation
    from gateway.privacy.pseudonyms import Pseudonymiser
    from gateway.settings import load_settings
    from gateway.storage import make_engine

    engine = make_engine(sys.argv[1])
    pseudonymiser = Pseudonymiser.from_settings(load_settings())

    def progress(done, total):
        print(done, total, flush=True)
        if done >= total // 2:
            time.sleep(60)  # killed here, mid-transaction

    rotation.rotate(engine, pseudonymiser, "national", batch_size=100, progress=progress)
    """
)


def test_sigkill_mid_rotation_leaves_all_old_then_a_rerun_gives_all_new(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "keys.json"
    generate_key_file(key_file)
    v1 = Pseudonymiser(Keyring.from_file(key_file))
    seed(engine, v1, 1000)
    before = snapshot(engine)
    add_key_version(key_file)
    env = {**os.environ, "LGNET_PSEUDONYM_KEY_FILE": str(key_file)}
    with subprocess.Popen(
        [sys.executable, "-c", ROTATE_SCRIPT, database_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as child:
        try:
            assert child.stdout is not None and child.stderr is not None
            for line in child.stdout:  # wait until half the pseudonyms are rewritten
                done, total = map(int, line.split())
                if done >= total // 2:
                    break
            else:
                pytest.fail(f"rotation ended early: {child.stderr.read()}")
            child.send_signal(signal.SIGKILL)
        finally:
            child.kill()
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert snapshot(engine) == before  # all old

    v2 = Pseudonymiser(Keyring.from_file(key_file))
    engine.dispose()
    result = rotation.rotate(engine, v2, NATIONAL)
    assert result.pseudonyms == 1000
    assert_consistent(snapshot(engine), 2)  # all new


def _insert_case(conn, person: int, pid: str, version: int) -> None:
    seq = store.allocate_feed_seqs(conn, 1)
    conn.execute(
        insert(CaseRow),
        [
            {
                "case_id": f"w-{person}",
                "city": "roma",
                "person_id": person,
                "pid": pid,
                "key_version": version,
                "vulnerabilities": [],
                "provenance": [],
                "updated_at": NOW,
                "feed_seq": seq,
            }
        ],
    )


def test_a_rotation_waits_for_a_writer_holding_old_pseudonyms(
    engine: Engine, keyring: Keyring, keyring_v2: Keyring
) -> None:
    both = Pseudonymiser(keyring_v2)
    seed(engine, Pseudonymiser(keyring), 50)
    with engine.connect() as conn:
        transaction = conn.begin()
        (person,) = store.create_persons(conn, 1)
        pids, version = store.ensure_pseudonyms(conn, both, [person.id], NATIONAL)
        assert version == 1  # the domain is still at version 1
        _insert_case(conn, person.id, pids[person.id], version)
        rotating = threading.Thread(target=rotation.rotate, args=(engine, both, NATIONAL))
        rotating.start()
        time.sleep(0.5)
        assert rotating.is_alive()  # blocked behind the writer
        transaction.commit()
    rotating.join(timeout=30)
    assert not rotating.is_alive()
    state = snapshot(engine)
    assert_consistent(state, 2)  # the writer's case was rotated too


@pytest.mark.postgres
def test_a_writer_waits_for_a_rotation_and_then_writes_new_pseudonyms(
    engine: Engine, keyring: Keyring, keyring_v2: Keyring
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("on SQLite the database lock serialises writers")
    both = Pseudonymiser(keyring_v2)
    seed(engine, Pseudonymiser(keyring), 50)
    halfway, release = threading.Event(), threading.Event()

    def pause(done: int, total: int) -> None:
        if done:
            halfway.set()
            release.wait(10)

    rotating = threading.Thread(
        target=rotation.rotate,
        args=(engine, both, NATIONAL),
        kwargs={"batch_size": 10, "progress": pause},
    )
    rotating.start()
    assert halfway.wait(10)
    written: dict[str, int] = {}

    def write() -> None:
        with engine.begin() as conn:
            (person,) = store.create_persons(conn, 1)
            pids, version = store.ensure_pseudonyms(conn, both, [person.id], NATIONAL)
            _insert_case(conn, person.id, pids[person.id], version)
            written["version"] = version

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(0.5)
    assert writer.is_alive() and not written  # waiting for the rotation's lock
    release.set()
    rotating.join(timeout=30)
    writer.join(timeout=30)
    assert written == {"version": 2}
    assert_consistent(snapshot(engine), 2)
