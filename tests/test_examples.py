"""The example scripts and the walkthrough notebook run end to end on the bundled fixtures (real models)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
import srt

from podscribe.audio import ffmpeg_path

from conftest import DATA, ROOT

NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"
NAMES = ("Mathilde Wateau", "Romain Boucher")  # the speakers of short.fr


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment with the checkout's src/ importable (harmless when podscribe is installed)."""
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)  # also reaches the notebook's kernel
    return dict(os.environ)


def run_example(name: str, *args: str | Path, env: dict[str, str]) -> str:
    """Run examples/<name> with this Python and return its stdout; fail with its stderr on a non-zero exit."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *map(str, args)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, f"{name} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_align_known_text(tmp_path: Path, env: dict[str, str]) -> None:
    out = run_example("align_known_text.py", "--out", tmp_path, env=env)
    turns = json.loads((DATA / "short.fr.json").read_text(encoding="utf-8"))["turns"]
    transcript = json.loads((tmp_path / "short.fr.json").read_text(encoding="utf-8"))
    said = [w["text"] for s in transcript["segments"] for w in s["words"]]
    assert " ".join(said).replace("\u00a0", " ").split() == [w for t in turns for w in t["text"].split()]
    names = {s["id"]: s["name"] for s in transcript["speakers"]}
    assert [names[s["speaker"]] for s in transcript["segments"]] == [t["speaker"] for t in turns]
    cues = list(srt.parse((tmp_path / "short.fr.srt").read_text(encoding="utf-8")))
    assert cues and all(0 <= c.start.total_seconds() < c.end.total_seconds() <= 30 for c in cues)
    assert f"{len(said)} words of the text, 0 not found in the speech" in out


def test_transcribe_podcast(tmp_path: Path, env: dict[str, str]) -> None:
    out = run_example("transcribe_podcast.py", "--out", tmp_path, env=env)
    for ext in ("json", "txt", "srt", "html"):
        assert (tmp_path / f"short.fr.{ext}").stat().st_size > 0
    txt = (tmp_path / "short.fr.txt").read_text(encoding="utf-8")
    assert txt.strip() in out
    speakers = {line.split(" : ", 1)[0] for line in txt.splitlines()}
    assert speakers == set(NAMES)  # two speakers, named from the reference
    cues = list(srt.parse((tmp_path / "short.fr.srt").read_text(encoding="utf-8")))
    assert cues and all(0 <= c.start.total_seconds() < c.end.total_seconds() <= 30 for c in cues)
    transcript = json.loads((tmp_path / "short.fr.json").read_text(encoding="utf-8"))
    assert transcript["language"] == "fr"
    assert {s["name"] for s in transcript["speakers"]} == set(NAMES)
    assert "<html" in (tmp_path / "short.fr.html").read_text(encoding="utf-8").lower()


def test_subtitles_for_video(tmp_path: Path, env: dict[str, str]) -> None:
    clip = tmp_path / "noisy40.mp4"  # the first 40 s of the 167 s video keep the test short
    cut = ["-nostdin", "-v", "error", "-i", DATA / "noisy.fr.mp4", "-t", "40", "-c", "copy", clip]
    subprocess.run([ffmpeg_path(), *cut], check=True, timeout=60)
    out = run_example("subtitles_for_video.py", "--input", clip, "--out", tmp_path / "subs", env=env)
    cues = list(srt.parse((tmp_path / "subs" / "noisy40.srt").read_text(encoding="utf-8")))
    assert cues and all(timedelta(0) <= c.start < c.end for c in cues)
    assert all(a.end <= b.start for a, b in pairwise(cues))
    assert all(len(line) <= 42 for c in cues for line in c.content.split("\n"))
    assert cues[-1].end.total_seconds() <= 40.5
    vtt = (tmp_path / "subs" / "noisy40.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and vtt.count(" --> ") == len(cues)
    assert f"{len(cues)} cues, " in out  # the check_cues report


def reference_lines(fixture: str) -> list[str]:
    turns = json.loads((DATA / f"{fixture}.json").read_text(encoding="utf-8"))["turns"]
    return [f"{t['speaker']} : {t['text']}" for t in turns]


def test_measure_wer_transcribes_and_scores(tmp_path: Path, env: dict[str, str]) -> None:
    out = run_example("measure_wer.py", "--out", tmp_path, env=env)
    reference = (tmp_path / "reference.txt").read_text(encoding="utf-8")
    assert reference.splitlines() == reference_lines("short.fr")
    for row in ("WER", "cpWER", "DER (collar 0)", "DER (collar ±0.25 s)"):
        assert f"\n{row} " in "\n" + out
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["ref_words"] > 50 and report["hyp_words"] > 0
    assert 0 <= report["wer"] <= 2 and 0 <= report["cpwer"] <= 2
    assert report["der"] is not None and 0 <= report["der"] <= 1
    assert set(report["speaker_mapping"].values()) <= set(NAMES)


def test_measure_wer_scores_existing_files(tmp_path: Path, env: dict[str, str]) -> None:
    """--hypothesis/--reference score files without any model: one word added to N gives WER 1/N."""
    lines = reference_lines("short.fr")
    reference = tmp_path / "ref.txt"
    reference.write_text("\n".join(lines) + "\n", encoding="utf-8")
    hypothesis = tmp_path / "hyp.txt"
    hypothesis.write_text("\n".join(lines) + " bonjour\n", encoding="utf-8")
    out = run_example(
        "measure_wer.py", "--hypothesis", hypothesis, "--reference", reference,
        "--rttm", DATA / "short.fr.rttm", "--out", tmp_path, env=env,
    )  # fmt: skip
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert (report["deletions"], report["substitutions"], report["insertions"]) == (0, 0, 1)
    assert report["wer"] == pytest.approx(1 / report["ref_words"])
    assert report["cpwer"] == pytest.approx(report["wer"])
    assert report["der"] is None  # a TXT hypothesis has no turns to score
    assert "DER / JER" in out


def test_notebook_is_committed_without_outputs() -> None:
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_notebook_runs(env: dict[str, str]) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()  # raises CellExecutionError on the first cell that fails
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert all(name in text for name in NAMES)
    assert "cpWER" in text and "DER (collar 0)" in text and " --> " in text
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the timeline figure, inline
