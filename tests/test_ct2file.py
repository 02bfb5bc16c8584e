"""CTranslate2 model.bin in numpy, and Whisper's int8 copy for the CPU: the format round-trips, rows are
quantized as ctranslate2's converter does, and the cached copy computes what CTranslate2 computes when
it quantizes the float16 weights itself."""

from __future__ import annotations

import io
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from podscribe.ct2file import BFLOAT16, DTYPES, Ct2Model, int8_weights, quantize_rows, read_model, write_model
from podscribe.errors import ModelError
from podscribe.weights import cpu_int8

from conftest import decode

NAMES = st.text(st.sampled_from("abcdefghij_/0123456789"), min_size=1, max_size=30)


@st.composite
def models(draw) -> Ct2Model:
    """A model.bin's contents: arrays of every stored type and rank 0-3, and aliases to some of them."""
    variables, dtypes = {}, {}
    for name in draw(st.lists(NAMES, min_size=1, max_size=6, unique=True)):
        code = draw(st.sampled_from(range(len(DTYPES))))
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=5))
        variables[name] = draw(hnp.arrays(DTYPES[code], shape))
        dtypes[name] = code
    targets = sorted(variables)
    aliases = {f"alias/{i}": draw(st.sampled_from(targets)) for i in range(draw(st.integers(0, 3)))}
    return Ct2Model(draw(NAMES), draw(st.integers(0, 2**32 - 1)), variables, aliases, dtypes)


def saved(model: Ct2Model, folder: Path) -> Path:
    """``model`` written as folder/model.bin, with a config.json beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "model.bin", "wb") as out:
        write_model(model, out)
    (folder / "config.json").write_text("{}")
    return folder


@given(models())
def test_a_written_model_reads_back_as_it_was(model: Ct2Model) -> None:
    buffer = io.BytesIO()
    write_model(model, buffer)
    back = read_back(buffer.getvalue())
    assert (back.spec, back.revision, back.aliases) == (model.spec, model.revision, model.aliases)
    assert list(back.variables) == list(model.variables) and back.dtypes == model.dtypes
    for name, array in model.variables.items():
        assert back.variables[name].dtype == array.dtype
        np.testing.assert_array_equal(back.variables[name], array)


def read_back(data: bytes) -> Ct2Model:
    """``read_model`` of a model.bin's bytes (hypothesis examples cannot share pytest's tmp_path)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.bin"
        path.write_bytes(data)
        model = read_model(path)
        return Ct2Model(model.spec, model.revision, {k: v.copy() for k, v in model.variables.items()},
                        model.aliases, model.dtypes)


MAGNITUDES = st.floats(2.0**-20, 1e4, width=32)  # rows under 127 / float32's max keep ctranslate2's clamped scale


@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, max_side=20),
                  elements=st.one_of(st.just(0.0), MAGNITUDES, MAGNITUDES.map(lambda x: -x))))
def test_quantized_rows_use_the_full_int8_range_and_dequantize_within_half_a_step(weight: np.ndarray) -> None:
    q, scale = quantize_rows(weight)
    assert q.dtype == np.int8 and scale.dtype == np.float32 and scale.shape == (len(weight),)
    assert np.abs(q.astype(int)).max(initial=0) <= 127
    for row, qrow, s in zip(weight, q, scale):
        if np.abs(row).max() > 0:
            assert np.abs(qrow.astype(int)).max() == 127
            assert np.all(np.abs(qrow / s - row) <= 0.5 / s * 1.0001)
        else:
            assert s == 1 and not qrow.any()


def test_rows_round_half_to_even_as_ctranslate2_does() -> None:
    q, scale = quantize_rows(np.array([[127.0, 2.5, 3.5, -2.5, 0.5]], np.float32))
    assert scale[0] == 1 and q.tolist() == [[127, 2, 4, -2, 0]]


