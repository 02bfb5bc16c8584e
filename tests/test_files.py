"""File plumbing: atomic replacement of files and folders, and file hashes with copies in one read."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podscribe.files import atomic_target, cache_dir, sha256_file


def test_atomic_target_replaces_only_on_success(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_target(target) as tmp:
        assert tmp.parent == target.parent and tmp != target  # the parent is created, the temp is beside it
        tmp.write_text("first")
        assert not target.exists()  # nothing visible before the block ends
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError), atomic_target(target) as tmp:
        tmp.write_text("half written")
        raise RuntimeError("disk full")
    assert target.read_text() == "first"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]  # no temp file left


def test_atomic_target_builds_a_folder(tmp_path):
    target = tmp_path / "model"
    with pytest.raises(OSError), atomic_target(target) as tmp:
        tmp.mkdir()
        (tmp / "model.bin").write_bytes(b"x")
        raise OSError("interrupted")
    assert list(tmp_path.iterdir()) == []  # the half-built folder is removed
    with atomic_target(target) as tmp:
        tmp.mkdir()
        (tmp / "model.bin").write_bytes(b"weights")
    assert (target / "model.bin").read_bytes() == b"weights"


def test_sha256_file_and_its_sinks(tmp_path):
    data = bytes(range(256)) * 9000  # more than one 1 MiB block
    path = tmp_path / "blob"
    path.write_bytes(data)
    copy, whole = bytearray(), hashlib.sha256()
    assert sha256_file(path, sinks=(copy.extend, whole.update)) == hashlib.sha256(data).hexdigest()
    assert bytes(copy) == data and whole.hexdigest() == hashlib.sha256(data).hexdigest()


def test_cache_dir_follows_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("PODSCRIBE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "podscribe"
    monkeypatch.setenv("PODSCRIBE_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


def test_a_home_folder_that_does_not_exist_is_not_created_for_the_cache(tmp_path):
    """A service account's home (/nonexistent) was created for the cache when run as root (else the run
    failed): the cache is a private temporary folder for the process, said once, removed at its end."""
    home = tmp_path / "nonexistent"
    env = {k: v for k, v in os.environ.items() if k not in ("PODSCRIBE_CACHE", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), TMPDIR=str(tmp_path))
    script = ("import logging, sys\nfrom podscribe.files import cache_dir\nlogging.basicConfig()\n"
              "first, again = cache_dir(), cache_dir()\nprint(first, first == again, first.is_dir())\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True,
                          timeout=60)  # fmt: skip
    folder, same, made = done.stdout.split()
    assert Path(folder).parent == tmp_path and Path(folder).name.startswith("podscribe-cache-")
    assert (same, made) == ("True", "True") and not Path(folder).exists() and not home.exists()
    assert done.stderr.count("does not exist") == 1 and "PODSCRIBE_CACHE" in done.stderr


def test_an_interrupted_command_removes_its_private_folders_and_temporaries(tmp_path):
    """``remove_in_flight`` (Ctrl-C, SIGTERM) deletes an atomic write's temporary and a private folder in use
    (a copy of standard input was left in the temporary folder); it runs as the process exits, so here in a
    child (it keeps the registry locked)."""
    script = (
        "import os, sys\n"
        "from podscribe.files import atomic_target, private_folder, remove_in_flight\n"
        "with private_folder() as folder, atomic_target(sys.argv[1]) as tmp:\n"
        "    (folder / 'input').write_bytes(b'x'); tmp.write_text('half')\n"
        "    removed = remove_in_flight()\n"
        "    print(sorted(map(str, removed)), folder.exists(), tmp.exists(), flush=True)\n"
        "    os._exit(0)  # as the command does: the registry stays locked\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    command = [sys.executable, "-c", script, str(tmp_path / "out.json")]
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True, timeout=60).stdout
    assert out.endswith("False False\n") and out.count("podscribe-") == 1 and ".out.json." in out
