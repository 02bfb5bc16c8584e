"""Many episodes at once: a process pool on one machine, or Ray actors on a cluster, that resume.

Each worker (a pool process or a Ray actor) loads ONE single-threaded ``Pipeline`` when it starts and
reuses it for every episode it is given (``Pipeline.with_options`` applies an episode's own language,
speaker count or reference without loading models again). A worker reads the audio from its path
(on a cluster: a path every node sees) and writes the episode's outputs with the same writers as
``podscribe transcribe`` (atomically: no partial file). The driver alone appends one JSON line per
episode outcome to ``OUTDIR/batch.jsonl`` (one ``write`` per line, flushed and fsynced), so a killed
driver loses no finished episode; running the same batch again skips what is done there (outputs
present and a ``done`` line) and retries the rest.

Scheduling is the executor's (``concurrent.futures.ProcessPoolExecutor``, ``ray.util.ActorPool``):
nothing here queues or ships work by itself. (The module is ``batching``, not ``batch``: importing a
submodule sets it as an attribute of the package, which would hide the function ``podscribe.batch``.)
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import json
import logging
import multiprocessing
import os
import resource
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Union

from .devices import cpu_threads
from .errors import InputError, OptionError, OutputError, PodscribeError
from .files import FORCE_FLAG, remove_in_flight, stale_temporaries
from .inputs import expand_inputs
from .languages import check_language
from .pipeline import Pipeline, PipelineOptions, check_input, model_loads, require_speech
from .writers import OutputOptions, check_targets, parse_formats, write_outputs

logger = logging.getLogger(__name__)

LOG_NAME = "batch.jsonl"
MANIFEST_SUFFIXES = (".csv", ".jsonl")
Inputs = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]


@dataclass(frozen=True)
class Episode:
    """One input of a batch and its own settings (from a manifest row), None where the batch's apply."""

    path: str  # absolute path of the audio (read by the worker)
    stem: str  # outputs are OUTDIR/<stem>.<format>
    language: str | None = None
    speakers: int | None = None
    reference: str | None = None  # reference transcript: speaker names, and the WER recorded

    def changes(self) -> dict[str, Any]:
        """The pipeline options this episode sets (``Pipeline.with_options`` keywords)."""
        given = {"language": self.language, "num_speakers": self.speakers, "reference": self.reference}
        return {k: v for k, v in given.items() if v is not None}


@dataclass(frozen=True)
class EpisodeRecord:
    """One outcome of one episode: a line of ``batch.jsonl``."""

    path: str
    stem: str
    status: str  # "done", "failed" or "skipped" (done by an earlier run)
    attempt: int = 0  # 1 for the first try of this run, 2 for its first retry ... (0: skipped)
    duration: float | None = None  # seconds of audio
    wall_s: float | None = None  # the worker's wall time for the episode
    stages: dict[str, float] = field(default_factory=dict)  # wall seconds per stage (stages the cache skipped are absent)
    wer: float | None = None  # when the episode has a reference
    error: str | None = None
    retryable: bool = False  # a failure that another try may not repeat (not a bad input file)
    worker: str | None = None  # host:pid of the worker process
    model_loads: dict[str, int] = field(default_factory=dict)  # the worker's loads so far (one each per worker)
    peak_rss_mb: float | None = None  # the worker process's peak resident memory so far
    outputs: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


@dataclass
class BatchReport:
    """What a batch run did: every record it wrote to ``batch.jsonl``, in order."""

    outdir: Path
    records: list[EpisodeRecord]

    def final(self) -> dict[str, EpisodeRecord]:
        """The last outcome of each episode, by output stem."""
        return {r.stem: r for r in self.records}

    def _with(self, status: str) -> list[EpisodeRecord]:
        return [r for r in self.final().values() if r.status == status]

    @property
    def done(self) -> list[EpisodeRecord]:
        return self._with("done")

    @property
    def failed(self) -> list[EpisodeRecord]:
        return self._with("failed")

    @property
    def skipped(self) -> list[EpisodeRecord]:
        return self._with("skipped")

    @property
    def audio_hours(self) -> float:
        return sum(r.duration or 0.0 for r in self.done) / 3600

    @property
    def exit_code(self) -> int:
        """0 when every episode is done (now or before), 1 when some failed, 2 when none is done."""
        if not self.failed:
            return 0
        return 1 if self.done or self.skipped else 2

    def summary(self) -> str:
        return (f"{len(self.done)} done, {len(self.skipped)} skipped (done before), {len(self.failed)} failed"
                f" of {len(self.final())} episode(s); {self.audio_hours:.2f} h of audio transcribed")


