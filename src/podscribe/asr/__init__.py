"""Speech recognition engines behind one small protocol; a new engine is one module here.

Every engine takes 16 kHz mono float32 samples and returns segments of timestamped words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .._plugins import load_plugin
from ..transcript import Segment

ProgressCallback = Callable[[float], None]
"""Called with the number of seconds of audio processed so far."""

Clips = Sequence[tuple[float, float]]
"""Regions (start, end, seconds, each at most 30 s) to decode on their own, e.g. speaker turns."""


@dataclass(frozen=True)
class ASROptions:
    """Decoding options shared by all engines (set beam_size explicitly: engines' defaults differ)."""

    language: str | None = None  # None: detect from the audio
    beam_size: int = 5
    vad: bool = True  # skip non-speech (silence, music) before decoding
    batch_size: int = 8  # faster-whisper: clips (speaker clips, else VAD chunks) decoded at once; 1 = sequential
    temperature: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    condition_on_previous_text: bool = False  # True invites repetition loops
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    # Off: speech comes in turns or VAD chunks already, and it re-decodes from each suspect pause
    # (cost measured: BENCHMARKS.md, "Tuning notes").
    hallucination_silence_threshold: float | None = None
    initial_prompt: str | None = None


@dataclass(frozen=True)
class ASRResult:
    """What an engine returns: the language it used and word-timestamped segments (no speakers)."""

    language: str
    segments: tuple[Segment, ...]


class ASREngine(Protocol):
    """A loaded speech recogniser."""

    name: str
    model_name: str
    device: str
    packs_clips: bool
    """Whether a speaker's clips should share a window (``podscribe.packing``): it pays off where each
    window costs a whole decoding slot (batched faster-whisper). A sequential engine (openai-whisper:
    slower on packed windows and on turn-by-turn clips, BENCHMARKS.md) reads speech stretches instead."""

    def transcribe(
        self,
        audio: np.ndarray,
        options: ASROptions,
        progress: ProgressCallback | None = None,
        clips: Clips | None = None,
    ) -> ASRResult:
        """Words with times; only inside ``clips`` when given (else where the engine's VAD finds speech)."""
        ...


ENGINES: dict[str, str] = {
    "faster-whisper": "podscribe.asr.faster_whisper:FasterWhisperEngine",
    "openai-whisper": "podscribe.asr.openai_whisper:OpenAIWhisperEngine",
}


def load_engine(engine: str, model: str, device: str = "auto", **kwargs: object) -> ASREngine:
    """Load ``model`` (a name from models/manifest.json or a local path) on the named engine."""
    return load_plugin(ENGINES, engine, "engine", model, device=device, **kwargs)
