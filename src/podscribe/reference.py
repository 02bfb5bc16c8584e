"""Read reference transcripts and hypotheses: ``Name : text``, plain text, STM, SRT, WebVTT, podscribe JSON, RTTM.

Every text format becomes a :class:`Reference` (speaker-attributed utterances, times when the format has
them); RTTM becomes a list of :class:`~podscribe.transcript.Turn`. Malformed input raises
:class:`~podscribe.errors.ReferenceFormatError` naming the file, the line and the reason.

Speaker lines (``Name : text``, also ``Name: text``): the label before the first colon is a speaker name
when it has 1-5 words, starts with a capital letter (or a letter of a script without case: 田中, محمد),
contains no sentence punctuation (``, ; ? ! …``, their full-width forms, or quotes), and every word is
capitalised, a number, or a name particle (``de``, ``van``, ``d'``...) that is followed by a capitalised
word; names are compared in Unicode NFC. A time before the name or after it (``[00:01:02] Ann :``,
``Ann (00:01:02) :``) is dropped. An annotation after the name is dropped: a bracketed one (``(off)``,
``[au téléphone]``) or one of :data:`ANNOTATIONS` (``en off``, ``voix off``, ``hors champ``...), so
``Emmanuel Macron en off : ...`` is said by ``Emmanuel Macron``. A line that is not a speaker line continues
the previous speaker. A ``.txt`` file is in the named format when its first non-empty line is a speaker
line, or half of its lines are (lines before the first are then text of no speaker, with a warning);
otherwise it is plain text without speakers. Footnote marks such as ``[1]`` or ``¹`` are removed, and a
line that starts with one (a footnote's own text) is left out, with a warning. A ``.ctm`` hypothesis
(``<file> <channel> <start> <duration> <word> [<confidence>]``) is timed words without speakers.
"""

from __future__ import annotations

import html
import logging
import math
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn

import srt

from .errors import InputError, ReferenceFormatError
from .subtitles import ASS_OVERRIDE, SRT_TAG
from .transcript import MAX_SECONDS, Transcript, Turn
from .writing import join_words

logger = logging.getLogger(__name__)

MAX_TEXT_BYTES = 50_000_000  # a reference or hypothesis text file; the word limit is in evaluation

#: Lower-case annotations that may follow a speaker's name and are not part of it.
ANNOTATIONS = frozenset(
    {
        "off",
        "en off",
        "voix off",
        "hors champ",
        "hors-champ",
        "au téléphone",
        "en duplex",
        "en direct",
        "en visio",
        "en visioconférence",
        "en voix off",
        "voice over",
        "voiceover",
        "on the phone",
    }
)
#: Name particles allowed between capitalised words ("Charles de Gaulle", "Ludwig van Beethoven").
PARTICLES = frozenset(
    {
        "de",
        "du",
        "des",
        "d'",
        "d’",
        "la",
        "le",
        "van",
        "von",
        "der",
        "den",
        "di",
        "da",
        "dos",
        "del",
        "bin",
        "ben",
        "al",
        "el",
    }
)
#: The speaker key for utterances without a speaker in :meth:`Reference.by_speaker`.
UNKNOWN_SPEAKER = "(unknown)"

_MAX_NAME_WORDS = 5
_TIME = r"[\[(]?\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?[\])]?"  # 1:02, [00:01:02.5], (01:02)
_SPEAKER_LINE = re.compile(rf"^(?P<label>[^:]+?)\s*(?:{_TIME})?\s*:(?:\s+(?P<text>.*))?$")
_SENTENCE_PUNCTUATION = re.compile(r"[,;?!…«»\"“”„，、。；？！؟،]")
_FOOTNOTE = re.compile(r"\s*\[\d+\]|[¹²³⁰⁴⁵⁶⁷⁸⁹]+")  # not speech: [1] or a superscript number
_FOOTNOTE_TEXT = re.compile(r"^\s*(?:\[\d+\]|[¹²³⁰⁴⁵⁶⁷⁸⁹]+)\s*\S")  # a line that is a footnote's own text
_LEADING_TIME = re.compile(rf"^\s*{_TIME}\s*")
_VTT_TAG = re.compile(r"<[^>]*>")  # WebVTT escapes a text's "<": every other one opens a tag
_VOICE_TAG = re.compile(r"^<v(?:\.[^\s>]*)?\s+([^>]+)>")
_DIALOGUE_DASH = re.compile(r"^[-–—]\s+")
_VTT_TIME = re.compile(r"^(?:(\d+):)?(\d{2}):(\d{2})[.,](\d{3})$")


