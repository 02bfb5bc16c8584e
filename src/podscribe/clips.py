"""Soundbites: a stretch of a transcript's audio exported with pydub, and its SRT re-timed to start at 0.

A clip is chosen by a phrase (``find``), by times (``start``/``end``) or by a speaker (all of that
speaker's turns, joined with a short pause). The audio is cut from the source file at its own rate and
channels by the bundled ffmpeg (only the stretches needed are decoded), then pydub does what it is good
at: fades, joining, and export to any format ffmpeg writes (bitrate, ID3 title from the words).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .audio import FFMPEG_PREFIX, ON_TIMELINE, AudioInfo, ffmpeg_path, probe
from .errors import DecodeError, InputError, OptionError, OutputError
from .files import FORCE_ARGUMENT, atomic_target
from .naming import name_key
from .subtitles import SubtitleRules, compose_srt, make_cues
from .views import ClipSource

if TYPE_CHECKING:
    from pydub import AudioSegment

logger = logging.getLogger(__name__)

JOIN_PAUSE_S = 0.4  # silence between two joined turns of a speaker
SHORTEST_S = 0.001  # the shortest piece: ffmpeg cuts to the ms ("-t 0.000" read to the file's end)
MISMATCH_S = 1.0  # a source this much longer or shorter than the transcript is said to be another recording
TITLE_WORDS = 12  # words of the clip that make its ID3 title
# ffmpeg's muxer for a file name's extension, where they differ
CONTAINERS = {"m4a": "ipod", "aac": "adts", "mka": "matroska"}


@dataclass(frozen=True)
class Clip:
    """An exported soundbite: its audio file, its SRT, and the spans of the source it holds."""

    audio: Path
    srt: Path
    spans: tuple[tuple[float, float], ...]
    title: str


def clip(
    transcript: ClipSource,
    out: str | os.PathLike[str],
    *,
    audio: str | os.PathLike[str] | None = None,
    find: str | None = None,
    start: float | None = None,
    end: float | None = None,
    speaker: str | None = None,
    pad: float = 0.25,
    fade_ms: int = 30,
    bitrate: str | None = "192k",
    force: bool = False,
) -> Clip:
    """Export a soundbite of ``transcript`` to ``out`` (format from its suffix) and its SRT beside it
    (``out`` with the suffix ``.srt``: ``bite.mp3`` -> ``bite.srt``).

    Args:
        transcript: the transcript whose audio is cut.
        out: the clip's path (``.mp3``, ``.wav``, ``.m4a``, ``.ogg``, ``.flac`` ...).
        audio: the source audio (default: the transcript's own ``audio``, cut from its ``audio_track``).
        find: a phrase: the clip is its first occurrence (``Transcript.find``).
        start: clip start in seconds (with ``end``).
        end: clip end in seconds (with ``start``).
        speaker: a speaker id or display name: all their turns, joined.
        pad: seconds kept before and after the words of a phrase or turn.
        fade_ms: fade-in and fade-out of each piece, in milliseconds.
        bitrate: encoder bitrate for lossy formats (None: ffmpeg's default).
        force: overwrite existing files.
    """
    source = audio or transcript.audio
    if not source:
        raise OptionError("the transcript names no audio file: give the source audio")
    out = Path(out)
    if not (pad >= 0 and fade_ms >= 0):
        raise OptionError(f"pad and fade_ms are zero or more, not {pad} and {fade_ms}")
    if out.is_dir():
        raise OutputError("is a folder: give the clip's file name", out)
    fmt = out.suffix.lstrip(".").lower() or "mp3"
    _check_format(fmt, bitrate, out)
    info = probe(source, transcript.audio_track)
    if transcript.duration > 0 and abs(info.duration - transcript.duration) > MISMATCH_S:
        logger.warning("%s lasts %.1f s, the transcript %.1f s: is it the transcript's audio?", source,
                       info.duration, transcript.duration)  # fmt: skip
    spans = _spans(transcript, info.duration, find, start, end, speaker, pad)
    subtitle = out.with_suffix(".srt")
    for target in (out, subtitle):
        if target.exists() and not force:
            raise InputError(f"already exists ({FORCE_ARGUMENT})", target)
    joined = _joined([_cut(info, s, e, fade_ms) for s, e in spans])
    excerpt = transcript.excerpt(spans, gap=JOIN_PAUSE_S)
    words = excerpt.words
    title = " ".join(w.text for w in words[:TITLE_WORDS]) + (" …" if len(words) > TITLE_WORDS else "")
    with atomic_target(out) as tmp:
        _export(joined, tmp, fmt, bitrate, title, out)
    with atomic_target(subtitle) as tmp:
        tmp.write_text(compose_srt(make_cues(excerpt, SubtitleRules())), encoding="utf-8")
    return Clip(audio=out, srt=subtitle, spans=tuple(spans), title=title)


def _spans(
    transcript: ClipSource,
    duration: float,
    find: str | None,
    start: float | None,
    end: float | None,
    speaker: str | None,
    pad: float,
) -> list[tuple[float, float]]:
    """The source stretches (seconds) a clip holds; OptionError unless exactly one way is given."""
    ways = (find is not None) + (start is not None or end is not None) + (speaker is not None)
    if ways != 1:
        raise OptionError("choose a clip by exactly one of: a phrase, start and end, a speaker")
    if find is not None:
        matches = transcript.find(find)
        if not matches:
            raise OptionError(f"phrase not found in the transcript: {find!r}")
        spans = [(matches[0].start - pad, matches[0].end + pad)]
    elif speaker is not None:
        chosen = _speaker_of(transcript, speaker)
        spans = [(t.start - pad, t.end + pad) for t in transcript.speaker_turns() if t.speaker == chosen]
    else:
        if start is None or end is None or not 0 <= start <= end - SHORTEST_S:
            raise OptionError(f"need 0 <= start < end, at least {SHORTEST_S * 1000:.0f} ms apart, got "
                              f"start={start} end={end}")  # fmt: skip
        spans = [(start, end)]
    clamped = [(max(0.0, s), min(duration, e)) for s, e in spans]
    merged: list[tuple[float, float]] = []
    for s, e in sorted(c for c in clamped if c[1] - c[0] >= SHORTEST_S):  # ffmpeg cuts to the ms
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    if not merged:
        raise OptionError(f"the clip lies outside the audio (0-{duration:.1f} s)")
    return merged


def _speaker_of(transcript: ClipSource, speaker: str) -> str:
    """The speaker ``speaker`` names: an id, else a name as written, else a name in any case and spacing
    ("léa dupont"); OptionError where none does, or several ("ann" and "Ann": not for podscribe to guess)."""
    ids, name = transcript.speakers, transcript.speaker_name
    for found in ([s for s in ids if s == speaker], [s for s in ids if name(s) == speaker],
                  [s for s in ids if name_key(name(s) or s) == name_key(speaker)]):  # fmt: skip
        if len(found) > 1:
            which = " or ".join(repr(name(s) or s) for s in found)
            raise OptionError(f"speaker {speaker!r} could be {which}: give its id or its name as written")
        if found:
            return found[0]
    known = ", ".join(f"{name(s)}" for s in ids) or "none"
    raise OptionError(f"no speaker {speaker!r} in the transcript (speakers: {known})")


def _cut(info: AudioInfo, start: float, end: float, fade_ms: int) -> AudioSegment:
    """Decode ``start``-``end`` of the audio track ``info`` describes, at its own rate and channels, into a
    pydub segment."""
    AudioSegment = _pydub()
    rate, channels, path = info.sample_rate or 44100, max(info.channels, 1), info.path
    command = [
        ffmpeg_path(), "-nostdin", "-hide_banner", "-v", "error", "-ss", f"{start:.3f}", "-t", f"{end - start:.3f}",
        "-i", path, "-map", f"0:a:{info.track - 1}", "-vn", "-ac", str(channels), "-ar", str(rate),
        *ON_TIMELINE, "-f", "s16le", "-",
    ]  # fmt: skip
    try:
        proc = subprocess.run(command, capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DecodeError(f"cannot cut the clip: {e}", path) from e
    if proc.returncode != 0 or not proc.stdout:
        message = proc.stderr.decode(errors="replace").strip().splitlines()
        raise DecodeError(f"cannot cut the clip ({message[-1] if message else 'no audio'})", path)
    piece = AudioSegment(data=proc.stdout, sample_width=2, frame_rate=rate, channels=channels)
    fade = min(fade_ms, len(piece) // 2)
    return piece.fade_in(fade).fade_out(fade) if fade > 0 else piece


def _joined(pieces: list[AudioSegment]) -> AudioSegment:
    """The pieces one after another, JOIN_PAUSE_S of silence between two, joined once: pydub's ``+`` in a
    loop copied all joined so far at each piece (a host's 792 turns of a 2-hour show took 110 s)."""
    first = pieces[0]
    pause = bytes(round(JOIN_PAUSE_S * first.frame_rate) * first.frame_width)
    return _pydub()(data=pause.join(p.raw_data for p in pieces), sample_width=first.sample_width,
                    frame_rate=first.frame_rate, channels=first.channels)  # fmt: skip


def _check_format(fmt: str, bitrate: str | None, out: Path) -> None:
    """OptionError, before any audio is cut, unless ffmpeg writes audio in ``fmt`` (an audio muxer: not
    a subtitle one such as srt, which would also be the clip's own SRT) and ``bitrate`` reads as one."""
    if bitrate is not None and not re.fullmatch(r"\d+(\.\d+)?[kKM]?", bitrate):
        raise OptionError(f"bitrate {bitrate!r}: bits per second, such as 128k", out)
    proc = subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-h", f"muxer={CONTAINERS.get(fmt, fmt)}"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace", timeout=60, check=False,
    )  # fmt: skip
    if "Default audio codec" not in proc.stdout:
        raise OptionError(f"ffmpeg writes no audio format {fmt!r}: name the clip .mp3, .m4a, .wav …", out)


def _export(segment: AudioSegment, path: Path, fmt: str, bitrate: str | None, title: str, out: Path) -> None:
    """pydub export through the bundled ffmpeg to ``path`` (``out``'s temporary file); ffmpeg's failure
    is an OptionError naming ``out`` and the format."""
    _pydub().converter = ffmpeg_path()
    codec = {"m4a": "aac", "aac": "aac", "opus": "libopus"}.get(fmt)
    try:
        handle = segment.export(
            path, format=CONTAINERS.get(fmt, fmt), codec=codec, bitrate=bitrate, tags={"title": title},
            parameters=[] if fmt == "wav" else None,  # through ffmpeg: pydub's own WAV writer drops the title
        )  # fmt: skip
        handle.close()
    except Exception as e:  # pydub raises CouldntEncodeError with ffmpeg's whole log
        raise OptionError(f"cannot write a {fmt!r} clip: {_encoder_said(str(e))}", out) from e


def _encoder_said(message: str) -> str:
    """What ffmpeg said went wrong, in pydub's message that holds its whole log: the first line naming a
    failure ("The bit rate 1000000 bps is unsupported ..."): pydub's own first line is an exit code."""
    log = message.partition("Output from ffmpeg/avlib:")[2] or message
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    failing = [line for line in lines if _FAILURE.search(line)] or lines or ["ffmpeg gave no message"]
    return FFMPEG_PREFIX.sub("", failing[0])


_FAILURE = re.compile(r"unsupported|not supported|error|fail|invalid|cannot|could not", re.IGNORECASE)


def _pydub() -> type[AudioSegment]:
    """pydub's AudioSegment, without its import-time warning about ffmpeg on PATH (podscribe brings one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        from pydub import AudioSegment
    return AudioSegment
