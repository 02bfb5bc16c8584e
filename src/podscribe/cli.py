"""The podscribe command: transcribe, batch, align, diarize, subtitles, evaluate, html, plot, clip, models.

Every failure the user can cause ends with one line on stderr (``podscribe: error: FILE: cause``),
exit code 2 and no output file; nothing is overwritten without ``--force``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import logging
import os
import re
import signal
import sys
import threading
import traceback
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from ._version import __version__
from .errors import InputError, OptionError, OutputError, PodscribeError
from .files import FORCE_FLAG as OVERWRITE

if TYPE_CHECKING:
    from .pipeline import PipelineOptions
    from .subtitles import SubtitleRules
    from .transcript import Transcript

logger = logging.getLogger("podscribe")

T = TypeVar("T")
# The pipeline, ASR and diarization option fields each command offers (flags and help from the fields).
ASR_FIELDS = ("model", "engine", "device", "cpu_threads", "compute_type", "num_workers", "language", "beam_size",
              "batch_size", "vad", "cache")  # fmt: skip
BATCH_FIELDS = tuple(f for f in ASR_FIELDS if f != "num_workers")  # a batch worker has one thread (unless --threads)
ALIGN_FIELDS = ("model", "device", "cpu_threads", "compute_type", "language", "cache")
SPEAKER_FIELDS = ("diarizer", "pyannote", "num_speakers", "min_speakers", "max_speakers")
INPUT_FIELDS = ("audio_track",)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        raise OptionError(f"{message} (see {self.prog} --help)")

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: None = None
    ) -> argparse.Namespace:
        """The arguments; one not recognised points to its command's help (``podscribe align --help``),
        where argparse's top-level parser named its own."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = getattr(parsed, "command", None)
            prog = f"{self.prog} {command}" if command else self.prog
            raise OptionError(f"unrecognized arguments: {' '.join(extras)} (see {prog} --help)")
        return parsed


def _flagged(*options: type) -> list[dataclasses.Field]:
    """The fields of options dataclasses that the command line offers (a "flag" in their metadata)."""
    return [f for cls in options for f in dataclasses.fields(cls) if "flag" in f.metadata]


def _add_fields(
    group: argparse._ArgumentGroup, options: type, only: Collection[str] | None = None,
    notes: Mapping[str, str] | None = None,
) -> None:
    """One flag per offered field (or per one named in ``only``): its type, default and help come from
    the dataclass field; ``notes`` adds what a field means for this command."""
    hints = typing.get_type_hints(options)
    for f in _flagged(options):
        if only is not None and f.name not in only:
            continue
        meta, default = f.metadata, f.default
        text = meta["help"] + (f"; {notes[f.name]}" if notes and f.name in notes else "")
        kwargs: dict[str, Any] = {"dest": f.name, "default": default}
        if isinstance(default, bool):  # a switch: its flag turns the default over (--no-vad)
            kwargs["action"] = "store_false" if default else "store_true"
        elif "choices" in meta:
            kwargs["choices"] = meta["choices"]
        else:
            kwargs["type"] = _value_type(hints[f.name])
            kwargs["metavar"] = meta.get("metavar", meta["flag"].lstrip("-").replace("-", "_").upper())
        if default is not None and not isinstance(default, bool):
            text += f" (default {default:.3g})" if isinstance(default, float) else f" (default {default})"
        group.add_argument(meta["flag"], help=text, **kwargs)


def _value_type(hint: Any) -> Any:
    """What argparse converts a flag's text to: ``int`` for a field typed ``int`` or ``int | None``."""
    return next((t for t in typing.get_args(hint) if t is not type(None)), hint)


def _in_flag_terms(error: OptionError, fields: Sequence[dataclasses.Field]) -> OptionError:
    """``error`` worded for the command line: field names with an underscore, settings written
    ``name=value`` and the field a message starts with become flags (``vad=False`` -> ``--no-vad``)."""
    by_name = {f.name: f for f in fields}

    def flag(m: re.Match[str]) -> str:
        f = by_name[m["name"]]
        if m["value"] is not None:
            return f.metadata["flag"] if isinstance(f.default, bool) else f"{f.metadata['flag']} {m['value']}"
        if "_" in f.name or (m.start() == 0 and f.name == error.option):
            return str(f.metadata["flag"])
        return m[0]  # a plain word ("language", "device") in a sentence stays a word

    names = "|".join(sorted(map(re.escape, by_name), key=len, reverse=True))
    message = re.sub(rf"(?<![\w-])(?P<name>{names})(?:=(?P<value>[\w-]+))?(?![\w-])", flag, error.cause)
    return OptionError(message, option=error.option)


