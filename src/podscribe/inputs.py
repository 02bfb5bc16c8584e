"""Audio inputs beyond a path: file objects, bytes, numpy arrays and pydub ``AudioSegment``s.

Every entry point that takes audio (``transcribe``, ``Pipeline.run``, ``diarize``) accepts an
``AudioInput`` and turns it into an ``AudioSource``: a display name for messages, the file path when
there is one, which of its audio tracks is read, a content hash (of that track) for the result cache, and
a loader of 16 kHz mono float32 samples that warns once of a damaged input. Encoded bytes (a file object,
``bytes``, standard input) are decoded by the same bundled ffmpeg as files, from a private temporary copy;
samples already in memory (an array, ``(array, rate)``, an ``AudioSegment``) are down-mixed and resampled
here.

``expand_inputs`` turns the command line's INPUT arguments (files, folders, globs, ``-``) into the list
of (input, output stem) that ``podscribe transcribe`` and ``podscribe batch`` work through.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from math import gcd
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar, Union

import numpy as np

from .audio import CANCELLED, SAMPLE_RATE, decode_audio, louder, mix_is_quiet, probe
from .errors import DecodeError, InputError, OptionError
from .files import private_folder, sha256_file

if TYPE_CHECKING:
    from pydub import AudioSegment

AudioInput = Union[
    str, "os.PathLike[str]", bytes, bytearray, BinaryIO, np.ndarray, "tuple[np.ndarray, int]", "AudioSegment"
]
T = TypeVar("T")
logger = logging.getLogger(__name__)
ACCEPTED = "a path, a binary file object, bytes, a numpy array (16 kHz mono), (array, rate) or a pydub AudioSegment"


class AudioSource:
    """One audio input made uniform: ``load()`` gives its 16 kHz mono float32 samples, decoded once."""

    def __init__(
        self, name: str, path: str | None, digest: str, load: Callable[[], tuple[np.ndarray, str | None]],
        track: int = 1,
    ) -> None:
        self.name = name  # for messages: the path, or a description of the in-memory input
        self.path = path  # the file, when the input is one (kept in the transcript)
        self.track = track  # which audio track of the file (from 1; kept in the transcript)
        self.digest = digest  # sha256 of the content: the result cache's key
        self._load = load  # -> (samples, what looks damaged in the input or None)
        self._samples: np.ndarray | None = None
        self.damage: str | None = None  # known once loaded; warned about then

    @property
    def loaded(self) -> bool:
        return self._samples is not None

    def load(self) -> np.ndarray:
        if self._samples is None:
            self._samples, self.damage = self._load()
            if self.damage:
                logger.warning("%s: %s", self.name, self.damage)
        return self._samples


def open_source(audio: Any, track: int = 1) -> AudioSource:
    """An ``AudioSource`` for any accepted input; InputError naming the accepted kinds otherwise.
    ``track``: which audio track of an encoded input to read (from 1); samples in memory have one."""
    if isinstance(audio, (str, os.PathLike)):
        return _file_source(audio, track)
    if isinstance(audio, (bytes, bytearray, memoryview)):
        return _bytes_source(bytes(audio), "<bytes>", track)
    if track != 1 and not hasattr(audio, "read"):
        raise OptionError(f"audio_track {track!r}: samples in memory have one track", option="audio_track")
    if isinstance(audio, np.ndarray):
        return _samples_source(audio, SAMPLE_RATE, "<array>")
    if isinstance(audio, tuple) and len(audio) == 2 and isinstance(audio[0], np.ndarray):
        return _samples_source(audio[0], _rate(audio[1]), "<array>")
    if _is_audio_segment(audio):
        return _segment_source(audio)
    if hasattr(audio, "read"):
        return _bytes_source(_read_all(audio), str(getattr(audio, "name", "<file object>")), track)
    raise InputError(f"unsupported audio input of type {type(audio).__name__}: give {ACCEPTED}")


def _file_source(path: str | os.PathLike[str], track: int) -> AudioSource:
    info = probe(path, track)  # typed errors for missing, empty or non-audio files before any model loads
    return AudioSource(
        name=info.path,
        path=os.path.abspath(info.path),  # absolute: `podscribe html T.json` finds it from any folder
        digest=_track_digest(sha256_file(info.path), track),
        load=lambda: decode_audio(info.path, track),
        track=track,
    )


def _track_digest(digest: str, track: int) -> str:
    """The cache key of one audio track of encoded content: the first track's is the content's own sha256."""
    return digest if track == 1 else hashlib.sha256(f"{digest} audio track {track}".encode()).hexdigest()


def _bytes_source(data: bytes, name: str, track: int = 1) -> AudioSource:
    """Encoded audio in memory: probed now (a bad input fails before any model loads, as a file would)
    and decoded only when a stage needs the samples (a cached result needs none), both from a private
    temporary file (containers such as MP4 need a seekable input, which a pipe is not)."""
    if not data:
        raise InputError("empty audio input", name)
    _from_temporary_file(data, name, lambda path: probe(path, track))
    return AudioSource(name=name, path=None, digest=_track_digest(hashlib.sha256(data).hexdigest(), track),
                       load=lambda: _from_temporary_file(data, name, lambda path: decode_audio(path, track)),
                       track=track)  # fmt: skip


def _from_temporary_file(data: bytes, name: str, read: Callable[[Path], T]) -> T:
    """``read`` applied to ``data`` written to a private temporary file; its errors name the input."""
    with private_folder() as folder:
        path = folder / "input"
        path.write_bytes(data)
        try:
            return read(path)
        except (InputError, DecodeError) as e:
            raise type(e)(e.cause, name) from e


def _samples_source(samples: np.ndarray, rate: int, name: str) -> AudioSource:
    """Samples in memory: (n,), (n, channels) or (channels, n) of any numeric dtype, at ``rate`` Hz."""
    if samples.size == 0:  # before the down-mix, whose mean of nothing is NaN
        raise InputError("empty audio input", name)
    mono, note = _mono(samples, name)
    if not np.all(np.isfinite(mono)):
        raise InputError("audio array holds NaN or infinite values", name)
    audio = np.ascontiguousarray(_resample(mono, rate), dtype=np.float32)
    if audio.size == 0:  # fewer samples than one at 16 kHz
        raise InputError("empty audio input", name)
    digest = hashlib.sha256(audio.tobytes()).hexdigest()
    source = AudioSource(name=name, path=None, digest=digest, load=lambda: (audio, note))
    source.load()  # already in memory: nothing left to decode
    return source


def _segment_source(segment: AudioSegment) -> AudioSource:
    """A pydub AudioSegment of any rate, width and channel count."""
    width = segment.sample_width
    raw = np.array(segment.get_array_of_samples())
    samples = raw.reshape(-1, segment.channels).astype(np.float32) / float(1 << (8 * width - 1))
    return _samples_source(samples, int(segment.frame_rate), "<AudioSegment>")


def _mono(samples: np.ndarray, name: str) -> tuple[np.ndarray, str | None]:
    """Down-mix to one channel as float32 (integer PCM scaled to [-1, 1)), and what is wrong with the
    channels: where they cancel each other in the mix, their difference is taken, as a file's is."""
    if samples.dtype.kind not in "fiu":
        raise InputError(f"audio array of dtype {samples.dtype} (numbers expected)", name)
    data = samples.astype(np.float32)
    if samples.dtype.kind in "iu":
        info = np.iinfo(samples.dtype)
        data = (data - (info.max + info.min + 1) / 2) / ((info.max - info.min + 1) / 2)
    if data.ndim == 1:
        return data, None
    if data.ndim != 2:
        raise InputError(f"audio array of shape {samples.shape} (1 or 2 dimensions expected)", name)
    channels_last = data.shape[1] <= 8 and data.shape[1] < data.shape[0]
    frames = data if channels_last else data.T
    mix = frames.mean(axis=1)
    if frames.shape[1] >= 2 and mix_is_quiet(mix):
        difference = (frames[:, 0] - frames[:, 1]) / 2
        if louder(difference, mix):
            return difference, CANCELLED
    return mix, None


