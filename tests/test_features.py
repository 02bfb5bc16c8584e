"""CAM++'s fbank features in numpy (``podscribe.diarization.features``) against Kaldi's own code.

kaldi-native-fbank (the test extra) computes Kaldi's ``compute-fbank-feats`` frame by frame; the numpy
version must give its frames, on recorded speech and on any signal, for the embeddings to stay those
that CAM++ was trained on.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from podscribe.diarization import features

from conftest import DATA, decode

knf = pytest.importorskip("kaldi_native_fbank", reason="pip install -e '.[test]' (kaldi-native-fbank)")

ATOL = 5e-3  # log-mel; float32 spectra against Kaldi's float64 mel sums: measured up to 1.4e-3 on speech


def kaldi_fbank(samples: np.ndarray) -> np.ndarray:
    """kaldi-native-fbank with 3D-Speaker's options (80 bins, no dither, snip_edges)."""
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.frame_opts.snip_edges = True
    opts.mel_opts.num_bins = 80
    computer = knf.OnlineFbank(opts)
    computer.accept_waveform(16000, samples.astype(np.float32))
    computer.input_finished()
    frames = [computer.get_frame(i) for i in range(computer.num_frames_ready)]
    return np.stack(frames) if frames else np.zeros((0, 80), np.float32)


def test_fbank_gives_kaldis_frames_on_recorded_speech():
    audio = decode(str(DATA / "brief.fr.opus"))[: 20 * 16000]
    ours, theirs = features.fbank(audio), kaldi_fbank(audio)
    assert ours.shape == theirs.shape == (features.frame_count(len(audio)), 80)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, atol=ATOL)
    assert np.abs(ours - theirs).mean() < 1e-4


def test_fbank_in_blocks_gives_the_frames_of_one_pass(monkeypatch):
    """Frames are computed BLOCK at a time (their spectra stay in cache); the block edges change nothing."""
    audio = decode(str(DATA / "brief.fr.opus"))[: 5 * 16000]
    whole = features.fbank(audio)
    monkeypatch.setattr(features, "BLOCK", 7)
    np.testing.assert_array_equal(features.fbank(audio), whole)


@given(
    st.integers(0, 2400),
    st.integers(0, 2**32 - 1),
    st.floats(1e-3, 1.0),
    st.floats(-0.5, 0.5),
)
def test_fbank_gives_kaldis_frames_on_any_signal(length, seed, level, offset):
    """Noise from -60 dB to full scale over a DC offset, of any length (frame edges included)."""
    noise = np.random.default_rng(seed).standard_normal(length)
    samples = np.clip(offset + level * noise, -1, 1).astype(np.float32)
    ours, theirs = features.fbank(samples), kaldi_fbank(samples)
    assert ours.shape == theirs.shape == (features.frame_count(len(samples)), 80)
    np.testing.assert_allclose(ours, theirs, atol=ATOL)


@pytest.mark.parametrize("samples", [0, 1, 399, 400, 559, 560, 16000])
def test_frame_count_is_kaldis_snip_edges_count(samples):
    assert features.fbank(np.zeros(samples, np.float32)).shape[0] == features.frame_count(samples)
    assert features.frame_count(samples) == len(kaldi_fbank(np.zeros(samples, np.float32)))


def test_silence_is_floored_not_minus_infinity():
    assert np.all(features.fbank(np.zeros(1600, np.float32)) == np.float32(np.log(np.finfo(np.float32).eps)))
