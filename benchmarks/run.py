"""Speed, memory and accuracy of podscribe beside plain faster-whisper and openai-whisper, in one run.

    PYTHONPATH=src python benchmarks/run.py [--quick] [--repeats 3] [--long-minutes 60] [--out benchmarks/results]

Every system runs in its own fresh process (model load included) on the same files; the parent takes
wall time, CPU time (user + sys, children such as ffmpeg included) and peak RSS from ``os.wait4``.
Systems are interleaved (repeat r starts at the r-th system) and the median over repeats is reported,
with ratios to plain faster-whisper int8 on the same file. WER (and cpWER, DER where a system has
speakers) comes from podscribe.report with one French normaliser for every system. After each run
the results are rewritten to ``<out>/results.json`` and ``<out>/results.md``. See BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import logging
import os
import platform
import shlex
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(Path(__file__).resolve().parent)]

from fixtures import BenchFile, fixture, long_file, realspeech_files, realspeech_tool  # noqa: E402

from podscribe.der import diarization_scores  # noqa: E402
from podscribe.normalizer import Normalizer  # noqa: E402
from podscribe.report import evaluate  # noqa: E402
from podscribe.reference import Reference, Utterance, load_rttm  # noqa: E402
from podscribe.transcript import Transcript  # noqa: E402

logger = logging.getLogger("benchmarks")

CHILD = Path(__file__).resolve().parent / "child.py"
BASELINE = "faster-whisper"
COLLAR = 0.25
CACHE_LIMIT = 0.05  # a cached re-run must take under 5 % of the first run
LONG_RSS_LIMIT_MB = 2500.0
# name: (system, reference system, limit of system wall / reference wall, WER slack in points or None)
RATIO_CHECKS = {
    "e2e_vs_plain_fw": ("podscribe", "faster-whisper", 1.0, 0.5),
    "openai_engine_overhead": ("podscribe-openai", "openai-whisper", 1.2, None),
    "openai_engine_overhead_words": ("podscribe-openai", "openai-whisper-words", 1.2, None),
    "default_vs_plain_openai": ("podscribe", "openai-whisper", 1 / 6, None),
}
RSS_GROWTH_LIMIT = 1.3
NORMALIZER = Normalizer(language="fr")


@dataclass(frozen=True)
class System:
    """One benchmarked system: how the child process runs it, and a line saying what it is."""

    name: str
    what: str
    mode: str  # child.py mode: podscribe, faster-whisper or openai-whisper
    args: tuple[str, ...] = ()
    command: str = "transcribe"  # podscribe subcommand
    env: tuple[tuple[str, str], ...] = ()  # extra environment of the child


SYSTEMS = {s.name: s for s in (
    System("podscribe", "podscribe CLI end to end: faster-whisper int8, batch 8, VAD, word times, "
           "the default diarizer (overlap; embedded before 2026-12-04), JSON+SRT written", "podscribe"),
    System("faster-whisper", "plain faster-whisper WhisperModel int8, sequential, no VAD, no word times",
           "faster-whisper"),
    System("openai-whisper", "plain openai-whisper fp32, sequential, no word times", "openai-whisper"),
    System("podscribe-openai", "podscribe CLI end to end with --engine openai-whisper", "podscribe",
           ("--engine", "openai-whisper")),
    System("diarize", "podscribe diarize with the default diarizer (overlap; embedded before 2026-12-04), RTTM "
           "written", "podscribe", command="diarize"),
    System("diarize-embedded", "podscribe diarize --diarizer embedded (segmentation-3.0 VAD + CAM++, both ONNX, "
           "+ spectral), RTTM written", "podscribe", ("--diarizer", "embedded"), command="diarize"),
    System("diarize-overlap", "podscribe diarize --diarizer overlap (segmentation-3.0 local speakers + CAM++ "
           "pieces, both ONNX, + AHC, overlap-aware), RTTM written", "podscribe", ("--diarizer", "overlap"),
           command="diarize"),
    # extra systems, for tuning questions (run them with --systems)
    System("podscribe-seq", "podscribe end to end with --batch-size 1 (sequential decoding)", "podscribe",
           ("--batch-size", "1")),
    System("podscribe-asr", "podscribe with --diarizer none (ASR + JSON/SRT only)", "podscribe",
           ("--diarizer", "none")),
    System("podscribe-overlap", "podscribe end to end with --diarizer overlap", "podscribe",
           ("--diarizer", "overlap")),
    System("podscribe-embedded", "podscribe end to end with --diarizer embedded", "podscribe",
           ("--diarizer", "embedded")),
    System("podscribe-auto", "podscribe CLI end to end with --device auto (given after --device): each model "
           "where its runtime sees CUDA, so the ASR on the GPU and, without onnxruntime-gpu, the diarizer on the CPU",
           "podscribe", ("--device", "auto")),
    System("podscribe-openai-asr", "podscribe --engine openai-whisper --diarizer none", "podscribe",
           ("--engine", "openai-whisper", "--diarizer", "none")),
    System("openai-whisper-words", "plain openai-whisper fp32, sequential, word_timestamps=True (podscribe's "
           "job: it needs word times)", "openai-whisper", ("--word-timestamps",)),
    System("faster-whisper-batched", "plain faster-whisper BatchedInferencePipeline, batch 8 (VAD on)",
           "faster-whisper", ("--batch-size", "8")),
    System("fw-batched", "plain faster-whisper BatchedInferencePipeline, batch 8, its VAD, word_timestamps=True "
           "(WhisperX's recipe without its diarization)", "faster-whisper", ("--batch-size", "8", "--word-timestamps")),
    System("fw-vad", "plain faster-whisper WhisperModel int8, sequential, its own VAD (vad_filter=True), "
           "word_timestamps=True", "faster-whisper", ("--vad", "--word-timestamps")),
    System("faster-whisper-2t", "plain faster-whisper int8, sequential, cpu_threads=2", "faster-whisper",
           ("--threads", "2")),
    System("faster-whisper-1t", "plain faster-whisper int8, sequential, cpu_threads=1", "faster-whisper",
           ("--threads", "1")),
    System("openai-whisper-1t", "plain openai-whisper with OMP_NUM_THREADS=1 (one torch thread)", "openai-whisper",
           env=(("OMP_NUM_THREADS", "1"),)),
    System("podscribe-1t", "podscribe end to end with OMP_NUM_THREADS=1 (one ASR thread)", "podscribe",
           env=(("OMP_NUM_THREADS", "1"),)),
    System("podscribe-openai-1t", "podscribe --engine openai-whisper with OMP_NUM_THREADS=1", "podscribe",
           ("--engine", "openai-whisper"), env=(("OMP_NUM_THREADS", "1"),)),
)}
DEFAULT_SYSTEMS = ("podscribe", "faster-whisper", "openai-whisper", "podscribe-openai", "diarize")
LONG_SYSTEMS = ("podscribe", "faster-whisper", "diarize")
QUICK_SYSTEMS = ("podscribe", "faster-whisper")


@dataclass(frozen=True)
class Settings:
    """What every system is asked for, identically."""

    model: str
    beam_size: int
    language: str
    device: str
    ct2_dir: str
    openai_pt: str
    work: Path
    timeout_rtf: float  # a run is killed after this many times the audio's duration (10 min at least)


# ---- running one system ------------------------------------------------------------------------


def child_command(system: System, file: BenchFile, out: Path, result: Path, s: Settings,
                  formats: str = "json,srt") -> list[str]:
    """The command line of one run of ``system`` on ``file``, writing into ``out``."""
    head = [sys.executable, str(CHILD), "--result", str(result), system.mode]
    if system.mode == "podscribe" and system.command == "diarize":
        return [*head, "diarize", str(file.audio), "-o", str(out), "--device", s.device, "-q", *system.args]
    if system.mode == "podscribe":
        language = () if s.language == "auto" else ("--language", s.language)
        return [*head, "transcribe", str(file.audio), "-o", str(out), "-f", formats, "--model", s.model,
                *language, "--beam-size", str(s.beam_size), "--device", s.device, "-q", *system.args]
    model = s.ct2_dir if system.mode == "faster-whisper" else s.openai_pt
    compute = "float16" if s.device == "cuda" else "int8"
    extra = ("--compute-type", compute) if system.mode == "faster-whisper" else ()
    return [*head, str(file.audio), "--model", model, "--device", s.device, "--beam-size", str(s.beam_size),
            "--language", s.language, *extra, *system.args]


def child_env(cache: Path | None) -> dict[str, str]:
    """Environment of a child: podscribe importable, no hub access, ffmpeg on PATH, its own result cache."""
    from podscribe.audio import ffmpeg_path

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    env["HF_HUB_OFFLINE"] = "1"
    env["PATH"] = os.pathsep.join((str(Path(ffmpeg_path()).parent), env.get("PATH", "")))
    if cache is not None:
        env["PODSCRIBE_CACHE"] = str(cache)
    return env


def fresh_cache(folder: Path) -> Path:
    """A podscribe cache with the real cache's weights (linked) and no cached results: a first run."""
    from podscribe.files import cache_dir

    folder.mkdir(parents=True, exist_ok=True)
    for entry in cache_dir().iterdir():
        if entry.name != "results" and not (folder / entry.name).exists():
            (folder / entry.name).symlink_to(entry.resolve())
    return folder


