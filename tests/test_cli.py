"""The `podscribe` command end to end: real runs, and every bad input -> exit 2, one line, no output file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import srt

from podscribe._version import __version__ as podscribe_version
from podscribe.audio import ffmpeg_path
from podscribe.cli import main
from podscribe.transcript import Transcript

from conftest import DATA, ROOT

SRC = ROOT / "src"


def podscribe(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", **(env or {})}
    return subprocess.run([sys.executable, "-m", "podscribe", *map(str, args)], capture_output=True, text=True,
                          timeout=900, cwd=cwd, env=environ)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("podscribe: error: ")
    assert "Traceback" not in proc.stderr
    for f in fragments:
        assert f in lines[0]


@pytest.fixture(scope="module")
def transcribed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The short two-speaker fixture through the whole pipeline, every format, names from the reference."""
    out = tmp_path_factory.mktemp("out")
    proc = podscribe("transcribe", DATA / "short.fr.opus", "-o", out, "-f", "all", "--language", "fr",
                     "--reference", DATA / "interview.fr.txt", "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


def test_transcribe_writes_every_format_with_real_names(transcribed: Path) -> None:
    names = sorted(p.name for p in transcribed.iterdir())
    assert names == [f"short.fr.{ext}" for ext in ("html", "json", "rttm", "srt", "txt", "vtt")]
    data = json.loads((transcribed / "short.fr.json").read_text(encoding="utf-8"))
    assert data["schema"] == "podscribe.transcript/1" and data["language"] == "fr"
    assert {s["name"] for s in data["speakers"]} == {"Mathilde Wateau", "Romain Boucher"}
    words = [w for s in data["segments"] for w in s["words"]]
    assert len(words) > 50
    starts = [w["start"] for w in words]
    assert starts == sorted(starts) and all(0 <= w["start"] <= w["end"] <= data["duration"] for w in words)
    txt = (transcribed / "short.fr.txt").read_text(encoding="utf-8")
    assert txt.startswith(("Mathilde Wateau : ", "Romain Boucher : "))
    cues = list(srt.parse((transcribed / "short.fr.srt").read_text(encoding="utf-8")))
    assert cues and all(len(line) <= 42 for c in cues for line in c.content.splitlines())
    assert (transcribed / "short.fr.vtt").read_text(encoding="utf-8").startswith("WEBVTT")
    assert "Romain_Boucher" in (transcribed / "short.fr.rttm").read_text(encoding="utf-8")


def test_existing_outputs_are_kept_without_force(transcribed: Path) -> None:
    before = {p.name: p.read_bytes() for p in transcribed.iterdir()}
    proc = podscribe("transcribe", DATA / "short.fr.opus", "-o", transcribed, "-f", "json,txt", "--quiet")
    assert_one_line_error(proc, "already exists", "--force")
    assert {p.name: p.read_bytes() for p in transcribed.iterdir()} == before


def test_subtitles_recut_from_json_and_evaluate(transcribed: Path, tmp_path: Path) -> None:
    out = tmp_path / "recut.srt"
    proc = podscribe("subtitles", transcribed / "short.fr.json", "-o", out, "--max-chars", "32", "--report")
    assert proc.returncode == 0, proc.stderr
    assert all(len(line) <= 32 for c in srt.parse(out.read_text(encoding="utf-8")) for line in c.content.splitlines())
    proc = podscribe("evaluate", transcribed / "short.fr.json", "--reference", transcribed / "short.fr.txt",
                     "--rttm", DATA / "short.fr.rttm", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["wer"] == 0 and report["cpwer"] == 0  # a transcript against its own TXT
    assert report["der"] is not None and report["der"] < 0.1
    for key in ("substitutions", "deletions", "insertions", "ref_words", "hyp_words", "speakers_ref",
                "speakers_hyp", "jer"):
        assert key in report


def cut_short(folder: Path, name: str) -> tuple[Path, Path]:
    """short.fr as a whole mono WAV, and a copy ``name`` cut to its first three quarters (its header still
    declares the whole: a truncation warning)."""
    whole, cut = folder / "whole.wav", folder / name
    source = DATA / "short.fr.opus"
    subprocess.run([ffmpeg_path(), "-nostdin", "-v", "error", "-i", source, "-ac", "1", whole], check=True)
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 3 // 4 // 2 * 2])
    return whole, cut


def test_second_run_uses_the_cache_and_repeats_a_damage_warning(tmp_path: Path) -> None:
    """A rerun served from the result cache decodes nothing, yet warns again that the file is cut short."""
    whole, cut = cut_short(tmp_path, "short.fr.wav")
    env = {"PODSCRIBE_CACHE": str(tmp_path / "cache")}
    first = podscribe("transcribe", cut, "-o", tmp_path, "-f", "json", "--quiet", env=env)
    assert first.returncode == 0, first.stderr
    second = podscribe("transcribe", cut, "-o", tmp_path, "-f", "vtt", "-v", env=env)
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "short.fr.vtt").exists()
    assert "cached" in second.stderr
    for run in (first, second):
        assert f"{cut}: decoded" in run.stderr and "the file looks truncated or corrupt" in run.stderr
    assert "decoded" not in podscribe("transcribe", whole, "-o", tmp_path, "-f", "json", "-q", env=env).stderr


# ---- standard streams ----------------------------------------------------------------------------
def shell(line: str, env: dict | None = None) -> subprocess.CompletedProcess[bytes]:
    """``line`` in bash, where ``$P`` is this Python's podscribe."""
    environ = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               "P": f"{sys.executable} -m podscribe", **(env or {})}  # fmt: skip
    return subprocess.run(["bash", "-c", line], capture_output=True, timeout=900, env=environ, check=False)


