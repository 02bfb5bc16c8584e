"""Temporary files and folders in flight (atomic writes, model assembly), removed on Ctrl-C.

The command line runs its work in a thread and, on Ctrl-C, exits at once instead of waiting for a
model call to return (a batch of clips can take many seconds). Cleanups in ``finally`` blocks do not
run then, so every writer registers its temporary path here while it exists, and ``remove_all``
deletes what is registered. ``remove_all`` keeps the registry locked: a thread that is about to
create a temporary file waits on it until the process has exited, so none is created after it.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_lock = threading.Lock()
_paths: set[Path] = set()


@contextmanager
def in_flight(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Register ``path`` (a temporary file or folder) for removal on interrupt while the block runs."""
    p = Path(path)
    with _lock:
        _paths.add(p)
    try:
        yield p
    finally:
        with _lock:
            _paths.discard(p)


def remove_all() -> list[Path]:
    """Remove every registered path (the process is exiting); the registry stays locked. Returns them."""
    _lock.acquire()
    removed = sorted(_paths)
    for p in removed:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            try:
                p.unlink()
            except OSError:
                pass
    return removed
