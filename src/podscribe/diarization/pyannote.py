"""pyannote.audio speaker-diarization pipelines (the ``pyannote`` extra), offline-first.

A pipeline comes from a local folder holding ``config.yaml`` (e.g. a copy of
``pyannote/speaker-diarization-community-1``) or from a hub id with a token. Telemetry is off and
the hub is offline unless a token is given. Audio is passed in memory, so neither torchcodec nor
ffmpeg is needed by pyannote.
"""

from __future__ import annotations

import logging
import os
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE, ProgressCallback
from ..devices import resolve_device
from ..errors import ModelError
from ..transcript import Turn, speaker_id
from . import DiarizationOptions, passes
from .embedded import SEG_FRAME_DURATION, SEG_FRAME_STEP, EmbeddedDiarizer

logger = logging.getLogger(__name__)

DEFAULT_PIPELINE = "pyannote/speaker-diarization-community-1"


def _torchaudio_without_extension() -> None:
    """Let ``import torchaudio`` succeed when its compiled extension cannot load beside CPU torch.

    PyPI's Linux torchaudio wheels are CUDA builds: with a CPU-only torch their ``_torchaudio.so``
    fails on ``libc10_cuda.so``. pyannote only needs torchaudio's pure-Python parts for in-memory
    16 kHz audio (Kaldi fbank, resampling), so the extension is declared unavailable instead.
    """
    import torch

    try:
        import torchaudio  # noqa: F401
    except OSError as error:
        if torch.version.cuda is not None or "cuda" not in str(error.__cause__ or error).lower():
            raise
        for name in [m for m in sys.modules if m == "torchaudio" or m.startswith("torchaudio.")]:
            del sys.modules[name]
        stub = types.ModuleType("torchaudio._extension")
        vars(stub).update(
            _IS_TORCHAUDIO_EXT_AVAILABLE=False, _IS_ALIGN_AVAILABLE=False, fail_if_no_align=lambda function: function
        )
        sys.modules["torchaudio._extension"] = stub
        logger.info("torchaudio's compiled extension does not load (CUDA build beside CPU torch): "
                    "using its pure-Python parts only")  # all that in-memory audio needs: nothing to act on


@contextmanager
def _hub_offline(offline: bool) -> Iterator[None]:
    """The Hugging Face hub offline while pyannote imports and loads, as the user had it afterwards.

    huggingface_hub reads ``HF_HUB_OFFLINE`` once, at its import, so the variable and the constant it
    became are both set for the block and both put back: the rest of the process is not left offline.
    An ``HF_HUB_OFFLINE`` the user set is theirs: nothing is changed then."""
    if not offline or "HF_HUB_OFFLINE" in os.environ:
        yield
        return
    from huggingface_hub import constants  # imported first, so that it reads the user's own setting

    before = constants.HF_HUB_OFFLINE
    os.environ["HF_HUB_OFFLINE"], constants.HF_HUB_OFFLINE = "1", True
    try:
        yield
    finally:
        os.environ.pop("HF_HUB_OFFLINE", None)
        constants.HF_HUB_OFFLINE = before


def _import_pipeline():
    """pyannote.audio's Pipeline class, imported with its telemetry off (for the whole process, since
    pyannote turns it on at import where the variable is unset)."""
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
    try:
        _torchaudio_without_extension()
        with warnings.catch_warnings():  # its file decoder's: podscribe hands pyannote decoded audio
            warnings.filterwarnings("ignore", message=r"\s*torchcodec is not installed correctly")
            from pyannote.audio import Pipeline
    except ImportError as error:
        if (error.name or "").split(".")[0] in ("pyannote", "torch", "torchaudio"):
            raise ModelError("pyannote.audio is not installed: pip install 'podscribe[pyannote]'") from error
        raise ModelError(f"pyannote.audio failed to import: {error}") from error
    except OSError as error:
        raise ModelError(f"pyannote.audio failed to load: {error}") from error
    return Pipeline


def missing_files(folder: Path) -> list[str]:
    """Files a local pipeline folder lacks: config.yaml, then what its ``$model/...`` entries name."""
    import yaml

    config_path = folder / "config.yaml"
    if not config_path.is_file():
        return ["config.yaml"]
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    params = config.get("pipeline", {}).get("params", {})
    missing = []
    if "plda" not in params and "SpeakerDiarization" in str(config.get("pipeline", {}).get("name", "")):
        missing.append("plda entry in config.yaml (pyannote.audio 4 would fetch community-1's PLDA from the hub)")
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("$model/"):
            sub = folder / value.removeprefix("$model/")
            needed = ["xvec_transform.npz", "plda.npz"] if key == "plda" else ["pytorch_model.bin"]
            missing += [str(sub.relative_to(folder) / n) for n in needed if not (sub / n).is_file()]
        elif isinstance(value, str) and key in ("segmentation", "embedding") and Path(value).is_absolute():
            missing += [] if Path(value).is_file() else [value]
    return missing


def _torch_device(device: str):
    import torch

    return torch.device(resolve_device(device, "torch"))


