"""Diarization alone, file by file: speaker count, DER, overlap, boundaries, short turns, CPU time.

    PYTHONPATH=src python benchmarks/diarization.py AUDIO... [--set threshold=0.6 ...]
        [--sweep threshold=0.5,0.6,0.7 ...] [--old] [--centroids] [--cache DIR] [--out FILE.json]

Each AUDIO has its exact RTTM beside it (same stem, ``.rttm``). The ``overlap`` diarizer
(``--diarizer overlap``, ``OverlapSettings``) is scored; its local stage (segmentation + embeddings,
the costly part) is cached per file and local settings in ``--cache``, so a sweep of the clustering
and reconstruction settings re-runs only those. ``--old`` scores the ``embedded`` diarizer instead
(the default until 2026-12-04; spectral clustering of window embeddings; the figures in
results/diarization/report-old.json were measured with it at commit 0e4a71c, whose turns are the same:
later changes renamed and shared code). ``--centroids`` scores the overlap diarizer as it was before
session 34: small clusters judged on their pieces' centroids only, without voice embeddings of their speech.
``--set min_cluster_floor=6`` scores it as it was before session 36 (no smaller minimum cluster size on few pieces).

Measures, all without collar unless said:
- speakers found vs in the reference;
- DER (pyannote.metrics, overlap scored) at collar 0 and at ±0.25 s;
- missed overlap: share of the time where the reference has two or more speakers at once during
  which the hypothesis has fewer than two;
- boundary error: for every reference turn start (end), the distance to the nearest hypothesis turn
  start (end) of the hypothesis speaker mapped to that reference speaker (Hungarian mapping on
  overlap); the median over all reference boundaries;
- short turns: reference turns of at most 1 s, found when the mapped speaker covers half of them;
- CPU seconds (process time) of the diarizer on the file, model loading excluded;
- with ``--pyannote``, agreement with pyannote.audio's own ``Inference`` + ``speaker_count`` on the
  shipped segmentation checkpoint: share of frames where both say speech (or both silence), and the
  intersection over union of their overlap frames (two or more speakers);
- with ``--explain`` (overlap diarizer), where the speaker count goes wrong: each reference speaker's
  speech, clustered pieces and the clusters they went to (a piece belongs to the reference speaker
  covering most of its active frames, when it covers 80 %), the cosines between the reference
  speakers' mean piece embeddings, and the clustering thresholds that give the right count.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import logging
import statistics
import sys
import time
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]

from podscribe.audio import load_audio
from podscribe.der import diarization_scores, optimal_mapping
from podscribe.diarization import DiarizationOptions
from podscribe.diarization.embedded import EmbeddedDiarizer
from podscribe.diarization.overlap import (
    SEG_FRAME_STEP,
    LocalSpeakers,
    OverlapDiarizer,
    OverlapSettings,
    cluster,
    diarize_local,
    neighbour_average,
)
from podscribe.reference import load_rttm
from podscribe.transcript import Turn

logger = logging.getLogger("benchmarks.diarization")
GRID = 0.01  # seconds per cell when measuring overlap
SHORT_TURN = 1.0
LOCAL_FIELDS = ("step", "window", "min_clean", "min_embed")  # settings the cached local stage depends on


def activity_grid(turns: list[Turn], duration: float) -> np.ndarray:
    """Number of speakers active in each GRID cell."""
    grid = np.zeros(int(np.ceil(duration / GRID)) + 1, dtype=np.int16)
    for t in turns:
        grid[round(t.start / GRID) : round(t.end / GRID)] += 1
    return grid


def missed_overlap(reference: list[Turn], hypothesis: list[Turn]) -> tuple[float, float]:
    """(reference overlap seconds, share of it where the hypothesis has fewer than two speakers)."""
    duration = max(t.end for t in [*reference, *hypothesis])
    ref, hyp = activity_grid(reference, duration), activity_grid(hypothesis, duration)
    overlapped = ref >= 2
    if not overlapped.any():
        return 0.0, 0.0
    return float(overlapped.sum() * GRID), float((overlapped & (hyp < 2)).sum() / overlapped.sum())


def boundary_errors(reference: list[Turn], hypothesis: list[Turn]) -> list[float]:
    """Per reference boundary, seconds to the nearest same-kind boundary of the mapped hypothesis speaker
    (a reference speaker that no hypothesis speaker maps to contributes no value)."""
    mapping = {ref: hyp for hyp, ref in optimal_mapping(reference, hypothesis).items()}
    errors = []
    for r in reference:
        mine = [h for h in hypothesis if h.speaker == mapping.get(r.speaker)]
        if mine:
            errors.append(min(abs(h.start - r.start) for h in mine))
            errors.append(min(abs(h.end - r.end) for h in mine))
    return errors


def short_turns_found(reference: list[Turn], hypothesis: list[Turn]) -> tuple[int, int]:
    """(found, total) reference turns of at most SHORT_TURN s covered half by the mapped speaker."""
    mapping = {ref: hyp for hyp, ref in optimal_mapping(reference, hypothesis).items()}
    found = total = 0
    for r in reference:
        if r.duration > SHORT_TURN:
            continue
        total += 1
        cover = sum(max(0.0, min(h.end, r.end) - max(h.start, r.start))
                    for h in hypothesis if h.speaker == mapping.get(r.speaker))
        found += cover >= 0.5 * r.duration
    return found, total


def score(reference: list[Turn], hypothesis: list[Turn], cpu: float) -> dict[str, Any]:
    """Every measure of one file."""
    overlap_s, missed = missed_overlap(reference, hypothesis) if hypothesis else (0.0, 1.0)
    errors = boundary_errors(reference, hypothesis) if hypothesis else []
    found, total = short_turns_found(reference, hypothesis) if hypothesis else (0, 0)
    return {
        "speakers": len({t.speaker for t in hypothesis}),
        "true_speakers": len({t.speaker for t in reference}),
        "der0": round(100 * diarization_scores(reference, hypothesis, 0.0).der, 2),
        "der25": round(100 * diarization_scores(reference, hypothesis, 0.25).der, 2),
        "overlap_s": round(overlap_s, 2),
        "missed_overlap": round(100 * missed, 1),
        "boundary_median": round(statistics.median(errors), 3) if errors else None,
        "short_found": found,
        "short_total": total,
        "cpu_s": round(cpu, 2),
    }


def pyannote_agreement(audio: np.ndarray, turns: list[Turn]) -> dict[str, float]:
    """Speech agreement and overlap IoU (percent) with pyannote.audio's Inference on the shipped checkpoint."""
    from podscribe.diarization.pyannote import segmentation_speaker_count, turns_speaker_count

    theirs = segmentation_speaker_count(audio, ROOT / "models" / "pyannote" / "segmentation" / "pytorch_model.bin")
    ours = turns_speaker_count(turns, len(theirs))
    both = ((theirs >= 2) & (ours >= 2)).sum()
    either = ((theirs >= 2) | (ours >= 2)).sum()
    return {"speech_agreement": round(100 * float(np.mean((theirs > 0) == (ours > 0))), 2),
            "overlap_iou": round(100 * both / either, 1) if either else None,
            "pyannote_overlap_s": round(float((theirs >= 2).sum()) * 0.016875, 2)}


