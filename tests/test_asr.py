"""Both Whisper engines on real audio (model base, loaded once per session), the shared guardrails, devices."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from dataclasses import replace
from difflib import SequenceMatcher
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from podscribe.asr import ASROptions, ASRResult
from podscribe.asr.common import MAX_WORD_S, build_segments
from podscribe.audio import SAMPLE_RATE, load_audio
from podscribe.errors import ModelError, OptionError
from podscribe.transcript import is_punctuation
from podscribe.writing import ends_sentence

from conftest import DATA

# Greedy without temperature fallback keeps the suite fast: openai-whisper beam 5 is ~3x slower on CPU,
# and a fallback samples best_of candidates at up to 6 temperatures.
FRENCH = ASROptions(language="fr", beam_size=1, temperature=(0.0,))
DETECT = ASROptions(language=None, beam_size=1, temperature=(0.0,))


# ---- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """Under 30 s of French speech: the bundled fixture, else espeak-ng."""
    path = DATA / "short.fr.opus"
    if not path.exists():
        if shutil.which("espeak-ng") is None:
            pytest.skip("neither tests/data/short.fr.opus nor espeak-ng")
        path = tmp_path_factory.mktemp("speech") / "speech.wav"
        text = (
            "Bonjour à tous et bienvenue dans cette émission. Aujourd'hui, nous parlons de la radio, de la"
            " musique et de la vie culturelle en France. Nos invités nous expliquent comment ils préparent"
            " chaque semaine un programme pour des milliers d'auditeurs, avec des reportages, des entretiens"
            " et des chroniques. Ils nous racontent aussi leurs débuts, leurs doutes et leurs réussites."
        )
        subprocess.run(["espeak-ng", "-v", "fr", "-w", str(path), text], check=True, timeout=60)
    audio = load_audio(path)
    assert len(audio) < 30 * SAMPLE_RATE
    return audio


@pytest.fixture(scope="session")
def music() -> np.ndarray:
    """12 s of synthesised music: a chord progression with harmonics, an arpeggio and a kick drum."""
    t = np.arange(int(0.5 * SAMPLE_RATE)) / SAMPLE_RATE
    envelope = np.minimum(1, t / 0.02) * np.exp(-3 * t)
    chords = [(261.6, 329.6, 392.0), (349.2, 440.0, 523.3), (392.0, 493.9, 587.3), (220.0, 261.6, 329.6)]
    beats = []
    for i in range(24):
        chord = chords[(i // 4) % 4]
        note = sum(np.sin(2 * np.pi * f * k * t) / k for f in chord for k in (1, 2, 3)) / 6
        arpeggio = 0.5 * np.sin(2 * np.pi * 2 * chord[i % 3] * t)
        kick = np.sin(2 * np.pi * 60 * t) * np.exp(-20 * t) if i % 2 == 0 else 0
        beats.append(envelope * (note + arpeggio) + kick)
    return (0.3 * np.concatenate(beats)).astype(np.float32)


@pytest.fixture(scope="session")
def silence() -> np.ndarray:
    """10 s of near-silence: digital zero, then faint noise at -70 dBFS."""
    noise = np.random.default_rng(0).normal(0, 10 ** (-70 / 20), 5 * SAMPLE_RATE)
    return np.concatenate([np.zeros(5 * SAMPLE_RATE), noise]).astype(np.float32)


@pytest.fixture(scope="session")
def faster():
    from podscribe.asr.faster_whisper import FasterWhisperEngine

    return FasterWhisperEngine("base", device="cpu")


@pytest.fixture(scope="session")
def openai():
    pytest.importorskip("whisper")
    from podscribe.asr.openai_whisper import OpenAIWhisperEngine

    return OpenAIWhisperEngine("base", device="cpu")


@pytest.fixture(scope="session")
def faster_fr(faster, speech) -> ASRResult:
    return faster.transcribe(speech, FRENCH)


# Agreement is measured at equal settings: greedy without temperature fallback (which samples at
# random), float32 on both engines and no VAD. Measured on short.fr: identical words this way; int8
# alone changes about 30 % of the words of this fragile synthetic speech, and so does VAD windowing
# (faster-whisper decodes the concatenated speech, openai-whisper each region from its own offset).
AGREE = ASROptions(language="fr", beam_size=1, temperature=(0.0,), batch_size=1, vad=False)


@pytest.fixture(scope="session")
def faster_fp32_agree(speech) -> ASRResult:
    from podscribe.asr.faster_whisper import FasterWhisperEngine

    return FasterWhisperEngine("base", device="cpu", compute_type="float32").transcribe(speech, AGREE)


@pytest.fixture(scope="session")
def openai_agree(openai, speech) -> ASRResult:
    return openai.transcribe(speech, AGREE)


def words(result: ASRResult) -> list[str]:
    """Lowercase words without punctuation (elisions split: l'homme -> l homme)."""
    text = " ".join(s.text for s in result.segments)
    return re.sub(r"[^\w]+", " ", text.lower()).split()


def check_times(result: ASRResult, duration: float) -> None:
    previous = 0.0
    for segment in result.segments:
        assert segment.words and segment.text == " ".join(w.text for w in segment.words)
        for w in segment.words:
            assert w.text and w.text == w.text.strip() and not is_punctuation(w.text)  # marks are attached
            assert previous <= w.start <= w.end <= min(duration, w.start + MAX_WORD_S)
            previous = w.end


# ---- engines on real audio -----------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["faster_fr", "openai_agree"])
def test_french_speech_gives_french_words_in_time_order(engine: str, speech, request) -> None:
    result = request.getfixturevalue(engine)
    assert result.language == "fr"
    assert len(words(result)) >= 30
    check_times(result, len(speech) / SAMPLE_RATE)
    assert result.segments[-1].words[-1].end > 0.5 * len(speech) / SAMPLE_RATE


def test_engines_agree(faster_fp32_agree: ASRResult, openai_agree: ASRResult) -> None:
    a, b = words(faster_fp32_agree), words(openai_agree)
    matched = sum(block.size for block in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())
    assert matched / max(len(a), len(b)) >= 0.95, (a, b)
    fw, oa = ([w for s in r.segments for w in s.words] for r in (faster_fp32_agree, openai_agree))
    if [w.text for w in fw] == [w.text for w in oa]:  # same words: same DTW alignment, same times
        assert max(max(abs(x.start - y.start), abs(x.end - y.end)) for x, y in zip(fw, oa)) <= 0.06


def test_faster_detected_language_matches_forced(faster, faster_fr, speech) -> None:
    detected = faster.transcribe(speech, DETECT)
    assert detected.language == "fr" and detected.ranking[0][0] == "fr" and not faster_fr.ranking
    assert words(detected) == words(faster_fr)
    check_ranking(detected.ranking)


def check_ranking(ranking: tuple[tuple[str, float], ...]) -> None:
    """An engine's language ranking: distinct languages, probabilities falling, summing to at most 1."""
    probabilities = [p for _, p in ranking]
    assert len({lang for lang, _ in ranking}) == len(ranking) > 50
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1 + 1e-3


def test_openai_with_vad_detects_french(openai, speech) -> None:
    piece = speech[: 8 * SAMPLE_RATE]
    result = openai.transcribe(piece, DETECT)
    assert result.language == "fr" and len(words(result)) >= 5 and result.ranking[0][0] == "fr"
    check_times(result, 8.0)
    check_ranking(result.ranking)


def test_openai_clip_past_the_end_progress_and_no_hang(openai, speech) -> None:
    # openai-whisper itself loops forever on a clip that ends past the audio's last frame.
    seen: list[float] = []
    piece = speech[: 8 * SAMPLE_RATE]
    result = openai.transcribe(piece, FRENCH, seen.append, clips=[(0.0, 9.0)])
    assert len(words(result)) >= 5
    check_times(result, 8.0)
    assert seen == sorted(seen) and seen[-1] == 8.0 and len(seen) >= 2


def test_openai_beams_share_the_audio_and_decode_the_same_tokens(openai, speech) -> None:
    """Beam search with the decoder's cross-attention reading the audio once for all beams gives
    openai-whisper's own tokens (``_shared_audio_attention``)."""
    import whisper
    from whisper.model import MultiHeadAttention

    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(speech), openai.model.dims.n_mels)
    options = whisper.DecodingOptions(language="fr", beam_size=5, fp16=False, sample_len=24)
    attention = [block.cross_attn for block in openai.model.decoder.blocks]
    shared = type(attention[0])
    assert shared is not MultiHeadAttention and all(type(a) is shared for a in attention)
    ours = openai.model.decode(mel, options)
    try:
        for a in attention:
            a.__class__ = MultiHeadAttention
        theirs = openai.model.decode(mel, options)
    finally:
        for a in attention:
            a.__class__ = shared
    assert ours.tokens == theirs.tokens and len(ours.tokens) >= 10