def whisper_like() -> Ct2Model:
    rng = np.random.default_rng(0)
    variables = {
        "encoder/conv1/weight": rng.normal(size=(4, 3, 3)).astype(np.float16),
        "encoder/layer_0/ffn/linear_0/weight": rng.normal(size=(6, 4)).astype(np.float16),
        "encoder/layer_0/ffn/linear_0/bias": rng.normal(size=6).astype(np.float16),
        "encoder/layer_norm/gamma": rng.normal(size=4).astype(np.float16),
        "decoder/embeddings/weight": rng.normal(size=(10, 4)).astype(np.float16),
        "decoder/num_heads": np.array(8, np.int16),
        "decoder/other/weight": (rng.normal(size=(3, 2)).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16),
    }
    dtypes = {name: DTYPES.index(array.dtype.type) for name, array in variables.items()}
    return Ct2Model("WhisperSpec", 3, variables, {"decoder/projection/weight": "decoder/embeddings/weight"}, dtypes)


def test_int8_weights_quantize_linear_and_embedding_weights_and_keep_the_rest_in_float32() -> None:
    model = whisper_like()
    model.dtypes["decoder/other/weight"] = BFLOAT16
    out = int8_weights(model)
    quantized = {"encoder/layer_0/ffn/linear_0/weight", "decoder/embeddings/weight", "decoder/other/weight"}
    for name, array in model.variables.items():
        if name in quantized:
            assert out.variables[name].dtype == np.int8 and out.variables[f"{name}_scale"].dtype == np.float32
        elif array.dtype == np.float16:
            assert out.variables[name].dtype == np.float32
            np.testing.assert_array_equal(out.variables[name], array.astype(np.float32))
        else:
            assert out.variables[name] is array
    assert not any(name.endswith("_scale") for name in out.variables if name.split("_scale")[0] not in quantized)
    assert out.aliases == model.aliases and (out.spec, out.revision) == (model.spec, model.revision)
    bf16 = (model.variables["decoder/other/weight"].astype(np.uint32) << 16).view(np.float32)
    restored = out.variables["decoder/other/weight"] / out.variables["decoder/other/weight_scale"][:, None]
    np.testing.assert_allclose(restored, bf16, atol=np.abs(bf16).max() / 127)
    assert int8_weights(out) is out  # quantized already: nothing to do


