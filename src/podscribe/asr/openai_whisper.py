"""openai-whisper (PyTorch) engine: fp32 on CPU, fp16 on CUDA.

openai-whisper has no VAD of its own: with ``options.vad`` the Silero VAD bundled with faster-whisper
finds the speech, and only those regions are decoded (``clip_timestamps``), so silence and music give
no text here either; the language is then detected on speech, as faster-whisper does.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import types
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import devices
from ..audio import SAMPLE_RATE
from ..errors import ModelError
from . import ASROptions, ASRResult, Clips, ProgressCallback
from .common import build_segments

logger = logging.getLogger(__name__)


class OpenAIWhisperEngine:
    """A Whisper model loaded in PyTorch through openai-whisper."""

    name = "openai-whisper"

    def __init__(self, model: str, device: str = "auto", cpu_threads: int | None = None) -> None:
        import torch
        import whisper

        from ..weights import resolve_openai

        self.model_name = model
        self.device = devices.resolve_device(device, "torch")
        self.threads = devices.cpu_threads(cpu_threads)
        path = resolve_openai(model)
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
            self.model = whisper.model.Whisper(whisper.model.ModelDimensions(**checkpoint["dims"]))
            self.model.load_state_dict(checkpoint["model_state_dict"])
        except (RuntimeError, KeyError, TypeError, OSError, EOFError) as e:
            raise ModelError(f"openai-whisper cannot load it: {e}", path) from None
        heads = checkpoint.get("alignment_heads", whisper._ALIGNMENT_HEADS.get(model))
        if heads is None:
            logger.warning("%s: no alignment heads; word timestamps use the last half of the decoder", path)
        else:
            self.model.set_alignment_heads(heads)
        self.model.to(self.device)
        del checkpoint
        logger.info("loaded %s (%s) on %s", model, path, self.device)

    def transcribe(
        self,
        audio: np.ndarray,
        options: ASROptions,
        progress: ProgressCallback | None = None,
        clips: Clips | None = None,
    ) -> ASRResult:
        """Recognise 16 kHz mono float32 ``audio``: segments of words with times in seconds."""
        import torch
        import whisper

        duration = len(audio) / SAMPLE_RATE
        language = options.language
        clips: list[float] = []
        if options.vad or clips:
            speech = [{"start": int(s * SAMPLE_RATE), "end": int(e * SAMPLE_RATE)} for s, e in clips or ()]
            speech = speech or _speech_regions(audio)
            if not speech:
                logger.info("no speech found by VAD in %.1f s of audio", duration)
                if progress is not None:
                    progress(duration)
                return ASRResult(language=language or "", segments=())
            clips = [t / SAMPLE_RATE for region in speech for t in (region["start"], region["end"])]
            if language is None:
                language = self._detect_language(np.concatenate([audio[r["start"] : r["end"]] for r in speech]))
        if self.device == "cpu":
            torch.set_num_threads(self.threads)
        with _tqdm_progress(progress):
            result = whisper.transcribe(
                self.model,
                audio,
                verbose=None,
                temperature=options.temperature,
                compression_ratio_threshold=options.compression_ratio_threshold,
                logprob_threshold=options.log_prob_threshold,
                no_speech_threshold=options.no_speech_threshold,
                condition_on_previous_text=options.condition_on_previous_text,
                initial_prompt=options.initial_prompt,
                word_timestamps=True,
                clip_timestamps=clips or "0",
                hallucination_silence_threshold=options.hallucination_silence_threshold,
                language=language,
                beam_size=options.beam_size if options.beam_size > 1 else None,
                fp16=self.device == "cuda",
            )
        if progress is not None:
            progress(duration)
        segments = build_segments(result["segments"], duration, options, result["language"])
        return ASRResult(language=result["language"], segments=segments)

    def _detect_language(self, speech: np.ndarray) -> str:
        """Language of the first 30 s of speech (openai-whisper would look at the first 30 s of the file)."""
        import torch
        import whisper

        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(speech), self.model.dims.n_mels)
        dtype = torch.float16 if self.device == "cuda" else torch.float32
        _, probs = self.model.detect_language(mel.to(self.device, dtype))
        language = max(probs, key=probs.get)
        logger.info("detected language %s (p=%.2f)", language, probs[language])
        return language


def _speech_regions(audio: np.ndarray) -> list[dict[str, int]]:
    """Speech regions (sample indices) from Silero VAD, with faster-whisper's sequential defaults."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return get_speech_timestamps(audio, VadOptions(), sampling_rate=SAMPLE_RATE)


@contextlib.contextmanager
def _tqdm_progress(progress: ProgressCallback | None) -> Iterator[None]:
    """openai-whisper reports progress only through a tqdm bar over mel frames: route it to ``progress``."""
    if progress is None:
        yield
        return
    module = importlib.import_module("whisper.transcribe")
    original = module.tqdm
    frames_per_second = SAMPLE_RATE // 160  # openai-whisper's mel hop is 160 samples

    class Bar:
        def __init__(self, total: int, **_: Any) -> None:
            self.n = 0

        def __enter__(self) -> Bar:
            return self

        def __exit__(self, *_: object) -> None:
            return None

        def update(self, frames: int) -> None:
            self.n += frames
            progress(self.n / frames_per_second)

    module.tqdm = types.SimpleNamespace(tqdm=Bar)
    try:
        yield
    finally:
        module.tqdm = original
