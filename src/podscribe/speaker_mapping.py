"""Which hypothesis speaker is which reference speaker: the assignment minimising cpWER.

Used both to name speakers from a reference transcript (``naming``) and to report the mapping in an
evaluation (``report``).
"""

from __future__ import annotations

from collections.abc import Sequence

from .normalizer import Normalizer
from .reference import UNKNOWN_SPEAKER, Reference
from .scores import SpeakerScore, cp_scores, normalised_by_speaker
from .transcript import Transcript


def map_speakers(
    hypothesis: Reference | Transcript, reference: Reference, normalizer: Normalizer | None = None
) -> dict[str, str]:
    """Hypothesis speaker label -> reference name, by the assignment minimising cpWER (best text alignment).

    A Transcript's keys are its speaker ids (ready for ``Transcript.with_names``). A hypothesis speaker
    left unassigned, or with no word in common with its assigned reference speaker, is not in the result.
    """
    if isinstance(hypothesis, Transcript):
        normalizer = normalizer or Normalizer.for_language(hypothesis.language)
        hypothesis = Reference.from_transcript(hypothesis, display_names=False)
    normalizer = normalizer or Normalizer()
    ref_by = normalised_by_speaker(reference, normalizer)
    hyp_by = normalised_by_speaker(hypothesis, normalizer)
    if not reference.speakers or not hypothesis.speakers:
        return {}
    _, scores = cp_scores(ref_by, hyp_by)
    shared = [s for s in scores if s.errors.ref_words > s.errors.substitutions + s.errors.deletions]
    return names_of_pairs(shared)


def names_of_pairs(scores: Sequence[SpeakerScore]) -> dict[str, str]:
    """Hypothesis label -> reference name for the assigned pairs of two known speakers."""
    return {
        s.hypothesis: s.reference
        for s in scores
        if s.hypothesis not in (None, UNKNOWN_SPEAKER) and s.reference not in (None, UNKNOWN_SPEAKER)
    }
