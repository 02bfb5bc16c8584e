"""Speaker diarization behind one small protocol; a new diarizer is one module here."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Protocol

import numpy as np

from .._plugins import load_plugin
from ..audio import ProgressCallback
from ..errors import OptionError
from ..options import check_count, option
from ..transcript import Turn

# A voice needs about this much speech to be told apart (measured floor: one who says under about 4 s
# in all is merged into another, README). An automatic speaker count is searched only up to what the
# speech holds at this rate, so a loose --max-speakers does not change it; more asked for: a warning.
SECONDS_PER_SPEAKER = 4.0


@dataclass(frozen=True)
class DiarizationOptions:
    """Speaker-count constraints: an exact ``num_speakers`` wins over the min/max range.

    Declared once, here: defaults, flags and help (field metadata, read by ``cli``) and checks.
    """

    num_speakers: int | None = option(None, "--speakers", "exact number of speakers", metavar="N")
    min_speakers: int = option(1, "--min-speakers", "fewest speakers to find", metavar="N")
    max_speakers: int = option(8, "--max-speakers", "most speakers to find", metavar="N")

    def __post_init__(self) -> None:
        for name in ("num_speakers", "min_speakers", "max_speakers"):
            check_count(self, name)
        if self.min_speakers > self.max_speakers:
            raise OptionError(
                f"need 1 <= min_speakers <= max_speakers, got {self.min_speakers} and {self.max_speakers}",
                option="min_speakers",
            )
        self._check_exact_within_range()

    def _check_exact_within_range(self) -> None:
        """OptionError when an exact count contradicts a bound that was set (not the default maximum)."""
        if self.num_speakers is None:
            return
        default_max = next(f.default for f in fields(self) if f.name == "max_speakers")
        if self.num_speakers < self.min_speakers or (
                self.max_speakers != default_max and self.num_speakers > self.max_speakers):
            raise OptionError(
                f"num_speakers {self.num_speakers} is outside min_speakers..max_speakers "
                f"({self.min_speakers}..{self.max_speakers}): give one or the other",
                option="num_speakers",
            )

    def bounds(self) -> tuple[int, int]:
        """(min, max) speaker count these options allow."""
        if self.num_speakers is not None:
            return self.num_speakers, self.num_speakers
        return self.min_speakers, self.max_speakers


class Diarizer(Protocol):
    """A loaded diarizer: 16 kHz mono float32 samples in, speaker turns (sorted by start) out.

    ``progress``, when given, is called as the diarizer goes with the seconds of audio done, growing
    to the audio's duration, which its last call reports (a diarizer that reads the audio in several
    passes reports their mean: ``passes``).
    ``embed`` gives one L2-normalised voice embedding of some audio, so that speakers can be named
    from voice samples by cosine similarity (``naming.match_voices``).
    """

    name: str

    def diarize(
        self, audio: np.ndarray, options: DiarizationOptions, progress: ProgressCallback | None = None
    ) -> list[Turn]: ...

    def embed(self, audio: np.ndarray) -> np.ndarray: ...


def passes(progress: ProgressCallback | None, duration: float, count: int) -> list[ProgressCallback]:
    """One callback per pass of a diarizer that reads ``duration`` s of audio ``count`` times (the
    embedded one: speech regions, then embeddings): each takes the seconds done in its pass, and
    ``progress`` hears the mean over the passes, so one stage grows from 0 to ``duration`` once. Without
    ``progress`` they do nothing (callers need no test)."""

    def report(k: int) -> ProgressCallback:
        def done(seconds: float) -> None:
            if progress is not None:
                progress((k * duration + min(max(seconds, 0.0), duration)) / count)

        return done

    return [report(k) for k in range(count)]


DIARIZERS: dict[str, str] = {
    "embedded": "podscribe.diarization.embedded:EmbeddedDiarizer",
    "overlap": "podscribe.diarization.overlap:OverlapDiarizer",
    "pyannote": "podscribe.diarization.pyannote:PyannoteDiarizer",
}
BACKENDS = {"embedded": "onnxruntime", "overlap": "onnxruntime", "pyannote": "torch"}  # what each runs on
DEFAULT = "overlap"  # chosen on the dev part (BENCHMARKS.md, "The overlap diarizer as the default")


def load_diarizer(name: str, **kwargs: object) -> Diarizer:
    """Load a diarizer by name (``embedded`` and ``overlap`` need no hub; ``pyannote`` needs the extra)."""
    return load_plugin(DIARIZERS, name, "diarizer", **kwargs)
