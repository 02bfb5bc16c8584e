"""The ``embedded`` diarizer: speech regions, CAM++ window embeddings, spectral clustering (the default
until 2026-12-04; it costs less CPU than the ``overlap`` diarizer and gives no overlap).

No torch and no hub at run time. Speech comes from pyannote segmentation-3.0 run as ONNX over
sliding 10 s chunks (it keeps off-mic, band-limited speech that Silero drops; Silero, as
faster-whisper ships it, is the cheaper alternative). Fbank features are Kaldi's, computed in
numpy (``features``); CAM++ runs in onnxruntime. Both models live in ``models/``
(``tools/export_campplus.py`` made CAM++'s).
The number of speakers is the largest eigengap of the Laplacian of a k-nearest-neighbour graph of
window-embedding similarities (after 3D-Speaker's recipe); clusters of one voice are then merged,
clusters whose two halves are different voices split, and a short stretch of windows clearly unlike
its cluster's voice (a speaker with a single short turn) made a speaker of its own.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..audio import SAMPLE_RATE, ProgressCallback
from ..devices import cpu_threads, device_index, resolve_device
from ..errors import InputError, ModelError, OptionError
from ..files import sha256_file
from ..transcript import Turn, speaker_id
from ..weights import models_dir
from . import SECONDS_PER_SPEAKER, DiarizationOptions, passes
from .features import FRAME_SHIFT, fbank, frame_count

logger = logging.getLogger(__name__)

CAMPPLUS = ("campplus/model.onnx", "8a743ab4c4ff6d2c2c3b68f96919c4fc1d8122b18988f609118c2259153250b6")
SEGMENTATION = ("segmentation/model.onnx", "5ddebfc5885930ad9b92c39d903e89c5170c9fc47533d885f416b1d360fa48dc")
CHUNK = 10 * SAMPLE_RATE  # segmentation-3.0 reads 10 s chunks ...
CHUNK_FRAMES = 589  # ... and scores 589 frames in each
SEG_FRAME_STEP = 0.016875  # seconds between segmentation frames
SEG_FRAME_DURATION = 0.0619375  # receptive field of one segmentation frame

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class EmbeddedSettings:
    """Tuning of the embedded diarizer (how each default was chosen: BENCHMARKS.md, "Tuning notes")."""

    vad: str = "segmentation"  # "segmentation" (pyannote segmentation-3.0) or "silero"
    vad_threshold: float = 0.5  # speech score above which a frame is speech
    vad_step: float = 5.0  # seconds between segmentation chunks (each chunk is 10 s)
    min_speech: float = 0.25  # seconds; shorter speech regions are dropped
    min_silence: float = 0.1  # seconds; shorter pauses inside speech are filled
    window: float = 1.5  # seconds of audio per embedding
    hop: float = 1.0  # seconds between window starts
    min_window: float = 0.4  # regions shorter than this take the label of their nearest neighbour
    neighbours: int = 6  # affinities kept per window: its most similar windows (k-NN graph)
    voice_cosine: float = 0.82  # clusters with centroids more similar are one voice; 2-means halves less, two
    split_min: float = 5.0  # seconds of windows each half needs for such a split
    run_cosine: float = 0.75  # a stretch of windows this far from their cluster's voice is another speaker ...
    run_min: float = 3.0  # ... when it spans this many seconds without a pause longer than turn_join_gap
    max_windows: int = 4000  # more windows (about 70 min of speech) are clustered on an even sample
    turn_join_gap: float = 0.5  # same-speaker turns closer than this are joined
    batch_size: int = 8  # CAM++ windows per run
    segmentation_batch: int = 1  # 10 s chunks per segmentation run
    threads: int = 0  # model runs at once, one CPU thread each; 0 = one per core (``ordered_map``)


@functools.lru_cache(maxsize=8)
def _verified(path: Path, size: int, mtime: float, expected: str) -> None:
    """Check a file's sha256 once per (path, size, mtime) in a process; ModelError when it differs."""
    digest = sha256_file(path)
    if digest != expected:
        raise ModelError(f"sha256 mismatch ({digest}), re-run tools/export_campplus.py", path)