@dataclass(frozen=True)
class Utterance:
    """What one speaker said (``speaker`` None when unknown), with its time span when the format has one."""

    speaker: str | None
    text: str
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class Reference:
    """A transcript as a sequence of speaker-attributed utterances (reference or hypothesis side)."""

    utterances: tuple[Utterance, ...]
    ignored: tuple[tuple[float, float], ...] = ()
    """Spans a reference leaves out of scoring (STM's ``ignore_time_segment_in_scoring``): no word said in
    them counts on either side, nor their time in DER."""

    @property
    def speakers(self) -> list[str]:
        """Speaker names in order of first appearance (unknown speakers excluded)."""
        return list(dict.fromkeys(u.speaker for u in self.utterances if u.speaker is not None))

    @property
    def text(self) -> str:
        return " ".join(u.text for u in self.utterances if u.text)

    def by_speaker(self) -> dict[str, str]:
        """Each speaker's words joined in order; utterances without a speaker go under UNKNOWN_SPEAKER."""
        texts: dict[str, list[str]] = {}
        for u in self.utterances:
            texts.setdefault(u.speaker if u.speaker is not None else UNKNOWN_SPEAKER, []).append(u.text)
        return {spk: " ".join(t for t in parts if t) for spk, parts in texts.items()}

    def turns(self) -> list[Turn]:
        """Speaker turns from timed, attributed utterances (STM, named subtitles); [] when any lacks either."""
        turns = []
        for u in self.utterances:
            if u.speaker is None or u.start is None or u.end is None:
                return []
            if u.end > u.start:
                turns.append(Turn(u.start, u.end, u.speaker))
        return sorted(turns)

    def outside(self, spans: Sequence[tuple[float, float]]) -> Reference:
        """The utterances whose middle lies outside ``spans`` (untimed ones kept)."""
        kept = (u for u in self.utterances
                if u.start is None or u.end is None or not _inside((u.start + u.end) / 2, spans))
        return replace(self, utterances=tuple(kept))

    @classmethod
    def from_transcript(
        cls, transcript: Transcript, display_names: bool = True, ignored: Sequence[tuple[float, float]] = ()
    ) -> Reference:
        """One utterance per segment; speakers by display name, or by id when ``display_names`` is False;
        the words whose middle lies in an ``ignored`` span left out."""
        name: Callable[[str | None], str | None] = transcript.speaker_name if display_names else (lambda s: s)
        utterances = []
        for s in transcript.segments:
            if not s.words and _inside((s.start + s.end) / 2, ignored):  # text only: by the segment's middle
                continue
            said = [w.text for w in s.words if not _inside((w.start + w.end) / 2, ignored)]
            text = join_words(said) if ignored and s.words else s.text
            utterances.append(Utterance(name(s.speaker), text, s.start, s.end))
        return cls(tuple(utterances))


def _inside(t: float, spans: Sequence[tuple[float, float]]) -> bool:
    return any(a <= t < b for a, b in spans)


def load_reference(path: str | os.PathLike[str]) -> Reference:
    """Read a reference transcript (``Name : text``, plain text, STM, SRT, WebVTT or podscribe JSON)."""
    return require_words(_load(path), path)


def parse_reference(text: str, name: str = "<text>") -> Reference:
    """A reference given as a string (any text format ``load_reference`` reads; ``name`` in messages)."""
    lines = list(enumerate(text.splitlines(), start=1))
    return require_words(_sniff(lines)(name, lines), name)


def require_words(reference: Reference, name: str | os.PathLike[str]) -> Reference:
    """``reference``, or ReferenceFormatError when it holds no word (no letter or digit): a reference file
    of names or marks only gave a WER of thousands of percent (the insertions over no word)."""
    if not any(c.isalnum() for c in reference.text):
        raise ReferenceFormatError("no words in the reference", name)
    return reference