def test_a_truncated_or_foreign_file_is_a_model_error_naming_it(tmp_path: Path) -> None:
    folder = saved(whisper_like(), tmp_path / "m")
    data = (folder / "model.bin").read_bytes()
    (folder / "model.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="truncated or corrupt") as info:
        read_model(folder / "model.bin")
    assert str(folder / "model.bin") in str(info.value)
    (folder / "model.bin").write_bytes((7).to_bytes(4, "little") + data[4:])
    with pytest.raises(ModelError, match="binary version 7"):
        read_model(folder / "model.bin")


# ---- the cached copy --------------------------------------------------------------------------------


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PODSCRIBE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_copy_is_written_once_and_again_when_its_source_or_itself_changes(tmp_path, cache) -> None:
    source = saved(whisper_like(), tmp_path / "src")
    copy = cpu_int8(source)
    assert copy.parent == cache / "ct2-int8" and (copy / "config.json").read_text() == "{}"
    assert read_model(copy / "model.bin").variables["decoder/embeddings/weight"].dtype == np.int8
    written = (copy / "model.bin").stat().st_mtime_ns
    assert cpu_int8(source) == copy and (copy / "model.bin").stat().st_mtime_ns == written

    (copy / "model.bin").write_bytes(b"\0" * 10)  # the copy was damaged
    assert cpu_int8(source) == copy
    assert read_model(copy / "model.bin").variables["decoder/embeddings/weight"].dtype == np.int8

    os.utime(source / "model.bin", ns=(1, 1))  # the source changed: a new copy, the old one removed
    again = cpu_int8(source)
    assert again != copy and not copy.exists() and os.listdir(cache / "ct2-int8") == [again.name]


def test_two_processes_writing_the_copy_at_once_both_use_it(tmp_path, cache, monkeypatch, caplog) -> None:
    """As two `podscribe batch` workers on a fresh cache: both write, one rename wins, neither warns."""
    import threading

    from podscribe import ct2file

    source = saved(whisper_like(), tmp_path / "src")
    both = threading.Barrier(2)
    write = ct2file.write_model

    def in_step(model: Ct2Model, out) -> None:
        both.wait(timeout=10)  # each has found no copy and is writing its own
        write(model, out)

    monkeypatch.setattr(ct2file, "write_model", in_step)
    found: list[Path] = []
    with caplog.at_level(logging.WARNING):
        threads = [threading.Thread(target=lambda: found.append(cpu_int8(source))) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(found) == 2 and found[0] == found[1] != source and "no int8 copy" not in caplog.text
    assert sorted(os.listdir(cache / "ct2-int8")) == [found[0].name]


def test_models_verify_hashes_the_copies_and_removes_a_damaged_one(tmp_path, cache) -> None:
    from podscribe.weights import verify_cache

    copy = cpu_int8(saved(whisper_like(), tmp_path / "src"))
    killed, in_flight = (cache / "ct2-int8" / f".{name}.part" for name in ("left-by-a-kill", "being-written"))
    killed.mkdir()
    in_flight.mkdir()  # another process's write: it was removed under that process, which then wrote again
    os.utime(killed, (time.time() - 7200, time.time() - 7200))
    assert verify_cache() == [(str(copy), "ok (sha256 checked)")]
    assert sorted(os.listdir(cache / "ct2-int8")) == [in_flight.name, copy.name]
    model_bin = copy / "model.bin"
    stat = model_bin.stat()
    data = bytearray(model_bin.read_bytes())
    data[-1] ^= 0xFF  # damage that keeps the size and the mtime: only a full hash sees it
    model_bin.write_bytes(bytes(data))
    os.utime(model_bin, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert verify_cache() == [(str(copy), "changed since written, or unstamped: removed (written again at next use)")]
    assert not copy.exists()


def test_a_corrupt_source_is_left_to_ctranslate2_without_a_warning(tmp_path, cache, caplog) -> None:
    """Its load then gives the one error the user sees."""
    source = saved(whisper_like(), tmp_path / "src")
    (source / "model.bin").write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        assert cpu_int8(source) == source
    assert not caplog.records and not (cache / "ct2-int8").exists()


def test_a_quantized_source_is_used_as_it_is(tmp_path, cache) -> None:
    source = saved(int8_weights(whisper_like()), tmp_path / "src")
    assert cpu_int8(source) == source and not (cache / "ct2-int8").exists()


def test_an_unwritable_cache_falls_back_to_the_source_with_a_warning(tmp_path, monkeypatch, caplog) -> None:
    source = saved(whisper_like(), tmp_path / "src")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("PODSCRIBE_CACHE", str(blocker / "cache"))
    with caplog.at_level(logging.WARNING):
        assert cpu_int8(source) == source
    assert "no int8 copy" in caplog.text


def test_the_copy_of_base_computes_what_ctranslate2_computes_from_its_float16_weights(cache) -> None:
    """The shipped base model's copy: the same encoder output to the bit and the same words."""
    faster_whisper = pytest.importorskip("faster_whisper")
    from ctranslate2 import StorageView

    from podscribe.weights import resolve_ct2

    try:
        source = resolve_ct2("base")
    except ModelError as e:
        pytest.skip(f"base weights not available offline: {e}")
    copy = cpu_int8(source)
    assert copy != source and (copy / "model.bin").stat().st_size < 0.6 * (source / "model.bin").stat().st_size
    audio = decode("short.fr.opus")[: 16000 * 12]
    results = []
    for path in (source, copy):
        model = faster_whisper.WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=2)
        features = model.feature_extractor(audio)[None, :, :3000].astype(np.float32)
        encoded = np.array(model.model.encode(StorageView.from_array(features), to_cpu=True))
        segments, _ = model.transcribe(audio, language="fr", beam_size=5)
        results.append((encoded, [s.text for s in segments]))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1] and results[0][1]
