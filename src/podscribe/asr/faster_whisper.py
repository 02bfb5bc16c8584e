"""faster-whisper (CTranslate2) engine: int8 on CPU, float16 on CUDA, batched over VAD chunks.

With ``batch_size > 1`` and VAD on, ``BatchedInferencePipeline`` decodes VAD chunks of up to 30 s in
parallel (no temperature fallback, cross-window prompt or hallucination-silence check there; the shared
guardrails catch silence and loops); otherwise ``WhisperModel.transcribe`` decodes 30-s windows in
sequence. Given ``clips`` (e.g. speaker turns) are decoded each on their own instead of VAD chunks,
batched longest first, each batch with a token budget for its longest clip (``token_budget``): a
batch runs until its last clip ends, and a repetition loop otherwise runs to Whisper's 224-token limit.
Word timestamps are always on: the rest of podscribe works on words.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import numpy as np

from .. import devices
from ..audio import SAMPLE_RATE
from ..errors import ModelError
from . import ASROptions, ASRResult, Clips, ProgressCallback
from .common import build_segments, first_line

logger = logging.getLogger(__name__)

COMPUTE_TYPES = {"cpu": "int8", "cuda": "float16"}
WINDOW_TOKENS = 224  # Whisper's own limit on the tokens decoded for one 30-s window
TOKENS_PER_S = 10.0  # a clip's token budget: this many per second of it...
TOKENS_BASE = 16  # ...plus this many (timestamp and end tokens weigh more in a short clip)


def token_budget(seconds: float) -> int | None:
    """Most tokens a clip of ``seconds`` may decode; None where Whisper's own limit is the lower one.

    Measured over the 99 windows without a repetition loop of the ten fixtures' first passes: at most
    4 tokens over 10 per second (25 for a 2.1-s clip), at most 8.6 per second for clips over 10 s; a
    loop runs on to 224 tokens whatever the clip's length (224 for a 3.1-s clip seen).
    """
    budget = math.ceil(TOKENS_BASE + TOKENS_PER_S * seconds)
    return budget if budget < WINDOW_TOKENS else None


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
    ) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        from ..weights import resolve_ct2

        self.model_name = model
        self.device = devices.resolve_device(device, "ctranslate2")
        self.compute_type = compute_type or COMPUTE_TYPES[self.device]
        path = resolve_ct2(model)
        try:
            self.model = WhisperModel(
                str(path),
                device=self.device,
                compute_type=self.compute_type,
                cpu_threads=devices.cpu_threads(cpu_threads),
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as e:
            raise ModelError(f"faster-whisper cannot load it: {first_line(e)}", path) from None
        self.batched = BatchedInferencePipeline(self.model)
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
        clips. The language found in the first batch (when none is forced) is forced on the next ones.
        """
        ordered = sorted(clips, key=lambda c: c[1] - c[0], reverse=True)
        settings = dict(common)
        raw: list[dict[str, Any]] = []
        info: Any = None
        done = 0.0
        for i in range(0, len(ordered), batch_size):
            batch = ordered[i : i + batch_size]
            budget = token_budget(max(end - start for start, end in batch))
            pieces, found = self._batch(audio, batch, batch_size, {**settings, "max_new_tokens": budget})
            raw.extend(asdict(seg) for seg in pieces)
            info = info or found
            settings["language"] = settings["language"] or found.language
            done += sum(end - start for start, end in batch)
            if progress is not None:
                progress(done)
        raw.sort(key=lambda seg: seg["start"])
        return raw, info

    def _batch(
        self, audio: np.ndarray, clips: list[tuple[float, float]] | None, batch_size: int, common: dict[str, Any]
    ) -> tuple[Iterator[Any], Any]:
        """One batched call over ``clips``, or over VAD chunks when None."""
        if clips is not None:
            common = {**common, "clip_timestamps": [{"start": s, "end": e} for s, e in clips]}
        # With timestamp tokens: measured, greedy decoding without them stopped after the first
        # sentence of a 28-s chunk that had a pause in it (3 words of 105).
        return self.batched.transcribe(audio, batch_size=batch_size, without_timestamps=False, **common)
