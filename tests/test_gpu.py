"""GPU paths (``pytest -m gpu``; skipped where CTranslate2 sees no CUDA device): each engine on CUDA reads what
it reads on the CPU, the CLI writes its files with ``--device cuda``, ``--device auto`` puts the ASR on the
GPU and diarizes where onnxruntime runs, and a device index past the GPUs is one line."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest
from test_asr import AGREE, check_times, words
from test_cli import assert_one_line_error, podscribe

from podscribe.asr import load_engine
from podscribe.asr.faster_whisper import FasterWhisperEngine
from podscribe.audio import SAMPLE_RATE, load_audio
from podscribe.pipeline import Pipeline, make_options

from conftest import DATA

pytestmark = pytest.mark.gpu

# AGREE (test_asr): equal settings on both devices, greedy, no temperature fallback, no VAD, one clip batch.
SHORT = DATA / "short.fr.opus"  # two speakers (tests/data/short.fr.rttm)


def cuda_devices() -> int:
    """CUDA devices CTranslate2 sees (0 without a GPU or with a CPU-only build)."""
    import ctranslate2

    return int(ctranslate2.get_cuda_device_count())


@pytest.fixture(scope="module", autouse=True)
def _needs_cuda() -> None:
    if cuda_devices() == 0:
        pytest.skip("no CUDA device seen by CTranslate2")


def split_words(text: str) -> list[str]:
    """Lowercase words without punctuation, as test_asr's ``words`` gives an engine result's."""
    return re.sub(r"[^\w]+", " ", text.lower()).split()


def reference_words() -> list[str]:
    """The words of short.fr's two turns (tests/data/short.fr.json)."""
    turns = json.loads((DATA / "short.fr.json").read_text(encoding="utf-8"))["turns"]
    return split_words(" ".join(t["text"] for t in turns))


def similarity(a: list[str], b: list[str]) -> float:
    """How much of two word lists match, in order (difflib's ratio: 1.0 the same words, 0.0 none)."""
    return difflib.SequenceMatcher(a=a, b=b, autojunk=False).ratio()


def test_faster_whisper_on_cuda_in_float32_reads_the_cpus_words() -> None:
    """float32 on both devices: only the GPU's kernels differ, so greedy decoding reads (nearly) the same."""
    audio = load_audio(SHORT)
    cpu = FasterWhisperEngine("base", device="cpu", compute_type="float32").transcribe(audio, AGREE)
    gpu_engine = FasterWhisperEngine("base", device="cuda", compute_type="float32")
    assert (gpu_engine.device, gpu_engine.compute_type) == ("cuda", "float32")
    gpu = gpu_engine.transcribe(audio, AGREE)
    ratio = similarity(words(cpu), words(gpu))
    print(f"faster-whisper float32 cpu/cuda word similarity {ratio:.3f}")
    assert ratio >= 0.9, (words(cpu), words(gpu))


@pytest.mark.parametrize("engine", ["faster-whisper", "openai-whisper"])
def test_an_engine_on_cuda_in_float16_reads_as_well_as_on_the_cpu(engine: str) -> None:
    """Each engine's CUDA default (float16) against its CPU default (int8 / fp32), both scored on the text:
    half precision may change some words of this synthetic speech, not lose the text."""
    audio = load_audio(SHORT)
    ref = reference_words()
    gpu_engine = load_engine(engine, "base", device="cuda")
    if isinstance(gpu_engine, FasterWhisperEngine):
        assert gpu_engine.compute_type == "float16"
    gpu = gpu_engine.transcribe(audio, AGREE)
    cpu = load_engine(engine, "base", device="cpu").transcribe(audio, AGREE)
    on_gpu, on_cpu = similarity(ref, words(gpu)), similarity(ref, words(cpu))
    print(f"{engine}: similarity to the reference, cuda {on_gpu:.3f}, cpu {on_cpu:.3f}")
    assert on_gpu >= on_cpu - 0.1
    check_times(gpu, len(audio) / SAMPLE_RATE)


def test_cli_with_device_cuda_writes_its_files(tmp_path: Path) -> None:
    proc = podscribe("transcribe", str(SHORT), "-o", str(tmp_path), "-f", "json,srt", "--language", "fr",
                     "--device", "cuda", "--diarizer", "none", "--quiet")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "short.fr.json").read_text(encoding="utf-8"))
    assert len([w for s in data["segments"] for w in s["words"]]) >= 20
    assert (tmp_path / "short.fr.srt").read_text(encoding="utf-8").strip()


def test_device_auto_puts_the_asr_on_cuda_and_finds_both_speakers() -> None:
    """auto: each runtime's own choice; without onnxruntime-gpu the diarizer runs on the CPU. The text bound is
    a floor against a lost text, not an accuracy figure: on an H200 (2026-12-04) this greedy float16 run read
    0.37 of the reference (a repetition loop in Romain's turn), the engines alone 0.39 (BENCHMARKS.md, "GPU")."""
    pipeline = Pipeline(make_options(device="auto", language="fr", beam_size=1, cache=False))
    transcript = pipeline.run(SHORT)
    assert pipeline.engine.device == "cuda"
    assert len(transcript.speakers) == 2
    assert similarity(reference_words(), split_words(transcript.text)) >= 0.3


def test_a_device_index_past_the_gpus_is_one_line(tmp_path: Path) -> None:
    n = cuda_devices()
    proc = podscribe("transcribe", str(SHORT), "-o", str(tmp_path), "--device", f"cuda:{n}", "--diarizer", "none")
    assert_one_line_error(proc, f"cuda:{n}", f"{n} CUDA device(s)")
    assert not list(tmp_path.iterdir())
