"""Speaker timeline figures, and the error regions they mark, checked against pyannote.metrics."""

from __future__ import annotations

import pytest

from podscribe.errors import OptionError
from podscribe.plot import plot_timeline
from podscribe.transcript import Segment, Transcript, Turn, Word

from conftest import TIMELINE_HYPOTHESIS, TIMELINE_REFERENCE

NAMES = {"S0": "Mathilde", "S1": "Romain", "S2": "Jérémy"}


def transcript() -> Transcript:
    segments = tuple(
        Segment.from_words(
            [Word(w, t.start + i, t.start + i + 0.8, 0.9, t.speaker) for i, w in enumerate(["un", "deux"])],
            t.speaker,
        )
        for t in TIMELINE_HYPOTHESIS
    )
    return Transcript(segments, duration=22.0, audio="épisode.mp3", names=NAMES)


@pytest.mark.parametrize("suffix", [".png", ".svg"])
@pytest.mark.parametrize("with_reference", [False, True])
def test_figure_is_written(tmp_path, suffix: str, with_reference: bool) -> None:
    out = plot_timeline(
        transcript(),
        TIMELINE_REFERENCE if with_reference else None,
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


def test_overlap_spans_and_row(tmp_path) -> None:
    from podscribe.plot import overlap_spans

    assert overlap_spans(TIMELINE_HYPOTHESIS) == []  # touching turns are not overlap
    turns = [Turn(0, 5, "A"), Turn(4, 6, "B"), Turn(4.5, 5.5, "C"), Turn(5, 8, "A"), Turn(10, 11, "B")]
    assert overlap_spans(turns) == [(4, 6)]
    svg = plot_timeline(turns, out_path=tmp_path / "overlap.svg").read_text(encoding="utf-8")
    assert "overlap (2.0 s)" in svg
    plain = plot_timeline(TIMELINE_HYPOTHESIS, out_path=tmp_path / "plain.svg").read_text(encoding="utf-8")
    assert "overlap (" not in plain


def test_plain_turns_are_accepted(tmp_path) -> None:
    out = plot_timeline(TIMELINE_HYPOTHESIS, out_path=tmp_path / "turns.svg")
    assert "S2" in out.read_text(encoding="utf-8")


def test_unsupported_format_is_an_option_error(tmp_path) -> None:
    with pytest.raises(OptionError):
        plot_timeline(TIMELINE_HYPOTHESIS, out_path=tmp_path / "t.jpg")