def _built(make: Callable[[], T], fields: Sequence[dataclasses.Field]) -> T:
    """``make()``, whose options' validation errors name the flags of ``fields``."""
    try:
        return make()
    except OptionError as e:
        raise _in_flag_terms(e, fields) from e


def _from_fields(options: type[T], args: argparse.Namespace) -> T:
    """The options dataclass built from its flags; its own validation errors name the flags."""
    fields = _flagged(options)
    return _built(lambda: options(**{f.name: getattr(args, f.name) for f in fields}), fields)


def _pipeline_classes() -> tuple[type, ...]:
    """The options dataclasses whose fields give the pipeline flags (imported when the parser is built)."""
    from .asr import ASROptions
    from .diarization import DiarizationOptions
    from .pipeline import PipelineOptions

    return PipelineOptions, ASROptions, DiarizationOptions


def _add_pipeline_fields(group: argparse._ArgumentGroup, only: Collection[str],
                         notes: Mapping[str, str] | None = None) -> None:  # fmt: skip
    """The flags of the pipeline, ASR and diarization option fields named in ``only``."""
    for options in _pipeline_classes():
        _add_fields(group, options, only, notes)


def _pipeline_options(args: argparse.Namespace, **fixed: Any) -> PipelineOptions:
    """The pipeline options of the flags this command offers (the option fields its arguments hold), and
    ``fixed`` ones; errors name the flags."""
    from .pipeline import make_options

    fields = [f for f in _flagged(*_pipeline_classes()) if hasattr(args, f.name)]
    return _built(lambda: make_options(**{f.name: getattr(args, f.name) for f in fields}, **fixed), fields)


def _add_subtitle_rules(p: argparse.ArgumentParser) -> None:
    from .subtitles import SubtitleRules

    g = p.add_argument_group("subtitle rules (SRT, WebVTT)")
    _add_fields(g, SubtitleRules)
    g.add_argument("--report", action="store_true", help="print how many cues break which rule")


def _rules(args: argparse.Namespace) -> SubtitleRules:
    from .subtitles import SubtitleRules

    return _from_fields(SubtitleRules, args)


def _add_speaker_options(p: argparse.ArgumentParser) -> None:
    _add_pipeline_fields(p.add_argument_group("speakers"), SPEAKER_FIELDS)