# ---- inputs -----------------------------------------------------------------------------------------


def read_manifest(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Rows of a ``.csv`` (header line) or ``.jsonl`` manifest: ``path`` and optional ``language``,
    ``speakers`` and ``reference``; relative paths are taken from the manifest's folder."""
    manifest = Path(path)
    try:
        text = manifest.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", manifest) from e
    if manifest.suffix.lower() == ".csv":
        rows: list[Any] = list(csv.DictReader(text.splitlines()))
    else:
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as e:
                    raise InputError(f"line {n}: not JSON ({e})", manifest) from e
    out = []
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not row.get("path"):
            raise InputError(f"row {n}: no 'path'", manifest)
        row = {k: str(v).strip() for k, v in row.items() if k and v not in (None, "")}
        for key in ("path", "reference"):
            if key in row:
                row[key] = os.fspath(manifest.parent / row[key])
        if not row.get("speakers", "1").isdigit():
            raise InputError(f"row {n}: speakers must be a whole number, not {row['speakers']!r}", manifest)
        try:
            check_language(row.get("language"))
        except OptionError as e:
            raise InputError(f"row {n}: {e.cause}", manifest) from e
        out.append(row)
    if not out:
        raise InputError("the manifest lists no episode", manifest)
    return out


def collect_episodes(inputs: Inputs) -> list[Episode]:
    """Files, folders (searched recursively), glob patterns and manifests -> episodes, in order.

    Output stems follow ``podscribe transcribe -r``: a file's name, a folder's relative path; two
    inputs with one stem are an OptionError.
    """
    args = [os.fspath(inputs)] if isinstance(inputs, (str, os.PathLike)) else [os.fspath(i) for i in inputs]
    if "-" in args:
        raise OptionError("batch reads files, not standard input (-)")
    plain: list[str] = []
    settings: dict[str, dict[str, str]] = {}
    for arg in args:
        if Path(arg).suffix.lower() in MANIFEST_SUFFIXES and Path(arg).is_file():
            for row in read_manifest(arg):
                plain.append(row["path"])
                settings[row["path"]] = row
        else:
            plain.append(arg)
    if not plain:
        raise OptionError("no input given")
    episodes = []
    for source, stem in expand_inputs(plain, recursive=True):
        row = settings.get(source, {})
        speakers = row.get("speakers")
        episodes.append(Episode(
            path=os.path.abspath(source), stem=stem, language=row.get("language"),
            speakers=int(speakers) if speakers else None, reference=row.get("reference"),
        ))  # fmt: skip
    return episodes


# ---- the worker (a pool process or a Ray actor) ---------------------------------------------------------


class _StageClock:
    """Progress callback that times each stage: wall seconds between its first and last report."""

    def __init__(self) -> None:
        self.spans: dict[str, list[float]] = {}

    def __call__(self, stage: str, done: float, total: float) -> None:
        now = time.perf_counter()
        self.spans.setdefault(stage, [now, now])[1] = now

    def take(self) -> dict[str, float]:
        """The stage times since the last take."""
        times = {stage: round(end - start, 3) for stage, (start, end) in self.spans.items()}
        self.spans = {}
        return times


class Worker:
    """One worker's models and settings: a single-threaded Pipeline loaded once, reused per episode.

    A pool process holds one (made by the pool's initializer); on Ray each actor is one.
    """

    def __init__(self, options: PipelineOptions, formats: Sequence[str], outdir: str,
                 output_options: OutputOptions, overwrite: bool) -> None:  # fmt: skip
        self.clock = _StageClock()
        self.pipeline = Pipeline(replace(options, cpu_threads=options.cpu_threads or 1, progress=self.clock))
        self.pipeline.check_weights()
        self.pipeline.engine  # loaded now, once: every episode of this worker reuses them
        if self.pipeline.options.diarizer:
            self.pipeline.diarizer
        self.clock.take()
        self.formats, self.outdir = list(formats), outdir
        self.output_options, self.overwrite = output_options, overwrite

    def run(self, episode: Episode, attempt: int) -> EpisodeRecord:
        """Transcribe one episode and write its outputs; a failure is returned as a record, not raised."""
        start = time.perf_counter()
        done: dict[str, Any] = {}
        try:
            check_input(episode.path)
            changes = episode.changes()
            pipeline = self.pipeline.with_options(**changes) if changes else self.pipeline
            transcript = require_speech(pipeline.run(episode.path), episode.path)
            stages = self.clock.take()
            t = time.perf_counter()
            for target in (Path(self.outdir) / f"{episode.stem}.{fmt}" for fmt in self.formats):
                for stale in stale_temporaries(target):  # from a worker killed while writing this episode
                    stale.unlink(missing_ok=True)
            # A retry overwrites what this run's lost try may have written before its record came back; a
            # file in the way on a first try fails without a retry (OutputError): it is never overwritten.
            written = write_outputs(transcript, self.outdir, episode.stem, self.formats,
                                    force=self.overwrite or attempt > 1, options=self.output_options,
                                    overwrite=FORCE_FLAG)  # fmt: skip
            stages["write"] = round(time.perf_counter() - t, 3)
            done = {"status": "done", "duration": transcript.duration, "stages": stages,
                    "outputs": tuple(map(os.fspath, written))}  # fmt: skip
            if episode.reference:
                from .report import evaluate

                done["wer"] = evaluate(transcript, episode.reference).wer
        except Exception as e:  # noqa: BLE001 - recorded; a bad episode never stops the batch
            message = str(e) if isinstance(e, PodscribeError) else f"{type(e).__name__}: {e}"
            done = {"status": "failed", "error": message, "stages": self.clock.take(),
                    "retryable": not isinstance(e, (InputError, OutputError))}  # fmt: skip
        return EpisodeRecord(
            path=episode.path, stem=episode.stem, attempt=attempt, wall_s=round(time.perf_counter() - start, 3),
            worker=f"{socket.gethostname()}:{os.getpid()}", model_loads=model_loads(),
            peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), **done,
        )  # fmt: skip