def test_shared_audio_attention_matches_openai_whispers_own() -> None:
    """The shared cross-attention: beams of one audio within float rounding of openai-whisper's attention;
    beams of different audio, and the attention weights word timings ask for, through openai-whisper's own
    code; the audio laid out again when the keys change, and freed with them."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("whisper")
    from whisper.model import MultiHeadAttention, disable_sdpa

    from podscribe.asr.openai_whisper import _shared_audio_attention

    torch.manual_seed(0)
    theirs = MultiHeadAttention(64, 4).eval()
    ours = MultiHeadAttention(64, 4).eval()
    ours.load_state_dict(theirs.state_dict())
    ours.__class__ = _shared_audio_attention()
    beams = torch.randn(5, 3, 64)
    with torch.no_grad():
        for audio in (torch.randn(1, 50, 64).expand(5, 50, 64), torch.randn(1, 50, 64).expand(5, 50, 64)):
            k, v = theirs.key(audio), theirs.value(audio)
            expected = theirs.qkv_attention(theirs.query(beams), k, v)[0]
            got, weights = ours.qkv_attention(ours.query(beams), k, v)
            assert weights is None and torch.allclose(got, expected, atol=1e-6)
            assert ours._audio[1] is not None and ours._audio[1][0].shape == (1, 4, 50, 16)
        mixed = torch.randn(5, 50, 64)
        k, v = theirs.key(mixed), theirs.value(mixed)
        assert torch.equal(ours.qkv_attention(beams, k, v)[0], theirs.qkv_attention(beams, k, v)[0])
        assert ours._audio[1] is None
        with disable_sdpa():
            got, weights = ours.qkv_attention(beams, k, v)
            expected, their_weights = theirs.qkv_attention(beams, k, v)
        assert weights is not None and torch.equal(weights, their_weights) and torch.equal(got, expected)
        k, v = (x[:1].expand(5, 50, 64) for x in (k, v))
        ours.qkv_attention(beams, k, v)
        assert ours._audio[1] is not None
    del k, v
    assert ours._audio[1] is None  # the layout goes with the cached keys


@pytest.mark.parametrize("engine", ["faster", "openai"])
@pytest.mark.parametrize("audio", ["silence", "music"])
def test_no_words_without_speech(engine: str, audio: str, request) -> None:
    result = request.getfixturevalue(engine).transcribe(request.getfixturevalue(audio), DETECT)
    assert result.segments == () and result.language == ""


def test_sequential_decoding_clips_and_progress(faster, speech) -> None:
    seen: list[float] = []
    options = replace(FRENCH, batch_size=1)
    duration = len(speech) / SAMPLE_RATE
    result = faster.transcribe(speech, options, seen.append)
    check_times(result, duration)
    assert len(words(result)) >= 30
    assert seen == sorted(seen) and seen[-1] == duration and len(seen) >= 2
    inside = faster.transcribe(speech, FRENCH, clips=[(0.0, 8.0)])
    assert inside.segments and all(w.end <= 8.0 for s in inside.segments for w in s.words)


def test_batched_clips_in_batches_give_the_same_words(faster, speech) -> None:
    """Clips are decoded a batch per call, longest first; two workers decoding the same batches at once
    change no word, and the words come back in time order with the language found in the first batch.
    (Other batches can change words: a batch's token budget is its longest clip's.)"""
    from podscribe.asr.faster_whisper import FasterWhisperEngine

    end = len(speech) / SAMPLE_RATE
    clips = [(0.0, 7.0), (7.0, 13.0), (13.0, 18.0), (18.0, end)]
    whole = faster.transcribe(speech, replace(FRENCH, batch_size=2), clips=clips)
    seen: list[float] = []
    two = FasterWhisperEngine("base", device="cpu", cpu_threads=2, workers=2)
    assert two.workers == 2
    batched = two.transcribe(speech, replace(FRENCH, batch_size=4, language=None), seen.append, clips=clips)
    assert batched.language == "fr"

    def timed(result):
        return [(w.text, w.start, w.end) for seg in result.segments for w in seg.words]

    assert timed(batched) == timed(whole) and len(timed(whole)) >= 30
    assert seen == sorted(seen) and seen[-1] == end and len(seen) >= 2


def test_cpu_batches_hold_at_most_two_clips(faster, speech, monkeypatch) -> None:
    """On CPU a batch holds at most CPU_BATCH clips whatever ``batch_size`` (a window's encoder pass costs
    more in a bigger batch there); every clip is decoded once."""
    from podscribe.asr import faster_whisper

    sizes: list[int] = []
    batch = faster._batch

    def spy(audio, clips, *args, **kwargs):
        sizes.append(len(clips))
        return batch(audio, clips, *args, **kwargs)

    monkeypatch.setattr(faster, "_batch", spy)
    end = len(speech) / SAMPLE_RATE
    clips = [(0.0, 5.0), (5.0, 9.0), (9.0, 13.0), (13.0, 18.0), (18.0, end)]
    faster.transcribe(speech, replace(FRENCH, batch_size=8), clips=clips)
    assert sum(sizes) == len(clips) and max(sizes) == faster_whisper.CPU_BATCH == 2


def test_cpu_windows_of_calls_at_once_share_the_workers(speech, monkeypatch) -> None:
    """Engine calls at once (one per speaker's language: ``packing._decode``) decode at most one window a CPU
    worker at a time, so the longest waiting one goes first (``LongestFirst``). Before, every call's windows
    queued inside CTranslate2 in the order asked: four here at once on two workers, and on report
    conversation7 the longest window, asked last, was decoded alone at the end while a core idled."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from podscribe.asr import faster_whisper

    engine = faster_whisper.FasterWhisperEngine("base", device="cpu", workers=2)
    inside, most = 0, 0
    lock = threading.Lock()
    words = faster_whisper.exact_word_times

    def spy(pieces, clips):
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        try:
            return words(pieces, clips)  # decoding happens here
        finally:
            with lock:
                inside -= 1

    monkeypatch.setattr(faster_whisper, "exact_word_times", spy)
    calls = [[(0.0, 4.0)], [(4.0, 10.0), (10.0, 14.0)], [(14.0, 22.0)]]
    with ThreadPoolExecutor(len(calls)) as pool:
        results = list(pool.map(lambda clips: engine.transcribe(speech, FRENCH, clips=clips), calls))
    assert most == engine.workers == 2 and all(r.segments for r in results)


def test_a_calls_other_clips_start_once_its_longest_clips_language_is_known(speech, monkeypatch) -> None:
    """Without a language, a call decodes its longest clips first, one per worker, each in the language found
    on it, and the longest one's language is the call's. Where a batch holds one clip (speaker windows, each
    encoded to its length), the other clips start once that one is read, beside the other heads. Before,
    they waited for every head: on report3's conversation40 a speaker's second head waited for other
    speakers' windows, and that speaker's last window then ran alone while a core idled."""
    import threading
    from contextlib import contextmanager

    from podscribe.asr import faster_whisper

    engine = faster_whisper.FasterWhisperEngine("base", device="cpu", workers=2)
    clips = [(0.0, 10.0), (10.0, 16.0), (19.0, 23.0)]  # heads: the 10-s and 6-s clips; then the 4-s one
    rest_started = threading.Event()
    slot = engine._gate.slot

    @contextmanager
    def second_head_after_the_rest(weight: float):
        if weight == 6.0:
            assert rest_started.wait(30), "the other clips waited for every head"
        elif weight == 4.0:
            rest_started.set()
        with slot(weight):
            yield

    monkeypatch.setattr(engine._gate, "slot", second_head_after_the_rest)
    trimmed = replace(FRENCH, language=None, batch_size=4, trim=True)  # a clip a batch, as speaker windows
    result = engine.transcribe(speech, trimmed, clips=clips)
    starts = [w.start for seg in result.segments for w in seg.words]
    assert result.language == "fr" and all(any(a <= t < b for t in starts) for a, b in clips)


def test_a_windows_words_do_not_depend_on_the_window_laid_before_it(faster, speech) -> None:
    """A window decoded alone or after another in the same call gets the same words and times. faster-whisper
    times words from a window's start truncated to 10 ms, and trims a long first word by the speech before
    it in the call: before, every word of the second window came 6 ms apart and its first word started
    0.06 s apart in the two layouts."""
    from podscribe.packing import PackOptions, _pack_audio, _unpack
    from podscribe.transcript import Turn

    a, b = Turn(0.33375, 14.8, "A"), Turn(15.06062, 29.01, "B")  # B lies off the 10-ms grid after A
    options = PackOptions()

    def words(packs: list[list[Turn]]) -> list[tuple[str, float, float]]:
        packed, pieces, windows = _pack_audio(speech, packs, options.gap, options.window_gap)
        result = faster.transcribe(packed, FRENCH, clips=windows)
        return [(w.text, round(w.start, 6), round(w.end, 6)) for s in _unpack(result.segments, pieces) for w in s.words]

    after_a = [w for w in words([[a], [b]]) if w[1] >= b.start]
    assert after_a == words([[b]]) and len(after_a) >= 20


def test_a_clip_without_timestamp_tokens_comes_back_in_sentences(faster, speech) -> None:
    """``timestamps=False`` (one-clip speaker windows, ``packing``): no timestamp token ends a segment at a
    pause; Whisper gives the clip as one, cut into sentences. With them, a segment may end mid-sentence.
    The words are read either way."""
    clip = [(0.0, len(speech) / SAMPLE_RATE)]
    stamped = faster.transcribe(speech, FRENCH, clips=clip)
    plain = faster.transcribe(speech, replace(FRENCH, timestamps=False), clips=clip)
    assert not all(ends_sentence(s.text) for s in stamped.segments[:-1])
    assert len(plain.segments) >= 2 and all(ends_sentence(s.text) for s in plain.segments[:-1])
    check_times(plain, clip[0][1])
    assert len(words(plain)) >= 0.9 * len(words(stamped)) >= 30


class _CountingDetections:
    """CTranslate2's Whisper counting its ``detect_language`` calls."""

    def __init__(self, model: object) -> None:
        self._model = model
        self.calls = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._model, name)

    def detect_language(self, encoder_output: object) -> object:
        self.calls += 1
        return self._model.detect_language(encoder_output)  # type: ignore[attr-defined]


