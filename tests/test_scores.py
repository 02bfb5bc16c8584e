"""Word scores: WER by hand and against jiwer, worst regions, cpWER and per-speaker WER."""

from __future__ import annotations

import jiwer
import pytest

from podscribe.normalizer import Normalizer
from podscribe.reference import load_reference
from podscribe.report import evaluate
from podscribe.scores import worst_regions
from podscribe.speaker_mapping import map_speakers

from conftest import (
    DATA,
    perturbed_words,
    plain_reference,
    reference_of,
)

INTERVIEW = DATA / "interview.fr.txt"
INTERVIEW_RTTM = DATA / "interview.fr.rttm"


@pytest.mark.parametrize(
    "reference, hypothesis, wer, sdi",
    [
        ("le chat dort", "le chat dort", 0.0, (0, 0, 0)),
        ("le chat dort", "", 1.0, (0, 3, 0)),  # empty hypothesis: every word deleted
        ("", "", 0.0, (0, 0, 0)),
        ("", "deux mots", 2.0, (0, 0, 2)),  # empty reference: the insertions count (jiwer 4 convention)
        ("L'homme est là", "l’homme est la", 0.25, (1, 0, 0)),  # l homme est là / la: one substitution
        ("Peux-tu venir ?", "peux tu venir", 0.0, (0, 0, 0)),
        ("il a vingt et un ans", "il a 21 ans", 0.0, (0, 0, 0)),
        ("il y a 40/50 ans", "il y a quarante ou cinquante ans", 1 / 6, (0, 0, 1)),  # "ou" inserted
        ("un rapport [1] très fourni", "un rapport très fourni", 0.0, (0, 0, 0)),
        ("le chat noir dort bien", "le chien dort bien ici", 0.6, (1, 1, 1)),
    ],
)
def test_wer_by_hand(reference, hypothesis, wer, sdi):
    report = evaluate(plain_reference(hypothesis), plain_reference(reference))
    assert report.wer == pytest.approx(wer)
    assert (report.substitutions, report.deletions, report.insertions) == sdi


def test_reference_as_its_own_hypothesis():
    reference = load_reference(INTERVIEW)
    report = evaluate(INTERVIEW, INTERVIEW)
    assert report.wer == 0.0 and report.cpwer == 0.0
    assert report.ref_words == report.hyp_words == len(Normalizer().words(reference.text))
    assert report.speakers_ref == report.speakers_hyp == 4
    assert report.speaker_mapping == {s: s for s in reference.speakers}
    assert report.worst_regions == ()


class _Normalise(jiwer.AbstractTransform):
    def __init__(self, normalizer: Normalizer) -> None:
        self.normalizer = normalizer

    def process_string(self, s: str) -> str:
        return self.normalizer(s)


def test_wer_matches_an_independent_jiwer_computation():
    reference = load_reference(INTERVIEW)
    hyp_text = " ".join(perturbed_words(reference.text.split()))
    report = evaluate(plain_reference(hyp_text), reference)
    transform = jiwer.Compose([_Normalise(Normalizer()), jiwer.ReduceToListOfListOfWords()])
    expected = jiwer.wer(
        reference.text, hyp_text, reference_transform=transform, hypothesis_transform=transform
    )
    assert 0.05 < report.wer < 0.3
    assert abs(report.wer - expected) < 0.001


def test_worst_regions_show_the_errors():
    words = [f"mot{i}" for i in range(60)]
    hyp = words[:30] + ["x", "y", "z"] + words[33:]
    report = evaluate(plain_reference(" ".join(hyp)), plain_reference(" ".join(words)))
    assert report.substitutions == 3 and len(report.worst_regions) == 1
    region = report.worst_regions[0]
    assert region.errors == 3 and "MOT30 MOT31 MOT32" in region.reference and "X" in region.hypothesis
    pairs = [("a", "a"), ("b", None), ("c", "c"), (None, "d")] + [("e", "e")] * 20 + [("f", "g")]
    regions = worst_regions(pairs, count=5, width=4)
    assert [(r.position, r.errors) for r in regions] == [(0, 2), (20, 1)]
    assert regions[0].reference.split() == ["a", "B", "c", "***"] and regions[0].hypothesis.split() == [
        "a",
        "***",
        "c",
        "D",
    ]


def test_swapped_labels_cost_nothing_after_mapping():
    reference = reference_of(("Anne", "bonjour à tous"), ("Paul", "merci beaucoup"), ("Anne", "on commence"))
    hypothesis = reference_of(("B", "bonjour à tous"), ("A", "merci beaucoup"), ("B", "on commence"))
    report = evaluate(hypothesis, reference)
    assert report.wer == 0.0 and report.cpwer == 0.0
    assert report.speaker_mapping == {"B": "Anne", "A": "Paul"}
    assert map_speakers(hypothesis, reference) == {"B": "Anne", "A": "Paul"}


def test_words_given_to_the_wrong_speaker():
    # Anne said 4 words, Paul 2; the hypothesis gives Anne's last word to Paul's label.
    reference = reference_of(("Anne", "un chat qui dort"), ("Paul", "très bien"))
    hypothesis = reference_of(("X", "un chat qui"), ("Y", "dort très bien"))
    report = evaluate(hypothesis, reference)
    assert report.wer == 0.0  # the words themselves are all right
    # X->Anne: 1 deletion ("dort"); Y->Paul: 1 insertion ("dort"): 2 errors / 6 reference words
    assert report.cpwer == pytest.approx(2 / 6)
    assert report.speaker_mapping == {"X": "Anne", "Y": "Paul"}
    assert report.per_speaker_wer == {"Anne": pytest.approx(1 / 4), "Paul": pytest.approx(1 / 2)}
    assert sum(s.errors.errors for s in report.per_speaker) == 2


def test_extra_and_missing_speakers():
    reference = reference_of(("Anne", "un deux trois quatre"), ("Paul", "cinq six"))
    hypothesis = reference_of(("X", "un deux trois quatre cinq six"))
    report = evaluate(hypothesis, reference)
    assert report.cpwer == pytest.approx(4 / 6)  # X->Anne: 2 insertions ("cinq six"), Paul: 2 deletions
    assert report.speakers_ref == 2 and report.speakers_hyp == 1
    assert {(s.reference, s.hypothesis) for s in report.per_speaker} == {("Anne", "X"), ("Paul", None)}
    three = evaluate(reference_of(("X", "un deux trois quatre"), ("Y", "cinq six"), ("Z", "sept")), reference)
    assert three.cpwer == pytest.approx(1 / 6) and three.speaker_mapping == {"X": "Anne", "Y": "Paul"}


def test_cpwer_not_applicable_without_speakers():
    report = evaluate(plain_reference("bonjour à tous"), reference_of(("Anne", "bonjour à tous")))
    assert report.wer == 0.0 and report.cpwer is None and report.speaker_mapping == {}
