#!/usr/bin/env python3
"""Assemble a dev set of recorded human speech with exact text and speaker turns from Debian's Asterisk prompts.

Debian's ``asterisk-core-sounds-{fr,en,es,it,ru}-wav`` packages hold a few hundred studio recordings per
language (8 kHz WAV, one professional voice per language) and their text (``core-sounds-<lang>.txt.gz``,
``name: text`` lines). From them this tool builds, deterministically (seeded):

- French monologues of a few minutes: one voice, prompts of 1.5-25 s (the longest, 15-25 s, included)
  joined by natural pauses; the prompts themselves keep their own inner pauses between sentences;
- conversations of 2-5 speakers, one voice (language) per speaker, the French voice always present; turns of 0.5-20 s, some speaker changes overlapped, and in some files one speaker who
  speaks under 5 s in all.

Every file is written with the fixture layout of ``tools/make_fixtures.py``: ``X.flac`` (16 kHz mono),
``X.rttm`` (one line per prompt: start/end of its speech, leading and trailing silence trimmed),
``X.json`` (schema ``podscribe.fixture/1``: turns with speaker, start, end, text, and the prompt used) and
``X.txt`` (reference text, ``Name : text`` per turn in time order). Prompts are split between a ``dev``
part (for choosing settings) and a ``report`` part (held out) so that no prompt is in both, and prompts
with nearly the same text go to one part (grouped in one pass, so a few near-repeats still cross: in
French, "Désolé, ce numéro n'est pas valide." is on the report side, its longer variants on the dev
side). A short ``test`` part feeds the default test suite. ``dev2`` and ``report2`` are a second draw of
conversations from the same two pools of prompts (new seeds, session 39); ``report3`` a third from the report
pool (session 43), ``report4`` a fourth (session 46).

``voices2`` (session 49) is held out by voice, not only by prompt: its conversations add three people that no
setting was ever chosen on, from three more Debian packages (``EXTRA_PACKAGES``: a second French voice, a
Colombian Spanish one and a second Italian one, 8 kHz prompts without a text list), so two voices of one
language meet in a file. Those packages conflict with the core ones (installed, Armelle's prompts take over
the ``fr`` folder), so ``--fetch-extra`` downloads them and unpacks them into ``EXTRA`` without installing
them. With no text for those voices, the part is for diarization only: RTTM and JSON, no ``.txt`` reference.

Licence of the recordings: CC-BY-SA 3.0 (French: June Wallack; English and Spanish: Allison Smith,
per the Debian copyright file; Italian: segreterietelefoniche.it), Russian CC-BY 3.0 (ivrvoice.ru); the
``voices2`` voices: see ``EXTRA_NOTICE``.
The output folder gets a NOTICE with these credits; keep it with the files.

Standalone on purpose (stdlib + numpy, ffmpeg), like make_fixtures.py, whose helpers it reuses.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gzip
import json
import re
import shlex
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402  (sibling tool: trim, layout, encode, RTTM)

SOUNDS = Path("/usr/share/asterisk/sounds")
DOCS = Path("/usr/share/doc")
PACKAGES = [f"asterisk-core-sounds-{lang}-wav" for lang in ("fr", "en", "es", "it", "ru")]
INSTALL = "apt-get install " + " ".join(PACKAGES)
DEFAULT_OUT = Path.home() / ".cache" / "podscribe" / "realspeech"
# the prompts each part draws from: a prompt of the dev side is never in a file of the report side
POOLS = {"dev": "dev", "report": "report", "test": "dev", "dev2": "dev", "report2": "report", "report3": "report",
         "report4": "report"}
PARTS = tuple(POOLS)
# parts that need the extra voices (``--fetch-extra``), outside the default build
EXTRA_POOLS = {"voices2": "report"}
EXTRA_PARTS = tuple(EXTRA_POOLS)
EXTRA = DEFAULT_OUT.parent / "asterisk-extra"  # the EXTRA_PACKAGES unpacked (dpkg -x), not installed


@dataclasses.dataclass(frozen=True)
class Voice:
    """One recorded person: the language of the package, the speaker name used in references, credits."""

    lang: str
    name: str
    recorded_by: str
    licence: str


# The speaker names are what the references, RTTM and JSON say; each language is one recorded voice.
# English and Spanish are both credited to Allison Smith in Debian's copyright file (the Spanish folder
# is es_MX_f_Allison): they may be one person speaking two languages.
VOICES = {
    "fr": Voice("fr", "French Voice", "June Wallack", "CC-BY-SA-3.0"),
    "en": Voice("en", "English Voice", "Allison Smith", "CC-BY-SA-3.0"),
    "es": Voice("es", "Spanish Voice", "Allison Smith (es_MX_f_Allison)", "CC-BY-SA-3.0"),
    "it": Voice("it", "Italian Voice", "Carlo (it_IT_m_Carlo, segreterietelefoniche.it)", "CC-BY-SA-3.0"),
    "ru": Voice("ru", "Russian Voice", "ivrvoice.ru (ru_RU_f_IvrvoiceRU, provided by Maxim Topal)",
                "CC-BY-3.0"),
}

# Three more people (session 49): voice, Debian package, the package's prompt folder (under EXTRA once
# unpacked). Their prompts have no text list.
EXTRA_VOICES = {
    "fr2": (Voice("fr", "Second French Voice", "Armelle Desjardins (asterisk-prompt-fr-armelle)",
                  "BSD-style, Michel Gutierrez 2006"),
            "asterisk-prompt-fr-armelle", "usr/share/asterisk/sounds/fr"),
    "es2": (Voice("es", "Colombian Spanish Voice", "July E. Jiménez, Avatar Ltda. (asterisk-prompt-es-co)",
                  "GPL-2"),
            "asterisk-prompt-es-co", "usr/share/asterisk/sounds/es"),
    "it2": (Voice("it", "Second Italian Voice",
                  "Paola Dal Zot and Marco Menardi (asterisk-prompt-it-menardi-wav)", "CC-BY-SA-3.0"),
            "asterisk-prompt-it-menardi-wav", "usr/share/asterisk/sounds/it_IT_f_Menardi"),
}
EXTRA_PACKAGES = tuple(package for _, package, _ in EXTRA_VOICES.values())
ALL_VOICES = {**VOICES, **{key: voice for key, (voice, _, _) in EXTRA_VOICES.items()}}
# file names of the extra folders that are tones or silence, not speech
NOT_SPEECH = re.compile(r"beep|tone|silence|dial|ring|busy|click|congest|music")


@dataclasses.dataclass(frozen=True, eq=False)
class Prompt:
    """One recording: its package name (e.g. ``vm-options``), its language, its text and trimmed samples."""

    lang: str
    name: str
    text: str
    audio: np.ndarray  # 16 kHz float32, leading/trailing silence trimmed

    @property
    def seconds(self) -> float:
        return len(self.audio) / mf.SAMPLE_RATE


@dataclasses.dataclass(frozen=True)
class Plan:
    """One output file: monologue or conversation, its part, its seed, and for conversations the speakers."""

    name: str
    part: str
    seed: int
    minutes: float
    langs: tuple[str, ...] = ("fr",)
    brief: str | None = None  # language of a speaker who says a single short prompt (under 5 s in all)
    overlap_prob: float = 0.0


# The files made by default. Monologues: several minutes of the French voice. Conversations: the French
# voice plus 1-4 others; `brief` marks a speaker heard under 5 s in all. The core packages hold five voices
# (and English and Spanish may be one person), so none of these has six speakers; EXTRA_PLANS' voices2 does.
PLANS = (
    Plan("monologue1.fr", "dev", 11, 3.5),
    Plan("monologue2.fr", "dev", 12, 3.5),
    Plan("conversation1", "dev", 21, 1.5, ("fr", "en"), overlap_prob=0.3),
    Plan("conversation2", "dev", 22, 1.5, ("fr", "it", "ru"), brief="ru", overlap_prob=0.3),
    Plan("conversation3", "dev", 23, 1.5, ("fr", "es", "it", "ru"), overlap_prob=0.2),
    Plan("conversation4", "dev", 24, 1.5, ("fr", "en", "es", "it", "ru"), brief="es", overlap_prob=0.2),
    Plan("monologue3.fr", "report", 13, 3.5),
    Plan("monologue4.fr", "report", 14, 3.5),
    Plan("conversation5", "report", 25, 1.5, ("fr", "ru"), overlap_prob=0.3),
    Plan("conversation6", "report", 26, 1.5, ("fr", "en", "it"), brief="en", overlap_prob=0.3),
    Plan("conversation7", "report", 27, 1.5, ("fr", "en", "it", "ru"), brief="it", overlap_prob=0.2),
    Plan("conversation8", "report", 28, 1.5, ("fr", "en", "es", "it", "ru"), overlap_prob=0.2),
    # short files for the default test suite (prompts of the dev part)
    Plan("short_monologue.fr", "test", 31, 0.6),
    Plan("short_conversation", "test", 32, 0.6, ("fr", "en")),
    # a second draw of conversations (session 39): dev2 from the dev part's prompts, report2 from the report
    # part's, new seeds; 2-5 speakers, 1-2.5 minutes, brief speakers of 1-4 s
    Plan("conversation9", "dev2", 201, 1.5, ("fr", "ru"), overlap_prob=0.3),
    Plan("conversation10", "dev2", 202, 2.0, ("fr", "it"), overlap_prob=0.4),
    Plan("conversation11", "dev2", 203, 1.0, ("fr", "en", "ru"), brief="ru", overlap_prob=0.2),
    Plan("conversation12", "dev2", 204, 1.5, ("fr", "it", "ru"), overlap_prob=0.3),
    Plan("conversation13", "dev2", 205, 2.0, ("fr", "en", "it", "ru"), brief="en", overlap_prob=0.2),
    Plan("conversation14", "dev2", 206, 1.5, ("fr", "es", "it"), overlap_prob=0.3),
    Plan("conversation15", "dev2", 207, 2.5, ("fr", "en", "es", "it", "ru"), brief="it", overlap_prob=0.2),
    Plan("conversation16", "dev2", 208, 1.0, ("fr", "en"), overlap_prob=0.3),
    Plan("conversation17", "dev2", 209, 1.5, ("fr", "ru", "it"), brief="it", overlap_prob=0.4),
    Plan("conversation18", "dev2", 210, 2.0, ("fr", "it", "es", "ru"), overlap_prob=0.2),
    Plan("conversation19", "dev2", 211, 1.0, ("fr", "en", "it"), brief="it", overlap_prob=0.3),
    Plan("conversation20", "dev2", 212, 1.5, ("fr", "es", "ru"), brief="es", overlap_prob=0.2),
    Plan("conversation21", "report2", 101, 1.5, ("fr", "ru"), overlap_prob=0.3),
    Plan("conversation22", "report2", 102, 1.5, ("fr", "it"), overlap_prob=0.4),
    Plan("conversation23", "report2", 103, 2.0, ("fr", "en", "ru"), overlap_prob=0.2),
    Plan("conversation24", "report2", 104, 1.5, ("fr", "it", "ru"), brief="ru", overlap_prob=0.3),
    Plan("conversation25", "report2", 105, 2.0, ("fr", "en", "it", "ru"), overlap_prob=0.2),
    Plan("conversation26", "report2", 106, 1.5, ("fr", "es", "it", "ru"), brief="es", overlap_prob=0.2),
    Plan("conversation27", "report2", 107, 2.5, ("fr", "en", "es", "it", "ru"), overlap_prob=0.2),
    Plan("conversation28", "report2", 108, 1.0, ("fr", "en", "ru"), brief="en", overlap_prob=0.3),
    Plan("conversation29", "report2", 109, 1.0, ("fr", "ru", "it"), overlap_prob=0.4),
    Plan("conversation30", "report2", 110, 2.0, ("fr", "it", "es"), brief="it", overlap_prob=0.2),
    # a third draw (session 43), held out: report3 from the report part's prompts, new seeds, measured once
    Plan("conversation31", "report3", 301, 1.5, ("fr", "en"), overlap_prob=0.3),
    Plan("conversation32", "report3", 302, 2.0, ("fr", "es", "ru"), brief="ru", overlap_prob=0.3),
    Plan("conversation33", "report3", 303, 1.0, ("fr", "ru", "it"), brief="it", overlap_prob=0.2),
    Plan("conversation34", "report3", 304, 2.5, ("fr", "en", "it", "ru"), brief="en", overlap_prob=0.3),
    Plan("conversation35", "report3", 305, 1.5, ("fr", "es", "it", "ru"), overlap_prob=0.4),
    Plan("conversation36", "report3", 306, 2.0, ("fr", "en", "es", "it", "ru"), brief="es", overlap_prob=0.2),
    Plan("conversation37", "report3", 307, 1.0, ("fr", "ru", "en"), overlap_prob=0.4),
    Plan("conversation38", "report3", 308, 2.0, ("fr", "it", "ru"), brief="it", overlap_prob=0.2),
    Plan("conversation39", "report3", 309, 1.5, ("fr", "en", "es", "ru"), brief="ru", overlap_prob=0.3),
    Plan("conversation40", "report3", 310, 2.5, ("fr", "es", "it"), overlap_prob=0.3),
    # a fourth draw (session 46), held out: report4 from the report part's prompts, new seeds
    Plan("conversation41", "report4", 401, 1.5, ("fr", "it"), overlap_prob=0.3),
    Plan("conversation42", "report4", 402, 1.5, ("fr", "en", "ru"), brief="en", overlap_prob=0.3),
    Plan("conversation43", "report4", 403, 2.0, ("fr", "es", "it"), brief="it", overlap_prob=0.2),
    Plan("conversation44", "report4", 404, 2.0, ("fr", "en", "it", "ru"), brief="ru", overlap_prob=0.3),
    Plan("conversation45", "report4", 405, 1.0, ("fr", "ru"), overlap_prob=0.4),
    Plan("conversation46", "report4", 406, 2.5, ("fr", "en", "es", "it", "ru"), brief="it", overlap_prob=0.2),
    Plan("conversation47", "report4", 407, 1.5, ("fr", "es", "ru"), brief="es", overlap_prob=0.3),
    Plan("conversation48", "report4", 408, 1.0, ("fr", "it", "ru"), brief="ru", overlap_prob=0.2),
    Plan("conversation49", "report4", 409, 2.0, ("fr", "en", "es", "ru"), overlap_prob=0.3),
    Plan("conversation50", "report4", 410, 1.5, ("fr", "en", "it"), brief="it", overlap_prob=0.4),
)
# held out by voice (session 49): the French voice meets the three extra people, two voices of one language in
# most files, 2-6 speakers, brief speakers among the new voices too; planned before any was heard
EXTRA_PLANS = (
    Plan("conversation51", "voices2", 501, 1.5, ("fr", "fr2"), overlap_prob=0.3),
    Plan("conversation52", "voices2", 502, 1.5, ("fr", "fr2", "en"), brief="fr2", overlap_prob=0.3),
    Plan("conversation53", "voices2", 503, 2.0, ("fr", "it", "it2"), overlap_prob=0.2),
    Plan("conversation54", "voices2", 504, 1.5, ("fr", "it2", "es2"), brief="es2", overlap_prob=0.3),
    Plan("conversation55", "voices2", 505, 2.0, ("fr", "fr2", "it2", "ru"), overlap_prob=0.3),
    Plan("conversation56", "voices2", 506, 1.5, ("fr", "es", "es2"), overlap_prob=0.4),
    Plan("conversation57", "voices2", 507, 2.0, ("fr", "fr2", "es2", "it"), brief="it", overlap_prob=0.2),
    Plan("conversation58", "voices2", 508, 2.5, ("fr", "fr2", "it2", "es2", "en"), brief="en",
         overlap_prob=0.2),
    Plan("conversation59", "voices2", 509, 1.0, ("fr", "it2"), overlap_prob=0.4),
    Plan("conversation60", "voices2", 510, 2.5, ("fr", "fr2", "en", "it2", "es2", "ru"), brief="ru",
         overlap_prob=0.2),
)

LONG_S = (15.0, 25.0)  # the long prompts a monologue must include
MONOLOGUE_PROMPT_S = (1.5, 25.0)
TURN_S = (0.5, 20.0)
BRIEF_S = (1.0, 4.0)
MONOLOGUE_PAUSE_S = (0.4, 1.5)
CONVERSATION_PAUSE_S = (0.2, 1.2)
OVERLAP_S = (0.2, 0.8)


def missing_packages() -> list[str]:
    """The asterisk sound packages whose prompts or text are not installed here."""
    return [f"asterisk-core-sounds-{lang}-wav" for lang in VOICES
            if not (SOUNDS / lang).is_dir() or not text_path(lang).is_file()]


def missing_extra(folder: Path | None = None) -> list[str]:
    """The extra voices' packages not unpacked under ``folder`` (default ``EXTRA``)."""
    folder = folder or EXTRA
    return [package for _, package, sub in EXTRA_VOICES.values()
            if not any(path.suffix in (".wav", ".gsm") for path in (folder / sub).glob("*"))]


