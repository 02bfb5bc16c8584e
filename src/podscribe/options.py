"""How an options dataclass declares a field once: default, command-line flag and help, and its check.

A field the command line offers carries ``{"flag": ..., "help": ...}`` (and optionally ``choices``,
``metavar``) in its metadata; ``cli`` derives the flag, its type, default and help from the field. A
check raises ``OptionError(..., option=<field name>)`` in words of the field, never of a flag: the
command line rewrites field names to its flags.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from .errors import OptionError


def option(default: Any, flag: str, help: str, **more: Any) -> Any:
    """A dataclass field with ``default``, offered on the command line as ``flag`` with ``help``."""
    return field(default=default, metadata={"flag": flag, "help": help, **more})


def check_count(options: object, name: str, minimum: int = 1) -> None:
    """OptionError unless the field ``name`` of ``options`` is a whole number >= ``minimum`` (None passes)."""
    value = getattr(options, name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < minimum):
        raise OptionError(f"{name} must be a whole number of at least {minimum}, not {value!r}", option=name)


def check_choice(options: object, name: str, choices: tuple[Any, ...]) -> None:
    """OptionError unless the field ``name`` of ``options`` is one of ``choices``."""
    value = getattr(options, name)
    if value not in choices:
        listed = ", ".join("None" if c is None else str(c) for c in choices)
        raise OptionError(f"{name} must be one of {listed}, not {value!r}", option=name)