def test_a_clip_decoded_in_its_own_language_is_detected_once(faster, speech, monkeypatch) -> None:
    """Without a language, a clip is decoded in the one detected on its encoder output, and that ranking is
    what the engine reports: one detection, not a second one after decoding (a decoder step on the window)."""
    counting = _CountingDetections(faster.model.model)
    monkeypatch.setattr(faster.model, "model", counting)
    clip = [(0.0, len(speech) / SAMPLE_RATE)]
    found = faster.transcribe(speech, replace(DETECT, batch_size=2), clips=clip)
    assert counting.calls == 1
    check_ranking(found.ranking)
    assert found.language == found.ranking[0][0] == "fr"
    assert words(found) == words(faster.transcribe(speech, replace(FRENCH, batch_size=2), clips=clip))


def test_workers_must_be_positive() -> None:
    from podscribe.asr.faster_whisper import FasterWhisperEngine

    with pytest.raises(OptionError, match="workers"):
        FasterWhisperEngine("base", device="cpu", workers=0)


def test_token_budget_follows_clip_length() -> None:
    from podscribe.asr.faster_whisper import WINDOW_TOKENS, token_budget

    budgets = [token_budget(s) for s in (0.5, 2.0, 10.0, 20.0)]
    assert budgets == sorted(budgets) and budgets[1] == 72  # room for 36 tokens: CTranslate2 decodes half
    assert token_budget(30.0) is None and all(b + 3 <= 2 * WINDOW_TOKENS for b in budgets)
    assert token_budget(20.0, prompt=200) is None  # a long initial prompt leaves no room for it