def fetch_extra(folder: Path | None = None) -> None:
    """Download the extra voices' packages and unpack them under ``folder`` (default ``EXTRA``; ``apt-get
    download``, ``dpkg -x``): installed, they would take the core French and Spanish prompts' folders."""
    folder = folder or EXTRA
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", *EXTRA_PACKAGES], cwd=folder, check=True)
    for deb in sorted(folder.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(folder)], check=True)


def text_path(lang: str) -> Path:
    return DOCS / f"asterisk-core-sounds-{lang}" / f"core-sounds-{lang}.txt.gz"


def read_texts(lang: str) -> dict[str, str]:
    """``name: text`` lines of a package's text list (``;`` comments skipped, byte-order mark ignored)."""
    texts = {}
    with gzip.open(text_path(lang), "rt", encoding="utf-8-sig") as lines:
        for line in lines:
            line = line.strip()
            if line.startswith(";"):
                continue
            for entry in _GLUED.split(line):  # a few lines hold two entries ("...dièse.vm-review-nonurgent: ...")
                if ":" in entry:
                    name, _, text = entry.partition(":")
                    texts[name.strip()] = " ".join(text.split())
    return texts


_GLUED = re.compile(r"(?<=[.!?\s])(?=[a-z][a-z0-9]*(?:[-_][a-z0-9]+)+: )")


