"""Data model: JSON round trip, schema, and the TXT/RTTM/JSON writers with their atomic, no-overwrite writing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podscribe.errors import InputError, OptionError, OutputError
from podscribe.transcript import SCHEMA, Segment, Transcript, Turn, Word
from podscribe.writers import OutputOptions, parse_formats, render_rttm, render_txt, write_outputs


def _transcript() -> Transcript:
    a = Segment.from_words(
        [Word("Salut", 0.5, 0.9, 0.9, "SPEAKER_00"), Word("Romain.", 0.9, 1.4, 0.8, "SPEAKER_00")],
        speaker="SPEAKER_00",
    )
    b = Segment.from_words(
        [Word("Salut.", 2.0, 2.5, 0.95, "SPEAKER_01")], speaker="SPEAKER_01", overlap=["SPEAKER_00"]
    )
    c = Segment.from_words(
        [Word("Tu", 3.0, 3.2, 0.9, "SPEAKER_00"), Word("vas", 3.2, 3.5, 0.9, "SPEAKER_00")],
        speaker="SPEAKER_00",
    )
    return Transcript(
        segments=(a, b, c),
        duration=4.0,
        language="fr",
        model="faster-whisper/base",
        audio="x/short.opus",
        turns=(Turn(0.4, 1.5, "SPEAKER_00"), Turn(1.9, 2.6, "SPEAKER_01"), Turn(2.9, 3.6, "SPEAKER_00")),
        names={"SPEAKER_00": "Mathilde Wateau"},
    )


def test_json_round_trip_and_schema():
    t = _transcript()
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


def test_txt_is_reference_format_with_names():
    assert render_txt(_transcript(), OutputOptions()) == (
        "Mathilde Wateau : Salut Romain.\nSPEAKER_01 : Salut.\nMathilde Wateau : Tu vas\n"
    )
    plain = Transcript(segments=(Segment.from_words([Word("bonjour", 0, 1)]),), duration=1)
    assert render_txt(plain, OutputOptions()) == "bonjour\n"


def test_rttm_lines():
    lines = render_rttm(_transcript(), OutputOptions()).splitlines()
    assert lines[0] == "SPEAKER short 1 0.400 1.100 <NA> <NA> Mathilde_Wateau <NA> <NA>"
    assert len(lines) == 3 and all(len(line.split()) == 10 for line in lines)


def test_write_outputs_atomic_and_never_overwrites(tmp_path):
    t = _transcript()
    written = write_outputs(t, tmp_path, "ep", ["json", "txt"])
    assert [p.name for p in written] == ["ep.json", "ep.txt"]
    (tmp_path / "ep.txt").write_text("user's own file")
    with pytest.raises(OutputError, match="already exists"):
        write_outputs(t, tmp_path, "ep", ["rttm", "txt"])
    assert (tmp_path / "ep.txt").read_text() == "user's own file"
    assert not (tmp_path / "ep.rttm").exists()
    write_outputs(t, tmp_path, "ep", ["txt"], force=True)
    assert (tmp_path / "ep.txt").read_text().startswith("Mathilde Wateau : ")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_parse_formats():
    assert parse_formats("json, TXT,json") == ["json", "txt"]
    assert "html" in parse_formats("all")
    with pytest.raises(OptionError, match="unknown output format docx"):
        parse_formats("json,docx")
