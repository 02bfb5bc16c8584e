"""Data model: JSON round trip, schema, load errors, speaker turns and names."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podscribe.errors import InputError
from podscribe.transcript import SCHEMA, Segment, Transcript, Turn, Word

from conftest import sample_transcript


def test_json_round_trip_and_schema():
    t = sample_transcript()
    d = json.loads(t.to_json())
    assert d["schema"] == SCHEMA == "podscribe.transcript/1"
    assert {"duration", "language", "model", "segments"} <= set(d)
    seg = d["segments"][0]
    assert {"start", "end", "speaker", "text", "words"} <= set(seg)
    assert {"start", "end", "text", "probability", "speaker"} <= set(seg["words"][0])
    assert d["segments"][1]["overlap"] == ["SPEAKER_00"]
    assert Transcript.from_dict(d) == t


words = st.lists(
    st.tuples(
        st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=8),
        st.floats(0, 100),
        st.floats(0, 5),
        st.floats(0, 1),
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=100, deadline=None)
@given(words)
def test_json_round_trip_any_text(spec):
    ws = [Word(t, round(a, 3), round(a + d, 3), round(p, 4)) for t, a, d, p in spec]
    t = Transcript(segments=(Segment.from_words(ws),), duration=200.0)
    assert Transcript.from_dict(json.loads(t.to_json())) == t


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        Transcript.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "other"}')
    with pytest.raises(InputError, match="bad.json: not a podscribe transcript"):
        Transcript.load(bad)


def test_speaker_turns_come_from_segments_when_the_transcript_has_none():
    """One turn per attributed segment, sorted by time; a segment without a speaker gives none."""
    segments = (
        Segment(12.5, 14.3, "trois", speaker="S2"),
        Segment(0.5, 2.3, "un", speaker="S0"),
        Segment(3.0, 4.0, "musique"),  # no speaker: no turn
        Segment(5.5, 7.3, "deux", speaker="S1"),
    )
    transcript = Transcript(segments, duration=20.0)
    assert transcript.speaker_turns() == [Turn(0.5, 2.3, "S0"), Turn(5.5, 7.3, "S1"), Turn(12.5, 14.3, "S2")]
    with_turns = Transcript(segments, duration=20.0, turns=(Turn(9, 10, "S1"), Turn(1, 2, "S0")))
    assert with_turns.speaker_turns() == [Turn(1, 2, "S0"), Turn(9, 10, "S1")]  # diarization turns win, sorted

