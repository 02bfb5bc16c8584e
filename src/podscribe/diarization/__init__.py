"""Speaker diarization behind one small protocol; a new diarizer is one module here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .._plugins import load_plugin
from ..transcript import Turn


@dataclass(frozen=True)
class DiarizationOptions:
    """Speaker-count constraints: an exact ``num_speakers`` wins over the min/max range."""

    num_speakers: int | None = None
    min_speakers: int = 1
    max_speakers: int = 8


class Diarizer(Protocol):
    """A loaded diarizer: 16 kHz mono float32 samples in, speaker turns (sorted by start) out."""

    name: str

    def diarize(self, audio: np.ndarray, options: DiarizationOptions) -> list[Turn]: ...


DIARIZERS: dict[str, str] = {
    "embedded": "podscribe.diarization.embedded:EmbeddedDiarizer",
    "pyannote": "podscribe.diarization.pyannote:PyannoteDiarizer",
}


def load_diarizer(name: str, **kwargs: object) -> Diarizer:
    """Load a diarizer by name (``embedded`` needs no hub; ``pyannote`` needs the extra)."""
    return load_plugin(DIARIZERS, name, "diarizer", **kwargs)
