"""Speaker colours shared by the HTML page and the timeline figure, so one speaker looks the same in both."""

from __future__ import annotations

# Dark enough for text on white (contrast >= 5:1): the page writes names and words in them.
SPEAKER_COLOURS = ("#1f5fa8", "#b3471d", "#1e7a4f", "#8a3fa0", "#a3154f", "#0f6e7a", "#7a5c00", "#4a5568")


def speaker_colour(index: int) -> str:
    """Colour of the ``index``-th speaker (from 0); the palette repeats after its last colour."""
    return SPEAKER_COLOURS[index % len(SPEAKER_COLOURS)]