class PyannoteDiarizer:
    """A pyannote.audio pipeline behind the Diarizer protocol (exclusive turns when it offers them)."""

    name = "pyannote"

    def __init__(self, path: str | None = None, token: str | None = None, device: str = "auto") -> None:
        source = path or DEFAULT_PIPELINE
        folder = Path(source).expanduser()
        if not folder.is_dir() and source.startswith((".", "/", "~")):
            raise ModelError("pyannote pipeline folder not found", source)
        with _hub_offline(token is None):
            pipeline = self._load(source, folder, token)
        self.pipeline = pipeline.to(_torch_device(device))
        self.source = str(folder) if folder.is_dir() else source
        self.device = device
        self._voices: EmbeddedDiarizer | None = None

    @staticmethod
    def _load(source: str, folder: Path, token: str | None):
        """The pipeline from a complete local folder, or from the hub."""
        Pipeline = _import_pipeline()
        if folder.is_dir():
            missing = missing_files(folder)
            if missing:
                raise ModelError(f"incomplete pyannote pipeline folder, missing: {', '.join(missing)}", folder)
            source = str(folder)
        try:
            pipeline = Pipeline.from_pretrained(source, token=token)
        except Exception as error:  # noqa: BLE001 - the hub client and pyannote raise many unrelated types
            hint = "" if token or folder.is_dir() else " (offline without a token: give a local folder or a token)"
            raise ModelError(f"cannot load pyannote pipeline {source!r}: {error}{hint}") from error
        if pipeline is None:
            raise ModelError(f"cannot load pyannote pipeline {source!r} (gated model: accept its "
                             "conditions on the hub and give a token)")
        return pipeline

    def embed(self, audio: np.ndarray) -> np.ndarray:
        """A voice embedding from the embedded diarizer's CAM++ model (loaded on first use)."""
        if self._voices is None:
            self._voices = EmbeddedDiarizer(device=self.device)
        return self._voices.embed(audio)

    def diarize(
        self, audio: np.ndarray, options: DiarizationOptions, progress: ProgressCallback | None = None
    ) -> list[Turn]:
        """Speaker turns of ``audio`` (16 kHz mono float32), labelled SPEAKER_00 … by first turn.

        ``progress`` hears pyannote's own hook: its segmentation, then its embedding batches (``passes``)."""
        import torch

        waveform = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
        if options.num_speakers is not None:
            constraints = {"num_speakers": options.num_speakers}
        else:
            constraints = {"min_speakers": options.min_speakers, "max_speakers": options.max_speakers}
        hook = _hook(passes(progress, len(audio) / SAMPLE_RATE, 2), len(audio) / SAMPLE_RATE)
        output = self.pipeline({"waveform": waveform, "sample_rate": SAMPLE_RATE}, hook=hook, **constraints)
        annotation = getattr(output, "exclusive_speaker_diarization", None)
        if annotation is None:
            annotation = getattr(output, "speaker_diarization", output)
        tracks = sorted((segment.start, segment.end, str(label))
                        for segment, _, label in annotation.itertracks(yield_label=True))
        names: dict[str, str] = {}
        for _, _, label in tracks:
            names.setdefault(label, speaker_id(len(names)))
        return [Turn(float(s), float(e), names[label]) for s, e, label in tracks if e > s]


def _hook(steps: list[ProgressCallback], duration: float) -> Callable[..., None]:
    """A pyannote pipeline hook, called ``hook(step, artifact, file=, total=, completed=)``: its
    "segmentation" chunks and "embeddings" batches done, as seconds of the two passes in ``steps``."""

    def hook(step: str, artifact: object, file: object = None, total: int | None = None,
             completed: int | None = None) -> None:  # fmt: skip
        at = {"segmentation": 0, "embeddings": 1}.get(step)
        if at is not None and total and completed is not None:
            steps[at](duration * completed / total)

    return hook


def segmentation_speaker_count(audio: np.ndarray, checkpoint: str | os.PathLike[str]) -> np.ndarray:
    """Speakers per 16.875-ms frame by pyannote.audio itself: its ``Inference`` on a segmentation
    checkpoint (e.g. ``models/pyannote/segmentation/pytorch_model.bin``; offline, in-memory audio, its
    default 1-s step) and its ``speaker_count`` aggregation. An independent check of the overlap
    diarizer's speech (count >= 1) and overlap (count >= 2) regions; needs the ``pyannote`` extra."""
    import torch

    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
    _torchaudio_without_extension()
    with _hub_offline(True):
        from pyannote.audio import Inference, Model
        from pyannote.audio.pipelines.utils import SpeakerDiarizationMixin

        model = Model.from_pretrained(str(checkpoint))
    if model is None:
        raise ModelError("cannot load the segmentation checkpoint", checkpoint)
    waveform = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
    segmentation = Inference(model, skip_aggregation=True)({"waveform": waveform, "sample_rate": SAMPLE_RATE})
    count = SpeakerDiarizationMixin.speaker_count(segmentation, model.receptive_field, warm_up=(0.0, 0.0))
    return count.data[:, 0].astype(int)


def turns_speaker_count(turns: list[Turn], frames: int) -> np.ndarray:
    """Speakers per segmentation frame (16.875 ms apart, at frame middles) in a list of turns."""
    middles = np.arange(frames) * SEG_FRAME_STEP + SEG_FRAME_DURATION / 2
    count = np.zeros(frames, dtype=int)
    for t in turns:
        count += (middles >= t.start) & (middles < t.end)
    return count
