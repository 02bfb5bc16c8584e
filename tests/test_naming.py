"""Speaker names: from a list, from a reference transcript, and from voice samples (real CAM++ model)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from podscribe import naming
from podscribe.diarization import DiarizationOptions
from podscribe.transcript import Turn

from conftest import SR, speakers_transcript


def test_names_from_list_follow_first_appearance():
    transcript = speakers_transcript([("SPEAKER_01", "bonjour"), ("SPEAKER_00", "salut"), ("SPEAKER_01", "oui")])
    assert naming.names_from_list(transcript, ["Anne", "Paul", "Léa"]) == {"SPEAKER_01": "Anne", "SPEAKER_00": "Paul"}
    assert naming.names_from_list(transcript, [" ", "Paul"]) == {"SPEAKER_00": "Paul"}  # a blank name keeps the id


def test_names_from_a_reference_file(tmp_path):
    reference = tmp_path / "ref.txt"
    reference.write_text("Anne : bonjour à tous\nPaul : merci beaucoup\n", encoding="utf-8")
    transcript = speakers_transcript([("SPEAKER_00", "merci beaucoup"), ("SPEAKER_01", "bonjour à tous")])
    assert naming.names_from_reference(transcript, reference) == {"SPEAKER_00": "Paul", "SPEAKER_01": "Anne"}


def test_a_reference_that_cannot_name_the_speakers_is_said(tmp_path, caplog):
    """Another episode's text named speakers on a few shared words, and a text without names named none,
    both in silence; a whole episode's text for an excerpt of it is this recording's (no warning)."""
    heard = [("SPEAKER_00", "merci beaucoup pour tout"), ("SPEAKER_01", "bonjour à tous")]
    transcript = speakers_transcript(heard)
    episode = tmp_path / "episode.txt"
    episode.write_text("Anne : voici le début de l'émission\nPaul : merci beaucoup pour tout\n"
                       "Anne : bonjour à tous\nPaul : et voici la suite de cette longue émission\n",
                       encoding="utf-8")  # fmt: skip
    other = tmp_path / "other.txt"
    other.write_text("Anne : le train part à midi\nPaul : merci et au revoir\n", encoding="utf-8")
    plain = tmp_path / "plain.txt"
    plain.write_text("merci beaucoup pour tout\nbonjour à tous\n", encoding="utf-8")
    with caplog.at_level("WARNING", logger="podscribe.naming"):
        names = naming.names_from_reference(transcript, episode)
        assert names == {"SPEAKER_00": "Paul", "SPEAKER_01": "Anne"} and caplog.text == ""
        naming.names_from_reference(transcript, other)
        said = rf"{re.escape(str(other))} holds [01] of the 7 words heard: is it this recording"
        assert re.search(said, caplog.text)
        assert naming.names_from_reference(transcript, plain) == {}
        assert f"{plain}: no 'Name : text' line, so no speaker is named from it" in caplog.text


def test_speaker_centroids_embed_each_speakers_longest_turns():
    audio = np.zeros(10 * SR, dtype=np.float32)
    audio[: 4 * SR] = 1.0  # A: 0-4 s
    audio[4 * SR : 8 * SR] = -1.0  # B: 4-8 s
    turns = [Turn(0, 4, "A"), Turn(4, 8, "B"), Turn(8, 8.3, "C")]  # C: 0.3 s, too short to embed
    seen: list[int] = []

    def embed(samples: np.ndarray) -> np.ndarray:
        seen.append(len(samples))
        return np.array([float(samples.mean())])

    centroids = naming.speaker_centroids(audio, turns, embed)
    assert set(centroids) == {"A", "B"}
    assert centroids["A"][0] == pytest.approx(1.0) and centroids["B"][0] == pytest.approx(-1.0)
    assert seen == [4 * SR, 4 * SR]


def test_match_voices_one_to_one_above_the_threshold():
    e = np.eye(3)
    centroids = {"S0": e[0], "S1": 0.6 * e[0] + 0.8 * e[1], "S2": e[2]}
    samples = {"Anne": e[0], "Paul": e[1]}
    # S0 is Anne (cosine 1.0); S1 resembles Paul (0.8) more than Anne (0.6); S2 resembles neither
    assert naming.match_voices(centroids, samples) == {"S0": "Anne", "S1": "Paul"}
    assert naming.match_voices(centroids, samples, min_similarity=0.9) == {"S0": "Anne"}
    assert naming.match_voices({}, samples) == {}
def test_voice_samples_name_the_speakers_they_match(embedded_diarizer, short_audio):
    """The path Pipeline takes for --voice: centroids from each speaker's turns, matched one-to-one."""
    turns = embedded_diarizer.diarize(short_audio, DiarizationOptions())
    centroids = naming.speaker_centroids(short_audio, turns, embedded_diarizer.embed)
    assert set(centroids) == {t.speaker for t in turns}
    samples = {  # short.fr: Mathilde 3.54-14.69 s, Romain 15.28-28.73 s (tests/data/short.fr.rttm)
        "Romain": embedded_diarizer.embed(short_audio[int(16 * SR): int(22 * SR)]),
        "Mathilde": embedded_diarizer.embed(short_audio[int(4 * SR): int(10 * SR)]),
    }
    romain = next(t.speaker for t in turns if t.start <= 20 <= t.end)
    mathilde = next(t.speaker for t in turns if t.start <= 6 <= t.end)
    assert naming.match_voices(centroids, samples) == {romain: "Romain", mathilde: "Mathilde"}
