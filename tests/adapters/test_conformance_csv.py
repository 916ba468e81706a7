"""The CSV adapter passes the adapter conformance kit."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.csv import CsvAdapter, CsvOptions
from adapters.testing import AdapterConformance

ROWS = "id;cognome;nome;data_nascita\r\n" + "".join(
    f"{i};Cognome{i};Nomè{i};0{i % 9 + 1}/02/1990\r\n" for i in range(30)
)


class TestCsvConformance(AdapterConformance):
    resume_every = 3

    @pytest.fixture
    def adapter(self, tmp_path: Path) -> CsvAdapter:
        (tmp_path / "drops").mkdir()
        (tmp_path / "drops" / "a.csv").write_bytes(ROWS.encode("cp1252"))
        (tmp_path / "drops" / "b.csv").write_bytes(b"\xef\xbb\xbf" + ROWS.encode("utf-8"))
        return CsvAdapter(CsvOptions(path=str(tmp_path / "drops"), block_size=1024), source="csv")

    @pytest.fixture
    def make_faulty(self, tmp_path: Path):  # type: ignore[no-untyped-def]
        def make(kind: str) -> CsvAdapter | None:
            broken = {
                "ragged_row": ROWS.encode() + b"99;only two\r\n100;a;b;c\r\n",
                "bad_encoding": ROWS.encode() + b"99;x\xff;y;z\r\n100;a;b;c\r\n",
                "garbage": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
            }.get(kind)
            if broken is None:
                return None
            path = tmp_path / f"{kind}.csv"
            path.write_bytes(broken)
            return CsvAdapter(CsvOptions(path=str(path), encoding="utf-8"), source="csv")

        return make