def usable(name: str, text: str) -> bool:
    """Whole-sentence prompts only: no subfolder (digits, letters), no bracketed non-speech, some words."""
    return "/" not in name and not re.search(r"[\[\]()<>]", text) and len(text.split()) >= 1


def load_prompts(lang: str) -> list[Prompt]:
    """Every usable prompt of a language, 16 kHz, trimmed to its speech; sorted by name (deterministic)."""
    prompts = []
    for name, text in sorted(read_texts(lang).items()):
        path = SOUNDS / lang / f"{name}.wav"
        if not usable(name, text) or not path.is_file():
            continue
        with wave.open(str(path)) as reader:
            rate = reader.getframerate()
            samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16)
        audio = speech(samples, rate)
        if audio is not None:
            prompts.append(Prompt(lang, name, text, audio))
    return prompts


def load_extra_prompts(key: str, folder: Path | None = None) -> list[Prompt]:
    """Every prompt of an extra voice (its folder's own files, not subfolders such as digits; no tones or
    silences; none that ffmpeg cannot read), 16 kHz, trimmed to its speech, at least 0.5 s; no text. Sorted
    by name."""
    prompts = []
    for path in sorted((folder or EXTRA).joinpath(EXTRA_VOICES[key][2]).glob("*")):
        if path.suffix not in (".wav", ".gsm") or NOT_SPEECH.search(path.stem):
            continue
        try:
            pcm = mf._run([mf.ffmpeg_path(), "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1",
                           "-ar", "8000", "-"])
        except RuntimeError:  # a damaged file (asterisk-prompt-es-co's vm-first.gsm)
            continue
        audio = speech(np.frombuffer(pcm, dtype="<i2"), 8000)
        if audio is not None and len(audio) >= mf.SAMPLE_RATE // 2:
            prompts.append(Prompt(key, path.stem, "", audio))
    return prompts