def test_prompt_tokens_count_what_faster_whisper_puts_before_the_clip(faster) -> None:
    from faster_whisper.tokenizer import Tokenizer

    from podscribe.asr.faster_whisper import prompt_tokens

    tokenizer = Tokenizer(faster.model.hf_tokenizer, True, task="transcribe", language="fr")
    for text in (None, "Bonjour à tous.", "mot " * 400):
        previous = tokenizer.encode(text) if text else []
        built = faster.model.get_prompt(tokenizer, previous, without_timestamps=False)
        assert prompt_tokens(faster.model, text) == len(built)


def test_a_clip_decoded_under_its_budget_keeps_its_words(faster, speech) -> None:
    """short.fr 13-18 s holds two sentences (about 38 tokens with timestamps): decoded alone under its
    budget, it keeps both, as without a budget (given the budget itself as ``max_new_tokens``, CTranslate2
    stopped after 34 tokens, in the second sentence). Greedy and beam 5 both: which of them reads both
    sentences of these espeak-ng voices depends on the CPU's int8 kernels (greedy read one on an AMD EPYC),
    and a reading that Whisper itself calls silence (no-speech rule) is not compared."""
    from podscribe.asr import faster_whisper

    clip = [(13.0, 18.0)]
    compared = []
    for beam in (1, 5):
        budgeted = words(faster.transcribe(speech, replace(FRENCH, beam_size=beam, batch_size=2), clips=clip))
        settings = {"language": "fr", "beam_size": beam, "temperature": 0.0, "word_timestamps": True}
        pieces, _ = faster._batch(speech, clip, 1, settings)
        free = re.sub(r"[^\w]+", " ", " ".join(piece.text for piece in pieces).lower()).split()
        if budgeted:
            assert budgeted == free
            compared.append(len(free))
    assert max(compared, default=0) >= 12 and faster_whisper.token_budget(5.0) is not None


