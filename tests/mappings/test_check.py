"""``check``: every shipped definition passes; problems are listed file by file."""

from __future__ import annotations

from pathlib import Path

from mappings import check, mappings_dir
from mappings.check import checked_files

FIXTURES = Path(__file__).parent / "fixtures"


def test_every_shipped_mapping_passes() -> None:
    """mappings/<city>/<source>.yaml: what `lgnet mapping check` checks in CI."""
    assert check() == []
    assert all(path.parent.parent == mappings_dir() for path in checked_files())


def test_example_definitions_pass() -> None:
    assert check(FIXTURES) == []
    assert len(checked_files(FIXTURES)) == 3  # golden folders are not definitions


def test_problems_of_several_files(tmp_path: Path) -> None:
    for city, text in [
        ("roma", "source: a1\nsystem: welfare\n"),
        (
            "milano",
            "source: b1\nsystem: health\nadapter: {kind: rest}\n"
            "fields: {subject.sex: {value: Z}}\n",
        ),
    ]:
        (tmp_path / city).mkdir()
        (tmp_path / city / f"{text.split()[1]}.yaml").write_text(text)
    problems = check(tmp_path)
    assert [(Path(p.file).parent.name, p.line, p.path) for p in problems] == [
        ("milano", 4, "fields.subject.sex.value"),
        ("roma", 1, ""),
    ]


def test_missing_path() -> None:
    (problem,) = check("/nonexistent/mappings")
    assert problem.message == "no such file or folder"
