"""Runs the stages: decode -> ASR -> diarization -> assignment -> names, with progress and a result cache.

Models are loaded once per Pipeline and reused across files. A finished stage's result is cached by
the audio's content hash and the stage's settings, so re-running with other output formats or
subtitle rules does not run any model again (nor decode the audio).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .asr import ASREngine, ASROptions, ASRResult, load_engine
from .assign import AssignOptions, assign_speakers, relabel
from .audio import SAMPLE_RATE, load_audio, probe
from .devices import cpu_threads
from .diarization import DiarizationOptions, Diarizer, load_diarizer
from .errors import InputError, OptionError
from .packing import recognise_turns, speech_turns
from .transcript import Segment, Transcript, Turn
from .weights import cache_dir

logger = logging.getLogger(__name__)

CACHE_VERSION = 8  # bump when a stage's output changes for the same settings


@dataclass(frozen=True)
class PipelineOptions:
    """Everything that decides a transcript; the defaults run fully offline on the embedded models."""

    model: str = "base"
    engine: str = "faster-whisper"
    device: str = "auto"
    asr: ASROptions = ASROptions()
    diarizer: str | None = "embedded"  # None: no diarization
    diarization: DiarizationOptions = DiarizationOptions()
    pyannote: str | None = None  # local pyannote pipeline folder or hub id
    assign: AssignOptions = AssignOptions()
    speaker_names: tuple[str, ...] = ()
    reference: str | None = None  # reference transcript whose names label the speakers
    voices: Mapping[str, str] = field(default_factory=dict)  # name -> voice sample file
    cache: bool = True
    progress: bool = False


class _Progress:
    """A tqdm bar over seconds of audio, or nothing when progress is off."""

    def __init__(self, enabled: bool, total: float, desc: str) -> None:
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=round(total, 1), desc=desc, unit="s", leave=False, dynamic_ncols=True)

    def __call__(self, seconds: float) -> None:
        if self.bar is not None:
            self.bar.n = round(min(seconds, self.bar.total), 1)
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def file_hash(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's content (the cache key of everything computed from it)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _settings_key(**settings: Any) -> str:
    blob = json.dumps({"v": CACHE_VERSION, **settings}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


class _ResultCache:
    """JSON files under ``<cache>/results``, named by audio hash, stage and settings."""

    def __init__(self, enabled: bool) -> None:
        self.root = cache_dir() / "results" if enabled else None

    def get(self, audio_hash: str, stage: str, key: str) -> dict[str, Any] | None:
        if self.root is None:
            return None
        path = self.root / f"{audio_hash[:32]}-{stage}-{key}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, audio_hash: str, stage: str, key: str, data: dict[str, Any]) -> None:
        if self.root is None:
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            path = self.root / f"{audio_hash[:32]}-{stage}-{key}.json"
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as e:  # a read-only cache must not fail the transcription
            logger.warning("result cache not written: %s", e)


class Pipeline:
    """Transcribe (and diarize) files with models loaded once and reused."""

    def __init__(self, options: PipelineOptions = PipelineOptions()) -> None:
        if options.diarizer not in (None, "none") and options.diarization.num_speakers is not None:
            if options.diarization.num_speakers < 1:
                raise OptionError("--speakers must be at least 1")
        d = options.diarization
        if d.min_speakers < 1 or d.max_speakers < d.min_speakers:
            raise OptionError(f"bad speaker range: min {d.min_speakers}, max {d.max_speakers}")
        if options.diarizer == "none":
            options = replace(options, diarizer=None)
        self.options = options
        self._engine: ASREngine | None = None
        self._diarizer: Diarizer | None = None
        self._cache = _ResultCache(options.cache)

    # ---- lazily loaded models -----------------------------------------------------------------
    @property
    def engine(self) -> ASREngine:
        if self._engine is None:
            o = self.options
            kwargs: dict[str, Any] = {}
            if o.engine == "faster-whisper" and o.asr.batch_size > 1 and (o.diarizer or o.asr.vad):
                # Speaker (or speech) windows come as clips: decode as many batches at once as there are cores.
                kwargs["workers"] = cpu_threads()
            self._engine = load_engine(o.engine, o.model, device=o.device, **kwargs)
        return self._engine

    @property
    def diarizer(self) -> Diarizer:
        if self._diarizer is None:
            o = self.options
            kwargs: dict[str, Any] = {"device": o.device}
            if o.diarizer == "pyannote":
                kwargs["path"] = o.pyannote
            self._diarizer = load_diarizer(o.diarizer or "embedded", **kwargs)
        return self._diarizer

    # ---- stages ---------------------------------------------------------------------------------
    def _asr_key(self) -> str:
        o = self.options
        model_id = o.model if not os.path.exists(o.model) else f"{os.path.abspath(o.model)}@{os.path.getmtime(o.model)}"
        return _settings_key(engine=o.engine, model=model_id, device=o.device, asr=asdict(o.asr))

    def _diar_key(self) -> str:
        o = self.options
        return _settings_key(diarizer=o.diarizer, pyannote=o.pyannote, options=asdict(o.diarization))

    def recognise(
        self,
        audio: np.ndarray | Callable[[], np.ndarray],
        audio_hash: str | None = None,
        turns: list[Turn] | None = None,
    ) -> tuple[ASRResult, float]:
        """ASR stage -> (result, audio duration); cached by audio hash and settings, decoding only on a miss.

        With speaker ``turns``, Whisper reads one speaker at a time (``packing.recognise_turns``): it
        skips a muffled speaker when a clear one follows in the same window. Without them, a clip-packing
        engine reads the VAD's speech regions as the turns of one speaker (``packing.speech_turns``).
        """
        key = self._asr_key() + (f"-turns{self._diar_key()}" if turns else "")
        if audio_hash and (hit := self._cache.get(audio_hash, "asr", key)) is not None:
            logger.info("speech recognition: cached result for these settings")
            cached = Transcript.from_dict(hit)
            return ASRResult(language=cached.language or "", segments=cached.segments), cached.duration
        samples = audio() if callable(audio) else audio
        duration = len(samples) / SAMPLE_RATE
        bar = _Progress(self.options.progress, duration, "transcribing")
        try:
            if not turns and self._packs_vad_regions():
                turns = speech_turns(samples)
            if turns:
                result = recognise_turns(self.engine, samples, turns, self.options.asr, progress=bar)
            else:
                result = self.engine.transcribe(samples, self.options.asr, progress=bar)
        finally:
            bar.close()
        if audio_hash:
            t = Transcript(segments=result.segments, duration=duration, language=result.language)
            self._cache.put(audio_hash, "asr", key, t.to_dict())
        return result, duration

    def _packs_vad_regions(self) -> bool:
        """Without speaker turns, a clip-packing engine reads VAD speech regions as one speaker's turns."""
        return self.engine.packs_clips and self.options.asr.vad and self.options.asr.batch_size > 1

    def diarize_audio(
        self, audio: np.ndarray | Callable[[], np.ndarray], audio_hash: str | None = None
    ) -> list[Turn]:
        """Diarization stage (cached like ``recognise``; ``audio`` may be a loader, called only on a miss)."""
        key = self._diar_key()
        if audio_hash and (hit := self._cache.get(audio_hash, "diar", key)) is not None:
            logger.info("diarization: cached result for these settings")
            return [Turn(t["start"], t["end"], t["speaker"]) for t in hit["turns"]]
        turns = self.diarizer.diarize(audio() if callable(audio) else audio, self.options.diarization)
        if audio_hash:
            self._cache.put(audio_hash, "diar", key, {"turns": [asdict(t) for t in turns]})
        return turns

    def run(self, path: str | os.PathLike[str]) -> Transcript:
        """Transcribe one file: words with timestamps, speakers and names as the options ask."""
        o = self.options
        probe(path)  # typed errors for missing, empty or non-audio files before any model loads
        audio_hash = file_hash(path) if o.cache else None
        audio: np.ndarray | None = None

        def samples() -> np.ndarray:
            nonlocal audio
            if audio is None:
                audio = load_audio(path)
            return audio

        raw = self.diarize_audio(samples, audio_hash) if o.diarizer else None
        result, duration = self.recognise(samples, audio_hash, raw)
        segments: tuple[Segment, ...] = result.segments
        turns: tuple[Turn, ...] = ()
        if raw is not None:
            segments, turns = relabel(assign_speakers(segments, raw, o.assign), raw)

        transcript = Transcript(
            segments=segments,
            duration=duration,
            language=result.language or None,
            model=f"{o.engine}/{o.model}",
            audio=os.fspath(path),
            turns=turns,
        )
        return self._name(transcript, samples if o.voices else None)

    def _name(self, transcript: Transcript, samples: Callable[[], np.ndarray] | None) -> Transcript:
        from . import naming

        o = self.options
        names: dict[str, str] = {}
        if o.reference:
            names.update(naming.names_from_reference(transcript, o.reference))
        if o.voices and samples is not None and transcript.turns:
            from .audio import load_audio as load
            from .diarization.embedded import EmbeddedDiarizer

            embedder = self._diarizer if isinstance(self._diarizer, EmbeddedDiarizer) else EmbeddedDiarizer()
            centroids = naming.speaker_centroids(samples(), transcript.turns, embedder.embed)
            voices = {name: embedder.embed(load(p)) for name, p in o.voices.items()}
            names.update(naming.match_voices(centroids, voices))
        if o.speaker_names:
            names.update(naming.names_from_list(transcript, o.speaker_names))
        return transcript.with_names(names) if names else transcript


