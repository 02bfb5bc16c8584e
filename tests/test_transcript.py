"""Data model: JSON round trip, schema, load errors, speaker turns and names."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podscribe.errors import InputError, OptionError
from podscribe.transcript import (
    ATTACHED_SPACE,
    OPENING_MARKS,
    SCHEMA,
    Segment,
    Transcript,
    Turn,
    Word,
    attach_punctuation,
    ends_sentence,
    is_punctuation,
    sentences,
)

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
    assert "audio_track" not in d  # the first track: the key only where another one was read
    second = replace(t, audio_track=2)
    assert json.loads(second.to_json())["audio_track"] == 2
    assert Transcript.from_dict(second.to_dict()) == second
    for wrong in (0, "2", True):
        with pytest.raises(ValueError, match="audio_track"):
            Transcript.from_dict({**d, "audio_track": wrong})


@pytest.mark.parametrize("probability", [float("nan"), float("inf"), "0.5", 1.5, -0.1, None])
def test_a_probability_is_a_number_from_0_to_1(probability):
    """NaN, "inf" and "0.5" were taken on loading, and a NaN was then written as ``NaN``: JSON that
    JavaScript's JSON.parse, jq and other strict readers refuse."""
    d = json.loads(sample_transcript().to_json())
    d["segments"][0]["words"][0]["probability"] = probability
    with pytest.raises(ValueError, match="a probability must be a number from 0 to 1"):
        Transcript.from_dict(d)
    broken = replace(sample_transcript(), segments=(Segment.from_words([Word("a", 0.0, 1.0, float("nan"))]),))
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        broken.to_json()


words = st.lists(
    st.tuples(
        # words a transcript holds: punctuation alone is attached on reading (tested below)
        st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=8).filter(
            lambda t: not is_punctuation(t)
        ),
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


def test_an_excerpt_is_of_stretches_of_the_audio():
    """Spans that are no stretch of the audio once gave excerpts of 7 s (from -5 s), 1e9 s or NaN s."""
    words = [Word("Bonjour", 0.5, 1.0, speaker="A"), Word("Paul.", 1.1, 1.6, speaker="B")]
    t = Transcript((Segment.from_words(words[:1], speaker="A"), Segment.from_words(words[1:], speaker="B")),
                   duration=5.0)  # fmt: skip
    both = t.excerpt([(1.05, 2.0), (0.4, 1.05)], gap=0.5)
    assert [(w.text, w.start, w.end) for w in both.words] == [("Paul.", 0.05, 0.55), ("Bonjour", 1.55, 2.05)]
    assert both.duration == 2.1
    assert t.excerpt([(4.0, 5.9)]).duration == 1.9  # a clip's audio, probed, may run a little over
    for spans in ([(-5, 2)], [(0, 1e9)], [(float("nan"), 2)], [(3, 1)]):
        with pytest.raises(OptionError, match="is no stretch of the audio"):
            t.excerpt(spans)
    for gap in (-1.0, float("nan")):
        with pytest.raises(OptionError, match="gap must be zero or more"):
            t.excerpt([(0, 1)], gap=gap)


def test_optional_keys_left_out_read_as_empty():
    """``turns``, ``speakers`` and a segment's ``words`` may be left out (a hand-written or older file): once
    refused as "a JSON list was expected, not tuple"."""
    words = [Word("Bonjour", 0.5, 1.0, speaker="A"), Word("Paul.", 1.1, 1.6, speaker="A")]
    t = Transcript((Segment.from_words(words),), duration=5.0, turns=(Turn(0.5, 1.6, "A"),))
    full = json.loads(t.to_json())
    for key in ("turns", "speakers"):
        del full[key]
    assert Transcript.from_dict(full).words == words and Transcript.from_dict(full).turns == ()
    del full["segments"][0]["words"]
    assert Transcript.from_dict(full).segments[0].words == ()


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



# ---- punctuation attached to its word ---------------------------------------------------------------

MARKS = ["!", "?", ":", ";", ",", ".", "...", "»", "«", "¿", "(", ")", "-", "–", '"', "%", "!?"]
SAID = ["Bonjour", "oui", "l'homme", "10", "♪", "好"]
word_or_mark = st.one_of(st.sampled_from(MARKS), st.sampled_from(SAID))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.tuples(word_or_mark, st.floats(0, 2), st.integers(0, 2)), max_size=6), max_size=5),
    st.sampled_from([ATTACHED_SPACE, ""]),
)
def test_attach_punctuation_leaves_no_mark_alone(spec, space):
    """No word out is punctuation only; the words said keep their times, speakers and groups, in order;
    the texts read the same, a no-break space (or nothing) where a space stood before a mark; a mark
    stays in its group when that has a word said."""
    t, groups = 0.0, []
    for group in spec:
        words = []
        for text, length, speaker in group:
            words.append(Word(text, round(t, 3), round(t + length, 3), 0.5 + speaker / 10, f"S{speaker}"))
            t += length
        groups.append(words)
    out = attach_punctuation(groups, space)
    said = [[w for w in g if not is_punctuation(w.text)] for g in groups]
    assert [len(g) for g in out] == [len(g) for g in said] if any(said) else all(not g for g in out)
    flat = [w for g in out for w in g]
    assert not any(is_punctuation(w.text) for w in flat)
    key = [(w.start, w.end, w.probability, w.speaker) for w in flat]
    assert key == [(w.start, w.end, w.probability, w.speaker) for g in said for w in g]
    assert all(a.end <= b.start for a, b in itertools.pairwise(flat))  # times stay monotone
    with_words = [g for g, words in enumerate(said) if words]
    for k, g in enumerate(with_words):  # a group keeps its marks, and those of the word-less groups after it
        end = with_words[k + 1] if k + 1 < len(with_words) else len(groups)
        mine = range(0 if k == 0 else g, end)  # the first also takes the marks of those before it
        assert "".join(w.text for w in out[g]).replace(space, "") == "".join(
            w.text for i in mine for w in groups[i]
        )
    if any(said):
        texts = [w.text for g in groups for w in g]
        assert " ".join(w.text for w in flat).replace(ATTACHED_SPACE, " ") == " ".join(texts) if space else (
            "".join(w.text for w in flat) == "".join(texts)
        )


