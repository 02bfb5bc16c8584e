"""Choose where models run: the device ('auto' picks CUDA when one is usable) and CPU thread counts."""

from __future__ import annotations

import logging
import os

from .errors import OptionError

logger = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")


_GPU_HINT = {"onnxruntime": " (it needs onnxruntime-gpu for CUDAExecutionProvider)"}


def resolve_device(device: str, backend: str = "ctranslate2") -> str:
    """'auto' -> 'cuda' when ``backend`` ('ctranslate2', 'torch' or 'onnxruntime') sees a CUDA device,
    else 'cpu'; 'cpu' and 'cuda' (or 'cuda:N', for torch) are returned as given.

    Asking for CUDA where the backend sees none is an OptionError rather than a silent CPU run.
    """
    indexed = backend == "torch" and device.startswith("cuda:") and device[5:].isdigit()
    if device not in DEVICES and not indexed:
        raise OptionError(f"unknown device {device!r} (choose from: {', '.join(DEVICES)})")
    if device == "cpu":
        return "cpu"
    found = _cuda_devices(backend)
    if device != "auto" and not found:
        raise OptionError(f"device {device!r} asked for, but {backend} sees no CUDA device{_GPU_HINT.get(backend, '')}")
    return "cpu" if not found else "cuda" if device == "auto" else device


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
