"""openai-whisper (PyTorch) engine: fp32 on CPU, fp16 on CUDA.

openai-whisper has no VAD of its own: with ``options.vad`` the Silero VAD bundled with faster-whisper
finds the speech, and only those regions (or the ``clips`` given) are decoded (``clip_timestamps``), so
silence and music give no text here either; the language is then detected on speech, as faster-whisper
does. Progress comes from openai-whisper's tqdm bar, routed to the callback. One decoding runs at a time
per engine (``podscribe.packing`` makes one call per speaker at once): openai-whisper's key-value cache
lives in hooks on the shared model's layers, and two decodings at once read each other's.
The decoder's cross-attention reads the audio once for all beams (``_shared_audio_attention``).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import pickle
import threading
import types
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..audio import SAMPLE_RATE
from ..devices import cpu_threads as thread_count
from ..devices import resolve_device
from ..errors import ModelError
from . import ASROptions, ASRResult, Clips, EncoderTap, ProgressCallback, Ranking
from .common import build_segments, first_line

logger = logging.getLogger(__name__)

HOP_LENGTH = 160  # samples per openai-whisper mel frame
FRAMES_PER_SECOND = SAMPLE_RATE // HOP_LENGTH


class OpenAIWhisperEngine:
    """A Whisper model loaded in PyTorch through openai-whisper."""

    name = "openai-whisper"

    def __init__(self, model: str, device: str = "auto", cpu_threads: int | None = None) -> None:
        import torch
        import whisper

        from ..weights import resolve_openai

        self.model_name = model
        self.device = resolve_device(device, "torch")  # torch takes "cuda:N" as it is
        self.threads = thread_count(cpu_threads)
        self._decoding = threading.Lock()  # one decoding at a time (module doc)
        path = resolve_openai(model)
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
            self.model = whisper.model.Whisper(whisper.model.ModelDimensions(**checkpoint["dims"]))
            self.model.load_state_dict(checkpoint["model_state_dict"])
        except pickle.UnpicklingError as e:
            raise ModelError(
                "not an openai-whisper checkpoint (corrupt, or not weights only)", path
            ) from e
        except (RuntimeError, KeyError, TypeError, OSError, EOFError) as e:
            raise ModelError(f"openai-whisper cannot load it: {first_line(e)}", path) from e
        # podscribe's checkpoints carry their alignment heads; openai's own ones are known by name.
        heads = checkpoint.get("alignment_heads", whisper._ALIGNMENT_HEADS.get(model))
        if heads is None:
            logger.warning("%s: no alignment heads; word timestamps use the last half of the decoder", path)
        else:
            self.model.set_alignment_heads(heads)
        for block in self.model.decoder.blocks:
            if block.cross_attn is not None:
                block.cross_attn.__class__ = _shared_audio_attention()
        self.model.to(self.device)
        logger.info("loaded %s (%s) on %s", model, path, self.device)

    def transcribe(
        self,
        audio: np.ndarray,
        options: ASROptions,
        progress: ProgressCallback | None = None,
        clips: Clips | None = None,
        tap: EncoderTap | None = None,
    ) -> ASRResult:
        """Recognise 16 kHz mono float32 ``audio``: segments of words with times in seconds (``tap`` is not
        called: openai-whisper encodes inside its own decoding loop)."""
        with self._decoding:
            return self._transcribe(audio, options, progress, clips)

    def _transcribe(
        self, audio: np.ndarray, options: ASROptions, progress: ProgressCallback | None, clips: Clips | None
    ) -> ASRResult:
        import torch
        import whisper

        duration = len(audio) / SAMPLE_RATE
        language = options.language
        ranking: Ranking = ()
        clip_timestamps: list[float] = []
        if options.vad or clips:
            if clips:
                speech = [{"start": int(s * SAMPLE_RATE), "end": int(e * SAMPLE_RATE)} for s, e in clips]
            else:
                speech = _speech_regions(audio)
            if not speech:
                logger.info("no speech found by VAD in %.1f s of audio", duration)
                if progress is not None:
                    progress(duration)
                return ASRResult(language=language or "", segments=())
            # openai-whisper loops forever on a clip ending past its last mel frame (an empty window that
            # never advances): clip at the last frame.
            last = (len(audio) // HOP_LENGTH) / FRAMES_PER_SECOND
            clip_timestamps = [min(t / SAMPLE_RATE, last) for r in speech for t in (r["start"], r["end"])]
            if language is None:
                speech_audio = np.concatenate([audio[r["start"] : r["end"]] for r in speech])
                ranking = self.languages_of(speech_audio)
                language = ranking[0][0]
        if self.device == "cpu":
            torch.set_num_threads(self.threads)
        with _tqdm_progress(progress):
            result = whisper.transcribe(
                self.model,
                audio,
                verbose=None,
                temperature=options.temperature,
                compression_ratio_threshold=options.compression_ratio_threshold,
                logprob_threshold=options.log_prob_threshold,
                no_speech_threshold=options.no_speech_threshold,
                condition_on_previous_text=options.condition_on_previous_text,
                initial_prompt=options.initial_prompt,
                word_timestamps=True,
                clip_timestamps=clip_timestamps or "0",
                hallucination_silence_threshold=options.hallucination_silence_threshold,
                language=language,
                beam_size=options.beam_size if options.beam_size > 1 else None,
                fp16=self.device != "cpu",
            )
        if progress is not None:
            progress(duration)
        segments = build_segments(result["segments"], duration, options, result["language"])
        # Without words, a detected language is a guess from silence: claim none.
        return ASRResult(
            language=options.language or (result["language"] if segments else ""), segments=segments, ranking=ranking
        )

    def languages_of(self, speech: np.ndarray) -> Ranking:
        """Whisper's languages for the first 30 s of speech, most likely first (openai-whisper would look at
        the first 30 s of the file)."""
        import torch
        import whisper

        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(speech), self.model.dims.n_mels)
        dtype = torch.float16 if self.device != "cpu" else torch.float32
        _, probs = self.model.detect_language(mel.to(self.device, dtype))
        ranked = sorted(probs.items(), key=lambda lp: -lp[1])
        logger.info("detected language %s (p=%.2f)", ranked[0][0], ranked[0][1])
        return tuple((str(lang), float(p)) for lang, p in ranked)


@functools.cache
def _shared_audio_attention() -> type:
    """openai-whisper's cross-attention, computed once for all the beams of one audio.

    Its beam search repeats the audio features once per beam, and at every decoder step its attention lays
    the cached keys and values (beams x 1500 frames x width) out again per head, a copy per layer and step.
    Here they are laid out once per decoding, one copy for the beams that share them, and the beams' queries
    attend to them together: outputs the same up to float rounding, a beam-5 decoding of a 30-s window on
    the CPU 4x faster (BENCHMARKS.md, "openai-whisper's beams read the audio once"). Where the beams' audio differs, or
    attention weights are asked for (``disable_sdpa``, for word timestamps), openai-whisper's own code runs.
    """
    from torch.nn.functional import scaled_dot_product_attention
    from whisper.model import SDPA_AVAILABLE, MultiHeadAttention

    class SharedAudioAttention(MultiHeadAttention):  # type: ignore[misc]
        _audio: tuple[Any, Any] = (lambda: None, None)  # (the cached keys, weakly; their shared layout or None)

        def qkv_attention(self, q: Any, k: Any, v: Any, mask: Any = None) -> tuple[Any, Any]:
            fast = mask is None and len(q) > 1 and SDPA_AVAILABLE and MultiHeadAttention.use_sdpa
            shared = self._shared(k, v) if fast else None
            if shared is None:
                return super().qkv_attention(q, k, v, mask)
            batch, n, _ = q.shape
            q = q.view(batch, n, self.n_head, -1).permute(2, 0, 1, 3).reshape(1, self.n_head, batch * n, -1)
            a = scaled_dot_product_attention(q, *shared)
            return a.view(self.n_head, batch, n, -1).permute(1, 2, 0, 3).flatten(start_dim=2), None

        def _shared(self, k: Any, v: Any) -> Any:
            """Keys and values per head (1, heads, frames, width) when every row of ``k`` and ``v`` is the same;
            freed with the cached keys (at the end of a decoding)."""
            if self._audio[0]() is not k:
                same = bool((k == k[:1]).all() and (v == v[:1]).all())
                heads = tuple(x[:1].view(1, x.shape[1], self.n_head, -1).transpose(1, 2).contiguous()
                              for x in (k, v)) if same else None
                module = weakref.ref(self)

                def forget(_: Any) -> None:
                    if (held := module()) is not None:
                        held._audio = SharedAudioAttention._audio

                self._audio = (weakref.ref(k, forget), heads)
            return self._audio[1]

    return SharedAudioAttention


def _speech_regions(audio: np.ndarray) -> list[dict[str, int]]:
    """Speech regions (sample indices) from Silero VAD, with faster-whisper's sequential defaults."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return get_speech_timestamps(audio, VadOptions(), sampling_rate=SAMPLE_RATE)


class _ProgressBar(contextlib.nullcontext):
    """Stands in for the tqdm bar of openai-whisper's transcribe: its mel frames done, in seconds, to a callback."""

    def __init__(self, progress: ProgressCallback, **_: Any) -> None:
        super().__init__(self)
        self.progress = progress
        self.frames = 0

    def update(self, frames: int) -> None:
        self.frames += frames
        self.progress(self.frames / FRAMES_PER_SECOND)


@contextlib.contextmanager
def _tqdm_progress(progress: ProgressCallback | None) -> Iterator[None]:
    """openai-whisper reports progress only through tqdm: route it to ``progress`` while transcribing."""
    if progress is None:
        yield
        return
    module = importlib.import_module("whisper.transcribe")
    original = vars(module)["tqdm"]
    vars(module)["tqdm"] = types.SimpleNamespace(tqdm=functools.partial(_ProgressBar, progress))
    try:
        yield
    finally:
        vars(module)["tqdm"] = original
