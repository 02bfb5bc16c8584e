"""What subtitles and clips read from a transcript, as Protocols: they need not import ``transcript``.

``transcript.Transcript`` (and its ``Word``, ``Turn``, ``Match``) has these shapes; ``Transcript.to_srt``,
``to_vtt`` and ``clip`` call down into ``subtitles`` and ``clips``, which never import it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol


class TimedWord(Protocol):
    """A word with its time (seconds) and speaker id."""

    @property
    def text(self) -> str: ...

    @property
    def start(self) -> float: ...

    @property
    def end(self) -> float: ...

    @property
    def speaker(self) -> str | None: ...


class Span(Protocol):
    """A stretch of the audio (seconds): a speaker turn or a phrase found."""

    @property
    def start(self) -> float: ...

    @property
    def end(self) -> float: ...


class SpeakerSpan(Span, Protocol):
    """A stretch of the audio said by one speaker."""

    @property
    def speaker(self) -> str | None: ...


class WordTimeline(Protocol):
    """What subtitles are cut from: timed words, the media's length, its language and speaker names."""

    @property
    def words(self) -> Sequence[TimedWord]: ...

    @property
    def duration(self) -> float: ...

    @property
    def language(self) -> str | None: ...

    def speaker_name(self, speaker: str | None) -> str | None: ...


class ClipSource(WordTimeline, Protocol):
    """What a soundbite is cut from: also its audio, its speakers, phrases and turns, and excerpts."""

    @property
    def audio(self) -> str | None: ...

    @property
    def audio_track(self) -> int: ...

    @property
    def speakers(self) -> list[str]: ...

    def find(self, phrase: str) -> Sequence[Span]: ...

    def speaker_turns(self) -> Sequence[SpeakerSpan]: ...

    def excerpt(self, spans: Iterable[tuple[float, float]], gap: float = 0.0) -> WordTimeline: ...
