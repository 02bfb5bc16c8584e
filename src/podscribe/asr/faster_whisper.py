"""faster-whisper (CTranslate2) engine: int8 on CPU, float16 on CUDA, batched over speaker clips or VAD chunks.

With ``batch_size > 1`` and VAD on, ``BatchedInferencePipeline`` decodes VAD chunks of up to 30 s in
parallel (no temperature fallback, cross-window prompt or hallucination-silence check there; the shared
guardrails catch silence and loops); otherwise ``WhisperModel.transcribe`` decodes 30-s windows in
sequence. Given ``clips`` (e.g. speaker turns) are decoded each on their own instead of VAD chunks,
batched longest first, each batch with a token budget for its longest clip (``token_budget``): a
batch runs until its last clip ends, and a repetition loop otherwise runs to Whisper's 224-token limit.
On CPU, ``workers`` > 1 decodes that many clip batches at once, one thread each: one decoder step of a
small model is many small operations that two threads share badly, and a batch's last long clip no
longer idles a core (measured: BENCHMARKS.md, "Tuning notes").
Word timestamps are always on: the rest of podscribe works on words.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any, TypeVar

import numpy as np

from .. import devices
from ..audio import SAMPLE_RATE
from ..errors import ModelError, OptionError
from . import ASROptions, ASRResult, Clips, ProgressCallback
from .common import build_segments, first_line

logger = logging.getLogger(__name__)
T = TypeVar("T")

COMPUTE_TYPES = {"cpu": "int8", "cuda": "float16"}
WINDOW_TOKENS = 224  # Whisper's own limit on the tokens decoded for one 30-s window
TOKENS_PER_S = 10.0  # a clip's token budget: this many per second of it...
TOKENS_BASE = 16  # ...plus this many (timestamp and end tokens weigh more in a short clip)


def token_budget(seconds: float) -> int | None:
    """Most tokens a clip of ``seconds`` may decode; None where Whisper's own limit is the lower one.

    A repetition loop runs on to 224 tokens whatever the clip's length; speech stays well under this
    budget (measured: BENCHMARKS.md, "Tuning notes").
    """
    budget = math.ceil(TOKENS_BASE + TOKENS_PER_S * seconds)
    return budget if budget < WINDOW_TOKENS else None


def balanced_batches(ordered: Sequence[T], size: int, workers: int) -> list[list[T]]:
    """``ordered`` cut into runs of at most ``size``, as many as a multiple of ``workers``, lengths
    differing by one at most: 10 windows for 2 workers of 4 were batches of 4, 4 and 2, and one core
    idled through the last; now 3, 3, 2, 2."""
    count = workers * math.ceil(len(ordered) / (size * workers))
    sizes = [len(ordered) // count + (i < len(ordered) % count) for i in range(count)]
    cuts = list(itertools.accumulate(sizes, initial=0))
    return [list(ordered[a:b]) for a, b in itertools.pairwise(cuts) if b > a]


class FasterWhisperEngine:
    """A Whisper model loaded in CTranslate2 through faster-whisper."""

    name = "faster-whisper"
    packs_clips = True

    def __init__(
        self,
        model: str,
        device: str = "auto",
        compute_type: str | None = None,
        cpu_threads: int | None = None,
        workers: int = 1,
    ) -> None:
        """``workers``: clip batches decoded at once on CPU, sharing the ``cpu_threads`` (one each when
        they are as many); VAD-chunked and sequential decoding use one worker, so keep 1 for those."""
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        from ..weights import resolve_ct2

        self.model_name = model
        self.device = devices.resolve_device(device, "ctranslate2")
        self.compute_type = compute_type or COMPUTE_TYPES[self.device]
        path = resolve_ct2(model)
        if workers < 1:
            raise OptionError(f"workers must be at least 1, not {workers}")
        threads = devices.cpu_threads(cpu_threads)
        self.workers = min(workers, threads) if self.device == "cpu" else 1
        try:
            self.model = WhisperModel(
                str(path),
                device=self.device,
                compute_type=self.compute_type,
                cpu_threads=threads // self.workers,  # workers <= threads on CPU, 1 on CUDA
                num_workers=self.workers,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as e:
            raise ModelError(f"faster-whisper cannot load it: {first_line(e)}", path) from e
        self._pipeline = BatchedInferencePipeline  # one per call: it keeps per-call state
        logger.info("loaded %s (%s) on %s as %s", model, path, self.device, self.compute_type)

    def transcribe(
        self,
        audio: np.ndarray,
        options: ASROptions,
        progress: ProgressCallback | None = None,
        clips: Clips | None = None,
    ) -> ASRResult:
        """Recognise 16 kHz mono float32 ``audio``: segments of words with times in seconds."""
        duration = len(audio) / SAMPLE_RATE
        common = {
            "language": options.language,
            "beam_size": options.beam_size,
            "temperature": list(options.temperature),
            "compression_ratio_threshold": options.compression_ratio_threshold,
            "log_prob_threshold": options.log_prob_threshold,
            "no_speech_threshold": options.no_speech_threshold,
            "condition_on_previous_text": options.condition_on_previous_text,
            "initial_prompt": options.initial_prompt,
            "word_timestamps": True,
            # Given clips (e.g. speaker turns) are decoded exactly: no VAD merging across them.
            "vad_filter": options.vad and not clips,
        }
        if options.batch_size > 1 and clips:
            raw, info = self._batched_clips(audio, clips, options.batch_size, common, progress)
        else:
            if options.batch_size > 1 and options.vad:
                pieces, info = self._batch(audio, None, options.batch_size, common)
            else:
                if clips:
                    common["clip_timestamps"] = [t for clip in clips for t in clip]
                if options.batch_size > 1:
                    logger.info("batched decoding works on VAD chunks; without VAD, decoding sequentially")
                pieces, info = self.model.transcribe(
                    audio, hallucination_silence_threshold=options.hallucination_silence_threshold, **common
                )
            raw = []
            for seg in pieces:  # lazy: decoding happens while iterating
                raw.append(asdict(seg))
                if progress is not None:
                    progress(min(seg.end, duration))
        if progress is not None:
            progress(duration)
        segments = build_segments(raw, duration, options, info.language)
        # Without words, a detected language is a guess from silence or padding: claim none.
        return ASRResult(language=options.language or (info.language if segments else ""), segments=segments)

    def detect_languages(self, speeches: Sequence[np.ndarray]) -> list[str]:
        """Language code of the first 30 s of each of ``speeches`` (one encoder pass each), on all the
        workers at once: one worker's single thread detecting speaker after speaker left the other core
        idle (a 5-voice conversation: 5 encoder passes in a row)."""

        def detect(speech: np.ndarray) -> str:
            language, probability, _ = self.model.detect_language(speech[: 30 * SAMPLE_RATE])
            logger.info("detected language %s (p=%.2f)", language, probability)
            return language

        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(detect, speeches))

    def _batched_clips(
        self,
        audio: np.ndarray,
        clips: Clips,
        batch_size: int,
        common: dict[str, Any],
        progress: ProgressCallback | None,
    ) -> tuple[list[dict[str, Any]], Any]:
        """Batched decoding of ``clips``, longest first, one call per batch -> segments in time order.

        Clips of like length share a batch, so a batch of short clips gets a short token budget. One
        call per batch also bounds memory: faster-whisper copies the audio and features of a call's
        clips. ``batch_size`` clips are in flight at once, shared among the workers: small batches,
        longest first, keep both cores busy to the end (BENCHMARKS.md, "Tuning notes"). When no
        language is forced, the first batch is decoded alone
        and the language it finds is forced on the rest.
        """
        ordered = sorted(clips, key=lambda c: c[1] - c[0], reverse=True)
        batches = balanced_batches(ordered, max(1, batch_size // self.workers), self.workers)
        settings = dict(common)

        def decode(batch: list[tuple[float, float]]) -> tuple[list[dict[str, Any]], Any]:
            budget = token_budget(max(end - start for start, end in batch))
            pieces, info = self._batch(audio, batch, len(batch), {**settings, "max_new_tokens": budget})
            return [asdict(seg) for seg in pieces], info  # decoding happens here, in this worker's thread

        raw: list[dict[str, Any]] = []
        done = 0.0
        first: Any = None
        with ThreadPoolExecutor(self.workers) as pool:
            if settings["language"] is None:
                segments, first = decode(batches[0])
                settings["language"] = first.language
                raw.extend(segments)
                batches, done = batches[1:], sum(end - start for start, end in batches[0])
            for batch, (segments, info) in zip(batches, pool.map(decode, batches)):
                raw.extend(segments)
                first = first or info
                done += sum(end - start for start, end in batch)
                if progress is not None:
                    progress(done)
        raw.sort(key=lambda seg: seg["start"])
        return raw, first

    def _batch(
        self, audio: np.ndarray, clips: list[tuple[float, float]] | None, batch_size: int, common: dict[str, Any]
    ) -> tuple[Iterator[Any], Any]:
        """One batched call over ``clips``, or over VAD chunks when None."""
        if clips is not None:
            common = {**common, "clip_timestamps": [{"start": s, "end": e} for s, e in clips]}
        # With timestamp tokens: without them greedy decoding stops early (BENCHMARKS.md, "Tuning notes").
        pipeline = self._pipeline(self.model)
        return pipeline.transcribe(audio, batch_size=batch_size, without_timestamps=False, **common)
