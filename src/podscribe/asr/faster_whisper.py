"""faster-whisper (CTranslate2) engine: int8 on CPU, float16 on CUDA, batched over speaker clips or VAD chunks.

With ``batch_size > 1`` and VAD on, ``BatchedInferencePipeline`` decodes VAD chunks of up to 30 s in
parallel (no temperature fallback, cross-window prompt or hallucination-silence check there; the shared
guardrails catch silence and loops); otherwise ``WhisperModel.transcribe`` decodes 30-s windows in
sequence. Given ``clips`` (e.g. speaker turns) are decoded each on their own instead of VAD chunks,
batched longest first, each batch with a token budget for its longest clip (``token_budget``): a
batch runs until its last clip ends, and a repetition loop otherwise runs to Whisper's 224-token limit.
On CPU, ``workers`` > 1 decodes that many clip batches at once, one thread each: one decoder step of a
small model is many small operations that two threads share badly, and a batch's last long clip no
longer idles a core (measured: BENCHMARKS.md, "Tuning notes").
Word timestamps are always on: the rest of podscribe works on words.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict
from typing import Any, TypeVar

import numpy as np

from ..audio import SAMPLE_RATE
from ..devices import LongestFirst, balanced_runs, device_index, resolve_device
from ..devices import cpu_threads as thread_count
from ..errors import ModelError, OptionError
from ..transcript import sentences
from . import SURE_LANGUAGE, ASROptions, ASRResult, Clips, EncoderTap, ProgressCallback, Ranking
from .common import SilenceThresholds, build_segments, first_line, is_silence

logger = logging.getLogger(__name__)
T = TypeVar("T")

COMPUTE_TYPES = {"cpu": "int8", "cuda": "float16"}
WINDOW_TOKENS = 224  # Whisper's own limit on the tokens decoded for one 30-s window
MAX_LENGTH = 448  # Whisper's decoder context: faster-whisper's max_length, prompt and max_new_tokens together
SOT_TOKENS = 3  # a decoder prompt's start, language and task tokens
TOKENS_PER_S = 10.0  # a clip's token budget: this many per second of it...
TOKENS_BASE = 16  # ...plus this many (timestamp and end tokens weigh more in a short clip)
FRAMES_PER_S = 100  # Whisper's mel frames per second (faster-whisper's ``frames_per_second``)
CPU_BATCH = 2  # clips in one batch on CPU: a window's encoder pass costs more in a bigger batch there
WINDOW_FRAMES = 3000  # Whisper's 30-s window in mel frames, which faster-whisper pads every clip to
# Seconds of that padding a trimmed batch keeps after its longest clip (``ASROptions.trim``). Chosen on the dev
# recordings among 1, 3, 6 and 10 s: the fewest word errors (BENCHMARKS.md, "Speaker windows encoded to their
# length").
TRIM_MARGIN = 6


def token_budget(seconds: float, prompt: int = SOT_TOKENS) -> int | None:
    """faster-whisper's ``max_new_tokens`` for a clip of ``seconds`` after a decoder prompt of ``prompt``
    tokens: room for TOKENS_BASE + TOKENS_PER_S tokens a second; None where Whisper's own limit is the
    lower one, or where the prompt leaves no room for it.

    A repetition loop runs on to 224 tokens whatever the clip's length; speech stays well under this
    budget (measured: BENCHMARKS.md, "Tuning notes"). CTranslate2 decodes at most half of a call's
    ``max_length`` (faster-whisper's prompt + ``max_new_tokens``; max_length 40, 60, 69 gave 20, 30,
    34 tokens), so the value is twice the budget: given the budget itself, a 5-s clip lost its
    second sentence.
    """
    budget = math.ceil(TOKENS_BASE + TOKENS_PER_S * seconds)
    return 2 * budget if budget < WINDOW_TOKENS and prompt + 2 * budget <= MAX_LENGTH else None


def prompt_tokens(model: Any, initial_prompt: str | None) -> int:
    """Tokens of the decoder prompt faster-whisper's batched pipeline builds: the start, language and task
    tokens, after the previous-text token and the initial prompt (its last 223 tokens) when there is one."""
    if not initial_prompt:
        return SOT_TOKENS
    given = len(model.hf_tokenizer.encode(initial_prompt, add_special_tokens=False).ids)
    return SOT_TOKENS + 1 + min(MAX_LENGTH // 2 - 1, given)


# a language head being decoded: its segments (as dicts) and Whisper's ranking of languages on it
_Read = Future[tuple[list[dict[str, Any]], Ranking]]


def balanced_batches(
    ordered: Sequence[T], size: int, workers: int, weight: Callable[[T], float]
) -> list[list[T]]:
    """``ordered`` (heaviest first) in ``balanced_runs``, the heaviest run first: workers that take the
    runs as they come then finish close together (longest processing time first). Before, the longer
    runs came first and held the longest clips: on a monologue the first three windows held one worker
    2 s past the other's end."""
    return sorted(balanced_runs(ordered, size, workers), key=lambda run: sum(map(weight, run)), reverse=True)


