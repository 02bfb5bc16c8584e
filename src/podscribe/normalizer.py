"""Text normalisation applied identically to reference and hypothesis before any word is scored.

French-aware: elisions and hyphens split, number words and digits brought to one form, non-speech
marks and hesitations dropped. :meth:`Normalizer.describe` lists the steps for reports.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, cached_property
from typing import NamedTuple

from .writing import UNSPACED_LANGUAGES, unspaced

_BRACKETED = re.compile(r"\[[^\]]*\]|\([^)]*\)|<[^>]*>|\{[^}]*\}")
_QUOTES = str.maketrans({c: "'" for c in "’‘`´ʼ′"} | {c: '"' for c in "«»“”„‟"})
_ROMAN_ORDINAL = re.compile(
    r"\b(?=[MDCLXVI]{2}|[IVX][eè])(M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3}))(ère|er|re|ème|eme|e)\b"
)
_ROMAN_VALUES = {"M": 1000, "D": 500, "C": 100, "L": 50, "X": 10, "V": 5, "I": 1}
_PUNCTUATION = re.compile(r"[^\w\s%.,]|_|(?<!\d)[.,]|[.,](?!\d)")
_CONTRACTION = re.compile(r"(?<=[a-z])'(?=[a-z])")  # English "don't": one word, as Whisper's normaliser has it
_KEPT_APOSTROPHE = "qqapostropheqq"  # letters: stands for a contraction's apostrophe while punctuation goes
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
_CURRENCY = {"fr": {"€": " euros "}, "en": {"$": " dollars ", "£": " pounds ", "€": " euros "}}
_PREFIXED_CURRENCY = re.compile(r"([$£€])\s?(\d+(?:[.,]\d+)*)")  # "$5" is said "five dollars": the sign after
_DECIMAL_WORD = {"fr": "virgule", "en": "point"}  # "deux virgule cinq millions": text2num read 2,5000000
_HIDDEN = "qqhiddenqq"  # a prefix that makes a word no number word for text2num
_GROUPED_THOUSANDS = re.compile(r"\b\d{1,3}(?:,\d{3})+\b")  # English "10,000"
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
            money = "".join(f"; {sign} -> {word.strip()}" for sign, word in _CURRENCY[lang].items())
            symbols = f"'{_PERCENT[lang][0]}' and '%' -> the word %{money} ($5 -> 5 dollars)"
            steps.append(Step(symbols, _Symbols(lang)))
        if self.punctuation:
            english = lang == "en"  # a contraction is one word (don't); a French elision two (l'homme)
            apostrophes = "a contraction's apostrophe (don't), " if english else ""
            examples = "hyphens well-known -> well known" if english else (
                "elisions l'homme -> l homme, hyphens peux-tu -> peux tu")  # fmt: skip
            steps.append(Step(
                f"punctuation and symbols to spaces ({examples}, 40/50 -> 40 50); keeps {apostrophes}% and a "
                "decimal point or comma between digits",
                _remove_punctuation_but_contractions if english else _remove_punctuation,
            ))  # fmt: skip
        if self.numbers:
            steps.append(_number_step(lang))
        if lang in UNSPACED_LANGUAGES:
            steps.append(
                Step("each character of a script written without spaces (Chinese, Japanese, Thai...) a word: "
                     "the WER of such text is a character error rate", _characters_apart)
            )  # fmt: skip
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

    @classmethod
    def for_language(cls, language: str | None) -> Normalizer:
        """The default normaliser for a transcript's language (French when it has none)."""
        return cls(language=language or "fr")

    def describe(self) -> list[str]:
        """The steps in the order they run, one sentence each (for reports)."""
        return [step.description for step in self.steps]


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _remove_bracketed(text: str) -> str:
    return _BRACKETED.sub(" ", text)


def _unify_quotes(text: str) -> str:
    return text.translate(_QUOTES)


def _characters_apart(text: str) -> str:
    return "".join(f" {c} " if unspaced(c) else c for c in text)


def _remove_punctuation(text: str) -> str:
    return _PUNCTUATION.sub(" ", text).replace("%", " % ")


def _remove_punctuation_but_contractions(text: str) -> str:
    return _remove_punctuation(_CONTRACTION.sub(_KEPT_APOSTROPHE, text)).replace(_KEPT_APOSTROPHE, "'")


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
        text = _PREFIXED_CURRENCY.sub(r"\2 \1", text)
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
    scaled = re.compile(rf"\b(\d+(?:[,.]\d+)?) ({'|'.join(scales)})\b") if scales else None
    decimal = _DECIMAL_WORD.get(language)
    spelled_scale = re.compile(rf"\b({decimal} \S+) ({'|'.join(scales)})\b") if decimal and scales else None
    grouped = ", '1,000' -> 1000" if language == "en" else ""
    parts = [f"thousands separators dropped ('1 000' -> 1000{grouped})"]
    if scaled:
        parts.append(f"digits before a scale word ({', '.join(scales)}) to digits ('1,5 million' -> 1500000)")
    if small:
        parts.append(
            f"isolated 0/1/2 -> {'/'.join(small)}, as alpha2digit keeps these small numbers spelled out"
        )
    if supported:
        parts.append(f"number words to digits (text2num alpha2digit '{language}': 'vingt et un' -> 21)")
    else:  # said in the report's list of steps, not warned of: align normalises too, and need not say it
        parts.append(f"number words kept (text2num has no '{language}': 'twenty' and '20' differ)")
    if language == "fr":
        parts.append("ordinals 21e/21ème/21è -> 21e, 1er -> premier, 1re/1ère -> première, 2e -> deuxième")
    parts.append("decimal point -> comma (4.0 -> 4,0)")

    def spell_small(text: str) -> str:
        if not small:
            return text
        return re.sub(r"(?<![\w,.])([012])(?![\w,.])", lambda m: small[int(m[1])], text)

    def scale(text: str) -> str:
        if not scaled:
            return text
        return scaled.sub(lambda m: str(int(Decimal(m[1].replace(",", ".")) * scales[m[2]])), text)

    def apply(text: str) -> str:
        text = _join_thousands(" ".join(text.split()))
        if language == "en":
            text = _GROUPED_THOUSANDS.sub(lambda m: m[0].replace(",", ""), text)
        text = scale(text)
        if supported:
            from text_to_num import alpha2digit

            if spelled_scale:  # after a decimal the scale word hidden from alpha2digit, then scaled as digits
                text = spelled_scale.sub(rf"\1 {_HIDDEN}\2", text)
            text = _join_thousands(spell_small(alpha2digit(spell_small(text), language)))
            text = scale(text.replace(_HIDDEN, ""))
        if language == "fr":
            text = re.sub(r"\b(\d+)(?:ème|eme|ième|ieme|è|e)\b", r"\1e", text)
            text = re.sub(r"\b2e\b", "deuxième", text)  # alpha2digit keeps "deuxième", as it keeps "deux"
            text = re.sub(r"\b1(?:ers?)\b", "premier", text)
            text = re.sub(r"\b1(?:ères?|eres?|res?)\b", "première", text)
        return re.sub(r"(?<=\d)\.(?=\d)", ",", text)

    return Step("; ".join(parts), apply)
