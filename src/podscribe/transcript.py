"""The data model every stage reads and writes: Word, Segment, Turn, Transcript, and their JSON form.

Times are seconds (float), monotonic and inside [0, duration]. Speaker labels are stable ids
(``SPEAKER_00`` ...); ``Transcript.names`` maps them to display names.

No word is punctuation only: a mark Whisper (or a text) gives as a word of its own, such as French
" !", is part of its neighbour's text (``attach_punctuation``), so counting, searching, cutting
subtitles and assigning speakers all see words that are said. Where a space stood between the word
and its mark (French typography: "Bonjour !", "« Oui »"), the word keeps it as a no-break space
U+00A0, the one the subtitles use for French typography too: "Bonjour\u00a0!" is one word, never
broken across lines, and ``str.split()`` would still cut it.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError, OptionError, OutputError
from .files import atomic_target
from .options import is_count
from .writing import ATTACHED_SPACE, OPENING_MARKS, ends_sentence, join_words, spaced

if TYPE_CHECKING:
    from .clips import Clip
    from .subtitles import SubtitleRules

SCHEMA = "podscribe.transcript/1"
MAX_SECONDS = 10_000_000.0  # 116 days: a later time in a transcript or RTTM file is an error


def speaker_id(index: int) -> str:
    """The stable id of the ``index``-th speaker (from 0): ``SPEAKER_00``, ``SPEAKER_01`` ..."""
    return f"SPEAKER_{index:02d}"


@dataclass(frozen=True)
class Word:
    """One recognised word with its timing and the recogniser's confidence."""

    text: str
    start: float
    end: float
    probability: float = 1.0
    speaker: str | None = None
    aligned: bool = True  # False: a word of a supplied text not found in the speech (times interpolated)

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Segment:
    """A run of words from one speaker (``overlap`` lists other speakers talking at the same time)."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    speaker: str | None = None
    overlap: tuple[str, ...] = ()

    @classmethod
    def from_words(
        cls, words: Iterable[Word], speaker: str | None = None, overlap: Iterable[str] = ()
    ) -> Segment:
        """Build a segment spanning ``words``, its text their texts joined by spaces."""
        ws = tuple(words)
        if not ws:
            raise ValueError("a segment needs at least one word")
        return cls(
            start=ws[0].start,
            end=max(w.end for w in ws),
            text=join_words(w.text for w in ws),
            words=ws,
            speaker=speaker,
            overlap=tuple(overlap),
        )


@dataclass(frozen=True, order=True)
class Turn:
    """A speaker turn from diarization: ``speaker`` talks from ``start`` to ``end``."""

    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Transcript:
    """A transcript of one audio file: segments of words, optional speaker turns and names."""

    segments: tuple[Segment, ...]
    duration: float
    language: str | None = None
    model: str | None = None
    audio: str | None = None
    turns: tuple[Turn, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)
    audio_track: int = 1  # which audio track of ``audio`` was read (from 1): clips are cut from it

    def __hash__(self) -> int:
        """Equal transcripts hash alike (the generated hash failed on the ``names`` dict)."""
        fields = (self.segments, self.duration, self.language, self.model, self.audio, self.turns)
        return hash((*fields, tuple(sorted(self.names.items())), self.audio_track))

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    @property
    def text(self) -> str:
        return join_words(s.text for s in self.segments)

    @property
    def speakers(self) -> list[str]:
        """Speaker ids in order of first appearance (segments first, then turns)."""
        seen: dict[str, None] = {}
        for s in self.segments:
            if s.speaker is not None:
                seen.setdefault(s.speaker, None)
        for t in sorted(self.turns):
            seen.setdefault(t.speaker, None)
        return list(seen)

    def speaker_turns(self) -> list[Turn]:
        """Diarization turns when present, else one turn per speaker-attributed segment; sorted."""
        if self.turns:
            return sorted(self.turns)
        return sorted(Turn(s.start, s.end, s.speaker) for s in self.segments if s.speaker is not None)

    def speaker_name(self, speaker: str | None) -> str | None:
        """Display name of a speaker id (the id itself when no name is known), on one line: newlines
        and tabs become single spaces (a newline in a name would split a subtitle cue, a VTT voice
        tag, an RTTM or TXT line)."""
        if speaker is None:
            return None
        return " ".join(self.names.get(speaker, speaker).split()) or speaker

    def with_names(self, names: Mapping[str, str]) -> Transcript:
        return replace(self, names={**self.names, **names})

    # ---- what users reach for ----------------------------------------------------------------
    def find(self, phrase: str) -> list[Match]:
        """Every place where ``phrase`` is said, in time order: its words, times and speaker.

        Matching is by whole words, ignoring case and punctuation ("c'est la vie" finds "C'est la
        vie !"); a phrase may begin after an elided word ("intelligence artificielle" finds
        "l'intelligence artificielle"); accents count; Chinese or Japanese is found as it is written,
        without spaces ("人工智能" finds the four characters Whisper gives as four words)."""
        needle, _ = _search_text(phrase.split())
        if not needle:
            return []
        words = [w for w in self.words if _match_key(w.text)]  # punctuation-only words do not count
        text, owner = _search_text([w.text for w in words])
        matches = []
        at = text.find(needle)
        while at >= 0:
            end = at + len(needle)
            if _word_edge(text, at) and _word_edge(text, end):
                hit = tuple(words[owner[at] : owner[end - 1] + 1])
                said = join_words(w.text for w in hit)
                # its words' span: a word may end after the next one starts (a misordered time cut "upper")
                span = (min(w.start for w in hit), max(w.end for w in hit))
                matches.append(Match(*span, hit[0].speaker, said, hit))
            at = text.find(needle, at + 1)
        return matches

    def by_speaker(self) -> dict[str, SpeakerSummary]:
        """Per speaker id (in order of appearance): display name, words said, talk time, text."""
        out: dict[str, SpeakerSummary] = {}
        for sid in self.speakers:
            segments = [s for s in self.segments if s.speaker == sid]
            turns = [t for t in self.turns if t.speaker == sid]
            talk = sum(t.duration for t in turns) if turns else sum(s.end - s.start for s in segments)
            out[sid] = SpeakerSummary(
                speaker=sid,
                name=self.speaker_name(sid) or sid,
                words=sum(len(s.words) for s in segments),
                talk_time=round(talk, 3),
                text=join_words(s.text for s in segments),
            )
        return out

    def excerpt(self, spans: Iterable[tuple[float, float]], gap: float = 0.0) -> Transcript:
        """The words inside ``spans`` (seconds, in order), re-timed as they sound when those stretches
        are played one after another from 0 with ``gap`` s between them (a soundbite's transcript).
        OptionError for a span that is no stretch of the audio (NaN, negative, reversed, or ending over
        a second after it: a clip's audio, probed, may be a little longer) and for a negative gap."""
        spans = list(spans)
        for start, end in spans:
            if not 0 <= start <= end <= self.duration + 1.0:
                raise OptionError(f"span ({start}, {end}) is no stretch of the audio (0-{self.duration:g} s)")
        if not gap >= 0:
            raise OptionError(f"gap must be zero or more seconds, not {gap}")
        words: list[Word] = []
        offset = 0.0
        for start, end in spans:
            words += [
                replace(w, start=round(w.start - start + offset, 3), end=round(w.end - start + offset, 3))
                for w in self.words
                if w.start >= start and w.end <= end
            ]
            offset += end - start + gap
        runs = [list(g) for _, g in itertools.groupby(words, key=lambda w: w.speaker)]
        segments = tuple(Segment.from_words(run, speaker=run[0].speaker) for run in runs)
        return Transcript(segments, round(max(offset - gap, 0.0), 3), self.language, self.model, names=self.names)

    def to_srt(self, rules: SubtitleRules | None = None) -> str:
        """SRT subtitles of this transcript under ``rules`` (a ``SubtitleRules``; default: release rules)."""
        from .subtitles import (  # imported on use: keeps `import podscribe` light
            SubtitleRules,
            compose_srt,
            make_cues,
        )

        return compose_srt(make_cues(self, rules or SubtitleRules()))

    def to_vtt(self, rules: SubtitleRules | None = None) -> str:
        """WebVTT subtitles (speaker voice tags) of this transcript under ``rules``."""
        from .subtitles import SubtitleRules, compose_vtt, make_cues

        return compose_vtt(make_cues(self, rules or SubtitleRules()), self)

    def clip(self, out: str | os.PathLike[str], **how: Any) -> Clip:
        """Export a soundbite and its SRT (``podscribe.clips.clip``: ``find=``, ``start=``/``end=``,
        ``speaker=``, ``audio=``, ``fade_ms=``, ``bitrate=``)."""
        from .clips import clip  # imported on use: keeps `import podscribe` light

        return clip(self, out, **how)

    def to_dataframe(self) -> Any:
        """One row per word (start, end, text, probability, speaker id and name); needs pandas."""
        try:
            import pandas as pd
        except ImportError as e:
            raise ImportError("to_dataframe needs pandas: pip install pandas") from e
        rows = [
            {"start": w.start, "end": w.end, "text": w.text, "probability": w.probability,
             "speaker": w.speaker, "name": self.speaker_name(w.speaker)}
            for w in self.words
        ]  # fmt: skip
        frame = pd.DataFrame(rows, columns=["start", "end", "text", "probability", "speaker", "name"])
        return frame.astype({"start": float, "end": float, "probability": float})  # the same with no word

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write this transcript's JSON to ``path`` (atomically; an existing file is replaced);
        ``load_transcript(path)`` reads it back. OutputError when it cannot be written there."""
        if not Path(path).name or Path(path).is_dir():
            raise OutputError("a folder, not a file: give the JSON file's path", path or "''")
        try:
            with atomic_target(path) as tmp:
                tmp.write_text(self.to_json(), encoding="utf-8")
        except OSError as e:
            raise OutputError(f"cannot write: {e.strerror or e}", path) from e

    # ---- JSON -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "audio": self.audio,
            "duration": _t(self.duration),
            "language": self.language,
            "model": self.model,
            "speakers": [{"id": s, "name": self.speaker_name(s)} for s in self.speakers],
            "segments": [_segment_dict(s) for s in self.segments],
            "turns": [{"start": _t(t.start), "end": _t(t.end), "speaker": t.speaker} for t in self.turns],
            **({"audio_track": self.audio_track} if self.audio_track != 1 else {}),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Transcript:
        """The transcript a JSON object holds; ValueError, KeyError or TypeError when it is not one
        (wrong shape, a field missing, a time that is not a finite number).

        Files written before punctuation was attached hold marks as words of their own: they are
        attached here (``attach_punctuation``), so an old file reads as a new run would write it."""
        if not isinstance(data, Mapping):
            raise TypeError(f"a JSON object was expected, not {type(data).__name__}")
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a podscribe transcript (schema {data.get('schema')!r}, expected {SCHEMA!r})")
        segments = _attached_segments(
            Segment(
                start=_time(s["start"]),
                end=_time(s["end"]),
                text=_text(s["text"]),
                speaker=s.get("speaker"),
                overlap=tuple(s.get("overlap", ())),
                words=tuple(
                    Word(
                        text=_text(w["text"]),
                        start=_time(w["start"]),
                        end=_time(w["end"]),
                        probability=_probability(w.get("probability", 1.0)),
                        speaker=w.get("speaker"),
                        aligned=_flag(w.get("aligned", True)),
                    )
                    for w in _list(s.get("words", []))
                ),
            )
            for s in _list(data["segments"])
        )
        names = {
            sp["id"]: _text(sp["name"])
            for sp in _list(data.get("speakers", []))
            if sp.get("name") not in (None, sp["id"])
        }
        turns = tuple(turn_from_dict(t) for t in _list(data.get("turns", [])))
        return cls(
            segments=segments,
            duration=_time(data["duration"]),
            language=data.get("language"),
            model=data.get("model"),
            audio=data.get("audio"),
            turns=turns,
            names=names,
            audio_track=_track(data.get("audio_track", 1)),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Transcript:
        """Read a transcript JSON file; InputError (naming the file) when it is not one."""
        try:
            with open(path, encoding="utf-8") as f:
                return cls.from_dict(json.load(f))
        except FileNotFoundError as e:
            raise InputError("no such file", path) from e
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read: {e}", path) from e
        except (ValueError, KeyError, TypeError) as e:
            raise InputError(f"not a podscribe transcript JSON ({e})", path) from e


@dataclass(frozen=True)
class Match:
    """One place where a phrase is said (``Transcript.find``)."""

    start: float
    end: float
    speaker: str | None
    text: str
    words: tuple[Word, ...]


@dataclass(frozen=True)
class SpeakerSummary:
    """What one speaker said (``Transcript.by_speaker``): talk time in seconds."""

    speaker: str
    name: str
    words: int
    talk_time: float
    text: str


def load_transcript(path: str | os.PathLike[str]) -> Transcript:
    """Read a transcript JSON file written by podscribe (``Transcript.save``, ``-f json``)."""
    return Transcript.load(path)


def _match_key(text: str) -> str:
    """A word's text reduced for phrase search: lower case, punctuation dropped ("" for "!"), an elision's
    apostrophe or a hyphen a space ("l'homme" -> "l homme")."""
    kept = "".join(c if c.isalnum() or unicodedata.category(c)[0] == "M" else " " for c in text.lower())
    return " ".join(kept.split())


def _search_text(texts: Sequence[str]) -> tuple[str, list[int]]:
    """The words' search keys written one after another (a space where ``writing.spaced`` puts one), and
    for each character the index of the word it comes from."""
    text, owner = "", []
    for i, key in enumerate(map(_match_key, texts)):
        if key:
            part = " " + key if spaced(text, key) else key
            text += part
            owner += [i] * len(part)
    return text, owner


def _word_edge(text: str, at: int) -> bool:
    """Whether position ``at`` of a search text is between two words: its ends, a space, or two characters
    of a script written without spaces, where every character may begin a word."""
    return at in (0, len(text)) or " " in text[at - 1 : at + 1] or not spaced(text[at - 1], text[at])


def turn_from_dict(data: Mapping[str, Any]) -> Turn:
    """A turn from ``{"start", "end", "speaker"}``; KeyError, TypeError or ValueError when malformed."""
    start, end = _time(data["start"]), _time(data["end"])
    if end < start:
        raise ValueError(f"turn ends ({end}) before it starts ({start})")
    return Turn(start, end, _text(data["speaker"]))


def _track(value: Any) -> int:
    """An audio track number (from 1); ValueError otherwise."""
    if not is_count(value):
        raise ValueError(f"audio_track must be a whole number of at least 1, not {value!r}")
    return value


def _time(value: Any) -> float:
    """A time in seconds: a finite number up to MAX_SECONDS (Python's JSON parser lets NaN and
    Infinity through, and 1e308 made DER "nan")."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"a time must be a finite number, not {value!r}")
    if abs(value) > MAX_SECONDS:
        raise ValueError(f"a time beyond {MAX_SECONDS:.0f} s is not a recording's: {value!r}")
    return float(value)


def _probability(value: Any) -> float:
    """A word's probability: a number from 0 to 1 (NaN, "inf" and "0.5" were taken, and NaN then written
    made the JSON invalid for every strict reader)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"a probability must be a number from 0 to 1, not {value!r}")
    return float(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"text must be a string, not {type(value).__name__}")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"aligned must be true or false, not {value!r}")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"a JSON list was expected, not {type(value).__name__}")
    return value


def is_punctuation(text: str) -> bool:
    """Whether ``text`` is punctuation only (Unicode categories P*: ``!``, ``«``, ``...``, ``-``, ``%``),
    so no word said; symbols (``♪``, ``$``, ``+``) are not punctuation."""
    marks = "".join(text.split())
    return bool(marks) and all(unicodedata.category(c).startswith("P") for c in marks)


def attach_punctuation(groups: Sequence[Sequence[Word]], space: str = ATTACHED_SPACE) -> list[list[Word]]:
    """``groups`` of words (segments, lines of a text) with every punctuation-only word made part of a
    neighbour in its group, so a mark never changes segment or speaker.

    A mark of ``OPENING_MARKS`` (« ¿ ( ...), or a dash after a sentence's end, joins the next word, any
    other mark the word before; with no such word in the group it joins the other one ("..." opening a
    line). The marks of a group without a word said join the last word before it (the first after it,
    at the start). ``space`` separates a word and its marks (a space stood there: marks Whisper gives
    without one are glued already; "" for languages written without spaces; none between two characters
    of such a script in any case). The word keeps its times, probability, speaker and
    ``aligned``; a group of marks only ends up empty, and marks with no word at all are dropped.
    """
    out: list[list[Word]] = []
    waiting: list[str] = []  # marks of groups without a word, before any word
    for group in groups:
        words = _attached_in(group, space)
        if words and waiting:
            words[0] = replace(words[0], text=join_words([*waiting, words[0].text], space))
            waiting = []
        elif not words:
            marks = [w.text.strip() for w in group]
            before = next((g for g in reversed(out) if g), None)
            if before is None:
                waiting += marks
            else:
                before[-1] = replace(before[-1], text=join_words([before[-1].text, *marks], space))
        out.append(words)
    return out


def _attached_in(group: Sequence[Word], space: str) -> list[Word]:
    """The words said in ``group`` with its marks attached (``attach_punctuation``); [] when it has none."""
    words: list[Word] = []
    opening: list[str] = []  # marks waiting for the next word
    for w in group:
        text = w.text.strip()
        if not is_punctuation(text):
            words.append(replace(w, text=join_words([*opening, text], space)) if opening else w)
            opening = []
        elif words and not opening and not _opens(text, words[-1].text):
            words[-1] = replace(words[-1], text=join_words([words[-1].text, text], space))
        else:
            opening.append(text)
    if opening and words:  # opening marks at the group's end (and marks after them): its last word takes them
        words[-1] = replace(words[-1], text=join_words([words[-1].text, *opening], space))
    return words


def _opens(marks: str, before: str) -> bool:
    """Whether ``marks`` open what follows: opening marks (« ¿ ( ...), or a dash after a sentence's end,
    which opens a reply ("Tu viens ? — Oui."; a dash inside a sentence stays with the word before it)."""
    marks = "".join(marks.split())
    dashes = all(c in "-–—" for c in marks)
    return all(c in OPENING_MARKS for c in marks) or dashes and ends_sentence(before)


def _attached_segments(segments: Iterable[Segment]) -> tuple[Segment, ...]:
    """Segments with their punctuation attached (``attach_punctuation``): a segment whose words changed
    gets its text from them, one left without words (it held marks only) is dropped."""
    segs = tuple(segments)
    out = []
    for s, words in zip(segs, attach_punctuation([s.words for s in segs])):
        if not s.words or words == list(s.words):  # no words (text only), or no mark alone: as it is
            out.append(s)
        elif words:  # (a segment of marks only is gone: its marks joined a word)
            out.append(replace(s, words=tuple(words), text=join_words(w.text for w in words)))
    return tuple(out)


def sentences(segment: Segment) -> list[Segment]:
    """``segment`` cut after each word that ends a sentence: the segments of a clip that Whisper read
    without timestamp tokens, which it gives as one."""
    if not segment.words:  # text only: nothing to cut at
        return [segment]
    out: list[Segment] = []
    run: list[Word] = []
    for w in segment.words:
        run.append(w)
        if ends_sentence(w.text):
            out.append(Segment.from_words(run, segment.speaker, segment.overlap))
            run = []
    if run:
        out.append(Segment.from_words(run, segment.speaker, segment.overlap))
    return out


def _t(x: float) -> float:
    return round(float(x), 3)


def _segment_dict(s: Segment) -> dict[str, Any]:
    d: dict[str, Any] = {"start": _t(s.start), "end": _t(s.end), "speaker": s.speaker, "text": s.text}
    if s.overlap:
        d["overlap"] = list(s.overlap)
    d["words"] = [_word_dict(w) for w in s.words]
    return d


def _word_dict(w: Word) -> dict[str, Any]:
    """A word's JSON; ``"aligned": false`` only for an unaligned word (older readers see the same schema)."""
    d = {"start": _t(w.start), "end": _t(w.end), "text": w.text, "probability": round(w.probability, 4), "speaker": w.speaker}
    if not w.aligned:
        d["aligned"] = False
    return d
