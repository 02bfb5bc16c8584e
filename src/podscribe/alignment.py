"""Align a known text to its audio: the text's own words, timed, with the speakers the text names.

Method: Whisper recognises the audio first (the Pipeline's faster-whisper engine, without
diarization: speakers come from the text's lines). The text's words are matched to the recognised
words by a global alignment of whole words (normalised by the evaluation's normaliser) scored by their
letters, with affine gaps (``word_pairs``); a text word equal to the recognised word it is paired
with, in a run of ``MIN_RUN`` such pairs consecutive on both sides, is an anchor. The words are
force-aligned with Whisper's cross-attention DTW (CTranslate2's ``WhisperModel.align``, as
faster-whisper's word timestamps do) on the same weights: on the encoder outputs of the recognition's
own windows (``reused_windows``: each text word in the window where it was heard, but in clips the
diarizer cut at a speaker change; no encoder pass of its own); the rest in windows of at most
``MAX_WINDOW`` seconds of audio cut between anchors (``windows``), each encoded anew. Word edges in a
pause are then moved to the speech (Silero VAD), and where a speaker's line starts while the previous
speaker still speaks (two voices at once in the overlap diarizer's segmentation, segmentation-3.0), both
lines keep the overlapped speech.

Text that does not match the audio must not shift the rest: a run of text words the alignment
leaves unpaired, where the recognition has no time for it, is taken as not spoken: those words keep
their place, get times interpolated between their neighbours and ``aligned=False``; so does a
sentence with no word the recognition heard that the forced alignment squeezes into less than half the
time its letters need (a word or two next to a pause, where the recognition has room for it), or whose
words Whisper finds unlikely where the DTW laid them (``unspoken_sentences``). At a line's start or end
such words do not count in the line's segment (``line_segment``): the turn keeps its spoken words' bounds.
Where the audio is far longer than its text needs (an advert), no window spans the gap. A text with
too few anchors (another language, another recording) is an InputError rather than garbage timing.
"""

from __future__ import annotations

import bisect
import logging
import math
import os
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple, Self

import numpy as np

from .asr import ASRResult
from .audio import SAMPLE_RATE
from .diarization import DiarizationOptions
from .errors import InputError, OptionError
from .inputs import AudioInput, AudioSource, open_source
from .normalizer import Normalizer
from .packing import Encoded, Pieces, vad_regions
from .pipeline import Pipeline, PipelineOptions, StageProgress, make_options, no_speech
from .reference import Reference, load_reference, parse_reference, require_words
from .transcript import (
    Segment,
    Transcript,
    Word,
    attach_punctuation,
    is_punctuation,
    speaker_id,
)
from .writing import ends_sentence, join_words, split_words

logger = logging.getLogger(__name__)

MIN_RUN = 2  # a matched word is an anchor only inside a run of this many, consecutive on both sides
MIN_ANCHORED = 0.25  # fewer text words anchored than this share: the text is not this audio's
# matching text words to recognised words (word_pairs): a pair of words scores its letters times (similarity
# - PAIR_SIMILARITY); a gap costs GAP_OPEN plus GAP_LETTER per letter; BAND words around the diagonal
PAIR_SIMILARITY, GAP_OPEN, GAP_LETTER, BAND = 0.5, 3.0, 0.1, 1000
UNSPOKEN_RUN = 3  # text words paired with nothing, in a run of this many ...
UNSPOKEN_S = 0.75  # ... are not spoken where they need this much more time than the audio around them has
MAX_WINDOW = 29.0  # seconds of audio in one forced-alignment window (Whisper reads 30 s)
PAD = 0.2  # seconds of audio kept after a window's last anchor
LONG_GAP_S = 4.0  # a gap between anchors this much longer than twice what its words need holds other speech
CHUNK_S, CHUNK_MARGIN = 20.0, 3.0  # a stretch without anchors: pieces this long, aligned this much wider
SPEAKING_RATE = 14.0  # letters per second, pauses included, when too few anchors tell the text's own
# Silero VAD for snapping word edges to speech: no padding, pauses from 100 ms (DTW words are contiguous,
# so a pause before a word or a turn otherwise goes to the word before it)
VAD_PAUSE_MS = 100
# a sentence the recognition did not hear is not spoken where Whisper gives its words, on average, a
# log-probability below this (about 1 in 22,000), force-aligned in their window: chosen on the dev part of
# the recorded-speech set, between spoken sentences (-6.7 at the lowest) and unspoken ones (-12.8 at most)
UNLIKELY_LOGPROB = -10.0
OVERLAP_REACH = 0.25  # seconds: a speaker change this close to overlapped speech lies in it
# Recognition windows whose first clip starts this early are kept for the alignment (1.5 MB each, about one
# per 25 s of speech): memory stays bounded on long files, and which windows are kept does not depend on
# the order the engine's workers finish them in.
KEPT_SECONDS = 7200.0


@dataclass(frozen=True)
class _Span:
    """Text words (indices, in order) and the audio ranges (start, end) to try aligning them in."""

    words: tuple[int, ...]
    ranges: tuple[tuple[float, float], ...]


class WordFit(NamedTuple):
    """One text word force-aligned to one window: its times, the mean probability of its tokens (as the
    recognition's words have), and the sum of their log-probabilities (how likely the whole word is)."""

    start: float
    end: float
    probability: float
    log_probability: float


def align(
    audio: AudioInput,
    text_or_path: str | os.PathLike[str] | Reference,
    *,
    language: str | None = None,
    model: str | None = None,
    device: str | None = None,
    options: PipelineOptions | None = None,
    **more: Any,
) -> Transcript:
    """Time a known text to its audio: ``podscribe.align("episode.mp3", "episode.txt", language="fr")``.

    Args:
        audio: a path, a binary file object, bytes, a numpy array (16 kHz mono float32),
            ``(array, sample_rate)`` or a pydub ``AudioSegment``.
        text_or_path: the text: a file in any format ``load_reference`` reads (``Name : text`` lines,
            plain text, STM ...), the text itself as a string (one that names no file and has a line
            break or a space: a single word is taken for a mistyped path), or a ``Reference``.
        language: language code or name of the speech and text; None detects it from the audio.
        model: Whisper model name or local CTranslate2 folder (faster-whisper engine).
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        options: a full ``PipelineOptions`` to start from (its diarizer is not used).
        **more: other ``PipelineOptions`` / ``ASROptions`` fields (``beam_size=`` ...).

    Returns:
        A ``Transcript`` whose words are the text's words (spelling, punctuation, case) in order, one
        segment per line of the text with the speaker it names (``names`` maps ids to those names);
        a mark standing alone in the text ("Bonjour !") is part of its word ("Bonjour\u00a0!", a
        no-break space for the space: ``transcript.attach_punctuation``), which keeps its own times;
        words that could not be matched to the speech have ``aligned=False`` and interpolated times
        (a line's segment spans its aligned words).

    Raises:
        InputError: the text does not match the speech (another language or another recording), or the
            audio holds no speech.
    """
    given = {"language": language, "model": model, "device": device}
    opts = make_options(options, **{k: v for k, v in given.items() if v is not None}, **more)
    if opts.engine != "faster-whisper":
        raise OptionError("align needs the faster-whisper engine (its cross-attention alignment)")
    return Aligner(Pipeline(aligner_options(opts))).run(audio, text_or_path)


