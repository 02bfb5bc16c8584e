"""Where podscribe's wall time goes on one file, stage by stage, beside BatchedInferencePipeline's.

    PYTHONPATH=src python benchmarks/stage_profile.py [--system podscribe|fw-batched] [--out FILE.json] [--keep DIR] AUDIO
        [-- podscribe transcribe options, e.g. --diarizer none]

Runs one system in this process, once, the result cache off, and times the functions that do the work
by wrapping them (nothing else changes): for podscribe the CLI end to end (decode, diarization split into
speech regions, embeddings and clustering, per-speaker language detection, the first pass over packed
speaker windows, the "decoded again" pass, writing JSON + SRT); for fw-batched faster-whisper's own
steps (VAD, features, language detection, batches). Times are wall seconds of the calling thread and
the process's CPU seconds (all threads; a stage that overlaps another counts the other's too); a
stage's "calls" column counts its calls, and "windows" the 30-s windows it encoded (each an encoder
pass). The issue-14 speed question (BENCHMARKS.md) is which of these podscribe can do with less.
Compare systems run side by side only: this machine is shared and absolute times move. PYTHONPATH
chooses the podscribe measured (another checkout's src/ profiles that code: before and after a change).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STAGES: dict[str, dict[str, float]] = {}


def _stage(name: str) -> dict[str, float]:
    return STAGES.setdefault(name, {"s": 0.0, "cpu_s": 0.0, "calls": 0, "windows": 0})


def timed(owner: Any, attribute: str, name: str | Callable[..., str],
          windows: Callable[..., int] | None = None) -> None:
    """Replace ``owner.attribute`` by a wrapper adding its wall time to stage ``name`` (or to the stage
    ``name(*args, **kwargs)`` names), and ``windows(*args, **kwargs)`` to that stage's window count;
    nothing where the code profiled has no such function (an older or newer checkout)."""
    original = getattr(owner, attribute, None)
    if original is None:
        return

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        stage = _stage(name(*args, **kwargs) if callable(name) else name)
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            stage["s"] += time.perf_counter() - started
            stage["cpu_s"] += time.process_time() - cpu
            stage["calls"] += 1
            stage["windows"] += windows(*args, **kwargs) if windows else 0

    setattr(owner, attribute, wrapper)


def profile_podscribe(audio: str, extra: list[str], keep: Path | None) -> None:
    """podscribe's CLI end to end (JSON + SRT, into ``keep`` if given), its stages timed."""
    from podscribe import packing, pipeline, writers
    from podscribe.cli import main
    from podscribe.diarization import embedded
    from podscribe.inputs import open_source

    source_type = type(open_source(audio))
    timed(source_type, "load", "decode audio")
    timed(pipeline, "load_engine", "load ASR model")
    timed(pipeline, "load_diarizer", "load diarizer")
    timed(pipeline.Pipeline, "diarize_audio", "diarization (total)")
    timed(embedded.EmbeddedDiarizer, "speech_regions", "  speech regions (segmentation)")
    timed(embedded.EmbeddedDiarizer, "_embed_regions", "  embeddings (CAM++)")
    timed(embedded, "cluster", "  clustering")
    timed(pipeline.Pipeline, "recognise", "ASR (total)")
    # A separate encoder pass per speaker before 2026-12-02; since then, found on each one's first window.
    timed(packing, "speaker_languages", "  language detection", lambda engine, audio, clips: len(
        {c.speaker for c in clips}))
    # The first pass reports progress along the block's span; a speaker read again in another language
    # reports none, and stretches decoded again report a fraction (span 0 to 1) (packing.recognise_turns).
    decode = inspect.signature(packing._decode)

    def first_pass(*a: object, **k: object) -> bool:
        arguments = decode.bind(*a, **k).arguments
        return arguments.get("progress") is not None and arguments["span"] != (0.0, 1.0)

    timed(packing, "_decode", lambda *a, **k: "  first pass" if first_pass(*a, **k) else "  decoded again",
          lambda engine, audio, packs, *rest: sum(len(p) for _, p in packs) if packs and isinstance(
              packs[0], tuple) else len(packs))  # (language, packs) calls, or packs (before 2026-12-02)
    timed(writers, "write_outputs", "write JSON + SRT")
    with tempfile.TemporaryDirectory() as temporary:
        started, cpu = time.perf_counter(), time.process_time()
        rc = main(["transcribe", audio, "-o", str(keep or temporary), "-f", "json,srt", "--no-cache", "-q",
                   "--force", *extra])
        STAGES["total"] = {"s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu, "calls": 1,
                           "windows": 0}
    if rc:
        raise SystemExit(f"podscribe exited with {rc}")


def profile_fw_batched(audio: str, extra: list[str], keep: Path | None) -> None:
    """faster-whisper's BatchedInferencePipeline, batch 8, word timestamps, as benchmarks/child.py runs it."""
    import faster_whisper.transcribe as fwt
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from podscribe.weights import resolve_ct2

    timed(fwt, "decode_audio", "decode audio")
    timed(fwt, "get_speech_timestamps", "VAD (Silero)")
    timed(WhisperModel, "detect_language", "language detection", lambda *a, **k: 1)
    timed(BatchedInferencePipeline, "forward", "batches (encode, decode, word times)",
          lambda self, features, *rest: len(features))
    started, cpu = time.perf_counter(), time.process_time()
    model = WhisperModel(str(resolve_ct2("base")), device="cpu", compute_type="int8")
    STAGES["load ASR model"] = {"s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu, "calls": 1,
                                "windows": 0}
    segments, _ = BatchedInferencePipeline(model).transcribe(audio, beam_size=5, batch_size=8,
                                                             word_timestamps=True)
    text = " ".join(s.text.strip() for s in segments)  # decoding happens while iterating
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
        (keep / f"{Path(audio).stem}.txt").write_text(text, encoding="utf-8")
    STAGES["total"] = {"s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu, "calls": 1,
                       "windows": 0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio")
    parser.add_argument("--system", choices=("podscribe", "fw-batched"), default="podscribe")
    parser.add_argument("--out", type=Path, help="also write the stages to this JSON file")
    parser.add_argument("--keep", type=Path, help="write the transcript into this folder")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="after --: more podscribe transcribe options")
    args = parser.parse_args()
    extra = args.extra[1:] if args.extra[:1] == ["--"] else args.extra
    (profile_podscribe if args.system == "podscribe" else profile_fw_batched)(args.audio, extra, args.keep)
    doc = {"system": args.system, "audio": args.audio, "extra": extra, "loadavg": os.getloadavg(),
           "stages": STAGES}
    for name, stage in STAGES.items():
        print(f"{name:40s} {stage['s']:8.2f} s  {stage['cpu_s']:8.2f} CPU s  {int(stage['calls']):4d} calls  "
              f"{int(stage['windows']):4d} windows")
    print(f"load average {os.getloadavg()}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
