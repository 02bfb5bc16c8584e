"""Speech recognition engines behind one small protocol; a new engine is one module here.

Every engine takes 16 kHz mono float32 samples and returns segments of timestamped words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .._plugins import load_plugin
from ..audio import ProgressCallback as ProgressCallback  # engines report seconds of audio decoded
from ..languages import check_language
from ..errors import OptionError
from ..options import check_count, check_types, option
from ..transcript import Segment

Clips = Sequence[tuple[float, float]]
"""Regions (start, end, seconds, each at most 30 s) to decode on their own, e.g. speaker turns."""

EncoderTap = Callable[[np.ndarray, Clips, np.ndarray], None]
"""Called by an engine that can (faster-whisper on CPU) with the audio it was given, clips it encoded, and
their encoder outputs (one row each): ``align`` reuses them instead of encoding that audio again."""


@dataclass(frozen=True)
class ASROptions:
    """Decoding options shared by all engines (set beam_size explicitly: engines' defaults differ).

    Each field is declared once, here: its default, its check (``__post_init__``) and, for the fields
    the command line offers, its flag and help in the field's metadata (``cli`` derives them).
    """

    language: str | None = option(
        None, "--language", "language code or name (fr, French, français); detected when omitted"
    )  # kept as its Whisper code
    beam_size: int = option(5, "--beam-size", "beams searched")
    vad: bool = option(  # skip non-speech (silence, music) before decoding
        True, "--no-vad", "decode silence and music too (not recommended; only without a diarizer)"
    )
    batch_size: int = option(  # faster-whisper
        8, "--batch-size", "clips decoded at once: speaker clips (VAD chunks without a diarizer), on CPU in batches "
        "of at most 2, one per worker; 1 = sequential"
    )
    temperature: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    condition_on_previous_text: bool = False  # True invites repetition loops
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    # Off: speech comes in turns or VAD chunks already, and it re-decodes from each suspect pause
    # (cost measured: BENCHMARKS.md, "Tuning notes").
    hallucination_silence_threshold: float | None = None
    initial_prompt: str | None = None
    # Each clip window in the language found on its own encoder output where Whisper gives that language
    # more than half the probability, else in the call's (set by packing when no speakers hold one).
    window_language: bool = False
    # Whisper's timestamp tokens in batched clip windows (faster-whisper). Without them Whisper reads a window
    # of one clip to its end, in fewer tokens, instead of ending it early at a pause to go on "in the next
    # window" (then decoded again); but it stops at the silence between two clips, and at a change of voice
    # or language. Packing turns them off for speaker windows of one clip each (BENCHMARKS.md, "One-clip
    # speaker windows without timestamp tokens").
    timestamps: bool = True
    # Batched clip windows (faster-whisper) encoded only as far as a batch's longest clip and a margin, not
    # Whisper's whole 30 s. Packing turns it on for speaker windows (one voice each); on the dev recordings
    # without speakers, windows of several voices lost words with it (BENCHMARKS.md, "Speaker windows encoded
    # to their length").
    trim: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.temperature, (int, float)):  # one temperature, as faster-whisper takes it
            object.__setattr__(self, "temperature", (self.temperature,))
        object.__setattr__(self, "language", check_language(self.language))  # "French" -> "fr"
        for name in ("beam_size", "batch_size"):
            check_count(self, name)
        check_types(self)
        if not (self.temperature and min(self.temperature) >= 0):
            raise OptionError("temperature must be one or more numbers of at least 0, "
                              f"not {self.temperature!r}",
                              option="temperature")  # fmt: skip


Ranking = tuple[tuple[str, float], ...]
"""Whisper's languages for some speech, with their probabilities, most likely first."""

SURE_LANGUAGE = 0.5
"""Whisper is sure of a language it gives more than this probability: more likely than all others together
(a window's own language, ``window_language``; a speaker's, ``podscribe.packing``)."""


@dataclass(frozen=True)
class ASRResult:
    """What an engine returns: the language it used and word-timestamped segments (no speakers)."""

    language: str
    segments: tuple[Segment, ...]
    # Where the engine detected the call's language: Whisper's languages and probabilities, most likely first
    # (empty where the language was given, or openai-whisper found it without VAD, inside its own loop).
    ranking: Ranking = ()


class ASREngine(Protocol):
    """A loaded speech recogniser."""

    name: str
    model_name: str
    device: str

    def transcribe(
        self,
        audio: np.ndarray,
        options: ASROptions,
        progress: ProgressCallback | None = None,
        clips: Clips | None = None,
        tap: EncoderTap | None = None,
    ) -> ASRResult:
        """Words with times; only inside ``clips`` when given (else where the engine's VAD finds speech);
        ``tap`` gets the clips' encoder outputs where the engine can give them."""
        ...


ENGINES: dict[str, str] = {
    "faster-whisper": "podscribe.asr.faster_whisper:FasterWhisperEngine",
    "openai-whisper": "podscribe.asr.openai_whisper:OpenAIWhisperEngine",
}
BACKENDS = {"faster-whisper": "ctranslate2", "openai-whisper": "torch"}  # what each runs on (devices)


def load_engine(engine: str, model: str, device: str = "auto", **kwargs: object) -> ASREngine:
    """Load ``model`` (a name from models/manifest.json or a local path) on the named engine."""
    return load_plugin(ENGINES, engine, "engine", model, device=device, **kwargs)
