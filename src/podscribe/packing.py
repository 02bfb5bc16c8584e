"""Speaker turns -> recogniser windows: one speaker per clip, a speaker's clips packed into 30-s windows.

Whisper reads 30-s windows. Decoding each speaker turn alone keeps Whisper from reading across a
speaker change (it skips a muffled speaker when a clear one follows), but every short turn then costs a
whole window. Here the clips of one speaker, taken in time order within a block of the timeline, are
laid end to end with ``gap`` seconds of silence between them, up to ``window`` seconds per pack; the
engine decodes each pack as one clip, and its words are mapped back to the clip they fall in: batched
faster-whisper and sequential openai-whisper alike (openai-whisper read speech stretches of all speakers
in one language until 2026-12-04: on recorded multi-language conversations it lost one voice's words;
BENCHMARKS.md, "openai-whisper reads speaker windows"). Blocks of ``block`` seconds bound the packed
audio held at once (long files). Without a forced language each speaker's windows are decoded in the
language found on the first of them (or, where Whisper was not sure of it, in the likeliest of those it was
sure of for other speakers: ``reread_in``), and that speaker keeps it in later blocks; without speakers (no
diarization) each window is decoded in the language found on its own encoder output where Whisper is sure of
it (``ASROptions.window_language``), and stretches of it that Whisper is sure are in another of the file's
languages are decoded again in theirs (``foreign_stretches``).
The windows' encoder outputs can be handed on (``Encoded``): ``align`` times a known text on them.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .asr import SURE_LANGUAGE, ASREngine, ASROptions, ASRResult, Clips, EncoderTap, ProgressCallback, Ranking
from .audio import SAMPLE_RATE
from .transcript import Segment, Turn, Word
from .writing import ends_sentence

logger = logging.getLogger(__name__)

CUT_FRAME = 0.05  # seconds: a turn too long for one window is cut at its quietest stretch this long ...
MEET_FRAME = 0.02  # ... and the clips of two voices whose turns touch meet at their quietest stretch this long


@dataclass(frozen=True)
class PackOptions:
    """How turns become recogniser windows."""

    window: float = 30.0  # seconds of packed audio per window (Whisper's window)
    gap: float = 1.0  # silence between packed clips
    # Silence before each window: faster-whisper trims a window's long first word only when the speech
    # before it, in the audio it was given, ended over 4 median word durations (at most 2.8 s) earlier.
    # With more, every window's first word is timed alike, whatever window was laid before it.
    window_gap: float = 3.0
    clip_join_gap: float = 2.0  # turns of one speaker closer than this join into one clip
    pad: float = 0.2  # audio kept either side of a turn
    block: float = 600.0  # seconds of timeline packed and decoded at once
    min_missed: float = 1.5  # a stretch of a clip without words this long is decoded again...
    min_missed_speech: float = 1.0  # ...if its speaker's turns cover this much of it...
    again_rounds: int = 2  # ...and what a stretch decoded again leaves without words, up to this many rounds


def speech_turns(audio: np.ndarray) -> list[Turn]:
    """Speech regions of ``audio`` as turns of one unnamed speaker, for decoding without diarization.

    faster-whisper's own Silero VAD with its default settings (the ones its batched pipeline uses), so a
    file without speakers is decoded like one speaker's turns: clips cut in pauses, windows packed, and
    speech left without words decoded again (measured on real speech: VAD chunks decoded once lost whole
    clauses where Whisper ended a chunk early at a pause, 20 deletions against plain faster-whisper's 7).
    """
    return [Turn(start, end, "") for start, end in vad_regions(audio)]


def vad_regions(audio: np.ndarray, **vad: Any) -> list[tuple[float, float]]:
    """Speech regions of 16 kHz ``audio`` in seconds, by the Silero VAD faster-whisper ships (``vad``:
    its ``VadOptions`` fields; none: the defaults its batched pipeline uses)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    regions = get_speech_timestamps(audio, VadOptions(**vad), sampling_rate=SAMPLE_RATE)
    return [(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE) for r in regions]


def turn_clips(turns: Sequence[Turn], audio: np.ndarray, options: PackOptions = PackOptions()) -> list[Turn]:
    """Clips for the recogniser: one speaker each, each at most ``options.window`` s, overlapping only where
    a voice starts over the last one.

    Consecutive turns of one speaker closer than ``clip_join_gap`` join; a longer region is cut at its
    quietest 50 ms between 60 % and 100 % of the window, so no word is cut in two. Where a turn starts
    before the last clip's turn ends (overlapping turns), that clip ends ``pad`` after the new turn's
    start, not after its own turn's end: the new voice's clip began after the whole overlap, and its
    first words were lost (the overlap diarizer on the dev conversations: "Pour enregistrer", "pour
    retirer le"). Chosen on the dev conversations' cpWER among ending ``pad`` before, at and after
    the new turn's start (BENCHMARKS.md). The new clip starts at its turn's start, so the two clips share
    that ``pad`` (session 45): when it began where the last clip ended, Whisper read the new voice's first
    word cut ("Tous nos préposés" as "A proposer", "Désolé, il n'y a pas" as "À d'aller, il n'y a pas"),
    and such first words were a third of the deletions on the dev recordings (BENCHMARKS.md). Where
    another voice's turn starts less than two pads after the last one ends (turns that touch, or nearly: 60
    of the overlap diarizer's 128 voice changes on the dev conversations), the two clips meet, so the last
    clip's pad no longer takes the new voice's first 0.2 s (session 41). They meet at the quietest 20 ms of
    the audio both pads would take, the pause between the voices wherever the diarizer put the edge
    (session 42; halfway between the turns before: more errors on dev and held-out recordings and
    fixtures, mostly the other voice's edge words read twice; BENCHMARKS.md).
    """
    duration = len(audio) / SAMPLE_RATE
    merged: list[list[float | str]] = []
    for t in sorted(turns):
        if merged and merged[-1][2] == t.speaker and t.start - float(merged[-1][1]) <= options.clip_join_gap:
            merged[-1][1] = max(float(merged[-1][1]), t.end)
        else:
            merged.append([t.start, t.end, t.speaker])
    clips: list[Turn] = []
    longest = options.window
    talker_end = 0.0  # where the turn of the last clip ends
    ends: dict[str, float] = {}  # where each speaker's last clip ends: a speaker's own clips never overlap
    for first, last, speaker in merged:
        until = None  # where the last clip ends instead of ``pad`` after its turn
        over = False  # a new voice starts over the last one: its clip starts at its turn
        if clips and float(first) < talker_end < float(last):
            over = clips[-1].speaker != speaker
            until = float(first) + options.pad
        elif clips and clips[-1].speaker != speaker and talker_end <= float(first) < talker_end + 2 * options.pad:
            # turns that touch: the clips meet at the quietest point of the audio both pads would take
            until = _quietest(audio, float(first) - options.pad, talker_end + options.pad, MEET_FRAME)
        if until is not None and clips[-1].start < until < clips[-1].end:
            clips[-1] = replace(clips[-1], end=until)
            ends[clips[-1].speaker] = until
        start = max(float(first), ends.get(str(speaker), 0.0)) if over else max(
            0.0, float(first) - options.pad, clips[-1].end if clips else 0.0)
        end = min(duration, float(last) + options.pad)
        while end - start > longest:
            cut = _quietest(audio, start + 0.6 * longest, start + longest, CUT_FRAME)
            clips.append(Turn(start, cut, str(speaker)))
            start = cut
        if end > start:
            clips.append(Turn(start, end, str(speaker)))
            talker_end = float(last)
            ends[str(speaker)] = end
    return sorted(clips, key=lambda c: c.start)  # a voice starting over a long turn's first clips


def _quietest(audio: np.ndarray, lo: float, hi: float, frame: float) -> float:
    """The middle of the quietest ``frame``-s stretch of ``audio`` between ``lo`` and ``hi`` seconds (their
    midpoint where less than one frame fits)."""
    size = int(frame * SAMPLE_RATE)
    first = max(0, int(lo * SAMPLE_RATE))
    n = (min(int(hi * SAMPLE_RATE), len(audio)) - first) // size
    if n < 1:
        return (lo + hi) / 2
    energy = np.square(audio[first : first + n * size]).reshape(n, size).mean(axis=1)
    return (first + int(np.argmin(energy)) * size + size // 2) / SAMPLE_RATE


def pack(clips: Sequence[Turn], options: PackOptions = PackOptions()) -> list[list[Turn]]:
    """Group clips into windows: each window holds clips of one speaker in time order, their durations
    plus the gaps between them at most ``options.window``; a clip goes into the first window of its
    speaker with room left (fewer, fuller windows: each one costs an encoder pass); windows ordered
    by their first clip."""
    packs: list[list[Turn]] = []
    for clip in sorted(clips, key=lambda c: c.start):
        room = (
            p for p in packs
            if p[0].speaker == clip.speaker
            and _length(p, options.gap) + options.gap + clip.duration <= options.window
        )
        current = next(room, None)
        if current is None:
            packs.append([clip])
        else:
            current.append(clip)
    return packs


def _length(clips: Sequence[Turn], gap: float) -> float:
    return sum(c.duration for c in clips) + gap * (len(clips) - 1)


@dataclass(frozen=True)
class _Piece:
    """Where one clip sits in the packed audio (seconds)."""

    clip: Turn
    at: float  # start in the packed audio

    @property
    def shift(self) -> float:
        return self.clip.start - self.at


Pieces = tuple[tuple[float, float, float], ...]
"""The clips of one packed window: each one's (start, end) on the timeline and its start in the window."""


@dataclass(frozen=True)
class Encoded:
    """One recogniser window's encoder output and where its audio lies on the timeline: ``align`` times
    the text's words on it instead of encoding that audio again."""

    output: np.ndarray  # Whisper's encoder output for the window (frames / 2, width)
    frames: int  # feature frames that hold the window's audio
    pieces: Pieces  # the clips it holds, in order
    speaker: str = ""  # whose clips they are ("" without diarization)


def recognise_turns(
    engine: ASREngine,
    audio: np.ndarray,
    turns: Sequence[Turn],
    asr: ASROptions,
    options: PackOptions = PackOptions(),
    progress: ProgressCallback | None = None,
    encoded: Callable[[Encoded], None] | None = None,
    grow: Callable[[float], None] | None = None,
) -> ASRResult:
    """Words of ``audio`` recognised turn by turn (see module doc), with times on the original timeline;
    ``encoded`` gets the packed windows' encoder outputs where the engine gives them.

    Whisper may stop reading a window early (it takes a pause for the end), and batched decoding does
    not go on after it: speech of a clip left without words (see ``missed``) is decoded again, alone, and
    so is what that leaves without words, up to ``options.again_rounds`` times. ``progress`` hears the
    timeline's seconds read, and then those decoded again: ``grow`` hears each such pass's seconds before
    it starts, by which the work grows (without it, those passes are not reported).
    """
    extra = 0.0  # seconds decoded again so far, counted after the timeline's

    def read(seconds: float) -> None:
        if progress is not None:
            progress(seconds + extra)

    def again(at: float, stretches: Sequence[Turn]) -> ProgressCallback | None:
        """The progress of decoding ``stretches`` again once the timeline is read up to ``at``."""
        nonlocal extra
        if progress is None or grow is None:
            return None
        seconds = sum(s.duration for s in stretches)
        grow(seconds)
        start, extra = at + extra, extra + seconds
        return lambda fraction: progress(start + fraction * seconds)

    clips = turn_clips(turns, audio, options)
    blocks: list[list[Turn]] = []
    for clip in clips:
        if not blocks or clip.end - blocks[-1][0].start > options.block:
            blocks.append([])
        blocks[-1].append(clip)
    language = asr.language
    if not any(t.speaker for t in turns):
        if language is None:  # no voice holds a language: each window's
            asr = replace(asr, window_language=True)
    else:  # one voice per window: encoded to its length (``ASROptions.trim``), without timestamp tokens where
        asr = replace(asr, timestamps=False, trim=True)  # a window holds one clip (``_decode``)
    # Speaker windows (one voice each) are decoded in their speaker's own language when none is forced:
    # measured on real multi-language conversations, forcing one language on every speaker garbles the others.
    # A new speaker's windows are one engine call without a language: the engine finds it on the first
    # window it decodes, and that is the speaker's language from then on, unless Whisper was not sure of it
    # (``reread_in``).
    languages: dict[str, str] = {}
    heard: set[str] = set()  # languages Whisper was sure of for a speaker
    sure_windows: set[str] = set()  # without speakers: languages Whisper was sure of for a window
    # Without speakers: speech cut at short pauses, (n, 2) in seconds, computed only if a slice is read.
    fine = functools.cache(lambda: np.array(vad_regions(audio, **FINE_VAD)).reshape(-1, 2))
    slices = asr.window_language and hasattr(engine, "languages_in")  # a window's languages read inside it
    segments: list[Segment] = []
    redone = 0
    for block in blocks:
        span = (block[0].start, block[-1].end)
        packs = pack(block, options)
        new = list(dict.fromkeys(p[0].speaker for p in packs if p[0].speaker not in languages))
        new = new if asr.language is None else []
        calls: list[tuple[str | None, Sequence[Sequence[Turn]]]] = [
            (None, [p for p in packs if p[0].speaker == speaker]) for speaker in new
        ]
        calls += _by_language([p for p in packs if p[0].speaker not in new], languages, language).items()
        windows: list[Encoded] = []
        listen = _kept(windows, encoded) if slices else encoded
        results = _decode(engine, audio, calls, asr, options, span, read, listen)
        rankings = [ranking for _, _, ranking in results[: len(new)]]
        heard |= {ranking[0][0] for ranking in rankings if ranking and ranking[0][1] > SURE_LANGUAGE}
        reread = reread_in(rankings, heard)
        if reread:  # the encoder outputs went to ``encoded`` on the first reading
            for i, lang in reread.items():
                logger.info("speaker %s read again in %s: Whisper was not sure of %s (p=%.2f)",
                            new[i], lang, *rankings[i][0])  # fmt: skip
            again_calls = [(lang, calls[i][1]) for i, lang in reread.items()]
            for i, result in zip(reread, _decode(engine, audio, again_calls, asr, options, span, None)):
                results[i] = result
        languages.update((speaker, lang) for speaker, (_, lang, _) in zip(new, results) if lang)
        found = [seg for segments_of_call, _, _ in results for seg in segments_of_call]
        language = language or next((lang for _, lang, _ in results if lang), None)
        if windows and language:
            stretches = foreign_stretches(engine, windows, language, sure_windows, fine)
            found = _read_in_their_languages(
                engine, audio, found, stretches, asr, options, again(span[1], stretches)
            )
        # A clip that had its window to itself would give the same words again, and so would a stretch
        # decoded again already. A stretch decoded again can stop early too (a repetition loop cut at the
        # token budget: report2's conversation30 lost 13 s after one, with a 0.1-s pad): what it leaves
        # without words is decoded again in turn.
        tried = {p[0] for p in packs if len(p) == 1}
        for _ in range(options.again_rounds):
            words = [w for seg in found for w in seg.words]
            stretches = [s for s in missed(block, words, turns, options) if s not in tried]
            if not stretches:
                break
            calls = list(_by_language([[c] for c in stretches], languages, language).items())
            found = _split_at(found, stretches) + _decode_again(
                engine, audio, calls, asr, options, again(span[1], stretches)
            )
            redone += len(stretches)
            tried.update(stretches)
        segments.extend(found)
    if languages:  # the file's language: the one spoken longest
        spoken: dict[str, float] = {}
        for clip in clips:
            if clip.speaker in languages:
                spoken[languages[clip.speaker]] = spoken.get(languages[clip.speaker], 0.0) + clip.duration
        language = max(spoken, key=spoken.__getitem__)
    read(len(audio) / SAMPLE_RATE)
    segments = continue_sentences(sorted(segments, key=lambda s: s.start), clips, options.clip_join_gap)
    logger.info(
        "%d clips decoded in %d blocks; %d stretches without words decoded again",
        len(clips),
        len(blocks),
        redone,
    )
    return ASRResult(language=language or "", segments=tuple(segments))


_MARKS = ".,;:!?…«»“”\"'()[] "


def continue_sentences(segments: Sequence[Segment], clips: Sequence[Turn], gap: float) -> list[Segment]:
    """Segments (in time order) whose first word continues the sentence of the segment before, decoded
    apart (a clip cut at its longest, a stretch decoded again), with that word's capital lowered.

    Whisper capitalises the first word of every decoding: joined, the pieces read "Comment est-ce qu'il
    Peut-il encore". A word is lowered when the segment before is the same speaker's (``clips``), less
    than ``gap`` s before, and ends without a sentence's punctuation, unless the word is an acronym or
    a name: capitalised somewhere inside a segment of the transcript.
    """
    inside = {
        w.text.strip(_MARKS)
        for seg in segments
        for before, w in itertools.pairwise(seg.words)
        if w.text[:1].isupper() and not ends_sentence(before.text)
    }
    out: list[Segment] = []
    for seg in segments:
        previous = out[-1] if out else None
        first = seg.words[0].text if seg.words else ""
        if (
            previous is not None
            and previous.words
            and seg.start - previous.end < gap
            and _speaker_at(previous.end, clips) == _speaker_at(seg.start, clips)
            and not ends_sentence(previous.words[-1].text)
            and first[:1].isupper()
            and any(c.islower() for c in first)
            and first.strip(_MARKS) not in inside
        ):
            lowered = replace(seg.words[0], text=first[0].lower() + first[1:])
            seg = Segment.from_words((lowered, *seg.words[1:]), seg.speaker, seg.overlap)
        out.append(seg)
    return out


def _speaker_at(t: float, clips: Sequence[Turn]) -> str | None:
    """Speaker of the clip holding (or nearest to) time ``t``."""
    if not clips:
        return None
    return min(clips, key=lambda c: max(c.start - t, t - c.end, 0.0)).speaker


def reread_in(rankings: Sequence[Ranking], heard: set[str]) -> dict[int, str]:
    """Speakers to read again, by the index of their ranking, and in what: each one whose language Whisper
    was not sure of (SURE_LANGUAGE) takes the most likely of the languages it was sure of for a speaker
    (``heard``), where that is not the one it was read in.

    A few seconds of a voice give Whisper little to go on: the dev fixtures' synthetic French voices came
    out as Japanese at p=0.28 and 0.34 (overlap.fr, noisy.fr; BENCHMARKS.md, "openai-whisper reads speaker
    windows; a speaker's language only where Whisper is sure").
    Without a sure language elsewhere, or with one that is the speaker's own top guess, nothing changes.
    """
    out = {}
    for i, ranking in enumerate(rankings):
        if ranking and ranking[0][1] <= SURE_LANGUAGE:
            best = next((lang for lang, _ in ranking if lang in heard), ranking[0][0])
            if best != ranking[0][0]:
                out[i] = best
    return out


# Without speakers, a window's speech is cut at pauses of FINE_VAD and into slices of about SLICE s, each
# slice's language read on its own (chosen on the dev recordings: BENCHMARKS.md, "Languages inside a window").
SLICE = 3.0
FINE_VAD = {"min_silence_duration_ms": 300, "speech_pad_ms": 100}
MIN_SLICE = 1.0  # shorter speech between pauses is not read for its language
ENCODER_RATE = 50  # Whisper's encoder output frames a second


def foreign_stretches(
    engine: Any,
    windows: Sequence[Encoded],
    language: str,
    spoken: set[str],
    fine: Callable[[], np.ndarray],
) -> list[Turn]:
    """Without speakers: stretches of the windows' clips spoken in another language than their window was
    decoded in, as turns whose speaker is that language.

    A window of a multi-language conversation is decoded in one language, and Whisper garbles or translates
    the other voices in it (dev conversation2: 40 % WER). The windows' speech (``fine``: cut at short
    pauses, where voices take turns) is cut into slices of about ``SLICE`` s, and Whisper's language token
    is read on each slice's encoder frames alone (``languages_in``: no encoder pass). A slice counts where
    Whisper is sure of its language (SURE_LANGUAGE) and that language is one it was sure of for a whole
    window of the file (``spoken``, updated here), so a one-language file has none (and ``fine``, the
    speech regions (n, 2) in seconds, is then never computed). The encoder's frames
    hear the whole window, so a language with a small share of it may go unfound: 7 s of Russian after a
    16-s French turn read as Russian at p=0.15 at best, 7 s of English there were found. A window was
    decoded in its own language where Whisper was sure of it, else in the call's ``language``.
    """
    unique = list({w.pieces: w for w in windows}.values())  # a window decoded twice was tapped twice
    tops = [engine.languages_in(w.output, [(0, len(w.output))])[0][0] for w in unique]
    spoken |= {lang for lang, p in tops if p > SURE_LANGUAGE}
    decoded_in = [top if p > SURE_LANGUAGE else language for top, p in tops]
    out: list[Turn] = []
    if all(spoken <= {lang} for lang in decoded_in):  # a one-language file: no slice can count
        return out
    regions = fine()
    for w, window_language in zip(unique, decoded_in):
        places = [
            (start, end, at - first)  # on the timeline, and the shift to the window
            for first, last, at in w.pieces
            for start, end in _slices(regions, first, last)
        ]
        spans = [
            (int((start + shift) * ENCODER_RATE), int((end + shift) * ENCODER_RATE)) for start, end, shift in places
        ]
        for (start, end, _), ranking in zip(places, engine.languages_in(w.output, spans)):
            lang, sure = ranking[0]
            if sure > SURE_LANGUAGE and lang != window_language and lang in spoken:
                out.append(Turn(start, end, lang))
    return out


def _slices(regions: np.ndarray, first: float, last: float) -> list[tuple[float, float]]:
    """The speech ``regions`` (n, 2), sorted, inside [first, last), each cut into slices of about ``SLICE`` s;
    speech under ``MIN_SLICE`` s is left out."""
    out: list[tuple[float, float]] = []
    for lo, hi in regions[np.searchsorted(regions[:, 1], first) : np.searchsorted(regions[:, 0], last)].tolist():
        start, end = max(lo, first), min(hi, last)
        if end - start >= MIN_SLICE:
            n = max(1, round((end - start) / SLICE))
            out += [(start + i * (end - start) / n, start + (i + 1) * (end - start) / n) for i in range(n)]
    return out


def _read_in_their_languages(
    engine: ASREngine,
    audio: np.ndarray,
    found: list[Segment],
    stretches: Sequence[Turn],
    asr: ASROptions,
    options: PackOptions,
    progress: ProgressCallback | None,
) -> list[Segment]:
    """``found`` with the words of ``stretches`` (turns whose speaker is their language) replaced by those
    stretches' clips decoded again, each in its language; ``progress`` hears the fraction done."""
    clips = turn_clips(stretches, audio, options)
    if not clips:
        return found
    logger.info("%d stretches read again in their own language", len(clips))
    packs = pack(clips, options)
    calls = [(lang, [[replace(c, speaker="") for c in p] for p in packs if p[0].speaker == lang])
             for lang in dict.fromkeys(p[0].speaker for p in packs)]  # fmt: skip
    again = _decode_again(engine, audio, calls, asr, options, progress)
    return _split_at(_without(found, clips), clips) + again


def _decode_again(
    engine: ASREngine,
    audio: np.ndarray,
    calls: Sequence[tuple[str | None, Sequence[Sequence[Turn]]]],
    asr: ASROptions,
    options: PackOptions,
    progress: ProgressCallback | None = None,
) -> list[Segment]:
    """The segments of ``calls`` (language, packs) decoded again, each call in its language only;
    ``progress`` hears the fraction of them done.

    Speech decoded again keeps the language it is given: on its own, a stretch of synthetic French was found
    to be Japanese at p=0.67 (BENCHMARKS.md, "`--diarizer none`: each window in its own language"). It is read
    with timestamp tokens, as it was when the one-clip windows went without them (session 27, measured so).
    """
    alike = replace(asr, window_language=False, timestamps=True)
    decoded = _decode(engine, audio, calls, alike, options, (0.0, 1.0), progress)  # progress: a fraction
    return [seg for segments_of_call, _, _ in decoded for seg in segments_of_call]


def _kept(windows: list[Encoded], encoded: Callable[[Encoded], None] | None) -> Callable[[Encoded], None]:
    """An ``encoded`` callback that also keeps each window in ``windows``."""

    def keep(window: Encoded) -> None:
        windows.append(window)
        if encoded is not None:
            encoded(window)

    return keep


def _without(segments: Sequence[Segment], stretches: Sequence[Turn]) -> list[Segment]:
    """``segments`` less the words whose middle lies in one of ``stretches``."""
    out = []
    for seg in segments:
        words = [w for w in seg.words if not any(s.start <= (w.start + w.end) / 2 < s.end for s in stretches)]
        if words:
            out.append(Segment.from_words(words, seg.speaker, seg.overlap))
    return out


def _by_language(
    packs: Sequence[Sequence[Turn]], languages: dict[str, str], default: str | None
) -> dict[str | None, list[Sequence[Turn]]]:
    """Packs grouped by their speaker's language (``default`` for a speaker without one), in order."""
    groups: dict[str | None, list[Sequence[Turn]]] = {}
    for p in packs:
        groups.setdefault(languages.get(p[0].speaker, default), []).append(p)
    return groups


def _split_at(segments: Sequence[Segment], stretches: Sequence[Turn]) -> list[Segment]:
    """``segments`` cut wherever one of ``stretches`` (word-free, decoded again) lies between two of
    their words, so that segments sorted by start keep every word in time order."""
    out: list[Segment] = []
    for seg in segments:
        run = [seg.words[0]]
        for w in seg.words[1:]:
            if any(run[-1].end <= s.start and s.end <= w.start for s in stretches):
                out.append(Segment.from_words(run))
                run = []
            run.append(w)
        out.append(Segment.from_words(run))
    return out


def _decode(
    engine: ASREngine,
    audio: np.ndarray,
    calls: Sequence[tuple[str | None, Sequence[Sequence[Turn]]]],
    asr: ASROptions,
    options: PackOptions,
    span: tuple[float, float],
    progress: ProgressCallback | None,
    encoded: Callable[[Encoded], None] | None = None,
) -> list[tuple[list[Segment], str | None, Ranking]]:
    """Engine calls, each on (language, packs laid end to end) -> for each, segments on the original
    timeline, the language used (the one asked, else the one the engine found: None without words) and
    the engine's ranking of languages where it found one;
    ``encoded`` gets each window's encoder output with its clips' places (``_encoded_windows``).

    The calls run at once: each waits for its own last batch, so calls in a row (one per speaker's
    language in a multi-language conversation, often one or two windows each) left a core idle; at once,
    the engine's workers take their batches as they come. Progress is the packed audio decoded by all
    of them, mapped onto ``span`` of the timeline.
    """
    laid = [_pack_audio(audio, packs, options.gap, options.window_gap) for _, packs in calls]
    total = max(sum(len(packed) for packed, _, _ in laid) / SAMPLE_RATE, 1e-9)
    done = [0.0] * len(calls)

    def call(i: int) -> tuple[list[Segment], str | None, Ranking]:
        packed, pieces, windows = laid[i]
        lang = calls[i][0]

        def report(seconds: float) -> None:
            done[i] = seconds
            if progress is not None:
                progress(span[0] + sum(done) * (span[1] - span[0]) / total)

        tap = _encoded_windows(pieces, encoded) if encoded is not None else None
        # Without timestamp tokens Whisper stops at the silence between two clips: only where no window
        # holds more than one (``ASROptions.timestamps``).
        timestamps = asr.timestamps or any(len(p) > 1 for p in calls[i][1])
        result = engine.transcribe(
            packed, replace(asr, language=lang, timestamps=timestamps), progress=report, clips=windows, tap=tap
        )
        return _unpack(result.segments, pieces), lang or result.language or None, result.ranking

    with ThreadPoolExecutor(max(1, len(calls))) as pool:
        return list(pool.map(call, range(len(calls))))


def _encoded_windows(pieces: Sequence[_Piece], encoded: Callable[[Encoded], None]) -> EncoderTap:
    """An engine's ``tap`` on packed audio laid as ``pieces``: each window's encoder output, to ``encoded``
    with the places of the clips it holds."""

    def tap(_: np.ndarray, windows: Clips, outputs: np.ndarray) -> None:
        for (start, end), output in zip(windows, outputs):
            # feature frames as faster-whisper computes them: 100 a second, 30 s at most
            frames = min(3000, (int(end * SAMPLE_RATE) - int(start * SAMPLE_RATE)) * 100 // SAMPLE_RATE)
            held = [p for p in pieces if start <= p.at < end]
            places = tuple((p.clip.start, p.clip.end, p.at - start) for p in held)
            encoded(Encoded(output, frames, places, held[0].clip.speaker if held else ""))

    return tap


def missed(
    clips: Sequence[Turn], words: Sequence[Word], turns: Sequence[Turn], options: PackOptions
) -> list[Turn]:
    """Stretches of ``clips`` with no word in them, at least ``options.min_missed`` s long and holding
    at least ``options.min_missed_speech`` s of their speaker's turns."""
    found: list[Turn] = []
    for clip in clips:
        covered = sorted((w.start, w.end) for w in words if clip.start <= (w.start + w.end) / 2 <= clip.end)
        edges = [clip.start, *(t for w in covered for t in w), clip.end]
        for lo, hi in zip(edges[::2], edges[1::2]):
            if hi - lo < options.min_missed:
                continue
            speech = sum(
                max(0.0, min(hi, t.end) - max(lo, t.start)) for t in turns if t.speaker == clip.speaker
            )
            if speech >= options.min_missed_speech:
                found.append(Turn(lo, hi, clip.speaker))
    return found


def _pack_audio(
    audio: np.ndarray, packs: Sequence[Sequence[Turn]], gap: float, window_gap: float
) -> tuple[np.ndarray, list[_Piece], list[tuple[float, float]]]:
    """The packs laid end to end (``window_gap`` s of silence before each pack, ``gap`` s between the clips
    of a pack), where each clip went, and each pack's span in the packed audio."""
    parts: list[np.ndarray] = []
    pieces: list[_Piece] = []
    windows: list[tuple[float, float]] = []
    samples = 0
    for clips in packs:
        first = samples
        for i, clip in enumerate(clips):
            parts.append(np.zeros(round((gap if i else window_gap) * SAMPLE_RATE), dtype=np.float32))
            samples += len(parts[-1])
            if i == 0:
                first = samples
            lo, hi = round(clip.start * SAMPLE_RATE), round(clip.end * SAMPLE_RATE)
            pieces.append(_Piece(clip, samples / SAMPLE_RATE))
            parts.append(audio[lo:hi])
            samples += hi - lo
        windows.append((first / SAMPLE_RATE, samples / SAMPLE_RATE))
    packed = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return packed.astype(np.float32, copy=False), pieces, windows


def _unpack(segments: Sequence[Segment], pieces: Sequence[_Piece]) -> list[Segment]:
    """Segments of packed audio -> segments on the original timeline, split where a clip ends.

    A word belongs to the clip whose packed span holds its middle (the nearest one when it falls in a
    gap), is kept inside that clip's span and carries the clip's speaker (``assign`` keeps it where
    that speaker's turns cover the word).
    """
    starts = np.array([p.at for p in pieces])
    out: list[Segment] = []
    for seg in segments:
        run: list[Word] = []
        run_piece = -1
        for w in seg.words:
            i = _piece_of((w.start + w.end) / 2, starts, pieces)
            if i != run_piece and run:
                out.append(Segment.from_words(run))
                run = []
            run_piece = i
            clip, shift = pieces[i].clip, pieces[i].shift
            start = min(max(w.start + shift, clip.start), clip.end)
            end = min(max(w.end + shift, start), clip.end)
            run.append(replace(w, start=start, end=end, speaker=clip.speaker or None))
        if run:
            out.append(Segment.from_words(run))
    return out


def _piece_of(t: float, starts: np.ndarray, pieces: Sequence[_Piece]) -> int:
    """Index of the piece holding packed time ``t``, or the nearest one."""
    i = max(int(np.searchsorted(starts, t, side="right")) - 1, 0)
    if i + 1 < len(pieces):
        end = pieces[i].at + pieces[i].clip.duration
        if t > end and pieces[i + 1].at - t < t - end:
            return i + 1
    return i
