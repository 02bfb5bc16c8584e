"""Word scores: edit-distance counts and alignment (jiwer), worst regions, and cpWER per speaker pair.

cpWER and its speaker assignment come from meeteval (Hungarian assignment of hypothesis speakers to
reference speakers minimising word errors).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jiwer

from .normalizer import Normalizer
from .reference import Reference


@dataclass(frozen=True)
class WordErrors:
    """Edit-distance counts between a reference and a hypothesis word sequence."""

    ref_words: int = 0
    hyp_words: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float:
        """errors / reference words; with an empty reference, the number of insertions (jiwer 4)."""
        return self.errors / max(self.ref_words, 1)


@dataclass(frozen=True)
class Region:
    """A window of the alignment with many errors: reference vs hypothesis, errors in CAPITALS, *** = missing."""

    position: int  # index of the window's first reference word (normalised text, from 0)
    errors: int
    reference: str
    hypothesis: str


def align(reference: str, hypothesis: str) -> tuple[WordErrors, list[tuple[str | None, str | None]]]:
    """Word errors and the aligned (reference word, hypothesis word) pairs of two normalised texts."""
    out = jiwer.process_words(reference, hypothesis)
    ref, hyp = out.references[0], out.hypotheses[0]
    pairs: list[tuple[str | None, str | None]] = []
    for chunk in out.alignments[0]:
        r = ref[chunk.ref_start_idx : chunk.ref_end_idx]
        h = hyp[chunk.hyp_start_idx : chunk.hyp_end_idx]
        if chunk.type == "delete":
            pairs += [(w, None) for w in r]
        elif chunk.type == "insert":
            pairs += [(None, w) for w in h]
        else:
            pairs += list(zip(r, h))
    counts = WordErrors(len(ref), len(hyp), out.substitutions, out.deletions, out.insertions)
    return counts, pairs


def worst_regions(
    pairs: Sequence[tuple[str | None, str | None]], count: int = 5, width: int = 12
) -> list[Region]:
    """The ``count`` non-overlapping windows of ``width`` aligned words holding the most errors."""
    cumulative = [0]
    for r, h in pairs:
        cumulative.append(cumulative[-1] + (r != h))

    def errors_from(start: int) -> int:
        return cumulative[min(start + width, len(pairs))] - cumulative[start]

    chosen: list[int] = []
    for start in sorted(range(max(len(pairs) - width, 0) + 1), key=lambda s: (-errors_from(s), s)):
        if len(chosen) == count or errors_from(start) == 0:
            break
        if all(abs(start - c) >= width for c in chosen):
            chosen.append(start)
    regions = []
    for start in sorted(chosen):
        ref_cells, hyp_cells = [], []
        for r, h in pairs[start : start + width]:
            size = max(len(r or ""), len(h or ""), 3)
            ref_cells.append(_cell(r, r != h, size))
            hyp_cells.append(_cell(h, r != h, size))
        position = sum(r is not None for r, _ in pairs[:start])
        regions.append(
            Region(position, errors_from(start), " ".join(ref_cells).rstrip(), " ".join(hyp_cells).rstrip())
        )
    return regions


def _cell(word: str | None, wrong: bool, size: int) -> str:
    return ("*" * size if word is None else word.upper() if wrong else word).ljust(size)


@dataclass(frozen=True)
class SpeakerScore:
    """Word errors of one reference speaker against the hypothesis speaker assigned to them (cpWER pair)."""

    reference: str | None  # None: a hypothesis speaker left without a reference speaker
    hypothesis: str | None  # None: a reference speaker no hypothesis speaker was assigned to
    errors: WordErrors

    @property
    def wer(self) -> float | None:
        """The pair's word error rate; None for a hypothesis speaker without a reference speaker (no words
        to divide by: its insertions count in cpWER, as a rate they would read 200 %)."""
        return self.errors.wer if self.errors.ref_words else None


def cp_scores(ref_by: Mapping[str, str], hyp_by: Mapping[str, str]) -> tuple[float, list[SpeakerScore]]:
    """cpWER (meeteval) of normalised per-speaker texts, with each assigned pair's own word errors."""
    from meeteval.wer import cp_word_error_rate

    cp = cp_word_error_rate(dict(ref_by), dict(hyp_by), reference_sort=False, hypothesis_sort=False)
    scores = [SpeakerScore(r, h, align(ref_by.get(r, ""), hyp_by.get(h, ""))[0]) for r, h in cp.assignment]
    return cp.errors / max(cp.length, 1), scores


def normalised_by_speaker(transcript: Reference, normalizer: Normalizer) -> dict[str, str]:
    """Speaker -> all that speaker says, normalised (the input of :func:`cp_scores`)."""
    return {spk: normalizer(text) for spk, text in transcript.by_speaker().items()}
