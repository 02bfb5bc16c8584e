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










def test_every_short_span_of_a_long_show_is_drawn(tmp_path) -> None:
    """On a 2-hour figure a 0.6-s overlap is 0.15 px wide: 40-50 of 360 were drawn. Each bar is now at least
    a pixel (its edge), so the overlap row shows every one, apart from its neighbours."""
    import numpy as np
    from matplotlib.image import imread

    turns = [Turn(20.0 * k, 20.0 * k + 10.3, "A") for k in range(360)]
    turns += [Turn(20.0 * k + 9.7, 20.0 * k + 19.0, "B") for k in range(360)]  # 0.6 s over A's end, each
    image = imread(plot_timeline(turns, out_path=tmp_path / "long.png"))[..., :3]
    grey = np.all(np.abs(image - np.array([0x86, 0x8E, 0x96]) / 255) < 0.02, axis=2)  # the overlap colour
    row = grey[int(np.argmax(grey.sum(axis=1)))]
    runs = np.count_nonzero(row[1:] & ~row[:-1]) + bool(row[0])
    assert runs >= 340, runs  # (a few may touch at 1800 px for 7200 s: 4 px between two)


def test_a_transcript_without_speakers_is_refused(tmp_path) -> None:
    """It drew an empty figure with matplotlib's warning about identical limits."""
    from podscribe.errors import InputError

    words = (Word("oui", 0.0, 0.5), Word("non", 0.6, 1.0))
    plain = Transcript((Segment.from_words(words),), duration=2.0, audio="x.mp3")
    with pytest.raises(InputError, match="no speaker turns to draw"):
        plot_timeline(plain, out_path=tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()
