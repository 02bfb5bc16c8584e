"""Benchmark inputs: the bundled fixtures with their references, and long files made by concatenating them.

A long file is built once per length into the work folder (never committed): fixtures decoded with the
bundled ffmpeg, joined with one second of silence between them, and encoded as mono Opus (32 kbps),
with its speaker turns as an RTTM beside it.
Its reference text and speaker turns are the pieces' own, shifted by each piece's offset; speakers are
named by their synthetic voice (the same person has different voices in dev and heldout fixtures,
and different people share a heldout voice), so DER and cpWER count voices, which is what a
diarizer can tell apart. A long file of recorded voices (``part``) joins one part of
tools/make_realspeech.py's set in turn instead: five real people, one per language, named by voice.
"""

from __future__ import annotations

import functools
import json
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from podscribe.audio import SAMPLE_RATE, ffmpeg_path, load_audio
from podscribe.reference import Reference, Utterance, load_reference, load_rttm
from podscribe.transcript import Turn
from podscribe.writers import rttm_lines

logger = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
INTERVIEW_TEXT = DATA / "interview.fr.txt"
AUDIO_SUFFIXES = (".opus", ".mp4")
LONG_CYCLE = ("interview.fr", "interview.heldout", "noisy.fr", "heldout_text.fr", "overlap.fr")
FILLER = "short.fr"  # the last piece when no longer one fits
GAP_S = 1.0
TOLERANCE_S = 15.0  # a long file may end up this much longer than asked
LONG_BITRATE = "32k"


@dataclass(frozen=True)
class BenchFile:
    """An input file with what it is scored against: reference text, reference speaker turns."""

    name: str
    audio: Path
    duration: float
    reference: Reference
    turns: tuple[Turn, ...]


def fixture_audio(name: str) -> Path:
    """The audio file of fixture ``name`` (e.g. ``interview.fr`` -> tests/data/interview.fr.opus)."""
    for suffix in AUDIO_SUFFIXES:
        path = DATA / f"{name}{suffix}"
        if path.is_file():
            return path
    raise FileNotFoundError(f"no audio for fixture {name!r} in {DATA}")