def measure(command: list[str], env: dict[str, str], log: Path, timeout_s: float) -> dict[str, Any]:
    """Run ``command`` and return its wall time, user+sys CPU time and peak RSS (its own, from wait4)."""
    killed = threading.Event()
    with open(log, "w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        timer = threading.Timer(timeout_s, lambda: (killed.set(), proc.kill()))
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "rc": proc.returncode,
        "timed_out": killed.is_set(),
        "wall_s": wall,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss * 1024 / 1e6,  # Linux reports KiB
    }


def run_once(system: System, file: BenchFile, repeat: int, s: Settings, run_root: Path) -> dict[str, Any]:
    """One measured run (and, for podscribe end to end, the cached re-run with another format)."""
    folder = run_root / file.name / system.name / f"r{repeat}"
    out = folder / "out"
    out.mkdir(parents=True, exist_ok=True)
    cache = fresh_cache(folder / "cache") if system.mode == "podscribe" else None
    env = {**child_env(cache), **dict(system.env)}
    record: dict[str, Any] = {"file": file.name, "system": system.name, "repeat": repeat,
                              "loadavg_before": os.getloadavg()[0], "src_changed": _src_changed()}
    logger.info("%s on %s, repeat %d", system.name, file.name, repeat)
    result = folder / "result.json"
    command = child_command(system, file, out, result, s)
    record["command"] = shlex.join(command)
    timeout = max(600.0, s.timeout_rtf * file.duration)
    record.update(measure(command, env, folder / "log.txt", timeout))
    record["loadavg_after"] = os.getloadavg()[0]
    record["rtf"] = record["wall_s"] / file.duration
    if record["rc"] != 0 or not result.is_file():
        record["error"] = f"killed after {timeout:.0f} s" if record["timed_out"] else _tail(folder / "log.txt")
        logger.error("%s failed (exit %s): %s", system.name, record["rc"], record["error"])
        return record
    child = json.loads(result.read_text(encoding="utf-8"))
    record.update({k: v for k, v in child.items() if k.endswith("_s")})
    try:
        record.update(score(system, file, out, child))
    except Exception as e:  # a scoring problem must not lose the timings
        record["score_error"] = f"{type(e).__name__}: {e}"
        logger.error("scoring %s failed: %s", system.name, record["score_error"])
    if system.name == "podscribe":
        again = measure(child_command(system, file, out, folder / "cached.json", s, formats="vtt"), env,
                        folder / "cached-log.txt", timeout)
        record["cached_wall_s"] = again["wall_s"]
        record["cached_ratio"] = again["wall_s"] / record["wall_s"]
        record["cached_ok"] = again["rc"] == 0 and (out / f"{file.audio.stem}.vtt").is_file()
    return record