def piece_speakers(local: LocalSpeakers, reference: list[Turn]) -> tuple[list[str], np.ndarray]:
    """Reference speaker names, and the index of each piece's speaker: the one covering most of the
    piece's active frames, or -1 when none covers 80 % of them."""
    names = sorted({t.speaker for t in reference})
    frames = local.frames + 1
    spoken = np.zeros((frames, len(names)), dtype=bool)
    for t in reference:
        spoken[int(t.start / SEG_FRAME_STEP) : int(np.ceil(t.end / SEG_FRAME_STEP)), names.index(t.speaker)] = True
    first = local.first_frames()
    out = np.full(len(local.pieces), -1)
    for i, (c, k, a, b) in enumerate(local.pieces):
        active = np.flatnonzero(local.activity[c, a:b, k]) + first[c] + a
        cover = spoken[active[active < frames]].sum(axis=0)
        if len(active) and cover.max() >= 0.8 * len(active):
            out[i] = int(cover.argmax())
    return names, out


def explain(local: LocalSpeakers, reference: list[Turn], settings: OverlapSettings) -> dict[str, Any]:
    """Where the speaker count goes wrong on one file (``--explain``)."""
    from podscribe.diarization.embedded import normalise

    names, truth = piece_speakers(local, reference)
    train = local.clean >= settings.min_active
    features = neighbour_average(local, settings.smooth)[train]
    labels = cluster(features, 1, 8, settings)
    speakers, centres = [], []
    for i, name in enumerate(names):
        mine = train & (truth == i)
        centres.append(normalise(local.embeddings[mine].mean(axis=0)) if mine.any() else np.zeros(192))
        speakers.append({"name": name, "speech_s": round(sum(t.duration for t in reference if t.speaker == name), 1),
                         "pieces": int(mine.sum()),
                         "clusters": np.bincount(labels[truth[train] == i], minlength=labels.max() + 1).tolist()})
    thresholds = np.round(np.arange(0.20, 0.5501, 0.005), 3)
    right = [float(t) for t in thresholds
             if cluster(features, 1, 8, replace(settings, threshold=float(t))).max() + 1 == len(names)]
    ranges: list[list[float]] = []
    for t in right:
        if ranges and t - ranges[-1][1] < 0.0051:
            ranges[-1][1] = t
        else:
            ranges.append([t, t])
    cosines = (np.stack(centres) @ np.stack(centres).T).astype(float)
    return {"speakers": speakers, "centroid_cosine": np.round(cosines, 3).tolist(), "right_count_thresholds": ranges}


