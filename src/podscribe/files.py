"""File plumbing every stage shares: the cache folder, atomic writes and content hashes.

It imports nothing of podscribe, so any module may use it without an import running upward.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

_BLOCK = 1 << 20


def cache_dir() -> Path:
    """The podscribe cache: $PODSCRIBE_CACHE, else $XDG_CACHE_HOME/podscribe or ~/.cache/podscribe."""
    if os.environ.get("PODSCRIBE_CACHE"):
        return Path(os.environ["PODSCRIBE_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "podscribe"


@contextlib.contextmanager
def atomic_target(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A fresh temporary path beside ``target``, renamed onto it when the ``with`` block succeeds.

    The caller writes a file (or builds a folder) at the yielded path. On success it replaces
    ``target`` in one rename, so readers never see a partial file; on any exception it is removed
    and ``target`` is left as it was. The parent folder is created when missing.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def sha256_file(path: str | os.PathLike[str], sinks: Iterable[Callable[[bytes], object]] = ()) -> str:
    """Hex sha256 of a file's content, read in 1 MiB blocks; each block is also handed to every sink
    (another hash's ``update``, an output file's ``write``) so a copy and its checks need one read."""
    digest = hashlib.sha256()
    sinks = tuple(sinks)
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
            for sink in sinks:
                sink(block)
    return digest.hexdigest()