def _add_input_options(p: argparse.ArgumentParser) -> None:
    _add_pipeline_fields(p.add_argument_group("input"), INPUT_FIELDS)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars (warnings and errors still shown)")
    p.add_argument("-v", "--verbose", action="store_true", help="log what each stage does")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="podscribe", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"podscribe {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("transcribe", help="audio/video -> diarized, word-timestamped transcript and subtitles")
    t.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="audio or video files (any format ffmpeg reads), folders, glob patterns, or - for stdin")
    t.add_argument("-o", "--output-dir", default=".", metavar="OUTDIR",
                   help="where OUTDIR/<stem>.<ext> go; - writes one format to standard output")
    t.add_argument("-r", "--recursive", action="store_true", help="look into sub-folders of folder inputs")
    t.add_argument("--skip-existing", action="store_true", help="write only the outputs not there yet; "
                   "skip inputs that have them all (resume)")
    t.add_argument("-f", "--formats", default="json,txt", help="json,txt,srt,vtt,rttm,html or all (default json,txt)")
    t.add_argument("--force", action="store_true", help="overwrite existing output files")
    _add_pipeline_fields(t.add_argument_group("speech recognition"), ASR_FIELDS)
    _add_speaker_options(t)
    _add_input_options(t)
    g = t.add_argument_group("names")
    g.add_argument("--speaker-names", metavar="A,B,...", help="names in order of first appearance")
    _add_pipeline_fields(g, ("reference",))
    g.add_argument("--voice", action="append", default=[], metavar="NAME=FILE", help="voice sample of a speaker")
    g = t.add_argument_group("html")
    g.add_argument("--embed-audio", action="store_true", help="embed the audio in the HTML page")
    _add_subtitle_rules(t)
    _add_common(t)

    b = sub.add_parser("batch", help="many episodes in parallel (process pool or Ray), resumable, logged to batch.jsonl")
    b.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="files, folders (searched recursively), glob patterns, or manifests (.csv/.jsonl: path, "
                        "language, speakers, reference)")
    b.add_argument("-o", "--output-dir", required=True, metavar="OUTDIR", help="outputs and OUTDIR/batch.jsonl")
    b.add_argument("-f", "--formats", default="json,txt,srt", help="json,txt,srt,vtt,rttm,html or all (default json,txt,srt)")
    b.add_argument("--force", action="store_true", help="redo episodes already done; overwrite outputs")
    b.add_argument("--workers", type=int, metavar="N", help="worker processes or Ray actors (default: usable cores)")
    b.add_argument("--ray", nargs="?", const=True, default=None, metavar="ADDRESS",
                   help="run on Ray: alone, a local Ray; with ADDRESS, join that cluster (needs podscribe[ray])")
    b.add_argument("--gpus-per-worker", type=float, default=0.0, metavar="G",
                   help="GPUs each Ray actor reserves (0.25: four actors share a GPU)")
    b.add_argument("--retries", type=int, default=1, metavar="N",
                   help="more tries for an episode that failed for another reason than its file (default 1)")
    _add_pipeline_fields(b.add_argument_group("speech recognition"), BATCH_FIELDS,
                         notes={"language": "a manifest row's own wins"})  # fmt: skip
    _add_speaker_options(b)
    _add_input_options(b)
    _add_common(b)

    a = sub.add_parser("align", help="time a known text (Name : text, plain, STM) to its audio: its words, its speakers")
    a.add_argument("audio", metavar="AUDIO", help="audio or video file (any format ffmpeg reads)")
    a.add_argument("text", metavar="TEXT", help="the text: 'Name : text' lines, plain text or STM")
    a.add_argument("-o", "--output-dir", default=".", metavar="OUTDIR", help="where OUTDIR/<audio stem>.<ext> go")
    a.add_argument("-f", "--formats", default="json,srt", help="json,txt,srt,vtt,rttm,html or all (default json,srt)")
    a.add_argument("--force", action="store_true", help="overwrite existing output files")
    _add_pipeline_fields(a.add_argument_group("speech recognition"), ALIGN_FIELDS)
    _add_input_options(a)
    g = a.add_argument_group("html")
    g.add_argument("--embed-audio", action="store_true", help="embed the audio in the HTML page")
    _add_subtitle_rules(a)
    _add_common(a)

    d = sub.add_parser("diarize", help="speaker turns only (RTTM), no speech recognition")
    d.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="audio or video files (any format ffmpeg reads)")
    d.add_argument("-o", "--output-dir", default=".", metavar="OUTDIR",
                   help="where OUTDIR/<stem>.rttm go (default: the current folder)")
    d.add_argument("--force", action="store_true", help="overwrite existing RTTM files")
    _add_pipeline_fields(d.add_argument_group("models"), ("device",))
    _add_speaker_options(d)
    _add_input_options(d)
    _add_common(d)

    s = sub.add_parser("subtitles", help="re-cut SRT/WebVTT from a saved transcript JSON (no model runs)")
    s.add_argument("transcript", metavar="TRANSCRIPT.json")
    s.add_argument("-o", "--output", required=True, metavar="FILE.srt|FILE.vtt")
    s.add_argument("--force", action="store_true")
    _add_subtitle_rules(s)
    _add_common(s)

    e = sub.add_parser("evaluate", help="WER, cpWER, DER of a transcript against a reference")
    e.add_argument("hypothesis", metavar="HYP",
                   help="podscribe JSON, SRT, VTT, TXT or CTM; RTTM for DER/JER only")
    e.add_argument("--reference", metavar="REF",
                   help="'Name : text' transcript, plain text or STM (needed unless HYP is RTTM)")
    e.add_argument("--rttm", metavar="REF.rttm", help="reference speaker turns, for DER and JER")
    e.add_argument("--collar", type=float, default=0.25, help="DER forgiveness collar, seconds each side (default 0.25)")
    e.add_argument("--language", metavar="CODE",
                   help="the text's language, for normalising (default: the JSON's, else fr)")
    e.add_argument("--regions", type=int, default=5, metavar="N",
                   help="how many worst regions to list (default 5)")
    e.add_argument("--json", action="store_true",
                   help="print one JSON object (with the inputs and the version)")
    _add_common(e)

    h = sub.add_parser("html", help="interactive HTML page from a transcript JSON")
    h.add_argument("transcript", metavar="TRANSCRIPT.json")
    h.add_argument("--audio", metavar="FILE", help="audio for the player (default: the transcript's)")
    h.add_argument("-o", "--output", required=True, metavar="FILE.html")
    h.add_argument("--embed-audio", action="store_true")
    h.add_argument("--force", action="store_true")
    _add_common(h)

    p = sub.add_parser("plot", help="speaker timeline figure (PNG or SVG) from a transcript JSON or RTTM")
    p.add_argument("hypothesis", metavar="TRANSCRIPT.json|HYP.rttm")
    p.add_argument("--rttm", metavar="REF.rttm", help="reference turns drawn above, errors marked")
    p.add_argument("-o", "--output", required=True, metavar="FILE.png|FILE.svg")
    p.add_argument("--force", action="store_true")
    _add_common(p)

    c = sub.add_parser("clip", help="soundbite (audio + SRT from 0) of a phrase, a time range or a speaker")
    c.add_argument("transcript", metavar="TRANSCRIPT.json")
    c.add_argument("--audio", metavar="FILE", help="source audio (default: the transcript's)")
    way = c.add_mutually_exclusive_group(required=True)
    way.add_argument("--find", metavar="PHRASE", help="the first place where PHRASE is said")
    way.add_argument("--start", type=float, metavar="S", help="clip start in seconds (with --end)")
    way.add_argument("--speaker", metavar="NAME", help="all turns of one speaker (id or name), joined")
    c.add_argument("--end", type=float, metavar="E", help="clip end in seconds (with --start)")
    c.add_argument("-o", "--output", required=True, metavar="CLIP.mp3", help="format from the suffix; SRT beside it")
    c.add_argument("--bitrate", default="192k", help="lossy formats' bitrate (default 192k)")
    c.add_argument("--fade", type=int, default=30, metavar="MS", help="fade in/out of each piece (default 30 ms)")
    c.add_argument("--force", action="store_true")
    _add_common(c)

    m = sub.add_parser("models", help="list Whisper models and where their weights come from")
    m.add_argument("--verify", action="store_true",
                   help="hash every cached model file in full (sha256); rebuild what is corrupt")
    _add_common(m)
    return parser