@given(st.lists(st.floats(0.1, 30.0), max_size=60), st.integers(1, 8), st.integers(1, 4))
def test_batches_are_balanced_runs_heaviest_first(seconds: list[float], size: int, workers: int) -> None:
    """The batches are ``balanced_runs`` of the longest-first clips, handed out heaviest first."""
    from podscribe.asr.faster_whisper import balanced_batches
    from podscribe.devices import balanced_runs

    ordered = sorted(((s, k) for k, s in enumerate(seconds)), reverse=True)  # (seconds, a name)
    batches = balanced_batches(ordered, size, workers, lambda clip: clip[0])
    assert sorted(batches) == sorted(balanced_runs(ordered, size, workers))
    loads = [sum(s for s, _ in b) for b in batches]
    assert loads == sorted(loads, reverse=True)


def test_batches_give_the_extra_clips_to_the_short_ones_and_come_heaviest_first() -> None:
    """10 clips of 10 s down to 1 s, 2 workers of 4: runs of 2, 2, 3 and 3 (the first three clips in one
    batch held a worker past the end), the heaviest first."""
    from podscribe.asr.faster_whisper import balanced_batches

    clips = [10.0 - k for k in range(10)]
    assert balanced_batches(clips, 4, 2, float) == [[10, 9], [8, 7], [6, 5, 4], [3, 2, 1]]
    assert balanced_batches(clips[::-1], 4, 2, float) == [[8, 9, 10], [5, 6, 7], [3, 4], [1, 2]]


