"""DER and JER against pyannote.metrics, the collar, and where the timeline marks errors."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podscribe.der import diarization_errors, diarization_scores, optimal_mapping
from podscribe.reference import load_rttm
from podscribe.report import evaluate
from podscribe.transcript import Turn

from conftest import (
    DATA,
    TIMELINE_HYPOTHESIS,
    TIMELINE_REFERENCE,
    distorted_turns,
    plain_reference,
    write_rttm,
)

INTERVIEW = DATA / "interview.fr.txt"
INTERVIEW_RTTM = DATA / "interview.fr.rttm"


def test_der_matches_pyannote_metrics_on_rttm_pairs(tmp_path):
    from pyannote.database.util import load_rttm as pyannote_rttm
    from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

    hyp_path = write_rttm(tmp_path / "hyp.rttm", distorted_turns(load_rttm(INTERVIEW_RTTM)))
    report = evaluate(
        INTERVIEW, INTERVIEW, reference_turns=INTERVIEW_RTTM, hypothesis_turns=hyp_path, collar=0.25
    )
    # a speaker speaks or not (md-eval): each speaker's own overlapping turns merged on both sides
    reference = pyannote_rttm(INTERVIEW_RTTM)["interview.fr"].support()
    hypothesis = pyannote_rttm(hyp_path)["rec"].support()
    # pyannote.metrics' collar is the total width around each boundary: ±0.25 s is collar=0.5
    assert report.der == pytest.approx(
        DiarizationErrorRate(collar=0.5, skip_overlap=False)(reference, hypothesis), abs=1e-9
    )
    assert report.jer == pytest.approx(
        JaccardErrorRate(collar=0.5, skip_overlap=False)(reference, hypothesis), abs=1e-9
    )
    assert report.der_collar0 == pytest.approx(DiarizationErrorRate()(reference, hypothesis), abs=1e-9)
    assert report.jer_collar0 == pytest.approx(JaccardErrorRate()(reference, hypothesis), abs=1e-9)
    assert 0 < report.der < report.der_collar0 < 1
    zero, quarter = report.diarization
    assert (zero.collar, quarter.collar) == (0.0, 0.25)
    assert quarter.missed + quarter.false_alarm + quarter.confusion == pytest.approx(
        report.der * quarter.speech
    )


def test_der_zero_against_itself():
    report = evaluate(INTERVIEW, INTERVIEW, reference_turns=INTERVIEW_RTTM, hypothesis_turns=INTERVIEW_RTTM)
    assert report.der == report.der_collar0 == report.jer == report.jer_collar0 == 0.0


def test_a_speakers_own_overlapping_turns_count_once():
    """A speaker speaks or not (md-eval): two overlapping turns of one speaker, on either side, were scored as
    two voices (DER 16.7 % against one 0-10 s turn: 2 s missed; as false alarm on the other side)."""
    one, split = [Turn(0.0, 10.0, "A")], [Turn(0.0, 6.0, "A"), Turn(4.0, 10.0, "A")]
    x = plain_reference("x")
    for ref, hyp in ((split, one), (one, split), (split, split)):
        report = evaluate(x, x, reference_turns=ref, hypothesis_turns=hyp, collar=0.0)
        assert report.der == report.jer == 0.0 and report.diarization[0].speech == 10.0
    two = evaluate(x, x, reference_turns=one, hypothesis_turns=[*split, Turn(4.0, 6.0, "B")], collar=0.0)
    assert two.der == pytest.approx(0.2)  # another voice in the overlap is still a false alarm


def test_collar_is_plus_minus():
    reference = [Turn(0.0, 10.0, "a"), Turn(10.0, 20.0, "b")]
    hypothesis = [Turn(0.0, 10.2, "x"), Turn(10.2, 20.0, "y")]  # boundary 0.2 s late
    at_quarter = evaluate(
        plain_reference("x"), plain_reference("x"), reference_turns=reference, hypothesis_turns=hypothesis, collar=0.25
    )
    assert at_quarter.der_collar0 == pytest.approx(0.2 / 20)
    assert at_quarter.der == 0.0  # 0.2 s lies inside ±0.25 s
    at_tenth = evaluate(
        plain_reference("x"), plain_reference("x"), reference_turns=reference, hypothesis_turns=hypothesis, collar=0.1
    )
    # 0.1 s of confusion left; 0.4 s of speech not scored (±0.1 s around 10 s, and inside the ends 0 s and 20 s)
    assert at_tenth.der == pytest.approx(0.1 / 19.6)


def test_errors_on_a_hand_computed_example() -> None:
    e = diarization_errors(TIMELINE_REFERENCE, TIMELINE_HYPOTHESIS)
    assert e.mapping == {"S0": "Alice", "S1": "Bob", "S2": "Carol"}
    assert e.missed == ((0, 0.5), (8, 9))
    assert e.false_alarm == ((12.5, 13), (20, 21))
    assert e.confusion == ((5, 5.5), (9, 12), (16, 20))
    scores = diarization_scores(TIMELINE_REFERENCE, TIMELINE_HYPOTHESIS)  # the figures the plot prints beside the regions
    assert (scores.missed, scores.false_alarm, scores.confusion) == pytest.approx((1.5, 1.5, 7.5))
    assert scores.speech == pytest.approx(20.0) and scores.der == pytest.approx(10.5 / 20)


def _turns(draw: st.DrawFn, speakers: str) -> list[Turn]:
    """Non-overlapping turns per speaker (speakers may overlap each other), on a 0.1 s grid."""
    turns = []
    for s in speakers:
        bounds = sorted(set(draw(st.lists(st.integers(0, 300), min_size=0, max_size=8))))
        turns += [Turn(a / 10, b / 10, s) for a, b in zip(bounds[::2], bounds[1::2])]
    return turns


@st.composite
def ref_and_hyp(draw: st.DrawFn) -> tuple[list[Turn], list[Turn]]:
    return _turns(draw, "ABC"), _turns(draw, "xyzw")


@settings(max_examples=40, deadline=None)
@given(ref_and_hyp())
def test_error_regions_agree_with_pyannote_metrics(pair: tuple[list[Turn], list[Turn]]) -> None:
    """Each lane marks time exactly where pyannote.metrics counts that error: never more time than it
    counts (an error second weighs at least one), and some time whenever it counts any."""
    from pyannote.core import Annotation
    from pyannote.core import Segment as PSegment
    from pyannote.metrics.diarization import DiarizationErrorRate

    reference, hypothesis = pair

    def annotation(turns: list[Turn]) -> Annotation:
        a = Annotation()
        for i, t in enumerate(turns):
            a[PSegment(t.start, t.end), i] = t.speaker
        return a

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = DiarizationErrorRate(collar=0.0, skip_overlap=False)(
            annotation(reference), annotation(hypothesis), detailed=True
        )
    e = diarization_errors(reference, hypothesis)
    for spans, key in ((e.missed, "missed detection"), (e.false_alarm, "false alarm"), (e.confusion, "confusion")):
        marked = sum(b - a for a, b in spans)
        assert marked <= expected[key] + 1e-6
        assert (marked > 1e-9) == (expected[key] > 1e-9)
    assert set(e.mapping) <= {t.speaker for t in hypothesis} and len(set(e.mapping.values())) == len(
        e.mapping
    )


def test_mapping_maximises_total_overlap() -> None:
    ref = [Turn(0, 9, "A"), Turn(9, 13, "B")]
    hyp = [Turn(0, 5, "h1"), Turn(5, 9, "h2"), Turn(9, 13, "h1")]  # greedy: h1→A alone (5 s); optimal 8 s
    assert optimal_mapping(ref, hyp) == {"h1": "B", "h2": "A"}