def load_hypothesis(path: str | os.PathLike[str]) -> Reference:
    """Read a hypothesis (podscribe JSON, SRT, WebVTT, TXT, STM); unlike a reference it may be empty."""
    hypothesis = _load(path, allow_empty=True)
    if not hypothesis.text.strip():
        logger.warning("%s: the hypothesis has no words", path)
    return hypothesis


def load_rttm(path: str | os.PathLike[str]) -> list[Turn]:
    """Read the SPEAKER lines of an RTTM file as turns sorted by time (one recording per file)."""
    turns: list[Turn] = []
    recordings: dict[str, None] = {}
    for n, line in _lines(path):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":  # comments and other RTTM types
            continue
        if not 8 <= len(fields) <= 10:
            expected = "SPEAKER file channel onset duration <NA> <NA> name [<NA> <NA>]"
            _fail(path, n, f"expected 10 fields ({expected}), got {len(fields)}")
        onset, duration = _number(path, n, fields[3], "onset"), _number(path, n, fields[4], "duration")
        if onset < 0 or duration < 0:
            _fail(path, n, f"negative onset or duration ({fields[3]} {fields[4]})")
        if onset + duration > MAX_SECONDS:
            _fail(path, n, f"turn ends after {MAX_SECONDS:.0f} s ({fields[3]} + {fields[4]}): not a recording's time")
        recordings.setdefault(fields[1], None)
        if duration > 0:
            turns.append(Turn(onset, onset + duration, fields[7]))
    if len(recordings) > 1:
        raise ReferenceFormatError(
            f"several recordings in one RTTM ({', '.join(recordings)}); give one per file", path
        )
    if not turns:
        raise ReferenceFormatError("no SPEAKER lines with a duration", path)
    return sorted(turns)


def parse_speaker_label(label: str) -> str | None:
    """The speaker name in a line's label (``"Emmanuel Macron en off"`` -> ``"Emmanuel Macron"``), or None."""
    label = unicodedata.normalize("NFC", " ".join(label.split()))
    if not label or len(label) > 80 or _SENTENCE_PUNCTUATION.search(label):
        return None
    annotation = re.search(r"\s*[(\[][^()\[\]]*[)\]]$", label)
    if annotation:
        label = label[: annotation.start()]
    words = label.split()
    for size in range(min(len(words), _MAX_NAME_WORDS), 0, -1):
        rest = " ".join(words[size:]).lower()
        if (not rest or (not annotation and rest in ANNOTATIONS)) and _is_name(words[:size]):
            return " ".join(words[:size])
    return None


def _is_name(words: list[str]) -> bool:
    if not _capital(words[0][0]) or not (_capitalised(words[-1]) or words[-1][0].isdigit()):
        return False
    return all(_capitalised(w) or w[0].isdigit() or w.lower() in PARTICLES for w in words)


def _capitalised(word: str) -> bool:
    return _capital(word[0]) or word.lower()[:2] in ("d'", "d’") and word[2:3].isupper()


def _capital(letter: str) -> bool:
    """A capital, or a letter of a script without case (a Japanese or Arabic name starts with one)."""
    return letter.isupper() or letter.isalpha() and not letter.islower() and letter.lower() == letter.upper()


# ---- format dispatch ----------------------------------------------------------------------------


def _load(path: str | os.PathLike[str], allow_empty: bool = False) -> Reference:
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        return Reference.from_transcript(Transcript.load(path))
    if suffix == ".rttm":
        raise ReferenceFormatError(
            "an RTTM file holds speaker turns, not text: pass it as reference turns", path
        )
    lines = list(_lines(path, allow_empty))
    parser = _PARSERS.get(suffix) or _sniff(lines)
    return parser(path, lines)


def _sniff(
    lines: list[tuple[int, str]],
) -> Callable[[str | os.PathLike[str], list[tuple[int, str]]], Reference]:
    content = [line.strip() for _, line in lines if line.strip() and not line.startswith(";;")]
    if content and content[0].startswith("WEBVTT"):
        return _parse_vtt
    if content and content[0].startswith("{"):
        return lambda path, _: Reference.from_transcript(Transcript.load(path))
    if len(content) > 1 and content[0].isdigit() and "-->" in content[1]:
        return _parse_srt
    if content and _looks_like_stm(content[0]):
        return _parse_stm
    return _parse_text


