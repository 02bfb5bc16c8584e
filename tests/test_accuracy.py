"""Accuracy of the whole pipeline on audio synthesised from the reference, scored by podscribe.report.

Bounds are measured values plus a small margin (see the closing notes and BENCHMARKS.md); the
fixtures' voices are espeak-ng, so absolute WER is high and only meaningful for comparisons.
The default suite runs the full interview (dev voices); ``-m slow`` adds held-out voices, a held-out
text, noise + music + overlap, and the comparison with plain faster-whisper.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
from release_rules import check_release

from podscribe.asr import ASROptions
from podscribe.pipeline import Pipeline, PipelineOptions
from podscribe.reference import Reference, Utterance, load_reference, load_rttm
from podscribe.report import Report, evaluate
from podscribe.transcript import Transcript, Word
from podscribe.writers import OutputOptions, render_srt

from conftest import DATA

WER_INTERVIEW = 0.58  # measured 0.489 and 0.536 (base, int8, batched over speaker turns; runs differ)


def _fixture_reference(name: str) -> Reference:
    """The fixture's own spoken text per turn (its JSON), as a Reference."""
    turns = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))["turns"]
    return Reference(tuple(Utterance(t["speaker"], t["text"], t["start"], t["end"]) for t in turns))


def _attribution_cost(transcript: Transcript, reference: Reference, report: Report) -> float:
    """cpWER as written (``report``) less cpWER with every word given the reference speaker talking at its
    middle: what the speaker attribution costs. cpWER less WER mixes that with how a text read at 70 % WER
    aligns per speaker and as one stream: noisy.fr, its words all given their right speakers, is 2.8 points
    over its WER (BENCHMARKS.md, session 46)."""
    own = dict(report.speaker_mapping)  # hypothesis label -> reference name

    def speaker_at(word: Word) -> str | None:
        middle = (word.start + word.end) / 2
        talking = [u.speaker for u in reference.utterances if u.start <= middle <= u.end]
        mine = own.get(word.speaker, word.speaker) if word.speaker else None
        return mine if mine in talking or not talking else talking[0]

    words = tuple(Utterance(speaker_at(w), w.text, w.start, w.end) for w in transcript.words)
    return report.cpwer - evaluate(Reference(words), reference).cpwer


@functools.cache
def _run(audio: str, **asr) -> object:
    options = PipelineOptions(asr=ASROptions(language="fr", **asr), cache=False)
    return Pipeline(options).run(DATA / audio)


@pytest.fixture(scope="module")
def interview():
    return _run("interview.fr.opus")


def test_interview_wer_cpwer_der(interview):
    report = evaluate(interview, load_reference(DATA / "interview.fr.txt"),
                      reference_turns=load_rttm(DATA / "interview.fr.rttm"))
    print(report.format_table())
    assert report.speakers_hyp == report.speakers_ref == 4
    assert report.wer <= WER_INTERVIEW
    assert report.cpwer - report.wer <= 0.02
    assert report.der <= 0.05


def test_interview_names_from_reference(interview):
    from podscribe.naming import names_from_reference

    names = names_from_reference(interview, DATA / "interview.fr.txt")
    assert sorted(names.values()) == ["Emmanuel Macron", "Jérémy Désir", "Mathilde Wateau", "Romain Boucher"]


def test_interview_srt_meets_release_rules(interview):
    """Issue 4's acceptance, measured by an independent parser-based check of the written SRT
    (reading speed: see tests/release_rules.py; the < 2 % target is printed, not asserted)."""
    report = check_release(render_srt(interview, OutputOptions()), interview)
    print(report.format())
    assert report.ok, report.format()


@pytest.mark.slow
def test_noisy_video_srt_meets_release_rules():
    noisy = _run("noisy.fr.mp4")
    report = check_release(render_srt(noisy, OutputOptions()), noisy)
    print(report.format())
    assert report.ok, report.format()


@pytest.mark.slow
@pytest.mark.parametrize(
    "audio, rttm, speakers, der_bound",
    [
        ("interview.heldout.opus", "interview.heldout.rttm", 4, 0.05),
        ("heldout_text.fr.opus", "heldout_text.fr.rttm", 3, 0.05),
        ("noisy.fr.mp4", "noisy.fr.rttm", 4, 0.08),
    ],
)
def test_heldout_diarization(audio, rttm, speakers, der_bound):
    t = _run(audio)
    name = audio.rsplit(".", 1)[0]
    reference = _fixture_reference(name)
    report = evaluate(t, reference, reference_turns=load_rttm(DATA / rttm))
    print(audio, report.format_table())
    assert report.speakers_hyp == speakers
    assert report.der <= der_bound
    assert _attribution_cost(t, reference, report) <= 0.02


@pytest.mark.slow
@pytest.mark.timeout(2400)  # four transcriptions of 8.7 minutes of audio
def test_heldout_voices_wer_not_worse_than_plain_faster_whisper():
    """podscribe base (faster-whisper) vs faster-whisper base, beam 5, called directly on the same file.

    Plain faster-whisper's temperature fallback samples at random (its WER on this file measured 56-74 %
    over runs), so podscribe is held to the median of three seeded plain runs.
    """
    import ctranslate2
    from faster_whisper import WhisperModel

    from podscribe.weights import resolve_ct2

    reference = load_reference(DATA / "interview.fr.txt")
    ours = evaluate(_run("interview.heldout.opus"), reference)
    model = WhisperModel(str(resolve_ct2("base")), device="cpu", compute_type="int8")
    plain = []
    for seed in range(3):
        ctranslate2.set_random_seed(seed)
        segments, _ = model.transcribe(str(DATA / "interview.heldout.opus"), beam_size=5, language="fr")
        plain.append(evaluate(Reference((Utterance(None, " ".join(s.text for s in segments)),)), reference).wer)
    print(f"podscribe WER {ours.wer:.4f}  plain faster-whisper WER {plain}")
    assert ours.wer <= float(np.median(plain)) + 0.01
