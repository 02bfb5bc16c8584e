"""How words are written one after another: where a space separates two of them, where a sentence ends,
and how wide a line is, for every script Whisper writes.

Whisper gives the words of languages written without spaces (Chinese, Japanese, Thai, Lao, Burmese, Khmer)
as pieces of a character or a few; joined by spaces they read "大 家 好", and a Thai vowel or tone mark
stood apart from its consonant. Every stage that joins words (segment texts, TXT, subtitles, the HTML
page, phrase search) asks :func:`spaced`. Subtitle rules count a line in columns (:func:`width`): a
full-width character takes two, as on screen, and a combining mark or a zero-width character none, so
one text decomposed (NFD) or composed (NFC) is laid out alike. This module imports nothing of podscribe.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

ATTACHED_SPACE = "\u00a0"
"""What stands between a word and the mark attached to it where a space separated them: a no-break space."""
OPENING_MARKS = "([{«“‘„¿¡「『（【〈《〔"
"""Marks that open what follows (« ¿ ( 「 ...): attached to the next word, not the one before."""
SENTENCE_ENDS = (".", "?", "!", "…", "。", "？", "！", "｡", "؟", "।", "॥", "۔", "።", "፧")
"""The last marks of a sentence: Latin, full-width (Chinese, Japanese), Arabic, Devanagari, Urdu, Ethiopic."""
CLAUSE_ENDS = (",", ";", ":", "–", "—", "，", "、", "；", "：", "،", "؛", "፣")
"""The last marks of a clause inside a sentence (a line may break after them)."""
CLOSING_QUOTES = "»”\"'’)]}」』）】〉》〕 " + ATTACHED_SPACE + "\u202f"
"""What may follow a sentence's last mark in a word: closing quotes and brackets, (no-break) spaces."""

UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "my", "yue"})
"""Whisper's languages written without spaces between words, which it gives a character or a few at a time."""
# Scripts written without spaces between words, and the punctuation set among them (code point ranges)
_UNSPACED = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3000, 0x30FF),  # CJK symbols and punctuation, Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # half-width and full-width forms
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)


def ends_sentence(text: str) -> bool:
    """Whether a word (or text) ends a sentence: its last mark, closing quotes aside, is a SENTENCE_ENDS."""
    return text.rstrip(CLOSING_QUOTES).endswith(SENTENCE_ENDS)


def spaced(before: str, after: str) -> bool:
    """Whether a space separates word ``after`` from word ``before``: not between two characters of a script
    written without spaces, nor before a combining mark or a zero-width character (a piece of the word)."""
    if not before or not after or continues(after) or unicodedata.category(before[-1]) == "Cf":
        return False
    return not (unspaced(before[-1]) and unspaced(after[0]))


def continues(word: str) -> bool:
    """Whether ``word`` is a piece of the word before it: it starts with a combining mark (a Thai vowel, an
    accent given apart) or a zero-width character."""
    return bool(word) and unicodedata.category(word[0]) in ("Mn", "Mc", "Me", "Cf")


def join_words(texts: Iterable[str], space: str = " ") -> str:
    """Word texts written one after another: stripped, empty ones left out, ``space`` where ``spaced`` puts
    one (a word and its marks take a no-break space: ``ATTACHED_SPACE``)."""
    text = ""
    for t in (t.strip() for t in texts):
        if t:
            text += space + t if spaced(text, t) else t
    return text


def split_words(text: str) -> list[str]:
    """A written text's words: its whitespace-separated tokens, and in a script written without spaces each
    character, its marks and combining signs with it ("日本語です。" -> 日 本 語 で す。)."""
    words: list[str] = []
    for token in text.split():
        words.append(token[0])
        for c in token[1:]:
            if _joins(words[-1], c):
                words[-1] += c
            else:
                words.append(c)
    return words


def _joins(word: str, char: str) -> bool:
    """Whether ``char`` continues ``word`` (inside one whitespace-separated token)."""
    kind = unicodedata.category(char)
    if all(c in OPENING_MARKS for c in word) or kind[0] == "M" or kind == "Cf":
        return True
    if kind[0] == "P":
        return char not in OPENING_MARKS
    return not (unspaced(char) or unspaced(word[-1]))


def width(text: str) -> int:
    """Columns ``text`` takes on screen: two for a wide or full-width character (CJK, emoji), none for a
    combining mark or a zero-width character, one for any other. An emoji sequence is one picture: what a
    zero-width joiner joins and a skin-tone modifier add nothing, and an emoji variation selector widens
    the character before it (❤️, 1️⃣) to two."""
    total, last, joined = 0, 0, False
    for char in text:
        if joined or (_SKIN_TONES[0] <= char <= _SKIN_TONES[1] and last):
            joined = False
            continue
        if char == _EMOJI_STYLE:
            total, last = total + (last == 1), 2  # a narrow character shown as an emoji: one column more
            continue
        joined = char == _JOINER
        last = _columns(char)
        total += last
    return total


_JOINER, _EMOJI_STYLE, _SKIN_TONES = "\u200d", "\ufe0f", ("\U0001f3fb", "\U0001f3ff")


def _columns(char: str) -> int:
    if unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def unspaced(char: str) -> bool:
    """Whether ``char`` belongs to a script written without spaces (CJK, kana, Thai...) or its punctuation."""
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _UNSPACED)