def _looks_like_stm(line: str) -> bool:
    fields = line.split(maxsplit=5)
    return len(fields) >= 5 and all(re.fullmatch(r"\d+(\.\d*)?", f) for f in fields[3:5])


def _lines(path: str | os.PathLike[str], allow_empty: bool = False) -> Iterable[tuple[int, str]]:
    """(line number, line) pairs of a UTF-8 text file (BOM allowed); errors name the file and line."""
    try:
        if os.path.getsize(path) > MAX_TEXT_BYTES:
            raise ReferenceFormatError(
                f"over {MAX_TEXT_BYTES // 1_000_000} MB: too large for a transcript (split it)", path
            )
        data = Path(path).read_bytes()
    except FileNotFoundError as e:
        raise InputError("no such file", path) from e
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", path) from e
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        _fail(path, data[: e.start].count(b"\n") + 1, "not UTF-8 text")
    if not text.strip() and not allow_empty:
        raise ReferenceFormatError("empty file", path)
    return enumerate(text.splitlines(), start=1)


def _fail(path: str | os.PathLike[str], line: int, reason: str) -> NoReturn:
    raise ReferenceFormatError(f"line {line}: {reason}", path)


def _number(path: str | os.PathLike[str], line: int, field: str, what: str) -> float:
    try:
        value = float(field)
    except ValueError:
        _fail(path, line, f"{what} is not a number: {field!r}")
    if not math.isfinite(value):
        _fail(path, line, f"{what} is not a finite number: {field!r}")
    return value


# ---- "Name : text" and plain text ---------------------------------------------------------------


def _parse_text(path: str | os.PathLike[str], lines: list[tuple[int, str]]) -> Reference:
    paragraphs = []
    for n, line in lines:
        if _FOOTNOTE_TEXT.match(line):
            logger.warning("%s: line %d is a footnote's text, not speech: left out", path, n)
        elif text := _FOOTNOTE.sub("", line).strip():
            paragraphs.append((n, text))
    split = _with_repeated_labels([_split_speaker(p) for _, p in paragraphs], [p for _, p in paragraphs])
    named = [i for i, pair in enumerate(split) if pair is not None]
    if not named or named[0] and 2 * len(named) < len(paragraphs):
        return Reference(tuple(Utterance(None, p) for _, p in paragraphs))
    if named[0]:
        logger.warning(
            "%s: line%s %s before the first 'Name : text' line: no speaker (scored as words of nobody)",
            path, "s" if named[0] > 1 else "", ", ".join(str(n) for n, _ in paragraphs[: named[0]]),
        )  # fmt: skip
    utterances = [Utterance(None, p) for _, p in paragraphs[: named[0]]]
    speakers: list[str] = []
    texts: list[list[str]] = []
    for (_, p), pair in zip(paragraphs[named[0] :], split[named[0] :]):
        if pair is None:
            texts[-1].append(p)
        else:
            speakers.append(pair[0])
            texts.append([pair[1]] if pair[1] else [])
    utterances += [Utterance(s, " ".join(t)) for s, t in zip(speakers, texts)]
    return Reference(tuple(utterances))


def _with_repeated_labels(
    split: list[tuple[str, str] | None], lines: list[str]
) -> list[tuple[str, str] | None]:
    """``split`` with the lines whose label begins two lines or more read as a speaker's too, whatever
    its letters: podscribe's TXT writes any name ("jane doe", "Tom & Jerry", "Ann Lee, PhD" were read
    as words), and plain text does not begin two lines with the same few words and a colon."""
    matches = [None if pair else _SPEAKER_LINE.match(_LEADING_TIME.sub("", line, count=1))
               for pair, line in zip(split, lines)]  # fmt: skip
    labels = [unicodedata.normalize("NFC", " ".join(m["label"].split())) if m else "" for m in matches]
    counts = Counter(labels)
    return [
        pair if pair or not label or counts[label] < 2 or len(label.split()) > _MAX_NAME_WORDS
        else (label, (m["text"] or "").strip() if m else "")
        for pair, label, m in zip(split, labels, matches)
    ]  # fmt: skip