def load_onnx(model: tuple[str, str], path: Path | None, device: str, threads: int = 1):
    """An onnxruntime session for one of the shipped models on ``device`` (auto, cpu, cuda or cuda:N),
    with ``threads`` intra-op threads (0: one per core).

    ``path`` overrides the shipped file; shipped files are checked against their sha256 first.
    The diarizers run single-threaded sessions several calls at once (``ordered_map``).
    """
    import onnxruntime as ort

    if path is None:
        path = models_dir() / model[0]
        if not path.is_file():
            raise ModelError("weights not found (run tools/export_campplus.py)", path)
        stat = path.stat()
        _verified(path, stat.st_size, stat.st_mtime, model[1])
    elif not path.is_file():
        raise ModelError("weights not found", path)
    providers: list[Any] = ["CPUExecutionProvider"]
    kind, index = device_index(resolve_device(device, "onnxruntime"))
    if kind == "cuda":  # "cuda:N": the N-th device, through the provider's options
        providers.insert(0, ("CUDAExecutionProvider", {"device_id": index}))
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle intra-op threads sleep instead of spinning: on this shared 2-core machine spinning burnt the
    # time it was meant to save (dev monologue2: diarization 6.4 -> 4.4 s, CPU too, the same turns).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=providers)


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``fn`` of each item, in order, computed on ``workers`` threads (onnxruntime sessions may be
    called from several threads at once); at most twice ``workers`` calls pending, so that a long
    file's inputs are made as they are needed.

    The diarizers' models run faster this way than one call at a time on all cores: their inputs are
    small, and a second intra-op thread adds CPU time (monologue3, 5 min: the overlap diarizer took
    10.5 CPU s with two threads per call, 8.1 with one; BENCHMARKS.md, "Diarization CPU").
    """
    if workers <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers) as pool:
        pending: deque[Future[R]] = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def silero_regions(audio: np.ndarray, settings: EmbeddedSettings) -> list[tuple[int, int]]:
    """Speech regions as (start, end) sample indices, from the Silero VAD that faster-whisper ships."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    vad = VadOptions(
        threshold=settings.vad_threshold,
        min_speech_duration_ms=int(settings.min_speech * 1000),
        min_silence_duration_ms=int(settings.min_silence * 1000),
        speech_pad_ms=30,
    )
    return [(s["start"], s["end"]) for s in get_speech_timestamps(audio, vad, sampling_rate=SAMPLE_RATE)]


def speech_scores(
    audio: np.ndarray, session, step: float, batch_size: int = 8, progress: ProgressCallback | None = None,
    workers: int = 1,
) -> np.ndarray:
    """Per-frame speech score in [0, 1] from segmentation-3.0 over sliding 10 s chunks, ``workers``
    batches of chunks at once (``progress``: the seconds read, after each batch).

    Each chunk votes for speech where the argmax powerset class of a frame has any speaker; votes
    are averaged over the chunks covering a frame with a Hamming weight that trusts chunk centres
    more than chunk edges.
    """
    n = len(audio)
    padded = audio if n >= CHUNK else np.pad(audio, (0, CHUNK - n))  # no copy of a long file's audio
    hop = int(step * SAMPLE_RATE)
    starts = list(range(0, len(padded) - CHUNK + 1, hop))
    if starts[-1] + CHUNK < len(padded):
        starts.append(len(padded) - CHUNK)
    total = int(np.ceil(len(padded) / SAMPLE_RATE / SEG_FRAME_STEP)) + CHUNK_FRAMES
    votes, weights = np.zeros(total), np.zeros(total)
    hamming = np.hamming(CHUNK_FRAMES)

    def classes(batch: list[int]) -> np.ndarray:
        chunks = np.stack([padded[s : s + CHUNK] for s in batch])[:, None, :].astype(np.float32)
        return session.run(None, {"waveform": chunks})[0].argmax(axis=-1)

    batches = [starts[b : b + batch_size] for b in range(0, len(starts), batch_size)]
    for batch, found in zip(batches, ordered_map(classes, batches, workers)):
        for start, c in zip(batch, found):
            first = round(start / SAMPLE_RATE / SEG_FRAME_STEP)
            votes[first : first + CHUNK_FRAMES] += hamming * (c > 0)
            weights[first : first + CHUNK_FRAMES] += hamming
        if progress is not None:
            progress(min(batch[-1] + CHUNK, n) / SAMPLE_RATE)
    frames = int(np.ceil((n / SAMPLE_RATE - SEG_FRAME_DURATION) / SEG_FRAME_STEP)) + 1
    return votes[:frames] / np.maximum(weights[:frames], 1e-9)


