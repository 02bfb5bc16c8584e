"""`podscribe align` against `podscribe transcribe` on one file, wall time, as a user runs them.

    python benchmarks/align_speed.py [--audio A --text T] [--language fr] [--rounds 1] [--out FILE.json]

Each command runs as its own process (the CLI, result cache off, ``-q``), in the order transcribe, align,
align, transcribe per round, so that a machine whose load drifts weighs on both alike; the figure is the
ratio of the medians. Issue 16 asks for align ≤ 1.0× transcribe on the 8.7-minute interview fixture.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


def timed(command: list[str]) -> dict:
    """Run one podscribe command in a fresh output folder: its wall time, exit code and the load before."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        rc = subprocess.run([sys.executable, "-m", "podscribe", *command, "-o", out], check=False).returncode
        return {"wall_s": round(time.perf_counter() - started, 2), "rc": rc, "load_before": round(load, 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--audio", type=Path, default=DATA / "interview.fr.opus")
    p.add_argument("--text", type=Path, default=DATA / "interview.fr.txt")
    p.add_argument("--language", default="fr")
    p.add_argument("--rounds", type=int, default=1, help="transcribe-align-align-transcribe rounds")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "align" / "speed-cli.json")
    args = p.parse_args()
    common = ["--no-cache", "-q", "--language", args.language]
    commands = {
        "transcribe": ["transcribe", str(args.audio), *common],
        "align": ["align", str(args.audio), str(args.text), *common],
    }
    runs = []
    for _ in range(args.rounds):
        for name in ("transcribe", "align", "align", "transcribe"):
            runs.append({"command": name, **timed(commands[name])})
            print(json.dumps(runs[-1]), flush=True)
    medians = {
        name: statistics.median(r["wall_s"] for r in runs if r["command"] == name and r["rc"] == 0)
        for name in commands
    }
    result = {
        "audio": str(args.audio), "text": str(args.text), "language": args.language,
        "command": "python benchmarks/align_speed.py " + " ".join(sys.argv[1:]),
        "runs": runs, "median_s": medians,
        "align_over_transcribe": round(medians["align"] / medians["transcribe"], 3),
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"align / transcribe: {result['align_over_transcribe']}x (medians {medians})")


if __name__ == "__main__":
    main()