def _split_speaker(line: str) -> tuple[str, str] | None:
    """(speaker, text) when the line starts with a speaker label, else None."""
    match = _SPEAKER_LINE.match(_LEADING_TIME.sub("", line, count=1))
    if not match:
        return None
    name = parse_speaker_label(match["label"])
    return (name, (match["text"] or "").strip()) if name else None


# ---- STM ----------------------------------------------------------------------------------------


def _parse_stm(path: str | os.PathLike[str], lines: list[tuple[int, str]]) -> Reference:
    """``<file> <channel> <speaker> <begin> <end> [<label>] <transcript>``; ``;;`` starts a comment."""
    rows: list[Utterance] = []
    ignored: list[tuple[float, float]] = []
    recordings: dict[str, None] = {}
    for n, line in lines:
        if not line.strip() or line.lstrip().startswith(";;"):
            continue
        fields = line.split(maxsplit=5)
        if len(fields) < 5:
            _fail(
                path,
                n,
                f"expected '<file> <channel> <speaker> <begin> <end> <transcript>', got {len(fields)} fields",
            )
        begin, end = _number(path, n, fields[3], "begin time"), _number(path, n, fields[4], "end time")
        if end < begin:
            _fail(path, n, f"end time {fields[4]} before begin time {fields[3]}")
        text = fields[5] if len(fields) > 5 else ""
        if text.startswith("<"):
            text = text.partition(">")[2]
        recordings.setdefault(fields[0], None)
        text = " ".join(text.split())
        if text.lower() == "ignore_time_segment_in_scoring":
            ignored.append((begin, end))
        elif fields[2] != "inter_segment_gap":
            rows.append(Utterance(fields[2], text, begin, end))
    if len(recordings) > 1:
        raise ReferenceFormatError(
            f"several recordings in one STM ({', '.join(recordings)}); give one per file", path
        )
    return Reference(tuple(sorted(rows, key=lambda u: (u.start, u.end))), tuple(sorted(ignored)))


# ---- CTM ----------------------------------------------------------------------------------------


def _parse_ctm(path: str | os.PathLike[str], lines: list[tuple[int, str]]) -> Reference:
    """``<file> <channel> <start> <duration> <word> [<confidence>]``, a word a line (NIST sclite's timed
    hypothesis); ``;;`` starts a comment. Words without speakers, in time order."""
    words: list[Utterance] = []
    recordings: dict[str, None] = {}
    for n, line in lines:
        if not line.strip() or line.lstrip().startswith(";;"):
            continue
        fields = line.split()
        if len(fields) not in (5, 6):
            _fail(path, n, f"expected '<file> <channel> <start> <duration> <word> [<confidence>]', got "
                           f"{len(fields)} fields")  # fmt: skip
        start, duration = _number(path, n, fields[2], "start time"), _number(path, n, fields[3], "duration")
        if start < 0 or duration < 0 or start + duration > MAX_SECONDS:
            _fail(path, n, f"a word at {fields[2]} s lasting {fields[3]} s is not a recording's time")
        recordings.setdefault(fields[0], None)
        words.append(Utterance(None, fields[4], start, start + duration))
    if len(recordings) > 1:
        raise ReferenceFormatError(
            f"several recordings in one CTM ({', '.join(recordings)}); give one per file", path
        )
    return Reference(tuple(sorted(words, key=lambda u: (u.start, u.end))))


# ---- subtitles ----------------------------------------------------------------------------------


def _parse_srt(path: str | os.PathLike[str], lines: list[tuple[int, str]]) -> Reference:
    text = "\n".join(line for _, line in lines) + "\n"
    try:
        subtitles = list(srt.parse(text))
    except (srt.SRTParseError, srt.TimestampParseError) as e:
        where = getattr(e, "expected_start", None)
        line = text[:where].count("\n") + 1 if where is not None else 1
        _fail(path, line, f"not valid SRT ({e})")
    utterances: list[Utterance] = []
    for sub in subtitles:
        start, end = sub.start.total_seconds(), sub.end.total_seconds()
        previous = utterances[-1].speaker if utterances else None
        utterances += _cue_utterances(sub.content.splitlines(), start, end, previous, _srt_plain)
    return Reference(tuple(utterances))