def aligner_options(options: PipelineOptions) -> PipelineOptions:
    """The pipeline options ``align`` recognises with: no diarization when the language is given (the
    text names the speakers); without one, the diarizer's turns let each voice be recognised in its own
    language (measured on recorded multi-language conversations: one detected language for every voice
    left the others without anchors). Names and references do not apply, nor speaker counts without a
    diarizer."""
    if options.asr.language is None:
        return replace(options, reference=None, voices={}, speaker_names=())
    return replace(options, diarizer=None, diarization=DiarizationOptions(), pyannote=None, reference=None,
                   voices={}, speaker_names=())  # fmt: skip


_TEXT_FILES = (".txt", ".srt", ".vtt", ".stm", ".ctm", ".json")  # what load_reference reads by name


def read_text(text_or_path: str | os.PathLike[str] | Reference) -> tuple[Reference, str]:
    """The text as a Reference, and a name for messages (its path, or ``<text>``)."""
    if isinstance(text_or_path, Reference):
        return require_words(text_or_path, "<text>"), "<text>"
    if isinstance(text_or_path, str) and ("\n" in text_or_path or not Path(text_or_path).is_file()):
        line = len(text_or_path) < 256 and "\n" not in text_or_path and text_or_path.strip()
        named = Path(text_or_path.strip()).suffix.lower() in _TEXT_FILES  # "my episode.txt": a file's name
        if line and (named or " " not in text_or_path.strip()):
            raise InputError("no such file", text_or_path)  # a path mistyped, not a one-word text
        return parse_reference(text_or_path), "<text>"
    return load_reference(text_or_path), os.fspath(text_or_path)


def _lines(reference: Reference) -> list[tuple[str | None, list[str]]]:
    """The text's lines that hold words: (speaker, words; a character each in Chinese or Japanese)."""
    return [(u.speaker, split_words(u.text)) for u in reference.utterances if u.text.split()]


def _changes(lines: Sequence[tuple[str | None, list[str]]]) -> list[int]:
    """Indices of the text words that start a line of another speaker than the line before."""
    out, at = [], 0
    for k, (speaker, words) in enumerate(lines):
        if k and speaker != lines[k - 1][0]:
            out.append(at)
        at += len(words)
    return out


