"""CAM++'s input features: Kaldi's 80-bin log-mel filterbank, computed with numpy.

The same frames as Kaldi's ``compute-fbank-feats`` with 3D-Speaker's options (kaldi-native-fbank and
``torchaudio.compliance.kaldi.fbank`` compute them too): 25-ms frames every 10 ms that end inside the
audio (``snip_edges``), no dither, DC offset removed, pre-emphasis 0.97, Povey window, 512-point power
spectrum, 80 triangular mel bins from 20 Hz to 8 kHz, natural log floored at float32's epsilon.
Vectorised over frames (and computed in float32), it takes about a sixth of kaldi-native-fbank's time,
which computes a frame at a time (BENCHMARKS.md, "Fbank in numpy").
"""

from __future__ import annotations

import numpy as np

from ..audio import SAMPLE_RATE

FRAME_SHIFT = 160  # samples per fbank frame (10 ms)
FRAME_LENGTH = 400  # samples per fbank window (25 ms)
MEL_BINS = 80
FFT_SIZE = 512  # the frame length rounded up to a power of two
PREEMPHASIS = 0.97
LOW_HZ = 20.0  # Kaldi's default lowest mel bin edge; the highest is the Nyquist frequency
BLOCK = 128  # frames computed at once: their spectra stay in the CPU's cache (twice as fast as 3,000)


def frame_count(samples: int) -> int:
    """Number of fbank frames in ``samples`` samples (Kaldi snip_edges)."""
    return 0 if samples < FRAME_LENGTH else 1 + (samples - FRAME_LENGTH) // FRAME_SHIFT


def _mel(hz: np.ndarray | float) -> np.ndarray:
    """Kaldi's mel scale (``MelBanks::MelScale``)."""
    return 1127.0 * np.log(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_banks() -> np.ndarray:
    """(FFT_SIZE // 2 + 1, MEL_BINS) weights of the power spectrum's bins, as Kaldi's ``MelBanks``:
    triangles equally spaced in mel, the Nyquist bin unused."""
    low, high = _mel(LOW_HZ), _mel(SAMPLE_RATE / 2)
    delta = (high - low) / (MEL_BINS + 1)
    mels = _mel(np.arange(FFT_SIZE // 2) * SAMPLE_RATE / FFT_SIZE)[:, None]
    left = low + np.arange(MEL_BINS)[None, :] * delta
    centre, right = left + delta, left + 2 * delta
    rising, falling = (mels - left) / (centre - left), (right - mels) / (right - centre)
    weights = np.where((mels > left) & (mels < right), np.where(mels <= centre, rising, falling), 0.0)
    return np.vstack([weights, np.zeros((1, MEL_BINS))]).astype(np.float32)


def _bands(groups: int = 8) -> list[tuple[slice, slice, np.ndarray]]:
    """The mel banks as ``groups`` dense blocks along their diagonal: (FFT bins, mel bins, weights) of
    consecutive mel bins and the FFT bins that feed them. Each FFT bin feeds two mel bins at most, so
    the blocks hold 7 times fewer products than one dense matmul; each is small enough for one BLAS
    thread (a dense matmul spun a thread on the other core while the diarizers' workers ran: +15 % CPU
    measured), and 8 of them took the time of the sparse product that needed scipy here."""
    banks = mel_banks()
    out = []
    for mels in np.array_split(np.arange(MEL_BINS), groups):
        used = np.flatnonzero(banks[:, mels].any(axis=1))
        rows, cols = slice(int(used[0]), int(used[-1]) + 1), slice(int(mels[0]), int(mels[-1]) + 1)
        out.append((rows, cols, np.ascontiguousarray(banks[rows, cols])))
    return out


_BANDS = _bands()
_WINDOW = ((0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME_LENGTH) / (FRAME_LENGTH - 1))) ** 0.85).astype(
    np.float32
)
_FLOOR = float(np.finfo(np.float32).eps)


def fbank(samples: np.ndarray) -> np.ndarray:
    """Kaldi 80-bin log-mel filterbank of 16 kHz ``samples``: (frames, 80) float32."""
    samples = np.asarray(samples, dtype=np.float32)
    n = frame_count(len(samples))
    out = np.empty((n, MEL_BINS), dtype=np.float32)
    if not n:
        return out
    frames = np.lib.stride_tricks.sliding_window_view(samples, FRAME_LENGTH)[::FRAME_SHIFT]
    for first in range(0, n, BLOCK):
        out[first : first + BLOCK] = _log_mel(frames[first : min(first + BLOCK, n)])
    return out


def _log_mel(frames: np.ndarray) -> np.ndarray:
    """Log mel energies of (frames, FRAME_LENGTH) samples."""
    centred = frames - frames.mean(axis=1, keepdims=True, dtype=np.float32)
    padded = np.zeros((len(frames), FFT_SIZE), dtype=np.float32)
    padded[:, 1:FRAME_LENGTH] = centred[:, 1:] - PREEMPHASIS * centred[:, :-1]
    padded[:, 0] = (1.0 - PREEMPHASIS) * centred[:, 0]  # Kaldi: the first sample is its own predecessor
    padded[:, :FRAME_LENGTH] *= _WINDOW
    # numpy's FFT, not scipy's (whose import cost 0.26 s of a core), in float64: numpy's float32 one took
    # 2.6 times as long here
    spectrum = np.fft.rfft(padded.astype(np.float64), axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    energies = np.empty((len(frames), MEL_BINS), dtype=np.float32)
    for rows, cols, weights in _BANDS:
        np.matmul(power[:, rows], weights, out=energies[:, cols])
    return np.log(np.maximum(energies, _FLOOR))