def exact_word_times(pieces: Iterable[Any], clips: Sequence[tuple[float, float]]) -> list[dict[str, Any]]:
    """Segments (as dicts) of one batched call over ``clips``, their words timed from each clip's exact start.

    faster-whisper's batched pipeline times a clip's words from its start frame, ``seek = int(offset *
    100)``: up to 10 ms early, by an amount that depends on where the clip lies in the audio given (its
    segments' own times use the exact offset). In podscribe's packed audio that place depends on which
    windows share an engine call, so the same window's word times moved when calls were grouped otherwise
    (short.fr: a word end 24.717 or 24.721 s, and the stretch decoded again from it read differently).
    """
    offsets = {int(start * SAMPLE_RATE) / SAMPLE_RATE for start, _ in clips}  # faster-whisper's clip offsets
    frames = {int(offset * FRAMES_PER_S): offset for offset in offsets}
    out = []
    for piece in pieces:  # decoding happens while iterating
        seg = asdict(piece)
        shift = frames[seg["seek"]] - seg["seek"] / FRAMES_PER_S
        for word in seg["words"] or ():
            word["start"] += shift
            word["end"] += shift
        out.append(seg)
    return out


def check_compute_type(device: str, compute_type: str | None) -> None:
    """OptionError where ``device`` cannot run ``compute_type`` (float16 on a CPU), said before any audio
    is decoded: the engine's loading said it after decoding and diarization; in ``batch``, workers died."""
    if compute_type in (None, "default", "auto"):
        return
    import ctranslate2

    kind, _ = device_index(resolve_device(device, "ctranslate2"))
    supported = sorted(ctranslate2.get_supported_compute_types(kind))
    if compute_type not in supported:
        raise OptionError(f"compute type {compute_type} does not run on this {kind.upper()} (choose from: "
                          f"{', '.join(supported)})", option="compute_type")  # fmt: skip