def speech(samples: np.ndarray, rate: int) -> np.ndarray | None:
    """16-bit samples of a prompt at ``rate`` -> 16 kHz float32 trimmed to its sound; None if silent."""
    if not len(samples) or not samples.any():
        return None
    return mf.trim(resample(samples.astype(np.float64) / 32768.0, rate))


def resample(samples: np.ndarray, rate: int) -> np.ndarray:
    """Band-limited resampling to 16 kHz by zero-padding (or cutting) the spectrum: exact and deterministic.

    A prompt starts and ends in silence, so the FFT's circular wrap-around adds nothing audible.
    """
    size = round(len(samples) * mf.SAMPLE_RATE / rate)
    return (np.fft.irfft(np.fft.rfft(samples), size) * size / len(samples)).astype(np.float32)


@functools.lru_cache(maxsize=None)
def words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"\w+", text.lower()))


def similar(a: Prompt, b: Prompt) -> bool:
    """Nearly the same text (package variants such as conf-adminmenu-18 / -162): word-set Jaccard > 0.5."""
    wa, wb = words(a.text), words(b.text)
    return len(wa & wb) > 0.5 * len(wa | wb)


def split_parts(prompts: list[Prompt], seed: int) -> dict[str, list[Prompt]]:
    """Seeded split into dev and report; nearly identical prompts go to the same part.

    Groups of similar prompts are dealt alternately, longest first, so both parts get long prompts.
    """
    groups: list[list[Prompt]] = []
    for prompt in prompts:
        home = next((g for g in groups if any(similar(prompt, p) for p in g)), None)
        if home is None:
            groups.append([prompt])
        else:
            home.append(prompt)
    rng = np.random.default_rng([seed, 99])
    order = rng.permutation(len(groups))
    order = sorted(order, key=lambda i: -max(p.seconds for p in groups[i]))
    parts: dict[str, list[Prompt]] = {"dev": [], "report": []}
    for rank, index in enumerate(order):
        parts["dev" if rank % 2 == 0 else "report"].extend(groups[index])
    return parts


