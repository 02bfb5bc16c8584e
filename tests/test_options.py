"""options.py: a field declared once (default, flag, help) and the checks every options dataclass shares."""

from __future__ import annotations

import dataclasses

import pytest

from podscribe.errors import OptionError
from podscribe.options import check_choice, check_count, option


@dataclasses.dataclass(frozen=True)
class _Example:
    count: int | None = option(None, "--count", "how many", metavar="N")
    kind: str = "a"


def test_option_is_a_field_with_its_flag_and_help() -> None:
    (count, kind) = dataclasses.fields(_Example)
    assert count.default is None and dict(count.metadata) == {"flag": "--count", "help": "how many", "metavar": "N"}
    assert "flag" not in kind.metadata


@pytest.mark.parametrize("value", [None, 1, 7])
def test_check_count_accepts_whole_numbers_from_the_minimum(value) -> None:
    check_count(_Example(count=value), "count")


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "2"])
def test_check_count_refuses_anything_else_naming_the_field(value) -> None:
    with pytest.raises(OptionError, match=rf"^count must be a whole number of at least 1, not {value!r}$") as caught:
        check_count(_Example(count=value), "count")
    assert caught.value.option == "count"


def test_check_choice_names_the_field_and_the_choices() -> None:
    check_choice(_Example(kind="b"), "kind", ("a", "b"))
    with pytest.raises(OptionError, match=r"^kind must be one of a, b, None, not 'c'$") as caught:
        check_choice(_Example(kind="c"), "kind", ("a", "b", None))
    assert caught.value.option == "kind"
