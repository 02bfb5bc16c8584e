"""File plumbing: atomic replacement of files and folders, and file hashes with copies in one read."""

from __future__ import annotations

import hashlib

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
