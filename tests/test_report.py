"""evaluate() and its Report: default turns, STM references, JSON and table, bad options."""

from __future__ import annotations

import json

import pytest

from podscribe.errors import OptionError
from podscribe.normalizer import Normalizer
from podscribe.reference import Reference, Utterance, load_reference, load_rttm
from podscribe.report import evaluate
from podscribe.transcript import Turn, Word

from conftest import (
    DATA,
    distorted_turns,
    perturbed_words,
    plain_reference,
    reference_of,
    speakers_transcript,
    transcript_of,
    write_rttm,
)

INTERVIEW = DATA / "interview.fr.txt"
INTERVIEW_RTTM = DATA / "interview.fr.rttm"


def test_transcript_turns_are_the_default_hypothesis_turns():
    reference_turns = [Turn(0.0, 2.0, "Paul"), Turn(3.0, 5.0, "Anne")]
    transcript = speakers_transcript([("S1", "merci beaucoup"), ("S0", "bonjour à tous")])  # segments 0-0.9, 2.0-3.4
    report = evaluate(
        transcript,
        reference_of(("Paul", "merci beaucoup"), ("Anne", "bonjour à tous")),
        reference_turns=reference_turns,
    )
    assert report.wer == 0.0 and report.cpwer == 0.0 and report.der is not None and report.der > 0
    with_turns = speakers_transcript(
        [("S1", "merci beaucoup"), ("S0", "bonjour à tous")],
        diarized=tuple(Turn(t.start, t.end, t.speaker.upper()) for t in reference_turns),
    )
    assert evaluate(with_turns, None, reference_turns=reference_turns).der == 0.0
    assert (
        evaluate(plain_reference("x"), plain_reference("x"), reference_turns=reference_turns).der is None
    )  # no hypothesis speakers


def test_stm_reference_gives_turns(tmp_path):
    stm = tmp_path / "ref.stm"
    stm.write_text("rec 1 A 0.0 2.0 bonjour\nrec 1 B 2.0 4.0 salut\n", encoding="utf-8")
    hypothesis = Reference((Utterance("x", "bonjour", 0.0, 2.0), Utterance("y", "salut", 2.0, 4.0)))
    report = evaluate(hypothesis, stm)
    assert report.wer == report.cpwer == report.der == 0.0


def test_report_json_and_table(tmp_path):
    hyp_path = write_rttm(tmp_path / "hyp.rttm", distorted_turns(load_rttm(INTERVIEW_RTTM)))
    reference = load_reference(INTERVIEW)
    hypothesis = reference_of(*((u.speaker, " ".join(perturbed_words(u.text.split()))) for u in reference.utterances))
    report = evaluate(hypothesis, reference, reference_turns=INTERVIEW_RTTM, hypothesis_turns=hyp_path)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["wer"] == report.wer and data["cpwer"] == report.cpwer and data["der"] == report.der
    assert data["per_speaker_wer"].keys() == set(reference.speakers)
    assert {"reference", "hypothesis", "wer", "substitutions", "ref_words"} <= data["per_speaker"][0].keys()
    assert data["normalizer"] == Normalizer().describe() and data["worst_regions"]
    table = report.format_table()
    for line in (
        "WER",
        "cpWER",
        "DER (collar 0)",
        "DER (collar ±0.25 s)",
        "JER",
        "Speakers (ref / hyp)  4 / 4",
        "REF:",
        "Normalisation",
    ):
        assert line in table


def test_an_empty_hypothesis_misses_everything_and_an_extra_speaker_has_no_rate():
    """A transcript with no words or turns said nobody spoke: DER and cpWER are 100 %, not "n/a" (a script
    averaging files lost its worst ones). A hypothesis speaker no reference speaker matches has insertions
    but no words to divide by: "n/a", where it read 200 %."""
    reference = reference_of(("Ann", "un deux"), ("Bob", "trois"))
    turns = [Turn(0, 2, "Ann"), Turn(2, 3, "Bob")]
    empty = evaluate(speakers_transcript([]), reference, reference_turns=turns, collar=0.0)
    assert empty.wer == empty.cpwer == empty.der == empty.jer == 1.0 and empty.deletions == 3
    assert evaluate(plain_reference(""), reference, reference_turns=turns).der is None  # text has no times
    three = speakers_transcript([("S0", "un deux"), ("S1", "trois"), ("S2", "quatre cinq")])
    extra = evaluate(three, reference)
    stray = next(s for s in extra.per_speaker if s.reference is None)
    assert stray.wer is None and stray.errors.insertions == 2 and extra.cpwer == pytest.approx(2 / 3)
    assert "- <- S2: n/a  S 0 D 0 I 2  0/2" in extra.format_table()
    cp = extra.cp_errors  # cpWER's own S/D/I, summed over its pairs: 2 insertions over 3 words
    assert (cp.substitutions, cp.deletions, cp.insertions, cp.ref_words) == (0, 0, 2, 3)
    assert "cpWER                 66.67 %  (S 0, D 0, I 2 over the speaker pairs)" in extra.format_table()
    assert extra.to_dict()["cp_errors"]["insertions"] == 2
    assert {"hypothesis": "S2", "wer": None}.items() <= extra.to_dict()["per_speaker"][2].items()


