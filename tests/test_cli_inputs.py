"""The command on many files: folders, globs, stdin, stdout, a bad file among good ones, resuming."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import srt

from podscribe.inputs import MEDIA_SUFFIXES, expand_inputs
from podscribe.errors import InputError, OptionError

SHORT = Path(__file__).resolve().parent / "data" / "short.fr.opus"


def podscribe(*args: str | Path, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "podscribe", *map(str, args)], input=stdin, capture_output=True, cwd=cwd, timeout=600
    )


@pytest.fixture()
def episodes(tmp_path: Path) -> Path:
    """A folder of two copies of the short fixture (one in a sub-folder), a non-audio .mp3 and a note."""
    folder = tmp_path / "episodes"
    (folder / "season2").mkdir(parents=True)
    shutil.copy(SHORT, folder / "ep1.opus")
    shutil.copy(SHORT, folder / "season2" / "ep3.opus")
    (folder / "ep2.mp3").write_text("this is not audio")
    (folder / "notes.txt").write_text("not an input")
    return folder


def test_folder_and_glob_expansion(episodes: Path):
    assert [stem for _, stem in expand_inputs([str(episodes)], False)] == ["ep1", "ep2"]
    assert [stem for _, stem in expand_inputs([str(episodes)], True)] == ["ep1", "ep2", "season2/ep3"]
    assert [stem for _, stem in expand_inputs([str(episodes / "*.opus")], False)] == ["ep1"]
    assert [stem for _, stem in expand_inputs([str(episodes / "**" / "*.opus")], True)] == ["ep1", "ep3"]
    assert expand_inputs(["-"], False) == [("-", "stdin")]
    with pytest.raises(InputError, match="no file matches"):
        expand_inputs([str(episodes / "*.flac")], False)
    (episodes / "empty").mkdir()
    with pytest.raises(InputError, match="no audio or video files"):
        expand_inputs([str(episodes / "empty")], False)
    with pytest.raises(OptionError) as e:
        expand_inputs([str(episodes / "ep1.opus"), str(episodes / "season2" / "ep3.opus"),
                        str(episodes / "ep1.wav")], False)  # fmt: skip
    assert str(e.value) == (f"{episodes / 'ep1.opus'} and {episodes / 'ep1.wav'} share a file name stem: "
                            "outputs would collide")  # fmt: skip
    assert ".opus" in MEDIA_SUFFIXES and ".txt" not in MEDIA_SUFFIXES


def test_a_bad_file_is_reported_and_the_others_go_on_then_resume(episodes: Path, tmp_path: Path):
    out = tmp_path / "out"
    run = podscribe("transcribe", episodes, "-r", "-o", out, "-f", "json,srt", "--language", "fr", "-q")
    err = run.stderr.decode()
    assert run.returncode == 1, err
    assert f"{episodes / 'ep2.mp3'}: not an audio or video file" in err
    assert "2 of 3 input(s) transcribed, 1 failed" in err and "Traceback" not in err
    made = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert made == ["ep1.json", "ep1.srt", "season2/ep3.json", "season2/ep3.srt"]
    first = {p: (out / p).read_bytes() for p in made}

    again = podscribe("transcribe", episodes, "-r", "-o", out, "-f", "json,srt", "--language", "fr", "-q")
    assert again.returncode == 2 and b"already exists" in again.stderr  # nothing overwritten
    resumed = podscribe("transcribe", episodes, "-r", "-o", out, "-f", "json,srt", "--language", "fr", "-q",
                        "--skip-existing")  # fmt: skip
    assert resumed.returncode == 2 and b"ep2.mp3: not an audio or video file" in resumed.stderr  # only it ran
    assert {p: (out / p).read_bytes() for p in made} == first
    (episodes / "ep2.mp3").unlink()
    assert podscribe("transcribe", episodes, "-r", "-o", out, "-f", "json,srt", "--skip-existing").returncode == 0
    (out / "ep1.srt").unlink()  # a run stopped between its outputs, or a format added: only what is missing
    more = podscribe("transcribe", episodes, "-r", "-o", out, "-f", "json,srt,txt", "--language", "fr", "-q",
                     "--skip-existing")  # fmt: skip
    assert more.returncode == 0, more.stderr.decode()
    assert {p: (out / p).read_bytes() for p in made if p != "ep1.srt"} == {p: first[p] for p in made if p != "ep1.srt"}
    assert (out / "ep1.srt").read_bytes() == first["ep1.srt"] and (out / "season2" / "ep3.txt").is_file()


def test_all_inputs_failing_exits_2(tmp_path: Path):
    for name in ("a.wav", "b.wav"):
        (tmp_path / name).write_bytes(b"")
    run = podscribe("transcribe", tmp_path / "a.wav", tmp_path / "b.wav", "-o", tmp_path / "out")
    assert run.returncode == 2 and b"0 of 2 input(s) transcribed, 2 failed" in run.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_stdin_in_and_stdout_out(tmp_path: Path):
    run = podscribe("transcribe", "-", "-o", "-", "-f", "srt", "--language", "fr", "-q",
                    stdin=SHORT.read_bytes(), cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr.decode()
    cues = list(srt.parse(run.stdout.decode("utf-8")))
    assert len(cues) > 3
    assert not (tmp_path / "-").exists() and list(tmp_path.iterdir()) == []  # no folder named "-"
    to_folder = podscribe("transcribe", "-", "-o", tmp_path / "o", "-f", "json", "--language", "fr", "-q",
                          stdin=SHORT.read_bytes())  # fmt: skip
    assert to_folder.returncode == 0
    assert json.loads((tmp_path / "o" / "stdin.json").read_text(encoding="utf-8"))["audio"] is None
    two = podscribe("transcribe", SHORT, "-o", "-", "-f", "srt,vtt")
    assert two.returncode == 2 and b"-o - writes one format of one input" in two.stderr


def test_new_files_follow_the_umask(tmp_path: Path):
    old = os.umask(0o027)
    try:
        run = podscribe("transcribe", SHORT, "-o", tmp_path, "-f", "txt", "--language", "fr", "-q")
    finally:
        os.umask(old)
    assert run.returncode == 0
    assert (tmp_path / "short.fr.txt").stat().st_mode & 0o777 == 0o640