_worker: Worker | None = None  # this pool process's worker, made by _start_worker
_worker_error: list[PodscribeError] = []  # why it could not be made


def _start_worker(*args: Any) -> None:
    global _worker
    os.environ.setdefault("OMP_NUM_THREADS", str(_single_thread(args[0])))  # this process's onnxruntime, numpy
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()
    try:
        _worker = Worker(*args)
    except PodscribeError as error:  # a model that cannot load: said by the driver, not a pool that died
        _worker_error.append(error)


def _single_thread(options: PipelineOptions) -> int:
    """Threads of one worker's process (set in its environment, never in the driver's): one unless asked."""
    return options.cpu_threads or 1


class _ActorWorker(Worker):
    """A Worker in a Ray actor's own process, whose environment it may set (as the pool's initializer does)."""

    def __init__(self, options: PipelineOptions, *args: Any) -> None:
        os.environ.setdefault("OMP_NUM_THREADS", str(_single_thread(options)))
        super().__init__(options, *args)


def _exit_with(parent_sentinel: int) -> None:
    """End this pool process when the driver dies (a SIGKILL leaves it no time to stop its pool): the
    temporary files of an output in flight are removed, nothing partial stays."""
    from multiprocessing.connection import wait

    wait([parent_sentinel])
    remove_in_flight()
    os._exit(1)


def _run_in_pool(episode: Episode, attempt: int) -> EpisodeRecord:
    if _worker_error:  # raised in the driver: the whole run ends on its one line (a retry would fail alike)
        raise _worker_error[0]
    assert _worker is not None, "the pool initializer makes the worker"
    return _worker.run(episode, attempt)


def _lost(episode: Episode, attempt: int, why: str) -> EpisodeRecord:
    return EpisodeRecord(path=episode.path, stem=episode.stem, status="failed", attempt=attempt, error=why,
                         retryable=True)  # fmt: skip


# ---- executors ---------------------------------------------------------------------------------------


class _LocalRunner:
    """A process pool, each process running one ``Worker``; remade if a process dies. Processes are
    spawned, not forked: the command runs the driver in a thread, and forking a threaded process can
    copy a lock held by another thread."""

    def __init__(self, workers: int, worker_args: tuple[Any, ...]) -> None:
        self.workers, self.worker_args = workers, worker_args
        self.pool: ProcessPoolExecutor | None = None

    def run(self, items: list[tuple[Episode, int]]) -> Iterator[EpisodeRecord]:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_start_worker, initargs=self.worker_args)  # fmt: skip
        futures = {self.pool.submit(_run_in_pool, ep, attempt): (ep, attempt) for ep, attempt in items}
        for future in as_completed(futures):
            try:
                yield future.result()
            except BrokenProcessPool as e:
                yield _lost(*futures[future], f"worker process died ({e})")
        if any(isinstance(f.exception(), BrokenProcessPool) for f in futures):
            self.close()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