def test_a_collar_over_all_speech_scores_nothing():
    report = evaluate(plain_reference("x"), plain_reference("x"), reference_turns=[Turn(0, 1, "A")],
                      hypothesis_turns=[Turn(0, 1, "B")], collar=100)  # fmt: skip
    assert report.der is report.jer is None and report.der_collar0 == 0.0
    said = "DER / JER (collar ±100 s)  n/a (the collar leaves no reference speech to score)"
    assert said in report.format_table()


def test_an_rttm_hypothesis_is_scored_on_turns_only(tmp_path):
    """Who spoke when, without words: DER and JER, no WER (the CLI refused it as "not text")."""
    hyp = write_rttm(tmp_path / "hyp.rttm", distorted_turns(load_rttm(INTERVIEW_RTTM)))
    report = evaluate(hyp, None, reference_turns=INTERVIEW_RTTM)
    assert report.wer is report.cpwer is None and 0 < report.der < 1
    assert evaluate(hyp, INTERVIEW, reference_turns=INTERVIEW_RTTM) == report  # its text is not scored
    with pytest.raises(OptionError, match="give its turns once"):
        evaluate(hyp, None, reference_turns=INTERVIEW_RTTM, hypothesis_turns=hyp)


def test_an_stm_region_left_out_of_scoring_is_left_out_on_both_sides(tmp_path):
    """sclite and md-eval leave an ``ignore_time_segment_in_scoring`` region out: its text was dropped but the
    hypothesis's words there were insertions, and its time false alarm (WER 25 %, DER 50 %)."""
    stm = tmp_path / "ref.stm"
    stm.write_text("rec 1 A 0.0 2.0 un chat noir dort\nrec 1 x 2.0 4.0 ignore_time_segment_in_scoring\n"
                   "rec 1 B 4.0 6.0 le chien aboie\n", encoding="utf-8")  # fmt: skip
    said = (("S0", 0.1, "un chat noir dort"), ("S1", 2.5, "musique bruit"), ("S2", 4.1, "le chien aboie"))
    words = [Word(w, t + 0.45 * i, t + 0.45 * i + 0.4, 0.9, s)
             for s, t, text in said for i, w in enumerate(text.split())]  # fmt: skip
    hypothesis = transcript_of(words, turns=[Turn(0, 2, "S0"), Turn(2, 4, "S1"), Turn(4, 6, "S2")])
    report = evaluate(hypothesis, stm, collar=0.0)
    assert report.wer == report.cpwer == report.der == 0.0 and report.diarization[0].speech == 4.0
    assert load_reference(stm).ignored == ((2.0, 4.0),)
    unfiltered = evaluate(hypothesis, Reference(load_reference(stm).utterances), collar=0.0)
    assert unfiltered.insertions == 2  # the same without the region: its words were counted


def test_bad_collar_and_regions():
    for collar in (-0.1, float("nan"), float("inf")):
        with pytest.raises(OptionError, match="collar must be a finite number of seconds"):
            evaluate(plain_reference("a"), plain_reference("a"), collar=collar)
    for regions in (-1, 1.5, True):
        with pytest.raises(OptionError, match="regions must be a whole number, zero or more"):
            evaluate(plain_reference("a"), plain_reference("b"), regions=regions)
    assert not evaluate(plain_reference("a"), plain_reference("b"), regions=0).worst_regions


def test_a_transcript_may_be_the_reference_and_other_types_are_named():
    """A Transcript may be the reference (another system's); other types are OptionErrors, not an
    AttributeError from inside. A reference file without words is refused (``test_reference``); one built
    in memory keeps jiwer 4's convention (``test_scores``)."""
    transcript = speakers_transcript([("S1", "merci beaucoup"), ("S0", "bonjour à tous")])
    assert evaluate(transcript, transcript).wer == 0.0
    assert evaluate(transcript, Reference(())).wer == 5.0  # the five words inserted
    for bad, side in ((5, "reference"), (["a"], "reference")):
        with pytest.raises(OptionError, match=f"{side} must be a Transcript, a Reference or a path, not"):
            evaluate(transcript, bad)
    with pytest.raises(OptionError, match="hypothesis must be a Transcript, a Reference or a path, not None"):
        evaluate(None, transcript)
