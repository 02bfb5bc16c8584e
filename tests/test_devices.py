"""Device choice ('auto' picks CUDA only where the backend sees it) and CPU thread counts."""

from __future__ import annotations

import pytest

from podscribe.devices import cpu_threads, resolve_device
from podscribe.errors import OptionError


def test_devices() -> None:
    import ctranslate2

    assert resolve_device("cpu") == "cpu"
    has_cuda = ctranslate2.get_cuda_device_count() > 0
    assert resolve_device("auto") == ("cuda" if has_cuda else "cpu")
    if not has_cuda:
        with pytest.raises(OptionError, match="cuda"):
            resolve_device("cuda")
    with pytest.raises(OptionError, match="gpu"):
        resolve_device("gpu")


def test_cpu_threads(monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert cpu_threads() >= 1 and cpu_threads(3) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert cpu_threads() == 1
    with pytest.raises(OptionError):
        cpu_threads(0)


def test_onnxruntime_and_torch_devices() -> None:
    import onnxruntime

    has_cuda = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    assert resolve_device("auto", "onnxruntime") == ("cuda" if has_cuda else "cpu")
    if not has_cuda:
        with pytest.raises(OptionError, match="onnxruntime-gpu"):
            resolve_device("cuda", "onnxruntime")
    with pytest.raises(OptionError, match="unknown device 'cuda:0'"):
        resolve_device("cuda:0", "onnxruntime")  # an index is a torch device name only
    with pytest.raises(ValueError, match="backend"):
        resolve_device("auto", "tensorflow")