class _Aside:
    """Where speech and overlapped speech (``overlaps``: only for a text that changes speaker) are in one
    recording, found on a thread of its own: they depend on the audio alone, and onnxruntime leaves the
    interpreter, and a core the recognition or the alignment leaves idle, free meanwhile. Leaving the
    ``with`` block does not wait for them (a refused text)."""

    def __init__(self, aligner: Aligner, samples: np.ndarray, overlaps: bool) -> None:
        self._pool = ThreadPoolExecutor(1)
        self.regions = self._pool.submit(speech_regions, samples)
        self.overlaps = self._pool.submit(aligner.overlapped_speech, samples) if overlaps else None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class Aligner:
    """Aligns texts to audio with one Pipeline's ASR engine (models loaded once)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._segmentation: Any = None  # onnxruntime session, loaded when a text changes speaker

    def run(self, audio: AudioInput, text_or_path: str | os.PathLike[str] | Reference) -> Transcript:
        """Recognise ``audio`` and align the text to it, mostly on the recognition's own encoder outputs
        (so the recognition is decoded each time, not read from the result cache: a rerun gives the same
        times); where speech and overlapped speech are is found meanwhile (the recognition leaves a core
        idle at times)."""
        reference, text_name = read_text(text_or_path)
        source = open_source(audio, self.pipeline.options.audio_track)
        samples, lines = self.pipeline.decoder(source)(), _lines(reference)
        kept: list[Encoded] = []  # the recognition's windows, encoded: most of the text is aligned on them

        def keep(window: Encoded) -> None:
            if window.pieces and window.pieces[0][0] < KEPT_SECONDS:
                kept.append(window)

        with _Aside(self, samples, bool(_changes(lines))) as found:
            result, duration = self.recognise(source, keep)
            return self._fit(source, samples, result, duration, lines, text_name, found, kept)

    def recognise(
        self, source: AudioSource, encoded: Callable[[Encoded], None] | None = None
    ) -> tuple[ASRResult, float]:
        """The recognition ``fit`` matches the text to (speaker by speaker when the pipeline diarizes);
        ``encoded`` gets its windows' encoder outputs (the recognition is then decoded, not read from the
        result cache: ``Pipeline.recognise``)."""
        digest = source.digest if self.pipeline.options.cache else None
        turns = self.pipeline.diarize_audio(source.load, digest) if self.pipeline.options.diarizer else None
        return self.pipeline.recognise(source.load, digest, turns, encoded)

    def fit(
        self,
        source: AudioSource,
        result: ASRResult,
        duration: float,
        reference: Reference,
        text_name: str = "<text>",
        encoded: Sequence[Encoded] = (),
    ) -> Transcript:
        """Align ``reference`` to the audio of ``source`` given its recognition ``result`` (``run``
        without the recognition: several texts against one recording) and any of its windows' encoder
        outputs (``encoded``, from ``recognise``)."""
        samples = self.pipeline.decoder(source)()  # decoded already unless the recognition was cached
        lines = _lines(reference)
        with _Aside(self, samples, bool(_changes(lines))) as found:
            return self._fit(source, samples, result, duration, lines, text_name, found, encoded)

    def _fit(
        self,
        source: AudioSource,
        samples: np.ndarray,
        result: ASRResult,
        duration: float,
        lines: list[tuple[str | None, list[str]]],
        text_name: str,
        found: _Aside,
        encoded: Sequence[Encoded],
    ) -> Transcript:
        """``fit`` on the decoded ``samples`` and the text's ``lines`` (``_lines``), with where speech and
        overlapped speech are being ``found`` aside."""
        o = self.pipeline.options
        language = result.language or o.asr.language or "fr"
        heard = [w for s in result.segments for w in s.words]
        if not heard:  # the audio is at fault, not the text
            raise no_speech(source.name, source.track)

        texts = [w for _, words in lines for w in words]
        line_of = [k for k, (_, words) in enumerate(lines) for _ in words]
        line_starts = {k for k in range(len(texts)) if k == 0 or line_of[k] != line_of[k - 1]}
        changes = _changes(lines)
        normalizer = Normalizer.for_language(language)
        matching = match_words(texts, heard, normalizer)
        anchors = matching.anchors
        if not _is_heard(texts, heard, anchors, normalizer):
            raise InputError(_not_heard(texts, heard, sorted(anchors), language, o.asr.language), text_name)
        times = self._force_align_all(samples, texts, duration, matching, line_of, encoded)
        unspoken = matching.unspoken | unspoken_sentences(texts, times, matching, line_starts)
        timed = timed_words(texts, times, unspoken, duration)
        words = snap_to_speech(timed, found.regions.result(), line_starts, anchors)
        if found.overlaps is not None:
            words = spread_overlaps(words, found.overlaps.result(), changes)
        lacking = untexted(heard, words)
        if lacking:  # a line cut from a script went unsaid (its cues are missing)
            where = ", ".join(f"{run[0].start:.1f}-{run[-1].end:.1f} s" for run in lacking[:3])
            said = join_words([w.text for w in lacking[0]])
            logger.warning("%s: speech the text lacks at %s%s (heard: \"%s\"): a line left out of the text?",
                           text_name, where, " ..." if len(lacking) > 3 else "", said[:60])  # fmt: skip
        aligned = sum(w.aligned for w in words)
        logger.log(
            logging.WARNING if aligned < len(words) else logging.INFO,
            "%s: aligned %d of %d words of the text (%d not found in the speech: times interpolated, "
            "aligned=false)", text_name, aligned, len(words), len(words) - aligned,
        )  # fmt: skip

        names = list(dict.fromkeys(speaker for speaker, _ in lines if speaker is not None))
        ids = {name: speaker_id(i) for i, name in enumerate(names)}
        groups, at = [], 0
        for speaker, line in lines:
            sid = ids.get(speaker) if speaker is not None else None
            groups.append([replace(w, speaker=sid) for w in words[at : at + len(line)]])
            at += len(line)
        segments = [line_segment(group) for group in attach_punctuation(groups) if group]
        return Transcript(
            segments=tuple(segments),
            duration=duration,
            language=language,
            model=f"{o.engine}/{o.model}",
            audio=source.path,
            names={sid: name for name, sid in ids.items()},
            audio_track=source.track,
        )

    def _force_align_all(
        self,
        samples: np.ndarray,
        texts: Sequence[str],
        duration: float,
        matching: Matching,
        line_of: Sequence[int],
        encoded: Sequence[Encoded] = (),
    ) -> dict[int, WordFit]:
        """Text word index -> its fit (``WordFit``) from Whisper's cross-attention DTW, in two rounds:
        the recognition windows that hold known words (``reused_windows``), on their ``encoded`` outputs
        (but the clips where the DTW ran across the silence between clips, ``_in_their_clips``); then the
        words left, in the forced-alignment windows of ``windows`` that hold them, each encoded anew (the
        times of the words served already are not taken from them). Each round's windows go to the
        engine's workers at once (on CPU each has its share of the threads: one at a time left the other
        core idle)."""
        o = self.pipeline.options
        language = o.asr.language
        times: dict[int, WordFit] = {}
        stage = StageProgress(o.progress, "alignment", duration)  # per window: the audio aligned so far
        try:
            with ThreadPoolExecutor(getattr(self.pipeline.engine, "workers", 1)) as pool:
                reused = reused_windows(matching, encoded, len(texts))
                fits = pool.map(lambda r: self._align_kept(encoded[r[0]], texts, r[1], language), reused)
                for (k, words), fit in zip(reused, fits):
                    pieces = encoded[k].pieces
                    times.update(_in_their_clips(pieces, fit, _heard_clips(pieces, words, matching.heard)))
                    stage(pieces[-1][1])
                served = set(times)
                spans = windows(matching, len(texts), duration, line_of)
                spans = [s for s in spans if not served.issuperset(s.words)]
                logger.info(
                    "alignment: %d words on %d of %d recognition windows, the rest on %d windows "
                    "encoded anew", len(served), len(reused), len(encoded), len(spans),
                )  # fmt: skip
                fits = pool.map(lambda span: self._force_align(samples, texts, span, language), spans)
                for span, fit in zip(spans, fits):
                    times.update((w, t) for w, t in fit.items() if w not in times)
                    stage(max(end for _, end in span.ranges))
        finally:
            stage.close()
        return times

    def overlapped_speech(self, samples: np.ndarray) -> list[tuple[float, float]]:
        """Where two voices speak at once (the overlap diarizer's segmentation, loaded once)."""
        from .diarization.embedded import SEGMENTATION, load_onnx
        from .diarization.overlap import overlapped_speech

        if self._segmentation is None:
            self._segmentation = load_onnx(SEGMENTATION, None, self.pipeline.options.device, 0)
        return overlapped_speech(samples, self._segmentation)

    def _force_align(
        self, samples: np.ndarray, texts: Sequence[str], span: _Span, language: str | None
    ) -> dict[int, WordFit]:
        """Text word index -> its fit (``WordFit``) from Whisper's cross-attention DTW, in the one
        of the span's audio ranges where the text's tokens are the most probable. Without a ``language``,
        the window's own, found on its first range's encoder output (voices may differ in language)."""
        engine = self.pipeline.engine
        encoded = [self._encode(samples, start, end) for start, end in span.ranges]
        language = language or engine.language_of(encoded[0][0])  # type: ignore[attr-defined]
        tokenizer, word_tokens = self._tokens(texts, span.words, language)
        if not any(word_tokens):
            return {}
        fits = [self._dtw(output, frames, tokenizer, word_tokens) for output, frames in encoded]
        (start, end), (jumps, probs) = max(zip(span.ranges, fits), key=lambda f: float(np.mean(f[1][1])))
        return _word_times(
            span.words, word_tokens, jumps, probs, lambda a, b: (min(start + a, end), min(start + b, end))
        )

    def _align_kept(
        self, window: Encoded, texts: Sequence[str], words: tuple[int, ...], language: str | None
    ) -> dict[int, WordFit]:
        """``_force_align`` of ``words`` on a recognition window's kept encoder output, times mapped from
        the packed window back to the timeline by its clips (``on_timeline``)."""
        from ctranslate2 import StorageView

        held = np.ascontiguousarray(window.output[None], dtype=np.float32)  # shared with the StorageView
        output = StorageView.from_array(held)
        language = language or self.pipeline.engine.language_of(output)  # type: ignore[attr-defined]
        tokenizer, word_tokens = self._tokens(texts, words, language)
        if not any(word_tokens):
            return {}
        jumps, probs = self._dtw(output, window.frames, tokenizer, word_tokens)
        return _word_times(words, word_tokens, jumps, probs, lambda a, b: on_timeline(a, b, window.pieces))

    def _tokens(
        self, texts: Sequence[str], words: Sequence[int], language: str
    ) -> tuple[Any, list[list[int]]]:
        """Whisper's tokenizer for ``language`` and the tokens of each of ``words`` (text indices)."""
        from faster_whisper.tokenizer import Tokenizer

        whisper = self.pipeline.engine.model  # type: ignore[attr-defined]  # faster-whisper's WhisperModel
        multilingual = whisper.model.is_multilingual
        tokenizer = Tokenizer(whisper.hf_tokenizer, multilingual, task="transcribe", language=language)
        return tokenizer, [tokenizer.encode(" " + texts[i]) for i in words]

    def _encode(self, samples: np.ndarray, start: float, end: float) -> tuple[Any, int]:
        """Whisper's encoder output for the audio from ``start`` to ``end`` (one pass serves the language
        and the alignment) and the number of feature frames that hold that audio."""
        from faster_whisper.audio import pad_or_trim

        whisper = self.pipeline.engine.model  # type: ignore[attr-defined]
        features = whisper.feature_extractor(samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)])[
            ..., :-1
        ]
        return whisper.encode(pad_or_trim(features)), min(features.shape[-1], 3000)

    def _dtw(
        self, encoded: Any, num_frames: int, tokenizer: Any, word_tokens: list[list[int]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Token jump times (seconds from the window's start, one per token and one for the end) and token
        probabilities of ``word_tokens`` force-aligned to one encoded window: CTranslate2's ``align`` as in
        faster-whisper's ``find_alignment``."""
        whisper = self.pipeline.engine.model  # type: ignore[attr-defined]
        tokens = [t for ws in word_tokens for t in ws]
        result = whisper.model.align(
            encoded, tokenizer.sot_sequence, [tokens], num_frames, median_filter_width=7
        )[0]
        text_indices = np.array([p[0] for p in result.alignments])
        time_indices = np.array([p[1] for p in result.alignments])
        jumps = np.pad(np.diff(text_indices), (1, 0), constant_values=1).astype(bool)
        return time_indices[jumps] / whisper.tokens_per_second, np.asarray(result.text_token_probs)


def _word_times(
    words: Sequence[int],
    word_tokens: Sequence[Sequence[int]],
    jumps: np.ndarray,
    probs: np.ndarray,
    at: Callable[[float, float], tuple[float, float]],
) -> dict[int, WordFit]:
    """Text word index -> its fit from one DTW's token jump times (a word runs from its first token's
    jump to the next word's; seconds in its window, mapped by ``at``) and token probabilities."""
    bounds = np.cumsum([0] + [len(ws) for ws in word_tokens])
    logs = np.log(np.maximum(probs, np.finfo(np.float32).tiny))
    out = {}
    for k, i in enumerate(words):
        a, b = bounds[k], bounds[k + 1]
        if a == b or b > len(jumps):
            continue
        start, end = at(float(jumps[a]), float(jumps[b] if b < len(jumps) else jumps[-1]))
        out[i] = WordFit(start, max(end, start), float(np.mean(probs[a:b])), float(np.sum(logs[a:b])))
    return out


def _in_their_clips(
    pieces: Pieces, times: Mapping[int, WordFit], clips: Mapping[int, int]
) -> dict[int, WordFit]:
    """The ``times`` of one packed window's words, but those of any clip (``pieces``) that the DTW ran
    across the silence laid between clips: a word that starts in one clip and ends in another, or lies
    in another clip than its own (``clips``: word -> index in ``pieces``, where known), spoils the clips
    it touches. Measured on interview.fr: a clip's last word put at the start of a clip laid after it,
    168 s later, and every word after it with it."""

    landed = {w: (_clip_of(t.start, pieces), _clip_of(t.end, pieces)) for w, t in times.items()}
    spoiled = {
        j
        for w, (first, last) in landed.items()
        if first != last or clips.get(w, first) != first
        for j in (first, last, clips.get(w, first))
    }
    return {w: t for w, t in times.items() if clips.get(w, landed[w][0]) not in spoiled}


def _heard_clips(
    pieces: Pieces, words: Sequence[int], heard: Mapping[int, tuple[float, float]]
) -> dict[int, int]:
    """Word -> index of the clip in ``pieces`` that holds the middle of the recognised word paired with it."""
    return {w: _clip_of(sum(heard[w]) / 2, pieces) for w in words if w in heard}


def _clip_of(t: float, pieces: Pieces) -> int:
    """Index of the clip in ``pieces`` that holds timeline time ``t``, or the nearest one."""
    return min(range(len(pieces)), key=lambda j: max(pieces[j][0] - t, t - pieces[j][1], 0.0))


def on_timeline(start: float, end: float, pieces: Pieces) -> tuple[float, float]:
    """A word's ``start`` and ``end`` in a packed window -> on the timeline, by its clips ``pieces`` (in
    order). A word runs over the silence laid between clips where DTW ends a clip's last word at the
    next clip's first word, or starts that first word in the tail of the clip before: it goes to the
    clip that holds most of it, and is cut to that clip."""
    held = [min(end, at + b - a) - max(start, at) for a, b, at in pieces]
    if max(held) > 0:
        k = int(np.argmax(held))
    else:  # no time (a word of no length, or in the silence): the clip laid last before its start
        k = max(bisect.bisect_right([at for *_, at in pieces], start) - 1, 0)
    clip_start, clip_end, at = pieces[k]
    length = clip_end - clip_start
    return clip_start + min(max(start - at, 0.0), length), clip_start + min(max(end - at, 0.0), length)


@dataclass(frozen=True)
class Matching:
    """How a text's words match the recognised speech."""

    anchors: dict[int, tuple[float, float]]  # text word -> (start, end) of the recognised word it matched
    unspoken: set[int]  # text words not spoken: a run of them the recognition lacks, with no time for it
    sizes: tuple[int, ...]  # letters of each text word, normalised
    heard: dict[int, tuple[float, float]]  # text word -> (start, end) of the recognised word paired with it
    rate: float  # the text's speaking rate, letters per second (``_letters_per_second``)


def match_words(texts: Sequence[str], heard: Sequence[Word], normalizer: Normalizer) -> Matching:
    """Match the text's words to the recognised words (``word_pairs``: an alignment of whole words
    scored by their letters, with affine gaps, so that text the speech lacks, or speech the text lacks,
    is one gap rather than a shifted alignment).

    A text word is an anchor when it equals the recognised word it is paired with, in a run of MIN_RUN
    such pairs consecutive in the text and in the speech. A run of at least UNSPOKEN_RUN text words
    paired with nothing is unspoken where the recognition has no time for it: between the anchors
    around it, its longest stretch without recognised words is UNSPOKEN_S shorter than the run needs at
    the text's speaking rate, and at most half as long. Otherwise the recognition missed speech (an
    off-mic voice) and the run is left to the forced alignment, as it is when only part of it can be
    unspoken: the run holds several sentences and the stretch is at least half what the shortest needs
    (which part, the text cannot tell; the forced alignment squeezes the rest, ``unspoken_sentences``).
    Words at the run's edges are first given to recognised words that no text word took next to it,
    when their letters match (a misrecognised word, not a missing one). Anchors, not the run's
    neighbours, bound the stretch: where a gap sits among unanchored words is a guess of the alignment.
    """
    text_norm = [_letters(normalizer(w)) for w in texts]
    heard_norm = [_letters(normalizer(w.text)) for w in heard]
    sizes = tuple(len(t) for t in text_norm)
    pairs = word_pairs(text_norm, heard_norm)
    anchors: dict[int, tuple[float, float]] = {}
    run: list[tuple[int, int]] = []
    for i, j in [*pairs, (None, None)]:
        if i is not None and j is not None and text_norm[i] == heard_norm[j]:
            run.append((i, j))
            continue
        if len(run) >= MIN_RUN:
            anchors.update({k: (heard[h].start, heard[h].end) for k, h in run})
        run = []
    rate = _letters_per_second(anchors, sizes)
    order = sorted(anchors)
    unpaired = [j for i, j in pairs if i is None and j is not None]  # speech no text word took
    unspoken: set[int] = set()
    for before, gap, after in _gaps(pairs):
        block = _trim_misheard(gap, before, after, text_norm, heard_norm)
        sentence = bool(block) and _ends_sentence(texts, block[0] - 1) and _ends_sentence(texts, block[-1])
        if len(block) < UNSPOKEN_RUN and not sentence:
            continue
        k = bisect.bisect(order, block[0])
        start = anchors[order[k - 1]][1] if k else 0.0
        end = anchors[order[k]][0] if k < len(order) else max((w.end for w in heard), default=0.0)
        edges = [start, *(t for w in heard if start < w.start < end for t in (w.start, w.end)), end]
        silence = max(b - a for a, b in zip(edges[::2], edges[1::2]))
        used = (before if block[:1] != gap[:1] else []) + (after if block[-1:] != gap[-1:] else [])
        untaken = sum(  # recognised speech no text word took (trimmed edges stand for their words)
            heard[j].end - heard[j].start for j in unpaired if start < heard[j].start < end and j not in used
        )
        needed = sum(sizes[w] for w in block) / rate
        short = len(block) < UNSPOKEN_RUN  # a whole sentence of a word or two: no room for it at all
        if needed - silence - untaken <= (needed / 2 if short else max(UNSPOKEN_S, needed / 2)):
            continue
        # Room for one of its sentences: which ones are spoken, the forced alignment tells
        # (``unspoken_sentences``); a line heard in another language beside an unspoken sentence kept its time.
        parts = _sentences(texts, block)
        letters = [sum(sizes[w] for w in part) for part in parts]
        if len(parts) == 1 or silence + untaken < min(n for n in letters if n) / rate / 2:
            unspoken.update(block)
    heard_at = {i: (heard[j].start, heard[j].end) for i, j in pairs if i is not None and j is not None}
    return Matching(anchors, unspoken, sizes, heard_at, rate)


def unspoken_sentences(
    texts: Sequence[str],
    times: Mapping[int, WordFit],
    matching: Matching,
    line_starts: Collection[int],
) -> set[int]:
    """The words of each sentence the forced alignment shows is not spoken, among those the recognition
    did not hear: less than half of its letters in words paired with recognised words (a sentence the
    recognition heard is spoken, even where an unspoken one took its time; a short word of an unspoken
    sentence may pair with a like word said nearby). A sentence ends at its mark or at the end of its
    line. It is not spoken where:

    - the DTW gave it less than half the time its letters need at the text's speaking rate (the bound
      ``match_words`` sets on a sentence's room): a word or two next to a pause, which the recognition
      cannot rule out since the pause has room for it, squeezed into a few frames at a neighbour's edge;
    - or Whisper finds its words unlikely in the audio where the DTW laid them: their log-probability,
      averaged over the words that have letters, is below UNLIKELY_LOGPROB. Measured: an unspoken
      sentence laid over speech the recognition did not anchor takes its time without being squeezed.
    """
    out: set[int] = set()
    for sentence in _sentences(texts, range(len(texts)), line_starts):
        timed = [times[w] for w in sentence if w in times]
        letters = sum(matching.sizes[w] for w in sentence)
        if not timed or 2 * sum(matching.sizes[w] for w in sentence if w in matching.heard) >= letters:
            continue
        needed = letters / matching.rate
        likely = [times[w].log_probability for w in sentence if w in times and matching.sizes[w]]
        if timed[-1].end - timed[0].start < needed / 2 or (likely and np.mean(likely) < UNLIKELY_LOGPROB):
            out.update(sentence)
    return out


def _sentences(
    texts: Sequence[str], words: Sequence[int], line_starts: Collection[int] = ()
) -> list[list[int]]:
    """Consecutive text ``words`` cut into sentences: after a word that ends one, and before a line start."""
    out: list[list[int]] = []
    for k, w in enumerate(words):
        if k == 0 or _ends_sentence(texts, words[k - 1]) or w in line_starts:
            out.append([])
        out[-1].append(w)
    return out


def _ends_sentence(texts: Sequence[str], i: int) -> bool:
    """Whether text word ``i`` ends a sentence (or ``i`` is before the first word)."""
    return i < 0 or ends_sentence(texts[i])


def _gaps(pairs: Sequence[tuple[int | None, int | None]]) -> list[tuple[list[int], list[int], list[int]]]:
    """Each run of text words paired with nothing, with the recognised words paired with no text word
    just before it and just after it: (heard before, text words, heard after)."""
    out = []
    k = 0
    while k < len(pairs):
        if pairs[k][0] is None or pairs[k][1] is not None:
            k += 1
            continue
        lo = k
        while lo > 0 and pairs[lo - 1][0] is None:
            lo -= 1
        hi = k
        while hi < len(pairs) and pairs[hi][0] is not None and pairs[hi][1] is None:
            hi += 1
        end = hi
        while end < len(pairs) and pairs[end][0] is None:
            end += 1
        before = [j for _, j in pairs[lo:k] if j is not None]
        after = [j for _, j in pairs[hi:end] if j is not None]
        out.append((before, [i for i, _ in pairs[k:hi] if i is not None], after))
        k = hi
    return out


def _trim_misheard(
    gap: list[int], before: list[int], after: list[int], text: Sequence[str], heard: Sequence[str]
) -> list[int]:
    """``gap`` without the words at its start that the unpaired recognised words ``before`` it stand
    for, and those at its end that ``after`` stands for: as many words as make the letters closest."""
    from rapidfuzz.distance import Indel

    if before:
        said = "".join(heard[j] for j in before)
        cut = min(range(len(gap) + 1), key=lambda n: Indel.distance("".join(text[w] for w in gap[:n]), said))
        gap = gap[cut:]
    if after:
        said = "".join(heard[j] for j in after)
        cut = min(
            range(len(gap) + 1),
            key=lambda n: Indel.distance("".join(text[w] for w in gap[len(gap) - n :]), said),
        )
        gap = gap[: len(gap) - cut]
    return gap


def untexted(heard: Sequence[Word], words: Sequence[Word]) -> list[list[Word]]:
    """Speech the text lacks (a line cut from a script): runs of UNSPOKEN_RUN recognised words or more,
    the middle of none inside an aligned word of the text."""
    inside = _within(sorted((w.start, w.end) for w in words if w.aligned))
    runs: list[list[Word]] = [[]]
    for w in heard:
        if inside((w.start + w.end) / 2):
            runs.append([])
        else:
            runs[-1].append(w)
    return [run for run in runs if len(run) >= UNSPOKEN_RUN]


def _within(spans: Sequence[tuple[float, float]]) -> Callable[[float], bool]:
    """Whether a time lies inside one of ``spans`` (sorted by start; they may overlap)."""
    starts = np.array([a for a, _ in spans])
    reach = np.maximum.accumulate(np.array([b for _, b in spans])) if spans else np.array([])

    def inside(t: float) -> bool:
        k = int(np.searchsorted(starts, t, side="right")) - 1
        return k >= 0 and bool(reach[k] > t)

    return inside


def _not_heard(
    texts: Sequence[str], heard: Sequence[Word], anchors: Sequence[int], language: str, forced: str | None
) -> str:
    """Why a text is refused, as the user can act on it: the speech a part of a longer text (most of
    what was heard is in it), a language given that may be wrong, or another recording's text."""
    found = f"{len(anchors)} of {len(texts)} words found in it"
    if anchors and len(anchors) >= MIN_ANCHORED * len(heard):
        return (f"the speech is only a part of the text: {found}, {len(anchors)} of the {len(heard)} heard, "
                f"its words {anchors[0] + 1} to {anchors[-1] + 1}: give this recording's part")  # fmt: skip
    if forced:
        return f"the text does not match the speech: {found} in language {forced}; is that its language?"
    return f"the text does not match the speech: {found} (language {language}); is it this recording's text?"


def _is_heard(
    texts: Sequence[str], heard: Sequence[Word], anchors: Collection[int], normalizer: Normalizer
) -> bool:
    """Whether the text is this speech's: MIN_ANCHORED of its words are anchors. Under MIN_RUN / MIN_ANCHORED
    words, that share asks for a run of MIN_RUN exact words (one word can never pass): such a text passes
    when its letters, as a whole, are more like the recognition's than not (PAIR_SIMILARITY, as a pair's)."""
    if len(anchors) >= MIN_ANCHORED * len(texts):
        return True
    if len(texts) >= MIN_RUN / MIN_ANCHORED:
        return False
    from rapidfuzz.distance import Indel

    text = _unaccented("".join(_letters(normalizer(w)) for w in texts))
    said = _unaccented("".join(_letters(normalizer(w.text)) for w in heard))
    return bool(Indel.normalized_similarity(text, said) > PAIR_SIMILARITY)


def word_pairs(text: Sequence[str], heard: Sequence[str]) -> list[tuple[int | None, int | None]]:
    """Global alignment of two word sequences (normalised letters; empty words are left out): pairs
    (text index, heard index), None on the side of a gap.

    A pair scores its letters times (similarity - PAIR_SIMILARITY) (rapidfuzz's Indel similarity, on
    letters without their accents: a misrecognised word still pairs by its letters); a gap costs
    GAP_OPEN once and GAP_LETTER per letter. Long stretches that do not match (a sentence not spoken,
    an advert) thus become one gap, where an edit distance on characters pairs their letters with
    anything nearby. Needleman-Wunsch with affine gaps (Gotoh), one numpy row at a time in a band
    around the diagonal (BAND words, and the length difference), so memory grows with the text's
    length, not its square.
    """
    from rapidfuzz.distance import Indel
    from rapidfuzz.process import cdist

    t_at = [i for i, w in enumerate(text) if w]
    h_at = [j for j, w in enumerate(heard) if w]
    ts, hs = [_unaccented(text[i]) for i in t_at], [_unaccented(heard[j]) for j in h_at]
    n, m = len(ts), len(hs)
    if not n or not m:
        return [(i, None) for i in t_at] + [(None, j) for j in h_at]
    t_len = np.array([len(w) for w in ts], float)
    h_len = np.array([len(w) for w in hs], float)
    half = BAND + abs(n - m)
    width = min(m + 1, 2 * half + 1)
    lo = [min(max(0, round(i * m / n) - half), m + 1 - width) for i in range(n + 1)]
    h_cost = np.concatenate([[0.0], np.cumsum(GAP_LETTER * h_len)])  # inserting heard words 1..j
    # states per cell: 0 pair, 1 text word unpaired, 2 heard word unpaired; pointers to the previous state
    back = np.zeros((3, n + 1, width), np.int8)
    cols = np.arange(width)
    rows = (
        np.where(cols == 0, 0.0, -np.inf),
        np.full(width, -np.inf),
        np.where(cols > 0, -GAP_OPEN - h_cost[cols], -np.inf),
    )
    back[2, 0] = np.where(cols == 1, 0, 2)
    for i in range(1, n + 1):
        shift = lo[i] - lo[i - 1]
        at = lo[i] + cols  # heard words 1..m, in this row's band
        up = [_shifted(r, shift) for r in rows]  # (i-1, j)
        diagonal = [_shifted(r, shift - 1) for r in rows]  # (i-1, j-1)
        h = np.clip(at - 1, 0, m - 1)
        distance = cdist([ts[i - 1]], [hs[k] for k in h], scorer=Indel.distance)[0]
        letters = t_len[i - 1] + h_len[h]
        pair_score = letters * (1.0 - distance / letters - PAIR_SIMILARITY)
        came = np.stack(diagonal)
        back[0, i] = came.argmax(0)
        paired = np.where(at >= 1, came.max(0) + pair_score, -np.inf)
        came = np.stack([up[0] - GAP_OPEN, up[1], up[2] - GAP_OPEN])
        back[1, i] = came.argmax(0)
        dropped = came.max(0) - GAP_LETTER * t_len[i - 1]
        best = np.maximum(paired, dropped)  # inserted heard j: from the best of row i at some k < j
        opened = np.maximum.accumulate(best - GAP_OPEN + h_cost[at])
        inserted = np.full(width, -np.inf)
        inserted[1:] = opened[:-1] - h_cost[at[1:]]
        inserted[at < 1] = -np.inf
        opens = np.zeros(width, bool)
        opens[1:] = best[:-1] - GAP_OPEN >= inserted[:-1]
        back[2, i] = np.where(opens, np.concatenate([[0], np.where(paired >= dropped, 0, 1)[:-1]]), 2)
        rows = (paired, dropped, inserted)
    i, j = n, m
    state = int(np.argmax([r[m - lo[n]] for r in rows]))
    out: list[tuple[int | None, int | None]] = []
    while i > 0 or j > 0:
        previous = int(back[state, i, j - lo[i]])
        if state == 0:
            out.append((t_at[i - 1], h_at[j - 1]))
            i, j = i - 1, j - 1
        elif state == 1:
            out.append((t_at[i - 1], None))
            i -= 1
        else:
            out.append((None, h_at[j - 1]))
            j -= 1
        state = previous
    return out[::-1]


def _shifted(row: np.ndarray, shift: int) -> np.ndarray:
    """``row`` read from ``shift`` cells on (``out[k] = row[k + shift]``), -inf where it has no cell."""
    out = np.full(len(row), -np.inf)
    lo, hi = max(0, -shift), min(len(row), len(row) - shift)
    if lo < hi:
        out[lo:hi] = row[lo + shift : hi + shift]
    return out


def _letters(text: str) -> str:
    return "".join(text.split())


def _unaccented(word: str) -> str:
    """``word`` without combining marks: "âge" and "age" are the same letters to a pair's score."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


def windows(matching: Matching, count: int, duration: float, lines: Sequence[int] = ()) -> list[_Span]:
    """Cut the text (``count`` words) into forced-alignment windows of at most MAX_WINDOW seconds.

    A window ends at an anchor; its audio runs from the previous window's end to PAD after its last
    anchor. Unspoken words (``matching.unspoken``) are left out of the windows. Words in a gap whose audio is far longer than they need (speech the text
    lacks, e.g. an advert) get a window of their own at either end of the gap, the better-fitting one
    kept, for each line of the text apart (``lines``: each word's line); no window spans such a gap.
    """
    anchors, sizes = matching.anchors, matching.sizes
    rate = matching.rate
    spans: list[_Span] = []
    unspoken = matching.unspoken
    first, start, last_end = 0, 0.0, 0.0
    previous: int | None = None

    def close(end: float) -> None:
        words = (
            tuple(w for w in range(first, previous + 1) if w not in unspoken) if previous is not None else ()
        )
        if words:
            spans.append(_Span(words, ((start, end),)))

    for i in [*sorted(anchors), None]:
        gap = list(range(previous + 1 if previous is not None else 0, i if i is not None else count))
        onset = anchors[i][0] if i is not None else duration
        gap = [w for w in gap if w not in unspoken]
        needed = sum(sizes[w] for w in gap) / rate
        if onset - last_end > 2 * needed + LONG_GAP_S and (previous is not None or gap):
            close(min(last_end + PAD, onset))
            for part in _by_line(gap, lines):  # a turn's end and the next one's start may lie either side
                length = min(MAX_WINDOW, 1.2 * sum(sizes[w] for w in part) / rate + 0.5, onset - last_end)
                ranges = ((last_end, last_end + length), (onset - length, onset))
                spans.append(_Span(part, ranges if i is not None else ranges[:1]))
            first, start = (i, max(onset - PAD, last_end)) if i is not None else (count, duration)
        elif (
            i is not None
            and anchors[i][1] - start > MAX_WINDOW
            and previous is not None
            and first <= previous
        ):
            end = min(last_end + PAD, onset)
            close(end)
            first, start = previous + 1, end
        if i is None:
            break
        if anchors[i][1] - start > MAX_WINDOW:  # words without anchors over more than a window
            spans.extend(_chunks(tuple(w for w in range(first, i) if w not in unspoken), sizes, start, onset))
            first, start = i, max(onset - PAD, start)
        previous, last_end = i, anchors[i][1]
    if first < count:  # the last window, with any words after the last anchor
        tail = count - 1 > max(anchors, default=-1)
        previous = count - 1
        close(min(duration, start + MAX_WINDOW) if tail else min(last_end + PAD, duration))
    return spans


def reused_windows(
    matching: Matching, encoded: Sequence[Encoded], count: int
) -> list[tuple[int, tuple[int, ...]]]:
    """Recognition windows (``encoded``) with the text words spoken in them: (index in ``encoded``, text
    words in order), in time order; ``Aligner`` aligns those words on the window's own encoder output
    instead of encoding their audio again.

    A text word lies in the window that holds the recognised word paired with it (``matching.heard``),
    but in a clip that touches another speaker's (a diarized window's clip cut at a speaker change,
    where the text's turn edge may lie across the cut); a word paired with none, in its neighbours'
    window when both lie there in one clip or two consecutive ones. The others lie in none: a
    forced-alignment window encoded anew takes them. A window whose audio between two of its words (or
    at its edges) is far longer than the words need is not reused: the rule of ``windows`` for speech
    the text lacks (an advert would otherwise go to the words around).
    """
    # clips overlap only where a voice starts over another (``turn_clips``), and those two are cut below
    places = sorted((a, b, k) for k, e in enumerate(encoded) for a, b, _ in e.pieces)
    starts = [a for a, _, _ in places]
    # Clips that touch a clip of another speaker were cut at the diarizer's speaker change: reused, the dev
    # conversations' worst boundaries went 0.222 -> 0.569 s (an overlap lost 0.35 s either side).
    cut: set[int] = set()
    for g, h in pairwise(range(len(places))):
        if places[g][1] >= places[h][0] and encoded[places[g][2]].speaker != encoded[places[h][2]].speaker:
            cut.update((g, h))

    def place(t: float) -> int | None:
        g = bisect.bisect_right(starts, t) - 1
        return g if g >= 0 and t <= places[g][1] else None

    spoken = [i for i in range(count) if i not in matching.unspoken]
    placed: dict[int, int] = {}  # paired words -> the clip (index in places) holding them, if reusable
    for i in spoken:
        clip = place(sum(matching.heard[i]) / 2) if i in matching.heard else None
        if clip is not None and clip not in cut:
            placed[i] = clip
    known = [n for n, i in enumerate(spoken) if i in placed]
    window = {i: places[g][2] for i, g in placed.items()}
    for before, after in pairwise(known):
        a, b = placed[spoken[before]], placed[spoken[after]]
        if places[a][2] == places[b][2] and b - a <= 1:
            window.update((i, places[a][2]) for i in spoken[before + 1 : after])
    by_window: dict[int, list[int]] = {}
    for i in spoken:  # in text order
        if i in window:
            by_window.setdefault(window[i], []).append(i)
    out = []
    for k, words in by_window.items():
        pieces = encoded[k].pieces
        first, last = pieces[0][0], pieces[-1][1]
        heard = [(i, *matching.heard[i]) for i in words if i in matching.heard]
        points = [(-1, first, first), *heard, (count, last, last)]
        if all(
            _held(pieces, lo_end, hi_start)
            <= 2 * sum(matching.sizes[i] for i in words if lo < i < hi) / matching.rate + LONG_GAP_S
            for (lo, _, lo_end), (hi, hi_start, _) in pairwise(points)
        ):
            out.append((k, tuple(words)))
    return sorted(out, key=lambda kw: encoded[kw[0]].pieces[0][0])


def _held(pieces: Pieces, start: float, end: float) -> float:
    """Seconds of the timeline from ``start`` to ``end`` that ``pieces`` (a window's clips) hold."""
    return sum(max(0.0, min(end, b) - max(start, a)) for a, b, _ in pieces)


def _by_line(words: list[int], lines: Sequence[int]) -> list[tuple[int, ...]]:
    """``words`` in runs from one line of the text each (one run when lines are not given)."""
    runs: list[list[int]] = []
    for w in words:
        if runs and (not lines or lines[w] == lines[runs[-1][-1]]):
            runs[-1].append(w)
        else:
            runs.append([w])
    return [tuple(r) for r in runs]


def _chunks(words: tuple[int, ...], sizes: Sequence[int], start: float, end: float) -> list[_Span]:
    """Windows for ``words`` spread over ``start..end`` (longer than a window, no anchor inside): cut
    into pieces of at most CHUNK_S by their letters, each aligned where interpolation puts it, give or
    take CHUNK_MARGIN."""
    if not words:
        return []
    pieces = math.ceil((end - start) / CHUNK_S)
    weights = np.cumsum([0] + [sizes[w] + 1 for w in words]) / (sum(sizes[w] + 1 for w in words))
    spans = []
    for k in range(pieces):
        chosen = tuple(w for w, at in zip(words, weights) if k / pieces <= at < (k + 1) / pieces)
        if chosen:
            a = start + (end - start) * k / pieces
            b = start + (end - start) * (k + 1) / pieces
            spans.append(_Span(chosen, ((max(start, a - CHUNK_MARGIN), min(end, b + CHUNK_MARGIN)),)))
    return spans


def _letters_per_second(anchors: dict[int, tuple[float, float]], sizes: Sequence[int]) -> float:
    """The text's speaking rate: the median over consecutive anchors of letters per second from one
    anchor's start to the next's (a pause or an advert between two anchors is one outlier, not a bias)."""
    order = sorted(anchors)
    rates = []
    for i, k in pairwise(order):
        seconds = anchors[k][0] - anchors[i][0]
        if seconds > 0:
            rates.append(sum(sizes[i:k]) / seconds)
    return float(np.median(rates)) if rates else SPEAKING_RATE


def timed_words(
    texts: Sequence[str], times: dict[int, WordFit], unspoken: set[int], duration: float
) -> list[Word]:
    """The text's words with their aligned times; the others (mismatched, or left without a time)
    interpolated between their neighbours by length in characters, flagged ``aligned=False``."""
    words: list[Word | None] = [None] * len(texts)
    last = 0.0
    for i, text in enumerate(texts):
        if i in times and i not in unspoken:
            fit = times[i]
            start = max(fit.start, last)
            words[i] = Word(text, start, max(fit.end, start), probability=fit.probability)
            last = max(fit.end, start)
    i = 0
    while i < len(texts):
        if words[i] is not None:
            i += 1
            continue
        j = i
        while j < len(texts) and words[j] is None:
            j += 1
        before = words[i - 1].end if i > 0 and words[i - 1] is not None else 0.0  # type: ignore[union-attr]
        after = words[j].start if j < len(texts) and words[j] is not None else duration  # type: ignore[union-attr]
        sizes = np.cumsum([0] + [len(t) + 1 for t in texts[i:j]])
        step = (max(after, before) - before) / sizes[-1]
        for k in range(i, j):
            a, b = before + step * sizes[k - i], before + step * sizes[k - i + 1]
            words[k] = Word(texts[k], a, b, probability=0.0, aligned=False)
        i = j
    return [w for w in words if w is not None]


def speech_regions(samples: np.ndarray) -> list[tuple[float, float]]:
    """Where speech is, without padding and cut at pauses of ``VAD_PAUSE_MS``: where word edges snap."""
    return vad_regions(samples, min_silence_duration_ms=VAD_PAUSE_MS, speech_pad_ms=0)


def spread_overlaps(
    words: Sequence[Word], overlaps: Sequence[tuple[float, float]], changes: Collection[int]
) -> list[Word]:
    """Where a line starts while the previous speaker still speaks, both lines keep the overlap.

    ``changes``: indices of the words that start a line of another speaker than the line before;
    ``overlaps``: where two voices speak at once. The forced alignment gives each word the time after
    the previous one, so in overlapped speech one of the two lines lost it all (measured on recorded
    conversations: turn ends early, or starts late, by the overlap, up to 0.7 s). Where a speaker change
    lies in an overlap (the previous line ends, and the new one starts, within OVERLAP_REACH of it),
    the new line starts where the overlap starts and the previous line ends where it ends (their aligned
    words: words not found in the speech have no time of their own to give).
    """
    out = list(words)
    said = [k for k, w in enumerate(out) if w.aligned and not is_punctuation(w.text.strip())]  # marks join
    for i in changes:
        at = bisect.bisect_left(said, i)
        if at == 0 or at == len(said):
            continue
        last, first = said[at - 1], said[at]
        for start, end in overlaps:
            if start - OVERLAP_REACH <= out[last].end and out[first].start <= end + OVERLAP_REACH:
                out[first] = replace(out[first], start=min(out[first].start, start))
                out[last] = replace(out[last], end=max(out[last].end, end))
                break
    return out


def snap_to_speech(
    words: Sequence[Word],
    regions: Sequence[tuple[float, float]],
    line_starts: Collection[int] = (),
    heard: Mapping[int, tuple[float, float]] | None = None,
) -> list[Word]:
    """Aligned words whose start or end falls in a pause moved to the speech's edge inside the word;
    the first aligned word of a line (``line_starts``: the lines' first words) starts at the last speech
    onset inside it, and the last aligned word of a line before another ends at the first speech offset
    inside it; where the recognition heard the word (``heard``: word index -> its anchor's start and
    end), at the onset or offset nearest to that. A line's first word without an onset inside, lying in
    a pause or in the previous line's speech, starts at the next onset when the line's next word has not
    ended by then nor started before it in speech (it would come after that word: conversation6's
    "Comedian" was moved 1.1 s late so); else, from a pause, where the recognition heard it start.

    Whisper's DTW gives each word the time up to the next one, so a word before a pause (the last of a
    turn) ends where the next begins, and the first word of a turn may take the pause before it and
    the end of the turn before (measured on recorded prompts: turn starts up to 1.6 s early); the
    VAD's edges are the speech's own. A word with pauses of its own ("H.323", a web address) holds
    several edges: the recognition's own time for it tells which one is the turn's.
    """
    if not regions:
        return list(words)
    heard = heard or {}
    starts = np.array([r[0] for r in regions])
    ends = np.array([r[1] for r in regions])
    lines = _line_spans(len(words), line_starts)
    in_speech = _within(regions)
    firsts = {next((k for k in range(a, b) if words[k].aligned), a) for a, b in lines}
    lasts = {next((k for k in reversed(range(a, b)) if words[k].aligned), b - 1) for a, b in lines[:-1]}
    out: list[Word] = []
    for i, w in enumerate(words):
        start, end = w.start, w.end
        k = int(np.searchsorted(starts, start, side="right")) - 1  # region starting at or before start
        paused = k < 0 or ends[k] <= start
        if paused and k + 1 < len(starts) and starts[k + 1] < end:
            start = float(starts[k + 1])  # start in a pause: the next speech onset within the word
        if i in firsts:  # a turn starts after any pause inside its first word
            inside = starts[(starts >= start) & (starts < end)]
            later = starts[starts >= end]
            tail = not paused and i > 0 and out[i - 1].end > starts[k]  # in the previous line's speech
            if len(inside):  # the last onset, or the one nearest where the recognition heard the word
                start = float(inside[np.abs(inside - heard[i][0]).argmin()] if i in heard else inside[-1])
            elif (paused or tail) and len(later) and i + 1 < len(words) and i + 1 not in line_starts and (
                later[0] < words[i + 1].end
                and (words[i + 1].start >= later[0] or not in_speech(words[i + 1].start))
            ):  # no onset inside: the next one, where the next word starts after it (it stays in speech)
                start, end = float(later[0]), max(end, float(later[0]))
            elif paused and i in heard:
                start = max(start, min(heard[i][0], end))
        k = int(np.searchsorted(starts, end, side="left")) - 1  # region starting before end
        if k >= 0 and ends[k] < end and ends[k] > start:
            end = float(ends[k])  # end in a pause: the last speech offset within the word
        if i in lasts:  # a turn ends before any pause inside its last word
            inside = ends[(ends > start) & (ends <= end)]
            if len(inside):  # the first offset, or the one nearest where the recognition heard it end
                end = float(inside[np.abs(inside - heard[i][1]).argmin()] if i in heard else inside[0])
        out.append(replace(w, start=start, end=end) if w.aligned else w)
    return _shared(out, line_starts)


def _shared(words: list[Word], line_starts: Collection[int]) -> list[Word]:
    """``words`` where an aligned word left without length, the next word of its line starting where it
    does (both moved to one speech onset, or so given by the alignment), takes its share of the two
    words' time by their letters: a word of no length is never shown, read out or highlighted."""
    for i in range(len(words) - 1):
        a, b = words[i], words[i + 1]
        lost = a.end <= a.start and b.start <= a.start < b.end
        if lost and a.aligned and b.aligned and i + 1 not in line_starts:
            cut = a.start + (b.end - a.start) * len(a.text) / (len(a.text) + len(b.text))
            words[i], words[i + 1] = replace(a, end=cut), replace(b, start=cut)
    return words


def line_segment(words: Sequence[Word]) -> Segment:
    """A line's segment, spanning the line's aligned words where it has any.

    Words not found in the speech at a line's start or end keep times interpolated over the pause
    between two lines (their cue is shown there); as the segment's bounds they moved the turn's start or
    end into that pause (measured on recorded prompts, a sentence not spoken at a line's edge: that
    boundary off by 0.25-0.55 s in the median).
    """
    segment = Segment.from_words(words, words[0].speaker)
    said = [w for w in words if w.aligned]
    return replace(segment, start=said[0].start, end=max(w.end for w in said)) if said else segment


def _line_spans(count: int, line_starts: Collection[int]) -> list[tuple[int, int]]:
    """(first, end) word indices of each line of ``count`` words that start at ``line_starts``."""
    return list(pairwise(sorted({0, *(k for k in line_starts if 0 < k < count), count}))) if count else []