class _Ranked:
    """Stands for CTranslate2's Whisper: ``detect_language`` returns the rankings it was given."""

    def __init__(self, rankings: list[list[tuple[str, float]]]) -> None:
        self.rankings = rankings

    def detect_language(self, encoder_output: object) -> list[list[tuple[str, float]]]:
        return self.rankings


LANGUAGE_TOKENS = st.sampled_from(["<|fr|>", "<|en|>", "<|it|>", "<|la|>"])


@given(st.lists(st.lists(st.tuples(LANGUAGE_TOKENS, st.floats(0, 1)), min_size=1, max_size=4, unique_by=lambda t: t[0])
                .map(lambda r: sorted(r, key=lambda t: -t[1])), max_size=6))  # fmt: skip
def test_a_window_keeps_the_calls_language_unless_whisper_is_sure_of_another(rankings) -> None:
    """Per window: its own language first where Whisper gives it more than SURE_LANGUAGE, else the call's
    (when ranked at all); the same languages and probabilities either way."""
    from podscribe.asr import SURE_LANGUAGE
    from podscribe.asr.faster_whisper import _SureDetector

    found = _SureDetector(_Ranked(rankings), "fr").detect_language(None)
    assert len(found) == len(rankings)
    for ranked, kept in zip(rankings, found):
        assert sorted(kept) == sorted(ranked)
        top, probability = ranked[0]
        sure = probability > SURE_LANGUAGE or top == "<|fr|>" or all(t != "<|fr|>" for t, _ in ranked)
        assert kept[0][0] == (top if sure else "<|fr|>")


def test_token_budget_reaches_the_decoder(faster, speech, monkeypatch) -> None:
    from podscribe.asr import faster_whisper

    clips = [(0.0, 9.0)]
    full = words(faster.transcribe(speech, replace(FRENCH, batch_size=2), clips=clips))
    monkeypatch.setattr(faster_whisper, "TOKENS_PER_S", 0.5)
    monkeypatch.setattr(faster_whisper, "TOKENS_BASE", 6)
    cut = words(faster.transcribe(speech, replace(FRENCH, batch_size=2), clips=clips))
    assert len(full) >= 15 and 0 < len(cut) < len(full) // 2 and full[: len(cut) - 1] == cut[:-1]


# ---- guardrails (pure logic) ---------------------------------------------------------------------


def raw(*words: tuple[str, float, float], **fields: float) -> dict:
    return {"words": [{"word": w, "start": s, "end": e, "probability": 0.9} for w, s, e in words], **fields}


def test_repetition_loop_keeps_first_occurrence() -> None:
    loop = [(" merci", i * 0.5, i * 0.5 + 0.4) for i in range(8)]
    phrase = [(w, 5 + i * 0.3, 5.2 + i * 0.3) for i, w in enumerate([" c'est", " bien."] * 5)]
    segments = build_segments([raw(*loop), raw(*phrase)], 10.0, ASROptions(), "fr")
    assert [s.text for s in segments] == ["merci", "c'est bien."]


def test_pieces_without_a_leading_space_join_the_word_before() -> None:
    pieces = [
        (" d", 0.0, 0.1),
        ("'un", 0.1, 0.3),
        (" coup", 0.3, 0.6),
        (" post", 0.7, 0.9),
        ("-moderne.", 0.9, 1.2),
    ]
    segment = build_segments([raw(*pieces)], 2.0, ASROptions(), "fr")[0]
    assert [(w.text, w.start, w.end) for w in segment.words] == [
        ("d'un", 0.0, 0.3),
        ("coup", 0.3, 0.6),
        ("post-moderne.", 0.7, 1.2),
    ]
    chinese = build_segments([raw(("你", 0.0, 0.2), ("好", 0.2, 0.4))], 1.0, ASROptions(), "zh")[0]
    assert [w.text for w in chinese.words] == ["你", "好"]


def test_loops_inside_a_word_keep_their_first_occurrence() -> None:
    pieces = [(" Le", 0.0, 0.2), (" M", 0.2, 0.3), (".A.P.A.P.A.P.A.P.A.P", 0.3, 9.0), (" hahaha", 9.0, 9.5)]
    segment = build_segments([raw(*pieces)], 10.0, ASROptions(), "fr")[0]
    assert [w.text for w in segment.words] == ["Le", "M.A.P", "hahaha"]  # 3 "ha" is not a loop
    assert segment.words[1].end == segment.words[1].start + MAX_WORD_S  # said over 8.7 s: a misalignment


