"""No identifier at rest (BRIEF §5): seed 1,000 distinctive synthetic people, then look for
every name, fiscal code, provisional code, STP code and phone number of theirs in the SQLite
file (and its WAL), a ``pg_dump`` of the PostgreSQL schema, every captured log line and every
CLI output. There must be zero hits.

Extending it (pipeline, API): write another ``test_...`` that takes the ``exposure`` fixture,
pushes the same ``PEOPLE`` through the new layer, hands every response body or output to
``exposure.output(...)`` and ends with ``exposure.assert_clean(engine, database_url)``.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from gateway.cli import app
from gateway.privacy import rotation
from gateway.privacy.keys import Keyring, add_key_version, generate_key_file
from gateway.privacy.pseudonyms import Pseudonymiser
from gateway.schema.intake import Identifiers
from gateway.settings import get_settings
from gateway.storage.tables import QuarantineRow

from .privacy.seeding import SyntheticPerson, register, synthetic_people

PEOPLE_COUNT = 1000
WINDOW = 8  # every needle is at least this long; candidates are found by their first 8 bytes


def needles_of(people: Iterable[SyntheticPerson]) -> list[str]:
    """Every identifying string of the people, uppercase (the haystacks are upper-cased)."""
    found: list[str] = []
    for person in people:
        found += [
            person.family_name,
            person.given_name,
            person.fiscal_code,
            person.provisional_code,
            person.stp_code,
            person.phone.replace("+39 ", ""),  # national digits: any formatting keeps them
        ]
    needles = [n.upper() for n in found]
    assert min(map(len, needles)) >= WINDOW
    return needles


class Needles:
    """Find any of many needles in bytes: index by first 8 bytes, verify on a hit."""

    def __init__(self, needles: Iterable[str]) -> None:
        self.by_prefix: dict[bytes, list[bytes]] = {}
        for needle in needles:
            encoded = needle.encode()
            self.by_prefix.setdefault(encoded[:WINDOW], []).append(encoded)

    def find(self, haystack: bytes | str) -> list[str]:
        data = (haystack.encode() if isinstance(haystack, str) else haystack).upper()
        hits = []
        index = self.by_prefix
        for i in range(len(data) - WINDOW + 1):
            candidates = index.get(data[i : i + WINDOW])
            if candidates:
                hits += [c.decode() for c in candidates if data.startswith(c, i)]
        return hits


@dataclass
class Exposure:
    """Everything that left the code under test: outputs, logs; databases are read at the end."""

    needles: Needles
    caplog: pytest.LogCaptureFixture
    outputs: list[tuple[str, str]] = field(default_factory=list)

    def output(self, where: str, text: str | bytes) -> None:
        self.outputs.append(
            (where, text if isinstance(text, str) else text.decode(errors="replace"))
        )

    def log_text(self) -> str:
        lines = []
        for record in self.caplog.records:
            lines.append(record.getMessage())
            lines.append(repr(record.args))
            lines.append(repr({k: v for k, v in vars(record).items() if k not in ("msg", "args")}))
            if record.exc_info:
                lines.append(logging.Formatter().formatException(record.exc_info))
        return "\n".join(lines)

    def haystacks(self, engine: Engine, database_url: str) -> Iterator[tuple[str, bytes]]:
        if engine.dialect.name == "sqlite":
            database = Path(make_url(database_url).database or "")
            files = sorted(database.parent.glob(database.name + "*"))
            assert database in files
            for path in files:  # the database, its -wal and -shm
                yield str(path.name), path.read_bytes()
        else:
            yield "pg_dump", pg_dump(database_url)
        yield "logs", self.log_text().encode()
        for where, text in self.outputs:
            yield where, text.encode()

    def assert_clean(self, engine: Engine, database_url: str) -> None:
        hits = {}
        scanned = 0
        for where, data in self.haystacks(engine, database_url):
            scanned += len(data)
            found = self.needles.find(data)
            if found:
                hits[where] = len(found)
        assert scanned > 10_000  # the scan really read something
        assert hits == {}, f"identifiers found at rest or in output: {hits}"


def pg_dump(database_url: str) -> bytes:
    url = make_url(database_url)
    options = str(url.query.get("options", ""))
    schema = options.split("search_path=", 1)[1] if "search_path=" in options else None
    executable = shutil.which("pg_dump")
    if executable is None:
        pytest.skip("pg_dump is not installed")
    command = [
        executable,
        "--no-owner",
        "--no-privileges",
        "-h",
        url.host or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "postgres",
        "-d",
        url.database or "postgres",
    ]
    if schema:
        command.append(f"--schema={schema}")
    env = {"PATH": "/usr/bin:/bin"}
    if url.password:
        env["PGPASSWORD"] = url.password
    completed = subprocess.run(command, capture_output=True, env=env, check=True, timeout=120)
    assert b"CREATE TABLE" in completed.stdout and b"persons" in completed.stdout
    return completed.stdout


@pytest.fixture
def exposure(caplog: pytest.LogCaptureFixture) -> Exposure:
    caplog.set_level(logging.DEBUG)  # every logger
    # SQLAlchemy sets its own loggers to WARNING; its statement and parameter logs count too.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    return Exposure(Needles(needles_of(PEOPLE)), caplog)


PEOPLE = synthetic_people(PEOPLE_COUNT)


def test_the_scanner_finds_planted_identifiers() -> None:
    person = PEOPLE[3]
    needles = Needles(needles_of(PEOPLE))
    blob = (
        b"\x00\x01"
        + person.fiscal_code.lower().encode()
        + b"\xff"
        + f"tel. {person.phone}".encode()
        + b"|"
        + person.family_name.upper().encode()
    )
    assert sorted(needles.find(blob)) == sorted(
        [person.fiscal_code, person.phone.replace("+39 ", ""), person.family_name.upper()]
    )
    assert needles.find(b"\x00" * 1000 + b"nothing to see") == []


def _subjects(people: Iterable[SyntheticPerson], variant: int) -> list[Identifiers]:
    """The people as sources send them: sometimes lowercase, spaced, or a bad check char."""
    subjects = []
    for i, person in enumerate(people):
        code = person.fiscal_code
        if (i + variant) % 3 == 1:
            code = f"{code[:6].lower()} {code[6:]}"
        elif (i + variant) % 7 == 2:
            code = code[:15] + ("A" if code[15] != "A" else "B")  # invalid: logged, skipped
        subjects.append(
            Identifiers(
                fiscal_code=code,
                provisional_fiscal_code=person.provisional_code if i % 2 else None,
                stp_code=person.stp_code if i % 5 == 0 else None,
                local_id=person.phone,  # some systems key people by phone number
            )
        )
    return subjects


def test_privacy_layer_and_storage_keep_no_identifier(
    engine: Engine, database_url: str, exposure: Exposure, tmp_path: Path, monkeypatch
) -> None:
    key_file = tmp_path / "keys.json"
    generate_key_file(key_file)
    pseudonymiser = Pseudonymiser(Keyring.from_file(key_file))
    with engine.begin() as conn:
        register(conn, pseudonymiser, _subjects(PEOPLE, 0), city="roma", source="welfare")
    with engine.begin() as conn:
        half = PEOPLE[: PEOPLE_COUNT // 2]
        register(
            conn,
            pseudonymiser,
            _subjects(half, 1),
            city="milano",
            source="health",
            seen_on=date(2025, 9, 1),
        )

    # Rotation, and the operator's commands, on the same database.
    add_key_version(key_file)
    result = rotation.rotate(engine, Pseudonymiser(Keyring.from_file(key_file)), "national")
    assert result.pseudonyms >= PEOPLE_COUNT
    monkeypatch.setenv("LGNET_DATABASE_URL", database_url)
    monkeypatch.setenv("LGNET_PSEUDONYM_KEY_FILE", str(key_file))
    get_settings.cache_clear()
    runner = CliRunner()
    for command in (["keys", "status"], ["keys", "rotate", "--domain", "all"]):
        outcome = runner.invoke(app, command)
        assert outcome.exit_code == 0, outcome.output
        exposure.output(" ".join(command), outcome.output)

    loggers = {r.name for r in exposure.caplog.records}
    assert "sqlalchemy.engine.Engine" in loggers  # statements and parameters were logged
    assert any("identifier ignored" in r.getMessage() for r in exposure.caplog.records)
    exposure.assert_clean(engine, database_url)


def test_an_identifier_planted_in_the_database_is_found(
    engine: Engine, database_url: str, exposure: Exposure
) -> None:
    person = PEOPLE[10]
    with engine.begin() as conn:
        conn.execute(
            insert(QuarantineRow),
            [
                {
                    "city": "roma",
                    "source": "w",
                    "stage": "validation",
                    "created_at": datetime.now(UTC),
                    "reason": f"bad record of {person.given_name}",
                }
            ],
        )
    with pytest.raises(AssertionError, match="identifiers found"):
        exposure.assert_clean(engine, database_url)
