"""Shared test setup: paths, builders of transcripts and references, audio fixtures, hypothesis profiles.

Test modules import the paths and builders from here (``from conftest import DATA, transcript_of``);
pytest puts this folder on ``sys.path``. Hypothesis profiles: ``HYPOTHESIS_PROFILE=ci`` (derandomised,
for reproducible CI runs) or ``thorough`` (10x the examples of the default); default: ``default``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterable, Sequence
from itertools import groupby
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from podscribe.audio import SAMPLE_RATE
from podscribe.reference import Reference, Utterance
from podscribe.transcript import Segment, Transcript, Turn, Word

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
GOLDEN = DATA / "golden"
MODELS = ROOT / "models"
SR = SAMPLE_RATE

# Two CPU cores shared with other work: example timings vary too much for hypothesis' deadline.
settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def load_tool(name: str) -> ModuleType:
    """``tools/<name>.py`` as a module: the tools are scripts, not part of the package."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there while it runs
    spec.loader.exec_module(module)
    return module


# ---- builders ---------------------------------------------------------------------------------------


def words_of(text: str, start: float, speaker: str | None = None, step: float = 0.5,
             length: float = 0.4, probability: float = 1.0) -> list[Word]:
    """The words of ``text``, one every ``step`` seconds from ``start``, each ``length`` long."""
    return [Word(w, start + i * step, start + i * step + length, probability, speaker)
            for i, w in enumerate(text.split())]


def spoken_words(texts: str, start: float = 0.0, speaker: str | None = "S0", rate: float = 0.07) -> list[Word]:
    """Words of ``texts`` spoken one after another, each lasting ``rate`` seconds a character plus 0.1 s."""
    words = []
    t = start
    for text in texts.split():
        d = rate * len(text) + 0.1
        words.append(Word(text, round(t, 3), round(t + d, 3), speaker=speaker))
        t += d + (0.5 if text[-1] in ".?!" else 0.05)
    return words


def transcript_of(words: Sequence[Word], language: str | None = "fr", names: dict[str, str] | None = None,
                  turns: Iterable[Turn] = (), duration: float | None = None, audio: str | None = None) -> Transcript:
    """A transcript whose segments are the runs of one speaker in ``words``."""
    segments = tuple(Segment.from_words(run, speaker=speaker)
                     for speaker, run in ((k, list(g)) for k, g in groupby(words, key=lambda w: w.speaker)))
    end = max((w.end for w in words), default=0.0)
    return Transcript(segments=segments, duration=end if duration is None else duration,
                      language=language, names=names or {}, turns=tuple(turns), audio=audio)


def speakers_transcript(turns: Sequence[tuple[str, str]], pause: float = 1.0,
                        diarized: Iterable[Turn] = ()) -> Transcript:
    """A French transcript of (speaker id, text) turns, words 0.5 s apart, ``pause`` s between turns
    (``diarized``: the transcript's own speaker turns)."""
    words: list[Word] = []
    t = 0.0
    for speaker, text in turns:
        words += words_of(text, t, speaker)
        t = words[-1].start + 0.5 + pause
    return transcript_of(words, duration=t, turns=diarized)


def sample_transcript() -> Transcript:
    """Three segments of two speakers (one overlapped, one named), with diarization turns."""
    a = Segment.from_words(
        [Word("Salut", 0.5, 0.9, 0.9, "SPEAKER_00"), Word("Romain.", 0.9, 1.4, 0.8, "SPEAKER_00")],
        speaker="SPEAKER_00",
    )
    b = Segment.from_words(
        [Word("Salut.", 2.0, 2.5, 0.95, "SPEAKER_01")], speaker="SPEAKER_01", overlap=["SPEAKER_00"]
    )
    c = Segment.from_words(
        [Word("Tu", 3.0, 3.2, 0.9, "SPEAKER_00"), Word("vas", 3.2, 3.5, 0.9, "SPEAKER_00")],
        speaker="SPEAKER_00",
    )
    return Transcript(
        segments=(a, b, c),
        duration=4.0,
        language="fr",
        model="faster-whisper/base",
        audio="x/short.opus",
        turns=(Turn(0.4, 1.5, "SPEAKER_00"), Turn(1.9, 2.6, "SPEAKER_01"), Turn(2.9, 3.6, "SPEAKER_00")),
        names={"SPEAKER_00": "Mathilde Wateau"},
    )


def reference_of(*turns: tuple[str | None, str]) -> Reference:
    """A reference from (speaker or None, text) utterances."""
    return Reference(tuple(Utterance(speaker, text) for speaker, text in turns))


def plain_reference(text: str) -> Reference:
    """A reference without speakers."""
    return reference_of((None, text))


def write_rttm(path: Path, turns: Iterable[Turn], uri: str = "rec") -> Path:
    """Write ``turns`` as a 10-field RTTM file."""
    path.write_text("".join(f"SPEAKER {uri} 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
                            for t in turns), encoding="utf-8")
    return path


def distorted_turns(turns: list[Turn]) -> list[Turn]:
    """Boundaries moved, two speakers merged, labels renamed, one turn dropped."""
    rename = {
        "Emmanuel_Macron": "spk2",
        "Mathilde_Wateau": "spk0",
        "Romain_Boucher": "spk1",
        "Jérémy_Désir": "spk0",
    }
    out = []
    for i, t in enumerate(turns):
        if i == 10:
            continue
        shift = 0.3 if i % 2 else -0.2
        out.append(Turn(max(0.0, t.start + shift), t.end + shift / 2, rename[t.speaker]))
    return out


def perturbed_words(words: list[str]) -> list[str]:
    """Every 17th word from the 6th dropped, every 23rd from the 8th replaced, a word inserted
    after every 31st from the 4th: a deterministic, hand-checkable hypothesis."""
    out = []
    for i, w in enumerate(words):
        if i % 17 == 5:
            continue
        out.append("machin" if i % 23 == 7 else w)
        if i % 31 == 3:
            out.append("truc")
    return out


# timeline example: hand-computed errors in test_der.py, drawn in test_plot.py
TIMELINE_REFERENCE = [Turn(0, 5, "Alice"), Turn(5, 9, "Bob"), Turn(8, 12, "Alice"), Turn(13, 20, "Carol")]
TIMELINE_HYPOTHESIS = [Turn(0.5, 5.5, "S0"), Turn(5.5, 12, "S1"), Turn(12.5, 16, "S2"), Turn(16, 21, "S1")]


def decode(name: str) -> np.ndarray:
    """A fixture file of tests/data decoded to 16 kHz mono float32 (by faster-whisper's decoder)."""
    from faster_whisper import decode_audio

    return decode_audio(str(DATA / name), sampling_rate=SR)


# ---- shared fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def short_audio() -> np.ndarray:
    """short.fr.opus: Mathilde 3.54-14.69 s, Romain 15.28-28.73 s (tests/data/short.fr.rttm)."""
    return decode("short.fr.opus")


@pytest.fixture(scope="session")
def embedded_diarizer():
    """The embedded diarizer on CPU (loaded once per session)."""
    from podscribe.diarization.embedded import EmbeddedDiarizer

    return EmbeddedDiarizer()


@pytest.fixture(scope="session")
def overlap_diarizer():
    """The overlap diarizer on CPU (loaded once per session)."""
    from podscribe.diarization.overlap import OverlapDiarizer

    return OverlapDiarizer()