def score(system: System, file: BenchFile, out: Path, child: dict[str, Any]) -> dict[str, Any]:
    """WER (all), cpWER and DER (systems with speakers), with the same normaliser and collar for every system."""
    stem = file.audio.stem
    if system.command == "diarize" and system.mode == "podscribe":
        d = diarization_scores(file.turns, load_rttm(out / f"{stem}.rttm"), COLLAR)
        d0 = diarization_scores(file.turns, load_rttm(out / f"{stem}.rttm"), 0.0)
        return {"der": d.der, "der_collar0": d0.der}
    if system.mode == "podscribe":
        hypothesis: Transcript | Reference = Transcript.load(out / f"{stem}.json")
    else:
        hypothesis = Reference((Utterance(None, child["text"]),))
    report = evaluate(hypothesis, file.reference, reference_turns=file.turns, collar=COLLAR, normalizer=NORMALIZER)
    return {"wer": report.wer, "cpwer": report.cpwer, "der": report.der, "der_collar0": report.der_collar0,
            "hyp_words": report.hyp_words, "ref_words": report.ref_words, "speakers_hyp": report.speakers_hyp,
            "substitutions": report.substitutions, "deletions": report.deletions, "insertions": report.insertions}


def _src_changed() -> str:
    """When podscribe's source last changed (others may edit it while a long benchmark runs)."""
    latest = max(p.stat().st_mtime for p in (ROOT / "src" / "podscribe").rglob("*.py"))
    return datetime.datetime.fromtimestamp(latest).astimezone().isoformat(timespec="seconds")


