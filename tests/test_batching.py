"""podscribe batch: process pool and Ray give transcribe's outputs; bad files, resume after SIGKILL, model loads.

Episodes are copies of tests/data/short.fr.opus under other names: the same bytes hit the result cache
(once it is warm), so every episode is fast and the tests measure the batch machinery, not the models.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from podscribe.batching import BatchReport, Episode, EpisodeRecord, batch, collect_episodes, read_manifest
from podscribe.cli import main
from podscribe.errors import InputError, OptionError, OutputError
from podscribe.pipeline import make_options
from podscribe.writers import OutputOptions

SHORT = Path(__file__).resolve().parent / "data" / "short.fr.opus"
FORMATS = "json,txt,srt"


def podscribe(*args: str | Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "podscribe", *map(str, args)], capture_output=True, timeout=600,
                          **kwargs)  # fmt: skip


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "batch.jsonl").read_text().splitlines()]


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != "batch.jsonl"}


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """a.opus, b.mp3 (not audio: the bad file in the middle), c.opus and d.opus (short.fr.opus copies)."""
    folder = tmp_path_factory.mktemp("archive")
    for name in ("a.opus", "c.opus", "d.opus"):
        shutil.copy(SHORT, folder / name)
    (folder / "b.mp3").write_text("this is not audio")
    return folder


@pytest.fixture(scope="module")
def transcribed(archive: Path, tmp_path_factory) -> dict[str, bytes]:
    """What `podscribe transcribe` writes for the good episodes, file by file."""
    out = tmp_path_factory.mktemp("transcribe")
    run = podscribe("transcribe", *(archive / n for n in ("a.opus", "c.opus", "d.opus")), "-o", out,
                    "-f", FORMATS, "--language", "fr", "-q")  # fmt: skip
    assert run.returncode == 0, run.stderr.decode()
    return files_of(out)


def test_pool_gives_transcribe_outputs_a_bad_file_fails_alone_one_load_per_worker(archive, transcribed, tmp_path,
                                                                                  capsys):  # fmt: skip
    out = tmp_path / "out"
    code = main(["batch", os.fspath(archive), "-o", os.fspath(out), "-f", FORMATS, "--language", "fr",
                 "--workers", "2", "-q"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1, err  # some failed
    assert "3 done, 0 skipped (done before), 1 failed of 4 episode(s)" in err and "Traceback" not in err
    assert files_of(out) == transcribed
    lines = records(out)
    assert {r["stem"]: r["status"] for r in lines} == {"a": "done", "b": "failed", "c": "done", "d": "done"}
    bad = [r for r in lines if r["stem"] == "b"]
    assert len(bad) == 1 and "not an audio or video file" in bad[0]["error"]  # a bad input is not retried
    assert not bad[0]["retryable"] and bad[0]["attempt"] == 1
    done = [r for r in lines if r["status"] == "done"]
    assert all(r["duration"] == pytest.approx(29.729, abs=1e-3) and r["wall_s"] > 0 for r in done)
    assert all(r["outputs"] == [os.fspath(out / f"{r['stem']}.{f}") for f in FORMATS.split(",")] for r in done)
    workers = {r["worker"] for r in lines}
    assert 1 <= len(workers) <= 2
    assert all(r["model_loads"] == {"asr": 1, "diarization": 1} for r in lines)  # each worker loaded once

    with open(out / "batch.jsonl", "ab") as log:
        log.write(b'{"path": "/x", "stem": "x", "sta')  # a line cut short by a killed driver: ignored
    code = main(["batch", os.fspath(archive), "-o", os.fspath(out), "-f", FORMATS, "--language", "fr", "-q"])
    assert code == 1  # b still fails; the others are skipped, not redone
    rerun = [json.loads(line) for line in (out / "batch.jsonl").read_text().splitlines()[len(lines) + 1:]]
    assert {r["stem"]: r["status"] for r in rerun} == {"a": "skipped", "b": "failed", "c": "skipped", "d": "skipped"}
    assert files_of(out) == transcribed


EPISODES = 24  # copies: served by the result cache, so a batch of them lasts a few seconds


def copies(tmp_path: Path) -> Path:
    """A folder of EPISODES copies of the short fixture, ep00.opus ..."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(EPISODES):
        shutil.copy(SHORT, inputs / f"ep{i:02d}.opus")
    return inputs


def wait_for_first_record(out: Path, running) -> None:
    """Return once OUTDIR/batch.jsonl holds a line; fail if ``running()`` turns false first or 300 s pass."""
    log = out / "batch.jsonl"
    deadline = time.monotonic() + 300
    while not (log.exists() and log.read_bytes().count(b"\n") >= 1):
        assert time.monotonic() < deadline and running(), "no episode finished"
        time.sleep(0.005)


