"""Professional subtitles: cut a transcript's words into timed cues under broadcast rules, write SRT/WebVTT.

The rules (docs SUBTITLES.md: Netflix general and French guides, BBC) are fields of ``SubtitleRules``.
``make_cues`` works in three passes:

1. Words become *units*: a word with its marks, attached to it in the transcript ("Bonjour\u00a0!") or
   words of their own ("?" after it, "«" before it, in a hand-made transcript), so no line or cue
   ever starts with a closing mark. French typography puts a no-break space
   before ? ! : ; » and after «: U+00A0, chosen over the narrow U+202F because more player fonts have
   it; it counts as one character.
2. Dynamic programming over unit positions picks the cues: a cue's cost is its line layout (fewest
   lines that fit, then the best break: after punctuation, before a conjunction or preposition, never
   after an article, subject pronoun, elided word or between two capitalised words), the quality of the
   cut after it (speaker change, sentence end, pause, comma ...), and the characters it shows beyond
   the reading speed or the time it lacks to reach the minimum duration. A cue never holds more than
   one speaker, except with ``speaker_labels="dash"`` as a two-line dialogue, "- " and one speaker a line.
3. Timing, in whole frames: in-time is the frame at or before the first word's start (later only when
   two cues would otherwise start within ``min_gap_frames`` + 1 frames, to keep cues ordered); out-time
   covers the speech and is extended to reach the minimum duration and the reading speed, but never past
   ``max_hang`` after the last word, ``max_duration`` after the in-time (even when one word lasts
   longer: Whisper sometimes stretches a word over a pause), ``min_gap_frames`` before the next cue,
   or the end of the media (the transcript's duration).
   A cue still held under the minimum duration (by the next cue or by ``max_hang``) starts earlier
   instead, as far as the minimum needs, at most ``max_hang`` before its speech and never into the
   previous cue's gap (a short reply between two speakers' turns); if the next cue still holds it
   short, that cue's in-time comes later, at most 3 frames after its speech starts ("in-time within
   3 frames", SUBTITLES.md). The segmentation costs a cue under the minimum heavily, so a fragment
   ("Par contre,") joins a neighbour cue wherever one can take it.

Reading speed (rule decided 2026-12-02, SUBTITLES.md): subtitles are verbatim, every word in order.
A cue above ``max_cps`` is acceptable only when the hard rules allow no longer display: it already ends
at the next cue's start minus the minimum gap, at ``max_duration``, at ``max_hang`` after its last word,
or at the media's end. Where the speech itself is faster than the limit, nothing else changes (no
words are dropped or condensed). The same holds for a cue under ``min_duration``, which moreover is a
fragment no neighbour could take (another speaker's cue, or one too full or too long).

Rules that cannot be met (a word longer than a line, speech faster than any
legal reading speed, a cue cut short by the next one) still give ordered, non-overlapping cues of
positive duration; ``check_cues`` counts the cues that break each rule.
"""

from __future__ import annotations

import html
import itertools
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, NamedTuple

import srt

from .errors import OptionError
from .options import option
from .views import TimedWord, WordTimeline
from .writing import (
    CLAUSE_ENDS,
    CLOSING_QUOTES,
    OPENING_MARKS,
    continues,
    ends_sentence,
    join_words,
    spaced,
    width,
)

logger = logging.getLogger(__name__)

NBSP = "\u00a0"
SPEAKER_LABELS = ("none", "prefix", "dash")
RULES = (
    "max_chars_per_line",
    "max_lines",
    "needless_line_break",
    "max_cps",
    "min_duration",
    "max_duration",
    "min_gap",
    "overlap",
    "non_positive_duration",
    "max_hang",
    "speaker_change",
)
"""Rule names of ``SubtitleReport.violations`` (the last two are checked on ``Cue`` objects only)."""

DASH = "- "
_EPS = 1e-9
_TOL = 0.0011  # check_cues tolerance in seconds: SRT and WebVTT store whole milliseconds