def _parse_voices(specs: Sequence[str]) -> dict[str, str]:
    """``["Name=sample.wav", ...]`` -> {name: path}; OptionError on a malformed spec."""
    voices: dict[str, str] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise OptionError(f"--voice expects NAME=FILE, got {spec!r}")
        if name.strip() in voices:  # the second sample silently replaced the first
            raise OptionError(f"--voice gives {name.strip()!r} twice: one sample a speaker")
        voices[name.strip()] = path.strip()
    return voices


# ---- commands ---------------------------------------------------------------------------------
def _check_inputs(paths: Sequence[str]) -> None:
    from .pipeline import check_input

    for p in paths:
        check_input(p)


def _stdin() -> typing.BinaryIO:
    """Standard input as audio (a binary file object, named ``<stdin>`` in messages); InputError when it is
    closed or a terminal, where reading would wait for keys."""
    if sys.stdin is None:
        raise InputError("standard input is closed: pipe audio into it, or give a file", "-")
    if sys.stdin.isatty():
        raise InputError("standard input is a terminal: pipe audio into it (cat x.mp3 | podscribe ...)", "-")
    return sys.stdin.buffer


def _emit(text: str) -> None:
    """``text`` on standard output; OutputError when it is closed or cannot take it (a full disk). A reader
    that went away (a closed pipe: ``| head``) raises BrokenPipeError, which ``main`` ends quietly."""
    if sys.stdout is None:
        raise OutputError("standard output is closed", "-")
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as e:
        raise OutputError(f"cannot write standard output: {e.strerror or e}", "-") from e


