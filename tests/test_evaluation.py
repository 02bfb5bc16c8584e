"""Normalisation, WER, per-speaker WER, cpWER, speaker mapping, DER/JER and the report."""

from __future__ import annotations

import json
from pathlib import Path

import jiwer
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podscribe.errors import OptionError
from podscribe.normalizer import Normalizer
from podscribe.report import evaluate
from podscribe.scores import worst_regions
from podscribe.speaker_mapping import map_speakers
from podscribe.reference import Reference, Utterance, load_reference, load_rttm
from podscribe.transcript import Segment, Transcript, Turn, Word

DATA = Path(__file__).parent / "data"
INTERVIEW = DATA / "interview.fr.txt"
INTERVIEW_RTTM = DATA / "interview.fr.rttm"


def ref(*turns: tuple[str | None, str]) -> Reference:
    return Reference(tuple(Utterance(speaker, text) for speaker, text in turns))


def text(t: str) -> Reference:
    return ref((None, t))


# ---- normaliser ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b",
    [
        ("L'homme d'information", "l’homme d’information"),
        ("l'homme", "l homme"),
        ("Peux-tu venir ?", "peux tu venir"),
        ("il a vingt et un ans", "il a 21 ans"),
        ("vingt-et-un", "21"),
        ("il y a 40/50 ans", "il y a quarante cinquante ans"),
        ("le XXIe siècle", "le 21e siècle"),
        ("le vingt et unième siècle", "le 21ème siècle"),
        ("1 % par an", "un pour cent par an"),
        ("4 % des émissions", "quatre pour cent des émissions"),
        ("un rapport [1] très fourni", "un rapport très fourni"),
        ("(rires) Bonjour <inaudible>", "bonjour"),
        ("1 000 000 de kilomètres", "un million de kilomètres"),
        ("1,5 million", "un million cinq cent mille"),
        ("en 2017/2018", "en deux mille dix-sept deux mille dix-huit"),
        ("le 1er janvier", "le premier janvier"),
        ("deux fois", "2 fois"),
        ("euh, bon, d’accord", "bon d'accord"),
        ("« Bonjour » !", "bonjour"),
        ("10 €", "dix euros"),
    ],
)
def test_normaliser_brings_both_forms_together(a, b):
    n = Normalizer()
    assert n(a) == n(b)


def test_normaliser_forms():
    n = Normalizer()
    assert n("L’homme, peux-tu ?") == "l homme peux tu"
    assert n("agriculture 4.0") == n("agriculture 4,0") == "agriculture 4,0"
    assert n("Il y a 40/50 ans") == "il y a 40 50 ans"
    assert n("le XXIe siècle") == "le 21e siècle"


def test_normaliser_options_and_description():
    assert Normalizer(numbers=False)("vingt et un") == "vingt et un"
    assert Normalizer(lowercase=False)("Paris") == "Paris"
    assert Normalizer(language="en")("twenty one percent") == "21 %"
    steps = Normalizer().describe()
    assert steps[0].startswith("Unicode NFKC") and steps[-1] == "collapse whitespace"
    assert any("alpha2digit 'fr'" in s for s in steps) and any("l'homme -> l homme" in s for s in steps)
    assert not any("alpha2digit" in s for s in Normalizer(language="ja").describe())


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            list("abcéèàç'’-/ ,.%[]()0123456789XIVe") + [" vingt ", " un ", " et ", " cent ", " pour "]
        ),
        max_size=40,
    ).map("".join)
)
def test_normaliser_is_idempotent_and_wer_zero_on_itself(s):
    n = Normalizer()
    assert n(n(s)) == n(s)
    assert evaluate(text(s), text(s)).wer == 0.0


# ---- WER, by hand ----------------------------------------------------------------------------------


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
    report = evaluate(text(hypothesis), text(reference))
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


def _perturbed(words: list[str]) -> list[str]:
    out = []
    for i, w in enumerate(words):
        if i % 17 == 5:
            continue
        out.append("machin" if i % 23 == 7 else w)
        if i % 31 == 3:
            out.append("truc")
    return out


def test_wer_matches_an_independent_jiwer_computation():
    reference = load_reference(INTERVIEW)
    hyp_text = " ".join(_perturbed(reference.text.split()))
    report = evaluate(text(hyp_text), reference)
    transform = jiwer.Compose([_Normalise(Normalizer()), jiwer.ReduceToListOfListOfWords()])
    expected = jiwer.wer(
        reference.text, hyp_text, reference_transform=transform, hypothesis_transform=transform
    )
    assert 0.05 < report.wer < 0.3
    assert abs(report.wer - expected) < 0.001