def pick_monologue(pool: list[Prompt], plan: Plan, taken: set[str]) -> list[Prompt]:
    """Prompts for a monologue: the part's long (15-25 s) prompts it is dealt, then others, no near-repeats."""
    rng = np.random.default_rng(plan.seed)
    fits = [p for p in pool if MONOLOGUE_PROMPT_S[0] <= p.seconds <= MONOLOGUE_PROMPT_S[1]
            and len(p.text.split()) >= 3 and p.name not in taken]
    long = [p for p in fits if LONG_S[0] <= p.seconds <= LONG_S[1]]
    chosen: list[Prompt] = []
    for prompt in rng.permutation(np.array(long, dtype=object)):
        if len(chosen) < max(2, len(long) // 2) and not any(similar(prompt, p) for p in chosen):
            chosen.append(prompt)
    for prompt in rng.permutation(np.array([p for p in fits if p not in long], dtype=object)):
        if sum(p.seconds for p in chosen) >= plan.minutes * 60:
            break
        if not any(similar(prompt, p) for p in chosen):
            chosen.append(prompt)
    order = rng.permutation(len(chosen))
    taken.update(p.name for p in chosen)
    return [chosen[i] for i in order]


def pick_conversation(pools: dict[str, list[Prompt]], plan: Plan) -> list[Prompt]:
    """Turns of a conversation: the French voice is drawn as often as all the others together.

    A speaker never follows itself; a prompt is drawn with a chance proportional to its length; the `brief` speaker says one prompt of 1-4 s somewhere in the middle.
    """
    rng = np.random.default_rng(plan.seed)
    others = [lang for lang in plan.langs if lang not in ("fr", plan.brief)]
    fits = {lang: [p for p in pools[lang] if TURN_S[0] <= p.seconds <= TURN_S[1]] for lang in plan.langs}
    turns: list[Prompt] = []
    last = None
    while sum(p.seconds for p in turns) < plan.minutes * 60:
        choices = ["fr"] * max(1, len(others)) + others
        choices = [c for c in choices if c != last] or others
        lang = choices[rng.integers(len(choices))]
        candidates = [p for p in fits[lang] if p not in turns and not any(similar(p, q) for q in turns)]
        weights = np.array([p.seconds for p in candidates])  # longer prompts likelier: real turns, not beeps
        prompt = candidates[rng.choice(len(candidates), p=weights / weights.sum())]
        turns.append(prompt)
        last = lang
    if plan.brief:
        short = [p for p in fits[plan.brief] if BRIEF_S[0] <= p.seconds <= BRIEF_S[1]]
        slot = 1 + int(rng.integers(max(1, len(turns) - 2)))
        while turns[slot - 1].lang == plan.brief or (slot < len(turns) and turns[slot].lang == plan.brief):
            slot += 1
        turns.insert(slot, short[rng.integers(len(short))])
    return turns


def render(prompts: list[Prompt], plan: Plan) -> tuple[np.ndarray, list[mf.Turn]]:
    """Lay the prompts out (make_fixtures' layout: seeded pauses, overlaps at some speaker changes)."""
    monologue = len(plan.langs) == 1
    speakers = [ALL_VOICES[p.lang].name for p in prompts]
    onsets = mf.layout([len(p.audio) for p in prompts], speakers, np.random.default_rng([plan.seed, 0]),
                       MONOLOGUE_PAUSE_S if monologue else CONVERSATION_PAUSE_S, plan.overlap_prob, OVERLAP_S)
    mixture = np.zeros(max(o + len(p.audio) for o, p in zip(onsets, prompts)) + mf.SAMPLE_RATE // 2)
    for onset, prompt in zip(onsets, prompts):
        mixture[onset: onset + len(prompt.audio)] += prompt.audio
    peak = np.abs(mixture).max()
    if peak > 0.95:  # overlapped loud prompts: scale the whole mix down, never clip
        mixture *= 0.95 / peak
    turns = [mf.Turn(round(o / mf.SAMPLE_RATE, 3), round((o + len(p.audio)) / mf.SAMPLE_RATE, 3), name, p.text)
             for o, p, name in zip(onsets, prompts, speakers)]
    return mixture.astype(np.float32), turns


def write(out: Path, plan: Plan, prompts: list[Prompt], audio: np.ndarray, turns: list[mf.Turn],
          command: str) -> Path:
    """Audio (FLAC), RTTM, JSON record and `Name : text` reference of one file, in ``out/<part>/``."""
    folder = out / plan.part
    folder.mkdir(parents=True, exist_ok=True)
    audio_path = folder / f"{plan.name}.flac"
    mf.encode(audio, audio_path, "flac", "")
    mf.write_rttm(turns, plan.name, folder / f"{plan.name}.rttm")
    if all(p.text for p in prompts):  # an extra voice's prompts have no text: no reference to write
        (folder / f"{plan.name}.txt").write_text("".join(f"{t.speaker} : {t.text}\n" for t in turns),
                                                 encoding="utf-8")
    langs = list(dict.fromkeys(p.lang for p in prompts))
    record = {
        "schema": mf.SCHEMA,
        "audio": audio_path.name,
        "duration": round(len(audio) / mf.SAMPLE_RATE, 3),
        "sample_rate": mf.SAMPLE_RATE,
        "command": command,
        "tools": {"numpy": np.__version__, "ffmpeg": mf._run([mf.ffmpeg_path(), "-version"]).decode().splitlines()[0]},
        "voice_set": "asterisk",
        "part": plan.part,
        "speakers": [{"name": ALL_VOICES[lang].name, "id": mf.speaker_id(ALL_VOICES[lang].name),
                      "annotation": "", "off_mic": False, "voice": dataclasses.asdict(ALL_VOICES[lang])}
                     for lang in langs],
        "turns": [{**dataclasses.asdict(t), "prompt": f"{p.lang}/{p.name}"} for t, p in zip(turns, prompts)],
    }
    (folder / f"{plan.name}.json").write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n",
                                             encoding="utf-8")
    names = [ALL_VOICES[lang].name for lang in langs]
    seconds = {name: sum(t.end - t.start for t in turns if t.speaker == name) for name in names}
    print(f"{audio_path}: {record['duration']:.1f} s, {len(turns)} turns, "
          + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))
    return audio_path


