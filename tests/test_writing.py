"""How words are written one after another in every script: spaces, sentence ends, widths, and the
stages that use them (segment text, TXT, subtitles, the HTML page, search, evaluate, align's text)."""

from __future__ import annotations

import dataclasses
import unicodedata

import pytest
import srt
from hypothesis import given
from hypothesis import strategies as st

from podscribe.normalizer import Normalizer
from podscribe.reference import Reference, Utterance
from podscribe.report import evaluate
from podscribe.subtitles import SubtitleRules, check_cues, make_cues
from podscribe.transcript import Segment, Word, attach_punctuation
from podscribe.writers import OutputOptions, render_html, render_txt
from podscribe.writing import ends_sentence, join_words, spaced, split_words, width

from conftest import transcript_of

ZH = "大家好，欢迎收听今天的节目。我们今天要讨论人工智能在医疗领域的应用，以及它对未来社会可能产生的深远影响。"


def pieces(text: str, start: float = 0.0, step: float = 0.25, speaker: str | None = "S0") -> list[Word]:
    """``text`` as Whisper gives a language written without spaces: a character a word, marks attached."""
    raw = [Word(c, start + i * step, start + (i + 1) * step, 0.9, speaker) for i, c in enumerate(text)]
    return attach_punctuation([raw], "")[0]


@pytest.mark.parametrize("before, after, expected", [
    ("Bonjour", "Marie", True),
    ("大", "家", False),  # Chinese
    ("好，", "欢", False),  # full-width punctuation inside Chinese text
    ("天気", "です", False),  # kanji and kana
    ("ส", "\u0e31", False),  # a Thai vowel sign: a combining mark, part of its consonant's cluster
    ("使用", "AI", True),  # Latin inside Chinese: spaced, as Chinese typesetting does
    ("a", "\u200b", False),  # a zero-width character
    ("", "x", False),
])  # fmt: skip
def test_spaced(before: str, after: str, expected: bool) -> None:
    assert spaced(before, after) is expected


def test_join_width_and_sentence_ends() -> None:
    assert join_words(["大", "家", "好，", "欢", "迎"]) == "大家好，欢迎"
    assert join_words([" Salut", "", "Romain\xa0!"]) == "Salut Romain\xa0!"
    nfc, nfd = "Élève à Orléans", unicodedata.normalize("NFD", "Élève à Orléans")
    assert width(nfc) == width(nfd) == len(nfc) == 15 and len(nfd) > 15
    assert width("大家好") == 6 and width("abc") == 3
    # an emoji sequence is one wide picture (they counted 4, 6, 1 and 1 columns)
    assert width("👍🏽") == width("👨\u200d👩\u200d👧") == width("❤\ufe0f") == width("1\ufe0f\u20e3") == 2
    assert width("🇫🇷") == width("😀\ufe0f") == width("🏽") == 2 and width("a👍🏽b❤\ufe0f") == 6
    for end in ("fin.", "终于。", "本当？", "اليوم؟", "है।", "Oui.\xa0»", "— fin !"):
        assert ends_sentence(end), end
    assert not ends_sentence("virgule,") and not ends_sentence("好，")


@pytest.mark.parametrize("text, words", [
    ("日本語です。", ["日", "本", "語", "で", "す。"]),
    ("「はい」と言った", ["「は", "い」", "と", "言", "っ", "た"]),
    ("AIの時代", ["AI", "の", "時", "代"]),
    ("l'homme est-il là ?", ["l'homme", "est-il", "là", "?"]),
    ("สวัสดี", ["ส", "วั", "ส", "ดี"]),
])  # fmt: skip
def test_split_words(text: str, words: list[str]) -> None:
    assert split_words(text) == words


_TOKENS = st.one_of(
    st.text(alphabet="abcdéABC'-", min_size=1, max_size=8),
    st.text(alphabet="大家好欢迎日本語ですสวัสดี，。！", min_size=1, max_size=8),
)


@given(st.lists(_TOKENS, min_size=1, max_size=12))
def test_a_written_text_splits_into_words_that_write_it_back(tokens: list[str]) -> None:
    text = join_words(tokens)
    assert join_words(split_words(text)) == text


