"""podscribe: offline speaker-diarized, word-timestamped transcripts, subtitles and accuracy metrics.

    import podscribe
    t = podscribe.transcribe("episode.mp3", language="fr")      # -> Transcript
    report = podscribe.evaluate(t, "reference.txt")               # -> Report (WER, cpWER, DER)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import PodscribeError
from .transcript import Segment, Transcript, Turn, Word, load_transcript

if TYPE_CHECKING:  # the real types for type checkers; at run time these load on first use (below)
    from .asr import ASROptions as ASROptions
    from .audio import load_audio as load_audio
    from .batching import BatchReport as BatchReport
    from .batching import batch as batch
    from .diarization import DiarizationOptions as DiarizationOptions
    from .inputs import AudioInput as AudioInput
    from .normalizer import Normalizer as Normalizer
    from .pipeline import Pipeline as Pipeline
    from .pipeline import PipelineOptions as PipelineOptions
    from .pipeline import diarize as diarize
    from .pipeline import transcribe as transcribe
    from .alignment import align as align
    from .reference import load_hypothesis as load_hypothesis
    from .reference import load_reference as load_reference
    from .reference import load_rttm as load_rttm
    from .report import Report as Report
    from .report import evaluate as evaluate
    from .speaker_mapping import map_speakers as map_speakers
    from .subtitles import SubtitleRules as SubtitleRules
    from .subtitles import make_cues as make_cues
    from .writers import write_outputs as write_outputs


# Heavier entry points are imported on first use so that `import podscribe` stays fast.
_LAZY = {
    "transcribe": "pipeline",
    "align": "alignment",
    "diarize": "pipeline",
    "Pipeline": "pipeline",
    "PipelineOptions": "pipeline",
    "ASROptions": "asr",
    "DiarizationOptions": "diarization",
    "AudioInput": "inputs",
    "load_audio": "audio",
    "batch": "batching",
    "BatchReport": "batching",
    "evaluate": "report",
    "Report": "report",
    "Normalizer": "normalizer",
    "map_speakers": "speaker_mapping",
    "load_reference": "reference",
    "load_hypothesis": "reference",
    "load_rttm": "reference",
    "make_cues": "subtitles",
    "SubtitleRules": "subtitles",
    "write_outputs": "writers",
}

_SUBMODULES = {"alignment", "audio", "assign", "der", "files", "naming", "normalizer", "palette", "pipeline",
               "reference", "report", "scores", "speaker_mapping", "subtitles", "transcript", "weights",
               "writers", "html", "plot", "asr", "diarization", "inputs", "clips", "batching"}

__all__ = ["PodscribeError", "Segment", "Transcript", "Turn", "Word", "__version__", "load_transcript", *_LAZY]


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'podscribe' has no attribute {name!r}")