def test_punctuation_alone_joins_its_word_and_takes_its_times() -> None:
    """French " !" (Whisper stretched this one over 7 s of pause) becomes part of "bon," with its times;
    « joins the word after it; a segment of marks only gives them to the word before; the space is a
    no-break space."""
    said = [(" C'est", 28.66, 29.04), (" bon,", 29.04, 29.18), (" !", 33.82, 41.02)]
    quoted = [(" «", 41.0, 41.1), (" Oui", 41.1, 41.3), (" »", 41.3, 41.3)]
    segments = build_segments([raw(*said), raw(*quoted), raw((" ...", 41.3, 42.0))], 50.0, ASROptions(), "fr")
    assert [[(w.text, w.start, w.end) for w in s.words] for s in segments] == [
        [("C'est", 28.66, 29.04), ("bon,\u00a0!", 29.04, 29.18)],
        [("«\u00a0Oui\u00a0»\u00a0...", 41.1, 41.3)],
    ]
    assert segments[0].text == "C'est bon,\u00a0!" and segments[1].start == 41.1
    only_marks = build_segments([raw((" ...", 0.0, 0.5))], 1.0, ASROptions(), "fr")
    assert only_marks == ()  # nothing said
    pieces = [("你", 0.0, 0.2), ("好", 0.2, 0.4), ("。", 0.4, 0.5)]
    chinese = build_segments([raw(*pieces)], 1.0, ASROptions(), "zh")
    assert [w.text for w in chinese[0].words] == ["你", "好。"]  # written without spaces: none added


def test_repeated_sentences_keep_their_first_occurrence() -> None:
    sentence = ["c'est", "ce", "que", "ça", "m'a", "fait", "comme", "d'attacher", "un", "vélo."]
    said = [(" " + w, 1.0 + 0.01 * i, 1.0 + 0.01 * i) for i, w in enumerate(sentence * 3 + ["Oui."])]
    assert build_segments([raw(*said)], 5.0, ASROptions(), "fr")[0].text == " ".join(sentence) + " Oui."
    twice = ["je", "ne", "sais", "pas", "vraiment,", "je", "ne", "sais", "pas", "vraiment,", "non."]
    said = [(" " + w, 0.3 * i, 0.3 * i + 0.2) for i, w in enumerate(twice)]
    assert build_segments([raw(*said)], 5.0, ASROptions(), "fr")[0].text == " ".join(twice)


def test_real_repeats_are_kept() -> None:
    said = [
        (" " + w, i * 0.3, i * 0.3 + 0.2) for i, w in enumerate(["non,", "non,", "non.", "Très", "bien."])
    ]
    assert build_segments([raw(*said)], 5.0, ASROptions(), "fr")[0].text == "non, non, non. Très bien."


def test_segments_whisper_calls_silence_are_dropped() -> None:
    options = ASROptions()
    quiet = raw((" Merci.", 1.0, 1.5), no_speech_prob=0.9, avg_logprob=-1.5)
    sure = raw((" Bonjour.", 2.0, 2.5), no_speech_prob=0.9, avg_logprob=-0.2)
    assert [s.text for s in build_segments([quiet, sure], 3.0, options, "fr")] == ["Bonjour."]


@given(
    st.lists(
        st.lists(st.tuples(st.text(max_size=6), st.floats(-5, 40), st.floats(-5, 40)), max_size=8), max_size=5
    ),
    st.floats(0.1, 30),
)
def test_words_are_clean_monotonic_and_inside_the_audio(groups, duration) -> None:
    segments = build_segments([raw(*g) for g in groups], duration, ASROptions(), "fr")
    check_times(ASRResult("fr", segments), duration)


def test_corrupt_weights_are_a_model_error(tmp_path: Path) -> None:
    from podscribe.asr.faster_whisper import FasterWhisperEngine
    from podscribe.asr.openai_whisper import OpenAIWhisperEngine

    (tmp_path / "ct2").mkdir()
    (tmp_path / "ct2" / "model.bin").write_bytes(np.random.default_rng(0).bytes(5000))
    (tmp_path / "bad.pt").write_bytes(np.random.default_rng(1).bytes(5000))
    for engine, path in ((FasterWhisperEngine, tmp_path / "ct2"), (OpenAIWhisperEngine, tmp_path / "bad.pt")):
        with pytest.raises(ModelError) as caught:
            engine(str(path), device="cpu")
        assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)


# ---- trimmed speaker windows ---------------------------------------------------------------------


