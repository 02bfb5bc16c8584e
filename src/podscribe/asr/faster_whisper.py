"""faster-whisper (CTranslate2) engine: int8 on CPU, float16 on CUDA, batched over VAD chunks.

With ``batch_size > 1`` and VAD on, ``BatchedInferencePipeline`` decodes VAD chunks of up to 30 s in
parallel (no temperature fallback, cross-window prompt or hallucination-silence check there; the shared
guardrails catch silence and loops); otherwise ``WhisperModel.transcribe`` decodes 30-s windows in
sequence. Given ``clips`` (e.g. speaker turns) are decoded each on their own instead of VAD chunks.
Word timestamps are always on: the rest of podscribe works on words.
"""

from __future__ import annotations

import itertools
import logging
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
CLIP_GROUP_S = 600.0  # seconds of audio spanned by the clips of one batched call (bounds its memory)


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
            pieces, info = self._batched_clips(audio, clips, options.batch_size, common)
        elif options.batch_size > 1 and options.vad:
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
        self, audio: np.ndarray, clips: Clips, batch_size: int, common: dict[str, Any]
    ) -> tuple[Iterator[Any], Any]:
        """Batched decoding of ``clips``, a group of at most CLIP_GROUP_S seconds of them per call.

        faster-whisper copies the audio of every clip of a call and its features before decoding, so
        one call for a 3-hour file would hold about twice the audio again; groups bound that. The
        language found in the first group (when none is forced) is forced on the next ones.
        """
        groups: list[list[tuple[float, float]]] = [[]]
        for start, end in clips:
            if groups[-1] and end - groups[-1][0][0] > CLIP_GROUP_S:
                groups.append([])
            groups[-1].append((start, end))
        first, info = self._batch(audio, groups[0], batch_size, common)
        settings = {**common, "language": common["language"] or info.language}
        rest = (seg for group in groups[1:] for seg in self._batch(audio, group, batch_size, settings)[0])
        return itertools.chain(first, rest), info

    def _batch(
        self, audio: np.ndarray, clips: list[tuple[float, float]] | None, batch_size: int, common: dict[str, Any]
    ) -> tuple[Iterator[Any], Any]:
        """One batched call over ``clips``, or over VAD chunks when None."""
        if clips is not None:
            common = {**common, "clip_timestamps": [{"start": s, "end": e} for s, e in clips]}
        # With timestamp tokens: measured, greedy decoding without them stopped after the first
        # sentence of a 28-s chunk that had a pause in it (3 words of 105).
        return self.batched.transcribe(audio, batch_size=batch_size, without_timestamps=False, **common)
