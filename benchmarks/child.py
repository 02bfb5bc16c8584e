"""One benchmarked system in a fresh process; the parent (run.py) measures its wall time, CPU and peak RSS.

Modes (each writes a small JSON result to ``--result``):
  faster-whisper  plain ``WhisperModel(ct2_dir, device, compute_type).transcribe(path, ...)``, generator consumed
  openai-whisper  plain ``whisper.load_model(pt).transcribe(path, ...)`` (needs ``ffmpeg`` on PATH for the path)
  podscribe       ``podscribe.cli.main(argv)``, i.e. ``python -m podscribe ...``, with model loads timed

Nothing here changes what the systems do: the podscribe mode only wraps the loaders with a timer.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def plain_faster_whisper(args: argparse.Namespace) -> dict[str, Any]:
    """faster-whisper as its README shows it; ``--batch-size`` > 1 uses BatchedInferencePipeline instead;
    ``--vad`` and ``--word-timestamps`` turn on its own VAD filter and word times (sequential mode)."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    started = time.perf_counter()
    model = WhisperModel(args.model, device=args.device, compute_type=args.compute_type, cpu_threads=args.threads)
    loaded = time.perf_counter()
    language = None if args.language == "auto" else args.language
    if args.batch_size > 1:
        segments, info = BatchedInferencePipeline(model).transcribe(
            args.audio, beam_size=args.beam_size, language=language, batch_size=args.batch_size,
            word_timestamps=args.word_timestamps,
        )
    else:
        segments, info = model.transcribe(args.audio, beam_size=args.beam_size, language=language,
                                          vad_filter=args.vad, word_timestamps=args.word_timestamps)
    text = " ".join(s.text.strip() for s in segments)  # decoding happens while iterating
    return {"load_s": loaded - started, "run_s": time.perf_counter() - loaded, "text": text, "language": info.language}


def plain_openai_whisper(args: argparse.Namespace) -> dict[str, Any]:
    """openai-whisper as its README shows it, with the same beam size as faster-whisper (fp16 on CUDA only)."""
    import whisper

    started = time.perf_counter()
    model = whisper.load_model(args.model, device=args.device)
    loaded = time.perf_counter()
    result = whisper.transcribe(
        model, args.audio, beam_size=args.beam_size, language=None if args.language == "auto" else args.language,
        fp16=args.device == "cuda", word_timestamps=args.word_timestamps,
    )
    return {"load_s": loaded - started, "run_s": time.perf_counter() - loaded, "text": result["text"].strip(),
            "language": result["language"]}


def podscribe_cli(args: argparse.Namespace) -> dict[str, Any]:
    """Run the podscribe command in this process, timing its ASR and diarizer loads."""
    import podscribe.pipeline as pipeline
    from podscribe.cli import main

    loads: dict[str, float] = {}

    def timed(name: str, load: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return load(*a, **kw)
            finally:
                loads[name] = loads.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    pipeline.load_engine = timed("asr_load_s", pipeline.load_engine)
    pipeline.load_diarizer = timed("diarizer_load_s", pipeline.load_diarizer)
    started = time.perf_counter()
    rc = main(args.argv)
    return {"rc": rc, "run_s": time.perf_counter() - started, "load_s": sum(loads.values()), **loads}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--result", required=True, type=Path, help="JSON file this run's figures go to")
    sub = parser.add_subparsers(dest="mode", required=True)
    for name in ("faster-whisper", "openai-whisper"):
        p = sub.add_parser(name)
        p.add_argument("audio")
        p.add_argument("--model", required=True, help="CTranslate2 directory or openai-whisper .pt")
        p.add_argument("--device", default="cpu")
        p.add_argument("--compute-type", default="int8")
        p.add_argument("--threads", type=int, default=0, help="faster-whisper cpu_threads (0: its default)")
        p.add_argument("--beam-size", type=int, default=5)
        p.add_argument("--batch-size", type=int, default=1)
        p.add_argument("--language", default="fr", help="a language code, or auto (detected)")
        p.add_argument("--word-timestamps", action="store_true", help="word times too")
        p.add_argument("--vad", action="store_true", help="faster-whisper sequential: its own VAD filter")
    p = sub.add_parser("podscribe")
    p.add_argument("argv", nargs=argparse.REMAINDER, help="arguments of the podscribe command")
    return parser


MODES = {"faster-whisper": plain_faster_whisper, "openai-whisper": plain_openai_whisper, "podscribe": podscribe_cli}


def main() -> int:
    args = build_parser().parse_args()
    result = MODES[args.mode](args)
    args.result.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return int(result.get("rc", 0))


if __name__ == "__main__":
    sys.exit(main())
