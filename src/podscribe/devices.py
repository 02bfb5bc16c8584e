"""Choose where models run: the device ('auto' picks CUDA when one is usable), CPU thread counts, and how
work is cut for the CPU workers."""

from __future__ import annotations

import itertools
import logging
import math
import os
from collections.abc import Sequence
from typing import TypeVar

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