class _RayRunner:
    """Ray actors, one ``Worker`` each (``num_cpus``/``num_gpus`` per actor), fed by ``ray.util.ActorPool``.

    ``address`` True starts a local Ray with ``workers`` CPUs (unless this process already joined
    one); a string joins that cluster. Ray started here is shut down by ``close``.
    """

    def __init__(self, address: bool | str, workers: int | None, gpus_per_worker: float,
                 worker_args: tuple[Any, ...]) -> None:  # fmt: skip
        try:
            import ray
            from ray.util import ActorPool
        except ImportError as e:
            raise OptionError("running on Ray needs Ray: pip install 'podscribe[ray]'") from e
        self.ray = ray
        self.started = not ray.is_initialized()
        if self.started:
            if address is True:
                ray.init(num_cpus=workers or cpu_threads(), include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=str(address), log_to_driver=False)
        if workers is None:
            resources = ray.cluster_resources()
            workers = int(resources.get("GPU", 0) / gpus_per_worker) if gpus_per_worker else int(resources.get("CPU", 1))
        actor = ray.remote(_ActorWorker).options(num_cpus=1, num_gpus=gpus_per_worker, max_restarts=1)
        self.actors: list[Any] = [actor.remote(*worker_args) for _ in range(max(1, workers))]
        self.pool = ActorPool(self.actors)

    def run(self, items: list[tuple[Episode, int]]) -> Iterator[EpisodeRecord]:
        for ep, attempt in items:
            self.pool.submit(lambda actor, item: actor.run.remote(*item), (ep, attempt))
        returned: set[str] = set()
        while self.pool.has_next():
            try:
                record = self.pool.get_next_unordered()
            except self.ray.exceptions.RayError as e:  # an actor died: its episode is found below
                logger.warning("a Ray worker failed: %s", e)
                continue
            returned.add(record.stem)
            yield record
        for ep, attempt in items:
            if ep.stem not in returned:
                yield _lost(ep, attempt, "Ray worker died")

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        if self.started:
            self.ray.shutdown()


# ---- the driver --------------------------------------------------------------------------------------