def cmd_transcribe(args: argparse.Namespace) -> int:
    from .inputs import expand_inputs
    from .pipeline import Pipeline, require_speech
    from .writers import RENDERERS, OutputOptions, check_targets, parse_formats, write_outputs

    formats = parse_formats(args.formats)
    rules = _rules(args)
    jobs = expand_inputs(args.inputs, args.recursive)
    for v in _parse_voices(args.voice).values():
        _check_inputs([v])
    if args.reference:
        _check_inputs([args.reference])
    to_stdout = args.output_dir == "-"
    if to_stdout and (len(formats) != 1 or len(jobs) != 1):
        raise OptionError("-o - writes one format of one input to standard output")
    if [source for source, _ in jobs].count("-") > 1:
        raise OptionError("standard input (-) can be read once")
    names = [n.strip() for n in (args.speaker_names or "").split(",") if n.strip()]
    if args.speaker_names is not None and not names:
        raise OptionError(f"--speaker-names {args.speaker_names!r} holds no name: give names with commas")
    outdir = Path(args.output_dir)
    wanted = {stem: list(formats) for _, stem in jobs}  # the formats each input still needs written
    if args.skip_existing and not to_stdout:
        wanted = {stem: [f for f in fs if not (outdir / f"{stem}.{f}").exists()] for stem, fs in wanted.items()}
        done = [(source, stem) for source, stem in jobs if not wanted[stem]]
        for source, _ in done:
            logger.info("%s: outputs exist, skipped", source)
        jobs = [job for job in jobs if job not in done]
        if not jobs:
            print(f"podscribe: all {len(done)} input(s) already done", file=sys.stderr)
            return 0
    if not to_stdout:
        targets = [outdir / f"{stem}.{f}" for _, stem in jobs for f in wanted[stem]]
        check_targets(targets, args.force, OVERWRITE)
    pipeline = Pipeline(_pipeline_options(
        args, speaker_names=names, voices=_parse_voices(args.voice), progress=_bars(args),
    ))  # fmt: skip
    pipeline.check_weights()  # an unknown, missing or corrupt model fails here, before any decoding
    options = OutputOptions(subtitle_rules=rules, embed_audio=args.embed_audio)
    failed: list[str] = []
    for source, stem in jobs:
        try:
            if source != "-":
                _check_inputs([source])
            transcript = require_speech(pipeline.run(_stdin() if source == "-" else source), source)
            if to_stdout:
                _emit(RENDERERS[formats[0]](transcript, options))
                continue
            written = write_outputs(transcript, outdir, stem, wanted[stem], force=args.force, options=options,
                                    overwrite=OVERWRITE)
        except PodscribeError as e:
            if len(jobs) == 1:
                raise
            print(f"podscribe: error: {e}", file=sys.stderr)  # reported; the other files go on
            failed.append(source)
            continue
        _report_rules(args, transcript, rules)
        logger.info("%s: %d words, %d speakers -> %s", source, len(transcript.words), len(transcript.speakers),
                    ", ".join(map(str, written)))
    if len(jobs) > 1:
        print(f"podscribe: {len(jobs) - len(failed)} of {len(jobs)} input(s) transcribed"
              + (f", {len(failed)} failed: {', '.join(failed)}" if failed else ""), file=sys.stderr)  # fmt: skip
    return 0 if not failed else 2 if len(failed) == len(jobs) else 1


def cmd_batch(args: argparse.Namespace) -> int:
    from .batching import batch

    if args.output_dir == "-":
        raise OptionError("batch writes files into a folder: -o - (standard output) is for transcribe")
    try:
        report = batch(
            args.inputs, args.output_dir, _pipeline_options(args), formats=args.formats, workers=args.workers,
            ray=args.ray, retries=args.retries, force=args.force, progress=_bars(args),
            gpus_per_worker=args.gpus_per_worker,
        )  # fmt: skip
    except OptionError as e:  # batch()'s own arguments, named as their flags
        as_flag = r"^(workers|retries|gpus_per_worker)\b"
        worded = re.sub(as_flag, lambda m: f"--{m[1].replace('_', '-')}", e.cause)
        raise OptionError(worded, e.path, e.option) from e
    print(f"podscribe: {report.summary()}; log: {report.outdir / 'batch.jsonl'}", file=sys.stderr)
    return report.exit_code


def _report_rules(args: argparse.Namespace, transcript, rules) -> None:
    if not getattr(args, "report", False):
        return
    from .subtitles import check_cues, make_cues

    report = check_cues(make_cues(transcript, rules), rules)
    print(report.format(), file=sys.stderr)