def _git_state() -> dict[str, str]:
    """The commit and the uncommitted changes under src/ that the runs measured."""
    def git(*a: str) -> str:
        proc = subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else "unknown"

    return {"head": git("rev-parse", "--short", "HEAD"), "src_status": git("status", "--short", "src")}


def _tail(log: Path, lines: int = 3) -> str:
    text = log.read_text(encoding="utf-8", errors="replace").strip().splitlines() if log.is_file() else []
    return " | ".join(text[-lines:]) or "no output"


# ---- summary --------------------------------------------------------------------------------------

FIGURES = ("wall_s", "rtf", "cpu_s", "peak_rss_mb", "load_s", "wer", "substitutions", "deletions", "insertions",
           "cpwer", "der", "der_collar0", "cached_wall_s", "cached_ratio", "loadavg_before")


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median of each figure per (file, system) over successful runs, with ratios to the baseline."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["file"], r["system"]), []).append(r)
    rows = []
    for (file, system), group in groups.items():
        good = [r for r in group if r["rc"] == 0 and "error" not in r]
        row: dict[str, Any] = {"file": file, "system": system, "runs": len(good), "failed": len(group) - len(good)}
        for key in FIGURES:
            values = [r[key] for r in good if r.get(key) is not None]
            row[key] = statistics.median(values) if values else None
        if len(good) < len(group):
            row["error"] = next(r.get("error") for r in group if r not in good)
        slow = [r["wall_s"] for r in group if r.get("timed_out")]
        row["timed_out_after_s"] = min(slow) if slow else None  # a lower bound when no run finished
        rows.append(row)
    for row in rows:
        base = next((b for b in rows if b["file"] == row["file"] and b["system"] == BASELINE), None)
        for key in ("wall_s", "cpu_s", "peak_rss_mb"):
            ok = base is not None and base.get(key) and row.get(key) is not None
            row[f"{key}_x"] = row[key] / base[key] if ok else None
    return rows


