"""The independent release-rule checker's own cases: a short cue passes only where nothing legal was left."""

from __future__ import annotations

from release_rules import check_release

from podscribe.transcript import Segment, Transcript, Word

WORDS = (Word("Oui", 1.0, 1.2, speaker="A"), Word("Bonjour", 1.4, 2.0, speaker="B"),
         Word("à", 2.3, 2.4, speaker="A"))


def _srt(*cues: tuple[str, str, str]) -> str:
    """An SRT of (start, end, text) cues, times as "SS,mmm" within the first minute."""
    return "\n".join(f"{i}\n00:00:{start} --> 00:00:{end}\n{text}\n"
                     for i, (start, end, text) in enumerate(cues, 1))


def _transcript() -> Transcript:
    """WORDS, a segment each, on a 10-s file."""
    return Transcript(tuple(Segment.from_words([w], speaker=w.speaker) for w in WORDS), duration=10.0)


def test_a_short_cue_that_could_have_ended_later_breaks_the_rules() -> None:
    report = check_release(_srt(("00,000", "01,000", "Oui"), ("01,080", "02,220", "Bonjour"),
                                ("02,300", "02,600", "à")), _transcript())
    assert report.too_short == [2] and report.short_extendable == [2] and not report.ok


def test_a_short_cue_that_could_have_started_earlier_breaks_the_rules() -> None:
    report = check_release(_srt(("00,800", "01,300", "Oui"), ("01,380", "02,200", "Bonjour"),
                                ("02,280", "03,200", "à")), _transcript())
    assert report.too_short == [0] and report.short_extendable == [0] and not report.ok


def test_a_short_cue_held_by_both_neighbours_is_accepted() -> None:
    report = check_release(_srt(("00,000", "01,400", "Oui"), ("01,480", "01,900", "Bonjour"),
                                ("01,980", "02,900", "à")), _transcript())
    assert report.too_short == [1] and report.short_extendable == [] and report.ok, report.format()
