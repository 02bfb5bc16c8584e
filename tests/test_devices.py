"""Device choice ('auto' picks CUDA only where the backend sees it), CPU thread counts, sharing the cores."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podscribe.devices import (
    LongestFirst,
    balanced_runs,
    check_device,
    cpu_threads,
    device_index,
    resolve_device,
    single_threaded_blas,
)
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
    if not has_cuda:  # cuda:N is the same request: the same error as cuda
        with pytest.raises(OptionError, match="device 'cuda:1' asked for, but onnxruntime sees no CUDA device"):
            resolve_device("cuda:1", "onnxruntime")
    with pytest.raises(ValueError, match="backend"):
        resolve_device("auto", "tensorflow")



@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:0", "cuda:1", "cuda:12"])
def test_device_forms_accepted(device: str) -> None:
    assert check_device(device) == device


@pytest.mark.parametrize("device", ["gpu", "CUDA", "cuda:", "cuda:-1", "cuda:x", "cuda:1:2", "cpu:0", "cuda:١", "", None])
def test_device_forms_refused_naming_the_field(device) -> None:
    with pytest.raises(OptionError, match=r"^device must be auto, cpu, cuda or cuda:N, not ") as caught:
        check_device(device)
    assert caught.value.option == "device"


def test_device_index_is_what_ctranslate2_and_onnxruntime_take() -> None:
    assert device_index("cuda:3") == ("cuda", 3)
    assert device_index("cuda") == ("cuda", 0)
    assert device_index("cpu") == ("cpu", 0)


@pytest.mark.parametrize("backend", ["ctranslate2", "torch", "onnxruntime"])
def test_an_indexed_cuda_device_fails_like_cuda_where_there_is_none(backend: str) -> None:
    """No CUDA device: 'cuda:0' and 'cuda:1' get the very error 'cuda' gets; 'cpu' is untouched."""
    assert resolve_device("cpu", backend) == "cpu"
    try:
        resolve_device("cuda", backend)
    except OptionError as e:
        plain = str(e)
    else:
        pytest.skip(f"{backend} sees a CUDA device here")
    for device in ("cuda:0", "cuda:1"):
        with pytest.raises(OptionError) as caught:
            resolve_device(device, backend)
        assert str(caught.value) == plain.replace("'cuda'", f"'{device}'")


def test_an_index_past_the_devices_counted_is_refused(monkeypatch) -> None:
    """Two CUDA devices simulated (there is no GPU here): cuda:1 is the second, cuda:2 is refused."""
    from podscribe import devices

    monkeypatch.setattr(devices, "_cuda_devices", lambda backend: 2)
    assert resolve_device("cuda:1", "ctranslate2") == "cuda:1"
    assert resolve_device("auto", "torch") == "cuda"
    with pytest.raises(OptionError, match=r"'cuda:2' asked for, but torch sees 2 CUDA device\(s\): cuda:0 to cuda:1"):
        resolve_device("cuda:2", "torch")
    assert resolve_device("cuda:2", "onnxruntime") == "cuda:2"  # onnxruntime does not count its devices


@given(st.integers(0, 60), st.integers(1, 8), st.integers(1, 4))
def test_balanced_runs_cut_the_items_in_order_for_the_workers(n: int, size: int, workers: int) -> None:
    """Every item once, in order, runs of at most ``size``, as many as a multiple of the workers (none left
    for one worker alone) unless each holds one item, lengths differing by one at most, the longer last."""
    runs = balanced_runs(list(range(n)), size, workers)
    assert [c for r in runs for c in r] == list(range(n))
    lengths = [len(r) for r in runs]
    assert all(0 < k <= size for k in lengths) and lengths == sorted(lengths)
    assert not lengths or (len(lengths) % workers == 0 or lengths[-1] == 1) and lengths[-1] - lengths[0] <= 1
    assert balanced_runs(list(range(10)), 4, 2) == [[0, 1], [2, 3], [4, 5, 6], [7, 8, 9]]
    assert balanced_runs(range(20), 4, 2) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11], [12, 13, 14, 15],
                                              [16, 17, 18, 19]]


def _queued(gate: LongestFirst, n: int) -> None:
    """Wait until ``n`` holders wait at ``gate``."""
    deadline = time.monotonic() + 10
    while len(gate._waiting) < n:
        assert time.monotonic() < deadline, "holders did not reach the gate"
        time.sleep(0.001)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.0, 30.0), min_size=1, max_size=8))
def test_longest_first_lets_the_heaviest_waiting_holder_in_first(weights: list[float]) -> None:
    """Holders that wait while the only slot is taken enter heaviest first, whatever their arrival order."""
    gate = LongestFirst(1)
    entered: list[float] = []

    def hold(weight: float) -> None:
        with gate.slot(weight):
            entered.append(weight)  # one holder at a time: the order is the gate's

    with gate.slot(0.0):
        threads = [threading.Thread(target=hold, args=(w,)) for w in weights]
        for thread in threads:
            thread.start()
        _queued(gate, len(weights))
    for thread in threads:
        thread.join()
    assert entered == sorted(weights, reverse=True)


def test_an_idle_longest_first_lets_holders_come_at_once_in_heaviest_first() -> None:
    """Holders that come to an idle gate within its ``settle`` time enter heaviest first: without it, the
    first ones to come took the slots, light or not."""
    gate = LongestFirst(1, settle=0.5)
    entered: list[float] = []

    def hold(weight: float) -> None:
        with gate.slot(weight):
            entered.append(weight)

    weights = [1.0, 5.0, 2.0, 9.0, 3.0]
    threads = [threading.Thread(target=hold, args=(w,)) for w in weights]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert entered == sorted(weights, reverse=True)


def test_longest_first_holds_no_more_than_its_slots_and_fills_them() -> None:
    """Twelve holders on two slots: never more than two inside at once, and two at some point; a gate
    without slots is an option error."""
    gate = LongestFirst(2)
    inside, most = 0, 0
    lock = threading.Lock()

    def hold(weight: float) -> None:
        nonlocal inside, most
        with gate.slot(weight):
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.005)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=hold, args=(float(i % 5),)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 2 and inside == 0 and not gate._waiting
    with pytest.raises(OptionError, match="slots must be at least 1"):
        LongestFirst(0)


def test_overlapping_runs_put_numpys_blas_threads_back() -> None:
    """Each run kept OpenBLAS on one thread while it decoded, with threadpoolctl's process-wide limit: of two
    runs that overlapped, the second kept the first's "1" to put back, and OpenBLAS stayed on one thread
    for the rest of the process. It is back to its own count once the last run ends."""
    from threadpoolctl import threadpool_info

    def counts() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i["internal_api"] == "openblas"]

    before = counts()
    if not before or max(before) < 2:
        pytest.skip("numpy's OpenBLAS runs on one thread here already")
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[list[int]] = []

    def first() -> None:
        with single_threaded_blas():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second() -> None:
        first_in.wait(10)
        with single_threaded_blas():
            second_in.set()
            first_out.wait(10)
            seen.append(counts())  # the first run is over, this one still decodes: still one thread

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen == [[1] * len(before)] and counts() == before