@pytest.fixture
def generations(faster, monkeypatch) -> list[tuple[int, int]]:
    """(windows, feature frames) of each ``generate_segment_batched`` call of ``faster``'s batched pipelines."""
    shapes: list[tuple[int, int]] = []

    class Spy(faster._batched):
        def generate_segment_batched(self, features, tokenizer, options):
            shapes.append(features.shape[::2])
            return super().generate_segment_batched(features, tokenizer, options)

    monkeypatch.setattr(faster, "_batched", Spy)
    return shapes


@pytest.mark.parametrize("trim", [False, True])
def test_a_trimmed_clip_is_encoded_alone_as_far_as_its_end(faster, speech, trim) -> None:
    """``trim`` (speaker windows): on CPU each clip is a batch of its own, encoded on its length, rounded up to
    a second, plus TRIM_MARGIN s of features, not on Whisper's whole 30 s; the words of the clips come back
    either way."""
    from podscribe.asr.faster_whisper import TRIM_MARGIN

    batches: list[tuple[int, float, int]] = []  # each batch's clips, longest clip and encoder frames

    def tap(audio: np.ndarray, windows: list[tuple[float, float]], outputs: np.ndarray) -> None:
        batches.append((len(windows), max(end - start for start, end in windows), outputs.shape[1]))

    result = faster.transcribe(speech, replace(FRENCH, trim=trim), clips=[(0.3, 5.2), (5.2, 14.8)], tap=tap)
    assert sum(n for n, _, _ in batches) == 2 and (len(batches) == 2 or not trim)
    for _, longest, frames in batches:  # the encoder halves the 100 feature frames a second
        assert frames == (50 * (math.ceil(longest) + TRIM_MARGIN) if trim else 1500)
    words = [w for s in result.segments for w in s.words]
    assert len(words) >= 15 and all(w.end <= 14.8 + 1e-6 for w in words)


@pytest.mark.parametrize("silent", [False, True])
def test_trimmed_windows_share_a_batch_off_cpu_generated_again_whole_where_one_is_silence(
    faster, speech, monkeypatch, generations, silent
) -> None:
    """Off CPU (on CUDA; here the engine's flag is set) trimmed windows share a batch, encoded to the longest one's
    length plus TRIM_MARGIN s; where Whisper hears any window as silence (here every one: thresholds that nothing
    passes), the whole batch is generated again on the whole 30-s features."""
    from podscribe.asr.faster_whisper import TRIM_MARGIN

    monkeypatch.setattr(faster, "on_cpu", False)
    thresholds = {"no_speech_threshold": -1.0, "log_prob_threshold": 1.0} if silent else {}
    result = faster.transcribe(speech, replace(FRENCH, trim=True, **thresholds), clips=[(0.3, 5.2), (5.2, 14.8)])
    trimmed = (2, 100 * (10 + TRIM_MARGIN))  # the longest window, 9.6 s, rounded up
    assert generations == ([trimmed, (2, 3000)] if silent else [trimmed])
    assert (result.segments == ()) == silent


def test_a_window_is_heard_where_whisper_decodes_text_it_does_not_call_silence() -> None:
    """``_heard``: one window's output of ``generate_segment_batched`` holds speech when it has a text token
    (below end-of-text) and Whisper does not call it silence."""
    from podscribe.asr.faster_whisper import _heard

    tokenizer = SimpleNamespace(eot=50257)

    def output(tokens: list[int], no_speech: float, logprob: float) -> dict[str, Any]:
        return {"tokens": tokens, "no_speech_prob": no_speech, "avg_logprob": logprob}

    assert _heard(output([50365, 2254, 50400], 0.1, -0.3), tokenizer, FRENCH)
    assert _heard(output([2254], 0.9, -0.3), tokenizer, FRENCH)  # sure of its words: not silence
    assert not _heard(output([2254], 0.9, -1.5), tokenizer, FRENCH)
    assert not _heard(output([50365, 50400], 0.1, -0.3), tokenizer, FRENCH)  # timestamps only
    assert not _heard(output([], 0.1, -0.3), tokenizer, FRENCH)


def test_a_trimmed_window_heard_as_silence_is_generated_again_whole(faster, speech, generations) -> None:
    """Where Whisper calls a trimmed window silence (here every window: thresholds that nothing passes), it is
    generated again on the whole 30-s features, and only that encoder output goes on, to the tap."""
    from podscribe.asr.faster_whisper import TRIM_MARGIN

    shapes: list[int] = []
    options = replace(FRENCH, trim=True, no_speech_threshold=-1.0, log_prob_threshold=1.0)
    result = faster.transcribe(speech, options, clips=[(0.3, 5.2)],
                               tap=lambda audio, windows, outputs: shapes.append(outputs.shape[1]))  # fmt: skip
    assert generations == [(1, 100 * (5 + TRIM_MARGIN)), (1, 3000)] and shapes == [1500]
    assert result.segments == ()