class FasterWhisperEngine:
    """A Whisper model loaded in CTranslate2 through faster-whisper."""

    name = "faster-whisper"

    def __init__(
        self,
        model: str,
        device: str = "auto",
        compute_type: str | None = None,
        cpu_threads: int | None = None,
        workers: int = 1,
    ) -> None:
        """``workers``: clip batches decoded at once on CPU, sharing the ``cpu_threads`` (one each when
        they are as many); VAD-chunked and sequential decoding use one worker, so keep 1 for those."""
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        from ..weights import cpu_int8, resolve_ct2

        self.model_name = model
        self.device = resolve_device(device, "ctranslate2")
        kind, index = device_index(self.device)  # CTranslate2 takes "cuda:N" as device "cuda", index N
        self.compute_type = compute_type or COMPUTE_TYPES[kind]
        path = resolve_ct2(model)
        if kind == "cpu" and self.compute_type in ("int8", "int8_float32"):
            path = cpu_int8(path)  # stored quantized: loads without quantizing again
        if workers < 1:
            raise OptionError(f"workers must be at least 1, not {workers}")
        threads = thread_count(cpu_threads)
        self.on_cpu = kind == "cpu"
        self.workers = min(workers, threads) if self.on_cpu else 1
        try:
            self.model = WhisperModel(
                str(path),
                device=kind,
                device_index=index,
                compute_type=self.compute_type,
                cpu_threads=threads // self.workers,  # workers <= threads on CPU, 1 on CUDA
                num_workers=self.workers,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as e:
            raise ModelError(f"faster-whisper cannot load it: {first_line(e)}", path) from e
        self._batched = BatchedInferencePipeline
        # On CPU, one batch per worker at once across all calls, the longest first (``LongestFirst``).
        self._gate = LongestFirst(self.workers) if self.on_cpu else None
        logger.info("loaded %s (%s) on %s as %s", model, path, self.device, self.compute_type)

    def transcribe(
        self,
        audio: np.ndarray,
        options: ASROptions,
        progress: ProgressCallback | None = None,
        clips: Clips | None = None,
        tap: EncoderTap | None = None,
    ) -> ASRResult:
        """Recognise 16 kHz mono float32 ``audio``: segments of words with times in seconds; ``tap`` gets
        the encoder outputs of batched ``clips`` on CPU (elsewhere they stay on the device)."""
        duration = len(audio) / SAMPLE_RATE
        common = {
            "language": options.language,
            "beam_size": options.beam_size,
            "temperature": list(options.temperature),
            "compression_ratio_threshold": options.compression_ratio_threshold,
            "log_prob_threshold": options.log_prob_threshold,
            "no_speech_threshold": options.no_speech_threshold,
            "condition_on_previous_text": options.condition_on_previous_text,
            "initial_prompt": options.initial_prompt,
            "word_timestamps": True,
            # Given clips (e.g. speaker turns) are decoded exactly: no VAD merging across them.
            "vad_filter": options.vad and not clips,
        }
        ranking: Ranking = ()
        if options.batch_size > 1 and clips:
            tap = tap if self.on_cpu else None
            raw, language, ranking = self._batched_clips(
                audio, clips, options, common, progress, tap
            )
        else:
            if options.batch_size > 1 and options.vad:
                pieces, info = self._batch(audio, None, options.batch_size, common)
            else:
                if clips:
                    common["clip_timestamps"] = [t for clip in clips for t in clip]
                if options.batch_size > 1:
                    logger.info("batched decoding works on VAD chunks; without VAD, decoding sequentially")
                pieces, info = self.model.transcribe(
                    audio, hallucination_silence_threshold=options.hallucination_silence_threshold, **common
                )
            raw = []
            for seg in pieces:  # lazy: decoding happens while iterating
                raw.append(asdict(seg))
                if progress is not None:
                    progress(min(seg.end, duration))
            language = info.language
            if options.language is None:
                ranking = tuple((str(lang), float(p)) for lang, p in info.all_language_probs or ())
        if progress is not None:
            progress(duration)
        segments = build_segments(raw, duration, options, language)
        if not options.timestamps:  # one segment per clip: cut into sentences, as Whisper's segments were
            segments = tuple(s for seg in segments for s in sentences(seg))
        # Without words, a detected language is a guess from silence or padding: claim none.
        return ASRResult(language=options.language or (language if segments else ""), segments=segments,
                         ranking=ranking)  # fmt: skip

    def language_of(self, encoder_output: Any) -> str:
        """The most likely language of one window's encoder output (the first of a batch), for each window
        ``align`` encodes."""
        return self.languages_of(encoder_output)[0][0]

    def languages_of(self, encoder_output: Any) -> Ranking:
        """Whisper's languages for one window's encoder output (the first of a batch), most likely first, for
        ``align`` (a speaker's longest windows keep the ranking they were decoded with: ``_Recorder``)."""
        return _detected(self.model.model.detect_language(encoder_output)[0])

    def languages_in(self, output: np.ndarray, spans: Sequence[tuple[int, int]]) -> list[Ranking]:
        """Whisper's languages for each span (first, end) of encoder frames (50 a second) of one window's
        encoder output (frames, width), as a tap gives it: the decoder's language token read on those
        frames alone, cheap beside an encoder pass (5 s: 8 ms on one thread, the whole window 43 ms)."""
        from ctranslate2 import StorageView

        rankings = []
        for first, end in spans:
            held = np.ascontiguousarray(output[None, first:end], dtype=np.float32)  # shared with the view
            rankings.append(_ranking(self.model.model.detect_language(StorageView.from_array(held))[0]))
        return rankings

    def _batched_clips(
        self,
        audio: np.ndarray,
        clips: Clips,
        options: ASROptions,
        common: dict[str, Any],
        progress: ProgressCallback | None,
        tap: EncoderTap | None = None,
    ) -> tuple[list[dict[str, Any]], str, Ranking]:
        """Batched decoding of ``clips``, longest first, one call per batch -> segments in time order, the
        language they were decoded in (with ``options.window_language``, the language of the clips Whisper
        is not sure of: the others are decoded in their own, ``_SureDetector``), and the ranking it was
        detected with (empty when given); with timestamp tokens or without (``options.timestamps``).

        Clips of like length share a batch, so a batch of short clips gets a short token budget. One
        call per batch also bounds memory: faster-whisper copies the audio and features of a call's
        clips. ``batch_size`` clips are in flight at once, shared among the workers: small batches,
        longest first, keep both cores busy to the end (BENCHMARKS.md, "Tuning notes"); on CPU a batch holds
        at most CPU_BATCH clips (BENCHMARKS.md, "Batches of two windows on CPU"), one where they are trimmed
        (``options.trim``: each clip then encoded to its own length, so its words do not depend on which
        clips share its batch, and so not on the worker count either). When no
        language is forced, the longest clips are decoded first, one per worker, each in the language
        detected on its own encoder output (``_detecting_pipeline``: no encoder pass for detection
        alone); the longest one's language is forced on the rest, which starts as soon as that one is read.
        """
        ordered = sorted(clips, key=lambda c: c[1] - c[0], reverse=True)
        rest = ordered  # what the batches below decode
        settings = {**common, "without_timestamps": not options.timestamps}
        prompt = prompt_tokens(self.model, settings.get("initial_prompt"))

        def decode(batch: list[tuple[float, float]]) -> list[dict[str, Any]]:
            budget = token_budget(max(end - start for start, end in batch), prompt)
            # In time order: faster-whisper judges a window's first word by the speech before it in the batch.
            with self._slot(batch):
                pieces, _ = self._batch(
                    audio, sorted(batch), len(batch), {**settings, "max_new_tokens": budget}, own_languages,
                    tap, options.trim,
                )  # fmt: skip
                return exact_word_times(pieces, batch)  # decoding happens here, in this worker's thread

        def detect(clip: tuple[float, float]) -> tuple[list[dict[str, Any]], Ranking]:
            pipeline, found = self._detecting_pipeline(clip[1] - clip[0] if options.trim else None)
            _tapped(pipeline, audio, [clip], tap)
            budget = token_budget(clip[1] - clip[0], prompt)
            with self._slot([clip]):
                pieces, _ = pipeline.transcribe(
                    audio, batch_size=1, multilingual=True,
                    **{**settings, "language": "en", "max_new_tokens": budget,
                       "clip_timestamps": [{"start": clip[0], "end": clip[1]}]},
                )  # fmt: skip
                return exact_word_times(pieces, [clip]), found["ranking"]  # decoding happens here

        raw: list[dict[str, Any]] = []
        done = 0.0
        ranking: Ranking = ()
        size = max(1, options.batch_size // self.workers)
        if self.on_cpu:  # a trimmed window alone: encoded to its own length, its words depend on no other window
            size = min(size, 1 if options.trim else CPU_BATCH)
        with ThreadPoolExecutor(self.workers) as pool:
            others: list[tuple[tuple[float, float], _Read]] = []

            def kept(clip: tuple[float, float], head: _Read) -> bool:
                """Whether a head was read in the call's language: then its words are kept."""
                nonlocal done
                words, ranked = head.result()
                if ranked[0][0] != settings["language"]:
                    return False
                raw.extend(words)
                done += clip[1] - clip[0]
                return True

            if settings["language"] is None and ordered:
                # The longest clips, one per worker, each decoded in the language found on it: the longest
                # one's is the call's, and another's words are kept where it is the same (else it is decoded
                # again below). One clip alone left the other workers idle while it was decoded. Where each
                # batch holds one clip, the rest starts once the longest one is read, beside the other heads
                # (its words depend on no other clip); else a head read again shares the rest's batches.
                heads = [(clip, pool.submit(detect, clip)) for clip in ordered[: self.workers]]
                words, ranking = heads[0][1].result()
                settings["language"] = ranking[0][0]
                raw.extend(words)
                done += heads[0][0][1] - heads[0][0][0]
                others, rest = heads[1:], ordered[len(heads):]
                if size > 1:
                    rest = [clip for clip, head in others if not kept(clip, head)] + rest
                    others = []
            own_languages = options.window_language and settings["language"] is not None
            batches = balanced_batches(rest, size, self.workers, lambda clip: clip[1] - clip[0])
            decoding = [(batch, pool.submit(decode, batch)) for batch in batches]
            decoding += [([clip], pool.submit(decode, [clip])) for clip, head in others if not kept(clip, head)]
            for batch, future in decoding:
                raw.extend(future.result())
                done += sum(end - start for start, end in batch)
                if progress is not None:
                    progress(done)
        raw.sort(key=lambda seg: seg["start"])
        return raw, settings["language"], ranking

    def _slot(self, batch: Sequence[tuple[float, float]]) -> AbstractContextManager[None]:
        """A worker's turn for ``batch`` on CPU, weighed by its seconds (``LongestFirst``); none on a GPU,
        whose one worker's queue the calls share."""
        return self._gate.slot(sum(end - start for start, end in batch)) if self._gate else nullcontext()

    def _detecting_pipeline(self, longest: float | None) -> tuple[Any, dict[str, Any]]:
        """A batched pipeline whose windows are decoded in the language detected on their own encoder
        output (faster-whisper's ``multilingual``), and a dict that gets Whisper's ranking of the languages
        (a Ranking, ``_detected``) once decoded.

        Language detection alone costs an encoder pass of its own (a 5-voice conversation: 5 more encoder
        passes for 6 windows); the ranking is the one the pipeline detects with (``_Recorder``): detecting
        it again cost a decoder step on the window, 42 ms here. faster-whisper reads the words' times with
        the call's language token (a placeholder here): the wrapper sets the detected one before it does.
        Give it one window per call, ``longest`` seconds long where it is trimmed (``_pipeline``).
        """
        found: dict[str, Any] = {"ranking": (("en", 1.0),)}
        pipeline = self._pipeline(_Detecting(self.model, _Recorder(self.model.model, found)), longest)
        generate = pipeline.generate_segment_batched

        def detected_first(features: Any, tokenizer: Any, options: Any) -> Any:
            encoder_output, output = generate(features, tokenizer, options)
            tokenizer.language_code = found["ranking"][0][0]  # the one decoded
            tokenizer.language = tokenizer.tokenizer.token_to_id(f"<|{tokenizer.language_code}|>")
            return encoder_output, output

        pipeline.generate_segment_batched = detected_first
        return pipeline, found

    def _pipeline(self, model: Any, longest: float | None = None) -> Any:
        """faster-whisper's batched pipeline over ``model`` (one per call: it keeps per-call state); given
        the ``longest`` clip of its batches in seconds, it encodes their features only that far, rounded up,
        plus TRIM_MARGIN s, instead of the whole 30-s window.

        faster-whisper pads each clip's features to 30 s, and the encoder's cost grows with its input: a
        5-s window encoded in full cost as much as a 30-s one. CTranslate2's Whisper encodes any length
        (the first positions of its position table), and the decoder and the word times then attend to the
        shorter output. The frames kept hold the whole clip: the word times read up to the clip's length
        rounded up to a second (faster-whisper's ``segment_size``).

        Whisper's no-speech probability was learnt on whole 30-s windows. On the dev recordings a speaker window
        under 24 s encoded to its length got a higher one than whole on 10 of 17 windows (median 1.18 times, up
        to +0.12), so that a 1.9-s English turn ("Comedian Mail. Mailbox?", no-speech 0.71 trimmed, 0.47 whole)
        was dropped as silence (BENCHMARKS.md, "Speaker windows encoded to their length"). So a trimmed batch
        with a window where Whisper heard nothing (``_heard``) is generated again on the whole features, and
        only that second encoder output goes on (to the word times and to a tap).
        """
        pipeline = self._batched(model)
        frames = WINDOW_FRAMES if longest is None else (math.ceil(longest) + TRIM_MARGIN) * FRAMES_PER_S
        if frames >= WINDOW_FRAMES:  # faster-whisper's features are WINDOW_FRAMES long: nothing to trim
            return pipeline
        generate = pipeline.generate_segment_batched

        def trimmed(features: np.ndarray, tokenizer: Any, options: Any) -> Any:
            encoder_output, output = generate(np.ascontiguousarray(features[..., :frames]), tokenizer, options)
            if all(_heard(window, tokenizer, options) for window in output):
                return encoder_output, output
            logger.debug("a trimmed window heard as silence: generated again on the whole 30 s")
            return generate(features, tokenizer, options)

        pipeline.generate_segment_batched = trimmed
        return pipeline

    def _batch(
        self,
        audio: np.ndarray,
        clips: list[tuple[float, float]] | None,
        batch_size: int,
        common: dict[str, Any],
        own_languages: bool = False,
        tap: EncoderTap | None = None,
        trim: bool = False,
    ) -> tuple[Iterator[Any], Any]:
        """One batched call over ``clips``, or over VAD chunks when None; with ``own_languages``, each
        clip in the language found on its own encoder output where Whisper is sure of it, else in the
        call's (``_SureDetector``); ``tap`` gets the clips' encoder outputs; with ``trim``, the clips are
        encoded only as far as the longest of them (``_pipeline``)."""
        if clips is not None:
            common = {**common, "clip_timestamps": [{"start": s, "end": e} for s, e in clips]}
        model = self.model
        if own_languages:
            sure = _SureDetector(self.model.model, common["language"])
            model, common = _Detecting(self.model, sure), {**common, "multilingual": True}
        # VAD chunks (one call, several voices) with timestamp tokens: without them greedy decoding stops
        # early (BENCHMARKS.md, "Tuning notes"); clips as ``common`` says.
        longest = max(end - start for start, end in clips) if clips and trim else None
        pipeline = self._pipeline(model, longest)
        if clips is not None:
            _tapped(pipeline, audio, clips, tap)
        return pipeline.transcribe(audio, batch_size=batch_size, **{"without_timestamps": False, **common})


def _heard(output: Mapping[str, Any], tokenizer: Any, options: SilenceThresholds) -> bool:
    """Whether Whisper heard speech in one window's output of ``generate_segment_batched`` (``tokens``,
    ``no_speech_prob``, ``avg_logprob``): a text token, in an output it does not call silence (``is_silence``
    with faster-whisper's ``options``, which hold the call's thresholds)."""
    return any(token < tokenizer.eot for token in output["tokens"]) and not is_silence(output, options)


def _ranking(ranked: Iterable[tuple[str, float]]) -> Ranking:
    """CTranslate2's detected languages ``[("<|fr|>", p), ...]`` as a Ranking (codes, most likely first)."""
    return tuple((str(token[2:-2]), float(p)) for token, p in ranked)


def _detected(ranked: Iterable[tuple[str, float]]) -> Ranking:
    """``_ranking`` of one window's detected languages, logged."""
    ranking = _ranking(ranked)
    logger.info("detected language %s (p=%.2f)", *ranking[0])
    return ranking


def _tapped(pipeline: Any, audio: np.ndarray, clips: Clips, tap: EncoderTap | None) -> None:
    """``pipeline`` (a batched pipeline given ``clips`` of ``audio``, one forward pass for all of them)
    calling ``tap`` with their encoder outputs, copied to float16 numpy: half the memory (measured for
    ``align``: DTW token times on the rounded outputs equal those on float32 for 662 of 739 tokens of the
    interview's first two minutes, the others one or a few 20-ms frames apart)."""
    if tap is None:
        return
    generate = pipeline.generate_segment_batched

    def tapping(features: Any, tokenizer: Any, options: Any) -> Any:
        encoder_output, output = generate(features, tokenizer, options)
        tap(audio, clips, np.asarray(encoder_output).astype(np.float16))
        return encoder_output, output

    pipeline.generate_segment_batched = tapping


class _StandIn:
    """A stand-in for ``_model``: what it does not define is the model's own."""

    _model: Any

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


class _Detecting(_StandIn):
    """faster-whisper's ``WhisperModel`` as one batched call sees it, detecting the languages of its windows
    (``multilingual``) with ``detector``: a stand-in for its CTranslate2 model whose ``detect_language``
    differs."""

    def __init__(self, model: Any, detector: Any) -> None:
        self._model = model
        self.model = detector  # what the pipeline detects with


class _Recorder(_StandIn):
    """CTranslate2's Whisper whose ``detect_language`` also puts the first window's ranking in
    ``found["ranking"]`` (``_detected``)."""

    def __init__(self, model: Any, found: dict[str, Any]) -> None:
        self._model = model
        self._found = found

    def detect_language(self, encoder_output: Any) -> list[list[tuple[str, float]]]:
        ranked: list[list[tuple[str, float]]] = self._model.detect_language(encoder_output)
        self._found["ranking"] = _detected(ranked[0])
        return ranked


class _SureDetector(_StandIn):
    """CTranslate2's Whisper with ``detect_language`` ranking ``language`` first unless Whisper gives another
    more than SURE_LANGUAGE of the probability.

    Measured on French files without diarization: a window of synthetic voices was found to be Latin
    (p=0.32) and decoded as such; windows of recorded Italian or English voices came at p=0.51-1.00.
    """

    def __init__(self, model: Any, language: str) -> None:
        self._model = model
        self._token = f"<|{language}|>"

    def detect_language(self, encoder_output: Any) -> list[list[tuple[str, float]]]:
        ranked = []
        for found in self._model.detect_language(encoder_output):
            token, probability = found[0]
            if token != self._token:
                sure = probability > SURE_LANGUAGE
                kept = token if sure else self._token
                logger.info("window in %s (p=%.2f): decoded in %s", token[2:-2], probability, kept[2:-2])
                if not sure:
                    found = sorted(found, key=lambda tp: tp[0] != self._token)
            ranked.append(found)
        return ranked
