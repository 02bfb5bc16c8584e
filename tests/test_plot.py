"""Speaker timeline figures, and the error regions they mark, checked against pyannote.metrics."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podscribe.errors import OptionError
from podscribe.der import diarization_errors, diarization_scores, optimal_mapping
from podscribe.plot import plot_timeline
from podscribe.transcript import Segment, Transcript, Turn, Word

REFERENCE = [Turn(0, 5, "Alice"), Turn(5, 9, "Bob"), Turn(8, 12, "Alice"), Turn(13, 20, "Carol")]
NAMES = {"S0": "Mathilde", "S1": "Romain", "S2": "Jérémy"}
HYPOTHESIS = [Turn(0.5, 5.5, "S0"), Turn(5.5, 12, "S1"), Turn(12.5, 16, "S2"), Turn(16, 21, "S1")]


def transcript() -> Transcript:
    segments = tuple(
        Segment.from_words(
            [Word(w, t.start + i, t.start + i + 0.8, 0.9, t.speaker) for i, w in enumerate(["un", "deux"])],
            t.speaker,
        )
        for t in HYPOTHESIS
    )
    return Transcript(segments, duration=22.0, audio="épisode.mp3", names=NAMES)


@pytest.mark.parametrize("suffix", [".png", ".svg"])
@pytest.mark.parametrize("with_reference", [False, True])
def test_figure_is_written(tmp_path, suffix: str, with_reference: bool) -> None:
    out = plot_timeline(
        transcript(),
        REFERENCE if with_reference else None,
        out_path=tmp_path / f"t{suffix}",
        title="Épisode 1",
    )
    data = out.read_bytes()
    assert len(data) > 5000
    if suffix == ".png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        text = data.decode("utf-8")
        assert "<svg" in text and "Mathilde" in text and "Épisode 1" in text
        assert ("Alice" in text and "speaker confusion" in text) is with_reference


def test_plain_turns_are_accepted(tmp_path) -> None:
    out = plot_timeline(HYPOTHESIS, out_path=tmp_path / "turns.svg")
    assert "S2" in out.read_text(encoding="utf-8")


def test_unsupported_format_is_an_option_error(tmp_path) -> None:
    with pytest.raises(OptionError):
        plot_timeline(HYPOTHESIS, out_path=tmp_path / "t.jpg")


def test_speaker_turns_come_from_segments_when_the_transcript_has_none() -> None:
    assert transcript().speaker_turns() == sorted(
        Turn(s.start, s.end, s.speaker) for s in transcript().segments
    )


def test_errors_on_a_hand_computed_example() -> None:
    e = diarization_errors(REFERENCE, HYPOTHESIS)
    assert e.mapping == {"S0": "Alice", "S1": "Bob", "S2": "Carol"}
    assert e.missed == ((0, 0.5), (8, 9))
    assert e.false_alarm == ((12.5, 13), (20, 21))
    assert e.confusion == ((5, 5.5), (9, 12), (16, 20))
    scores = diarization_scores(REFERENCE, HYPOTHESIS)  # the figures the plot prints beside the regions
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
