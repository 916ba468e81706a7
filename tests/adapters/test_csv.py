"""The CSV adapter on real files: encodings, preambles, quoting, bad rows, cursors, folders."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.csv import CsvAdapter, CsvOptions
from adapters.csv_formulas import formula_column
from adapters.errors import FatalSourceError, RetriableSourceError


def make(path: Path | str, **options: object) -> CsvAdapter:
    return CsvAdapter(CsvOptions(path=str(path), **options), source="test-csv")  # type: ignore[arg-type]


def good(records: list) -> list:
    return [r for r in records if r.problem is None]


# -- encodings ---------------------------------------------------------------------------
def test_windows_1252_is_detected_and_decoded(tmp_path: Path) -> None:
    text = "id;cognome;nome;comune\r\n1;Mammì;Niccolò;Forlì\r\n2;Citrò;Pietà;Città di Castello\r\n"
    (tmp_path / "a.csv").write_bytes(text.encode("cp1252"))
    records = list(make(tmp_path / "a.csv").fetch(None))
    assert [dict(r.data) for r in records] == [
        {"id": "1", "cognome": "Mammì", "nome": "Niccolò", "comune": "Forlì"},
        {"id": "2", "cognome": "Citrò", "nome": "Pietà", "comune": "Città di Castello"},
    ]
    assert json.loads(records[0].cursor)["files"]["a.csv"][4] == "cp1252"


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_bytes("\ufeffid;nome\n1;Zoë\n".encode())
    (record,) = make(tmp_path / "b.csv").fetch(None)
    assert dict(record.data) == {"id": "1", "nome": "Zoë"}


def test_explicit_encoding_wins_and_bad_bytes_are_reported_by_line(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_bytes(b"id;nome\n1;ok\n2;bad \xff byte\n3;ok again\n")
    records = list(make(tmp_path / "c.csv", encoding="utf-8").fetch(None))
    assert [r.position for r in records] == ["line 2", "line 3", "line 4"]
    bad = records[1]
    assert bad.problem is not None and bad.problem.field == "nome"
    assert bad.problem.position == "line 3" and "utf-8" in str(bad.problem)
    assert "bad" not in str(bad.problem)  # the value never enters the message
    assert bad.raw == b"2;bad \xff byte\n" and dict(bad.data) == {}
    assert [r.data["id"] for r in good(records)] == ["1", "3"]


def test_undefined_windows_1252_bytes_do_not_stop_the_file(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_bytes("id;nome\n1;Niccolò\n2;x\x81y\n".encode("latin-1"))
    records = list(make(tmp_path / "d.csv").fetch(None))
    assert records[0].data["nome"] == "Niccolò"
    assert records[1].problem is not None and records[1].problem.position == "line 3"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"encoding": "utf-16"}, "not ASCII-compatible"),
        ({"encoding": "no-such-codec"}, "unknown encoding"),
        ({"header": False}, "'columns' is required"),
        ({"delimiter": ";;"}, "at most 1 character"),
        ({"delimiter": '"'}, "must differ"),
        ({"skip_lines": -1}, "greater than or equal to 0"),
        ({"unknown": 1}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_options_are_rejected(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CsvOptions(path="x.csv", **options)


def test_utf16_file_is_fatal(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_bytes("id;nome\n1;x\n".encode("utf-16"))
    with pytest.raises(FatalSourceError, match="UTF-16"):
        list(make(tmp_path / "e.csv").fetch(None))


# -- shape of the file -------------------------------------------------------------------
def test_preamble_quoted_newlines_and_mixed_line_endings(tmp_path: Path) -> None:
    data = (
        b"Export cartelle sociali\r\nGenerato il 01/02/2024\n"
        b"id;note;esito\r\n"
        b'1;"prima riga\r\nseconda; riga";S\xc3\xac\n'
        b'2;"ha ""virgolette""";No\r'
        b"3;semplice;S\xc3\xac"
    )
    (tmp_path / "f.csv").write_bytes(data)
    records = list(make(tmp_path / "f.csv", skip_lines=2).fetch(None))
    assert [dict(r.data) for r in records] == [
        {"id": "1", "note": "prima riga\r\nseconda; riga", "esito": "Sì"},
        {"id": "2", "note": 'ha "virgolette"', "esito": "No"},
        {"id": "3", "note": "semplice", "esito": "Sì"},
    ]
    assert [r.position for r in records] == ["line 4", "line 6", "line 7"]


def test_ragged_rows_are_problems_and_the_rest_goes_on(tmp_path: Path) -> None:
    (tmp_path / "g.csv").write_text("id;a;b\n1;x;y\n2;x\n3;x;y;z\n\n4;x;y\n", encoding="utf-8")
    records = list(make(tmp_path / "g.csv").fetch(None))
    assert [r.position for r in records] == ["line 2", "line 3", "line 4", "line 6"]
    assert [r.problem is None for r in records] == [True, False, False, True]
    assert "2 columns, the header has 3" in str(records[1].problem)
    assert records[2].raw == b"3;x;y;z\n"


