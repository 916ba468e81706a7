"""``${NAME}`` placeholders: shell semantics, errors that name variables, never values."""

from __future__ import annotations

import pytest

from mappings.envvars import PlaceholderSyntaxError, UnsetVariable, resolve, resolve_all, variables


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("${URL}/api", {"URL": "http://127.0.0.1:8081"}, "http://127.0.0.1:8081/api"),
        ("${URL:-http://localhost}", {}, "http://localhost"),
        ("${URL:-http://localhost}", {"URL": ""}, "http://localhost"),
        ("${URL:-}", {}, ""),
        ("${A}${B}", {"A": "x", "B": "y"}, "xy"),
        ("price: $$5 and $PATH", {}, "price: $5 and $PATH"),
        ("${EMPTY}", {"EMPTY": ""}, ""),
        ("no placeholders", {}, "no placeholders"),
    ],
)
def test_resolve(text: str, environ: dict[str, str], expected: str) -> None:
    assert resolve(text, environ) == expected


def test_unset_variable_names_it() -> None:
    with pytest.raises(UnsetVariable) as caught:
        resolve("user:${LGNET_PW}", {"OTHER": "s3cr3t"})
    assert caught.value.name == "LGNET_PW"
    assert str(caught.value) == "environment variable LGNET_PW is not set"


@pytest.mark.parametrize("text", ["${PW", "${1PW}", "${P W}", "${}", "${PW:default}", "${A${B}}"])
def test_bad_syntax_does_not_echo_the_text(text: str) -> None:
    with pytest.raises(PlaceholderSyntaxError) as caught:
        variables(text)
    assert "write ${NAME} or ${NAME:-default}" in str(caught.value)
    assert text not in str(caught.value)


def test_nested_options() -> None:
    options = {"auth": {"user": "${U}", "scopes": ["${S:-read}", 3]}, "timeout": 5}
    assert resolve_all(options, {"U": "svc"}) == {
        "auth": {"user": "svc", "scopes": ["read", 3]},
        "timeout": 5,
    }
    assert variables("${A}-${B:-x}") == ["A", "B"]
