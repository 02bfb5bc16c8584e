"""Words x speaker turns -> speaker-attributed segments.

Each word gets the speaker whose turns overlap it most (the nearest turn within ``word_reach`` when
it falls in a gap), or, where turns overlap, the speaker whose clip it was read in (``Word.speaker``
from the recogniser) when that speaker's turns cover at least ``overlap_min`` of it. Segments are
then split wherever the speaker changes, so a segment never mixes speakers; words that another
speaker talks over are flagged on their segment's ``overlap``.
A speaker change that lands one or two words away from a sentence end is moved onto that sentence
end, because diarization boundaries are coarser than Whisper's punctuation.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .transcript import Segment, Turn, Word, speaker_id
from .writing import ends_sentence


@dataclass(frozen=True)
class AssignOptions:
    """How words meet turns; ``snap_words=0`` turns boundary snapping off."""

    word_reach: float = 1.0  # a word in a gap takes the nearest turn within this distance
    overlap_min: float = 0.5  # share of a word another speaker must cover to flag overlap
    snap_words: int = 2  # move a speaker change onto a sentence end at most this many words away


class _TurnIndex:
    """Turns sorted by start, answering 'which turns touch [a, b]' without a full scan."""

    def __init__(self, turns: Sequence[Turn]) -> None:
        self.turns = sorted(turns)
        self.starts = [t.start for t in self.turns]
        self.longest = max((t.duration for t in self.turns), default=0.0)

    def near(self, start: float, end: float, margin: float) -> list[Turn]:
        hi = bisect.bisect_right(self.starts, end + margin)
        lo = bisect.bisect_left(self.starts, start - margin - self.longest)
        return [t for t in self.turns[lo:hi] if t.end >= start - margin]


def _speaker_of(word: Word, index: _TurnIndex, options: AssignOptions) -> tuple[str | None, tuple[str, ...]]:
    """The word's speaker and the other speakers covering at least ``overlap_min`` of it."""
    candidates = index.near(word.start, word.end, options.word_reach)
    if not candidates:
        return None, ()
    cover: dict[str, float] = {}
    for t in candidates:
        cover[t.speaker] = cover.get(t.speaker, 0.0) + max(0.0, min(t.end, word.end) - max(t.start, word.start))
    best = max(cover, key=lambda s: cover[s])
    span = max(word.duration, 1e-3)
    if word.speaker is not None and cover.get(word.speaker, 0.0) >= options.overlap_min * span:
        best = word.speaker  # read in its speaker's clip, and that speaker talks over it (overlapping turns)
    if cover[best] <= 0.0:
        mid = (word.start + word.end) / 2
        nearest = min(candidates, key=lambda t: max(t.start - mid, mid - t.end, 0.0))
        gap = max(nearest.start - word.end, word.start - nearest.end, 0.0)
        return (nearest.speaker if gap <= options.word_reach else None), ()
    others = tuple(s for s, c in cover.items() if s != best and c / span >= options.overlap_min)
    return best, others


def _snap_to_sentences(words: list[Word], speakers: list[str | None], max_words: int) -> list[str | None]:
    """Move each speaker change to a sentence end at most ``max_words`` words away, if one is there."""
    out = list(speakers)
    ends = {i for i, w in enumerate(words) if ends_sentence(w.text)}
    for i in range(1, len(words)):
        prev, cur = out[i - 1], out[i]
        if prev == cur or prev is None or cur is None or (i - 1) in ends:
            continue
        # a sentence end just before the change: the words between belong to the new speaker
        for k in range(1, max_words + 1):
            j = i - 1 - k
            if j >= 0 and j in ends and all(out[m] == prev for m in range(j + 1, i)):
                for m in range(j + 1, i):
                    out[m] = cur
                break
            # a sentence end just after the change: the words up to it belong to the old speaker
            j = i - 1 + k
            if j < len(words) and j in ends and all(out[m] == cur for m in range(i, j + 1)):
                for m in range(i, j + 1):
                    out[m] = prev
                break
    return out


def assign_speakers(
    segments: Sequence[Segment], turns: Sequence[Turn], options: AssignOptions = AssignOptions()
) -> tuple[Segment, ...]:
    """Attribute every word to a speaker and split segments at speaker changes (no word lost or added)."""
    index = _TurnIndex(turns)
    words = [w for s in segments for w in s.words]
    picks = [_speaker_of(w, index, options) for w in words]
    speakers = [p[0] for p in picks]
    if options.snap_words > 0:
        speakers = _snap_to_sentences(words, speakers, options.snap_words)

    out: list[Segment] = []
    i = 0
    for seg in segments:
        if not seg.words:
            out.append(seg)
            continue
        run: list[Word] = []
        run_overlap: dict[str, None] = {}
        for w in seg.words:
            spk, others = speakers[i], picks[i][1]
            i += 1
            if run and run[-1].speaker != spk:
                out.append(Segment.from_words(run, speaker=run[-1].speaker, overlap=run_overlap))
                run, run_overlap = [], {}
            run.append(replace(w, speaker=spk))
            for o in others:
                if o != spk:
                    run_overlap.setdefault(o, None)
        out.append(Segment.from_words(run, speaker=run[-1].speaker, overlap=run_overlap))
    return tuple(out)


def relabel(segments: Sequence[Segment], turns: Sequence[Turn]) -> tuple[tuple[Segment, ...], tuple[Turn, ...]]:
    """Rename speakers SPEAKER_00, SPEAKER_01 ... in order of first appearance in the words."""
    order: dict[str, str] = {}
    for s in segments:
        for w in s.words:
            if w.speaker is not None and w.speaker not in order:
                order[w.speaker] = speaker_id(len(order))
    for t in sorted(turns):
        if t.speaker not in order:
            order[t.speaker] = speaker_id(len(order))

    def seg(s: Segment) -> Segment:
        return replace(
            s,
            speaker=order.get(s.speaker, s.speaker) if s.speaker else None,
            overlap=tuple(order[o] for o in s.overlap),
            words=tuple(replace(w, speaker=order[w.speaker]) if w.speaker else w for w in s.words),
        )

    return tuple(seg(s) for s in segments), tuple(replace(t, speaker=order[t.speaker]) for t in turns)
