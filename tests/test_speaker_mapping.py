"""Speaker mapping: hypothesis speakers to reference names by minimal cpWER."""

from __future__ import annotations

from podscribe.speaker_mapping import map_speakers

from conftest import DATA, plain_reference, reference_of, speakers_transcript

INTERVIEW = DATA / "interview.fr.txt"
INTERVIEW_RTTM = DATA / "interview.fr.rttm"


def test_map_speakers_for_a_transcript_uses_ids_and_needs_shared_words():
    transcript = speakers_transcript(
        [("SPEAKER_00", "merci beaucoup"), ("SPEAKER_01", "bonjour à tous"), ("SPEAKER_02", "zut alors")]
    )
    reference = reference_of(("Anne", "bonjour à tous"), ("Paul", "merci beaucoup"), ("Léa", "très bien"))
    assert map_speakers(transcript.with_names({"SPEAKER_00": "Anne"}), reference) == {
        "SPEAKER_00": "Paul",
        "SPEAKER_01": "Anne",
    }
    assert map_speakers(transcript, plain_reference("bonjour")) == {}
