"""podscribe: offline speaker-diarized, word-timestamped transcripts, subtitles and accuracy metrics."""

from .errors import PodscribeError
from .transcript import Segment, Transcript, Turn, Word

__version__ = "0.1.0"

__all__ = ["PodscribeError", "Segment", "Transcript", "Turn", "Word", "__version__"]
