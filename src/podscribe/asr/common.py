"""What both Whisper adapters share: turning engine segments into podscribe Segments, with guardrails.

Engines hand over segments in openai-whisper's layout (``words`` of ``word/start/end/probability``,
``avg_logprob``, ``no_speech_prob``); faster-whisper's dataclasses convert to it with ``asdict``.
Guardrails, the same for every engine and decoding mode:
- a segment Whisper itself would call silence (no-speech probability above the threshold and a low
  average log-probability) is dropped; faster-whisper's batched mode does not check this itself;
- repetition loops (the same 1..4 words said 4 or more times in a row, or 5..40 words 3 or more
  times: whole hallucinated sentences, often with no duration) keep their first occurrence,
  and so do loops inside one word (a 2..12-character piece 4+ times with no space: "M.A.P.A.P.A.P…");
- a word that is only punctuation (French " !", " »", "« ") is attached to its neighbour
  (``transcript.attach_punctuation``: "Bonjour\u00a0!", the space kept as a no-break space), whose
  times it takes: no word is a mark alone, and no mark stretches over a pause; a word of symbols
  only ("♪") takes no time: it sits at the end of the word before;
- word texts are stripped, empty words dropped, and times made monotonic (a word starts no earlier
  than the previous one ends), clipped into [0, duration], and no word lasts over MAX_WORD_S (Whisper
  stretches a word over a following pause or music, up to 20 s seen, which would hold subtitles).
Whisper's words are pieces between token boundaries: French "d'un" arrives as " d" + "'un". A piece
with no leading space is glued to the word before it, so words are the text's whitespace-separated
words (as in reference transcripts), marks attached; not for languages written without spaces
(Chinese, Japanese...), where only marks are attached, with no space.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from ..transcript import Segment, Word, attach_punctuation
from ..writing import ATTACHED_SPACE, UNSPACED_LANGUAGES
from . import ASROptions

logger = logging.getLogger(__name__)

MAX_WORD_S = 3.0  # seconds; longer word durations are alignment errors
LOOP_MIN_REPEATS = 4
LOOP_LONG_WORDS = 5  # n-grams this long or longer are a loop from LOOP_LONG_REPEATS repeats
LOOP_LONG_REPEATS = 3
LOOP_MAX_WORDS = 40
IN_WORD_LOOP = re.compile(rf"(.{{2,12}}?)\1{{{LOOP_MIN_REPEATS - 1},}}")


def build_segments(
    raw: Iterable[Mapping[str, Any]], duration: float, options: ASROptions, language: str
) -> tuple[Segment, ...]:
    """Engine segments (openai-whisper layout) -> podscribe Segments, after the guardrails above."""
    glue = language not in UNSPACED_LANGUAGES
    groups = attach_punctuation(
        [_words(seg, glue) for seg in raw if not is_silence(seg, options)], ATTACHED_SPACE if glue else ""
    )
    keep = iter(_loop_free(_norm(w.text) for group in groups for w in group))
    segments: list[Segment] = []
    previous_end = 0.0
    for group in groups:
        kept: list[Word] = []
        for w in group:
            if next(keep):
                start = min(max(w.start, previous_end, 0.0), duration)
                end = min(max(w.end, start), start + MAX_WORD_S, duration)
                kept.append(Word(w.text, start, end, w.probability))
                previous_end = end
        if kept:
            segments.append(Segment.from_words(kept))
    return tuple(segments)


def _words(seg: Mapping[str, Any], glue: bool) -> list[Word]:
    """A segment's words, stripped, empty ones dropped; with ``glue``, pieces without a leading space
    join the word before (probability: the lower of the two)."""
    words: list[Word] = []
    for w in seg.get("words") or ():
        word = Word(w["word"].strip(), float(w["start"]), float(w["end"]), float(w.get("probability", 1.0)))
        if not word.text:
            continue
        if glue and words and not w["word"][:1].isspace():
            last = words.pop()
            word = Word(last.text + word.text, last.start, word.end, min(last.probability, word.probability))
        words.append(word)
    return [_tidy(w, words[i - 1] if i else None) for i, w in enumerate(words)]


def _tidy(word: Word, previous: Word | None) -> Word:
    """A word with in-word loops cut to their first occurrence; one without letters or digits made
    instantaneous (punctuation is attached to its neighbour afterwards)."""
    text = IN_WORD_LOOP.sub(r"\1", word.text)
    if text != word.text:
        logger.warning("removed a repetition loop inside a word: %r -> %r", word.text[:40], text)
    if not any(c.isalnum() for c in text):
        at = previous.end if previous is not None else word.start
        return Word(text, at, at, word.probability)
    return Word(text, word.start, word.end, word.probability)


def first_line(error: BaseException) -> str:
    """An exception's message cut to its first line (engines' errors can span many)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


class SilenceThresholds(Protocol):
    """Whisper's two silence thresholds, as ASROptions and faster-whisper's TranscriptionOptions both hold them."""

    @property
    def no_speech_threshold(self) -> float: ...

    @property
    def log_prob_threshold(self) -> float: ...


def is_silence(seg: Mapping[str, Any], options: SilenceThresholds) -> bool:
    """Whether Whisper itself calls a raw segment (or one window's output) silence: its no-speech probability
    and mean log probability past the options' thresholds. Its words are dropped."""
    silent = (
        seg.get("no_speech_prob", 0.0) > options.no_speech_threshold
        and seg.get("avg_logprob", 0.0) < options.log_prob_threshold
    )
    if silent:
        logger.debug("Whisper calls this silence (no-speech p=%.2f, mean log p=%.2f): %r",
                     seg.get("no_speech_prob", 0.0), seg.get("avg_logprob", 0.0), seg.get("text", "a window"))
    return silent


def _loop_free(texts: Iterable[str]) -> list[bool]:
    """Which words to keep: in any run of one n-gram repeated into a loop (see above), only the first."""
    seq = list(texts)
    keep = [True] * len(seq)
    i = 0
    while i < len(seq):
        for n in range(1, LOOP_MAX_WORDS + 1):
            repeats = _repeats(seq, i, n)
            if repeats >= (LOOP_MIN_REPEATS if n < LOOP_LONG_WORDS else LOOP_LONG_REPEATS):
                logger.warning(
                    "removed a repetition loop: %r said %d times", " ".join(seq[i : i + n]), repeats
                )
                for j in range(i + n, i + n * repeats):
                    keep[j] = False
                i += n * repeats - 1
                break
        i += 1
    return keep


def _repeats(seq: Sequence[str], i: int, n: int) -> int:
    """How many times seq[i:i+n] occurs back to back from i."""
    gram = seq[i : i + n]
    if len(gram) < n:
        return 0
    count = 1
    while seq[i + count * n : i + (count + 1) * n] == gram:
        count += 1
    return count


def _norm(text: str) -> str:
    """Case- and punctuation-blind form of a word, for spotting repetitions."""
    return re.sub(r"[^\w']+", "", text.lower()) or text