NOTICE = """Recorded human speech assembled by podscribe's tools/make_realspeech.py from Debian's
asterisk-core-sounds-{fr,en,es,it,ru}-wav packages (Asterisk core sound prompts).

French: recorded by June Wallack, translated by Clod Patry, Kristopher Lalletti and June Wallack;
  CC-BY-SA 3.0.
English and Spanish: recorded by Allison Smith (http://www.theivrvoice.com); CC-BY-SA 3.0.
Italian: segreterietelefoniche.it, translated by Silvia Petrin; CC-BY-SA 3.0.
Russian: provided by Maxim Topal (http://www.ivrvoice.ru); CC-BY 3.0.
Financial contributions to the recordings: Digium, Inc. and others (see /usr/share/doc/asterisk-core-sounds-*/copyright).

These files are a derivative work (prompts trimmed, resampled to 16 kHz and joined) and are
distributed under the same licences: https://creativecommons.org/licenses/by-sa/3.0/ and
https://creativecommons.org/licenses/by/3.0/
"""

EXTRA_NOTICE = """
The voices2 part also holds prompts of three more Debian packages:
Second French Voice: Armelle Desjardins, copyright (C) 2006 Michel Gutierrez (asterisk-prompt-fr-armelle);
  redistribution and use, with or without modification, permitted provided that the copyright notice and
  its disclaimer are retained (see that package's copyright file).
Colombian Spanish Voice: Avatar Ltda. / July E. Jiménez (asterisk-prompt-es-co); GPL version 2.
Second Italian Voice: copyright (C) 2006-2011 Marco Menardi and Paola Dal Zot, http://www.voip.ammdomus.it
  (asterisk-prompt-it-menardi-wav); CC-BY-SA 3.0 Italy.
"""


