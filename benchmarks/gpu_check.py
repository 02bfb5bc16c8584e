"""GPU check: both engines, the batched peer and podscribe end to end on CUDA (float16), RTF figures to a file.

Runs offline: the weights must already be in the podscribe cache ($PODSCRIBE_CACHE: ``ct2/base`` with
model.bin, and ``openai/base.pt``, as ``podscribe models`` assembles them). Fails with one clear line
(exit 2) when CUDA, a package or the weights are missing, before any model is loaded. Called by
gpu_check.sh; the figures come from run.py (one repeat each by default; on an H200, --repeats 3 with the two
openai-whisper systems --once took 5 minutes).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE)]

MODULES = ("ctranslate2", "faster_whisper", "whisper", "torch", "onnxruntime", "podscribe")
SYSTEMS = ("faster-whisper", "fw-batched", "openai-whisper", "podscribe-asr", "podscribe-openai-asr")
END_TO_END = "podscribe"  # its diarizer runs on the same device: only with onnxruntime-gpu
END_TO_END_AUTO = "podscribe-auto"  # without onnxruntime-gpu: the ASR on CUDA, the diarizer on the CPU


def preflight(model: str) -> list[str]:
    """Why this machine cannot run the check (empty when it can): packages, CUDA, ffmpeg, weights."""
    missing = []
    for name in MODULES:
        try:
            importlib.import_module(name)
        except ImportError as e:
            missing.append(f"{name} ({e})")
    if missing:
        return [f"missing Python packages: {', '.join(missing)}"]
    import ctranslate2
    import torch

    from podscribe.audio import ffmpeg_path
    from podscribe.errors import PodscribeError
    from podscribe.files import cache_dir

    problems = []
    if ctranslate2.get_cuda_device_count() == 0:
        problems.append("ctranslate2 sees no CUDA device (no GPU, no driver, or a CPU-only build)")
    elif "float16" not in ctranslate2.get_supported_compute_types("cuda"):
        problems.append("ctranslate2 cannot compute float16 on this GPU")
    if not torch.cuda.is_available():
        problems.append(f"torch {torch.__version__} sees no CUDA device")
    try:
        ffmpeg_path()
    except PodscribeError as e:
        problems.append(str(e))
    cache = cache_dir()
    for needed in (cache / "ct2" / model / "model.bin", cache / "openai" / f"{model}.pt"):
        if not needed.is_file():
            problems.append(f"{needed}: weights not found (bring the podscribe cache along; set PODSCRIBE_CACHE)")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="results.json/.md and rtf.txt go here")
    parser.add_argument("--model", default="base")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--fixture", default="interview.fr")
    parser.add_argument("--once", default="", metavar="SYSTEMS", help="systems run once whatever --repeats")
    args = parser.parse_args()
    problems = preflight(args.model)
    if problems:
        print("gpu_check: cannot run: " + "; ".join(problems), file=sys.stderr)
        return 2
    import onnxruntime
    import run

    systems = SYSTEMS
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        systems += (END_TO_END,)
    else:
        print("gpu_check: onnxruntime has no CUDA provider: podscribe end to end with --device auto "
              "(ASR on cuda, diarizer on the CPU)")
        systems += (END_TO_END_AUTO,)
    args.out.mkdir(parents=True, exist_ok=True)
    rc = run.main(["--device", "cuda", "--model", args.model, "--fixture", args.fixture, "--repeats",
                   str(args.repeats), "--once", args.once, "--systems", ",".join(systems), "--long-minutes", "0",
                   "--out", str(args.out), "--work", str(args.out / "work"), "--timeout-rtf", "1"])
    doc = json.loads((args.out / "results.json").read_text(encoding="utf-8"))
    lines = [f"# {doc['date']} {doc['files'][args.fixture]['duration']:.1f} s of audio, device cuda, "
             f"model {args.model}, beam {doc['settings']['beam_size']}",
             "system  wall_s  RTF  load_s  WER  (median; error if failed)"]
    for row in doc["summary"]:
        if row["runs"]:
            wer = f"{100 * row['wer']:.1f}%" if row.get("wer") is not None else "-"
            lines.append(f"{row['system']}  {row['wall_s']:.1f}  {row['rtf']:.4f}  {row['load_s'] or 0:.1f}  {wer}")
        else:
            lines.append(f"{row['system']}  failed: {row.get('error')}")
    (args.out / "rtf.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return rc


if __name__ == "__main__":
    sys.exit(main())
