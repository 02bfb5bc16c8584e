"""Batch throughput: the same episodes with ``--workers 1``, ``--workers 2`` and ``--ray`` (2 actors).

Episodes are stretches of tests/data/interview.fr.opus, 1 to 3 minutes long by default (lengths spread
evenly; a stretch starts where the last one ended and wraps round the 522-s source; cut with the bundled
ffmpeg into the work folder, never committed), transcribed with the result cache off so every run computes everything.
For each configuration: wall time (including pool or Ray start-up), episodes per hour, hours of audio
per hour, per-episode worker time, peak RSS per worker, model loads per worker. Figures go to
``benchmarks/results/batch.{json,md}``.

    python benchmarks/batch.py                       # 8 episodes of 60-180 s, configurations 1, 2, ray
    python benchmarks/batch.py --episodes 2 --seconds 30 --configs 1,2   # a quick smoke run
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from podscribe.audio import ffmpeg_path
from podscribe.batching import batch
from podscribe.pipeline import make_options

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tests" / "data" / "interview.fr.opus"
SOURCE_S = 522.0  # its length in seconds
RESULTS = ROOT / "benchmarks" / "results"


def episode_lengths(count: int, seconds: str) -> list[float]:
    """``"60-180"``: ``count`` lengths spread evenly from 60 to 180 s; ``"65"``: all 65 s."""
    low, _, high = seconds.partition("-")
    a, b = float(low), float(high or low)
    return [a + (b - a) * i / max(count - 1, 1) for i in range(count)]


def make_episodes(folder: Path, count: int, seconds: str) -> list[Path]:
    """``count`` consecutive stretches of the interview (wrapping round its end), lengths from ``seconds``."""
    paths, start = [], 0.0
    for i, length in enumerate(episode_lengths(count, seconds)):
        if start + length > SOURCE_S:
            start = 0.0
        path = folder / f"episode{i:02d}.opus"
        subprocess.run([ffmpeg_path(), "-nostdin", "-v", "error", "-y", "-ss", f"{start:.2f}", "-t", f"{length:.2f}",
                        "-i", str(SOURCE), "-c:a", "libopus", "-b:a", "32k", str(path)], check=True)  # fmt: skip
        paths.append(path)
        start += length
    return paths


def run(config: str, episodes: list[Path], outdir: Path, device: str = "auto") -> dict:
    workers = 2 if config == "ray" else int(config)
    start = time.perf_counter()
    report = batch(episodes, outdir, make_options(language="fr", cache=False, device=device), workers=workers,
                   ray=True if config == "ray" else None, progress=False)  # fmt: skip
    wall = time.perf_counter() - start
    done = report.done
    assert report.exit_code == 0, report.summary()
    per_worker: dict[str, dict] = {}
    for r in done:
        w = per_worker.setdefault(r.worker or "?", {"episodes": 0, "peak_rss_mb": 0.0, "model_loads": r.model_loads})
        w["episodes"] += 1
        w["peak_rss_mb"] = max(w["peak_rss_mb"], r.peak_rss_mb or 0.0)
        w["model_loads"] = r.model_loads
    audio_h = sum(r.duration or 0.0 for r in done) / 3600
    return {
        "config": f"--workers {workers}" + (" --ray" if config == "ray" else ""),
        "episodes": len(done),
        "audio_s": round(audio_h * 3600, 1),
        "wall_s": round(wall, 1),
        "episodes_per_hour": round(len(done) / wall * 3600, 1),
        "audio_hours_per_hour": round(audio_h / (wall / 3600), 2),
        "worker_s_per_episode": round(sum(r.wall_s or 0.0 for r in done) / len(done), 1),
        "worker_s_per_audio_minute": round(sum(r.wall_s or 0.0 for r in done) / (audio_h * 60), 1),
        "workers": per_worker,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--seconds", default="60-180", help="episode length, or a range LOW-HIGH spread evenly")
    parser.add_argument("--configs", default="1,2,ray")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (on a GPU node)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        episodes = make_episodes(Path(tmp), args.episodes, args.seconds)
        for config in args.configs.split(","):
            rows.append(run(config, episodes, Path(tmp) / f"out-{config}", args.device))
            print(json.dumps(rows[-1]), file=sys.stderr)
    pool = next((r for r in rows if r["config"] == "--workers 2"), None)
    ray = next((r for r in rows if r["config"].endswith("--ray")), None)
    overhead = round(100 * (ray["wall_s"] / pool["wall_s"] - 1), 1) if pool and ray else None
    result = {"machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} usable cores",
              "date": time.strftime("%Y-%m-%d"), "episodes": args.episodes, "seconds_each": args.seconds,
              "result_cache": "off", "ray_overhead_vs_pool_percent": overhead, "runs": rows}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "batch.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = ["| configuration | episodes | audio (s) | wall (s) | episodes/h | audio h/h | worker s/episode | "
             "peak RSS per worker (MB) | model loads per worker |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        rss = ", ".join(f"{w['peak_rss_mb']:.0f}" for w in r["workers"].values())
        loads = ", ".join(f"asr {w['model_loads'].get('asr')}, diar {w['model_loads'].get('diarization')}"
                          for w in r["workers"].values())  # fmt: skip
        lines.append(f"| {r['config']} | {r['episodes']} | {r['audio_s']} | {r['wall_s']} | {r['episodes_per_hour']} | "
                     f"{r['audio_hours_per_hour']} | {r['worker_s_per_episode']} | {rss} | {loads} |")
    lines.append(f"\nRay wall time vs the 2-process pool: {overhead:+.1f} %" if overhead is not None else "")
    (args.out / "batch.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