def checks(rows: list[dict[str, Any]], files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The issue's pass/fail figures: speed ratios (wall, same file, same run), cached re-run time,
    long-file peak RSS and its growth with length."""
    result: dict[str, Any] = {}
    by = {(r["file"], r["system"]): r for r in rows if r.get("wall_s")}
    for file in files:
        for name, (slow, fast, limit, wer_slack) in RATIO_CHECKS.items():
            a, b = by.get((file, slow)), by.get((file, fast))
            if a and b:
                ratio = a["wall_s"] / b["wall_s"]
                check = {"ratio": ratio, "limit": limit, "pass": ratio <= limit}
                if wer_slack is not None and a.get("wer") is not None and b.get("wer") is not None:
                    check["wer_diff_pt"] = 100 * (a["wer"] - b["wer"])
                    check["pass"] = check["pass"] and check["wer_diff_pt"] <= wer_slack
                result[f"{name}_{file}"] = check
    for row in rows:
        if row["system"] == "podscribe" and row.get("cached_ratio") is not None:
            result[f"cache_{row['file']}"] = {"ratio": row["cached_ratio"], "limit": CACHE_LIMIT,
                                              "pass": row["cached_ratio"] < CACHE_LIMIT}
    long_rows = sorted((r for r in rows if r["system"] == "podscribe" and r["file"].startswith("long-")
                        and r.get("peak_rss_mb")), key=lambda r: files[r["file"]]["duration"])
    for row in long_rows:
        result[f"rss_{row['file']}"] = {"peak_rss_mb": row["peak_rss_mb"], "limit_mb": LONG_RSS_LIMIT_MB,
                                        "pass": row["peak_rss_mb"] <= LONG_RSS_LIMIT_MB}
    if len(long_rows) > 1:
        growth = long_rows[-1]["peak_rss_mb"] / long_rows[0]["peak_rss_mb"]
        result["rss_growth"] = {"from": long_rows[0]["file"], "to": long_rows[-1]["file"], "ratio": growth,
                                "limit": RSS_GROWTH_LIMIT, "pass": growth <= RSS_GROWTH_LIMIT}
    return result


def _fmt(value: Any, kind: str = "num") -> str:
    if value is None:
        return "–"
    if kind == "pct":
        return f"{100 * value:.1f} %"
    if kind == "x":
        return f"{value:.2f}×"
    if kind == "rtf":
        return f"{value:.3f}"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}"


def _sdi(row: dict[str, Any]) -> str:
    """Substitutions/deletions/insertions (medians), or a dash for a system without words."""
    counts = [row.get(k) for k in ("substitutions", "deletions", "insertions")]
    return "–" if None in counts else "/".join(f"{c:g}" for c in counts)


def _wall_cells(row: dict[str, Any], duration: float, base: dict[str, Any] | None) -> tuple[str, str, str]:
    """Wall s, RTF and wall ratio; '> x' lower bounds for a system whose every run was killed."""
    if row["runs"] or row.get("timed_out_after_s") is None:
        return _fmt(row["wall_s"]), _fmt(row["rtf"], "rtf"), _fmt(row["wall_s_x"], "x")
    wall = row["timed_out_after_s"]
    ratio = f"> {wall / base['wall_s']:.1f}×" if base and base.get("wall_s") else "–"
    return f"> {wall:.0f}", f"> {wall / duration:.2f}", ratio

def markdown(doc: dict[str, Any]) -> str:
    """The results as Markdown: one table per file, then the checks and the conditions."""
    lines = [f"# podscribe benchmark ({doc['date']})", "", f"Command: `{doc['command']}`", "",
             f"Machine: {doc['machine']['cpu']}, {doc['machine']['cores']} cores, "
             f"{doc['machine']['ram_gb']:.0f} GB RAM, {doc['machine']['python']}; device {doc['settings']['device']}; "
             f"model {doc['settings']['model']}, beam {doc['settings']['beam_size']}, "
             f"language {doc['settings']['language']} for every system.", ""]
    header = ("| system | runs | wall s | RTF | CPU s | peak RSS MB | load s | WER | S/D/I | cpWER | DER ±0.25 s "
              "| wall × fw | CPU × fw | RSS × fw |")
    for name, info in doc["files"].items():
        rows = [r for r in doc["summary"] if r["file"] == name]
        if not rows:
            continue
        lines += [f"## {name} ({info['duration']:.1f} s of audio; medians)", "", header,
                  "| --- " * 14 + "|"]
        base = next((r for r in rows if r["system"] == BASELINE), None)
        for r in rows:
            runs = f"{r['runs']}" + (f" (+{r['failed']} failed)" if r["failed"] else "")
            wall, rtf, wall_x = _wall_cells(r, info["duration"], base)
            lines.append(
                f"| {r['system']} | {runs} | {wall} | {rtf} | {_fmt(r['cpu_s'])} "
                f"| {_fmt(r['peak_rss_mb'])} | {_fmt(r['load_s'])} | {_fmt(r['wer'], 'pct')} | {_sdi(r)} "
                f"| {_fmt(r['cpwer'], 'pct')} | {_fmt(r['der'], 'pct')} | {wall_x} "
                f"| {_fmt(r['cpu_s_x'], 'x')} | {_fmt(r['peak_rss_mb_x'], 'x')} |")
        lines.append("")
        for r in rows:
            if r.get("error"):
                lines.append(f"- {r['system']} failed: {r['error']}")
    lines += ["## Checks", ""]
    for key, c in doc["checks"].items():
        figure = c.get("ratio", c.get("peak_rss_mb"))
        limit = c.get("limit", c.get("limit_mb"))
        wer = f", WER {c['wer_diff_pt']:+.1f} pt (limit +0.5)" if "wer_diff_pt" in c else ""
        lines.append(f"- {key}: {figure:.3f} (limit {limit:.3g}){wer} — {'pass' if c['pass'] else 'FAIL'}")
    lines += ["", "## Systems", ""] + [f"- **{n}**: {SYSTEMS[n].what}" for n in doc["systems"]]
    versions = sorted({r["src_changed"] for r in doc["runs"] if r.get("src_changed")})
    if versions:
        lines += ["", f"Code: commit {doc.get('code', {}).get('head', '?')} plus uncommitted work; src/ last changed "
                      f"{versions[-1]}" + (f" ({len(versions)} versions of src/ measured: it changed during the run)"
                                           if len(versions) > 1 else "") + "."]
    loads = [r["loadavg_before"] for r in doc["runs"]]
    if loads:
        lines += ["", f"Load average (1 min) before runs: {min(loads):.1f} to {max(loads):.1f} "
                      f"(other processes share the machine)."]
    return "\n".join(lines) + "\n"


def machine() -> dict[str, Any]:
    """CPU model, core count, RAM and versions, for the results' header."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        ram = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal"))) * 1024 / 1e9
    except OSError:
        ram = float("nan")
    versions = {}
    for package in ("faster-whisper", "ctranslate2", "openai-whisper", "torch", "onnxruntime", "numpy"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "ram_gb": ram,
            "python": f"Python {platform.python_version()}", "versions": versions,
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}


# ---- main -------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="short.fr only, 1 repeat, podscribe + plain faster-whisper (unless --systems)")
    p.add_argument("--fixture", help="fixture to benchmark (default interview.fr; short.fr with --quick)")
    p.add_argument("--realspeech", action="append", metavar="PART", choices=realspeech_tool().PARTS,
                   help="recorded-speech files of this part of tools/make_realspeech.py's set (built into the "
                        "work folder) instead of the fixture (unless --fixture is given too); repeatable")
    p.add_argument("--repeats", type=int, help="repeats on the fixture (default 3; 1 with --quick)")
    p.add_argument("--systems", help=f"comma-separated, from: {', '.join(SYSTEMS)} "
                                     f"(default {','.join(DEFAULT_SYSTEMS)})")
    p.add_argument("--once", default="", metavar="SYSTEMS",
                   help="comma-separated systems run in the first repeat only (slow ones, e.g. openai-whisper)")
    p.add_argument("--long-minutes", type=float, nargs="*", default=None, metavar="MIN",
                   help="long concatenated files to run too (default 60; none with --quick; 0 = none)")
    p.add_argument("--long-part", choices=realspeech_tool().PARTS, metavar="PART",
                   help="the long files join this recorded-speech part's files in turn instead of the fixtures")
    p.add_argument("--long-repeats", type=int, default=1)
    p.add_argument("--long-systems", default=",".join(LONG_SYSTEMS), help="systems run on the long files")
    p.add_argument("--model", default="base")
    p.add_argument("--beam-size", type=int, default=5)
    p.add_argument("--language", default="fr", help="a language code, or auto: each system detects it")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="results.json/.md go here")
    p.add_argument("--work", type=Path, help="long files and run outputs (default: podscribe-bench beside the "
                                             "podscribe cache)")
    p.add_argument("--baseline-src", type=Path, metavar="DIR",
                   help="also run system podscribe-baseline: the podscribe CLI from another checkout's src/ "
                        "(before and after a change, side by side)")
    p.add_argument("--timeout-rtf", type=float, default=20.0,
                   help="kill a run after this many times the audio's duration (at least 10 min; default 20)")
    return p


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown:
        raise SystemExit(f"unknown system(s): {', '.join(unknown)} (known: {', '.join(SYSTEMS)})")
    return names


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    from podscribe.files import cache_dir
    from podscribe.weights import cpu_int8, resolve_ct2, resolve_openai

    if args.baseline_src:
        src = args.baseline_src.resolve()
        SYSTEMS["podscribe-baseline"] = System("podscribe-baseline", f"podscribe CLI end to end, the code of {src}",
                                               "podscribe", env=(("PYTHONPATH", str(src)),))
    systems = _names(args.systems or ",".join(QUICK_SYSTEMS if args.quick else DEFAULT_SYSTEMS))
    if args.baseline_src and "podscribe-baseline" not in systems:
        systems.append("podscribe-baseline")
    repeats = args.repeats or (1 if args.quick else 3)
    long_minutes = [m for m in (args.long_minutes if args.long_minutes is not None else
                                ([] if args.quick else [60.0])) if m > 0]
    long_systems = _names(args.long_systems)
    once = set(_names(args.once))
    needs_openai = any(SYSTEMS[n].mode == "openai-whisper" or "openai-whisper" in SYSTEMS[n].args
                       for n in (*systems, *(long_systems if long_minutes else ())))
    work = args.work or cache_dir().parent / "podscribe-bench"
    settings = Settings(
        model=args.model, beam_size=args.beam_size, language=args.language, device=args.device,
        ct2_dir=str(resolve_ct2(args.model)),  # weights assembled before any timing ...
        openai_pt=str(resolve_openai(args.model)) if needs_openai else "",
        work=work, timeout_rtf=args.timeout_rtf,
    )
    if args.device == "cpu":
        cpu_int8(Path(settings.ct2_dir))  # ... and their int8 copy, which podscribe loads on the CPU
    files = [] if args.realspeech and not args.fixture else [
        fixture(args.fixture or ("short.fr" if args.quick else "interview.fr"))]
    for part in args.realspeech or ():
        files += realspeech_files(part, work / "realspeech")
    plan = [(f, systems, repeats) for f in files]
    for minutes in long_minutes:
        files.append(long_file(minutes, work, args.long_part))
        plan.append((files[-1], long_systems, args.long_repeats))
    run_root = work / "runs" / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    doc: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": shlex.join(["python", "benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine(),
        "code": _git_state(),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(settings).items()},
        "systems": list(dict.fromkeys([*systems, *(long_systems if long_minutes else [])])),
        "files": {f.name: {"audio": str(f.audio), "duration": f.duration} for f in files},
        "runs": [],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for file, names, count in plan:
        for repeat in range(count):
            order = names[repeat % len(names):] + names[:repeat % len(names)]
            for name in (n for n in order if repeat == 0 or n not in once):
                doc["runs"].append(run_once(SYSTEMS[name], file, repeat, settings, run_root))
                write(doc, args.out)
    write(doc, args.out)
    print(markdown(doc))
    failed = [r for r in doc["runs"] if r["rc"] != 0 or "error" in r]
    return 1 if failed else 0


def write(doc: dict[str, Any], out: Path) -> None:
    """(Re)write results.json and results.md from the runs so far."""
    doc["summary"] = summarise(doc["runs"])
    doc["checks"] = checks(doc["summary"], doc["files"])
    (out / "results.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
    (out / "results.md").write_text(markdown(doc), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