def test_a_closed_pipe_a_full_disk_and_no_standard_input(tmp_path: Path) -> None:
    """Were "internal error: BrokenPipeError / OSError / AttributeError": a reader gone (``| true``) ends
    quietly as a pipe's writer does (141), a full disk or a closed stdin is one line, exit 2."""
    gone = shell('$P models | true; echo "rc=${PIPESTATUS[0]}"')
    assert gone.stdout == b"rc=141\n" and gone.stderr == b""
    full = shell("$P models > /dev/full")
    text = subprocess.CompletedProcess(full.args, full.returncode, "", full.stderr.decode())
    assert_one_line_error(text, "-: cannot write standard output: No space left on device")
    closed = shell(f"$P transcribe - -o {tmp_path} <&-")
    text = subprocess.CompletedProcess(closed.args, closed.returncode, "", closed.stderr.decode())
    assert_one_line_error(text, "-: standard input is closed")


def test_standard_output_in_an_ascii_locale_with_stderr_closed(tmp_path: Path) -> None:
    """In the C locale (no UTF-8 coercion), with PYTHONIOENCODING=ascii: the SRT's no-break spaces and a
    file name outside ASCII were UnicodeEncodeErrors; with stderr closed, a warning was printed into the
    SRT on stdout. Output is UTF-8 whatever the locale, and a file name comes back as its own bytes."""
    _, cut = cut_short(tmp_path, "épisode été.wav")  # a warning, for the closed stderr
    ascii_env = {"LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0",
                 "PYTHONIOENCODING": "ascii"}  # fmt: skip
    srt_run = shell(f"$P transcribe '{cut}' -o - -f srt --language fr -q 2>&-", ascii_env)
    assert srt_run.returncode == 0
    cues = list(srt.parse(srt_run.stdout.decode("utf-8")))
    assert len(cues) > 3 and "\xa0" in "".join(c.content for c in cues)
    assert b"podscribe:" not in srt_run.stdout
    files = shell(f"$P transcribe '{cut}' -o '{tmp_path}' -f json,html --language fr -q", ascii_env)
    assert files.returncode == 0, files.stderr
    saved = json.loads((tmp_path / "épisode été.json").read_text(encoding="utf-8"))
    assert saved["audio"].endswith("épisode été.wav") and (tmp_path / "épisode été.html").is_file()
    assert b"decoded" in files.stderr and b"Traceback" not in files.stderr