def local_stage(diarizer: OverlapDiarizer, audio: np.ndarray, key: str, cache: Path | None) -> tuple[LocalSpeakers, float]:
    """The local speakers of a file and the CPU seconds they took (from the cache when there)."""
    path = cache / f"{key}.npz" if cache else None
    if path and path.is_file():
        data = np.load(path)
        local = LocalSpeakers(data["starts"], data["activity"], data["pieces"], data["embeddings"], data["clean"],
                              int(data["samples"]))
        return local, float(data["cpu"])
    started = time.process_time()
    local = diarizer.local_speakers(audio)
    cpu = time.process_time() - started
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, starts=local.starts, activity=local.activity, pieces=local.pieces,
                            embeddings=local.embeddings,
                            clean=local.clean, samples=local.samples, cpu=cpu)
    return local, cpu


def parse_value(text: str) -> Any:
    """A setting's value from the command line: true/false, an int or a float."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return int(text) if text.lstrip("-").isdigit() else float(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio", nargs="+", type=Path)
    parser.add_argument("--set", action="append", default=[], help="NAME=VALUE of OverlapSettings")
    parser.add_argument("--sweep", action="append", default=[], help="NAME=V1,V2,... (every combination)")
    parser.add_argument("--old", action="store_true",
                        help="score the embedded diarizer instead (the default until 2026-12-04)")
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--centroids", action="store_true",
                        help="small clusters judged on their pieces' centroids (``far``), not on voice embeddings")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--pyannote", action="store_true", help="agreement with pyannote.audio's Inference")
    parser.add_argument("--explain", action="store_true", help="per reference speaker: pieces, clusters, cosines")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    base = replace(OverlapSettings(), **{k: parse_value(v) for k, v in (s.split("=", 1) for s in args.set)})
    grid = {k: [parse_value(x) for x in v.split(",")] for k, v in (s.split("=", 1) for s in args.sweep)}
    names = {f.name for f in fields(OverlapSettings)}
    if set(grid) - names:
        parser.error(f"unknown settings: {sorted(set(grid) - names)}")
    combos = [dict(zip(grid, values)) for values in itertools.product(*grid.values())] or [{}]

    results: list[dict[str, Any]] = []
    diarizers: dict[tuple, Any] = {}
    for audio_path in args.audio:
        reference = load_rttm(audio_path.with_suffix(".rttm"))
        audio = load_audio(audio_path)
        for combo in combos:
            settings = replace(base, **combo)
            extra: dict[str, Any] = {}
            if args.old:
                if "old" not in diarizers:
                    diarizers["old"] = EmbeddedDiarizer()
                started = time.process_time()
                turns = diarizers["old"].diarize(audio, DiarizationOptions())
                cpu = time.process_time() - started
            else:
                local_key = tuple(getattr(settings, f) for f in LOCAL_FIELDS)
                if local_key not in diarizers:
                    diarizers[local_key] = OverlapDiarizer(settings=settings)
                digest = hashlib.sha256(audio_path.read_bytes()).hexdigest()[:12]
                key = f"{audio_path.name}-{digest}-" + "-".join(map(str, local_key))
                local, cpu = local_stage(diarizers[local_key], audio, key, args.cache)
                started = time.process_time()
                voices = None if args.centroids else diarizers[local_key].voice_of(audio)
                turns = diarize_local(local, DiarizationOptions(), settings, voices, diarizers[local_key].hearing(audio))
                cpu += time.process_time() - started
                if args.explain:
                    extra["explain"] = explain(local, reference, settings)
            row = {"file": audio_path.name, "audio_s": round(len(audio) / 16000, 1), **combo,
                   **score(reference, turns, cpu), **extra}
            if args.pyannote:
                row.update(pyannote_agreement(audio, turns))
            results.append(row)
            print(json.dumps(row), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "argv": sys.argv[1:],
                                        "settings": asdict(base), "old": args.old, "results": results},
                                       indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