def runs(active: np.ndarray) -> np.ndarray:
    """(first, end) index pairs of the runs of true values in a 1-D array, in order."""
    return np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]]))).reshape(-1, 2)


def frames_to_regions(active: np.ndarray, settings: EmbeddedSettings, n: int) -> list[tuple[int, int]]:
    """Sample regions of the active segmentation frames, short pauses filled, short bursts dropped."""
    centre = SEG_FRAME_DURATION / 2
    regions: list[list[float]] = []
    for on, off in runs(active):
        start, end = on * SEG_FRAME_STEP + centre - SEG_FRAME_STEP / 2, off * SEG_FRAME_STEP + centre - SEG_FRAME_STEP / 2
        if regions and start - regions[-1][1] < settings.min_silence:
            regions[-1][1] = end
        else:
            regions.append([start, end])
    return [
        (max(0, int(s * SAMPLE_RATE)), min(n, int(e * SAMPLE_RATE)))
        for s, e in regions
        if e - s >= settings.min_speech
    ]


def windows(start: int, end: int, settings: EmbeddedSettings) -> list[tuple[int, int]]:
    """Sliding windows (sample indices) over one speech region; the last one ends at the region's end."""
    size, hop = int(settings.window * SAMPLE_RATE), int(settings.hop * SAMPLE_RATE)
    if end - start <= size:
        return [(start, end)]
    starts = list(range(start, end - size, hop)) + [end - size]
    return [(s, s + size) for s in starts]