_CLOSING = set(".,;:!?…)]}»”%" "。？！｡؟।॥۔።፧，、；：،؛፣」』）】〉》〕")  # marks that end what is before them
_OPENING = set(OPENING_MARKS)
_MARKS = "".join(_OPENING | _CLOSING) + '" ' + NBSP + "\u202f"
_APOSTROPHE = re.compile("['’]")
SRT_TAG = re.compile(r"<(/?[A-Za-z][^<>]*)>")
"""What a player reads as a tag in SRT text (``<b>``, ``</i>``, ``<font color=...>``): a ``<`` before
anything else (``x < y``) is shown as written."""
ASS_OVERRIDE = re.compile(r"\{\\[^{}]*\}")
"""``{\\an8}``, ``{\\i1}``: the styling codes libass reads in SRT text, never words."""
_FR_BEFORE = re.compile(r"(?<=[^\s«])[ \u00a0\u202f]*([?!:;»]+)(?=$|\s|[.,)\]…?!:;»\"”])")
_FR_AFTER = re.compile(r"«[ \u00a0\u202f]*(?=\S)")


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Lexicons for line and cue breaks: never break after NO_BREAK_AFTER words (articles, determiners,
# subject pronouns, clitics), prefer breaking before FUNCTION words (conjunctions, prepositions).
_FR_NO_BREAK_AFTER = _wordset(
    "le la les un une des du au aux ce cet cette ces mon ma mes ton ta tes son sa ses notre nos "
    "votre vos leur leurs quel quelle quels quelles chaque plusieurs quelques aucun aucune je tu il "
    "elle on nous vous ils elles ne se me te"
)
_FR_FUNCTION = _wordset(
    "et ou mais donc or ni car que qu qui quand lorsque lorsqu puisque puisqu parce comme si alors "
    "puis dont où à de dans par pour en vers avec sans sous sur chez entre depuis pendant contre "
    "parmi selon malgré d avant après jusque jusqu envers durant dès hors via"
)
_EN_NO_BREAK_AFTER = _wordset(
    "a an the this these those my your his her its our their some any every each no i you he she it we they"
)
_EN_FUNCTION = _wordset(
    "and but or nor so yet because although though while when if unless since whereas that which who "
    "whom whose where whether in on at to for with from by of about into onto over under after "
    "before between through during without within across against among around behind beyond near "
    "toward towards upon like"
)
_ES_NO_BREAK_AFTER = _wordset(
    "el la los las un una unos unas lo al del este esta estos estas ese esa esos esas aquel aquella aquellos "
    "aquellas mi mis tu tus su sus nuestro nuestra nuestros nuestras vuestro vuestra vuestros vuestras cada "
    "algún alguna algunos algunas ningún ninguna varios varias yo tú él ella nosotros nosotras vosotros "
    "vosotras ellos ellas me te se nos os le les"
)
_ES_FUNCTION = _wordset(
    "y e o u pero sino ni que porque pues aunque si cuando como donde mientras a ante bajo con contra de "
    "desde en entre hacia hasta para por según sin sobre tras durante mediante"
)
_IT_NO_BREAK_AFTER = _wordset(
    "il lo la i gli le un uno una del dello della dei degli delle al allo alla ai agli alle dal dallo "
    "dalla dai dagli dalle nel nello nella nei negli nelle sul sullo sulla sui sugli sulle questo questa "
    "questi queste quel quello quella quei quegli quelle mio mia miei mie tuo tua tuoi tue suo sua suoi sue "
    "nostro nostra nostri nostre vostro vostra vostri vostre ogni qualche alcuni alcune io tu lui lei noi "
    "voi loro mi ti si ci vi ne"
)
_IT_FUNCTION = _wordset(
    "e ed o od ma però perché che se quando come dove mentre né di a da in con su per tra fra senza verso "
    "durante dopo contro"
)
_DE_NO_BREAK_AFTER = _wordset(
    "der die das den dem des ein eine einen einem einer eines kein keine keinen keinem keiner mein meine "
    "meinen meinem meiner dein deine deinen sein seine seinen seinem seiner ihr ihre ihren ihrem ihrer "
    "unser unsere unseren unserem unserer euer eure dieser diese dieses diesen diesem jeder jede jedes "
    "jeden jedem ich du er sie es wir im am zum zur vom beim ins ans"
)
_DE_FUNCTION = _wordset(
    "und oder aber denn sondern doch dass daß weil wenn als ob obwohl während bevor nachdem damit in an auf "
    "aus bei mit nach von zu für über unter vor hinter neben zwischen durch gegen ohne um bis seit trotz "
    "wegen"
)
_PT_NO_BREAK_AFTER = _wordset(
    "o a os as um uma uns umas do da dos das no na nos nas ao aos à às pelo pela pelos pelas este esta "
    "estes estas esse essa esses essas aquele aquela aqueles aquelas meu minha meus minhas teu tua teus "
    "tuas seu sua seus suas nosso nossa nossos nossas cada eu tu ele ela nós eles elas me te se lhe lhes"
)
_PT_FUNCTION = _wordset(
    "e ou mas porém nem que porque pois embora se quando como onde enquanto de em por para com sem sobre "
    "sob entre até desde contra após durante"
)


class _Lexicon(NamedTuple):
    """One language's words for line and cue breaks."""

    no_break_after: frozenset[str]
    function: frozenset[str]
    capitals_are_names: bool = True  # two capitalised words in a row: a first and a last name (not in German)


_LEXICONS = {
    "fr": _Lexicon(_FR_NO_BREAK_AFTER, _FR_FUNCTION),
    "en": _Lexicon(_EN_NO_BREAK_AFTER, _EN_FUNCTION),
    "es": _Lexicon(_ES_NO_BREAK_AFTER, _ES_FUNCTION),
    "it": _Lexicon(_IT_NO_BREAK_AFTER, _IT_FUNCTION),
    "de": _Lexicon(_DE_NO_BREAK_AFTER, _DE_FUNCTION, capitals_are_names=False),  # every noun has a capital
    "pt": _Lexicon(_PT_NO_BREAK_AFTER, _PT_FUNCTION),
}

# Joint classes between two units, best first, and what cutting a cue / breaking a line there costs.
SENTENCE, CLAUSE, BEFORE_FUNCTION, PLAIN, AFTER_FUNCTION, FORBIDDEN = range(6)
_CUE_BREAK_COST = (0.0, 1.0, 2.0, 4.0, 6.0, 10.0)
_LINE_BREAK_COST = (0.0, 0.0, 1.0, 3.0, 4.0, 10.0)
_LATE_FRAMES = 3  # an in-time may follow the speech's start by this much to let the cue before last its minimum
_LONG_PAUSE = 1.0  # seconds of silence that make a cut as good as a sentence end
_PAUSE = 0.5  # seconds of silence that make a cut as good as a comma
_CUE_COST = 2.0  # per cue: prefer full cues to many small ones
_DIALOGUE_COST = 1.5  # extra for a two-speaker cue: only when the speakers' lines are short and fast
_IMBALANCE_COST = 3.0  # per line width of difference between a line and the mean line
_CPS_COST = 1.0  # per character shown beyond the reading speed
_SHORT_COST = 10.0  # per second missing to reach the minimum duration ...
_UNDER_MIN_COST = 50.0  # ... and once for a cue under it: a fragment joins a neighbour wherever one can take it
_OVERLONG_COST = 100.0  # a unit that cannot fit a line (it is cued alone)
# per silence of _LONG_PAUSE or more inside a cue: the words after it are on screen that long before they are
# said, so joining across it weighs as cutting where one must not
_SILENCE_COST = float(_CUE_BREAK_COST[FORBIDDEN])


@dataclass(frozen=True)
class SubtitleRules:
    """Subtitle rules, defaults from SUBTITLES.md (Netflix, BBC); every limit is configurable.

    speaker_labels: "dash" (default) writes no names, and allows two speakers in one cue only as a
    two-line dialogue with "- " before each line; "prefix" writes "Name: " (French "Name : ") at the
    start of the first cue after each speaker change and never mixes speakers in a cue; "none" writes no
    names and never mixes speakers. Labels and dashes count towards the characters of their line.
    french_typography: None decides from the transcript's language ("fr...").

    Each field is declared once, here: its default, its validation (``__post_init__``) and, for the
    fields the command line offers, its flag and help in the field's metadata (``cli`` derives them).
    """

    max_chars_per_line: int = option(42, "--max-chars", "characters per line (a CJK character counts two)")
    max_lines: int = option(2, "--max-lines", "lines per cue")
    max_cps: float = option(17.0, "--max-cps", "reading speed, characters per second (CJK: two each)")
    min_duration: float = option(5 / 6, "--min-duration", "seconds on screen at least")
    max_duration: float = option(7.0, "--max-duration", "seconds on screen at most")
    min_gap_frames: int = 2
    fps: float = option(25.0, "--fps", "frame rate for gaps and rounding")
    max_hang: float = 1.5
    french_typography: bool | None = None
    speaker_labels: Literal["none", "prefix", "dash"] = option(
        "dash", "--speaker-labels",
        "speaker names in cues: none, a 'Name:' prefix at each change, or dialogue dashes only",
        choices=SPEAKER_LABELS,
    )

    def __post_init__(self) -> None:
        for name in ("max_chars_per_line", "max_lines", "max_cps", "max_duration", "fps"):
            if not getattr(self, name) > 0:
                raise OptionError(f"{name} must be positive, not {getattr(self, name)!r}", option=name)
        for name in ("min_duration", "min_gap_frames", "max_hang"):
            if not getattr(self, name) >= 0:
                raise OptionError(f"{name} must not be negative, not {getattr(self, name)!r}", option=name)
        if self.min_duration > self.max_duration:
            raise OptionError(
                f"min_duration {self.min_duration} is longer than max_duration {self.max_duration}",
                option="min_duration",
            )
        if self.speaker_labels not in SPEAKER_LABELS:
            raise OptionError(
                f"speaker_labels must be one of {', '.join(SPEAKER_LABELS)}, not {self.speaker_labels!r}",
                option="speaker_labels",
            )

    @property
    def min_gap(self) -> float:
        return self.min_gap_frames / self.fps


class Cue(srt.Subtitle):
    """An ``srt.Subtitle`` that also carries the words it shows and its speakers (one per dialogue line).

    The extra attributes are slots, outside ``vars()``, so srt copies, compares and writes a Cue as a
    plain Subtitle.
    """

    __slots__ = ("speakers", "words")

    def __init__(
        self,
        index: int,
        start: timedelta,
        end: timedelta,
        content: str,
        words: tuple[TimedWord, ...],
        speakers: tuple[str | None, ...],
    ) -> None:
        super().__init__(index, start, end, content)
        self.words = words
        self.speakers = speakers


@dataclass(frozen=True)
class SubtitleReport:
    """How many of ``total`` cues break each rule (``violations`` has every name of ``RULES``)."""

    total: int
    violations: Mapping[str, int]

    @property
    def ok(self) -> bool:
        return not any(self.violations.values())

    def format(self) -> str:
        """A short human-readable report: one line per broken rule."""
        broken = [f"  {rule}: {n} ({100 * n / self.total:.1f}%)" for rule, n in self.violations.items() if n]
        head = f"{self.total} cues, " + ("all rules met" if not broken else "rules not met:")
        return "\n".join([head, *broken])


@dataclass(frozen=True)
class _Unit:
    """Words shown together (a word and the punctuation glued to it): no line or cue breaks inside."""

    text: str
    start: float
    end: float
    speaker: str | None
    words: tuple[TimedWord, ...]


@dataclass(frozen=True)
class _Plan:
    """A cue chosen by the segmentation, before timing: units [a, b) laid out as lines."""

    a: int
    b: int
    lines: tuple[str, ...]
    speakers: tuple[str | None, ...]


def make_cues(transcript: WordTimeline, rules: SubtitleRules = SubtitleRules()) -> list[srt.Subtitle]:
    """Cut the transcript's words into timed subtitle cues (``Cue`` objects) that follow ``rules``."""
    french = rules.french_typography
    if french is None:
        french = (transcript.language or "").lower().startswith("fr")
    units = _units(_spoken(transcript.words), french)
    if not units:
        return []
    plans = _segment(units, rules, transcript, french, _lexicon(transcript.language))
    times = _timing(plans, units, rules, transcript.duration)
    cues: list[srt.Subtitle] = [
        Cue(
            index=i,
            start=_frame_time(s, rules.fps),
            end=_frame_time(e, rules.fps),
            content="\n".join(p.lines),
            words=tuple(w for u in units[p.a : p.b] for w in u.words),
            speakers=p.speakers,
        )
        for i, (p, (s, e)) in enumerate(zip(plans, times), start=1)
    ]
    logger.debug("%d words -> %d cues", len(transcript.words), len(cues))
    return cues


def compose_srt(cues: Iterable[srt.Subtitle]) -> str:
    """The cues as an SRT file, its text shown as written. SRT has no escaping and players render
    ``<b>``, ``<i>``, ``<font>`` (web players any HTML) and ``{\\an8}`` in it, so a tag-like word keeps
    its letters between single guillemets (``<b>`` is shown as ``‹b›``) and ASS overrides are dropped."""
    plain = [
        srt.Subtitle(cue.index, cue.start, cue.end, _srt_text(cue.content), cue.proprietary) for cue in cues
    ]
    return srt.compose(plain)


def _srt_text(text: str) -> str:
    text = ASS_OVERRIDE.sub("", text)
    return SRT_TAG.sub(lambda m: f"‹{m[1]}›", text)


def compose_vtt(cues: Iterable[srt.Subtitle], transcript: WordTimeline | None = None) -> str:
    """The cues as a WebVTT file; ``Cue`` speakers become ``<v Name>`` voice tags (names from transcript)."""
    blocks = ["WEBVTT\n"]
    for i, cue in enumerate(cues, start=1):
        lines = [_vtt_escape(line) for line in cue.content.split("\n")]
        speakers = cue.speakers if isinstance(cue, Cue) else ()
        if len(speakers) == len(lines) > 1:  # dialogue: one voice a line
            lines = [_voice(line, s, transcript) for line, s in zip(lines, speakers)]
        elif len(speakers) == 1:
            lines = [_voice("\n".join(lines), speakers[0], transcript)]
        blocks.append(f"{i}\n{_vtt_time(cue.start)} --> {_vtt_time(cue.end)}\n" + "\n".join(lines) + "\n")
    return "\n".join(blocks)


def check_cues(cues: Sequence[srt.Subtitle], rules: SubtitleRules = SubtitleRules()) -> SubtitleReport:
    """Count the cues that break each rule (any srt.Subtitle; hang and speakers need ``Cue`` objects)."""
    counts = dict.fromkeys(RULES, 0)
    previous: srt.Subtitle | None = None
    for cue in cues:
        for rule in _broken_rules(cue, previous, rules):
            counts[rule] += 1
        previous = cue
    return SubtitleReport(total=len(cues), violations=counts)


# ---- units and typography ---------------------------------------------------------------------


def _spoken(words: Sequence[TimedWord]) -> list[TimedWord]:
    """``words`` without the sentences none of whose words was heard (``aligned`` false: a supplied
    text's words not found in the speech, their times interpolated). Shown, such a sentence was squeezed
    into the nearest pause: cues of a frame, or of 87 characters a second, and the next spoken cue late."""
    kept: list[TimedWord] = []
    sentence: list[TimedWord] = []
    for i, w in enumerate(words):
        sentence.append(w)
        last = i + 1 == len(words) or ends_sentence(w.text) or words[i + 1].speaker != w.speaker
        if last:
            if any(getattr(x, "aligned", True) for x in sentence):
                kept += sentence
            sentence = []
    return kept


def _units(words: Sequence[TimedWord], french: bool) -> list[_Unit]:
    """Group words into units of one real word: closing marks, empty words and pieces of a word (a Thai
    vowel sign Whisper gives apart) join the word before, opening marks (and marks before the first word)
    the next."""
    groups: list[list[TimedWord]] = []
    pending: list[TimedWord] = []
    for w in words:
        text = _clean(w.text)
        if (_attaches_back(text) or continues(text)) and groups and not pending:
            groups[-1].append(w)
            continue
        pending.append(w)
        if _is_word(text):
            groups.append(pending)
            pending = []
    if pending:
        if groups:
            groups[-1].extend(pending)
        else:
            groups.append(pending)
    units = [_unit(g, french) for g in groups]
    return [u for u in units if u.text]


def _unit(words: list[TimedWord], french: bool) -> _Unit:
    texts = [_clean(w.text) for w in words]
    text = _glue(texts)
    if french:
        text = _french(text)
    main = next((w for w, t in zip(words, texts) if _is_word(t)), words[0])
    return _Unit(text, words[0].start, max(w.end for w in words), main.speaker, tuple(words))


def _clean(text: str) -> str:
    """A word's text on one line, without the space between it and the marks attached to it
    ("Bonjour\u00a0!" -> "Bonjour!"): spacing marks is the typography's (``_french``), as for
    marks that come as words of their own."""
    return _glue(text.split())


def _glue(texts: Sequence[str]) -> str:
    """Texts joined by spaces, except before a closing mark, after an opening one, and where
    ``writing.spaced`` puts none (inside Chinese, Japanese or Thai text)."""
    text = texts[0] if texts else ""
    for prev, t in itertools.pairwise(texts):
        text += t if _attaches_back(t) or _attaches_forward(prev) or not spaced(text, t) else " " + t
    return text


def _attaches_back(text: str) -> bool:
    return all(c in _CLOSING for c in text)


def _attaches_forward(text: str) -> bool:
    return not text or all(c in _OPENING for c in text)


def _is_word(text: str) -> bool:
    return not (_attaches_back(text) or _attaches_forward(text))


def _french(text: str) -> str:
    """French typography: no-break space before ? ! : ; » and after « (not inside 10:30 or a?b)."""
    return _FR_AFTER.sub("«" + NBSP, _FR_BEFORE.sub(NBSP + r"\1", text))


# ---- segmentation -----------------------------------------------------------------------------


def _lexicon(language: str | None) -> _Lexicon:
    """The language's lexicon; French and English together for a language without one."""
    lang = (language or "").lower()[:2]
    fr, en = _LEXICONS["fr"], _LEXICONS["en"]
    return _LEXICONS.get(lang) or _Lexicon(fr.no_break_after | en.no_break_after, fr.function | en.function)


def _joint(prev: str, nxt: str, lexicon: _Lexicon) -> int:
    """Class of the joint between two unit texts (SENTENCE best ... FORBIDDEN worst)."""
    no_break_after, function = lexicon.no_break_after, lexicon.function
    if ends_sentence(prev):
        return SENTENCE
    bare = prev.rstrip(CLOSING_QUOTES)
    if bare.endswith(CLAUSE_ENDS):
        return CLAUSE
    last = prev.split(" ")[-1].strip(_MARKS)
    first = nxt.split(" ")[0].strip(_MARKS)
    last_key = _APOSTROPHE.split(last)[-1].lower()  # d’un -> un, qu’ils -> ils
    first_key = _APOSTROPHE.split(first)[0].lower()  # qu’il -> qu, d’un -> d
    if (
        last_key in no_break_after
        or (last and not last_key)  # elided article or pronoun alone: l', j'
        or (lexicon.capitals_are_names and last[:1].isupper() and first[:1].isupper())  # first and last name
    ):
        return FORBIDDEN
    if last_key in function:
        return AFTER_FUNCTION
    if first_key in function:
        return BEFORE_FUNCTION
    return PLAIN


@dataclass(frozen=True)
class _Tables:
    """Per-unit facts and costs the segmentation reads; index k is unit k, or the joint before it."""

    start_f: list[int]  # first frame of unit k
    end_f: list[int]  # frame where unit k's speech ends
    hang_f: list[int]  # latest frame unit k may stay on screen (max_hang after its speech)
    offsets: list[int]  # columns of units[:k], with the separator before each (``writing.width``)
    sep: list[int]  # the separator before unit k: 1 (a space) or 0 (none: unspaced text; unit 0)
    change: list[bool]  # the speaker changes at unit k
    whole: list[bool]  # a turn or a sentence starts at unit k (a dialogue may cut there)
    silent: list[bool]  # a silence of _LONG_PAUSE or more before unit k
    line_cost: list[float]  # breaking a line between units k-1 and k
    cut_cost: list[float]  # ending a cue between units k-1 and k
    labels: list[str]  # "Name: " prefix of a cue starting at unit k

    def length(self, a: int, b: int) -> int:
        """Columns of units [a, b) on one line."""
        return self.offsets[b] - self.offsets[a] - self.sep[a]


# A cue chosen for units [a, b): (a, line breaks inside, whether it is a two-speaker dialogue).
_Choice = tuple[int, tuple[int, ...], bool]


def _segment(
    units: list[_Unit],
    rules: SubtitleRules,
    transcript: WordTimeline,
    french: bool,
    lexicon: _Lexicon,
) -> list[_Plan]:
    """Choose cue boundaries and line breaks by dynamic programming over unit positions."""
    tables = _cost_tables(units, rules, transcript, french, lexicon)
    return _backtrack(units, tables, _programme(tables, rules))


def _cost_tables(
    units: list[_Unit],
    rules: SubtitleRules,
    transcript: WordTimeline,
    french: bool,
    lexicon: _Lexicon,
) -> _Tables:
    """Frames, character offsets, speaker changes and break costs of every unit and joint."""
    n, fps = len(units), rules.fps
    sep = [0] + [int(spaced(units[k - 1].text, units[k].text)) for k in range(1, n)] + [0]
    offsets = [0]
    for k, u in enumerate(units):
        offsets.append(offsets[-1] + sep[k] + width(u.text))
    change = [False] + [units[k - 1].speaker != units[k].speaker for k in range(1, n)]
    line_cost = [0.0] * (n + 1)
    cut_cost = [0.0] * (n + 1)
    whole = [True] * (n + 1)
    silent = [False] * (n + 1)
    for k in range(1, n):
        joint = _joint(units[k - 1].text, units[k].text, lexicon)
        whole[k] = change[k] or joint == SENTENCE
        line_cost[k] = _LINE_BREAK_COST[joint]
        pause = units[k].start - units[k - 1].end
        cut = _CUE_BREAK_COST[joint]
        if pause >= _LONG_PAUSE:
            cut, silent[k] = 0.0, True
        elif pause >= _PAUSE:
            cut = min(cut, _CUE_BREAK_COST[CLAUSE])
        cut_cost[k] = 0.0 if change[k] else cut
    return _Tables(
        start_f=[_floor_frame(u.start, fps) for u in units],
        end_f=[math.ceil(u.end * fps - _EPS) for u in units],
        hang_f=[_floor_frame(u.end + rules.max_hang, fps) for u in units],
        offsets=offsets,
        sep=sep,
        change=change,
        whole=whole,
        silent=silent,
        line_cost=line_cost,
        cut_cost=cut_cost,
        labels=[_label(units, k, rules, transcript, french) for k in range(n)],
    )


def _layout(
    tables: _Tables, a: int, b: int, lines: int, extra: int, target: float, line_width: int
) -> tuple[float, tuple[int, ...]] | None:
    """Cheapest way to set units [a, b) as exactly ``lines`` lines (``extra`` characters on the first):
    (cost, line breaks), or None when they do not fit ``line_width``."""
    if lines == 1:
        chars = tables.length(a, b) + extra
        return (_IMBALANCE_COST * abs(chars - target) / line_width, ()) if chars <= line_width else None
    best: tuple[float, tuple[int, ...]] | None = None
    for k in range(a + 1, b - lines + 2):
        chars = tables.length(a, k) + extra
        if chars > line_width:
            break
        rest = _layout(tables, k, b, lines - 1, 0, target, line_width)
        if rest is not None:
            cost = tables.line_cost[k] + _IMBALANCE_COST * abs(chars - target) / line_width + rest[0]
            if best is None or cost < best[0]:
                best = (cost, (k, *rest[1]))
    return best


def _programme(tables: _Tables, rules: SubtitleRules) -> list[_Choice]:
    """The dynamic programme: for each end position b, the cheapest last cue [a, b) (``choice[b]``)."""
    n = len(tables.start_f)
    fps, line_width, max_lines = rules.fps, rules.max_chars_per_line, rules.max_lines
    gap = rules.min_gap_frames
    min_f, max_f = _duration_frames(rules)
    start_f, change, whole, length = tables.start_f, tables.change, tables.whole, tables.length
    max_changes = 1 if rules.speaker_labels == "dash" and max_lines >= 2 else 0  # 1: dialogue cues
    best = [math.inf] * (n + 1)
    best[0] = 0.0
    choice: list[_Choice] = [(0, (), False)] * (n + 1)
    for b in range(1, n + 1):
        changes = silences = 0
        last_end = tables.end_f[b - 1]
        last_hang = tables.hang_f[b - 1]
        for a in range(b - 1, -1, -1):
            if a < b - 1:
                changes += change[a + 1]
                silences += tables.silent[a + 1]
                last_end = max(last_end, tables.end_f[a])
                last_hang = max(last_hang, tables.hang_f[a])
                too_long = length(a, b) > max_lines * line_width or last_end - start_f[a] > max_f
                if changes > max_changes or too_long:
                    break
            label = width(tables.labels[a])
            total = length(a, b) + label
            breaks: tuple[int, ...]
            if changes:  # a two-speaker dialogue: "- " and one speaker a line, whole sentences
                split = next(k for k in range(a + 1, b) if change[k])
                widest = max(length(a, split), length(split, b)) + len(DASH)
                if not (whole[a] and whole[b]) or widest > line_width:
                    continue
                cost, breaks, chars = _DIALOGUE_COST, (split,), total - tables.sep[split] + 2 * len(DASH)
            else:
                found = None
                for lines in range(1, max_lines + 1):
                    found = _layout(tables, a, b, lines, label, (total - lines + 1) / lines, line_width)
                    if found is not None:
                        break
                if found is None:
                    if a < b - 1:
                        continue
                    found = (_OVERLONG_COST, ())
                cost, breaks = found
                chars = total - sum(tables.sep[k] for k in breaks)
            top = max(last_end, min(last_hang, start_f[a] + max_f))
            if b < n:
                top = min(top, start_f[b] - gap)
            shown = max(top - start_f[a], 0) / fps
            cost += _CUE_COST + best[a] + tables.cut_cost[b] + _SILENCE_COST * silences
            cost += _CPS_COST * max(0.0, chars - rules.max_cps * shown)
            if shown < min_f / fps:
                cost += _UNDER_MIN_COST + _SHORT_COST * (min_f / fps - shown)
            if cost < best[b]:
                best[b] = cost
                choice[b] = (a, breaks, bool(changes))
    return choice


def _backtrack(units: list[_Unit], tables: _Tables, choice: list[_Choice]) -> list[_Plan]:
    """The cues of the cheapest segmentation, first to last, from the programme's choices."""
    plans: list[_Plan] = []
    b = len(units)
    while b > 0:
        a, breaks, dialogue = choice[b]
        bounds = (a, *breaks, b)
        lines = tuple(join_words(u.text for u in units[i:j]) for i, j in itertools.pairwise(bounds))
        speakers: tuple[str | None, ...]
        if dialogue:
            lines = tuple(DASH + line for line in lines)
            speakers = tuple(units[i].speaker for i in bounds[:-1])
        else:
            lines = (tables.labels[a] + lines[0], *lines[1:])
            speakers = (units[a].speaker,)
        plans.append(_Plan(a, b, lines, speakers))
        b = a
    return plans[::-1]


def _label(units: list[_Unit], k: int, rules: SubtitleRules, transcript: WordTimeline, french: bool) -> str:
    """The "Name: " prefix of a cue starting at unit k ("prefix" mode, first cue after a speaker change)."""
    speaker = units[k].speaker
    if rules.speaker_labels != "prefix" or speaker is None or (k > 0 and units[k - 1].speaker == speaker):
        return ""
    return f"{transcript.speaker_name(speaker)}{NBSP if french else ''}: "


# ---- timing -----------------------------------------------------------------------------------


def _timing(
    plans: list[_Plan], units: list[_Unit], rules: SubtitleRules, duration: float
) -> list[tuple[int, int]]:
    """In- and out-frames of each cue (see the module docstring); no cue is held past the media's end."""
    fps, gap = rules.fps, rules.min_gap_frames
    last_f = _floor_frame(duration, fps) if duration > 0 else None
    min_f, max_f = _duration_frames(rules)
    natural = [max(0, _floor_frame(units[p.a].start, fps)) for p in plans]
    starts: list[int] = []
    for s in natural:
        starts.append(max(s, starts[-1] + 1 + gap) if starts else s)
    times: list[tuple[int, int]] = []
    for i, (p, s) in enumerate(zip(plans, starts)):
        speech_end = max(u.end for u in units[p.a : p.b])
        end = math.ceil(speech_end * fps - _EPS)
        chars = sum(width(line) for line in p.lines)
        wanted = max(end, s + min_f, s + math.ceil(chars / rules.max_cps * fps - _EPS))
        cap = min(s + max_f, _floor_frame(speech_end + rules.max_hang, fps))
        if last_f is not None:
            cap = min(cap, max(end, last_f))
        e = min(max(end, min(wanted, cap)), s + max_f)  # never over max_duration, even for a long word
        e = max(e, s + 1)
        if i + 1 < len(plans):
            e = min(e, starts[i + 1] - gap)
        if e - s < min_f and s == natural[i] and (i + 1 == len(plans) or starts[i + 1] == natural[i + 1]):
            # Held short (by the next cue or the hang): show it earlier, as far as the minimum needs,
            # within max_hang of the speech and after the previous cue's gap.
            lead = math.ceil((units[p.a].start - rules.max_hang) * fps - _EPS)
            s = min(s, max(times[-1][1] + gap if times else 0, e - min_f, lead))
        if e - s < min_f and i + 1 < len(plans) and e == starts[i + 1] - gap:
            # Still short, held by the next cue: that cue's in-time may come up to _LATE_FRAMES after its
            # speech starts (SUBTITLES.md), as far as this one's minimum needs and the cue after it allows.
            later = min(natural[i + 1] + _LATE_FRAMES, s + min_f + gap)
            if i + 2 < len(plans):
                later = min(later, starts[i + 2] - 1 - gap)
            if later > starts[i + 1]:
                starts[i + 1] = later
                e = max(e, min(s + min_f, cap, later - gap))
        times.append((s, e))
    return times


def _duration_frames(rules: SubtitleRules) -> tuple[int, int]:
    """The shortest and longest cue durations in whole frames that meet the rules."""
    return math.ceil(rules.min_duration * rules.fps - _EPS), math.floor(rules.max_duration * rules.fps + _EPS)


def _floor_frame(t: float, fps: float) -> int:
    return math.floor(t * fps + _EPS)


def _frame_time(frame: int, fps: float) -> timedelta:
    return timedelta(milliseconds=round(frame * 1000 / fps))


# ---- checks and WebVTT ------------------------------------------------------------------------


def _broken_rules(cue: srt.Subtitle, previous: srt.Subtitle | None, rules: SubtitleRules) -> list[str]:
    lines = cue.content.split("\n")
    duration = (cue.end - cue.start).total_seconds()
    dialogue = len(lines) == 2 and all(line.startswith(DASH) for line in lines)
    broken = []
    if any(width(line) > rules.max_chars_per_line for line in lines):
        broken.append("max_chars_per_line")
    if len(lines) > rules.max_lines:
        broken.append("max_lines")
    if len(lines) > 1 and not dialogue and width(join_words(lines)) <= rules.max_chars_per_line:
        broken.append("needless_line_break")
    if sum(width(line) for line in lines) > rules.max_cps * (duration + _TOL):
        broken.append("max_cps")
    if 0 < duration < rules.min_duration - _TOL:
        broken.append("min_duration")
    if duration > rules.max_duration + _TOL:
        broken.append("max_duration")
    if duration <= 0:
        broken.append("non_positive_duration")
    if previous is not None:
        pause = (cue.start - previous.end).total_seconds()
        if pause < -_TOL or cue.start < previous.start:
            broken.append("overlap")
        elif pause < rules.min_gap - _TOL:
            broken.append("min_gap")
    if isinstance(cue, Cue) and cue.words:
        first = cue.words[0].start
        last = max(w.end for w in cue.words)
        start, end = cue.start.total_seconds(), cue.end.total_seconds()
        if start < first - rules.max_hang - _TOL or end > last + rules.max_hang + _TOL:
            broken.append("max_hang")
        turns = _turns(cue.words)
        if len(turns) > 2 or (len(turns) == 2 and not dialogue):
            broken.append("speaker_change")
    return broken


def _turns(words: Iterable[TimedWord]) -> list[str | None]:
    """Speakers of the cue's words (punctuation marks aside), one entry per run."""
    turns: list[str | None] = []
    for w in words:
        if _is_word(_clean(w.text)) and (not turns or turns[-1] != w.speaker):
            turns.append(w.speaker)
    return turns


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _voice(text: str, speaker: str | None, transcript: WordTimeline | None) -> str:
    """``text`` in a voice tag. ffmpeg's WebVTT reader (subtitles burnt in with libass, MKV and MP4 tracks)
    ends a tag at an escape inside it and shows the rest ("Tom &amp; Jerry" showed "& JerrySalut"), so a
    name's ``&`` is escaped only where a reader would take it for an escape, and its angle brackets are
    shown as in SRT."""
    if speaker is None:
        return text
    name = (transcript.speaker_name(speaker) if transcript is not None else speaker) or speaker
    if html.unescape(name) != name:  # "AT&copy" would read as "AT©"
        name = name.replace("&", "&amp;")
    return f"<v {name.replace('<', '‹').replace('>', '›')}>{text}</v>"


def _vtt_time(t: timedelta) -> str:
    ms = t // timedelta(milliseconds=1)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    seconds, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{ms:03d}"