class _Log:
    """OUTDIR/batch.jsonl: read at start (what is done), appended by the driver one line per write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.existed = path.is_file()
        self.fd: int | None = None

    def done(self) -> set[tuple[str, str]]:
        """(path, stem) of every episode recorded as done; a line cut short (a driver killed mid-write)
        is ignored."""
        found: set[tuple[str, str]] = set()
        if not self.existed:
            return found
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                logger.warning("%s: an unreadable line ignored", self.path)
                continue
            if isinstance(record, dict) and record.get("status") in ("done", "skipped"):
                found.add((str(record.get("path")), str(record.get("stem"))))
        return found

    def append(self, record: EpisodeRecord) -> None:
        if self.fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            if self._cut_short():  # a line a killed driver left unfinished: the next starts on its own
                os.write(self.fd, b"\n")
        os.write(self.fd, (record.to_json() + "\n").encode("utf-8"))
        os.fsync(self.fd)

    def _cut_short(self) -> bool:
        with open(self.path, "rb") as f:
            if f.seek(0, os.SEEK_END) == 0:
                return False
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b"\n"

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def batch(
    inputs: Inputs,
    outdir: str | os.PathLike[str],
    options: PipelineOptions | None = None,
    *,
    formats: Sequence[str] | str = ("json", "txt", "srt"),
    workers: int | None = None,
    ray: bool | str | None = None,
    retries: int = 1,
    force: bool = False,
    progress: bool = True,
    gpus_per_worker: float = 0.0,
    output_options: OutputOptions | None = None,
) -> BatchReport:
    """Transcribe many episodes in parallel, resumably: ``podscribe.batch("archive/", "out")``.

    Args:
        inputs: a path or a list of them: audio/video files, folders (searched recursively), glob
            patterns, and manifests (``.csv`` with a header, or ``.jsonl``) whose rows give ``path`` and
            optionally ``language``, ``speakers`` (exact count) and ``reference`` (transcript: names the
            speakers and gives the WER recorded).
        outdir: where ``<stem>.<format>`` files and ``batch.jsonl`` go.
        options: the pipeline settings of every episode (default ``PipelineOptions()``); each worker
            runs them single-threaded (``cpu_threads=1`` unless set).
        formats: output formats, as ``podscribe transcribe -f`` takes them.
        workers: processes (or Ray actors); default: the usable cores here, or the cluster's CPUs (its
            GPUs / ``gpus_per_worker``) when joining a Ray cluster.
        ray: None or False: a local process pool; True: a local Ray started with ``workers`` CPUs (or the
            Ray this process already joined); a string: the address of a Ray cluster to join.
        retries: more tries for an episode whose failure is not its input's (a crash, a worker lost).
        force: redo episodes already done and overwrite outputs found in a folder without batch.jsonl.
        progress: a progress bar over episodes (with hours of audio done).
        gpus_per_worker: GPUs each Ray actor reserves (fractions share a GPU); use with a CUDA device.
        output_options: subtitle rules and page settings for the writers (default ``OutputOptions()``).

    Returns:
        A ``BatchReport`` of every record written; its ``exit_code`` is 0 when all are done, 1 when
        some failed, 2 when none is done.
    """
    formats = parse_formats(formats)
    if workers is not None and workers < 1:
        raise OptionError(f"workers must be at least 1, not {workers}")
    if retries < 0:
        raise OptionError(f"retries must be zero or more, not {retries}")
    if gpus_per_worker < 0 or (gpus_per_worker and not ray):
        raise OptionError("gpus_per_worker is a non-negative share of a GPU, for Ray actors")
    options = replace(options or PipelineOptions(), progress=False)
    Pipeline(options).check_weights()  # bad options or weights: fail here, before any worker starts
    episodes = collect_episodes(inputs)
    out = Path(outdir)
    with _folder_lock(out):
        log = _Log(out / LOG_NAME)
        recorded = set() if force else log.done()

        def targets(ep: Episode) -> list[Path]:
            return [out / f"{ep.stem}.{fmt}" for fmt in formats]

        skipped = [ep for ep in episodes
                   if (ep.path, ep.stem) in recorded and all(p.exists() for p in targets(ep))]
        todo = [ep for ep in episodes if ep not in skipped]
        # Outputs without a done record in a batch's own folder come from a try that was cut off: redone.
        overwrite = force or log.existed
        check_targets([p for ep in todo for p in targets(ep)], overwrite, FORCE_FLAG)
        report = BatchReport(out, [])
        try:
            for ep in skipped:
                record = EpisodeRecord(path=ep.path, stem=ep.stem, status="skipped")
                log.append(record)
                report.records.append(record)
            if todo:
                _drive(todo, log, report, options, formats, out, output_options or OutputOptions(),
                       overwrite, workers, ray, retries, progress, gpus_per_worker)  # fmt: skip
        finally:
            log.close()
        return report


@contextlib.contextmanager
def _folder_lock(out: Path) -> Iterator[None]:
    """This run's hold on its output folder: a second batch into it at once would redo every episode and
    record each twice. An advisory lock on the folder itself (no file left in it), gone with the process."""
    check_targets([out / LOG_NAME], True)  # the folder's own errors first: not a folder, not writable
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out, os.O_RDONLY)
    except OSError as e:
        raise OutputError(f"cannot write here: {e.strerror or e}", out) from e
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise OutputError("another podscribe batch is writing into this folder", out) from e
        except OSError as e:  # a file system without locks (some network shares): run unguarded
            logger.info("%s: not locked (%s)", out, e.strerror or e)
        yield
    finally:
        os.close(fd)


def _drive(todo: list[Episode], log: _Log, report: BatchReport, options: PipelineOptions, formats: list[str],
           out: Path, output_options: OutputOptions, overwrite: bool, workers: int | None, ray: bool | str | None,
           retries: int, progress: bool, gpus_per_worker: float) -> None:  # fmt: skip
    """Run the episodes on the executor in rounds (the first tries, then the retries), recording each
    outcome as it comes."""
    from tqdm import tqdm

    worker_args = (options, formats, os.fspath(out), output_options, overwrite)
    runner: _LocalRunner | _RayRunner
    if ray:
        runner = _RayRunner(ray, workers, gpus_per_worker, worker_args)
    else:
        runner = _LocalRunner(min(workers or cpu_threads(), len(todo)), worker_args)
    bar = tqdm(total=len(todo), unit="episode", disable=not progress, dynamic_ncols=True)
    try:
        pending = [(ep, 1) for ep in todo]
        hours, failed = 0.0, 0
        while pending:
            retry = []
            by_stem = {ep.stem: ep for ep, _ in pending}
            for record in runner.run(pending):
                log.append(record)
                report.records.append(record)
                if record.status == "failed" and record.retryable and record.attempt <= retries:
                    retry.append((by_stem[record.stem], record.attempt + 1))
                    continue
                if record.status == "failed":
                    logger.warning("%s", record.error)
                    failed += 1
                hours += (record.duration or 0.0) / 3600
                bar.update()
                bar.set_postfix_str(f"{hours:.2f} h audio, {failed} failed")
            pending = retry
    finally:
        bar.close()
        runner.close()


__all__ = ["BatchReport", "Episode", "EpisodeRecord", "Worker", "batch", "collect_episodes", "read_manifest"]