class EmbeddedDiarizer:
    """Offline diarizer: VAD → CAM++ window embeddings → spectral clustering → speaker turns."""

    name = "embedded"

    def __init__(
        self, device: str = "cpu", model_path: str | os.PathLike[str] | None = None,
        settings: EmbeddedSettings | None = None,
    ) -> None:
        self.settings = settings or EmbeddedSettings()
        if self.settings.vad not in ("segmentation", "silero"):
            raise OptionError(f"unknown VAD {self.settings.vad!r} (choose from: segmentation, silero)")
        self.device = device
        self.workers = cpu_threads(self.settings.threads or None)
        self.campplus = load_onnx(CAMPPLUS, Path(model_path) if model_path else None, device)
        use_segmentation = self.settings.vad == "segmentation"
        self.segmentation = load_onnx(SEGMENTATION, None, device) if use_segmentation else None

    def speech_regions(
        self, audio: np.ndarray, progress: ProgressCallback | None = None
    ) -> list[tuple[int, int]]:
        """Speech regions of ``audio`` as (start, end) sample indices (``progress``: seconds read)."""
        if self.segmentation is None:
            regions = silero_regions(audio, self.settings)  # fast, and no hook inside: done at once
            if progress is not None:
                progress(len(audio) / SAMPLE_RATE)
            return regions
        s = self.settings
        scores = speech_scores(
            audio, self.segmentation, s.vad_step, s.segmentation_batch, progress, self.workers
        )
        return frames_to_regions(scores > self.settings.vad_threshold, self.settings, len(audio))

    def diarize(
        self, audio: np.ndarray, options: DiarizationOptions, progress: ProgressCallback | None = None
    ) -> list[Turn]:
        """Speaker turns of ``audio`` (16 kHz mono float32), sorted, labelled SPEAKER_00 … by first turn.

        ``progress`` hears two passes (``passes``): the speech regions, then the embeddings."""
        audio = check_audio(audio)
        started = time.perf_counter()
        finding, embedding = passes(progress, len(audio) / SAMPLE_RATE, 2)
        regions = self.speech_regions(audio, finding)
        spans, embeddings = self._embed_regions(audio, regions, embedding)
        if not spans:
            logger.info("diarization: no speech found")
            return []
        labels = split_runs(cluster(embeddings, options, self.settings), embeddings, spans, options, self.settings)
        turns, order = make_turns(spans, labels, regions, self.settings)
        logger.info(
            "diarization: %d speakers, %d turns, %.1f s for %.1f s of audio",
            len(order), len(turns), time.perf_counter() - started, len(audio) / SAMPLE_RATE,
        )
        return turns

    def embed(self, audio: np.ndarray) -> np.ndarray:
        """One L2-normalised speaker embedding for a voice sample (mean over its speech windows)."""
        audio = check_audio(audio)
        _, embeddings = self._embed_regions(audio, self.speech_regions(audio))
        if not len(embeddings):
            raise InputError("voice sample contains no speech")
        return normalise(embeddings.mean(axis=0))

    def _embed_regions(
        self, audio: np.ndarray, regions: list[tuple[int, int]], progress: ProgressCallback | None = None
    ) -> tuple[list[tuple[int, int]], np.ndarray]:
        """Windows over the regions long enough to embed, and their L2-normalised embeddings.

        Windows of equal length are batched (no padding) and run as soon as a batch is full, ``workers``
        batches at once, so the features held at once stay bounded whatever the audio's length.
        ``progress``: the seconds of audio read, after each region and at the end.
        """
        spans: list[tuple[int, int]] = []
        results: dict[int, np.ndarray] = {}
        for done in ordered_map(self._run, self._batches(audio, regions, spans, progress), self.workers):
            results.update(done)
        if progress is not None:
            progress(len(audio) / SAMPLE_RATE)
        if not spans:
            return [], np.zeros((0, 0), np.float32)
        out = np.stack([results[i] for i in range(len(spans))])
        return spans, out / np.linalg.norm(out, axis=1, keepdims=True)

    def _batches(
        self, audio: np.ndarray, regions: list[tuple[int, int]], spans: list[tuple[int, int]],
        progress: ProgressCallback | None,
    ) -> Iterator[list[tuple[int, np.ndarray]]]:
        """Batches of (window index, mean-normalised fbank window) of one length, each as soon as it
        is full (the rest at the end); the windows' sample spans are appended to ``spans``."""
        min_samples = int(self.settings.min_window * SAMPLE_RATE)
        pending: dict[int, list[tuple[int, np.ndarray]]] = {}  # length -> (window index, features)
        for start, end in regions:
            if end - start < min_samples:
                continue
            feats = fbank(audio[start:end])
            for s, e in windows(start, end, self.settings):
                first = (s - start) // FRAME_SHIFT
                window = feats[first : first + frame_count(e - s)]
                bucket = pending.setdefault(len(window), [])
                bucket.append((len(spans), window - window.mean(axis=0)))
                spans.append((s, e))
                if len(bucket) == self.settings.batch_size:
                    yield pending.pop(len(window))
            if progress is not None:
                progress(end / SAMPLE_RATE)
        yield from pending.values()

    def _run(self, batch: list[tuple[int, np.ndarray]]) -> dict[int, np.ndarray]:
        """CAM++ embeddings of equal-length mean-normalised fbank windows, by window index."""
        x = np.stack([f for _, f in batch]).astype(np.float32)
        return dict(zip((i for i, _ in batch), self.campplus.run(None, {"feats": x})[0]))


def check_audio(audio: np.ndarray) -> np.ndarray:
    """``audio`` as contiguous mono float32 (shared by the embedded diarizers); InputError when not mono or
    not finite (a NaN would reach the clustering's distances)."""
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise InputError(f"audio must be mono (one dimension), got shape {audio.shape}")
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if not np.isfinite(audio).all():
        raise InputError("audio holds NaN or infinite values")
    return audio


def normalise(v: np.ndarray) -> np.ndarray:
    """``v`` scaled to unit length (a zero vector stays zero)."""
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _centre(embeddings: np.ndarray, members: np.ndarray) -> np.ndarray:
    """The L2-normalised mean of the selected embeddings (index array or boolean mask)."""
    return normalise(embeddings[members].mean(axis=0))


