"""Runs the stages: decode -> diarization -> ASR -> assignment -> names, with progress and a result cache.

Diarization comes first: its speaker turns are the clips Whisper reads, one speaker at a time
(``packing``); without a diarizer the engine finds speech with its own VAD.

Models are loaded once per Pipeline and reused across files. A finished stage's result is cached by
the audio's content hash and the stage's settings, so re-running with other output formats or
subtitle rules does not run any model again (nor decode the audio).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .asr import BACKENDS as ENGINE_BACKENDS
from .asr import ENGINES, ASREngine, ASROptions, ASRResult, load_engine
from .assign import AssignOptions, assign_speakers, relabel
from .audio import SAMPLE_RATE, load_audio, probe
from .devices import DEVICE_FORMS, check_device, cpu_threads, resolve_device, single_threaded_blas
from .diarization import BACKENDS as DIARIZER_BACKENDS
from .diarization import DEFAULT as DEFAULT_DIARIZER
from .diarization import DIARIZERS, SECONDS_PER_SPEAKER, DiarizationOptions, Diarizer, load_diarizer
from .errors import InputError, OptionError, PodscribeError
from .files import atomic_target, cache_dir
from .inputs import AudioInput, AudioSource, open_source
from .naming import name_key
from .options import check_choice, check_count, check_types, option
from .packing import Encoded, recognise_turns, speech_turns
from .transcript import Segment, Transcript, Turn, turn_from_dict
from .weights import weights_id

logger = logging.getLogger(__name__)

T = TypeVar("T")
ProgressCallback = Callable[[str, float, float], None]  # (stage, done seconds, total seconds)
# CTranslate2's quantisation choices (faster-whisper's compute_type).
COMPUTE_TYPES = ("default", "auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16",
                 "float16", "bfloat16", "float32")  # fmt: skip

CACHE_VERSION = 29  # bump when a stage's output changes for the same settings
_LOADS = {"asr": 0, "diarization": 0}  # models loaded by this process's Pipelines (see model_loads)


def model_loads() -> dict[str, int]:
    """How many times this process loaded an ASR model and a diarizer: a batch worker records it with each
    episode, so a run shows that each worker loaded its models once."""
    return dict(_LOADS)


@dataclass(frozen=True)
class PipelineOptions:
    """Everything that decides a transcript; the defaults run fully offline on the embedded models.

    Each field is declared once, here (and in ``ASROptions``, ``DiarizationOptions``): its default, its
    check (``__post_init__``) and, for the fields the command line offers, its flag and help in the
    field's metadata (``cli`` derives them).
    """

    model: str = option("base", "--model", "Whisper model name or local path (runs offline)")
    engine: str = option("faster-whisper", "--engine", "speech recogniser", choices=tuple(ENGINES))
    device: str = option("auto", "--device", f"where models run: {DEVICE_FORMS} (auto: CUDA when usable)",
                         metavar="DEVICE")  # fmt: skip
    cpu_threads: int | None = option(None, "--threads", "CPU threads (default: $OMP_NUM_THREADS, else one per "
                                     "usable core; one per batch worker)", metavar="N")  # fmt: skip
    compute_type: str | None = option(  # faster-whisper only
        None, "--compute-type", "faster-whisper quantisation: int8, float16, float32 ... (default int8 on CPU, "
        "float16 on CUDA)", metavar="TYPE",
    )  # fmt: skip
    # faster-whisper's WhisperModel(num_workers=): clip batches decoded at once on CPU, the threads shared
    # among them; at most one per thread, and only where clips are batched (speaker or VAD clips).
    num_workers: int | None = option(None, "--num-workers", "faster-whisper decoders at once on CPU, sharing "
                                     "the threads (default: one per thread)", metavar="N")  # fmt: skip
    asr: ASROptions = ASROptions()
    diarizer: str | None = option(  # None or "none": no diarization
        DEFAULT_DIARIZER, "--diarizer", "overlap (offline; overlapping speech, frame-precise boundaries, brief "
        "speakers), embedded (offline; less CPU, no overlap), pyannote (needs podscribe[pyannote]) or none",
        choices=(*DIARIZERS, "none"),
    )  # fmt: skip
    diarization: DiarizationOptions = DiarizationOptions()
    pyannote: str | None = option(None, "--pyannote", "local pyannote pipeline folder (or hub id with HF_TOKEN)",
                                  metavar="PATH")  # fmt: skip
    assign: AssignOptions = AssignOptions()
    speaker_names: tuple[str, ...] = ()
    reference: str | None = option(None, "--reference", "reference transcript: its names label the speakers",
                                   metavar="REF")  # fmt: skip
    voices: Mapping[str, str] = field(default_factory=dict)  # name -> voice sample file
    cache: bool = option(True, "--no-cache", "neither read nor write the result cache")
    audio_track: int = option(1, "--audio-track", "which audio track of a file to read, 2 the second (a "
                              "video may hold one per language)", metavar="N")  # fmt: skip
    # True: a tqdm bar per stage; a callable: called as progress(stage, done_s, total_s) for the
    # stages "decode", "diarization", "asr" and (podscribe.align) "alignment", in seconds of audio,
    # done_s growing from 0 to total_s in each (asr's total grows by speech decoded again); False: silent.
    progress: bool | ProgressCallback = False

    def __post_init__(self) -> None:
        for name in ("model", "pyannote", "reference"):  # paths may come as pathlib.Path
            if isinstance(getattr(self, name), os.PathLike):
                object.__setattr__(self, name, os.fspath(getattr(self, name)))
        check_types(self)
        check_choice(self, "engine", tuple(ENGINES))
        check_device(self.device)
        check_choice(self, "diarizer", (*DIARIZERS, "none", None))
        for name in ("cpu_threads", "num_workers", "audio_track"):
            check_count(self, name)
        if self.compute_type is not None and self.compute_type not in COMPUTE_TYPES:
            choices = ", ".join(COMPUTE_TYPES)
            raise OptionError(f"unknown compute_type {self.compute_type!r} (choose from: {choices})",
                              option="compute_type")  # fmt: skip
        for name in ("compute_type", "num_workers"):
            if getattr(self, name) is not None and self.engine != "faster-whisper":
                raise OptionError(f"{name} applies to the faster-whisper engine, not {self.engine}", option=name)
        if self.diarizer not in (None, "none") and not self.asr.vad:
            raise OptionError("vad=False needs diarizer=none: speaker turns decide what is decoded", option="vad")
        self._check_choices_used()
        if not (isinstance(self.progress, bool) or callable(self.progress)):
            raise OptionError(
                f"progress must be True, False or a callable (stage, done_s, total_s), not {self.progress!r}",
                option="progress",
            )


    def _check_choices_used(self) -> None:
        """Refuse options that the chosen diarizer would ignore: a run that exits 0 without them looks as
        if they were applied (``--pyannote`` with the default diarizer; speaker counts or names without
        speakers), and two speakers given one name."""
        if self.pyannote is not None and self.diarizer != "pyannote":
            chosen = self.diarizer or "none"
            raise OptionError(f"pyannote applies to diarizer=pyannote, not diarizer={chosen}",
                              option="pyannote")  # fmt: skip
        if self.diarizer in (None, "none"):
            unused = [(f.name, f.name) for f in fields(self.diarization)
                      if getattr(self.diarization, f.name) != f.default]  # fmt: skip
            unused += [("speaker_names", "speaker names")] * bool(self.speaker_names)
            unused += [("voices", "voice samples")] * bool(self.voices)
            if unused:
                name, said = unused[0]
                raise OptionError(f"{said}: no speakers are found with diarizer=none", option=name)
        written = Counter(name_key(n) for n in self.speaker_names)  # "Ann" = " ann"
        twice = [n for n in self.speaker_names if written[name_key(n)] > 1]
        if twice:
            raise OptionError(f"speaker names: {twice[0]!r} is given twice, each speaker needs a name of its "
                              "own", option="speaker_names")  # fmt: skip


class StageProgress:
    """One stage's progress in seconds of audio, to the user's callback, tqdm bars, or nowhere.

    Engines, diarizers and align call it with the seconds done (an ``audio.ProgressCallback``). It
    reports 0 when made and ``total`` when closed (not before: the work may ``grow``), so each stage is
    reported whole even where a model reports less, never less than it reported before (clips decoded
    out of order, windows that overlap), and each value once; one call at a time, though the engine's
    calls run in threads."""

    def __init__(self, progress: bool | ProgressCallback, stage: str, total: float) -> None:
        self.stage, self.total = stage, total
        self.done: float | None = None
        self._lock = threading.Lock()
        self.callback = ProgressBars() if progress is True else progress if callable(progress) else None
        self(0.0)

    def __call__(self, seconds: float) -> None:
        self._report(seconds, closing=False)

    def _report(self, seconds: float, closing: bool) -> None:
        with self._lock:
            most = self.total if closing else math.nextafter(self.total, 0.0)
            done = min(max(seconds, self.done or 0.0), most)
            if done != self.done:
                self.done = done
                if self.callback is not None:
                    self.callback(self.stage, done, self.total)

    def grow(self, seconds: float) -> None:
        """The stage has ``seconds`` more to do (ASR: stretches decoded again), reported on the next call."""
        with self._lock:
            self.total += seconds

    def close(self) -> None:
        """The stage is over: report it complete."""
        self._report(self.total, closing=True)


class ProgressBars:
    """What ``progress=True`` calls (the CLI's default, ``--quiet`` turns it off): a tqdm bar per
    stage on stderr, gone when the stage reports its total."""

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: float, total: float) -> None:
        from tqdm import tqdm

        if stage not in self.bars:
            self.bars[stage] = tqdm(
                total=round(total, 1), desc=stage, unit="s", leave=False, dynamic_ncols=True
            )
        bar = self.bars[stage]
        bar.total, bar.n = round(total, 1), round(done, 1)  # decoding learns its total at the end
        bar.refresh()
        if done >= total > 0:
            self.bars.pop(stage).close()


def _settings_key(**settings: Any) -> str:
    blob = json.dumps({"v": CACHE_VERSION, **settings}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _turns_from_cache(data: Any) -> list[Turn]:
    """Speaker turns of a diarization cache entry; ValueError/KeyError/TypeError when malformed."""
    if not isinstance(data, dict) or not isinstance(data.get("turns"), list):
        raise TypeError("not an object with a list of turns")
    return [turn_from_dict(t) for t in data["turns"]]


def _damage_from_cache(data: Any) -> str:
    """The warning of a damaged-input cache entry; TypeError when malformed."""
    if not isinstance(data, dict) or not isinstance(data.get("damage"), str):
        raise TypeError("not an object with a damage text")
    return data["damage"]


class _ResultCache:
    """JSON files under ``<cache>/results``, named by audio hash, stage and settings."""

    def __init__(self, enabled: bool) -> None:
        self.root = cache_dir() / "results" if enabled else None

    def _path(self, root: Path, audio_hash: str, stage: str, key: str) -> Path:
        return root / f"{audio_hash[:32]}-{stage}-{key}.json"

    def has(self, audio_hash: str, stage: str, key: str) -> bool:
        """Whether an entry exists (``get`` may still reject it)."""
        return self.root is not None and self._path(self.root, audio_hash, stage, key).is_file()

    def get(self, audio_hash: str, stage: str, key: str, parse: Callable[[Any], T]) -> T | None:
        """The entry parsed by ``parse``, or None on a miss. An entry ``parse`` rejects (ValueError,
        KeyError, TypeError: wrong shape, a field missing, a value not finite) is logged and removed,
        so the stage runs again and writes a good one."""
        if self.root is None:
            return None
        path = self._path(self.root, audio_hash, stage, key)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            return None
        try:
            return parse(json.loads(text))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            logger.warning("%s: bad result-cache entry (%s): removed, computing again", path, e)
            path.unlink(missing_ok=True)
            return None

    def put(self, audio_hash: str, stage: str, key: str, data: dict[str, Any]) -> None:
        if self.root is None:
            return
        try:
            with atomic_target(self._path(self.root, audio_hash, stage, key)) as tmp:
                tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        except OSError as e:  # a read-only or full cache must not fail the transcription
            logger.warning("result cache not written: %s", e)


class Pipeline:
    """Transcribe (and diarize) files with models loaded once and reused."""

    def __init__(self, options: PipelineOptions | None = None, **overrides: Any) -> None:
        """Models load on first use and serve every ``run``.

        Args:
            options: the ``PipelineOptions`` to run with (default: ``PipelineOptions()``, fully offline).
            **overrides: fields of ``PipelineOptions``, ``ASROptions`` or ``DiarizationOptions`` to change
                (``Pipeline(language="fr", num_speakers=3)``); an unknown name is an OptionError.
        """
        options = make_options(options, **overrides) if overrides or options is None else options
        self.options = o = replace(options, diarizer=None) if options.diarizer == "none" else options
        if o.device not in ("auto", "cpu"):  # a CUDA device the models' runtimes do not see fails now
            for backend in ([DIARIZER_BACKENDS[o.diarizer]] if o.diarizer else []) + [ENGINE_BACKENDS[o.engine]]:
                resolve_device(o.device, backend)
        self._engine: ASREngine | None = None
        self._diarizer: Diarizer | None = None
        self._loading = threading.Lock()  # runs in several threads load each model once
        self._weights_id: str | None = None
        self._cache = _ResultCache(options.cache)

    def with_options(self, **changes: Any) -> Pipeline:
        """This pipeline with some options changed (``language=``, ``num_speakers=``, ``reference=`` ...,
        as ``make_options`` takes them), sharing the models already loaded when the options that choose
        them are unchanged: a batch worker runs each episode's own settings on one set of models."""
        other = Pipeline(make_options(self.options, **changes))
        o, n = self.options, other.options
        if (o.engine, o.model, o.device, o.cpu_threads, o.compute_type, o.num_workers, o.asr.batch_size,
                o.diarizer) == (n.engine, n.model, n.device, n.cpu_threads, n.compute_type, n.num_workers,
                                n.asr.batch_size, n.diarizer):  # fmt: skip
            other._engine, other._weights_id = self._engine, self._weights_id
        if (o.diarizer, o.pyannote, o.device) == (n.diarizer, n.pyannote, n.device):
            other._diarizer = self._diarizer
        return other

    # ---- lazily loaded models -----------------------------------------------------------------
    @property
    def engine(self) -> ASREngine:
        with self._loading:
            return self._load_engine() if self._engine is None else self._engine

    def _load_engine(self) -> ASREngine:
        o = self.options
        kwargs: dict[str, Any] = {"cpu_threads": o.cpu_threads}
        if o.compute_type is not None:
            kwargs["compute_type"] = o.compute_type
        if (workers := self._engine_workers()) > 1:
            kwargs["workers"] = workers
        self._engine = load_engine(o.engine, o.model, device=o.device, **kwargs)
        _LOADS["asr"] += 1
        self._warn_unsampled()
        return self._engine

    def _warn_unsampled(self) -> None:
        """Say which decoding options batched faster-whisper leaves aside (it decodes at temperature 0 with
        no fallback and no previous text), where they were changed: they were accepted and ignored."""
        o, default = self.options, ASROptions()
        sequential = ("temperature", "condition_on_previous_text", "hallucination_silence_threshold")
        changed = [name for name in sequential if getattr(o.asr, name) != getattr(default, name)]
        if self._decodes_batched() and changed:
            logger.warning("%s: no effect in batched decoding (faster-whisper's, the default): give "
                           "batch_size=1 (--batch-size 1) to decode sequentially with it", ", ".join(changed))

    @property
    def diarizer(self) -> Diarizer:
        with self._loading:
            return self._load_diarizer() if self._diarizer is None else self._diarizer

    def _load_diarizer(self) -> Diarizer:
        o = self.options
        kwargs: dict[str, Any] = {"device": o.device}
        if o.diarizer == "pyannote":
            kwargs["path"] = o.pyannote
        self._diarizer = load_diarizer(o.diarizer or DEFAULT_DIARIZER, **kwargs)
        _LOADS["diarization"] += 1
        return self._diarizer

    # ---- stages ---------------------------------------------------------------------------------
    def check_weights(self) -> str:
        """Find and check the ASR weights (ModelError when unknown, missing or corrupt) and that the device
        runs their compute type (OptionError); their digest."""
        if self._weights_id is None:
            if self.options.engine == "faster-whisper":
                from .asr.faster_whisper import check_compute_type

                check_compute_type(self.options.device, self.options.compute_type)
            self._weights_id = weights_id(self.options.model, self.options.engine)
        return self._weights_id

    def _engine_workers(self) -> int:
        """Clip batches decoded at once when speaker (or speech) windows come as clips: ``num_workers``,
        at most one per CPU thread (default: one per thread); else 1."""
        o = self.options
        if self._decodes_batched():
            threads = cpu_threads(o.cpu_threads)
            return min(o.num_workers or threads, threads)
        return 1

    def _decodes_batched(self) -> bool:
        """Whether faster-whisper decodes clips in batches: speaker windows, or VAD speech regions."""
        o = self.options
        return o.engine == "faster-whisper" and o.asr.batch_size > 1 and bool(o.diarizer or o.asr.vad)

    def _asr_key(self) -> str:
        """Settings key of the ASR stage: the weights' content (not only their name) is part of it, and
        what changes the words: the quantisation and how many batches are decoded at once (they share
        the clips differently; a single-threaded batch worker cached words a 2-core run then read)."""
        o = self.options
        return _settings_key(
            engine=o.engine, model=o.model, weights=self.check_weights(), device=o.device, asr=asdict(o.asr),
            compute_type=o.compute_type, workers=self._engine_workers(),
        )

    def _diar_key(self) -> str:
        o = self.options
        return _settings_key(diarizer=o.diarizer, pyannote=o.pyannote, options=asdict(o.diarization))

    def recognise(
        self,
        audio: np.ndarray | Callable[[], np.ndarray],
        audio_hash: str | None = None,
        turns: list[Turn] | None = None,
        encoded: Callable[[Encoded], None] | None = None,
    ) -> tuple[ASRResult, float]:
        """ASR stage -> (result, audio duration); cached by audio hash and settings, decoding only on a miss.
        With ``encoded`` (it gets the windows' encoder outputs, ``packing.recognise_turns``) the audio is
        always decoded: a result read from the cache has none, and ``align`` would time words otherwise
        than on the first run (short.fr twice over: 75 of 182 words moved, by up to 0.59 s).

        With speaker ``turns``, Whisper reads one speaker at a time (``packing.recognise_turns``): it
        skips a muffled speaker when a clear one follows in the same window. Without them, a clip-packing
        engine reads the VAD's speech regions as the turns of one speaker (``packing.speech_turns``).
        """
        key = self._asr_entry(bool(turns))
        cached = None
        if audio_hash and encoded is None:
            cached = self._cache.get(audio_hash, "asr", key, Transcript.from_dict)
        if cached is not None:
            logger.info("speech recognition: cached result for these settings")
            return ASRResult(language=cached.language or "", segments=cached.segments), cached.duration
        samples = audio() if callable(audio) else audio
        duration = len(samples) / SAMPLE_RATE
        bar = StageProgress(self.options.progress, "asr", duration)
        # numpy's OpenBLAS on one thread while the engine decodes: faster-whisper's features (a mel matmul per
        # window) ran on both cores and those threads spun beside CTranslate2's own (BENCHMARKS.md, "BLAS
        # threads beside the ASR"). OpenBLAS only: an MKL may be the engine's own BLAS (torch builds). Here,
        # around all the stage's engine calls, not in the engine: its calls run at once in threads, and
        # overlapping limits would restore each other's thread counts mid-stage (runs in other threads too).
        try:
            with single_threaded_blas():
                if not turns and self._packs_vad_regions():
                    turns = speech_turns(samples)
                if turns:
                    result = recognise_turns(
                        self.engine, samples, turns, self.options.asr, progress=bar, encoded=encoded,
                        grow=bar.grow,
                    )  # fmt: skip
                else:
                    result = self.engine.transcribe(samples, self.options.asr, progress=bar)
        finally:
            bar.close()
        # What the cache holds (times rounded to the ms) is what this run uses too: a rerun served from
        # the cache then writes the same files as this one (the HTML page's duration differed).
        stored = Transcript(segments=result.segments, duration=duration, language=result.language).to_dict()
        if audio_hash:
            self._cache.put(audio_hash, "asr", key, stored)
        kept = Transcript.from_dict(stored)
        return ASRResult(language=result.language, segments=kept.segments), kept.duration

    def _asr_entry(self, turns: bool) -> str:
        """The result-cache key of the words, read with speaker turns or without."""
        return self._asr_key() + (f"-turns{self._diar_key()}" if turns else "")

    def _packs_vad_regions(self) -> bool:
        """Without speaker turns, batched faster-whisper reads VAD speech regions as one speaker's turns
        (openai-whisper reads the file with its own VAD regions, window by window)."""
        o = self.options
        return o.engine == "faster-whisper" and o.asr.vad and o.asr.batch_size > 1

    def diarize_audio(
        self, audio: np.ndarray | Callable[[], np.ndarray], audio_hash: str | None = None
    ) -> list[Turn]:
        """Diarization stage (cached like ``recognise``; ``audio`` may be a loader, called only on a miss)."""
        key = self._diar_key()
        if audio_hash and (hit := self._cache.get(audio_hash, "diar", key, _turns_from_cache)) is not None:
            logger.info("diarization: cached result for these settings")
            return hit
        with ThreadPoolExecutor(1) as pool:  # the diarizer loads while the audio decodes (ffmpeg's pipe)
            loading = pool.submit(lambda: self.diarizer)
            samples = audio() if callable(audio) else audio
            diarizer = loading.result()
        stage = StageProgress(self.options.progress, "diarization", len(samples) / SAMPLE_RATE)
        try:
            turns = diarizer.diarize(samples, self.options.diarization, progress=stage)
        finally:
            stage.close()
        if audio_hash:
            self._cache.put(audio_hash, "diar", key, {"turns": [asdict(t) for t in turns]})
        return turns

    def run(self, audio: AudioInput) -> Transcript:
        """Transcribe one input: words with timestamps, speakers and names as the options ask.

        Args:
            audio: a path, a binary file object, bytes, a numpy array of 16 kHz mono samples,
                ``(array, sample_rate)`` or a pydub ``AudioSegment`` (see ``podscribe.inputs``).
        """
        o = self.options
        source = open_source(audio, o.audio_track)  # typed errors for bad inputs before any model loads
        audio_hash = source.digest if o.cache else None  # the cache key of all computed from it
        samples = self.decoder(source)
        # The ASR model loads while the diarizer runs (0.4-0.9 s of a 20-s run here), unless the words
        # are cached already.
        preload = bool(o.diarizer) and self._engine is None and not (
            audio_hash and self._cache.has(audio_hash, "asr", self._asr_entry(turns=True))
        )
        with ThreadPoolExecutor(1) as pool:
            loading = pool.submit(lambda: self.engine) if preload else None
            raw = self.diarize_audio(samples, audio_hash) if o.diarizer else None
            if loading is not None:
                loading.result()  # a model that cannot load fails here, as it would have on first use
        if raw is not None:
            self.warn_speaker_count(raw, source.name)
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
            audio=source.path,
            turns=turns,
            audio_track=source.track,
        )
        named = self._name(transcript, samples if o.voices else None)  # may decode: voices are heard in it
        self.recall_damage(source, audio_hash)
        return named

    def recall_damage(self, source: AudioSource, audio_hash: str | None) -> None:
        """Keep a damaged input's warning (truncated, NaN samples) in the result cache, and repeat it when
        every stage was served from there: nothing was decoded, so nothing warned."""
        if not audio_hash:
            return
        if source.loaded:
            if source.damage:
                self._cache.put(audio_hash, "decode", "damage", {"damage": source.damage})
        elif damage := self._cache.get(audio_hash, "decode", "damage", _damage_from_cache):
            logger.warning("%s: %s", source.name, damage)

    def decoder(self, source: AudioSource) -> Callable[[], np.ndarray]:
        """``source``'s samples on demand (a stage served from the cache needs none), reporting the
        "decode" stage when they are decoded then."""

        def samples() -> np.ndarray:
            if source.loaded:
                return source.load()
            stage = StageProgress(self.options.progress, "decode", 0.0)
            decoded = source.load()
            stage.total = len(decoded) / SAMPLE_RATE
            stage.close()
            return decoded

        return samples

    def warn_speaker_count(self, turns: list[Turn], path: str | os.PathLike[str]) -> None:
        """Warn when more speakers were asked for than the speech can hold at SECONDS_PER_SPEAKER each:
        the diarizer then splits voices to reach the count (``--speakers 100`` on 20 s gave 18)."""
        d = self.options.diarization
        asked = d.num_speakers if d.num_speakers is not None else d.min_speakers
        speech = _speech_seconds(turns)
        supported = max(1, int(speech // SECONDS_PER_SPEAKER))
        if asked > supported:
            logger.warning(
                "%s: %d speakers asked for, but %.1f s of speech holds at most %d (about %.0f s each are "
                "needed to tell a voice apart): expect voices split into several speakers",
                path, asked, speech, supported, SECONDS_PER_SPEAKER,
            )

    def _name(self, transcript: Transcript, samples: Callable[[], np.ndarray] | None) -> Transcript:
        from .naming import match_voices, names_from_list, names_from_reference, speaker_centroids

        o = self.options
        sources: list[tuple[str, dict[str, str]]] = []  # later sources win (README, "Naming speakers")
        if o.reference:
            sources.append(("the reference", names_from_reference(transcript, o.reference)))
        if o.voices and samples is not None and transcript.turns:
            embed = self.diarizer.embed
            centroids = speaker_centroids(samples(), transcript.turns, embed)
            voices = {name: _voice_of(embed, p, name) for name, p in o.voices.items()}
            sources.append(("a voice sample", match_voices(centroids, voices)))
        if o.speaker_names:
            if len(o.speaker_names) != len(transcript.speakers):
                logger.warning("%d speaker names for the %d speakers found: names go by order of first "
                               "appearance", len(o.speaker_names), len(transcript.speakers))  # fmt: skip
            sources.append(("the list of names", names_from_list(transcript, o.speaker_names)))
        names = merged_names(sources)
        return transcript.with_names(names) if names else transcript


def merged_names(sources: Sequence[tuple[str, Mapping[str, str]]]) -> dict[str, str]:
    """Speaker names from several sources, a later one winning; said where two disagree on a speaker and
    where two speakers end with one name (both were silent: every line then read as one person's)."""
    names: dict[str, tuple[str, str]] = {}
    for source, given in sources:
        for speaker, name in given.items():
            if speaker in names and names[speaker][1] != name:
                before, said = names[speaker]
                logger.warning("%s: %s names it %r, %s %r: %r kept", speaker, before, said, source, name,
                               name)  # fmt: skip
            names[speaker] = (source, name)
    holders: dict[str, list[str]] = {}
    for speaker, (_, name) in names.items():
        holders.setdefault(name_key(name), []).append(speaker)
    for speakers in (s for s in holders.values() if len(s) > 1):
        logger.warning("speakers %s are all named %r", ", ".join(speakers), names[speakers[0]][1])
    return {speaker: name for speaker, (_, name) in names.items()}


def _voice_of(embed: Callable[[np.ndarray], np.ndarray], path: str, name: str) -> np.ndarray:
    """The voice embedding of ``name``'s sample; its errors name the sample file and the speaker (a
    sample without speech failed as "voice sample contains no speech", which of them unsaid)."""
    try:
        return embed(load_audio(path))
    except InputError as e:
        raise InputError(f"{e.cause} (the sample of {name!r})", path) from e


def _speech_seconds(turns: list[Turn]) -> float:
    """Seconds covered by at least one turn (overlaps counted once)."""
    total, end = 0.0, float("-inf")
    for t in sorted(turns):
        if t.end > end:
            total += t.end - max(t.start, end)
            end = t.end
    return total


def transcribe(
    audio: AudioInput,
    *,
    language: str | None = None,
    model: str | None = None,
    engine: str | None = None,
    device: str | None = None,
    diarizer: str | None = None,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    speaker_names: Sequence[str] | None = None,
    reference: str | None = None,
    voices: Mapping[str, str] | None = None,
    options: PipelineOptions | None = None,
    **more: Any,
) -> Transcript:
    """Transcribe one input with speakers: ``podscribe.transcribe("episode.mp3", language="fr")``.

    A keyword left at None keeps the value of ``options`` (default: ``PipelineOptions()``, fully offline).

    Args:
        audio: a path, a binary file object, bytes, a numpy array (16 kHz mono float32),
            ``(array, sample_rate)`` or a pydub ``AudioSegment``.
        language: language code or name (``"fr"``, ``"French"``, ``"français"``); None detects it.
        model: Whisper model name (``"base"``) or a local CTranslate2 folder / openai-whisper ``.pt``.
        engine: ``"faster-whisper"`` (default) or ``"openai-whisper"``.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        diarizer: ``"overlap"`` (default; turns may overlap), ``"embedded"``, ``"pyannote"`` or ``"none"``.
        num_speakers: exact speaker count; it must lie inside min_speakers..max_speakers (OptionError).
        min_speakers: fewest speakers the diarizer may find.
        max_speakers: most speakers the diarizer may find.
        speaker_names: display names for the speakers in order of first appearance (a list, or one string
            of names separated by commas).
        reference: a reference transcript (``Name : text``) whose names label the speakers.
        voices: display name -> voice sample file, to name speakers by their voice.
        options: a full ``PipelineOptions`` to start from.
        **more: any other field of ``PipelineOptions``, ``ASROptions`` (``beam_size=``, ``vad=`` ...)
            or ``DiarizationOptions``; an unknown name is an OptionError.

    Returns:
        The ``Transcript``: segments of one speaker each, every word timed and attributed.
    """
    given = dict(
        language=language, model=model, engine=engine, device=device, diarizer=diarizer,
        num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers,
        speaker_names=speaker_names, reference=reference, voices=voices,
    )  # fmt: skip
    return Pipeline(make_options(options, **{k: v for k, v in given.items() if v is not None}, **more)).run(audio)


def diarize(
    audio: AudioInput,
    *,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    diarizer: str | None = None,
    device: str | None = None,
    options: PipelineOptions | None = None,
    **more: Any,
) -> list[Turn]:
    """Speaker turns of one input, without speech recognition.

    Args:
        audio: any input ``transcribe`` accepts.
        num_speakers: exact speaker count; it must lie inside min_speakers..max_speakers (OptionError).
        min_speakers: fewest speakers to find.
        max_speakers: most speakers to find.
        diarizer: ``"overlap"`` (default; turns may overlap), ``"embedded"`` or ``"pyannote"``.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        options: a full ``PipelineOptions`` to start from.
        **more: other ``PipelineOptions`` / ``DiarizationOptions`` fields.

    Returns:
        Speaker turns sorted by start (they may overlap).
    """
    given = dict(
        num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers,
        diarizer=diarizer, device=device,
    )  # fmt: skip
    opts = make_options(options, **{k: v for k, v in given.items() if v is not None}, **more)
    if opts.diarizer in (None, "none"):  # "none" would otherwise fall back to the default diarizer
        raise OptionError("diarize needs a diarizer (overlap, embedded or pyannote)")
    source = open_source(audio, opts.audio_track)
    pipeline = Pipeline(opts)
    digest = source.digest if opts.cache else None
    turns = pipeline.diarize_audio(pipeline.decoder(source), digest)
    pipeline.recall_damage(source, digest)
    return turns


_ASR_FIELDS = set(ASROptions.__dataclass_fields__)
_DIAR_FIELDS = set(DiarizationOptions.__dataclass_fields__)
_PIPE_FIELDS = set(PipelineOptions.__dataclass_fields__)


def make_options(base: PipelineOptions | None = None, **options: Any) -> PipelineOptions:
    """``base`` (default ``PipelineOptions()``) with flat keyword options (``language=``,
    ``num_speakers=``, ``model=`` ...) replaced; OptionError naming any unknown one."""
    asr = {k: options.pop(k) for k in list(options) if k in _ASR_FIELDS}
    diar = {k: options.pop(k) for k in list(options) if k in _DIAR_FIELDS}
    unknown = set(options) - _PIPE_FIELDS
    if unknown:
        raise OptionError(f"unknown option(s): {', '.join(sorted(unknown))}")
    if "speaker_names" in options:
        names = options["speaker_names"] or ()
        names = names.split(",") if isinstance(names, str) else names  # "Ann, Bob" as the command's flag
        options["speaker_names"] = tuple(n.strip() if isinstance(n, str) else n for n in names)  # check_types
    for name, kind in (("asr", ASROptions), ("diarization", DiarizationOptions)):
        if name in options and not isinstance(options[name], kind):
            raise OptionError(f"{name} must be {kind.__name__}, not {options[name]!r}", option=name)
    base = base if base is not None else PipelineOptions()
    base_asr = options.pop("asr", base.asr)
    base_diar = options.pop("diarization", base.diarization)
    return replace(base, **options, asr=replace(base_asr, **asr), diarization=replace(base_diar, **diar))


NO_SPEECH = "no speech found (silence, music or noise only); nothing written"


def require_speech(transcript: Transcript, source: str) -> Transcript:
    """The transcript, or InputError when it holds no word (silence, music or noise only): nothing is
    written for such an input."""
    if not transcript.words:
        raise no_speech(source, transcript.audio_track)
    return transcript


def no_speech(source: str | os.PathLike[str], track: int = 1) -> InputError:
    """The error of an input without speech; of a file with several audio tracks, one that names the track
    read and the option that reads another (a video's first track may be silent, its speech in the second)."""
    tracks = 1
    if os.path.isfile(source):
        with contextlib.suppress(PodscribeError):
            tracks = probe(source).tracks
    if tracks < 2:
        return InputError(NO_SPEECH, source)
    read = f" in audio track {track} of {tracks} (--audio-track reads another)"
    return InputError(NO_SPEECH.replace("; nothing", f"{read}; nothing"), source)


def check_input(path: str | os.PathLike[str]) -> None:
    """Fail fast (before loading models) on a path that is missing or not a regular file."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", p)
    if not p.is_file():
        raise InputError("not a regular file", p)