def draw(parts: list[str]) -> list[tuple[Plan, list[Prompt]]]:
    """The prompts of every planned file of the given parts, in plan order (monologues take their prompts
    the same way every time), each part from its pool (``POOLS``)."""
    missing = missing_packages()
    if missing:
        raise SystemExit(f"missing Debian packages: apt-get install {' '.join(missing)}")
    plans = [plan for plan in PLANS + EXTRA_PLANS if plan.part in parts]
    langs = sorted({lang for plan in plans for lang in plan.langs})
    absent = missing_extra() if set(langs) & set(EXTRA_VOICES) else []
    if absent:
        raise SystemExit(f"missing voice packages {', '.join(absent)}: "
                         "python tools/make_realspeech.py --fetch-extra")
    pools: dict[str, dict[str, list[Prompt]]] = {}
    for seed, lang in enumerate(sorted(VOICES)):
        if lang in langs:
            pools[lang] = split_parts(load_prompts(lang), seed)
    for seed, lang in enumerate(sorted(EXTRA_VOICES), start=len(VOICES)):
        if lang in langs:
            pools[lang] = split_parts(load_extra_prompts(lang), seed)
    pool_of = {**POOLS, **EXTRA_POOLS}
    taken: dict[str, set[str]] = {part: set() for part in pool_of}
    drawn = []
    for plan in plans:
        if len(plan.langs) == 1:
            prompts = pick_monologue(pools["fr"][pool_of[plan.part]], plan, taken[plan.part])
        else:
            prompts = pick_conversation({lang: pools[lang][pool_of[plan.part]] for lang in plan.langs}, plan)
        drawn.append((plan, prompts))
    return drawn