def _fixture_meta(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def _voice_names(meta: dict) -> dict[str, str]:
    """Speaker name and RTTM id -> a label of the voice (espeak variant and pitch shift)."""
    labels = {}
    for s in meta["speakers"]:
        label = f"voice_{s['voice']['variant']}{s['voice']['cents']:+d}"
        labels[s["name"]] = labels[s["id"]] = label
    return labels


def fixture_reference(name: str) -> Reference:
    """Reference text of a fixture: the user's transcript for the interviews, else the fixture's own turns."""
    if name.startswith("interview."):
        return load_reference(INTERVIEW_TEXT)
    turns = _fixture_meta(name)["turns"]
    return Reference(tuple(Utterance(t["speaker"], t["text"], t["start"], t["end"]) for t in turns))


def fixture(name: str) -> BenchFile:
    """One bundled fixture, scored against its reference text and its RTTM."""
    return BenchFile(
        name=name,
        audio=fixture_audio(name),
        duration=float(_fixture_meta(name)["duration"]),
        reference=fixture_reference(name),
        turns=tuple(load_rttm(DATA / f"{name}.rttm")),
    )


def plan_pieces(minutes: float) -> list[str]:
    """Fixtures to join for about ``minutes`` of audio: LONG_CYCLE in turn, then fillers, never over by much."""
    durations = {n: float(_fixture_meta(n)["duration"]) + GAP_S for n in (*LONG_CYCLE, FILLER)}
    target, total, pieces = minutes * 60.0, 0.0, []
    by_length = sorted(durations, key=durations.get, reverse=True)
    index = 0
    while True:
        preferred = LONG_CYCLE[index % len(LONG_CYCLE)]
        fitting = [n for n in (preferred, *by_length) if total + durations[n] <= target + TOLERANCE_S]
        if not fitting or target - total < durations[FILLER] / 2:
            return pieces
        pieces.append(fitting[0])
        total += durations[fitting[0]]
        index += fitting[0] == preferred


def long_file(minutes: float, work: Path, part: str | None = None) -> BenchFile:
    """A ``minutes``-long concatenation of fixtures, or of the recorded-speech files of ``part`` in turn,
    built into ``work`` on first use and reused after."""
    stem = f"long-{minutes:g}min" + (f"-{part}" if part else "")
    audio, manifest = work / f"{stem}.opus", work / f"{stem}.json"
    if part:
        sources = {f.name: f for f in realspeech_files(part, work / "realspeech")}
        pieces = plan_cycle(minutes, {name: f.duration for name, f in sources.items()})
    else:
        sources = {name: fixture(name) for name in (*LONG_CYCLE, FILLER)}
        pieces = plan_pieces(minutes)
    if not (audio.is_file() and manifest.is_file()):
        _build_long([(name, sources[name].audio) for name in pieces], audio, manifest)
    meta = json.loads(manifest.read_text(encoding="utf-8"))
    utterances: list[Utterance] = []
    turns: list[Turn] = []
    for piece in meta["pieces"]:
        source = sources[piece["name"]]
        offset = piece["offset"]
        voice = str if part else _voice_names(_fixture_meta(piece["name"])).__getitem__
        utterances += [Utterance(voice(u.speaker), u.text) for u in source.reference.utterances]
        turns += [Turn(t.start + offset, t.end + offset, voice(t.speaker)) for t in source.turns]
    turns.sort()
    rttm = audio.with_suffix(".rttm")
    if not rttm.is_file():
        rttm.write_text(rttm_lines(turns, stem), encoding="utf-8")
    return BenchFile(stem, audio, meta["duration"], Reference(tuple(utterances)), tuple(turns))


def plan_cycle(minutes: float, durations: dict[str, float]) -> list[str]:
    """Files to join in turn, in their order, for about ``minutes`` of audio (never over by much)."""
    target, total, pieces, names = minutes * 60.0, 0.0, [], list(durations)
    while True:
        fitting = [n for n in names[len(pieces) % len(names):] + names
                   if total + durations[n] + GAP_S <= target + TOLERANCE_S]
        if not fitting:
            return pieces
        pieces.append(fitting[0])
        total += durations[fitting[0]] + GAP_S


def _build_long(pieces: list[tuple[str, Path]], audio: Path, manifest: Path) -> None:
    """Encode the pieces one after another into one opus file, streamed: this process stays small.

    It must: Linux counts a parent's resident size at fork into the child's peak RSS (``ru_maxrss``
    survives exec), so a benchmark parent holding 3 hours of audio would inflate every child's figure.
    """
    logger.info("building %s from %d files", audio, len(pieces))
    audio.parent.mkdir(parents=True, exist_ok=True)
    gap = np.zeros(round(GAP_S * SAMPLE_RATE), dtype=np.float32).tobytes()
    placed, offset = [], 0
    partial = audio.with_suffix(".part.opus")
    command = [ffmpeg_path(), "-v", "error", "-y", "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:",
               "-c:a", "libopus", "-b:a", LONG_BITRATE, "-application", "voip", str(partial)]
    with subprocess.Popen(command, stdin=subprocess.PIPE) as encoder:
        for i, (name, path) in enumerate(pieces):
            samples = load_audio(path)
            placed.append({"name": name, "offset": offset / SAMPLE_RATE, "duration": len(samples) / SAMPLE_RATE})
            encoder.stdin.write(samples.tobytes() if i == 0 else gap + samples.tobytes())
            offset += len(samples) + (len(gap) // 4 if i + 1 < len(pieces) else 0)
        encoder.stdin.close()
    if encoder.returncode:
        raise subprocess.CalledProcessError(encoder.returncode, command)
    partial.replace(audio)
    total = offset
    manifest.write_text(json.dumps({"duration": total / SAMPLE_RATE, "gap_s": GAP_S, "pieces": placed},
                                   indent=1), encoding="utf-8")


@functools.cache
def realspeech_tool() -> ModuleType:
    """tools/make_realspeech.py as a module (its ``PARTS``, ``PLANS`` and ``build``), loaded once."""
    import importlib.util

    tool = DATA.parents[1] / "tools" / "make_realspeech.py"
    spec = importlib.util.spec_from_file_location("make_realspeech", tool)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_realspeech"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def realspeech_files(part: str, folder: Path) -> list[BenchFile]:
    """The recorded-speech files of one part (``realspeech_tool().PARTS``) of tools/make_realspeech.py's set,
    built into ``folder`` on first use (from Debian's asterisk-core-sounds packages), scored against their
    own turns."""
    module = realspeech_tool()
    plans = [p.name for p in module.PLANS if p.part == part]
    if not all((folder / part / f"{name}.json").is_file() for name in plans):
        module.build(folder, [part], None, f"python tools/make_realspeech.py {folder} --part {part}")
    files = []
    for name in plans:
        meta = json.loads((folder / part / f"{name}.json").read_text(encoding="utf-8"))
        turns = meta["turns"]
        files.append(BenchFile(
            name=name,
            audio=folder / part / meta["audio"],
            duration=float(meta["duration"]),
            reference=Reference(tuple(Utterance(t["speaker"], t["text"], t["start"], t["end"]) for t in turns)),
            turns=tuple(load_rttm(folder / part / f"{name}.rttm")),
        ))
    return files