def cmd_align(args: argparse.Namespace) -> int:
    from .alignment import Aligner, aligner_options
    from .pipeline import Pipeline
    from .writers import OutputOptions, check_targets, parse_formats, write_outputs

    formats = parse_formats(args.formats)
    rules = _rules(args)
    _check_inputs([args.audio, args.text])
    outdir, stem = Path(args.output_dir), Path(args.audio).stem
    check_targets([outdir / f"{stem}.{f}" for f in formats], args.force, OVERWRITE)
    pipeline = Pipeline(aligner_options(_pipeline_options(args, progress=_bars(args))))
    pipeline.check_weights()  # an unknown, missing or corrupt model fails here, before any decoding
    transcript = Aligner(pipeline).run(args.audio, args.text)
    options = OutputOptions(subtitle_rules=rules, embed_audio=args.embed_audio)
    written = write_outputs(transcript, outdir, stem, formats, force=args.force, options=options,
                            overwrite=OVERWRITE)
    _report_rules(args, transcript, rules)
    logger.info("%s: %d words -> %s", args.audio, len(transcript.words), ", ".join(map(str, written)))
    return 0


def cmd_diarize(args: argparse.Namespace) -> int:
    from .audio import load_audio
    from .inputs import expand_inputs
    from .pipeline import Pipeline, no_speech
    from .writers import check_targets, rttm_lines, write_atomic

    if args.diarizer == "none":
        raise OptionError("diarize needs --diarizer overlap, embedded or pyannote")
    jobs = expand_inputs(args.inputs, False)  # as transcribe reads them: two inputs of one stem are refused
    _check_inputs([source for source, _ in jobs])
    outdir = Path(args.output_dir)
    targets = {source: (outdir / f"{stem}.rttm", stem) for source, stem in jobs}
    check_targets([target for target, _ in targets.values()], args.force, OVERWRITE)
    pipeline = Pipeline(_pipeline_options(args, progress=_bars(args)))
    for path, (target, stem) in targets.items():
        turns = pipeline.diarize_audio(load_audio(path, pipeline.options.audio_track))
        if not turns:  # as transcribe: no empty RTTM for silence, music or noise
            raise no_speech(path, pipeline.options.audio_track)
        pipeline.warn_speaker_count(turns, path)
        write_atomic({target: rttm_lines(turns, stem)}, force=args.force, overwrite=OVERWRITE)
    return 0


def cmd_subtitles(args: argparse.Namespace) -> int:
    from .transcript import Transcript
    from .writers import OutputOptions, check_targets, render_srt, render_vtt, write_atomic

    out = Path(args.output)
    renderers = {".srt": render_srt, ".vtt": render_vtt}
    if out.suffix.lower() not in renderers:
        raise OptionError(f"{out}: output must end in .srt or .vtt")
    rules = _rules(args)
    check_targets([out], args.force, OVERWRITE)
    transcript = Transcript.load(args.transcript)
    if not transcript.words:  # an empty SRT is no subtitle file to ffmpeg, pycaption or webvtt-py
        raise InputError("no words: nothing to subtitle", args.transcript)
    text = renderers[out.suffix.lower()](transcript, OutputOptions(subtitle_rules=rules))
    write_atomic({out: text}, force=args.force, overwrite=OVERWRITE)
    _report_rules(args, transcript, rules)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .languages import check_language
    from .normalizer import Normalizer
    from .reference import load_rttm
    from .report import check_collar, check_regions, evaluate

    for check, value in ((check_collar, args.collar), (check_regions, args.regions)):
        try:
            check(value)
        except OptionError as e:
            raise OptionError(f"--{e.cause}", option=e.option) from e
    language = check_language(args.language)
    if args.reference is None and not (args.hypothesis.lower().endswith(".rttm") and args.rttm):
        raise OptionError(
            "--reference REF is needed (or an RTTM hypothesis and --rttm REF.rttm, for DER/JER only)"
        )
    _check_inputs([args.hypothesis] + [p for p in (args.reference, args.rttm) if p])
    report = evaluate(
        args.hypothesis, args.reference,
        reference_turns=load_rttm(args.rttm) if args.rttm else None, collar=args.collar,
        normalizer=Normalizer.for_language(language) if language else None, regions=args.regions,
    )
    inputs = {"hypothesis": args.hypothesis, "reference": args.reference, "rttm": args.rttm}
    scores = {**report.to_dict(), "inputs": inputs, "podscribe": __version__}
    _emit((json.dumps(scores, ensure_ascii=False) if args.json else report.format_table()) + "\n")
    return 0


