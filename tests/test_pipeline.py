"""Pipeline: options checked before any model loads, flat options routed to their stage, input checks."""

from __future__ import annotations

import pytest

from podscribe.asr import ASROptions
from podscribe.diarization import DiarizationOptions
from podscribe.errors import InputError, OptionError
from podscribe.pipeline import Pipeline, PipelineOptions, check_input, make_options, model_loads


@pytest.mark.parametrize("counts", [
    {"num_speakers": 0}, {"min_speakers": 0}, {"min_speakers": 3, "max_speakers": 2},
    {"num_speakers": 2, "min_speakers": 3}, {"num_speakers": 4, "max_speakers": 3},
])  # fmt: skip
def test_contradictory_speaker_counts_fail_when_the_options_are_made(counts):
    """Checked by DiarizationOptions itself, with or without a diarizer: no model loads before."""
    with pytest.raises(OptionError, match="speakers") as caught:
        DiarizationOptions(**counts)
    assert caught.value.option in counts
    with pytest.raises(OptionError, match="speakers"):
        make_options(diarizer="none", **counts)


def test_make_options_routes_flat_keywords():
    o = make_options(language="fr", beam_size=2, num_speakers=3, model="tiny", speaker_names=["A", "B"])
    assert o.asr == ASROptions(language="fr", beam_size=2)
    assert o.diarization == DiarizationOptions(num_speakers=3)
    assert o.model == "tiny" and o.speaker_names == ("A", "B")
    assert make_options(speaker_names="Ann Lee, Bob").speaker_names == ("Ann Lee", "Bob")  # not "A", "n" ...
    with pytest.raises(OptionError, match=r"^speaker_names must be tuple\[str, \.\.\.\], not \('A', None\)$"):
        make_options(speaker_names=["A", None])
    with pytest.raises(OptionError, match="unknown option.*colour"):
        make_options(colour="red")