# ---- bad input ----------------------------------------------------------------------------------
def _bad_files(d: Path) -> dict[str, tuple[Path, str]]:
    ff = [ffmpeg_path(), "-nostdin", "-v", "error", "-y"]
    empty = d / "empty.mp3"
    empty.write_bytes(b"")
    text = d / "notes.mp3"
    text.write_text("this is not audio\n" * 50)
    noise = d / "random.wav"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 40000, dtype=np.uint8).tobytes())
    truncated = d / "truncated.m4a"
    subprocess.run([*ff, "-i", DATA / "short.fr.opus", "-c:a", "aac", d / "full.m4a"], check=True)
    truncated.write_bytes((d / "full.m4a").read_bytes()[:300])
    video = d / "no_audio.mp4"
    subprocess.run([*ff, "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=2", "-c:v", "libx264", video],
                   check=True)
    folder = d / "folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("a folder without audio or video\n")
    silence = d / "silence.wav"
    subprocess.run([*ff, "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "8", silence], check=True)
    second = d / "speech_in_track_2.mkv"  # a silent first audio track, the speech in the second
    subprocess.run([*ff, "-i", silence, "-i", DATA / "short.fr.opus", "-map", "0:a", "-map", "1:a",
                    "-c:a", "flac", second], check=True)  # fmt: skip
    return {
        "missing": (d / "nothing.mp3", "no such file"),
        "directory": (folder, "no audio or video files in this folder"),
        "empty": (empty, "empty"),
        "text": (text, "notes.mp3"),
        "random": (noise, "random.wav"),
        "truncated": (truncated, "truncated.m4a"),
        "video without audio": (video, "no audio stream"),
        "silence": (silence, "no speech found"),
        "speech in track 2": (second, ("no speech found (silence, music or noise only) in audio track 1 of 2 "
                                       "(--audio-track reads another); nothing written")),
    }


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    return _bad_files(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("case", ["missing", "directory", "empty", "text", "random", "truncated",
                                  "video without audio", "silence", "speech in track 2"])
def test_bad_input_one_line_exit_2_no_output(bad_files, case: str, tmp_path: Path) -> None:
    path, fragment = bad_files[case]
    out = tmp_path / "out"
    proc = podscribe("transcribe", path, "-o", out, "-f", "json,txt,srt", "--quiet", "--no-cache")
    assert_one_line_error(proc, fragment)
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--model", "no-such-model"], "no-such-model"),
        (["--model", "small"], "small"),  # known model whose weights are not available offline
        (["-f", "docx"], "unknown output format docx"),
        (["--engine", "nemo"], "invalid choice"),
        (["--beam-size", "0"], "--beam-size"),
        (["--max-chars", "-3"], "--max-chars"),
        (["--speakers", "0"], "speakers"),
        (["--min-speakers", "5", "--max-speakers", "2"], "speaker"),
        (["--voice", "Mathilde"], "--voice"),
        (["--voice", "=m.wav"], "--voice expects NAME=FILE"),
        (["--no-vad"], "--no-vad needs --diarizer none"),
        (["--speaker-names", " , "], "--speaker-names ' , ' holds no name"),
    ],
)
def test_bad_options_one_line_exit_2(args: list[str], fragment: str, tmp_path: Path, capsys, monkeypatch) -> None:
    """In-process through main(argv): the same one-line errors as the installed command."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = main(["transcribe", str(DATA / "short.fr.opus"), "-o", str(tmp_path / "o"), "--quiet", "--no-cache", *args])
    captured = capsys.readouterr()
    assert_one_line_error(subprocess.CompletedProcess([], code, captured.out, captured.err), fragment)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_the_speech_in_a_second_audio_track_is_read_with_its_option(bad_files, tmp_path: Path) -> None:
    """The first track is silent; ``--audio-track 2`` transcribes the second, the JSON keeps which track it
    was, and a clip of the transcript is cut from that track, not the first."""
    second, _ = bad_files["speech in track 2"]
    proc = podscribe("transcribe", second, "-o", tmp_path, "-f", "json", "--language", "fr",
                     "--audio-track", "2", "-q")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    transcript = Transcript.load(tmp_path / "speech_in_track_2.json")
    assert transcript.audio_track == 2 and len(transcript.words) > 40
    first = transcript.words[0]
    bite = podscribe("clip", tmp_path / "speech_in_track_2.json", "--start", first.start,
                     "--end", first.end + 2, "-o", tmp_path / "bite.wav")  # fmt: skip
    assert bite.returncode == 0, bite.stderr
    from pydub import AudioSegment

    assert AudioSegment.from_wav(tmp_path / "bite.wav").max > 1000  # speech, not the silent first track
    wrong = podscribe("transcribe", second, "-o", tmp_path / "x", "--audio-track", "3", "-q")
    assert_one_line_error(wrong, "has 2 audio track(s): there is no track 3")


def test_diarize_writes_no_rttm_for_silence(bad_files, tmp_path: Path) -> None:
    """As transcribe: speech or an error, never an empty RTTM."""
    silence, _ = bad_files["silence"]
    proc = podscribe("diarize", silence, "-o", tmp_path / "d", "--quiet")
    assert_one_line_error(proc, "silence.wav: no speech found")
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").iterdir())


def test_a_warning_is_not_written_onto_the_end_of_a_progress_bar() -> None:
    """The command's log lines clear the bars drawn on stderr first (once: ``decode: 0.0s [00:00,
    ?s/s]podscribe: file: decoded 3.7 s of 15.0 s declared ...``)."""
    script = ("import argparse, logging, sys, tqdm; from podscribe import cli; "
              "cli._setup_logging(argparse.Namespace(verbose=False)); "
              "bar = tqdm.tqdm(total=3, desc='decode', file=sys.stderr); bar.update(1); "
              "logging.getLogger('podscribe.audio').warning('cut.mp3: the file looks truncated'); "
              "bar.close()")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          check=True, env={**os.environ, "PYTHONPATH": str(SRC)})  # fmt: skip
    before, warning, _ = proc.stderr.partition("podscribe: cut.mp3: the file looks truncated")
    assert warning and "decode" in before and before.endswith(("\r", "\n"))  # a line of its own


def test_other_commands_bad_input(tmp_path: Path) -> None:
    notjson = tmp_path / "t.json"
    notjson.write_text("{oops")
    assert_one_line_error(podscribe("subtitles", notjson, "-o", tmp_path / "x.srt"), "t.json")
    assert_one_line_error(podscribe("subtitles", notjson, "-o", tmp_path / "x.docx"), "x.docx")
    assert_one_line_error(podscribe("evaluate", tmp_path / "none.json", "--reference", DATA / "interview.fr.txt"),
                          "none.json")
    assert_one_line_error(podscribe("diarize", tmp_path / "none.wav", "-o", tmp_path), "none.wav")
    assert not (tmp_path / "x.srt").exists()


# ---- in process, through main(argv): names and --debug ------------------------------------------------


def _cut(source: Path, start: float, end: float, target: Path) -> str:
    ff = [ffmpeg_path(), "-nostdin", "-v", "error", "-y"]
    subprocess.run([*ff, "-ss", str(start), "-to", str(end), "-i", source, "-ac", "1", "-ar", "16000", target],
                   check=True)
    return str(target)


def test_voice_samples_name_the_speakers_end_to_end(transcribed: Path, tmp_path: Path) -> None:
    """--voice NAME=FILE: each speaker gets the name of the sample that sounds like them."""
    short = DATA / "short.fr.opus"  # Mathilde 3.54-14.69 s, Romain 15.28-28.73 s (short.fr.rttm)
    mathilde, romain = _cut(short, 4, 10, tmp_path / "m.wav"), _cut(short, 16, 22, tmp_path / "r.wav")
    code = main(["transcribe", str(short), "-o", str(tmp_path), "-f", "json", "--language", "fr", "--quiet",
                 "--voice", f"Romain={romain}", "--voice", f"Mathilde={mathilde}"])
    assert code == 0
    t = Transcript.load(tmp_path / "short.fr.json")

    def speaker_at(second: float) -> str:
        return next(turn.speaker for turn in t.turns if turn.start <= second <= turn.end)

    assert dict(t.names) == {speaker_at(6): "Mathilde", speaker_at(20): "Romain"}


def test_a_voice_sample_given_twice_or_without_speech_is_named(tmp_path: Path) -> None:
    """`--voice Ann=a --voice Ann=b` kept the last sample in silence; a sample without speech failed as
    "voice sample contains no speech", which file and whose unsaid."""
    short = DATA / "short.fr.opus"
    sample = _cut(short, 4, 10, tmp_path / "m.wav")
    proc = podscribe("transcribe", short, "-o", tmp_path, "--voice", f"Ann={sample}", "--voice",
                     f"Ann={sample}")  # fmt: skip
    assert_one_line_error(proc, "--voice gives 'Ann' twice")
    silent = tmp_path / "silent.wav"
    subprocess.run([ffmpeg_path(), "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "3",
                    str(silent)], check=True)  # fmt: skip
    proc = podscribe("transcribe", short, "-o", tmp_path, "--language", "fr", "--voice", f"Ann={silent}")
    assert_one_line_error(proc, f"{silent}: voice sample contains no speech (the sample of 'Ann')")


def test_speaker_names_in_order_of_first_appearance_end_to_end(transcribed: Path, tmp_path: Path) -> None:
    code = main(["transcribe", str(DATA / "short.fr.opus"), "-o", str(tmp_path), "-f", "json,txt", "--language",
                 "fr", "--quiet", "--speaker-names", "Ann, Bob"])
    assert code == 0
    t = Transcript.load(tmp_path / "short.fr.json")
    assert dict(t.names) == {"SPEAKER_00": "Ann", "SPEAKER_01": "Bob"}
    assert t.segments[0].speaker == "SPEAKER_00"  # ids follow first appearance, so the first voice is Ann
    lines = (tmp_path / "short.fr.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("Ann : ") and all(line.startswith(("Ann : ", "Bob : ")) for line in lines)


def test_debug_shows_the_traceback_and_its_cause(tmp_path: Path, capsys) -> None:
    notjson = tmp_path / "t.json"
    notjson.write_text("{oops")
    assert main(["subtitles", str(notjson), "-o", str(tmp_path / "x.srt")]) == 2
    quiet = capsys.readouterr().err
    assert quiet.count("\n") == 1 and "Traceback" not in quiet
    assert main(["subtitles", str(notjson), "-o", str(tmp_path / "x.srt"), "--debug"]) == 2
    err = capsys.readouterr().err
    assert "JSONDecodeError" in err and "direct cause of the following exception" in err  # raised ``from`` it
    assert err.rstrip().splitlines()[-1] == f"podscribe: error: {notjson}: " + quiet.split(f"{notjson}: ", 1)[1].rstrip()
    assert not (tmp_path / "x.srt").exists()


def test_subtitle_flags_come_from_the_rules_and_their_checks(transcribed: Path, tmp_path: Path, capsys) -> None:
    """Flags, defaults and validation are SubtitleRules' own: min_duration 0 is allowed, errors name flags."""
    source = str(transcribed / "short.fr.json")
    assert main(["subtitles", source, "-o", str(tmp_path / "a.srt"), "--min-duration", "0", "--max-cps", "12"]) == 0
    assert (tmp_path / "a.srt").read_text(encoding="utf-8").startswith("1\n")
    assert main(["subtitles", source, "-o", str(tmp_path / "b.srt"), "--min-duration", "8"]) == 2
    assert capsys.readouterr().err.strip() == (
        "podscribe: error: --min-duration 8.0 is longer than --max-duration 7.0"
    )
    assert main(["subtitles", source, "-o", str(tmp_path / "b.srt"), "--max-lines", "0"]) == 2
    assert capsys.readouterr().err.strip() == "podscribe: error: --max-lines must be positive, not 0"
    assert not (tmp_path / "b.srt").exists()