def _saved_audio(args: argparse.Namespace, transcript: Transcript) -> str | None:
    """The audio of a saved transcript: ``--audio``, else the path it holds; a relative one not found from
    here (a JSON written before paths were stored absolute, or a project folder moved) is looked for
    beside the JSON. A path that names no file is an InputError saying to give ``--audio``."""
    audio = args.audio or transcript.audio
    if audio and not args.audio and not os.path.isabs(audio) and not os.path.exists(audio):
        beside = Path(args.transcript).parent / audio
        audio = os.fspath(beside) if beside.exists() else audio
    if audio and not args.audio and not os.path.exists(audio):
        raise InputError("no such file (the transcript's audio: give where it is now with --audio)", audio)
    return audio


def cmd_html(args: argparse.Namespace) -> int:
    from .audio import probe
    from .transcript import Transcript
    from .writers import OutputOptions, check_targets, render_html, write_atomic

    out = Path(args.output)
    if out.suffix.lower() not in (".html", ".htm"):
        raise OptionError(f"{out}: output must end in .html or .htm")
    check_targets([out], args.force, OVERWRITE)
    transcript = Transcript.load(args.transcript)
    audio = _saved_audio(args, transcript)
    if audio:
        probe(audio)  # a player for a file that is not audio would play nothing: DecodeError, naming it
    options = OutputOptions(audio=audio, embed_audio=args.embed_audio, page_dir=os.fspath(out.parent))
    text = render_html(transcript, options)
    write_atomic({out: text}, force=args.force, overwrite=OVERWRITE)
    return 0


def cmd_clip(args: argparse.Namespace) -> int:
    from .clips import JOIN_PAUSE_S, clip
    from .transcript import Transcript
    from .writers import check_targets

    if (args.start is None) != (args.end is None):
        raise OptionError("--start and --end go together")
    check_targets([Path(args.output), Path(args.output).with_suffix(".srt")], args.force, OVERWRITE)
    transcript = Transcript.load(args.transcript)
    audio = _saved_audio(args, transcript)
    if not audio:
        raise OptionError("the transcript names no audio file: give it with --audio", args.transcript)
    made = clip(
        transcript, args.output, audio=audio, find=args.find, start=args.start, end=args.end,
        speaker=args.speaker, fade_ms=args.fade, bitrate=args.bitrate, force=args.force,
    )  # fmt: skip
    length = sum(e - s for s, e in made.spans) + JOIN_PAUSE_S * (len(made.spans) - 1)  # with its pauses
    _emit(f"wrote {made.audio} ({length:.1f} s from {len(made.spans)} piece(s)) and {made.srt}\n")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from .plot import plot_timeline
    from .reference import load_rttm
    from .transcript import Transcript
    from .writers import check_targets

    out = Path(args.output)
    if out.suffix.lower() not in (".png", ".svg"):
        raise OptionError(f"{out}: output must end in .png or .svg")
    check_targets([out], args.force, OVERWRITE)
    hyp = load_rttm(args.hypothesis) if args.hypothesis.lower().endswith(".rttm") else Transcript.load(args.hypothesis)
    plot_timeline(hyp, load_rttm(args.rttm) if args.rttm else None, out_path=out)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .files import cache_dir
    from .weights import list_models, verify_cache

    if args.verify:
        for what, outcome in verify_cache():
            _emit(f"{what}: {outcome}\n")
    rows = [(m.name, "yes" if m.multilingual else "no", "yes" if m.available else "no", m.source) for m in list_models()]
    head = ("model", "multilingual", "available offline", "source")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    table = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head, *rows]]
    _emit("\n".join(table) + f"\n\ncache: {cache_dir()}\n")
    return 0


COMMANDS = {
    "transcribe": cmd_transcribe, "batch": cmd_batch, "align": cmd_align, "diarize": cmd_diarize,
    "subtitles": cmd_subtitles, "evaluate": cmd_evaluate,
    "html": cmd_html, "plot": cmd_plot, "clip": cmd_clip, "models": cmd_models,
}


