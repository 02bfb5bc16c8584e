"""Writers: TXT in the reference's format, RTTM, format names, and atomic, never-overwriting output."""

from __future__ import annotations

import pytest

from podscribe.errors import OptionError, OutputError
from podscribe.transcript import Segment, Transcript, Turn, Word
from podscribe.writers import OutputOptions, parse_formats, render_rttm, render_txt, write_outputs

from conftest import sample_transcript


def test_txt_is_reference_format_with_names():
    assert render_txt(sample_transcript(), OutputOptions()) == (
        "Mathilde Wateau : Salut Romain.\nSPEAKER_01 : Salut.\nMathilde Wateau : Tu vas\n"
    )
    plain = Transcript(segments=(Segment.from_words([Word("bonjour", 0, 1)]),), duration=1)
    assert render_txt(plain, OutputOptions()) == "bonjour\n"


def test_rttm_lines():
    lines = render_rttm(sample_transcript(), OutputOptions()).splitlines()
    assert lines[0] == "SPEAKER short 1 0.400 1.100 <NA> <NA> Mathilde_Wateau <NA> <NA>"
    assert len(lines) == 3 and all(len(line.split()) == 10 for line in lines)


def test_rttm_writes_both_speakers_of_an_overlap():
    from podscribe.writers import rttm_lines

    turns = [Turn(0.0, 5.0, "A"), Turn(4.0, 6.0, "B")]  # the overlap diarizer's turns overlap at 4-5 s
    lines = rttm_lines(turns, "x").splitlines()
    assert [(line.split()[3], line.split()[4], line.split()[7]) for line in lines] == [
        ("0.000", "5.000", "A"), ("4.000", "2.000", "B")]


def test_write_outputs_atomic_and_never_overwrites(tmp_path):
    t = sample_transcript()
    written = write_outputs(t, tmp_path, "ep", ["json", "txt"])
    assert [p.name for p in written] == ["ep.json", "ep.txt"]
    (tmp_path / "ep.txt").write_text("user's own file")
    with pytest.raises(OutputError, match="already exists"):
        write_outputs(t, tmp_path, "ep", ["rttm", "txt"])
    assert (tmp_path / "ep.txt").read_text() == "user's own file"
    assert not (tmp_path / "ep.rttm").exists()
    write_outputs(t, tmp_path, "ep", ["txt"], force=True)
    assert (tmp_path / "ep.txt").read_text().startswith("Mathilde Wateau : ")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_write_outputs_stays_in_its_folder_and_checks_its_formats(tmp_path):
    """``"../escape"`` wrote outside the folder, ``""`` a hidden ``.json``; ``["docx"]`` and ``"json"`` (one
    string: formats "j", "s" ...) were KeyErrors."""
    out = tmp_path / "out"
    t = sample_transcript()
    for stem in ("../escape", "", str(tmp_path / "abs")):
        with pytest.raises(OptionError, match="a file name inside the output folder"):
            write_outputs(t, out, stem, ["json"])
    with pytest.raises(OptionError, match="unknown output format docx"):
        write_outputs(t, out, "ep", ["json", "docx"])
    assert not tmp_path.joinpath("escape.json").exists() and not out.exists()
    assert [p.name for p in write_outputs(t, out, "season2/ep", "json,txt")] == ["ep.json", "ep.txt"]


def test_parse_formats():
    assert parse_formats("json, TXT,json") == ["json", "txt"]
    assert "html" in parse_formats("all")
    with pytest.raises(OptionError, match="unknown output format docx"):
        parse_formats("json,docx")


def test_a_link_to_nowhere_in_the_way_is_not_replaced_without_force(tmp_path) -> None:
    """``exists()`` follows a link, so a dangling one at a target's path was replaced without --force."""
    link = tmp_path / "ep.srt"
    link.symlink_to(tmp_path / "nowhere.srt")
    with pytest.raises(OutputError, match="already exists"):
        write_outputs(sample_transcript(), tmp_path, "ep", ["srt"])
    assert link.is_symlink() and not link.exists()
    write_outputs(sample_transcript(), tmp_path, "ep", ["srt"], force=True)
    assert not link.is_symlink() and link.read_text(encoding="utf-8").startswith("1\n")