def transcribe(path: str | os.PathLike[str], **options: Any) -> Transcript:
    """Transcribe one file with default or given options (see PipelineOptions; ASR fields accepted too).

    Example: ``podscribe.transcribe("episode.mp3", language="fr", num_speakers=3)``.
    """
    return Pipeline(make_options(**options)).run(path)


def diarize(path: str | os.PathLike[str], **options: Any) -> list[Turn]:
    """Speaker turns of one file, without speech recognition."""
    opts = make_options(**options)
    if opts.diarizer is None:
        raise OptionError("diarize needs a diarizer (embedded or pyannote)")
    return Pipeline(opts).diarize_audio(load_audio(path))


_ASR_FIELDS = set(ASROptions.__dataclass_fields__)
_DIAR_FIELDS = set(DiarizationOptions.__dataclass_fields__)
_PIPE_FIELDS = set(PipelineOptions.__dataclass_fields__)


def make_options(**options: Any) -> PipelineOptions:
    """Flat keyword options (``language=``, ``num_speakers=``, ``model=`` ...) -> PipelineOptions."""
    asr = {k: options.pop(k) for k in list(options) if k in _ASR_FIELDS}
    diar = {k: options.pop(k) for k in list(options) if k in _DIAR_FIELDS}
    unknown = set(options) - _PIPE_FIELDS
    if unknown:
        raise OptionError(f"unknown option(s): {', '.join(sorted(unknown))}")
    if "speaker_names" in options:
        options["speaker_names"] = tuple(options["speaker_names"] or ())
    base_asr = options.pop("asr", ASROptions())
    base_diar = options.pop("diarization", DiarizationOptions())
    return PipelineOptions(**options, asr=replace(base_asr, **asr), diarization=replace(base_diar, **diar))


def check_input(path: str | os.PathLike[str]) -> None:
    """Fail fast (before loading models) on a path that is missing or not a regular file."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", p)
    if not p.is_file():
        raise InputError("not a regular file", p)