def test_opening_marks_join_the_next_word_and_closing_ones_the_word_before():
    texts = ["«", "Oui", "»", "!", "¿", "Qué", "?", "(", "10", "%", ")"]
    words = [Word(t, i, i + 0.5) for i, t in enumerate(texts)]
    (out,) = attach_punctuation([words])
    nb = "\u00a0"
    assert [w.text for w in out] == [f"«{nb}Oui{nb}»{nb}!", f"¿{nb}Qué{nb}?", f"({nb}10{nb}%{nb})"]
    assert [(w.start, w.end) for w in out] == [(1, 1.5), (5, 5.5), (8, 8.5)]
    assert set("«¿(") <= set(OPENING_MARKS)
    edges = attach_punctuation([[Word("!", 0, 0)], [Word("...", 0, 0), Word("Alors", 1, 2), Word("«", 3, 3)],
                                [Word("»", 4, 4)], [Word("Oui", 5, 6, speaker="S1")]])  # fmt: skip
    # no word before / after in the group: the other side takes it; a group of marks only: the word before
    said = Word("!\u00a0...\u00a0Alors\u00a0«\u00a0»", 1, 2)
    assert edges == [[], [said], [], [Word("Oui", 5, 6, speaker="S1")]]
    assert attach_punctuation([[Word("!", 0, 0)], []]) == [[], []]
    assert is_punctuation("!?") and is_punctuation("« »")
    assert not is_punctuation("♪") and not is_punctuation("")


def test_old_files_with_marks_as_words_load_attached(tmp_path):
    """A transcript written before marks were attached reads as a new run writes it: "!" joins its word
    (which keeps its times), a segment of marks only is gone, the segment's text follows its words."""
    old = {
        "schema": SCHEMA, "duration": 5.0, "language": "fr", "turns": [], "speakers": [],
        "segments": [
            {"start": 0.0, "end": 1.2, "speaker": "S0", "text": "Bonjour !", "words": [
                {"start": 0.0, "end": 1.2, "text": "Bonjour", "probability": 0.9, "speaker": "S0"},
                {"start": 1.2, "end": 1.2, "text": "!", "probability": 0.4, "speaker": "S0"}]},
            {"start": 1.2, "end": 1.2, "speaker": "S0", "text": "»", "words": [
                {"start": 1.2, "end": 1.2, "text": "»", "probability": 0.4, "speaker": "S0"}]},
            {"start": 2.0, "end": 2.5, "speaker": "S1", "text": "Oui.", "words": [
                {"start": 2.0, "end": 2.5, "text": "Oui.", "probability": 0.8, "speaker": "S1"}]},
        ],
    }  # fmt: skip
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    t = Transcript.load(path)
    assert [s.text for s in t.segments] == ["Bonjour\u00a0!\u00a0»", "Oui."]
    assert t.words[0] == Word("Bonjour\u00a0!\u00a0»", 0.0, 1.2, 0.9, "S0")
    assert t.segments[1] == Transcript.from_dict(old).segments[1] and t.segments[0].end == 1.2
    assert Transcript.from_dict(json.loads(t.to_json())) == t  # and it round-trips from then on


WORD_TEXTS = ["mot", "fin.", "oui\u00a0?", "non\u00a0!", "«\u00a0Oui\u00a0»", "dit.»", "3.5", "M.", "etc…", "l'", "fin.'"]


@given(st.lists(st.sampled_from(WORD_TEXTS), min_size=1, max_size=12), st.sampled_from([None, "SPEAKER_01"]))
def test_sentences_cut_a_segment_after_each_sentence_end_and_keep_every_word(texts, speaker):
    words = [Word(t, i, i + 0.5) for i, t in enumerate(texts)]
    segment = Segment.from_words(words, speaker, ("SPEAKER_02",))
    cut = sentences(segment)
    assert [w for s in cut for w in s.words] == words
    assert all(s.speaker == speaker and s.overlap == ("SPEAKER_02",) for s in cut)
    for s in cut:  # a sentence end is a segment's last word, and only there
        assert [ends_sentence(w.text) for w in s.words[:-1]] == [False] * (len(s.words) - 1)
    assert all(ends_sentence(s.words[-1].text) for s in cut[:-1])


def test_a_sentence_ends_at_its_mark_whatever_quotes_or_spaces_follow():
    assert [ends_sentence(t) for t in ["fin.", "dit.»", "oui\u00a0?", "quoi\u202f!", "fin.'", "(voilà…)"]] == [True] * 6
    assert [ends_sentence(t) for t in ["mot", "3.5", "l'", "«\u00a0Oui\u00a0»", "virgule,"]] == [False] * 5
    assert sentences(Segment(0.0, 1.0, "texte sans mots")) == [Segment(0.0, 1.0, "texte sans mots")]



def test_a_match_spans_all_its_words_times():
    """Whisper may time a word to end after the next one starts: the match ended with the last word's end,
    before "upper" ended, and a clip of it cut that word."""
    words = (Word("upper", 30.502, 30.775), Word("en", 30.575, 30.575), Word("bas.", 30.8, 31.0))
    t = Transcript(segments=(Segment.from_words(words, "SPEAKER_00"),), duration=32.0)
    match = t.find("upper en")[0]
    assert (match.start, match.end) == (30.502, 30.775)