def test_worst_regions_show_the_errors():
    words = [f"mot{i}" for i in range(60)]
    hyp = words[:30] + ["x", "y", "z"] + words[33:]
    report = evaluate(text(" ".join(hyp)), text(" ".join(words)))
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


# ---- speakers: cpWER, per-speaker WER, mapping --------------------------------------------------------


def test_swapped_labels_cost_nothing_after_mapping():
    reference = ref(("Anne", "bonjour à tous"), ("Paul", "merci beaucoup"), ("Anne", "on commence"))
    hypothesis = ref(("B", "bonjour à tous"), ("A", "merci beaucoup"), ("B", "on commence"))
    report = evaluate(hypothesis, reference)
    assert report.wer == 0.0 and report.cpwer == 0.0
    assert report.speaker_mapping == {"B": "Anne", "A": "Paul"}
    assert map_speakers(hypothesis, reference) == {"B": "Anne", "A": "Paul"}


def test_words_given_to_the_wrong_speaker():
    # Anne said 4 words, Paul 2; the hypothesis gives Anne's last word to Paul's label.
    reference = ref(("Anne", "un chat qui dort"), ("Paul", "très bien"))
    hypothesis = ref(("X", "un chat qui"), ("Y", "dort très bien"))
    report = evaluate(hypothesis, reference)
    assert report.wer == 0.0  # the words themselves are all right
    # X->Anne: 1 deletion ("dort"); Y->Paul: 1 insertion ("dort"): 2 errors / 6 reference words
    assert report.cpwer == pytest.approx(2 / 6)
    assert report.speaker_mapping == {"X": "Anne", "Y": "Paul"}
    assert report.per_speaker_wer == {"Anne": pytest.approx(1 / 4), "Paul": pytest.approx(1 / 2)}
    assert sum(s.errors.errors for s in report.per_speaker) == 2


def test_extra_and_missing_speakers():
    reference = ref(("Anne", "un deux trois quatre"), ("Paul", "cinq six"))
    hypothesis = ref(("X", "un deux trois quatre cinq six"))
    report = evaluate(hypothesis, reference)
    assert report.cpwer == pytest.approx(4 / 6)  # X->Anne: 2 insertions ("cinq six"), Paul: 2 deletions
    assert report.speakers_ref == 2 and report.speakers_hyp == 1
    assert {(s.reference, s.hypothesis) for s in report.per_speaker} == {("Anne", "X"), ("Paul", None)}
    three = evaluate(ref(("X", "un deux trois quatre"), ("Y", "cinq six"), ("Z", "sept")), reference)
    assert three.cpwer == pytest.approx(1 / 6) and three.speaker_mapping == {"X": "Anne", "Y": "Paul"}


def test_cpwer_not_applicable_without_speakers():
    report = evaluate(text("bonjour à tous"), ref(("Anne", "bonjour à tous")))
    assert report.wer == 0.0 and report.cpwer is None and report.speaker_mapping == {}


def _transcript(speakers: list[tuple[str, str]], turns: tuple[Turn, ...] = ()) -> Transcript:
    segments, t = [], 0.0
    for speaker, words in speakers:
        ws = []
        for w in words.split():
            ws.append(Word(w, t, t + 0.4, speaker=speaker))
            t += 0.5
        segments.append(Segment.from_words(ws, speaker=speaker))
        t += 1.0
    return Transcript(segments=tuple(segments), duration=t, language="fr", turns=turns)


def test_map_speakers_for_a_transcript_uses_ids_and_needs_shared_words():
    transcript = _transcript(
        [("SPEAKER_00", "merci beaucoup"), ("SPEAKER_01", "bonjour à tous"), ("SPEAKER_02", "zut alors")]
    )
    reference = ref(("Anne", "bonjour à tous"), ("Paul", "merci beaucoup"), ("Léa", "très bien"))
    assert map_speakers(transcript.with_names({"SPEAKER_00": "Anne"}), reference) == {
        "SPEAKER_00": "Paul",
        "SPEAKER_01": "Anne",
    }
    assert map_speakers(transcript, text("bonjour")) == {}


# ---- DER / JER ----------------------------------------------------------------------------------


