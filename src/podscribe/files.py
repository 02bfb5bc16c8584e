"""File plumbing every stage shares: the cache folder, atomic writes and content hashes.

It imports nothing of podscribe, so any module may use it without an import running upward.

Temporary paths of atomic writes in flight are registered here: the command line runs its work in
a thread and, on Ctrl-C, exits at once (a model call can run on for many seconds) after
``remove_in_flight`` deleted them, since ``finally`` blocks do not run then. ``remove_in_flight``
keeps the registry locked, so no thread creates a temporary path after it.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import hashlib
import logging
import os
import shutil
import stat
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

_BLOCK = 1 << 20
FORCE_FLAG = "use --force to overwrite"  # how the commands say an existing output file is overwritten
FORCE_ARGUMENT = "force=True overwrites it"  # how the library says it


def cache_dir() -> Path:
    """The podscribe cache: $PODSCRIBE_CACHE, else $XDG_CACHE_HOME/podscribe or ~/.cache/podscribe; where
    the home folder does not exist (a service account's /nonexistent), a private temporary one for this
    process."""
    if os.environ.get("PODSCRIBE_CACHE"):
        return Path(os.environ["PODSCRIBE_CACHE"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "podscribe"
    try:
        home = Path.home()
    except (RuntimeError, KeyError):  # no HOME, and no password-file entry for this user
        home = Path("~")
    if home.is_dir():
        return home / ".cache" / "podscribe"
    return _process_cache(home)


_process_cache_folder: Path | None = None


def _process_cache(home: Path) -> Path:
    """A private cache folder that lasts as long as the process: a home folder that does not exist was
    created for the cache (as root), or the run failed. Said once, with how to keep a cache."""
    global _process_cache_folder
    with _lock:
        if _process_cache_folder is None or not _process_cache_folder.is_dir():
            _process_cache_folder = Path(tempfile.mkdtemp(prefix="podscribe-cache-"))
            _in_flight.add(_process_cache_folder)  # removed when interrupted too, as other temporaries
            atexit.register(shutil.rmtree, _process_cache_folder, ignore_errors=True)
            logging.getLogger(__name__).warning(
                "the home folder %s does not exist: caching in %s for this run only (set PODSCRIBE_CACHE to "
                "keep weights and results between runs)", home, _process_cache_folder
            )
        return _process_cache_folder


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
    with _lock:
        _in_flight.add(tmp)
    try:
        yield tmp
        if tmp.is_file() and target.is_file():  # an overwritten file keeps its mode (new ones: the umask's)
            os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        os.replace(tmp, target)
    finally:
        _remove(tmp)
        with _lock:
            _in_flight.discard(tmp)


_lock = threading.Lock()
_in_flight: set[Path] = set()


@contextlib.contextmanager
def private_folder() -> Iterator[Path]:
    """A private temporary folder, removed when the block ends and, as atomic writes in flight, when the
    command is interrupted (``remove_in_flight``): an input read from standard input is copied there."""
    with tempfile.TemporaryDirectory(prefix="podscribe-") as folder:
        path = Path(folder)
        with _lock:
            _in_flight.add(path)
        try:
            yield path
        finally:
            with _lock:
                _in_flight.discard(path)


def stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Temporary paths ``atomic_target`` made beside ``target`` in a process killed before it could remove
    them (SIGKILL): a batch worker deletes those of an episode before writing it again."""
    target = Path(target)
    return sorted(target.parent.glob(f".{glob.escape(target.name)}.*.part"))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_in_flight() -> list[Path]:
    """Remove every temporary path of an atomic write in flight (the process is exiting); the
    registry stays locked, so none is created after. Returns the paths."""
    _lock.acquire()
    paths = sorted(_in_flight)
    for path in paths:
        try:
            _remove(path)
        except OSError:
            pass
    return paths


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
