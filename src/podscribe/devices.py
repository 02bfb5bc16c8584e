"""Choose where models run: the device ('auto' picks CUDA when one is usable), CPU thread counts, and how
work is cut for the CPU workers."""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from .errors import OptionError

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEVICES = ("auto", "cpu", "cuda")  # and "cuda:N", the N-th CUDA device
DEVICE_FORMS = "auto, cpu, cuda or cuda:N"


_GPU_HINT = {"onnxruntime": " (it needs onnxruntime-gpu for CUDAExecutionProvider)"}


def check_device(device: str) -> str:
    """``device`` when it is one of DEVICE_FORMS; OptionError naming the field ``device`` otherwise.

    Only the form is checked here (no backend is imported): options are checked before any work.
    """
    kind, _, index = device.partition(":") if isinstance(device, str) else ("", "", "")
    if not (device in DEVICES or (kind == "cuda" and index.isdigit() and index.isascii())):
        raise OptionError(f"device must be {DEVICE_FORMS}, not {device!r}", option="device")
    return device


def device_index(device: str) -> tuple[str, int]:
    """A device name as (kind, index), the form CTranslate2 and onnxruntime take: 'cuda:1' -> ('cuda', 1),
    'cuda' -> ('cuda', 0), 'cpu' -> ('cpu', 0)."""
    kind, _, index = check_device(device).partition(":")
    return kind, int(index or 0)


def resolve_device(device: str, backend: str = "ctranslate2") -> str:
    """'auto' -> 'cuda' when ``backend`` ('ctranslate2', 'torch' or 'onnxruntime') sees a CUDA device,
    else 'cpu'; 'cpu', 'cuda' and 'cuda:N' are returned as given.

    Asking for CUDA where the backend sees none, or for 'cuda:N' past the devices it counts, is an
    OptionError rather than a silent CPU run (onnxruntime tells only whether it has CUDA, not how many).
    """
    kind, index = device_index(device)
    if kind == "cpu":
        return "cpu"
    found = _cuda_devices(backend)
    if device != "auto" and not found:
        hint = _GPU_HINT.get(backend, "")
        raise OptionError(f"device {device!r} asked for, but {backend} sees no CUDA device{hint}")
    if device == "auto":
        return "cuda" if found else "cpu"
    if backend != "onnxruntime" and index >= found:
        raise OptionError(f"device {device!r} asked for, but {backend} sees {found} CUDA device(s): cuda:0 "
                          f"to cuda:{found - 1}")
    return device


def cpu_threads(requested: int | None = None) -> int:
    """Threads for CPU inference: ``requested``, else $OMP_NUM_THREADS, else the cores this process may use.

    One thread per usable core: more oversubscribes (CTranslate2's own default is 4, too many on 2 cores).
    """
    if requested is not None:
        if requested < 1:
            raise OptionError(f"thread count must be at least 1, not {requested}")
        return requested
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _cuda_devices(backend: str) -> int:
    if backend == "ctranslate2":
        import ctranslate2

        return ctranslate2.get_cuda_device_count()
    if backend == "torch":
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    if backend == "onnxruntime":
        import onnxruntime

        return int("CUDAExecutionProvider" in onnxruntime.get_available_providers())
    raise ValueError(f"unknown backend {backend!r}")


def balanced_runs(items: Sequence[T], size: int, workers: int) -> list[list[T]]:
    """``items`` cut in order into runs of at most ``size``, as many as a multiple of ``workers`` (so that
    none is left for one worker alone at the end), lengths differing by one at most, the longer ones last.
    10 windows for 2 workers of 4 were once batches of 4, 4 and 2, and one core idled through the last."""
    count = workers * math.ceil(len(items) / (size * workers))
    sizes = [len(items) // count + (i >= count - len(items) % count) for i in range(count)]
    cuts = list(itertools.accumulate(sizes, initial=0))
    return [list(items[a:b]) for a, b in itertools.pairwise(cuts) if b > a]


class LongestFirst:
    """At most ``slots`` holders at once, the heaviest waiting one entering first (then the first come).

    The ASR engine's calls run on threads of their own (one per speaker's language: ``packing._decode``),
    and CTranslate2 serves its workers' jobs in the order they come: the longest window of a conversation,
    asked last, was decoded alone at the end while the other core idled (report conversation7: 1.5 s).
    Held around a window's whole decoding, the gate gives the cores the longest windows first across
    calls (longest processing time first), one window a worker, so that no job waits inside CTranslate2.
    Calls started together reach an idle gate up to 2 ms apart here (report conversation8's seven windows),
    so it opens ``settle`` s after its first holder comes: without that, the first two windows to come went
    first, short or not.
    """

    def __init__(self, slots: int, settle: float = 0.02) -> None:
        if slots < 1:
            raise OptionError(f"slots must be at least 1, not {slots}")
        self._slots = self._free = slots
        self._settle = settle
        self._opens = 0.0  # time.monotonic() at which an idle gate lets its first holders in
        self._waiting: list[tuple[float, int]] = []
        self._arrivals = itertools.count()
        self._changed = threading.Condition()

    @contextmanager
    def slot(self, weight: float) -> Iterator[None]:
        """Hold one slot for the ``with`` block, after every waiting holder heavier than ``weight``."""
        ticket = (-weight, next(self._arrivals))
        with self._changed:
            if self._free == self._slots and not self._waiting:
                self._opens = time.monotonic() + self._settle
            heapq.heappush(self._waiting, ticket)
            while True:
                wait = self._opens - time.monotonic()  # > 0 while an idle gate settles
                if wait <= 0 and self._free and self._waiting[0] == ticket:
                    break
                self._changed.wait(wait if wait > 0 else None)
            heapq.heappop(self._waiting)
            self._free -= 1
            self._changed.notify_all()  # the next in line may take a slot still free
        try:
            yield
        finally:
            with self._changed:
                self._free += 1
                self._changed.notify_all()


class _SingleThreadedBlas:
    """numpy's OpenBLAS on one thread while any run's recogniser decodes, put back when the last one ends.
    threadpoolctl's limit is process-wide: two runs that overlapped each kept the other's "1" as what to put
    back, and OpenBLAS stayed on one thread for the rest of the process. threadpoolctl 3.6+ also lets only
    the thread that set a limit change it again until that is cleared, so each change is made free of it:
    the run that ends last, in whatever thread, puts the count back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._limiter: Any = None

    @contextmanager
    def __call__(self) -> Iterator[None]:
        from threadpoolctl import ThreadpoolController

        with self._lock:
            if not self._users:
                self._limiter = ThreadpoolController().select(internal_api="openblas").limit(limits=1)
                _release_openblas()
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if not self._users:
                    _release_openblas()  # a limit set from another thread, or by another library
                    self._limiter.restore_original_limits()
                    _release_openblas()


def _release_openblas() -> None:
    """Let any thread set OpenBLAS's thread count next (threadpoolctl >= 3.6 gives it to the first setter)."""
    import threadpoolctl

    clear = getattr(getattr(threadpoolctl, "OpenBLASController", None), "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)


single_threaded_blas = _SingleThreadedBlas()