def _write_rttm(path: Path, turns: list[Turn]) -> Path:
    path.write_text(
        "".join(
            f"SPEAKER rec 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
            for t in turns
        ),
        encoding="utf-8",
    )
    return path


def _distorted(turns: list[Turn]) -> list[Turn]:
    """Boundaries moved, two speakers merged, labels renamed, one turn dropped."""
    rename = {
        "Emmanuel_Macron": "spk2",
        "Mathilde_Wateau": "spk0",
        "Romain_Boucher": "spk1",
        "Jérémy_Désir": "spk0",
    }
    out = []
    for i, t in enumerate(turns):
        if i == 10:
            continue
        shift = 0.3 if i % 2 else -0.2
        out.append(Turn(max(0.0, t.start + shift), t.end + shift / 2, rename[t.speaker]))
    return out


def test_der_matches_pyannote_metrics_on_rttm_pairs(tmp_path):
    from pyannote.database.util import load_rttm as pyannote_rttm
    from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

    hyp_path = _write_rttm(tmp_path / "hyp.rttm", _distorted(load_rttm(INTERVIEW_RTTM)))
    report = evaluate(
        INTERVIEW, INTERVIEW, reference_turns=INTERVIEW_RTTM, hypothesis_turns=hyp_path, collar=0.25
    )
    reference = pyannote_rttm(INTERVIEW_RTTM)["interview.fr"]
    hypothesis = pyannote_rttm(hyp_path)["rec"]
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


def test_collar_is_plus_minus():
    reference = [Turn(0.0, 10.0, "a"), Turn(10.0, 20.0, "b")]
    hypothesis = [Turn(0.0, 10.2, "x"), Turn(10.2, 20.0, "y")]  # boundary 0.2 s late
    at_quarter = evaluate(
        text("x"), text("x"), reference_turns=reference, hypothesis_turns=hypothesis, collar=0.25
    )
    assert at_quarter.der_collar0 == pytest.approx(0.2 / 20)
    assert at_quarter.der == 0.0  # 0.2 s lies inside ±0.25 s
    at_tenth = evaluate(
        text("x"), text("x"), reference_turns=reference, hypothesis_turns=hypothesis, collar=0.1
    )
    # 0.1 s of confusion left; 0.4 s of speech not scored (±0.1 s around 10 s, and inside the ends 0 s and 20 s)
    assert at_tenth.der == pytest.approx(0.1 / 19.6)


def test_transcript_turns_are_the_default_hypothesis_turns():
    reference_turns = [Turn(0.0, 2.0, "Paul"), Turn(3.0, 5.0, "Anne")]
    transcript = _transcript([("S1", "merci beaucoup"), ("S0", "bonjour à tous")])  # segments 0-0.9, 2.0-3.4
    report = evaluate(
        transcript,
        ref(("Paul", "merci beaucoup"), ("Anne", "bonjour à tous")),
        reference_turns=reference_turns,
    )
    assert report.wer == 0.0 and report.cpwer == 0.0 and report.der is not None and report.der > 0
    with_turns = _transcript(
        [("S1", "merci beaucoup"), ("S0", "bonjour à tous")],
        turns=tuple(Turn(t.start, t.end, t.speaker.upper()) for t in reference_turns),
    )
    assert evaluate(with_turns, None, reference_turns=reference_turns).der == 0.0
    assert (
        evaluate(text("x"), text("x"), reference_turns=reference_turns).der is None
    )  # no hypothesis speakers


def test_stm_reference_gives_turns(tmp_path):
    stm = tmp_path / "ref.stm"
    stm.write_text("rec 1 A 0.0 2.0 bonjour\nrec 1 B 2.0 4.0 salut\n", encoding="utf-8")
    hypothesis = Reference((Utterance("x", "bonjour", 0.0, 2.0), Utterance("y", "salut", 2.0, 4.0)))
    report = evaluate(hypothesis, stm)
    assert report.wer == report.cpwer == report.der == 0.0


# ---- report -------------------------------------------------------------------------------------


def test_report_json_and_table(tmp_path):
    hyp_path = _write_rttm(tmp_path / "hyp.rttm", _distorted(load_rttm(INTERVIEW_RTTM)))
    reference = load_reference(INTERVIEW)
    hypothesis = ref(*((u.speaker, " ".join(_perturbed(u.text.split()))) for u in reference.utterances))
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


def test_bad_collar():
    with pytest.raises(OptionError):
        evaluate(text("a"), text("a"), collar=-0.1)
