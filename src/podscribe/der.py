"""Diarization error: DER and JER (pyannote.metrics, the one DER implementation), and where errors lie.

``collar`` is the no-score zone on *each* side of every reference turn boundary (md-eval/dscore
convention, ``collar=0.25`` = ±0.25 s); pyannote.metrics' own ``collar`` is the total width, so it is
given ``2 * collar``. :func:`diarization_errors` locates the errors over time for the timeline figure:
it counts nothing, the figures come from :func:`diarization_scores`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from .transcript import Turn

ERROR_KINDS = ("missed speech", "false alarm", "speaker confusion")


@dataclass(frozen=True)
class DiarizationScores:
    """DER and JER at one collar (± seconds around reference boundaries), with DER's parts in seconds."""

    collar: float
    der: float
    jer: float
    missed: float
    false_alarm: float
    confusion: float
    speech: float  # reference speech scored (DER denominator)


def diarization_scores(
    reference: Sequence[Turn],
    hypothesis: Sequence[Turn],
    collar: float = 0.0,
    ignored: Sequence[tuple[float, float]] = (),
) -> DiarizationScores:
    """DER and JER of hypothesis turns against reference turns (pyannote.metrics, overlap scored), the
    ``ignored`` spans (a reference's unscored regions) left out."""
    from pyannote.core import Segment as PSegment
    from pyannote.core import Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

    ref, hyp = _annotation(reference), _annotation(hypothesis)
    turns = [*reference, *hypothesis]
    uem = Timeline([PSegment(min(t.start for t in turns), max(t.end for t in turns))])
    if ignored:
        uem = uem.extrude(Timeline([PSegment(a, b) for a, b in ignored]))
    width = 2 * collar  # pyannote.metrics: total collar width, centred on each boundary
    parts = DiarizationErrorRate(collar=width, skip_overlap=False)(ref, hyp, uem=uem, detailed=True)
    jer = JaccardErrorRate(collar=width, skip_overlap=False)(ref, hyp, uem=uem)
    return DiarizationScores(
        collar=collar,
        der=float(parts["diarization error rate"]),
        jer=float(jer),
        missed=float(parts["missed detection"]),
        false_alarm=float(parts["false alarm"]),
        confusion=float(parts["confusion"]),
        speech=float(parts["total"]),
    )


def _annotation(turns: Sequence[Turn]) -> Any:
    """The turns as a pyannote Annotation, each speaker's own overlapping turns merged: a speaker speaks or
    not (md-eval), where a track per turn scored a speaker's overlap with themself as an extra speaker."""
    from pyannote.core import Annotation
    from pyannote.core import Segment as PSegment

    annotation = Annotation(uri="recording")
    for track, turn in enumerate(turns):
        annotation[PSegment(turn.start, turn.end), track] = turn.speaker
    return annotation.support()



@dataclass(frozen=True)
class DiarizationErrors:
    """Where a hypothesis disagrees with a reference (no collar, overlap scored): time spans per error
    type, after mapping hypothesis speakers to reference speakers by :func:`optimal_mapping`."""

    mapping: dict[str, str]
    missed: tuple[tuple[float, float], ...] = ()
    false_alarm: tuple[tuple[float, float], ...] = ()
    confusion: tuple[tuple[float, float], ...] = ()


def optimal_mapping(reference: Sequence[Turn], hypothesis: Sequence[Turn]) -> dict[str, str]:
    """Map hypothesis speakers to reference speakers one-to-one, maximising total overlap."""
    refs = {s: j for j, s in enumerate(sorted({t.speaker for t in reference}))}
    hyps = {s: i for i, s in enumerate(sorted({t.speaker for t in hypothesis}))}
    overlap = np.zeros((len(hyps), len(refs)))
    for h in hypothesis:
        for r in reference:
            overlap[hyps[h.speaker], refs[r.speaker]] += max(0.0, min(h.end, r.end) - max(h.start, r.start))
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    hyp_ids, ref_ids = list(hyps), list(refs)
    return {hyp_ids[i]: ref_ids[j] for i, j in zip(rows, cols) if overlap[i, j] > 0}


def diarization_errors(reference: Sequence[Turn], hypothesis: Sequence[Turn]) -> DiarizationErrors:
    """Locate missed speech, false alarm and speaker confusion over time (no collar, overlap scored)."""
    mapping = optimal_mapping(reference, hypothesis)
    bounds = sorted({t for turn in (*reference, *hypothesis) for t in (turn.start, turn.end)})
    regions: dict[str, list[tuple[float, float]]] = {k: [] for k in ERROR_KINDS}
    for a, b in pairwise(bounds):
        mid = (a + b) / 2
        ref = {t.speaker for t in reference if t.start <= mid < t.end}
        hyp = {t.speaker for t in hypothesis if t.start <= mid < t.end}
        correct = len(ref & {mapping.get(h) for h in hyp})
        wrong = {
            "missed speech": len(ref) > len(hyp),
            "false alarm": len(hyp) > len(ref),
            "speaker confusion": min(len(ref), len(hyp)) > correct,
        }
        for kind in ERROR_KINDS:
            if wrong[kind]:
                _extend(regions[kind], a, b)
    return DiarizationErrors(
        mapping=mapping,
        missed=tuple(regions["missed speech"]),
        false_alarm=tuple(regions["false alarm"]),
        confusion=tuple(regions["speaker confusion"]),
    )


def _extend(spans: list[tuple[float, float]], a: float, b: float) -> None:
    if spans and spans[-1][1] == a:
        spans[-1] = (spans[-1][0], b)
    else:
        spans.append((a, b))