# ---- pipeline, ASR and diarization flags: declared once, on their option fields ------------------------

OFFERED = {  # the option fields' flags each command offers
    "transcribe": {"--model", "--engine", "--device", "--threads", "--compute-type", "--num-workers", "--language",
                   "--beam-size", "--batch-size", "--no-vad", "--no-cache", "--diarizer", "--pyannote",
                   "--speakers", "--min-speakers", "--max-speakers", "--reference", "--audio-track"},
    "batch": {"--model", "--engine", "--device", "--threads", "--compute-type", "--language", "--beam-size",
              "--batch-size", "--no-vad", "--no-cache", "--diarizer", "--pyannote", "--speakers",
              "--min-speakers", "--max-speakers", "--audio-track"},
    "align": {"--model", "--device", "--threads", "--compute-type", "--language", "--no-cache", "--audio-track"},
    "diarize": {"--device", "--diarizer", "--pyannote", "--speakers", "--min-speakers", "--max-speakers",
                "--audio-track"},
}
MINIMAL = {"transcribe": ["a.wav"], "batch": ["a.wav", "-o", "out"], "align": ["a.wav", "a.txt"], "diarize": ["a.wav"]}


def _option_fields():
    import dataclasses

    from podscribe.asr import ASROptions
    from podscribe.diarization import DiarizationOptions
    from podscribe.pipeline import PipelineOptions

    return [f for c in (PipelineOptions, ASROptions, DiarizationOptions) for f in dataclasses.fields(c)
            if "flag" in f.metadata]  # fmt: skip


