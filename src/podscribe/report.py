"""Accuracy of a transcript against a reference: WER, per-speaker WER, cpWER, DER and JER in one Report.

Both texts pass through the same :class:`~podscribe.normalizer.Normalizer` before scoring. WER comes
from jiwer, cpWER and the speaker mapping from meeteval (``scores``, ``speaker_mapping``), DER and JER
from pyannote.metrics with overlapping speech scored (``der``, where ``collar`` is explained).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .der import DiarizationScores, diarization_scores
from .errors import InputError, OptionError
from .normalizer import Normalizer
from .reference import Reference, load_hypothesis, load_reference, load_rttm
from .scores import Region, SpeakerScore, WordErrors, align, cp_scores, normalised_by_speaker, worst_regions
from .speaker_mapping import names_of_pairs
from .transcript import Transcript, Turn

MAX_WORDS = 50_000  # per side, about 5 hours of speech; alignment cost grows with the product

Source = str | os.PathLike[str]  # a file path


@dataclass(frozen=True)
class Report:
    """All scores of one evaluation; None marks a score that does not apply (e.g. DER without turns)."""

    wer: float | None
    substitutions: int
    deletions: int
    insertions: int
    ref_words: int
    hyp_words: int
    cpwer: float | None
    der: float | None
    jer: float | None
    der_collar0: float | None
    jer_collar0: float | None
    collar: float
    speakers_ref: int
    speakers_hyp: int
    speaker_mapping: Mapping[str, str]
    per_speaker: tuple[SpeakerScore, ...]
    diarization: tuple[DiarizationScores, ...]
    normalizer: tuple[str, ...]
    worst_regions: tuple[Region, ...]

    @property
    def cp_errors(self) -> WordErrors:
        """cpWER's substitutions, deletions and insertions: the sums over the assigned speaker pairs."""
        pairs = [s.errors for s in self.per_speaker]
        return WordErrors(*(sum(getattr(e, f) for e in pairs) for f in WordErrors.__dataclass_fields__))

    @property
    def per_speaker_wer(self) -> dict[str, float]:
        """Reference speaker -> WER against the hypothesis speaker mapped to them."""
        return {s.reference: s.errors.wer for s in self.per_speaker if s.reference is not None}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (rates as fractions, times in seconds)."""
        data = asdict(self)
        data["speaker_mapping"] = dict(self.speaker_mapping)
        data["per_speaker"] = [
            {"reference": s.reference, "hypothesis": s.hypothesis, "wer": s.wer, **asdict(s.errors)}
            for s in self.per_speaker
        ]
        data["per_speaker_wer"] = self.per_speaker_wer
        data["cp_errors"] = asdict(self.cp_errors)
        return data

    def format_table(self) -> str:
        """A readable plain-text report."""
        rows = [
            (
                "WER",
                _percent(self.wer)
                + (
                    f"  (S {self.substitutions}, D {self.deletions}, I {self.insertions}; "
                    f"{self.ref_words} reference words, {self.hyp_words} hypothesis words)"
                    if self.wer is not None
                    else ""
                ),
            )
        ]
        cp = self.cp_errors
        rows.append(("cpWER", _percent(self.cpwer) + (
            f"  (S {cp.substitutions}, D {cp.deletions}, I {cp.insertions} over the speaker pairs)"
            if self.cpwer is not None else ""
        )))  # fmt: skip
        for d in self.diarization:
            where = f"collar ±{d.collar:g} s" if d.collar else "collar 0"
            if not d.speech:
                rows.append((f"DER / JER ({where})", "n/a (the collar leaves no reference speech to score)"))
                continue
            rows.append(
                (
                    f"DER ({where})",
                    _percent(d.der)
                    + (
                        f"  (missed {d.missed:.1f} s, false alarm {d.false_alarm:.1f} s, confusion {d.confusion:.1f} s"
                        f" of {d.speech:.1f} s)"
                    ),
                )
            )
            rows.append((f"JER ({where})", _percent(d.jer)))
        if not self.diarization:
            rows.append(("DER / JER", "n/a (needs reference and hypothesis speaker turns)"))
        rows.append(("Speakers (ref / hyp)", f"{self.speakers_ref} / {self.speakers_hyp}"))
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {value}" for name, value in rows]
        if self.per_speaker:
            lines += ["", "Per speaker (reference <- hypothesis): WER, S/D/I, words ref/hyp"]
            for s in self.per_speaker:
                e = s.errors
                lines.append(
                    f"  {s.reference or '-'} <- {s.hypothesis or '-'}: {_percent(s.wer)}  "
                    f"S {e.substitutions} D {e.deletions} I {e.insertions}  {e.ref_words}/{e.hyp_words}"
                )
        if self.worst_regions:
            lines += ["", "Worst regions (errors in capitals, *** = missing word)"]
            for r in self.worst_regions:
                lines += [
                    f"  at reference word {r.position}, {r.errors} errors",
                    f"    REF: {r.reference}",
                    f"    HYP: {r.hypothesis}",
                ]
        lines += ["", "Normalisation (both sides)"] + [
            f"  {i}. {step}" for i, step in enumerate(self.normalizer, 1)
        ]
        return "\n".join(lines)


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{100 * rate:.2f} %"


def check_collar(collar: float) -> None:
    """OptionError unless ``collar`` is a finite number of seconds, zero or more (NaN or infinity would
    score every error away or print as NaN, which JSON cannot hold)."""
    if not (collar >= 0 and math.isfinite(collar)):
        raise OptionError(
            f"collar must be a finite number of seconds, zero or more, got {collar}", option="collar"
        )


def check_regions(regions: int) -> None:
    """OptionError unless ``regions`` (the worst regions a report lists) is a whole number, zero or more."""
    if isinstance(regions, bool) or not isinstance(regions, int) or regions < 0:
        raise OptionError(f"regions must be a whole number, zero or more, not {regions!r}", option="regions")


def evaluate(
    hypothesis: Transcript | Reference | Source,
    reference: Transcript | Reference | Source | None,
    *,
    reference_turns: Sequence[Turn] | Source | None = None,
    hypothesis_turns: Sequence[Turn] | Source | None = None,
    collar: float = 0.25,
    normalizer: Normalizer | None = None,
    regions: int = 5,
) -> Report:
    """Score a hypothesis against a reference: WER and cpWER on normalised text, DER/JER on speaker turns.

    Paths are read with load_hypothesis / load_reference / load_rttm (a ``.json`` hypothesis as a
    Transcript). Hypothesis turns default to the transcript's turns (else its attributed segments);
    reference turns default to the reference's own timed speaker utterances (STM), if any.

    Args:
        hypothesis: a Transcript, a Reference, or a path (podscribe JSON, SRT, VTT, TXT, CTM; an RTTM file
            is turns only: DER and JER, no WER).
        reference: a Reference, a Transcript or a path ('Name : text' lines, plain text, STM); None scores
            turns only. OptionError for another type. A file without words is a ReferenceFormatError; a
            Reference built without words scores as jiwer 4 does (WER = the insertions).
        reference_turns: speaker turns (or an RTTM path) for DER and JER; default the reference's own.
        hypothesis_turns: the hypothesis's turns (or an RTTM path); default the transcript's.
        collar: DER forgiveness in seconds each side of a reference boundary (0: none).
        normalizer: how text is normalised before WER; default the hypothesis language's.
        regions: how many worst regions the report lists.
    """
    check_collar(collar)
    check_regions(regions)
    turns_only = False
    if isinstance(hypothesis, (str, os.PathLike)) and Path(hypothesis).suffix.lower() == ".rttm":
        turns_only = True  # an RTTM hypothesis: who spoke when, no words
        if hypothesis_turns is not None:
            raise OptionError("the hypothesis is an RTTM file: give its turns once, not hypothesis_turns too")
        hypothesis_turns, hypothesis = load_rttm(hypothesis), Reference(())
    if isinstance(hypothesis, (str, os.PathLike)):
        hypothesis = (
            Transcript.load(hypothesis)
            if Path(hypothesis).suffix.lower() == ".json"
            else load_hypothesis(hypothesis)
        )
    if isinstance(reference, (str, os.PathLike)):
        reference = load_reference(reference)
    elif isinstance(reference, Transcript):  # another system's transcript as the reference
        reference = Reference.from_transcript(reference)
    for name, side in (("hypothesis", hypothesis), ("reference", reference)):
        if not isinstance(side, (Transcript, Reference)) and (side is not None or name == "hypothesis"):
            kind = type(side).__name__
            raise OptionError(f"{name} must be a Transcript, a Reference or a path, not {kind}")
    # A transcript or given turns say who spoke when, even "nobody": with no turns, all speech is missed
    timed = isinstance(hypothesis, Transcript) or hypothesis_turns is not None
    ignored = reference.ignored if reference is not None else ()  # words there count on neither side
    if isinstance(hypothesis, Transcript):
        normalizer = normalizer or Normalizer.for_language(hypothesis.language)
        hyp_turns = hypothesis.speaker_turns()
        hypothesis = Reference.from_transcript(hypothesis, ignored=ignored)
    else:
        hyp_turns = hypothesis.turns()
        hypothesis = hypothesis.outside(ignored)
    normalizer = normalizer or Normalizer()
    hyp_turns = _turns(hypothesis_turns) if hypothesis_turns is not None else hyp_turns
    ref_turns = (
        _turns(reference_turns)
        if reference_turns is not None
        else reference.turns()
        if reference is not None
        else []
    )

    counts, cpwer = WordErrors(), None
    per_speaker: list[SpeakerScore] = []
    mapping: dict[str, str] = {}
    region_list: list[Region] = []
    if reference is not None and not turns_only:
        _check_size(reference, hypothesis)
        counts, pairs = align(normalizer(reference.text), normalizer(hypothesis.text))
        region_list = worst_regions(pairs, count=regions)
        if reference.speakers and (hypothesis.speakers or timed and not hypothesis.text.split()):
            cpwer, per_speaker = cp_scores(
                normalised_by_speaker(reference, normalizer), normalised_by_speaker(hypothesis, normalizer)
            )
            mapping = names_of_pairs(per_speaker)

    diarization: list[DiarizationScores] = []
    if ref_turns and (hyp_turns or timed):
        diarization = [
            diarization_scores(ref_turns, hyp_turns, c, ignored) for c in dict.fromkeys((0.0, float(collar)))
        ]
    at_collar = diarization[-1] if diarization and diarization[-1].speech else None  # a collar covers it all?
    at_zero = diarization[0] if diarization else None
    return Report(
        wer=counts.wer if reference is not None and not turns_only else None,
        substitutions=counts.substitutions,
        deletions=counts.deletions,
        insertions=counts.insertions,
        ref_words=counts.ref_words,
        hyp_words=counts.hyp_words,
        cpwer=cpwer,
        der=at_collar.der if at_collar else None,
        jer=at_collar.jer if at_collar else None,
        der_collar0=at_zero.der if at_zero else None,
        jer_collar0=at_zero.jer if at_zero else None,
        collar=float(collar),
        speakers_ref=len(reference.speakers)
        if reference is not None and reference.speakers
        else len({t.speaker for t in ref_turns}),
        speakers_hyp=len(hypothesis.speakers) or len({t.speaker for t in hyp_turns}),
        speaker_mapping=mapping,
        per_speaker=tuple(per_speaker),
        diarization=tuple(diarization),
        normalizer=tuple(normalizer.describe()),
        worst_regions=tuple(region_list),
    )


def _check_size(reference: Reference, hypothesis: Reference) -> None:
    """InputError when a side is over MAX_WORDS: the alignments cost reference x hypothesis words
    (cpWER's 20,000 x 20,000 took 2.4 s here, 40,000 x 40,000 took 15.8 s)."""
    for side, text in (("reference", reference.text), ("hypothesis", hypothesis.text)):
        words = len(text.split())
        if words > MAX_WORDS:
            raise InputError(
                f"the {side} has {words:,} words, over the {MAX_WORDS:,} that evaluate aligns "
                "(the cost grows with the product of both sides): split it into parts"
            )


def _turns(turns: Sequence[Turn] | Source) -> list[Turn]:
    return load_rttm(turns) if isinstance(turns, (str, os.PathLike)) else sorted(turns)
