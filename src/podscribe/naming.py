"""Speaker ids -> real names: from a list (order of first appearance), a reference transcript, or voice samples."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence

import numpy as np

from .audio import SAMPLE_RATE
from .transcript import Transcript, Turn

logger = logging.getLogger(__name__)

HELD_SHARE = 0.25  # a reference holding fewer of the words heard is said to be another's (as align's texts)
# A voice sample names a speaker only this alike (CAM++ cosine): the lowest value at which no sample named
# another person on the 16 dev conversations (BENCHMARKS.md, "Voice samples of people who are absent"); 0.3
# named someone for every sample, 26 wrong on the 14 held-out conversations.
VOICE_SIMILARITY = 0.76


def name_key(name: str) -> str:
    """A name as people mean it when they type it: case and spacing aside ("Ann  Lee" is "ann lee"), for
    telling two names apart and finding one."""
    return " ".join(name.split()).casefold()


def names_from_list(transcript: Transcript, names: Sequence[str]) -> dict[str, str]:
    """Give the i-th speaker to appear the i-th name (extra names are ignored, missing ones keep ids)."""
    return {spk: name for spk, name in zip(transcript.speakers, names) if name.strip()}


def names_from_reference(transcript: Transcript, reference: str | os.PathLike[str]) -> dict[str, str]:
    """Map speaker ids to the reference's names by best text alignment (see speaker_mapping.map_speakers).

    Said, not refused: a reference without names (it names nobody), and one holding under a quarter of
    the words heard (another episode's, whose names then go by a few shared words: on 14 recorded
    conversations, each with the next one's text warned, none with its own; results/s55-reference-held). The
    reference may hold more than the recording (a whole episode's text for an excerpt): what counts is the
    share of the recording's words it holds."""
    from .normalizer import Normalizer
    from .reference import Reference, load_reference
    from .scores import align
    from .speaker_mapping import map_speakers

    text = load_reference(reference)
    if not text.speakers:
        logger.warning("%s: no 'Name : text' line, so no speaker is named from it", reference)
        return {}
    normalizer = Normalizer.for_language(transcript.language)
    errors, _ = align(normalizer(text.text), normalizer(Reference.from_transcript(transcript).text))
    held = errors.ref_words - errors.substitutions - errors.deletions
    if held < HELD_SHARE * errors.hyp_words:
        logger.warning("%s holds %d of the %d words heard: is it this recording's text? The names it gives "
                       "may be wrong", reference, held, errors.hyp_words)  # fmt: skip
    return map_speakers(transcript, text)


def speaker_centroids(audio: np.ndarray, turns: Sequence[Turn], embed, sample_rate: int = SAMPLE_RATE) -> dict[str, np.ndarray]:
    """One L2-normalised embedding per speaker, from (up to 60 s of) that speaker's turns."""
    centroids: dict[str, np.ndarray] = {}
    for spk in dict.fromkeys(t.speaker for t in sorted(turns)):
        pieces, total = [], 0
        for t in sorted((t for t in turns if t.speaker == spk), key=lambda t: -t.duration):
            piece = audio[int(t.start * sample_rate) : int(t.end * sample_rate)]
            pieces.append(piece)
            total += len(piece)
            if total >= 60 * sample_rate:
                break
        if total >= sample_rate // 2:
            centroids[spk] = embed(np.concatenate(pieces))
    return centroids


def match_voices(
    centroids: Mapping[str, np.ndarray],
    samples: Mapping[str, np.ndarray],
    min_similarity: float = VOICE_SIMILARITY,
) -> dict[str, str]:
    """Assign voice-sample names to speakers one-to-one by cosine similarity (Hungarian), where the pair's
    similarity reaches ``min_similarity``; a sample that names nobody is said, with its nearest speaker."""
    from scipy.optimize import linear_sum_assignment

    if not centroids or not samples:
        return {}
    spk, names = list(centroids), list(samples)
    sim = np.array([[float(np.dot(centroids[s], samples[n])) for n in names] for s in spk])
    rows, cols = linear_sum_assignment(-sim)
    given = {spk[r]: names[c] for r, c in zip(rows, cols) if sim[r, c] >= min_similarity}
    for c, name in enumerate(names):
        if name not in given.values():
            r = int(sim[:, c].argmax())
            logger.warning("the voice sample of %r matches no speaker (nearest: %s, %.2f < %.2f): not named",
                           name, spk[r], sim[r, c], min_similarity)  # fmt: skip
    return given