def _command(name: str):
    from podscribe.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sub.choices[name]


@pytest.mark.parametrize("command", sorted(OFFERED))
def test_each_option_flag_takes_its_default_and_help_from_its_field(command: str) -> None:
    parser = _command(command)
    args = parser.parse_args(MINIMAL[command])
    flags = {a.option_strings[0]: a for a in parser._actions if a.option_strings}
    offered = {f.metadata["flag"]: f for f in _option_fields() if f.metadata["flag"] in flags}
    assert set(offered) == OFFERED[command]
    for flag, f in offered.items():
        action = flags[flag]
        assert action.dest == f.name and getattr(args, f.name) == f.default, flag
        assert action.help.startswith(f.metadata["help"]), flag
        if f.default is not None and not isinstance(f.default, bool):
            assert action.help.endswith(f"(default {f.default})"), flag


def test_a_changed_field_default_shows_in_the_flag_and_its_help(monkeypatch) -> None:
    """The flag's default is read from the field, not written twice: change the field, the flag follows."""
    beam = next(f for f in _option_fields() if f.name == "beam_size")
    monkeypatch.setattr(beam, "default", 3)
    parser = _command("transcribe")
    assert parser.parse_args(["a.wav"]).beam_size == 3
    assert "beams searched (default 3)" in " ".join(parser.format_help().split())


