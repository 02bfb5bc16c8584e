"""Output formats: one small renderer each (Transcript -> text), and an atomic multi-file writer.

Writing is all-or-nothing: every output is rendered to a temporary file beside its target and only
renamed into place once all succeeded; existing files are never overwritten without ``force``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import OptionError, OutputError
from .files import FORCE_ARGUMENT, atomic_target
from .subtitles import SubtitleRules, compose_srt, compose_vtt, make_cues
from .transcript import Transcript, Turn
from .writing import join_words


@dataclass(frozen=True)
class OutputOptions:
    """Settings some formats need: subtitle rules (srt, vtt, html) and the page's audio (html)."""

    subtitle_rules: SubtitleRules = field(default_factory=SubtitleRules)
    audio: str | None = None  # audio for the HTML player; default: the transcript's own file
    embed_audio: bool = False  # embed it in the page instead of linking it
    page_dir: str | None = None  # where the HTML page goes (set by write_outputs), for a relative link


def render_json(transcript: Transcript, options: OutputOptions) -> str:
    return transcript.to_json() + "\n"


def render_txt(transcript: Transcript, options: OutputOptions) -> str:
    """``Name : text`` per speaker turn (the reference's own format); plain lines without speakers."""
    lines: list[tuple[str | None, str]] = []
    for seg in transcript.segments:
        if not seg.text:
            continue
        if lines and seg.speaker is not None and lines[-1][0] == seg.speaker:
            lines[-1] = (seg.speaker, join_words([lines[-1][1], seg.text]))  # no space inside Chinese text
        else:
            lines.append((seg.speaker, seg.text))
    out = [f"{transcript.speaker_name(s)} : {t}" if s is not None else t for s, t in lines]
    return "\n".join(out) + ("\n" if out else "")


def rttm_lines(turns: Iterable[Turn], uri: str, names: Callable[[str], str | None] = lambda s: s) -> str:
    """Standard 10-field RTTM (in the file name and speaker names, any whitespace becomes "_": a
    space, tab or newline would shift or split the fields)."""
    uri = "_".join(uri.split()) or "audio"
    return "".join(
        f"SPEAKER {uri} 1 {t.start:.3f} {t.duration:.3f} <NA> <NA> "
        f"{'_'.join((names(t.speaker) or t.speaker).split())} <NA> <NA>\n"
        for t in turns
        if t.duration > 0
    )


def render_rttm(transcript: Transcript, options: OutputOptions) -> str:
    uri = Path(transcript.audio).stem if transcript.audio else "audio"
    return rttm_lines(transcript.speaker_turns(), uri, transcript.speaker_name)


def render_srt(transcript: Transcript, options: OutputOptions) -> str:
    return compose_srt(make_cues(transcript, options.subtitle_rules))


def render_vtt(transcript: Transcript, options: OutputOptions) -> str:
    return compose_vtt(make_cues(transcript, options.subtitle_rules), transcript)


def render_html(transcript: Transcript, options: OutputOptions) -> str:
    from .html import audio_source
    from .html import render_html as page

    audio = options.audio or transcript.audio
    src, embed, mime = audio_source(audio, options.page_dir or ".", options.embed_audio) if audio else (None, None, "")
    return page(
        transcript,
        src,
        embed_audio=embed,
        audio_mime=mime or "audio/mpeg",
        srt_text=render_srt(transcript, options),
        vtt_text=render_vtt(transcript, options),
    )


RENDERERS: dict[str, Callable[[Transcript, OutputOptions], str]] = {
    "json": render_json,
    "txt": render_txt,
    "srt": render_srt,
    "vtt": render_vtt,
    "rttm": render_rttm,
    "html": render_html,
}


def parse_formats(spec: str | Sequence[str]) -> list[str]:
    """``"json,txt"`` or ``["json", "txt"]`` -> validated list (``all`` means every format)."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    formats = [f.strip().lower().lstrip(".") for f in items if f.strip()]
    if "all" in formats:  # with others too ("all,srt"): every format
        return list(RENDERERS)
    bad = [f for f in formats if f not in RENDERERS]
    if bad or not formats:
        raise OptionError(f"unknown output format {', '.join(bad) or '(none)'} (choose from: {', '.join(RENDERERS)}, all)")
    return list(dict.fromkeys(formats))


def check_targets(paths: Iterable[Path], force: bool, overwrite: str = FORCE_ARGUMENT) -> None:
    """OutputError before any work when a target exists (without ``force``), is a directory, or its
    folder cannot be made or written (a regular file on the way, no permission, a read-only disk).

    ``overwrite`` says how to overwrite anyway, in the caller's terms (the command names its flag).
    """
    folders: set[Path] = set()
    for p in paths:
        if p.is_dir():
            raise OutputError("is a directory", p)
        if os.path.lexists(p) and not force:  # a link to nowhere too: the user put it there
            raise OutputError(f"already exists ({overwrite})", p)
        folders.add(p.parent)
    for folder in folders:
        _check_folder(folder)


def _check_folder(folder: Path) -> None:
    """OutputError unless files can be created in ``folder`` (or in the nearest folder above it that
    exists, where it would be made): a probe file is created and removed, nothing else is left."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():
            raise OutputError("is a broken symbolic link", existing)
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError("is not a folder", existing)
    try:
        with tempfile.TemporaryFile(prefix=".podscribe-probe.", dir=existing):
            pass
    except OSError as e:
        raise OutputError(f"cannot write here: {e.strerror or e}", existing) from e


def write_atomic(
    contents: dict[Path, str], force: bool = False, overwrite: str = FORCE_ARGUMENT
) -> list[Path]:
    """Write every file or none: temp files first, then renames; existing files kept without ``force``
    (``overwrite``: how the error says to overwrite them, in the caller's terms: ``check_targets``).

    New files get the umask's permissions (like any program's, 0644 under umask 022); a file
    overwritten with ``force`` keeps its mode. Temporary files are removed on failure and on Ctrl-C.
    """
    check_targets(contents, force, overwrite)
    path: Path | None = None
    try:
        with contextlib.ExitStack() as renames:  # every temp file is written before the first rename
            for path, text in contents.items():
                tmp = renames.enter_context(atomic_target(path))
                # a file name that is not UTF-8 in this locale comes back as its own bytes
                tmp.write_text(text, encoding="utf-8", errors="surrogateescape", newline="\n")
    except OSError as e:
        raise OutputError(f"cannot write: {e.strerror or e}", path) from e
    return list(contents)


def write_outputs(
    transcript: Transcript,
    outdir: str | os.PathLike[str],
    stem: str,
    formats: Sequence[str],
    *,
    force: bool = False,
    options: OutputOptions = OutputOptions(),
    overwrite: str = FORCE_ARGUMENT,
) -> list[Path]:
    """Render ``transcript`` in each ``formats`` (``parse_formats``) to ``outdir/stem.<ext>``, atomically.
    ``stem`` may hold sub-folders (``season2/ep3``), not leave ``outdir``; ``overwrite``: ``write_atomic``."""
    if not stem or Path(stem).is_absolute() or ".." in Path(stem).parts:
        raise OptionError(f"stem {stem!r}: a file name inside the output folder is needed")
    targets = {Path(outdir) / f"{stem}.{fmt}": fmt for fmt in parse_formats(formats)}
    check_targets(targets, force, overwrite)
    options = replace(options, page_dir=os.fspath(outdir))
    rendered = {p: RENDERERS[fmt](transcript, options) for p, fmt in targets.items()}
    return write_atomic(rendered, force, overwrite)