def test_check_input(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        check_input(tmp_path / "missing.mp3")
    with pytest.raises(InputError, match="not a regular file"):
        check_input(tmp_path)
    (tmp_path / "a.mp3").write_bytes(b"x")
    check_input(tmp_path / "a.mp3")


def test_vad_off_is_refused_where_speaker_turns_decide_what_is_decoded():
    with pytest.raises(OptionError, match="^vad=False needs diarizer=none: speaker turns decide what is decoded"):
        make_options(vad=False)
    assert not Pipeline(make_options(vad=False, diarizer="none")).options.asr.vad



def test_embedded_diarizer_is_chosen_by_name_and_cached_apart():
    embedded, default = Pipeline(make_options(diarizer="embedded")), Pipeline(PipelineOptions())
    assert default.options.diarizer == "overlap" and default.diarizer.name == "overlap"  # the default
    assert embedded.diarizer.name == "embedded"
    # cached turns and the ASR read along them are keyed by the diarizer's name: no version bump needed
    assert embedded._diar_key() != default._diar_key()


def test_a_cuda_device_no_runtime_sees_fails_before_any_model_loads():
    """cuda:N is accepted in form, and fails like cuda where the diarizer's runtime sees no CUDA device."""
    from podscribe.devices import resolve_device

    assert make_options(device="cuda:1").device == "cuda:1"
    try:
        resolve_device("cuda", "onnxruntime")
    except OptionError as e:
        plain = str(e)
    else:
        pytest.skip("onnxruntime sees a CUDA device here")
    with pytest.raises(OptionError) as caught:
        Pipeline(make_options(device="cuda:1"))
    assert str(caught.value) == plain.replace("'cuda'", "'cuda:1'")


@pytest.mark.parametrize(
    "options, workers",
    [
        ({"cpu_threads": 2}, 2),  # default: one decoder per thread, one thread each
        ({"cpu_threads": 2, "num_workers": 1}, 1),  # one decoder with both threads
        ({"cpu_threads": 2, "num_workers": 4}, 2),  # at most one per thread
        ({"cpu_threads": 2, "num_workers": 2, "diarizer": "none", "vad": False}, 1),  # sequential: no clips
        ({"cpu_threads": 2, "num_workers": 2, "batch_size": 1}, 1),
    ],
)
def test_num_workers_is_how_many_clip_batches_decode_at_once(options, workers):
    """num_workers is faster-whisper's WhisperModel(num_workers=), the engine's worker count; it keys the cache."""
    pipeline = Pipeline(make_options(**options))
    assert pipeline._engine_workers() == workers
    threads_only = Pipeline(make_options(**{k: v for k, v in options.items() if k != "num_workers"}))
    assert (pipeline._asr_key() == threads_only._asr_key()) == (workers == threads_only._engine_workers())


@pytest.mark.parametrize("none", ["none", None])
def test_diarize_without_a_diarizer_is_refused(none):
    """diarizer="none" (the command line's word) used to fall back to the default diarizer."""
    from podscribe.pipeline import diarize

    with pytest.raises(OptionError, match="diarize needs a diarizer"):
        diarize("no-such-file.wav", options=make_options(diarizer=none))


def test_the_asr_model_loads_during_diarization_unless_the_words_are_cached(monkeypatch):
    """A first run starts loading the ASR model before the diarizer is done (they overlap); a run whose
    words are in the result cache loads no ASR model at all."""
    import time

    from podscribe import pipeline
    from podscribe.inputs import open_source

    from conftest import DATA

    audio = DATA / "short.fr.opus"
    events: list[tuple[str, float]] = []
    load_engine, diarize_audio = pipeline.load_engine, Pipeline.diarize_audio

    def loading(*a, **k):
        events.append(("load starts", time.perf_counter()))
        return load_engine(*a, **k)

    def diarizing(self, *a, **k):
        turns = diarize_audio(self, *a, **k)
        events.append(("diarization ends", time.perf_counter()))
        return turns

    monkeypatch.setattr(pipeline, "load_engine", loading)
    monkeypatch.setattr(Pipeline, "diarize_audio", diarizing)
    Pipeline(make_options(language="fr", beam_size=1, cache=False)).run(audio)
    assert [e for e, _ in sorted(events, key=lambda e: e[1])] == ["load starts", "diarization ends"]
    first = Pipeline(make_options(language="fr", beam_size=1))
    first.run(audio)  # computes, or finds, this file's words in the cache
    assert first._cache.has(open_source(audio).digest, "asr", first._asr_entry(turns=True))
    events.clear()
    again = Pipeline(make_options(language="fr", beam_size=1))
    again.run(audio)
    assert [e for e, _ in events] == ["diarization ends"] and again._engine is None


def test_numpys_blas_runs_on_one_thread_while_the_engine_decodes(monkeypatch):
    """faster-whisper computes each window's features with numpy (a mel matmul); its OpenBLAS threads spun
    beside CTranslate2's while the engine decoded. During the ASR stage OpenBLAS has one thread; before and
    after, what the caller had."""
    from threadpoolctl import ThreadpoolController

    from podscribe import pipeline

    from conftest import DATA

    def openblas_threads() -> set[int]:
        return {p["num_threads"] for p in ThreadpoolController().select(internal_api="openblas").info()}

    seen: list[set[int]] = []
    recognise_turns = pipeline.recognise_turns

    def spying(*a, **k):
        seen.append(openblas_threads())
        return recognise_turns(*a, **k)

    monkeypatch.setattr(pipeline, "recognise_turns", spying)
    if not openblas_threads():
        pytest.skip("numpy's BLAS here is not OpenBLAS")
    with ThreadpoolController().select(internal_api="openblas").limit(limits=2):
        Pipeline(make_options(language="fr", beam_size=1, cache=False)).run(DATA / "short.fr.opus")
        after = openblas_threads()
    assert seen == [{1}]
    assert after == {2}


def test_a_pipeline_shared_by_threads_loads_each_model_once() -> None:
    """A service's threads running one Pipeline at once each loaded its own copy of the models (two diarizers
    and two recognisers, one of each thrown away)."""
    from concurrent.futures import ThreadPoolExecutor

    pipe = Pipeline(PipelineOptions(cache=False))
    before = model_loads()["diarization"]
    with ThreadPoolExecutor(4) as pool:
        loaded = list(pool.map(lambda _: pipe.diarizer, range(4)))
    assert all(d is loaded[0] for d in loaded) and model_loads()["diarization"] == before + 1


def test_a_progress_callback_is_called_one_call_at_a_time() -> None:
    """The engine's calls run in threads and each reports: the user's callback was entered by two at once."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from podscribe.pipeline import StageProgress

    inside, most, lock = [0], [0], threading.Lock()

    def callback(stage: str, done: float, total: float) -> None:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.005)
        with lock:
            inside[0] -= 1

    bar = StageProgress(callback, "asr", 100.0)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(bar, [float(s) for s in range(1, 41)]))
    assert most[0] == 1 and bar.done == 40.0



@pytest.mark.parametrize("batch_size, said", [(8, True), (1, False)])
def test_decoding_options_batched_decoding_leaves_aside_are_said(batch_size, said, caplog) -> None:
    """temperature=0.8 gave the very same words as the default: batched faster-whisper does not sample
    (nor keep the previous text); it was accepted and ignored without a word."""
    from podscribe.asr import ASROptions
    from podscribe.pipeline import Pipeline, PipelineOptions

    asr = ASROptions(temperature=(0.8,), batch_size=batch_size)
    with caplog.at_level("WARNING", logger="podscribe.pipeline"):
        assert Pipeline(PipelineOptions(asr=asr, device="cpu")).engine is not None
    assert ("temperature: no effect in batched decoding" in caplog.text) is said


def test_names_from_several_sources_say_where_they_disagree(caplog) -> None:
    """A reference, voice samples and a list of names each overwrote the one before in silence: a correct
    reference name was replaced by an absent voice's sample, and two speakers both named "French Voice"
    made every TXT line, RTTM turn and VTT voice one person's."""
    from podscribe.pipeline import merged_names

    with caplog.at_level("WARNING", logger="podscribe.pipeline"):
        names = merged_names([("the reference", {"SPEAKER_00": "Ann", "SPEAKER_01": "Bob"}),
                              ("a voice sample", {"SPEAKER_01": "Bob"}),
                              ("the list of names", {"SPEAKER_00": "Cy", "SPEAKER_01": " cy"})])  # fmt: skip
    assert names == {"SPEAKER_00": "Cy", "SPEAKER_01": " cy"}  # the last source wins, as documented
    assert "SPEAKER_00: the reference names it 'Ann', the list of names 'Cy': 'Cy' kept" in caplog.text
    assert "SPEAKER_01: a voice sample names it 'Bob', the list of names ' cy'" in caplog.text
    assert "speakers SPEAKER_00, SPEAKER_01 are all named 'Cy'" in caplog.text
    assert caplog.text.count("names it") == 2  # "Bob" again after the reference: no disagreement


def test_one_name_twice_in_any_case_is_refused() -> None:
    from podscribe.errors import OptionError
    from podscribe.pipeline import PipelineOptions

    for names in (("Ann", "Ann"), ("ann", "Ann"), ("Ann Lee", "Ann  Lee")):
        with pytest.raises(OptionError, match="is given twice"):
            PipelineOptions(speaker_names=names)
