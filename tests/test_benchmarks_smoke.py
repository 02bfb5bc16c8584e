"""The benchmark suite: its summary arithmetic, the long-file plan, and one real --quick run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

import fixtures  # noqa: E402
import run  # noqa: E402

from podscribe.normalizer import Normalizer  # noqa: E402
from podscribe.reference import Reference, Utterance  # noqa: E402
from podscribe.report import evaluate  # noqa: E402


def test_no_benchmark_script_shadows_a_standard_library_module():
    """The benchmarks folder is put on sys.path: a script named like a stdlib module (``profile``)
    would break whatever imports that module afterwards."""
    names = {p.stem for p in (ROOT / "benchmarks").glob("*.py")}
    assert not names & set(sys.stdlib_module_names)


def _run(system: str, wall: float, rss: float, repeat: int = 0, **extra: float) -> dict:
    return {"file": "f", "system": system, "repeat": repeat, "rc": 0, "wall_s": wall, "rtf": wall / 100,
            "cpu_s": wall * 2, "peak_rss_mb": rss, "loadavg_before": 1.0, **extra}


def test_summary_takes_medians_and_ratios_to_plain_faster_whisper():
    runs = [_run("faster-whisper", w, 400) for w in (10, 30, 20)]
    runs += [_run("podscribe", w, 600, cached_ratio=0.01) for w in (50, 40, 90)]
    runs.append({**_run("podscribe", 1, 1), "rc": 1, "error": "boom"})
    rows = {r["system"]: r for r in run.summarise(runs)}
    assert rows["faster-whisper"]["wall_s"] == 20 and rows["faster-whisper"]["wall_s_x"] == 1
    assert rows["podscribe"]["wall_s"] == 50 and rows["podscribe"]["runs"] == 3 and rows["podscribe"]["failed"] == 1
    assert rows["podscribe"]["wall_s_x"] == pytest.approx(2.5)
    assert rows["podscribe"]["peak_rss_mb_x"] == pytest.approx(1.5)
    checks = run.checks(list(rows.values()), {"f": {"duration": 100}})
    assert checks["cache_f"]["pass"]
    assert checks["e2e_vs_plain_fw_f"]["ratio"] == pytest.approx(2.5) and not checks["e2e_vs_plain_fw_f"]["pass"]


def test_long_file_checks_rss_limit_and_growth():
    rows = [{"file": "long-60min", "system": "podscribe", "peak_rss_mb": 1000.0},
            {"file": "long-180min", "system": "podscribe", "peak_rss_mb": 1400.0}]
    checks = run.checks(rows, {"long-60min": {"duration": 3600}, "long-180min": {"duration": 10800}})
    assert checks["rss_long-60min"]["pass"] and checks["rss_long-180min"]["pass"]
    assert checks["rss_growth"]["ratio"] == pytest.approx(1.4) and not checks["rss_growth"]["pass"]


@pytest.mark.parametrize("minutes", [1, 60, 180])
def test_long_file_plan_is_close_to_the_asked_length(minutes):
    pieces = fixtures.plan_pieces(minutes)
    meta = {n: json.loads((fixtures.DATA / f"{n}.json").read_text())["duration"] for n in set(pieces)}
    total = sum(meta[n] + fixtures.GAP_S for n in pieces)
    assert minutes * 60 - 40 <= total <= minutes * 60 + fixtures.TOLERANCE_S
    assert set(pieces) <= {*fixtures.LONG_CYCLE, fixtures.FILLER}


def test_quick_run_writes_results(tmp_path):
    """A real --quick run of one system (plain faster-whisper, greedy to stay fast) on short.fr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "benchmarks/run.py", "--quick", "--systems", "faster-whisper", "--beam-size", "1",
               "--out", str(tmp_path), "--work", str(tmp_path / "work")]
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    (result,) = doc["runs"]
    assert result["system"] == "faster-whisper" and result["file"] == "short.fr" and result["rc"] == 0
    assert result["wall_s"] > 0 and result["cpu_s"] > 0 and result["peak_rss_mb"] > 50
    # The recorded WER is that of the text the system wrote, scored independently against the fixture.
    (written,) = (tmp_path / "work").rglob("result.json")
    text = json.loads(written.read_text(encoding="utf-8"))["text"]
    short = fixtures.fixture("short.fr")
    expected = evaluate(Reference((Utterance(None, text),)), short.reference, normalizer=Normalizer(language="fr"))
    assert result["wer"] == pytest.approx(expected.wer) and result["hyp_words"] == expected.hyp_words > 0
    assert result["ref_words"] == len(Normalizer(language="fr").words(short.reference.text))
    assert "| faster-whisper | 1 |" in (tmp_path / "results.md").read_text(encoding="utf-8")


def test_diarization_benchmark_scores_and_explains_the_overlap_diarizer(tmp_path):
    """benchmarks/diarization.py on short.fr (overlap diarizer, real models): the row's scores, the
    cached local stage reused, and --explain's speakers, clusters and right-count thresholds."""
    import diarization

    audio = str(fixtures.DATA / "short.fr.opus")
    out = tmp_path / "row.json"
    for _ in range(2):  # the second run reads the cached local stage
        assert diarization.main([audio, "--cache", str(tmp_path / "cache"), "--explain", "--out", str(out)]) == 0
    assert len(list((tmp_path / "cache").glob("short.fr.opus-*.npz"))) == 1
    (row,) = json.loads(out.read_text(encoding="utf-8"))["results"]
    assert row["speakers"] == row["true_speakers"] == 2 and row["der0"] <= 3.0  # measured 1.42
    explained = row["explain"]
    assert [s["name"] for s in explained["speakers"]] == ["Mathilde_Wateau", "Romain_Boucher"]
    for speaker in explained["speakers"]:  # each voice's pieces in one cluster of their own
        assert speaker["pieces"] >= 10 and sorted(speaker["clusters"]) == [0, speaker["pieces"]]
    assert explained["centroid_cosine"][0][1] < 0.7  # measured 0.528
    assert any(a <= 0.30 <= b for a, b in explained["right_count_thresholds"])


def test_stage_profile_tells_the_first_pass_from_the_stretches_decoded_again(tmp_path):
    """benchmarks/stage_profile.py on short.fr (real models, its own process: it wraps podscribe's functions):
    the packed windows' pass and the pass over stretches left without words (short.fr had one) are two
    stages inside the ASR's time; the first pass was once counted as "decoded again"."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = tmp_path / "stages.json"
    command = [sys.executable, "benchmarks/stage_profile.py", "--system", "podscribe", "--out", str(out),
               str(fixtures.DATA / "short.fr.opus")]
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    stages = json.loads(out.read_text(encoding="utf-8"))["stages"]
    first, asr = stages["  first pass"], stages["ASR (total)"]
    again = stages.get("  decoded again", {"s": 0.0, "calls": 0})
    assert first["calls"] == 1 and first["windows"] >= 2  # one window per voice at least
    assert again["calls"] <= 1
    assert first["s"] + again["s"] <= asr["s"] + 0.01
