"""Languages as users name them: Whisper's codes, and names in English and in the language itself.

Its own module so that ``ASROptions`` checks a language when it is made, before any model loads.
"""

from __future__ import annotations

import difflib

from .errors import OptionError

# Language names users type, English and native, for Whisper's codes (the codes themselves also work).
LANGUAGE_NAMES = {
    "afrikaans": "af", "arabic": "ar", "العربية": "ar", "armenian": "hy", "basque": "eu", "euskara": "eu",
    "belarusian": "be", "bengali": "bn", "bosnian": "bs", "breton": "br", "brezhoneg": "br",
    "bulgarian": "bg", "catalan": "ca", "català": "ca", "valencian": "ca", "chinese": "zh", "中文": "zh",
    "mandarin": "zh", "cantonese": "yue", "croatian": "hr", "hrvatski": "hr", "czech": "cs", "čeština": "cs",
    "danish": "da", "dansk": "da", "dutch": "nl", "nederlands": "nl", "flemish": "nl", "english": "en",
    "estonian": "et", "finnish": "fi", "suomi": "fi", "french": "fr", "français": "fr", "francais": "fr",
    "galician": "gl", "galego": "gl", "georgian": "ka", "german": "de", "deutsch": "de", "greek": "el",
    "ελληνικά": "el", "hebrew": "he", "עברית": "he", "hindi": "hi", "हिन्दी": "hi", "hungarian": "hu",
    "magyar": "hu", "icelandic": "is", "indonesian": "id", "italian": "it", "italiano": "it",
    "japanese": "ja", "日本語": "ja", "korean": "ko", "한국어": "ko", "latin": "la", "latvian": "lv",
    "lithuanian": "lt", "luxembourgish": "lb", "macedonian": "mk", "malay": "ms", "maltese": "mt",
    "norwegian": "no", "norsk": "no", "nynorsk": "nn", "occitan": "oc", "persian": "fa", "farsi": "fa",
    "polish": "pl", "polski": "pl", "portuguese": "pt", "português": "pt", "romanian": "ro",
    "română": "ro", "russian": "ru", "русский": "ru", "serbian": "sr", "slovak": "sk", "slovenian": "sl",
    "spanish": "es", "español": "es", "castilian": "es", "swahili": "sw", "swedish": "sv", "svenska": "sv",
    "tagalog": "tl", "tamil": "ta", "thai": "th", "turkish": "tr", "türkçe": "tr", "ukrainian": "uk",
    "українська": "uk", "urdu": "ur", "vietnamese": "vi", "tiếng việt": "vi", "welsh": "cy", "cymraeg": "cy",
    "yiddish": "yi", "yoruba": "yo",
}  # fmt: skip


def check_language(language: str | None) -> str | None:
    """A Whisper language code from a code or a name (``"fr"``, ``"French"``, ``"français"``; case
    ignored), or OptionError before any model loads."""
    if language is None:
        return None
    if not isinstance(language, str):
        raise OptionError(f"language must be a code or a name, not {language!r}", option="language")
    from faster_whisper.tokenizer import _LANGUAGE_CODES  # Whisper's codes, the same in both engines

    code = LANGUAGE_NAMES.get(language.strip().lower(), language.strip().lower())
    if code not in _LANGUAGE_CODES:
        near = difflib.get_close_matches(code, [*LANGUAGE_NAMES, *_LANGUAGE_CODES], n=1, cutoff=0.75)
        if near:  # a typo: its fix, not a hundred codes
            meant = LANGUAGE_NAMES.get(near[0], near[0])
            raise OptionError(f"unknown language {language!r}: did you mean {near[0]!r} ({meant})?",
                              option="language")  # fmt: skip
        raise OptionError(
            f"unknown language {language!r}: give a Whisper language code ({', '.join(_LANGUAGE_CODES)}) "
            "or a language name such as French or français",
            option="language",
        )
    return code
