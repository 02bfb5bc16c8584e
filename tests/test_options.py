"""options.py: a field declared once (default, flag, help) and the checks every options dataclass shares."""

from __future__ import annotations

import dataclasses

import pytest

from podscribe.errors import OptionError
from podscribe.options import check_choice, check_count, check_types, option


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


@dataclasses.dataclass(frozen=True)
class _Typed:
    on: bool = True
    size: int = 1
    level: float = 0.5
    name: str = "a"
    maybe: float | None = None
    several: tuple[float, ...] = (0.0,)
    inner: _Example = _Example()
    anything: object = None  # not a plain type: left to the class's own check


@pytest.mark.parametrize("field, value", [
    ("on", True), ("size", 3), ("level", 2), ("level", -1.5), ("maybe", None), ("maybe", 0.1),
    ("several", ()), ("several", (0.2, 1)), ("inner", _Example(count=2)), ("anything", "x"), ("name", ""),
])  # fmt: skip
def test_check_types_accepts_values_of_the_declared_types(field, value) -> None:
    check_types(_Typed(**{field: value}))


@pytest.mark.parametrize("field, value, shown", [
    ("on", "no", "bool"), ("on", 1, "bool"), ("size", True, "int"), ("size", 2.5, "int"),
    ("level", "0.5", "float"), ("level", float("nan"), "float"), ("level", float("inf"), "float"),
    ("maybe", "x", "float | None"),
    ("several", [0.0], "tuple[float, ...]"), ("several", (0.0, "x"), "tuple[float, ...]"), ("name", 5, "str"),
    ("inner", {}, "_Example"),
])  # fmt: skip
def test_check_types_names_the_field_and_its_type(field, value, shown) -> None:
    with pytest.raises(OptionError) as e:
        check_types(_Typed(**{field: value}))
    assert str(e.value) == f"{field} must be {shown}, not {value!r}" and e.value.option == field
