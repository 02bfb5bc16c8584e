"""Speaker timeline figures: who speaks when, and, against a reference, where diarization goes wrong.

Errors follow the DER definitions (missed speech, false alarm, speaker confusion) with no collar,
after mapping hypothesis speakers to reference speakers by maximal total overlap (Hungarian); the
figures in the title and legend are :func:`podscribe.der.diarization_scores` at collar 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .der import ERROR_KINDS, DiarizationErrors, DiarizationScores, diarization_errors, diarization_scores
from .errors import InputError, OptionError, OutputError
from .palette import speaker_colour
from .transcript import Transcript, Turn

logger = logging.getLogger(__name__)

ERROR_COLOURS = dict(zip(ERROR_KINDS, ("#e03131", "#f59f00", "#212529")))
OVERLAP_COLOUR = "#868e96"
FORMATS = (".png", ".svg")


def plot_timeline(
    transcript_or_turns: Transcript | Iterable[Turn],
    reference_turns: Sequence[Turn] | None = None,
    *,
    out_path: str | Path,
    title: str | None = None,
) -> Path:
    """Draw speakers over time (one row each) to a PNG or SVG; with a reference, mark the errors.

    Where two or more hypothesis speakers talk at once, an "overlap" row below them shows it.
    """
    out_path = Path(out_path)
    if out_path.suffix.lower() not in FORMATS:
        raise OptionError(
            f"unsupported figure format {out_path.suffix or '(none)'!r}, use .png or .svg", out_path
        )
    from matplotlib import rc_context  # imported here: the HTML page needs only speaker_turns
    from matplotlib.figure import Figure
    from matplotlib.ticker import MultipleLocator

    name: Callable[[str], str | None]
    if isinstance(transcript_or_turns, Transcript):
        hypothesis, name = transcript_or_turns.speaker_turns(), transcript_or_turns.speaker_name
        duration, audio = transcript_or_turns.duration, transcript_or_turns.audio
    else:
        hypothesis, name, duration, audio = sorted(transcript_or_turns), str, 0.0, None
    title = title or (Path(audio).name if audio else "Speaker timeline")
    reference = sorted(reference_turns or ())
    if not hypothesis and not reference:  # an empty figure, and matplotlib's warning about its limits
        raise InputError("no speaker turns to draw (a transcript made with --diarizer none?): give a "
                         "diarized transcript, or a reference RTTM", audio)  # fmt: skip
    duration = max([duration, *(t.end for t in (*hypothesis, *reference))])
    errors = diarization_errors(reference, hypothesis) if reference else None
    scores = diarization_scores(reference, hypothesis) if errors else None
    rows, n_reference = _rows(reference, hypothesis, errors.mapping if errors else {}, name)
    overlapped = overlap_spans(hypothesis)
    if overlapped:
        rows.append((f"overlap ({sum(b - a for a, b in overlapped):.1f} s)",
                     [Turn(a, b, "") for a, b in overlapped], OVERLAP_COLOUR))

    n_rows = len(rows) + (errors is not None)
    fig = Figure(figsize=(12, 1.3 + 0.38 * max(n_rows, 1) + (0.35 if errors else 0)), layout="constrained")
    ax = fig.add_subplot()
    for y, (_, turns, colour) in enumerate(rows):
        ax.broken_barh([(t.start, t.duration) for t in turns], (y - 0.35, 0.7), **_drawn(colour))
    labels = [label for label, _, _ in rows]
    if errors and scores:
        _draw_errors(ax, errors, scores, n_reference, len(rows))
        labels.append("errors")
        fig.legend(loc="outside lower center", ncols=3, frameon=False, fontsize=9)
        title = f"{title} — diarization error {100 * scores.der:.1f} % (no collar)"
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(n_rows - 0.5, -0.5)
    ax.set_xlim(0, max(duration, 1e-3))
    ax.xaxis.set_major_locator(MultipleLocator(_tick_step(duration)))
    ax.xaxis.set_major_formatter(lambda x, _: _clock(x))
    ax.set_xlabel("time")
    ax.grid(axis="x", color="#dee2e6", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.set_title(title, loc="left", fontsize=11)
    try:  # SVG text stays text (searchable, small); metadata without dates keeps files reproducible
        with rc_context({"svg.fonttype": "none", "svg.hashsalt": "podscribe"}):
            metadata = {"Software": None} if out_path.suffix.lower() == ".png" else {"Date": None}
            fig.savefig(out_path, dpi=150, metadata=metadata)
    except OSError as e:
        raise OutputError(f"cannot write figure: {e.strerror or e}", out_path) from e
    logger.info("wrote speaker timeline to %s", out_path)
    return out_path


def _drawn(colour: str) -> dict[str, Any]:
    """Bars in ``colour`` with an edge of their own colour, so that each is at least a pixel wide: on a
    2-hour figure a 0.6-s span is 0.15 px, and most of them were not drawn (40-50 of 360 overlaps)."""
    return {"facecolors": colour, "edgecolors": colour, "linewidth": 0.5}


def _rows(
    reference: list[Turn], hypothesis: list[Turn], mapping: dict[str, str], name: Callable[[str], str | None]
) -> tuple[list[tuple[str, list[Turn], str]], int]:
    """(label, turns, colour) per row: reference speakers first, then hypothesis speakers in the order
    and colour of the reference speaker each maps to; unmapped ones after, in colours of their own."""
    ref_speakers = _in_order(reference)
    colour_of = {s: speaker_colour(i) for i, s in enumerate(ref_speakers)}
    rank = {s: i for i, s in enumerate(ref_speakers)}
    hyp_speakers = sorted(_in_order(hypothesis), key=lambda h: rank.get(mapping.get(h, ""), len(rank)))
    unmapped = [h for h in hyp_speakers if h not in mapping]
    for i, h in enumerate(unmapped, start=len(ref_speakers)):
        colour_of[h] = speaker_colour(i)
    rows = [(s, [t for t in reference if t.speaker == s], colour_of[s]) for s in ref_speakers]
    rows += [
        (name(h) or h, [t for t in hypothesis if t.speaker == h], colour_of[mapping.get(h, h)])
        for h in hyp_speakers
    ]
    return rows, len(ref_speakers)


def _draw_errors(ax: Any, errors: DiarizationErrors, scores: DiarizationScores, n_reference: int, y: int) -> None:
    """Errors in three lanes of row ``y`` (legend: seconds of each), group separators and names at the right."""
    lanes = (errors.missed, errors.false_alarm, errors.confusion)
    seconds = (scores.missed, scores.false_alarm, scores.confusion)
    for lane, ((kind, colour), spans, total) in enumerate(zip(ERROR_COLOURS.items(), lanes, seconds)):
        ax.broken_barh(
            [(a, b - a) for a, b in spans],
            (y - 0.4 + lane * 0.27, 0.26),
            label=f"{kind} ({total:.1f} s)",
            **_drawn(colour),
        )
    for boundary in (n_reference, y):
        ax.axhline(boundary - 0.5, color="#adb5bd", linewidth=0.8)
    for group, first, last in (("reference", 0, n_reference - 1), ("hypothesis", n_reference, y - 1)):
        if last >= first:
            where = ax.get_yaxis_transform()
            ax.text(
                1.005, (first + last) / 2, group, transform=where, va="center", fontsize=9, color="#495057"
            )


def overlap_spans(turns: Iterable[Turn]) -> list[tuple[float, float]]:
    """Time spans where two or more speakers talk at once (a speaker's own overlapping turns count once)."""
    by_speaker: dict[str, list[tuple[float, float]]] = {}
    for t in sorted(turns):
        spans = by_speaker.setdefault(t.speaker, [])
        if spans and t.start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], t.end))
        else:
            spans.append((t.start, t.end))
    events = sorted((x, d) for spans in by_speaker.values() for a, b in spans for x, d in ((a, 1), (b, -1)))
    out: list[tuple[float, float]] = []
    active, since = 0, 0.0
    for x, d in events:  # at equal times ends (-1) come before starts: touching turns do not overlap
        if active < 2 <= active + d:
            since = x
        elif active + d < 2 <= active and x > since:
            out.append((since, x))
        active += d
    return out


def _in_order(turns: Iterable[Turn]) -> list[str]:
    return list(dict.fromkeys(t.speaker for t in sorted(turns)))


def _tick_step(duration: float) -> float:
    """A clock-friendly tick interval giving at most about a dozen ticks."""
    steps = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
    return next((s for s in steps if duration / s <= 12), 3600 * (duration // 43200 + 1))


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