def cluster(embeddings: np.ndarray, options: DiarizationOptions, settings: EmbeddedSettings) -> np.ndarray:
    """Cluster L2-normalised embeddings; the count comes from options or from the largest eigengap.

    Beyond ``settings.max_windows`` windows, an even sample of that many is clustered and every
    window joins the cluster of the nearest centroid: the affinity matrix grows with the square of
    the count (3 hours of speech would need several GB) and the eigensolver with its cube.
    """
    n = len(embeddings)
    if n > settings.max_windows:
        picked = np.linspace(0, n - 1, settings.max_windows).round().astype(int)
        sample = cluster(embeddings[picked], options, settings)
        ids = np.unique(sample)
        centres = np.stack([_centre(embeddings, picked[sample == k]) for k in ids])
        return ids[np.argmax(embeddings @ centres.T, axis=1)]
    low, high = (min(bound, max(n, 1)) for bound in options.bounds())
    if low < high:  # an automatic count: no more speakers than the speech holds (SECONDS_PER_SPEAKER each)
        high = max(low, min(high, int(n * settings.hop // SECONDS_PER_SPEAKER)))
    if high <= 1 or n < 3:
        return np.zeros(n, dtype=int)
    affinity = embeddings @ embeddings.T
    keep = min(settings.neighbours, n)
    cut = np.partition(affinity, n - keep, axis=1)[:, n - keep][:, None]
    affinity = np.where(affinity >= cut, affinity, 0.0)
    affinity = 0.5 * (affinity + affinity.T)
    np.fill_diagonal(affinity, 0.0)
    laplacian = np.diag(np.abs(affinity).sum(axis=1)) - affinity
    import scipy.linalg  # here, not at the top: the default (overlap) diarizer imports this module, not scipy

    values, vectors = scipy.linalg.eigh(laplacian, subset_by_index=[0, min(high, n - 1)])
    if low == high:
        k = low
    else:
        gaps = np.diff(values[low - 1 : high + 1])
        k = int(np.argmax(gaps)) + low
    labels = _merge_close(_kmeans(vectors[:, :k], k), embeddings, settings.voice_cosine, low)
    min_windows = max(2, round(settings.split_min / settings.hop))
    return _split_mixed(labels, embeddings, settings.voice_cosine, min_windows, high)


def _kmeans(points: np.ndarray, k: int, restarts: int = 10) -> np.ndarray:
    """k-means++ with several seeded restarts; the labels of the lowest inertia."""
    if k == 1:
        return np.zeros(len(points), dtype=int)
    from scipy.cluster.vq import kmeans2

    best, best_inertia = None, np.inf
    rng = np.random.default_rng(0)
    for _ in range(restarts):
        centres, labels = kmeans2(points, k, minit="++", seed=rng)
        inertia = float(((points - centres[labels]) ** 2).sum())
        if inertia < best_inertia and len(np.unique(labels)) == k:
            best, best_inertia = labels, inertia
    return best if best is not None else labels


def _merge_close(labels: np.ndarray, embeddings: np.ndarray, threshold: float, low: int) -> np.ndarray:
    """Join the two clusters with the most similar centroids while their cosine exceeds ``threshold``.

    The eigengap sometimes splits a dominant speaker in two near-identical clusters; never merges
    below ``low`` clusters (the requested minimum or exact count).
    """
    labels = labels.copy()
    while len(ids := np.unique(labels)) > low:
        centres = np.stack([_centre(embeddings, labels == i) for i in ids])
        similarity = np.triu(centres @ centres.T, 1)
        a, b = np.unravel_index(np.argmax(similarity), similarity.shape)
        if similarity[a, b] <= threshold:
            break
        labels[labels == ids[b]] = ids[a]
    return labels


def _split_mixed(labels: np.ndarray, embeddings: np.ndarray, threshold: float, min_windows: int,
                 high: int) -> np.ndarray:
    """Split a cluster in two while its 2-means halves have centroids less similar than ``threshold``.

    The eigengap misses a speaker with little speech whose voice is close to another's in noise (one
    8 s turn joined an off-mic speaker's cluster; measurements: BENCHMARKS.md, "Tuning notes"). Each
    half needs ``min_windows`` windows; never more than ``high`` clusters.
    """
    labels = labels.copy()
    queue = list(np.unique(labels))
    while queue and len(np.unique(labels)) < high:
        members = np.flatnonzero(labels == queue.pop(0))
        if len(members) < 2 * min_windows:
            continue
        halves = _kmeans(embeddings[members], 2)
        a, b = members[halves == 0], members[halves == 1]
        if min(len(a), len(b)) < min_windows:
            continue
        if float(_centre(embeddings, a) @ _centre(embeddings, b)) < threshold:
            new = int(labels.max()) + 1
            labels[b] = new
            queue += [labels[a[0]], new]
    return labels


def split_runs(
    labels: np.ndarray, embeddings: np.ndarray, spans: list[tuple[int, int]], options: DiarizationOptions,
    settings: EmbeddedSettings,
) -> np.ndarray:
    """Give a new cluster to each stretch of consecutive windows that is clearly not its cluster's voice.

    A speaker with one short turn (3-4 windows) in noise joins the nearest large cluster, too few to
    split it in halves. Such a stretch stands out in time: every window less similar than
    ``run_cosine`` to its cluster's centroid, over at least ``run_min`` seconds, and the stretch's
    own centroid that far from the rest of the cluster too (measurements: BENCHMARKS.md, "Tuning
    notes"). New clusters of one voice (one speaker's two short turns) are then merged as in ``cluster``.
    """
    high = options.bounds()[1]
    if len(labels) < 2 or len(np.unique(labels)) >= high:
        return labels
    ids = np.unique(labels)
    centres = np.stack([_centre(embeddings, labels == k) for k in ids])
    own = np.einsum("ij,ij->i", embeddings, centres[np.searchsorted(ids, labels)])
    gap, min_span = settings.turn_join_gap * SAMPLE_RATE, settings.run_min * SAMPLE_RATE
    runs: list[list[int]] = []
    for i in np.flatnonzero(own < settings.run_cosine):
        last = runs[-1][-1] if runs else -2  # -2: no run yet, never the window before i
        if last == i - 1 and labels[last] == labels[i] and spans[i][0] - spans[last][1] <= gap:
            runs[-1].append(int(i))
        else:
            runs.append([int(i)])
    out = labels.copy()
    for run in runs:
        if spans[run[-1]][1] - spans[run[0]][0] < min_span or len(np.unique(out)) >= high:
            continue
        rest = np.setdiff1d(np.flatnonzero(labels == labels[run[0]]), run)
        if len(rest) and float(_centre(embeddings, np.array(run)) @ _centre(embeddings, rest)) < settings.run_cosine:
            out[run] = int(out.max()) + 1
    return _merge_close(out, embeddings, settings.voice_cosine, options.bounds()[0])


def make_turns(
    spans: list[tuple[int, int]], labels: np.ndarray, regions: list[tuple[int, int]], settings: EmbeddedSettings
) -> tuple[list[Turn], list[int]]:
    """Turns from labelled windows: each speech sample goes to the window whose centre is nearest.

    Regions too short to embed take the label of the nearest window; same-speaker turns closer than
    ``turn_join_gap`` are joined. Returns the turns and the cluster ids in order of first appearance.
    """
    centres = np.array([(s + e) / 2 for s, e in spans])
    pieces: list[tuple[int, int, int]] = []  # (start, end, cluster) in samples
    for start, end in regions:
        inside = np.flatnonzero((centres >= start) & (centres <= end))
        if not len(inside):
            nearest = int(np.argmin(np.abs(centres - (start + end) / 2)))
            pieces.append((start, end, int(labels[nearest])))
            continue
        bounds = [start] + [int((centres[a] + centres[b]) / 2) for a, b in itertools.pairwise(inside)] + [end]
        for i, w in enumerate(inside):
            pieces.append((bounds[i], bounds[i + 1], int(labels[w])))
    merged: list[list[int]] = []
    join_gap = int(settings.turn_join_gap * SAMPLE_RATE)
    for start, end, k in pieces:
        if merged and merged[-1][2] == k and start - merged[-1][1] <= join_gap:
            merged[-1][1] = end
        else:
            merged.append([start, end, k])
    order = list(dict.fromkeys(k for _, _, k in merged))
    names = {k: speaker_id(i) for i, k in enumerate(order)}
    turns = [Turn(s / SAMPLE_RATE, e / SAMPLE_RATE, names[k]) for s, e, k in merged]
    return turns, order
