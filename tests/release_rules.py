"""An independent check of an SRT file against the release rules of issue 4 (not podscribe's own checker).

Parses with the `srt` package and measures every cue: line width, line count, duration, gap to the
next cue, reading speed; then proves the cues' text, in order, is the transcript's words (whitespace,
no-break spaces and dialogue dashes aside), and that a cue holds two speakers only as a dash dialogue.

Reading speed: verbatim cues of fast speech cannot all stay under 20 characters per second (the
synthetic fixtures speak about 21 characters per second of speech). ``ok`` therefore asks that every
cue above 20 cps could not legally have been shown longer: its out-time is at the next cue (less the
gap), at 1.5 s after its last word, or at 7 s. ``meets_cps_target`` is the stricter "< 2 % of cues".
A cue under 0.8 s is held to the same test at both ends: ``ok`` accepts it only where it could legally
neither end later nor start earlier (after the previous cue's gap, at most 1.5 s before its first word).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import srt

from podscribe.transcript import Transcript

SPACES = re.compile(r"[\s\u00a0\u202f]+")


@dataclass
class ReleaseReport:
    cues: int = 0
    long_lines: list[int] = field(default_factory=list)
    too_many_lines: list[int] = field(default_factory=list)
    too_short: list[int] = field(default_factory=list)
    too_long: list[int] = field(default_factory=list)
    bad_gap: list[int] = field(default_factory=list)
    fast: list[int] = field(default_factory=list)  # above 20 characters per second
    fast_extendable: list[int] = field(default_factory=list)  # ... that could have been shown longer
    short_extendable: list[int] = field(default_factory=list)  # under 0.8 s, though it could have been longer
    mixed_speakers: list[int] = field(default_factory=list)  # two speakers, not as a dash dialogue
    words_match: bool = False

    def format(self) -> str:
        return (
            f"{self.cues} cues; >42 chars {len(self.long_lines)}, >2 lines {len(self.too_many_lines)}, "
            f"<0.8 s {len(self.too_short)} ({len(self.short_extendable)} extendable), "
            f">7 s {len(self.too_long)}, gap<2 frames {len(self.bad_gap)}, "
            f">20 cps {len(self.fast)} ({100 * len(self.fast) / max(self.cues, 1):.1f} %, "
            f"{len(self.fast_extendable)} of them extendable), "
            f"mixed speakers {len(self.mixed_speakers)}, words match {self.words_match}"
        )

    @property
    def ok(self) -> bool:
        hard = (self.long_lines, self.too_many_lines, self.short_extendable, self.too_long, self.bad_gap,
                self.mixed_speakers, self.fast_extendable)
        return self.words_match and not any(hard)

    @property
    def meets_cps_target(self) -> bool:
        return len(self.fast) < 0.02 * self.cues


def _strip_dash(line: str) -> str:
    return line.removeprefix("- ")


def _latest_end(cues: list[srt.Subtitle], i: int, last_word: float, fps: float) -> float:
    """The latest legal out-time of cue i: 1.5 s after its last word, 7 s after its in-time, the next
    cue's in-time less the gap."""
    caps = [last_word + 1.5, cues[i].start.total_seconds() + 7.0]
    if i + 1 < len(cues):
        caps.append(cues[i + 1].start.total_seconds() - 2 / fps)
    return min(caps)


def _earliest_start(cues: list[srt.Subtitle], i: int, first_word: float, fps: float) -> float:
    """The earliest legal in-time of cue i: 1.5 s before its first word, the previous cue's out-time
    plus the gap, or 0."""
    floors = [first_word - 1.5, 0.0]
    if i > 0:
        floors.append(cues[i - 1].end.total_seconds() + 2 / fps)
    return max(floors)


def check_release(srt_text: str, transcript: Transcript, fps: float = 25.0) -> ReleaseReport:
    cues = list(srt.parse(srt_text))
    report = ReleaseReport(cues=len(cues))
    min_gap = 2 / fps - 1e-6
    for i, cue in enumerate(cues):
        lines = cue.content.split("\n")
        duration = (cue.end - cue.start).total_seconds()
        if any(len(line) > 42 for line in lines):
            report.long_lines.append(i)
        if len(lines) > 2:
            report.too_many_lines.append(i)
        if duration < 0.8:
            report.too_short.append(i)
        if duration > 7.0:
            report.too_long.append(i)
        if i + 1 < len(cues) and (cues[i + 1].start - cue.end).total_seconds() < min_gap:
            report.bad_gap.append(i)
        if sum(len(line) for line in lines) / duration > 20:
            report.fast.append(i)

    # Words: the cues' characters (spaces and dialogue dashes aside) are the transcript's, in order.
    words = transcript.words
    owner: list[int] = []  # word index of each character of the transcript's text
    for k, w in enumerate(words):
        owner.extend([k] * len(SPACES.sub("", w.text)))
    text = "".join(SPACES.sub("", w.text) for w in words)
    position, shown = 0, []
    for i, cue in enumerate(cues):
        lines = cue.content.split("\n")
        dialogue = len(lines) == 2 and all(line.startswith("- ") for line in lines)
        chars = [SPACES.sub("", _strip_dash(line)) for line in lines]
        shown.append("".join(chars))
        span = set(owner[position : position + len(shown[-1])])
        speakers = {words[k].speaker for k in span}
        if span:
            latest_end = _latest_end(cues, i, max(words[k].end for k in span), fps)
            if i in report.fast and cue.end.total_seconds() < latest_end - 1 / fps - 1e-6:
                report.fast_extendable.append(i)
            earliest_start = _earliest_start(cues, i, min(words[k].start for k in span), fps)
            if i in report.too_short and (cue.end.total_seconds() < latest_end - 1 / fps - 1e-6
                                          or cue.start.total_seconds() > earliest_start + 1 / fps + 1e-6):
                report.short_extendable.append(i)
        if len(speakers) > 1:
            line_speakers = []
            for c in chars:
                line_speakers.append({words[k].speaker for k in owner[position : position + len(c)]})
                position += len(c)
            if not (dialogue and all(len(s) == 1 for s in line_speakers)):
                report.mixed_speakers.append(i)
        else:
            position += len(shown[-1])
    report.words_match = "".join(shown) == text
    return report