def build(out: Path, parts: list[str], names: list[str] | None, command: str) -> list[Path]:
    """Make the planned files of the given parts (or only `names`) under `out`; return their audio paths."""
    drawn = draw(parts)
    out.mkdir(parents=True, exist_ok=True)
    extra = any(plan.part in EXTRA_PARTS for plan, _ in drawn) or any((out / p).is_dir() for p in EXTRA_PARTS)
    (out / "NOTICE").write_text(NOTICE + (EXTRA_NOTICE if extra else ""), encoding="utf-8")
    paths = []
    for plan, prompts in drawn:
        if names and plan.name not in names:
            continue
        audio, turns = render(prompts, plan)
        paths.append(write(out, plan, prompts, audio, turns, command))
    return paths


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("out_dir", nargs="?", default=str(DEFAULT_OUT), help="output folder (one subfolder per part)")
    p.add_argument("--part", action="append", choices=PARTS + EXTRA_PARTS,
                   help=f"parts to build (repeatable; default all but {', '.join(EXTRA_PARTS)})")
    p.add_argument("--fetch-extra", action="store_true",
                   help=f"first download and unpack {', '.join(EXTRA_PACKAGES)} into {EXTRA} (not installed)")
    p.add_argument("--only", action="append", metavar="NAME", help="build only this file (repeatable)")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    command = "python tools/make_realspeech.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    if args.fetch_extra:
        fetch_extra()
    build(Path(args.out_dir), args.part or list(PARTS), args.only, command)


if __name__ == "__main__":
    main()
