"""Accuracy of a transcript against a reference: WER, per-speaker WER, cpWER, DER and JER.

Both texts pass through the same :class:`Normalizer` (French-aware: elisions and hyphens split, number
words and digits brought to one form) before scoring. WER comes from jiwer, cpWER and the speaker mapping
from meeteval (Hungarian assignment of hypothesis speakers to reference speakers), DER and JER from
pyannote.metrics with overlapping speech scored. ``collar`` is the no-score zone on *each* side of every
reference turn boundary (md-eval/dscore convention, ``--collar 0.25`` = ±0.25 s); pyannote.metrics' own
``collar`` is the total width, so it is given ``2 * collar``.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from functools import cache, cached_property
from pathlib import Path
from typing import Any, NamedTuple

import jiwer

from .errors import InputError, OptionError
from .reference import UNKNOWN_SPEAKER, Reference, load_hypothesis, load_reference, load_rttm
from .transcript import Transcript, Turn

logger = logging.getLogger(__name__)

Source = str | os.PathLike[str]  # a file path

# ---- text normalisation ------------------------------------------------------------------------

MAX_WORDS = 50_000  # per side, about 5 hours of speech; alignment cost grows with the product
_BRACKETED = re.compile(r"\[[^\]]*\]|\([^)]*\)|<[^>]*>|\{[^}]*\}")
_QUOTES = str.maketrans({c: "'" for c in "’‘`´ʼ′"} | {c: '"' for c in "«»“”„‟"})
_ROMAN_ORDINAL = re.compile(
    r"\b(?=[MDCLXVI]{2}|[IVX][eè])(M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3}))(ère|er|re|ème|eme|e)\b"
)
_ROMAN_VALUES = {"M": 1000, "D": 500, "C": 100, "L": 50, "X": 10, "V": 5, "I": 1}
_PUNCTUATION = re.compile(r"[^\w\s%.,]|_|(?<!\d)[.,]|[.,](?!\d)")
_THOUSANDS = re.compile(r"\b\d{1,3}(?: \d{3})+\b")
# a number in digits followed by a scale word: "1,5 million" -> 1500000, "3 cent" -> 300
_SCALES = {
    "fr": {
        "cent": 100,
        "cents": 100,
        "mille": 1000,
        "million": 10**6,
        "millions": 10**6,
        "milliard": 10**9,
        "milliards": 10**9,
    },
    "en": {
        "hundred": 100,
        "thousand": 1000,
        "million": 10**6,
        "millions": 10**6,
        "billion": 10**9,
        "billions": 10**9,
    },
}
_PERCENT = {"fr": ("pour cent", r"\bpour ?cent\b"), "en": ("per cent", r"\bper ?cent\b")}
_CURRENCY = {"fr": {"€": " euros "}, "en": {}}
# isolated 0, 1, 2 as words: alpha2digit leaves these small numbers spelled out ("un" is also the article)
_SMALL_NUMBERS = {"fr": ("zéro", "un", "deux"), "en": ("zero", "one", "two")}
_FILLERS = {"fr": {"euh", "euhm", "heu", "hum", "hmm", "mmh", "mhm"}, "en": {"uh", "um", "umm", "hmm", "mhm"}}


class Step(NamedTuple):
    """One normalisation step: what it does (for reports) and the function doing it."""

    description: str
    apply: Callable[[str], str]


@dataclass(frozen=True)
class Normalizer:
    """Text normaliser applied identically to reference and hypothesis before any word is compared.

    ``language`` selects the number words (text2num's alpha2digit) and the French typographic rules
    (ordinals ``21e``/``XXIe``, ``pour cent``). Call it on a text; :meth:`describe` lists the steps.
    """

    language: str = "fr"
    lowercase: bool = True
    punctuation: bool = True
    numbers: bool = True
    drop_bracketed: bool = True
    drop_fillers: bool = True

    @cached_property
    def steps(self) -> tuple[Step, ...]:
        lang = self.language
        french = lang == "fr"
        steps = [Step("Unicode NFKC (compatibility forms, no-break and thin spaces become spaces)", _nfkc)]
        if self.drop_bracketed:
            steps.append(
                Step("remove non-speech marks in brackets: [1], (rires), <...>, {...}", _remove_bracketed)
            )
        if self.numbers and french:
            steps.append(Step("Roman ordinals to digits: XXIe -> 21e, Ier -> 1er", _roman_ordinals))
        if self.lowercase:
            steps.append(Step("lowercase", str.lower))
        steps.append(Step("unify apostrophes and quotes: ’ ‘ ` ´ ʼ -> ', « » “ ” -> \"", _unify_quotes))
        if self.numbers and lang in _PERCENT:
            euro = "; € -> euros" if _CURRENCY[lang] else ""
            steps.append(Step(f"'{_PERCENT[lang][0]}' and '%' -> the word %{euro}", _Symbols(lang)))
        if self.punctuation:
            steps.append(
                Step(
                    "punctuation and symbols to spaces (elisions l'homme -> l homme, hyphens peux-tu -> peux tu, "
                    "40/50 -> 40 50); keeps % and a decimal point or comma between digits",
                    _remove_punctuation,
                )
            )
        if self.numbers:
            steps.append(_number_step(lang))
        if self.drop_fillers and lang in _FILLERS:
            steps.append(Step(f"drop hesitations: {', '.join(sorted(_FILLERS[lang]))}", _Fillers(lang)))
        steps.append(Step("collapse whitespace", lambda text: " ".join(text.split())))
        return tuple(steps)

    def __call__(self, text: str) -> str:
        for step in self.steps:
            text = step.apply(text)
        return text

    def words(self, text: str) -> list[str]:
        return self(text).split()

    def describe(self) -> list[str]:
        """The steps in the order they run, one sentence each (for reports)."""
        return [step.description for step in self.steps]


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _remove_bracketed(text: str) -> str:
    return _BRACKETED.sub(" ", text)


def _unify_quotes(text: str) -> str:
    return text.translate(_QUOTES)


def _remove_punctuation(text: str) -> str:
    return _PUNCTUATION.sub(" ", text).replace("%", " % ")


def _roman_ordinals(text: str) -> str:
    def value(match: re.Match[str]) -> str:
        digits = [_ROMAN_VALUES[c] for c in match[1]]
        n = sum(-d if d < nxt else d for d, nxt in zip(digits, digits[1:] + [0]))
        suffix = match[2]
        return f"{n}{suffix if suffix in ('er', 're', 'ère') else 'e'}"

    return _ROMAN_ORDINAL.sub(value, text)


class _Symbols:
    def __init__(self, language: str) -> None:
        self.percent = re.compile(_PERCENT[language][1])
        self.currency = str.maketrans(_CURRENCY[language])

    def __call__(self, text: str) -> str:
        return self.percent.sub(" % ", text).replace("%", " % ").translate(self.currency)


class _Fillers:
    def __init__(self, language: str) -> None:
        self.fillers = _FILLERS[language]

    def __call__(self, text: str) -> str:
        return " ".join(w for w in text.split() if w not in self.fillers)


@cache
def _alpha2digit_supported(language: str) -> bool:
    from text_to_num import alpha2digit

    try:
        alpha2digit("", language)
    except ValueError:
        return False
    return True


def _join_thousands(text: str) -> str:
    return _THOUSANDS.sub(lambda m: m[0].replace(" ", ""), text)


def _number_step(language: str) -> Step:
    """Digits and number words to one form: digits, thousands unseparated, ordinals 21e, decimals 4,5."""
    supported = _alpha2digit_supported(language)
    small = _SMALL_NUMBERS.get(language) if supported else None
    scales = _SCALES.get(language, {})
    scaled = re.compile(rf"\b(\d+(?:,\d+)?) ({'|'.join(scales)})\b") if scales else None
    parts = ["thousands separators dropped ('1 000' -> 1000)"]
    if scaled:
        parts.append(f"digits before a scale word ({', '.join(scales)}) to digits ('1,5 million' -> 1500000)")
    if small:
        parts.append(
            f"isolated 0/1/2 -> {'/'.join(small)}, as alpha2digit keeps these small numbers spelled out"
        )
    if supported:
        parts.append(f"number words to digits (text2num alpha2digit '{language}': 'vingt et un' -> 21)")
    else:
        logger.warning("no number-word conversion for language %r (text2num does not support it)", language)
        parts.append(f"number words kept (text2num has no '{language}')")
    if language == "fr":
        parts.append("ordinals 21e/21ème/21è -> 21e, 1er -> premier, 1re/1ère -> première")
    parts.append("decimal point -> comma (4.0 -> 4,0)")

    def spell_small(text: str) -> str:
        if not small:
            return text
        return re.sub(r"(?<![\w,.])([012])(?![\w,.])", lambda m: small[int(m[1])], text)

    def apply(text: str) -> str:
        text = _join_thousands(" ".join(text.split()))
        if scaled:
            text = scaled.sub(lambda m: str(int(Decimal(m[1].replace(",", ".")) * scales[m[2]])), text)
        if supported:
            from text_to_num import alpha2digit

            text = _join_thousands(spell_small(alpha2digit(spell_small(text), language)))
        if language == "fr":
            text = re.sub(r"\b(\d+)(?:ème|eme|ième|ieme|è|e)\b", r"\1e", text)
            text = re.sub(r"\b1(?:ers?)\b", "premier", text)
            text = re.sub(r"\b1(?:ères?|eres?|res?)\b", "première", text)
        return re.sub(r"(?<=\d)\.(?=\d)", ",", text)

    return Step("; ".join(parts), apply)


# ---- word errors and alignment ---------------------------------------------------------------------


@dataclass(frozen=True)
class WordErrors:
    """Edit-distance counts between a reference and a hypothesis word sequence."""

    ref_words: int = 0
    hyp_words: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float:
        """errors / reference words; with an empty reference, the number of insertions (jiwer 4)."""
        return self.errors / max(self.ref_words, 1)


@dataclass(frozen=True)
class Region:
    """A window of the alignment with many errors: reference vs hypothesis, errors in CAPITALS, *** = missing."""

    position: int  # index of the window's first reference word (normalised text, from 0)
    errors: int
    reference: str
    hypothesis: str


def align(reference: str, hypothesis: str) -> tuple[WordErrors, list[tuple[str | None, str | None]]]:
    """Word errors and the aligned (reference word, hypothesis word) pairs of two normalised texts."""
    out = jiwer.process_words(reference, hypothesis)
    ref, hyp = out.references[0], out.hypotheses[0]
    pairs: list[tuple[str | None, str | None]] = []
    for chunk in out.alignments[0]:
        r = ref[chunk.ref_start_idx : chunk.ref_end_idx]
        h = hyp[chunk.hyp_start_idx : chunk.hyp_end_idx]
        if chunk.type == "delete":
            pairs += [(w, None) for w in r]
        elif chunk.type == "insert":
            pairs += [(None, w) for w in h]
        else:
            pairs += list(zip(r, h))
    counts = WordErrors(len(ref), len(hyp), out.substitutions, out.deletions, out.insertions)
    return counts, pairs


def worst_regions(
    pairs: Sequence[tuple[str | None, str | None]], count: int = 5, width: int = 12
) -> list[Region]:
    """The ``count`` non-overlapping windows of ``width`` aligned words holding the most errors."""
    cumulative = [0]
    for r, h in pairs:
        cumulative.append(cumulative[-1] + (r != h))

    def errors_from(start: int) -> int:
        return cumulative[min(start + width, len(pairs))] - cumulative[start]

    chosen: list[int] = []
    for start in sorted(range(max(len(pairs) - width, 0) + 1), key=lambda s: (-errors_from(s), s)):
        if len(chosen) == count or errors_from(start) == 0:
            break
        if all(abs(start - c) >= width for c in chosen):
            chosen.append(start)
    regions = []
    for start in sorted(chosen):
        ref_cells, hyp_cells = [], []
        for r, h in pairs[start : start + width]:
            size = max(len(r or ""), len(h or ""), 3)
            ref_cells.append(_cell(r, r != h, size))
            hyp_cells.append(_cell(h, r != h, size))
        position = sum(r is not None for r, _ in pairs[:start])
        regions.append(
            Region(position, errors_from(start), " ".join(ref_cells).rstrip(), " ".join(hyp_cells).rstrip())
        )
    return regions


def _cell(word: str | None, wrong: bool, size: int) -> str:
    return ("*" * size if word is None else word.upper() if wrong else word).ljust(size)


# ---- speakers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeakerScore:
    """Word errors of one reference speaker against the hypothesis speaker assigned to them (cpWER pair)."""

    reference: str | None  # None: a hypothesis speaker left without a reference speaker
    hypothesis: str | None  # None: a reference speaker no hypothesis speaker was assigned to
    errors: WordErrors


def _cp_assignment(ref_by: Mapping[str, str], hyp_by: Mapping[str, str]) -> tuple[float, list[SpeakerScore]]:
    """cpWER (meeteval) of normalised per-speaker texts, with each assigned pair's own word errors."""
    from meeteval.wer import cp_word_error_rate

    cp = cp_word_error_rate(dict(ref_by), dict(hyp_by), reference_sort=False, hypothesis_sort=False)
    scores = [SpeakerScore(r, h, align(ref_by.get(r, ""), hyp_by.get(h, ""))[0]) for r, h in cp.assignment]
    return cp.errors / max(cp.length, 1), scores


def _normalised_by_speaker(transcript: Reference, normalizer: Normalizer) -> dict[str, str]:
    return {spk: normalizer(text) for spk, text in transcript.by_speaker().items()}


def map_speakers(
    hypothesis: Reference | Transcript, reference: Reference, normalizer: Normalizer | None = None
) -> dict[str, str]:
    """Hypothesis speaker label -> reference name, by the assignment minimising cpWER (best text alignment).

    A Transcript's keys are its speaker ids (ready for ``Transcript.with_names``). A hypothesis speaker
    left unassigned, or with no word in common with its assigned reference speaker, is not in the result.
    """
    if isinstance(hypothesis, Transcript):
        normalizer = normalizer or Normalizer(language=_language(hypothesis))
        hypothesis = Reference.from_transcript(hypothesis, display_names=False)
    normalizer = normalizer or Normalizer()
    ref_by = _normalised_by_speaker(reference, normalizer)
    hyp_by = _normalised_by_speaker(hypothesis, normalizer)
    if not reference.speakers or not hypothesis.speakers:
        return {}
    _, scores = _cp_assignment(ref_by, hyp_by)
    shared = [s for s in scores if s.errors.ref_words > s.errors.substitutions + s.errors.deletions]
    return _mapping(shared)


def _mapping(scores: Sequence[SpeakerScore]) -> dict[str, str]:
    """Hypothesis label -> reference name for the assigned pairs of two known speakers."""
    return {
        s.hypothesis: s.reference
        for s in scores
        if s.hypothesis not in (None, UNKNOWN_SPEAKER) and s.reference not in (None, UNKNOWN_SPEAKER)
    }


def _language(transcript: Transcript) -> str:
    return transcript.language or "fr"


# ---- diarization -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiarizationScores:
    """DER and JER at one collar (± seconds around reference boundaries), with DER's parts in seconds."""

    collar: float
    der: float
    jer: float
    missed: float
    false_alarm: float
    confusion: float
    speech: float  # reference speech scored (DER denominator)


def diarization_scores(
    reference: Sequence[Turn], hypothesis: Sequence[Turn], collar: float = 0.0
) -> DiarizationScores:
    """DER and JER of hypothesis turns against reference turns (pyannote.metrics, overlap scored)."""
    from pyannote.core import Segment as PSegment
    from pyannote.core import Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

    ref, hyp = _annotation(reference), _annotation(hypothesis)
    turns = [*reference, *hypothesis]
    uem = Timeline([PSegment(min(t.start for t in turns), max(t.end for t in turns))])
    width = 2 * collar  # pyannote.metrics: total collar width, centred on each boundary
    parts = DiarizationErrorRate(collar=width, skip_overlap=False)(ref, hyp, uem=uem, detailed=True)
    jer = JaccardErrorRate(collar=width, skip_overlap=False)(ref, hyp, uem=uem)
    return DiarizationScores(
        collar=collar,
        der=float(parts["diarization error rate"]),
        jer=float(jer),
        missed=float(parts["missed detection"]),
        false_alarm=float(parts["false alarm"]),
        confusion=float(parts["confusion"]),
        speech=float(parts["total"]),
    )


def _annotation(turns: Sequence[Turn]) -> Any:
    from pyannote.core import Annotation
    from pyannote.core import Segment as PSegment

    annotation = Annotation(uri="recording")
    for track, turn in enumerate(turns):
        annotation[PSegment(turn.start, turn.end), track] = turn.speaker
    return annotation


# ---- report ----------------------------------------------------------------------------------------


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
    def per_speaker_wer(self) -> dict[str, float]:
        """Reference speaker -> WER against the hypothesis speaker mapped to them."""
        return {s.reference: s.errors.wer for s in self.per_speaker if s.reference is not None}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (rates as fractions, times in seconds)."""
        data = asdict(self)
        data["speaker_mapping"] = dict(self.speaker_mapping)
        data["per_speaker"] = [
            {"reference": s.reference, "hypothesis": s.hypothesis, "wer": s.errors.wer, **asdict(s.errors)}
            for s in self.per_speaker
        ]
        data["per_speaker_wer"] = self.per_speaker_wer
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
        rows.append(("cpWER", _percent(self.cpwer)))
        for d in self.diarization:
            where = f"collar ±{d.collar:g} s" if d.collar else "collar 0"
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
                    f"  {s.reference or '-'} <- {s.hypothesis or '-'}: {_percent(e.wer)}  "
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


def evaluate(
    hypothesis: Transcript | Reference | Source,
    reference: Reference | Source | None,
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
    """
    if collar < 0:
        raise OptionError(f"collar must be zero or more, got {collar}")
    if isinstance(hypothesis, (str, os.PathLike)):
        hypothesis = (
            Transcript.load(hypothesis)
            if Path(hypothesis).suffix.lower() == ".json"
            else load_hypothesis(hypothesis)
        )
    if isinstance(reference, (str, os.PathLike)):
        reference = load_reference(reference)
    if isinstance(hypothesis, Transcript):

        normalizer = normalizer or Normalizer(language=_language(hypothesis))
        hyp_turns = hypothesis.speaker_turns()
        hypothesis = Reference.from_transcript(hypothesis)
    else:
        hyp_turns = hypothesis.turns()
    normalizer = normalizer or Normalizer()
    hyp_turns = _turns(hypothesis_turns) if hypothesis_turns is not None else hyp_turns
    ref_turns = (
        _turns(reference_turns)
        if reference_turns is not None
        else reference.turns()
        if reference is not None
        else []
    )

    counts, per_speaker, mapping, cpwer, region_list = WordErrors(), [], {}, None, []
    if reference is not None:
        _check_size(reference, hypothesis)
        counts, pairs = align(normalizer(reference.text), normalizer(hypothesis.text))
        region_list = worst_regions(pairs, count=regions)
        if reference.speakers and hypothesis.speakers:
            cpwer, per_speaker = _cp_assignment(
                _normalised_by_speaker(reference, normalizer), _normalised_by_speaker(hypothesis, normalizer)
            )
            mapping = _mapping(per_speaker)

    diarization: list[DiarizationScores] = []
    if ref_turns and hyp_turns:
        diarization = [
            diarization_scores(ref_turns, hyp_turns, c) for c in dict.fromkeys((0.0, float(collar)))
        ]
    at_collar = diarization[-1] if diarization else None
    at_zero = diarization[0] if diarization else None
    return Report(
        wer=counts.wer if reference is not None else None,
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


__all__ = [
    "DiarizationScores",
    "Normalizer",
    "Region",
    "Report",
    "SpeakerScore",
    "Step",
    "WordErrors",
    "align",
    "diarization_scores",
    "evaluate",
    "map_speakers",
    "worst_regions",
]