def _parse_vtt(path: str | os.PathLike[str], lines: list[tuple[int, str]]) -> Reference:
    blocks: list[list[tuple[int, str]]] = [[]]
    for n, line in lines:
        if line.strip():
            blocks[-1].append((n, line.strip()))
        elif blocks[-1]:
            blocks.append([])
    if not blocks[0] or not blocks[0][0][1].startswith("WEBVTT"):
        _fail(path, blocks[0][0][0] if blocks[0] else 1, "a WebVTT file must start with 'WEBVTT'")
    utterances: list[Utterance] = []
    for block in blocks[1:]:
        if not block or block[0][1].startswith(("NOTE", "STYLE", "REGION")):
            continue
        timing = next((i for i, (_, line) in enumerate(block[:2]) if "-->" in line), None)
        if timing is None:
            _fail(path, block[0][0], "cue without a 'start --> end' timing line")
        n, line = block[timing]
        left, _, right = line.partition("-->")
        start, end = _vtt_time(path, n, left.strip()), _vtt_time(path, n, (right.split() or [""])[0])
        previous = utterances[-1].speaker if utterances else None
        cue = [text for _, text in block[timing + 1 :]]
        utterances += _cue_utterances(cue, start, end, previous, _vtt_plain)
    return Reference(tuple(utterances))


def _vtt_time(path: str | os.PathLike[str], line: int, stamp: str) -> float:
    match = _VTT_TIME.match(stamp)
    if not match:
        _fail(path, line, f"bad timestamp {stamp!r}")
    h, m, s, ms = (int(g or 0) for g in match.groups())
    return h * 3600 + m * 60 + s + ms / 1000


def _cue_utterances(
    lines: list[str], start: float, end: float, previous: str | None, plain: Callable[[str], str]
) -> list[Utterance]:
    """Split a cue into speakers: ``- `` dialogue dashes, ``<v Name>`` voice tags, ``Name:`` prefixes;
    ``plain`` reads the format's text without its markup.

    A part without a name keeps the previous cue's speaker, except a dialogue part (a dash marks a
    change of speaker), whose speaker is unknown.
    """
    parts: list[tuple[bool, list[str]]] = []
    for line in lines:
        dash = _DIALOGUE_DASH.match(plain(line))
        if dash or not parts:
            parts.append((bool(dash), []))
        parts[-1][1].append(line)
    utterances = []
    for dialogue, part in parts:
        raw = " ".join(part).strip()
        voice = _VOICE_TAG.match(raw)
        text = " ".join(_DIALOGUE_DASH.sub("", plain(raw).strip()).split())
        named = _split_speaker(re.sub(r"^\[([^\]]+)\]\s*:", r"\1:", text))
        speaker = plain(voice[1]).strip() if voice else named[0] if named else None if dialogue else previous
        if named and not voice:
            text = named[1]
        if text:
            utterances.append(Utterance(speaker, text, start, end))
        previous = speaker
    return utterances


def _vtt_plain(text: str) -> str:
    """WebVTT cue text as read: tags dropped, escapes read (``&amp;`` is ``&``)."""
    return html.unescape(_VTT_TAG.sub("", text))


def _srt_plain(text: str) -> str:
    """SRT cue text as a player shows it: its tags and styling codes dropped, nothing else (SRT has no
    escapes: ``x < y`` and ``&amp;`` are text)."""
    return ASS_OVERRIDE.sub("", SRT_TAG.sub("", text))


_PARSERS: dict[str, Callable[[str | os.PathLike[str], list[tuple[int, str]]], Reference]] = {
    ".txt": _parse_text,
    ".stm": _parse_stm,
    ".ctm": _parse_ctm,
    ".srt": _parse_srt,
    ".vtt": _parse_vtt,
}

__all__ = [
    "ANNOTATIONS",
    "UNKNOWN_SPEAKER",
    "Reference",
    "Utterance",
    "load_hypothesis",
    "load_reference",
    "load_rttm",
    "parse_speaker_label",
]