class _BesideBars(logging.StreamHandler):  # type: ignore[type-arg]
    """Log records on lines of their own while progress bars are drawn on the same stream (tqdm clears the
    bars, writes the line, draws them again); a plain handler wrote them onto the end of a bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # noqa: BLE001 - logging's own policy: report, never raise
            self.handleError(record)


def _setup_logging(args: argparse.Namespace) -> None:
    # --quiet silences progress, not warnings (a file read only in part must still say so).
    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="podscribe: %(message)s", handlers=[_BesideBars(sys.stderr)])
    for noisy in ("faster_whisper", "ctranslate2", "numba", "matplotlib", "pyannote", "speechbrain"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _stop_ray(timeout: float = 20.0) -> None:
    """Shut down a Ray this process started or joined (``batch --ray``): its local processes (dashboard
    and runtime-env agents, actors) otherwise outlive an interrupted command; a cluster is only left."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return
    stopper = threading.Thread(target=ray.shutdown, name="podscribe-ray-shutdown", daemon=True)
    stopper.start()
    stopper.join(timeout)


class _Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread and handled as Ctrl-C is (exit code 128 + the signal)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, _frame: object) -> None:
    raise _Stopped(signum)


def _standard_streams() -> None:
    """A closed stderr becomes /dev/null (``print`` would write its messages into stdout, into the output
    piped from there); stdout writes UTF-8 whatever the locale (the formats are UTF-8); stderr escapes
    what its encoding lacks (a file name in an ASCII locale) rather than failing on it."""
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the process's life
    if isinstance(sys.stdout, io.TextIOWrapper):  # a file name undecodable in this locale: its own bytes back
        sys.stdout.reconfigure(encoding="utf-8", errors="surrogateescape")
    if isinstance(sys.stderr, io.TextIOWrapper):
        sys.stderr.reconfigure(errors="backslashreplace")


def _interruptible(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run ``command`` in a worker thread so that Ctrl-C ends the process at once.

    A KeyboardInterrupt reaches Python code only between calls into C: a model call (a batch of clips,
    a diarization pass) runs on for many seconds, and a thread pool waits for its running batches.
    Here the main thread only waits; on Ctrl-C it removes the temporary files in flight
    (``podscribe.files.remove_in_flight``), shuts down a Ray the command started, and exits with 130
    without waiting for the work.
    """
    outcome: dict[str, Any] = {}
    endings = (signal.SIGTERM, signal.SIGHUP)  # a kill or a closed terminal: Ctrl-C's clean exit
    before = {ending: signal.signal(ending, _stop) for ending in endings}  # put back after (main() in a program)

    def work() -> None:
        try:
            outcome["code"] = command(args)
        except BaseException as e:  # handed to the main thread, which reports it
            outcome["error"] = e

    worker = threading.Thread(target=work, name="podscribe-command", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except KeyboardInterrupt as e:
        from .files import remove_in_flight

        remove_in_flight()
        _stop_ray()
        signum = e.signum if isinstance(e, _Stopped) else int(signal.SIGINT)
        bars = hasattr(args, "quiet") and _bars(args)  # a line of its own, not a bar's end
        said = "interrupted" if signum == signal.SIGINT else "terminated"
        print(f"{chr(10) if bars else ''}podscribe: {said}", file=sys.stderr)
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
            sys.stdout.flush()
        os._exit(128 + signum)
    finally:
        for ending, handler in before.items():
            signal.signal(ending, handler)
    if "error" in outcome:
        raise outcome["error"]
    return int(outcome["code"])


def _bars(args: argparse.Namespace) -> bool:
    """Whether to draw progress bars: unless --quiet, and on a terminal only (in a log file or a pipe, each
    redraw would be one more line)."""
    return not args.quiet and sys.stderr.isatty()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``podscribe`` command; returns the exit code."""
    args = None
    _standard_streams()
    try:
        args = build_parser().parse_args(argv)
        _setup_logging(args)
        if threading.current_thread() is threading.main_thread():
            return _interruptible(COMMANDS[args.command], args)
        return COMMANDS[args.command](args)
    except PodscribeError as e:
        if args is not None and getattr(args, "debug", False):
            traceback.print_exc()  # the chain of causes too (errors are raised ``from`` what caused them)
        print(f"podscribe: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("podscribe: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of stdout went away (``| head``): nothing left to say
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's flush at exit passes
        return 128 + signal.SIGPIPE
    except Exception as e:  # a bug, not a user error: still one line unless --debug
        if args is not None and getattr(args, "debug", False):
            raise
        print(f"podscribe: internal error: {type(e).__name__}: {e} (rerun with --debug for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
