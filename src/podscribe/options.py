"""How an options dataclass declares a field once: default, command-line flag and help, and its check.

A field the command line offers carries ``{"flag": ..., "help": ...}`` (and optionally ``choices``,
``metavar``) in its metadata; ``cli`` derives the flag, its type, default and help from the field. A
check raises ``OptionError(..., option=<field name>)`` in words of the field, never of a flag: the
command line rewrites field names to its flags.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from dataclasses import field
from typing import Any

from .errors import OptionError


def option(default: Any, flag: str, help: str, **more: Any) -> Any:
    """A dataclass field with ``default``, offered on the command line as ``flag`` with ``help``."""
    return field(default=default, metadata={"flag": flag, "help": help, **more})


def check_types(options: object) -> None:
    """OptionError for a field whose value is not of its declared type, where that type is plain: bool, int,
    float (finite; an int will do), str, one of these or None, a tuple of them (``tuple[float, ...]``), or an
    options dataclass. ``cache="no"`` was true and ``temperature=-1`` failed inside faster-whisper; other
    types (mappings, callables) are each class's own check."""
    hints = _hints(type(options))  # type: ignore[arg-type]  # a class is hashable
    for f in dataclasses.fields(options):  # type: ignore[arg-type]
        value, hint = getattr(options, f.name), hints[f.name]
        if not _is(value, hint):
            shown = hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")
            raise OptionError(f"{f.name} must be {shown}, not {value!r}", option=f.name)


@functools.cache
def _hints(kind: type) -> dict[str, Any]:
    """A class's field types, resolved once (the annotations are strings: ``from __future__``)."""
    return typing.get_type_hints(kind)


def _is(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits ``hint`` (True for a kind of hint this check leaves alone)."""
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str)
    if dataclasses.is_dataclass(hint):
        return isinstance(value, hint)  # type: ignore[arg-type]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType) and all(a is type(None) or _plain(a) for a in args):
        return any(value is None if a is type(None) else _is(value, a) for a in args)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis and _plain(args[0]):
        return isinstance(value, tuple) and all(_is(v, args[0]) for v in value)
    return True


def _plain(hint: Any) -> bool:
    return hint in (bool, int, float, str) or dataclasses.is_dataclass(hint)


def is_count(value: Any, minimum: int = 1) -> bool:
    """Whether ``value`` is a whole number >= ``minimum`` (a bool is not one)."""
    return not isinstance(value, bool) and isinstance(value, int) and value >= minimum


def require_count(value: Any, name: str, minimum: int = 1) -> None:
    """OptionError unless ``value`` (the option ``name``) is a whole number >= ``minimum``."""
    if not is_count(value, minimum):
        raise OptionError(f"{name} must be a whole number of at least {minimum}, not {value!r}", option=name)


def check_count(options: object, name: str, minimum: int = 1) -> None:
    """OptionError unless the field ``name`` of ``options`` is a whole number >= ``minimum`` (None passes)."""
    value = getattr(options, name)
    if value is not None:
        require_count(value, name, minimum)


def check_choice(options: object, name: str, choices: tuple[Any, ...]) -> None:
    """OptionError unless the field ``name`` of ``options`` is one of ``choices``."""
    value = getattr(options, name)
    if value not in choices:
        listed = ", ".join("None" if c is None else str(c) for c in choices)
        raise OptionError(f"{name} must be one of {listed}, not {value!r}", option=name)