def test_chinese_is_written_without_spaces_in_every_output() -> None:
    """Whisper's pieces of one character were joined by spaces in segment texts, TXT, SRT, VTT and the page
    (大 家 好), and a "42-character" line was half spaces."""
    transcript = transcript_of(pieces(ZH), language="zh")
    halves = transcript_of(pieces(ZH[:14]) + pieces(ZH[14:], start=5.0), language="zh")  # two segments
    halves = dataclasses.replace(halves, segments=tuple(
        Segment.from_words(list(s.words[a:b]), "S0")
        for s in halves.segments for a, b in ((0, 13), (13, None))
    ))  # fmt: skip
    assert transcript.text == ZH and ZH in render_txt(transcript, OutputOptions())
    assert len(halves.segments) == 2 and render_txt(halves, OutputOptions()) == f"S0 : {ZH}\n"
    cues = make_cues(transcript, SubtitleRules())
    lines = [line for cue in cues for line in cue.content.split("\n")]
    assert "".join(lines) == ZH and all(width(line) <= 42 for line in lines)
    assert [line[-1] for line in lines] == ["。", "，", "。"]  # cut at the sentence and the clause ends
    assert check_cues(cues, SubtitleRules()).ok
    page = render_html(transcript, OutputOptions())
    assert '</span><span class="w"' in page and '</span> <span class="w"' not in page  # no space between
    assert [m.text for m in transcript.find("人工智能")] == ["人工智能"]
    assert [m.text for m in transcript.find("工智")] == ["工智"] and not transcript.find("人 工 智 能 X")


def test_a_thai_cluster_is_never_cut() -> None:
    text = "สวัสดีครับวันนี้อากาศดีมากเลยนะครับผมชื่อสมชายยินดีที่ได้รู้จักครับ"
    transcript = transcript_of(pieces(text, step=0.1), language="th")
    cues = make_cues(transcript, SubtitleRules(max_chars_per_line=20))
    lines = [line for cue in cues for line in cue.content.split("\n")]
    assert "".join(lines) == text and len(lines) > 1
    assert all(unicodedata.category(line[0])[0] != "M" for line in lines)  # no line starts with a mark


def test_decomposed_accents_are_laid_out_as_composed_ones() -> None:
    text = "Élève déjà réélu à Orléans, très âgé"
    layouts = []
    for form in ("NFC", "NFD"):
        written = unicodedata.normalize(form, text).split()
        words = [Word(w, i * 0.4, i * 0.4 + 0.35, 0.9, "S0") for i, w in enumerate(written)]
        cues = make_cues(transcript_of(words), SubtitleRules())
        layouts.append([unicodedata.normalize("NFC", c.content) for c in cues])
    assert layouts[0] == layouts[1] == [text]


def test_a_dash_after_a_sentence_opens_the_reply() -> None:
    """Whisper's " —" before a reply stuck to the sentence before it ("работы. —"), which then no longer
    ended with its full stop; inside a sentence a dash stays with the word before it."""
    raw = [Word(t, i * 0.3, i * 0.3 + 0.25, 0.9, "S0") for i, t in enumerate(
        ["работы.", "—", "Жаль,", "очень", "—", "жаль.", "—", "Да."])]  # fmt: skip
    attached = [w.text for w in attach_punctuation([raw])[0]]
    assert attached == ["работы.", "—\xa0Жаль,", "очень\xa0—", "жаль.", "—\xa0Да."]


def test_a_text_without_spaces_is_scored_by_its_characters() -> None:
    """A perfect Chinese transcript scored 1900 %: its reference, written without spaces, was one word."""
    transcript = transcript_of(pieces(ZH), language="zh")
    reference = Reference((Utterance(None, ZH),))
    report = evaluate(transcript, reference)
    assert report.wer == 0.0 and report.ref_words == len([c for c in ZH if c not in "，。"])
    one_wrong = Reference((Utterance(None, ZH.replace("欢迎", "欢喜")),))
    assert evaluate(transcript, one_wrong).substitutions == 1
    assert "character error rate" in " ".join(Normalizer("ja").describe())
    assert "character error rate" not in " ".join(Normalizer("fr").describe())


def test_srt_of_japanese_parses_and_keeps_its_text() -> None:
    text = "こんにちは、今日はいい天気ですね。一緒に公園まで散歩に行きませんか。"
    transcript = transcript_of(pieces(text), language="ja")
    parsed = list(srt.parse(transcript.to_srt()))
    assert "".join(c.content.replace("\n", "") for c in parsed) == text