def test_switch_flags_turn_their_field_over() -> None:
    args = _command("transcribe").parse_args(["a.wav", "--no-vad", "--no-cache", "--diarizer", "none"])
    assert (args.vad, args.cache, args.diarizer) == (False, False, "none")


BAD_VALUES = [  # flag, text on the command line, field, value in Python
    ("--beam-size", "0", "beam_size", 0),
    ("--batch-size", "0", "batch_size", 0),
    ("--threads", "0", "cpu_threads", 0),
    ("--num-workers", "0", "num_workers", 0),
    ("--device", "gpu", "device", "gpu"),
    ("--device", "cuda:x", "device", "cuda:x"),
    ("--speakers", "0", "num_speakers", 0),
    ("--min-speakers", "0", "min_speakers", 0),
    ("--max-speakers", "0", "max_speakers", 0),
    ("--compute-type", "int4", "compute_type", "int4"),
]


@pytest.mark.parametrize("flag, text, field, value", BAD_VALUES)
def test_a_bad_value_names_the_flag_on_the_command_line_and_the_field_in_the_library(
    flag: str, text: str, field: str, value, tmp_path: Path, capsys
) -> None:
    from podscribe.errors import OptionError
    from podscribe.pipeline import make_options

    with pytest.raises(OptionError) as caught:
        make_options(**{field: value})
    library = str(caught.value)
    assert field in library and "--" not in library and caught.value.option == field

    code = main(["transcribe", str(DATA / "short.fr.opus"), "-o", str(tmp_path / "o"), "--no-cache", flag, text])
    captured = capsys.readouterr()
    assert_one_line_error(subprocess.CompletedProcess([], code, captured.out, captured.err), flag)
    assert captured.err.strip() == "podscribe: error: " + library.replace(field, flag, 1)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv, message", [
    (["batch", "a.wav", "-o", "{out}", "--beam-size", "0"], "--beam-size must be a whole number of at least 1, not 0"),
    (["align", "a.wav", "a.txt", "-o", "{out}", "--threads", "0"], "--threads must be a whole number"),
    (["diarize", "a.wav", "-o", "{out}", "--min-speakers", "3", "--max-speakers", "2"],
     "need 1 <= --min-speakers <= --max-speakers, got 3 and 2"),
    (["transcribe", "a.wav", "-o", "{out}", "--no-vad"], "--no-vad needs --diarizer none"),
    (["batch", "a.wav", "-o", "-"], "batch writes files into a folder: -o - (standard output) is for"),
    (["batch", "a.wav", "-o", "{out}", "--workers", "0"], "error: --workers must be at least 1, not 0"),
    (["batch", "a.wav", "-o", "{out}", "--retries", "-1"], "error: --retries must be zero or more, not -1"),
    (["evaluate", "a.wav", "--reference", "a.txt", "--collar", "nan"],
     "error: --collar must be a finite number of seconds, zero or more, got nan"),
    (["evaluate", "a.wav", "--reference", "a.txt", "--collar", "inf"], "--collar must be a finite number"),
    (["evaluate", "a.wav", "--reference", "a.txt", "--collar", "-1"], "--collar must be a finite number"),
    (["evaluate", "a.wav", "--reference", "a.txt", "--language", "xx"], "error: unknown language 'xx'"),
    (["evaluate", "a.wav"], "error: --reference REF is needed (or an RTTM hypothesis and --rttm REF.rttm"),
    (["evaluate", "a.wav", "--reference", "a.txt", "--regions", "-1"], "--regions must be a whole number"),
])  # fmt: skip
def test_every_command_checks_its_option_flags_through_the_fields(argv, message, tmp_path: Path, capsys) -> None:
    """The same checks and wording in batch, align and diarize, before any input is read."""
    out = tmp_path / "out"
    for name in ("a.wav", "a.txt"):
        (tmp_path / name).write_bytes(b"x")
    argv = [str(tmp_path / a) if a in ("a.wav", "a.txt") else a.format(out=out) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not out.exists()
def test_diarize_shows_its_progress_bar_on_a_terminal_unless_quiet(tmp_path, capsys, monkeypatch):
    """The diarizer reports as it reads; the CLI's tqdm bars are that callback, drawn on a terminal only (in a
    log file each redraw was one more line), and --quiet silences them."""
    short = str(DATA / "short.fr.opus")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["diarize", short, "-o", str(tmp_path / "shown")]) == 0
    shown = capsys.readouterr().err
    assert "diarization:" in shown and "29.7/29.7" in shown and "/29.7" in shown.replace("29.7/29.7", "")
    assert main(["diarize", short, "-o", str(tmp_path / "quiet"), "--quiet"]) == 0
    assert "diarization" not in capsys.readouterr().err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert main(["diarize", short, "-o", str(tmp_path / "log")]) == 0
    assert "diarization" not in capsys.readouterr().err
    assert (tmp_path / "quiet" / "short.fr.rttm").read_text() == (tmp_path / "shown" / "short.fr.rttm").read_text()


