"""The YAML loader: YAML 1.2 scalars, keys as written, lines of every key, duplicates refused."""

from __future__ import annotations

import pytest

from mappings.yaml_lines import YamlProblem, load_yaml


def test_keys_stay_text_and_scalars_follow_yaml_1_2() -> None:
    data, _ = load_yaml(
        "codes:\n  01: a\n  NO: b\n  yes: c\n  1.0: d\n"
        "values: [01, yes, Sì, true, 3, -2, 1.5, 2024-03-01, ~, '%d']\n"
    )
    assert list(data["codes"]) == ["01", "NO", "yes", "1.0"]
    assert data["values"] == ["01", "yes", "Sì", True, 3, -2, 1.5, "2024-03-01", None, "%d"]


def test_lines_of_keys_and_items() -> None:
    _, index = load_yaml("a:\n  b:\n    - x\n    - {c: 1}\nd: 2\n")
    assert index.line(("a",)) == 1
    assert index.line(("a", "b")) == 2
    assert index.line(("a", "b", 1)) == 4
    assert index.line(("a", "b", 1, "c")) == 4
    assert index.line(("d",)) == 5
    assert index.line(("a", "missing", "deeper")) == 1  # nearest ancestor


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first at line 1)"),
        ("a: [1,\n", 2, "not valid YAML"),
        ("? [a]\n: 1\n", 1, "a key must be plain text"),
        ("base: &b {x: 1}\nother:\n  <<: *b\n", 3, "merge keys (<<) are not supported"),
    ],
)
def test_problems_have_lines(text: str, line: int, message: str) -> None:
    with pytest.raises(YamlProblem) as caught:
        load_yaml(text)
    assert caught.value.line == line
    assert message in caught.value.message
