"""Typed errors. Every error the command line can show is a PodscribeError with a one-line message."""

from __future__ import annotations

import os


class PodscribeError(Exception):
    """Base class: a failure the user can act on, shown as one line without a traceback."""

    exit_code = 2

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None) -> None:
        # a path, or what stood for one (an int given by mistake): never a TypeError while reporting another
        self.path = (os.fspath(path) if isinstance(path, (str, os.PathLike))
                     else None if path is None else repr(path))  # fmt: skip
        self.cause = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class InputError(PodscribeError):
    """An input file is missing, empty, unreadable, or not what it claims to be."""


class DecodeError(InputError):
    """ffmpeg could not decode the file (not audio, truncated, corrupt, no audio stream)."""


class ModelError(PodscribeError):
    """A model name is unknown, its weights are missing or corrupt, or loading failed."""


class ModelNotAvailableError(ModelError):
    """The weights are neither local, cached nor shipped, and cannot be downloaded (offline)."""


class OptionError(PodscribeError):
    """An option has a bad value or options contradict each other; ``option`` names it when one field is."""

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None, option: str | None = None) -> None:
        super().__init__(message, path)
        self.option = option


class OutputError(PodscribeError):
    """An output file exists (and overwriting was not asked for) or cannot be written."""


class ReferenceFormatError(InputError):
    """A reference transcript or RTTM file is malformed (message names the line)."""