def _resample(audio: np.ndarray, rate: int) -> np.ndarray:
    if rate == SAMPLE_RATE:
        return audio
    from scipy.signal import resample_poly

    g = gcd(rate, SAMPLE_RATE)
    return resample_poly(audio, SAMPLE_RATE // g, rate // g).astype(np.float32)


MIN_RATE, MAX_RATE = 1_000, 1_000_000  # Hz: no recording lies beyond (10**12 Hz ran out of memory resampling)


def _rate(value: Any) -> int:
    whole = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not (whole and MIN_RATE <= value <= MAX_RATE):
        raise InputError(f"sample rate must be a whole number of Hz, {MIN_RATE} to {MAX_RATE}, not {value!r}")
    return int(value)


def _read_all(stream: Any) -> bytes:
    name = getattr(stream, "name", None)
    try:
        data = stream.read()
    except UnicodeDecodeError as e:  # a file opened with open(path) reads text
        raise InputError("file object opened in text mode: open it with 'rb'", name) from e
    except ValueError as e:  # read of a closed file
        raise InputError(f"cannot read the file object: {e}", name) from e
    if isinstance(data, str):
        raise InputError("file object opened in text mode: open it with 'rb'", name)
    if not isinstance(data, (bytes, bytearray)):
        raise InputError(f"file object read() gave {type(data).__name__}, not bytes")
    return bytes(data)


def _is_audio_segment(audio: Any) -> bool:
    return type(audio).__name__ == "AudioSegment" and hasattr(audio, "get_array_of_samples")


MEDIA_SUFFIXES = frozenset(
    ".mp3 .m4a .m4b .aac .opus .ogg .oga .flac .wav .wma .aif .aiff .amr .mka .mp4 .m4v .mkv .mov .webm "
    ".avi .mpg .mpeg .ts .3gp".split()
)  # what a folder given as INPUT contributes (a file named explicitly is tried whatever its suffix)


def expand_inputs(inputs: Sequence[str], recursive: bool) -> list[tuple[str, str]]:
    """INPUT arguments -> (input, output stem): files as given, ``-`` (stdin, stem ``stdin``), the media
    files of a folder (its sub-folders too with ``recursive``; stems keep the relative path), and glob
    patterns that name no existing file."""
    jobs: list[tuple[str, str]] = []
    for arg in inputs:
        path = Path(arg)
        if arg == "-":
            jobs.append((arg, "stdin"))
        elif path.is_dir():
            found = path.rglob("*") if recursive else path.glob("*")
            media = sorted(p for p in found if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES)
            if not media:
                raise InputError("no audio or video files in this folder" + ("" if recursive else
                                 " (--recursive looks into sub-folders)"), path)  # fmt: skip
            jobs += [(os.fspath(p), os.fspath(p.relative_to(path).with_suffix(""))) for p in media]
        elif not path.exists() and glob.has_magic(arg):
            matches = sorted(glob.glob(arg, recursive=recursive))
            if not matches:
                raise InputError("no file matches this pattern", arg)
            jobs += [(m, Path(m).stem) for m in matches if Path(m).is_file()]
        else:
            jobs.append((arg, path.stem))
    seen: dict[str, str] = {}
    for source, stem in jobs:
        if stem in seen:
            raise OptionError(f"{seen[stem]} and {source} share a file name stem: outputs would collide")
        seen[stem] = source
    return jobs


__all__ = ["ACCEPTED", "MEDIA_SUFFIXES", "AudioInput", "AudioSource", "expand_inputs", "open_source"]