def start_batch(tmp_path: Path, *options: str) -> tuple[subprocess.Popen, list, Path]:
    """A real driver process on EPISODES copies; returned once the first episode's record is in the log."""
    inputs = copies(tmp_path)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "podscribe", "batch", inputs, "-o", out, "--language", "fr", "--workers", "1",
               "-q", *options]  # fmt: skip
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for_first_record(out, lambda: driver.poll() is None)
    return driver, command, out


def test_resume_after_sigkill_of_the_driver_redoes_only_unfinished_episodes(tmp_path):
    driver, command, out = start_batch(tmp_path, "-f", FORMATS)
    log = out / "batch.jsonl"
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    before = [json.loads(line) for line in log.read_text().splitlines()]
    finished = {r["stem"] for r in before if r["status"] == "done"}
    assert 1 <= len(finished) < EPISODES, "the driver was to be killed mid-batch"
    time.sleep(1.0)  # the pool process notices its driver is gone and ends
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]  # no temporary left
    for p in out.glob("*.json"):
        json.loads(p.read_text())  # every output there is whole

    resumed = subprocess.run(command, capture_output=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr.decode()
    after = [json.loads(line) for line in log.read_text().splitlines()][len(before):]
    assert {r["stem"] for r in after if r["status"] == "skipped"} == finished
    assert {r["stem"] for r in after if r["status"] == "done"} == {f"ep{i:02d}" for i in range(EPISODES)} - finished
    assert len(after) == EPISODES
    assert len(list(out.glob("*.srt"))) == EPISODES


def test_a_killed_worker_process_costs_a_retry_not_the_batch(tmp_path):
    driver, _, out = start_batch(tmp_path, "-f", "json", "--retries", "1")
    log = out / "batch.jsonl"
    worker = int(json.loads(log.read_text().splitlines()[0])["worker"].rsplit(":", 1)[1])
    os.kill(worker, signal.SIGKILL)
    assert driver.wait(timeout=300) == 0, driver.stderr.read().decode()
    lines = records(out)
    lost = [r for r in lines if r["status"] == "failed"]
    assert lost and all("worker process died" in r["error"] and r["attempt"] == 1 for r in lost)
    final = {r["stem"]: r for r in lines}
    assert all(r["status"] == "done" for r in final.values()) and len(final) == EPISODES
    assert {final[r["stem"]]["attempt"] for r in lost} == {2}  # each lost episode was done on its retry
    assert len({r["worker"] for r in lines if r["status"] == "done"}) == 2  # the pool was made again


def test_manifest_sets_language_speakers_and_reference_per_episode(archive, tmp_path):
    first = batch([archive / "a.opus"], tmp_path / "first", make_options(language="fr"), progress=False)
    assert first.exit_code == 0 and first.done[0].wer is None
    reference = tmp_path / "a.ref.txt"
    shutil.copy(tmp_path / "first" / "a.txt", reference)  # its own text as reference: WER 0
    (tmp_path / "list.jsonl").write_text(
        json.dumps({"path": os.fspath(archive / "a.opus"), "language": "fr", "reference": "a.ref.txt"}) + "\n"
    )
    (tmp_path / "list.csv").write_text(f"path,speakers\n{archive / 'c.opus'},2\n")
    report = batch([tmp_path / "list.jsonl", tmp_path / "list.csv"], tmp_path / "out", progress=False, workers=1)
    assert report.exit_code == 0
    by_stem = {r.stem: r for r in report.done}
    assert by_stem["a"].wer == 0.0 and by_stem["c"].wer is None
    assert (tmp_path / "out" / "a.txt").read_text() == reference.read_text()


def test_a_worker_loads_its_models_once_for_all_episodes_and_settings(archive, tmp_path, monkeypatch):
    from podscribe import batching
    from podscribe.pipeline import model_loads

    # The initializer sets its pool process's thread count in the environment: here, in the test's own
    # process, it is put back afterwards (a single-threaded run later decodes in other batches).
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = model_loads()
    batching._start_worker(make_options(language="fr"), ["json", "txt"], os.fspath(tmp_path), OutputOptions(), False)
    stale = tmp_path / ".a.json.0123456789abcdef0123456789abcdef.part"  # left by a worker killed while writing
    stale.write_text("{")
    one = batching._run_in_pool(Episode(os.fspath(archive / "a.opus"), "a"), 1)
    assert not stale.exists()
    reference = tmp_path / "a.ref.txt"
    shutil.copy(tmp_path / "a.txt", reference)
    other = batching._run_in_pool(Episode(os.fspath(archive / "c.opus"), "c", language="fr", speakers=2,
                                          reference=os.fspath(reference)), 1)  # fmt: skip
    bad = batching._run_in_pool(Episode(os.fspath(archive / "b.mp3"), "b"), 1)
    missing = batching._run_in_pool(Episode(os.fspath(tmp_path / "gone.opus"), "gone"), 2)
    mine = tmp_path / "a2.txt"  # a file of the user's, put in the folder while the batch runs
    mine.write_text("mine\n")
    taken = batching._run_in_pool(Episode(os.fspath(archive / "a.opus"), "a2"), 1)
    assert taken.status == "failed" and "already exists (use --force to overwrite)" in taken.error
    assert not taken.retryable and mine.read_text() == "mine\n"  # a retry would overwrite it
    assert (one.status, other.status, bad.status, missing.status) == ("done", "done", "failed", "failed")
    assert one.wer is None and other.wer == 0.0  # c is a's copy: a's text is its reference too
    assert "no such file" in missing.error and missing.attempt == 2
    after = model_loads()
    assert {k: after[k] - before[k] for k in after} == {"asr": 1, "diarization": 1}
    assert one.model_loads == bad.model_loads == after


def test_stage_clock_times_each_stage_between_its_first_and_last_report():
    from podscribe.batching import _StageClock

    clock = _StageClock()
    clock("decode", 0.0, 0.0)
    clock("asr", 0.0, 10.0)
    time.sleep(0.05)
    clock("asr", 10.0, 10.0)
    times = clock.take()
    assert times["decode"] == 0.0 and 0.04 <= times["asr"] < 1.0
    assert clock.take() == {}


def test_collect_episodes_and_manifest_errors(archive, tmp_path):
    assert [e.stem for e in collect_episodes(archive)] == ["a", "b", "c", "d"]
    assert [e.stem for e in collect_episodes([os.fspath(archive / "*.opus")])] == ["a", "c", "d"]
    assert all(os.path.isabs(e.path) for e in collect_episodes(archive))
    with pytest.raises(InputError, match="cannot read"):
        read_manifest(tmp_path / "none.jsonl")
    with pytest.raises(OptionError, match="no input given"):
        collect_episodes([])
    with pytest.raises(OptionError, match="standard input"):
        collect_episodes(["-"])
    with pytest.raises(OptionError, match="share a file name stem"):
        collect_episodes([archive / "a.opus", archive / "a.opus"])
    (tmp_path / "bad.jsonl").write_text('{"path": "x.opus"}\nnot json\n')
    with pytest.raises(InputError, match="line 2: not JSON"):
        read_manifest(tmp_path / "bad.jsonl")
    (tmp_path / "nopath.csv").write_text("language\nfr\n")
    with pytest.raises(InputError, match="row 1: no 'path'"):
        read_manifest(tmp_path / "nopath.csv")
    (tmp_path / "count.csv").write_text(f"path,speakers\n{archive / 'a.opus'},two\n")
    with pytest.raises(InputError, match=r"count\.csv: row 1: speakers must be a whole number"):
        collect_episodes(tmp_path / "count.csv")
    rows = [{"path": os.fspath(archive / "a.opus")}, {"path": "b.opus", "language": "xx"}]
    (tmp_path / "lang.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(InputError, match=r"lang\.jsonl: row 2: unknown language 'xx'"):
        read_manifest(tmp_path / "lang.jsonl")  # before any episode starts, not in a worker
    for empty in ("", "path,language\n"):
        (tmp_path / "empty.csv").write_text(empty)
        with pytest.raises(InputError, match=r"empty\.csv: the manifest lists no episode"):
            collect_episodes(tmp_path / "empty.csv")
    rows = read_manifest(_write(tmp_path / "rel.csv", "path,language\nsub/x.opus,fr\n"))
    assert rows == [{"path": os.fspath(tmp_path / "sub" / "x.opus"), "language": "fr"}]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_bad_options_fail_before_any_work(archive, tmp_path):
    for kwargs, match in [({"workers": 0}, "workers"), ({"retries": -1}, "retries"),
                          ({"gpus_per_worker": 0.5}, "gpus_per_worker"), ({"formats": "doc"}, "unknown output format")]:
        with pytest.raises(OptionError, match=match):
            batch(archive, tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "a.json").write_text("{}")  # not a batch's folder: existing files are the user's
    run = podscribe("batch", archive / "a.opus", "-o", tmp_path / "taken", "-f", "json", "-q")
    assert run.returncode == 2 and b"already exists (use --force to overwrite)" in run.stderr


def test_a_second_batch_into_a_folder_in_use_is_refused(archive, tmp_path):
    """Two runs into one folder at once each did every episode and recorded it twice: the folder is held
    (an advisory lock on the folder itself, no file left in it) while a run lasts."""
    from podscribe.batching import _folder_lock

    out = tmp_path / "out"
    with _folder_lock(out):
        run = podscribe("batch", archive / "a.opus", "-o", out, "-f", "json", "-q")
        assert run.returncode == 2 and b"another podscribe batch is writing into this folder" in run.stderr
        assert run.stderr.count(b"\n") == 1 and list(out.iterdir()) == []
    with _folder_lock(out):  # free again once the first run ended
        pass
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OutputError, match="is not a folder"):
        batch(archive, tmp_path / "file" / "out")


def test_exit_codes_of_a_report():
    def rec(stem: str, status: str) -> EpisodeRecord:
        return EpisodeRecord(path=f"/{stem}", stem=stem, status=status)

    assert BatchReport(Path("."), [rec("a", "done"), rec("b", "skipped")]).exit_code == 0
    assert BatchReport(Path("."), [rec("a", "failed"), rec("a", "done")]).exit_code == 0  # a retry that worked
    assert BatchReport(Path("."), [rec("a", "done"), rec("b", "failed")]).exit_code == 1
    assert BatchReport(Path("."), [rec("a", "failed"), rec("b", "failed")]).exit_code == 2


def test_ray_actors_give_transcribe_outputs(archive, transcribed, tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'podscribe[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        report = batch([archive / n for n in ("a.opus", "b.mp3", "c.opus", "d.opus")], tmp_path / "out",
                       make_options(language="fr"), formats=FORMATS, workers=2, ray=True, progress=False)  # fmt: skip
        assert ray.is_initialized()  # a Ray this process started is left to it
    finally:
        ray.shutdown()
    assert report.exit_code == 1 and [r.stem for r in report.failed] == ["b"]
    assert files_of(tmp_path / "out") == transcribed
    assert all(r.model_loads == {"asr": 1, "diarization": 1} for r in report.records)
    assert len({r.worker for r in report.records}) <= 2

    alone = batch(archive / "a.opus", tmp_path / "alone", make_options(language="fr"), formats=FORMATS, ray=True,
                  progress=False)  # a Ray of its own: started with the usable cores, and stopped  # fmt: skip
    assert alone.exit_code == 0 and not ray.is_initialized()
    assert (tmp_path / "alone" / "a.srt").read_bytes() == transcribed["a.srt"]


def test_a_killed_ray_actor_costs_a_retry_not_the_batch(tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'podscribe[ray]')")
    import threading

    inputs = copies(tmp_path)
    out = tmp_path / "out"
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        reports: list[BatchReport] = []
        driver = threading.Thread(target=lambda: reports.append(batch(
            inputs, out, make_options(language="fr"), formats="json", workers=1, ray=True, progress=False)))
        driver.start()
        wait_for_first_record(out, driver.is_alive)
        os.kill(int(records(out)[0]["worker"].rsplit(":", 1)[1]), signal.SIGKILL)
        driver.join(300)
    finally:
        ray.shutdown()
    report = reports[0]
    lost = [r for r in report.records if r.status == "failed"]
    assert lost and all(r.error == "Ray worker died" and r.attempt == 1 for r in lost)
    assert report.exit_code == 0 and len(report.done) == EPISODES
    assert len({r.worker for r in report.done}) == 2  # the actor was restarted (its models loaded again)


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc: children, their children ...)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (a zombie waiting to be reaped has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the driver's processes")
def test_ctrl_c_stops_the_local_ray_it_started(tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'podscribe[ray]')")
    inputs, out = copies(tmp_path), tmp_path / "out"
    command = [sys.executable, "-m", "podscribe", "batch", inputs, "-o", out, "--language", "fr", "--workers", "1",
               "--ray", "-q"]  # fmt: skip
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a terminal's
    wait_for_first_record(out, lambda: driver.poll() is None)
    ray_processes = descendants(driver.pid)
    assert ray_processes, "a local Ray runs below the driver"
    driver.send_signal(signal.SIGINT)
    assert driver.wait(timeout=60) == 130, driver.stderr.read().decode()
    deadline = time.monotonic() + 20
    while (left := {pid for pid in ray_processes if running(pid)}) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"Ray processes outlived the interrupted command: {sorted(left)}"



def test_a_diarizer_that_cannot_load_ends_the_batch_in_one_line(tmp_path):
    """Its workers died in the pool initializer: four tracebacks, "worker process died" recorded and retried,
    the cause nowhere. Now the driver raises the cause, once, and no episode is recorded."""
    from podscribe.errors import ModelError
    from podscribe.pipeline import PipelineOptions

    shutil.copy(SHORT, tmp_path / "ep.opus")
    options = PipelineOptions(diarizer="pyannote", pyannote=str(tmp_path / "no-pipeline" / ".." / "nowhere"))
    with pytest.raises(ModelError, match="pyannote pipeline folder not found"):
        batch([tmp_path / "ep.opus"], tmp_path / "out", options=options, workers=1, progress=False)
    log = tmp_path / "out" / "batch.jsonl"
    assert not log.exists() or log.read_text() == ""