def test_short_rows_are_padded_when_not_strict(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("id;a;b\n1;x\n2;x;y;z\n", encoding="utf-8")
    records = list(make(tmp_path / "h.csv", strict_columns=False).fetch(None))
    assert dict(records[0].data) == {"id": "1", "a": "x", "b": ""}
    assert records[1].problem is not None


def test_formula_cells_are_flagged_with_their_column(tmp_path: Path) -> None:
    rows = [
        "id;importo;telefono;note",
        "1;-12,50;+39 06 1234567;normale",
        '2;1.234,56;-;=HYPERLINK("http://x")',
        "3;0;@SUM(A1:A2);ok",
        "4;0;\"+cmd|' /C calc'!A0\";ok",
        "5;-2+3;0;ok",
        "6;0;0;a=b+c@d-e",
    ]
    (tmp_path / "i.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    records = list(make(tmp_path / "i.csv").fetch(None))
    flagged = {r.data["id"]: r.problem.field for r in records if r.problem is not None}
    assert flagged == {"2": "note", "3": "telefono", "4": "telefono", "5": "importo"}
    assert records[1].data["note"].startswith("=")  # kept for the quarantine, never evaluated
    assert "spreadsheet formula" in str(records[1].problem)
    assert not any(r.problem for r in make(tmp_path / "i.csv", flag_formulas=False).fetch(None))


@pytest.mark.parametrize(
    ("cell", "formula"),
    [
        ("=1+1", True),
        ("@x", True),
        ("+A1", True),
        ("-x", True),
        ("-12,5", False),
        ("+39 06 12", False),
        ("-", False),
        ("", False),
        ("a=1", False),
        ("12/03/2020", False),
    ],
)
def test_formula_column(cell: str, formula: bool) -> None:
    assert (formula_column(["ok", cell], ["a", "b"]) == "b") is formula


def test_id_column_and_no_header(tmp_path: Path) -> None:
    (tmp_path / "j.csv").write_text("A1;x\nA2;y\n", encoding="utf-8")
    adapter = make(tmp_path / "j.csv", header=False, columns=["code", "v"], id_column="code")
    assert [(r.record_id, r.data["v"]) for r in adapter.fetch(None)] == [("A1", "x"), ("A2", "y")]
    with pytest.raises(FatalSourceError, match="id column"):
        list(make(tmp_path / "j.csv", header=False, columns=["a", "b"], id_column="c").fetch(None))


def test_duplicate_header_is_fatal_and_blank_names_are_numbered(tmp_path: Path) -> None:
    (tmp_path / "k.csv").write_text("id;x;x\n1;2;3\n", encoding="utf-8")
    with pytest.raises(FatalSourceError, match="repeats a column name at column 3"):
        list(make(tmp_path / "k.csv").fetch(None))
    (tmp_path / "l.csv").write_text("id;;\n1;2;3\n", encoding="utf-8")
    (record,) = make(tmp_path / "l.csv").fetch(None)
    assert list(record.data) == ["id", "column_2", "column_3"]


def test_unbalanced_quote_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    big = "x" * 140_000  # beyond csv's field size limit
    (tmp_path / "m.csv").write_text(f'id;v\n1;ok\n2;"{big}\n3;ok\n', encoding="utf-8")
    records = list(make(tmp_path / "m.csv").fetch(None))
    assert records[0].problem is None
    assert any(r.problem and "not valid CSV" in str(r.problem) for r in records)


def test_missing_path_and_bad_cursor_are_fatal(tmp_path: Path) -> None:
    with pytest.raises(FatalSourceError, match="not found"):
        list(make(tmp_path / "nope.csv").fetch(None))
    (tmp_path / "a.csv").write_text("id\n1\n", encoding="utf-8")
    with pytest.raises(FatalSourceError, match="cursor"):
        list(make(tmp_path / "a.csv").fetch('{"v":9}'))


def test_unreadable_file_is_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n", encoding="utf-8")
    adapter = make(tmp_path)

    def denied(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "denied")

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(FatalSourceError, match=r"cannot open file a\.csv"):
        list(adapter.fetch(None))


def test_vanished_file_is_retriable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n", encoding="utf-8")
    adapter = make(tmp_path)

    def gone(self: Path, *args: object, **kwargs: object) -> object:
        raise FileNotFoundError(2, "gone")

    monkeypatch.setattr(Path, "open", gone)
    with pytest.raises(RetriableSourceError, match=r"cannot open file a\.csv"):
        list(adapter.fetch(None))


# -- cursors -----------------------------------------------------------------------------
def _multi_block_file(path: Path, rows: int = 400) -> list[list[str]]:
    table = [["id", "nome", "note"]]
    for i in range(rows):
        note = f"riga {i}\nsu due righe" if i % 7 == 0 else f"nota {i}"
        table.append([str(i), f"Nome{i}", note])
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, delimiter=";", lineterminator="\r\n" if rows % 2 else "\n").writerows(table)
    return table[1:]


def test_resume_from_every_cursor_gives_no_repeat_and_no_gap(tmp_path: Path) -> None:
    _multi_block_file(tmp_path / "big.csv")
    adapter = make(tmp_path / "big.csv", block_size=1024)
    records = list(adapter.fetch(None))
    ids = [r.data["id"] for r in records]
    assert ids == [str(i) for i in range(400)]
    offsets = {json.loads(r.cursor)["files"]["big.csv"][0] for r in records}
    assert len(offsets) > 5  # checkpoints move with the blocks
    for i, record in enumerate(records):
        assert [r.data["id"] for r in adapter.fetch(record.cursor)] == ids[i + 1 :]


def test_cursor_is_compact_json(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n2\n", encoding="utf-8")
    first = next(iter(make(tmp_path / "a.csv").fetch(None)))
    assert " " not in first.cursor
    offset, line, head_len, head_hash, encoding, skip = json.loads(first.cursor)["files"]["a.csv"]
    assert (offset, line, head_len, encoding, skip) == (0, 0, 7, "utf-8", 1)
    assert len(head_hash) == 16


def test_folder_is_read_in_name_order_and_finished_files_are_remembered(tmp_path: Path) -> None:
    (tmp_path / "2024-02.csv").write_text("id\nb1\nb2\n", encoding="utf-8")
    (tmp_path / "2024-01.csv").write_text("id\na1\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not csv", encoding="utf-8")
    adapter = make(tmp_path)
    records = list(adapter.fetch(None))
    assert [r.data["id"] for r in records] == ["a1", "b1", "b2"]
    cursor = records[-1].cursor
    assert list(adapter.fetch(cursor)) == []

    # a late file, an appended file and a replaced file
    (tmp_path / "2024-00.csv").write_text("id\nlate\n", encoding="utf-8")
    with (tmp_path / "2024-02.csv").open("a", encoding="utf-8") as f:
        f.write("b3\n")
    records = list(adapter.fetch(cursor))
    assert [r.data["id"] for r in records] == ["late", "b3"]
    cursor = records[-1].cursor
    (tmp_path / "2024-01.csv").write_text("id\nnew\n", encoding="utf-8")
    records = list(adapter.fetch(cursor))
    assert [r.data["id"] for r in records] == ["new"]
    cursor = records[-1].cursor

    # a file moved away is forgotten by the next cursor
    (tmp_path / "2024-00.csv").unlink()
    (tmp_path / "2024-03.csv").write_text("id\nc1\n", encoding="utf-8")
    (last,) = adapter.fetch(cursor)
    assert "2024-00.csv" not in json.loads(last.cursor)["files"]


def test_glob_pattern_and_min_age(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.csv").write_text("id\n1\n", encoding="utf-8")
    (tmp_path / "x" / "b.txt").write_text("id\n2\n", encoding="utf-8")
    assert [r.data["id"] for r in make(tmp_path / "*" / "*.csv").fetch(None)] == ["1"]
    assert list(make(tmp_path / "x", min_age=3600).fetch(None)) == []


def test_read_stream_from_bytes_and_binary_stream(tmp_path: Path) -> None:
    adapter = make(tmp_path / "unused.csv", skip_lines=1, id_column="id")
    payload = "Comune di Roma\nid;nome\nR1;Niccolò\nR2;Anna\n".encode("cp1252")
    for source in (payload, io.BytesIO(payload)):
        records = list(adapter.read_stream(source, name="upload.csv"))
        assert [(r.record_id, r.data["nome"]) for r in records] == [
            ("R1", "Niccolò"),
            ("R2", "Anna"),
        ]
        assert "upload.csv" in json.loads(records[0].cursor)["files"]


# -- property: same rows as csv.reader, wherever the blocks are cut --------------------
cells = st.text(alphabet=st.sampled_from('ab;"\n\r xè'), max_size=12)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(cells, min_size=3, max_size=3), min_size=1, max_size=120))
def test_rows_match_csv_reader_and_resume_anywhere(tmp_path: Path, rows: list[list[str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(["a", "b", "c"])
    writer.writerows(rows)
    path = tmp_path / "p.csv"
    path.write_bytes(out.getvalue().encode("utf-8"))
    adapter = make(path, block_size=1024, flag_formulas=False, encoding="utf-8")
    records = list(adapter.fetch(None))
    expected = [r for r in csv.reader(io.StringIO(out.getvalue(), newline=""), delimiter=";")][1:]
    assert [list(r.data.values()) for r in records] == [r for r in expected if r]
    for i in range(0, len(records), 7):
        rest = [list(r.data.values()) for r in adapter.fetch(records[i].cursor)]
        assert rest == [list(r.data.values()) for r in records[i + 1 :]]