def test_evaluate_scores_an_rttm_hypothesis_and_a_language(tmp_path, capsys) -> None:
    """Diarization alone from the command line (an RTTM hypothesis needed --reference, then was refused as
    "not text"); --language sets the normaliser of a hypothesis that does not say its language (SRT)."""
    rttm = DATA / "interview.fr.rttm"
    assert main(["evaluate", str(rttm), "--rttm", str(rttm), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["wer"] is None and scores["der"] == scores["jer"] == 0.0
    assert scores["inputs"]["hypothesis"] == str(rttm) and scores["podscribe"] == podscribe_version
    hyp, ref = tmp_path / "h.srt", tmp_path / "r.txt"
    hyp.write_text("1\n00:00:00,000 --> 00:00:02,000\nI have twenty one cats.\n", encoding="utf-8")
    ref.write_text("I have 21 cats.\n", encoding="utf-8")
    rates = []
    for language in ("en", "fr"):
        assert main(["evaluate", str(hyp), "--reference", str(ref), "--language", language, "--json"]) == 0
        rates.append(json.loads(capsys.readouterr().out)["wer"])
    assert rates[0] == 0.0 < rates[1]


def test_main_in_a_program_puts_its_signal_handlers_back(capsys) -> None:
    """SIGTERM and SIGHUP end a command as Ctrl-C does; a program calling ``main`` gets its own handlers back."""
    import signal

    mine = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        assert main(["models"]) == 0 and "base" in capsys.readouterr().out
        assert all(signal.getsignal(s) is signal.SIG_IGN for s in mine)
    finally:
        for s, handler in mine.items():
            signal.signal(s, handler)


def test_options_a_choice_ignores_are_refused_before_any_work(tmp_path):
    """Accepted and ignored, these exited 0 as if applied; float16 on a CPU failed after decoding and
    diarization; ``-f all,srt`` said "unknown output format all"; ``diarize`` of two ``x`` files wrote
    the first RTTM and then failed on the second."""
    short = DATA / "short.fr.opus"
    cases = [
        (("--pyannote", tmp_path), "--pyannote applies to --diarizer pyannote, not --diarizer overlap"),
        (("--diarizer", "none", "--speakers", "2"), "--speakers: no speakers are found with --diarizer none"),
        (("--diarizer", "none", "--speaker-names", "Ann,Bob"), "speaker names: no speakers are found"),
        (("--speaker-names", "Ann,Ann"), "'Ann' is given twice"),
        (("--compute-type", "float16", "--device", "cpu"), "compute type float16 does not run on this CPU"),
    ]
    for extra, said in cases:
        assert_one_line_error(podscribe("transcribe", short, "-o", tmp_path / "out", *extra), said)
    assert not (tmp_path / "out").exists()
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(short, tmp_path / folder / "x.opus")
    proc = podscribe("diarize", tmp_path / "a" / "x.opus", tmp_path / "b" / "x.opus", "-o", tmp_path / "rttm")
    assert_one_line_error(proc, "share a file name stem")
    assert not (tmp_path / "rttm").exists()
    from podscribe.writers import RENDERERS, parse_formats

    assert parse_formats("all,srt") == list(RENDERERS)


def test_an_unknown_flag_points_to_its_commands_help():
    """`align ... --engine openai-whisper` said "(see podscribe --help)", whose page does not list align's
    flags (align has no --engine)."""
    proc = podscribe("align", "a.wav", "a.txt", "--engine", "openai-whisper")
    assert_one_line_error(proc, "unrecognized arguments: --engine openai-whisper (see podscribe align --help)")


def test_subtitles_of_a_transcript_without_words_are_refused(tmp_path):
    """They were a 0-byte SRT, exit 0: a file ffmpeg, pycaption and webvtt-py refuse."""
    empty = tmp_path / "empty.json"
    Transcript(segments=(), duration=3.0).save(empty)
    proc = podscribe("subtitles", empty, "-o", tmp_path / "empty.srt")
    assert_one_line_error(proc, "empty.json: no words: nothing to subtitle")
    assert not (tmp_path / "empty.srt").exists()
