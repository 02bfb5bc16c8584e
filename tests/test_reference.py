"""Reading references and hypotheses: 'Name : text', plain text, STM, RTTM, SRT, WebVTT, podscribe JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podscribe.errors import InputError, ReferenceFormatError
from podscribe.reference import (
    UNKNOWN_SPEAKER,
    Reference,
    Utterance,
    load_hypothesis,
    load_reference,
    load_rttm,
    parse_reference,
    parse_speaker_label,
)
from podscribe.transcript import Segment, Transcript, Turn, Word

from conftest import DATA

INTERVIEW = DATA / "interview.fr.txt"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# ---- the user's reference -----------------------------------------------------------------------


def test_interview_speakers_in_order_of_appearance():
    ref = load_reference(INTERVIEW)
    assert ref.speakers == ["Emmanuel Macron", "Mathilde Wateau", "Romain Boucher", "Jérémy Désir"]
    assert ref.utterances[0].speaker == "Emmanuel Macron"  # "en off" is an annotation, not part of the name
    assert ref.utterances[0].text.startswith("Je pense en particulier à Facebook")


def test_interview_continuation_paragraphs_join_the_previous_speaker():
    ref = load_reference(INTERVIEW)
    lines = [line for line in INTERVIEW.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) == 36 and len(ref.utterances) == 34  # lines 8 and 11 have no speaker
    turn = ref.utterances[6]
    assert turn.speaker == "Romain Boucher"
    assert turn.text.startswith("En sortie d’école d’ingénieurs")
    assert "Dans un premier temps, après quelques mois dans le secteur de l’énergie" in turn.text
    assert ref.utterances[7].speaker == "Jérémy Désir"


def test_interview_colon_inside_a_sentence_stays_text():
    ref = load_reference(INTERVIEW)
    assert any("c’est-à-dire : c’est devenu techniquement possible" in u.text for u in ref.utterances)


def test_interview_footnote_marks_removed_and_word_count():
    ref = load_reference(INTERVIEW)
    assert "[1]" not in ref.text and "[2]" not in ref.text and "[3]" not in ref.text
    assert "un rapport très fourni" in ref.text and "Le rapport Villani de 2018" in ref.text
    # wc -w of the file is 1870: minus 34 labels (33 x "First Last :" = 99, "Emmanuel Macron en off :" = 5)
    # and the 3 footnote marks leaves 1763 spoken words.
    assert len(INTERVIEW.read_text(encoding="utf-8").split()) == 1870
    assert len(ref.text.split()) == 1763
    assert sum(len(t.split()) for t in ref.by_speaker().values()) == 1763


def test_reference_helpers():
    ref = Reference(
        (
            Utterance("A", "un deux"),
            Utterance(None, "trois"),
            Utterance("B", "quatre"),
            Utterance("A", "cinq"),
        )
    )
    assert ref.speakers == ["A", "B"]
    assert ref.text == "un deux trois quatre cinq"
    assert ref.by_speaker() == {"A": "un deux cinq", UNKNOWN_SPEAKER: "trois", "B": "quatre"}
    assert ref.turns() == []  # no times


# ---- speaker labels -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label, name",
    [
        ("Emmanuel Macron en off", "Emmanuel Macron"),
        ("Emmanuel Macron (off)", "Emmanuel Macron"),
        ("Emmanuel Macron voix off", "Emmanuel Macron"),
        ("Jean-Luc Mélenchon [au téléphone]", "Jean-Luc Mélenchon"),
        ("Charles de Gaulle", "Charles de Gaulle"),
        ("Valéry Giscard d'Estaing", "Valéry Giscard d'Estaing"),
        ("M. Dupont", "M. Dupont"),
        ("SPEAKER_00", "SPEAKER_00"),
        ("Intervenant 2", "Intervenant 2"),
        ("Jérémy  Désir", "Jérémy Désir"),
        ("Il a dit", None),  # lower-case words: a sentence
        ("Bonjour, Marie", None),  # sentence punctuation
        ("Pourquoi pas ?", None),
        ("de Gaulle", None),  # must start with a capital
        ("Un Deux Trois Quatre Cinq Six", None),  # more than five words
        ("Emmanuel Macron en colère", None),  # unknown lower-case annotation
        ("田中", "田中"),  # scripts without capitals: Japanese, Arabic, Hebrew, Devanagari, Hangul, Thai
        ("محمد", "محمد"),
        ("דוד", "דוד"),
        ("राहुल", "राहुल"),
        ("김민수", "김민수"),
        ("สมชาย", "สมชาย"),
        ("こんにちは、元気", None),  # full-width sentence punctuation: a sentence
        ("Je\u0301re\u0301my", "Jérémy"),  # NFD: one name whichever way the accents are written
    ],
)
def test_parse_speaker_label(label, name):
    assert parse_speaker_label(label) == name


def test_plain_text_has_no_speakers(tmp_path):
    path = write(tmp_path, "plain.txt", "Il a dit : bonjour à tous.\nEnsuite nous avons parlé.\n\nFin.\n")
    ref = load_reference(path)
    assert ref.speakers == []
    assert ref.text == "Il a dit : bonjour à tous. Ensuite nous avons parlé. Fin."


def test_footnotes_times_and_lines_before_the_first_speaker(tmp_path, caplog):
    """Superscript marks are footnote marks like [1]; a line that starts with one is the footnote's own text,
    not speech; a time before or after a name is no part of it; a title before the first speaker line no
    longer makes the whole file plain text (its names were scored as words)."""
    text = ("Entretien du 3 mars\n[00:00:01] Ann Lee : Le rapport¹ est là.\nBob (00:00:04) : Merci.\n"
            "Premier point : il faut lire.\n[1] Voir le rapport publié en 2019.\n² Et l'annexe.\n")
    with caplog.at_level("WARNING", logger="podscribe.reference"):
        ref = load_reference(write(tmp_path, "r.txt", text))
    assert ref.speakers == ["Ann Lee", "Bob"]
    assert [(u.speaker, u.text) for u in ref.utterances] == [
        (None, "Entretien du 3 mars"), ("Ann Lee", "Le rapport est là."),
        ("Bob", "Merci. Premier point : il faut lire."),
    ]
    assert "r.txt: line 1 before the first 'Name : text' line: no speaker" in caplog.text
    assert "r.txt: line 5 is a footnote's text" in caplog.text
    assert "r.txt: line 6 is a footnote's text" in caplog.text
    plain = load_reference(write(tmp_path, "p.txt", "Il est 10:30 déjà.\n10:45 : le train part.\nFin.\n"))
    assert plain.speakers == [] and plain.text == "Il est 10:30 déjà. 10:45 : le train part. Fin."


def test_ctm_hypothesis(tmp_path):
    """NIST's timed words: scored as words in time order (read as text, times and all, they gave WER 500 %)."""
    ctm = write(tmp_path, "h.ctm", ";; hyp\nrec 1 0.50 0.40 chat 0.8\nrec 1 0.00 0.50 un\n")
    hypothesis = load_hypothesis(ctm)
    assert hypothesis.text == "un chat" and hypothesis.utterances[0].end == 0.5 and hypothesis.speakers == []
    for text, reason in (("rec 1 0.0 0.5\n", "got 4 fields"),
                         ("rec 1 x 0.5 un\n", "start time is not a number"),
                         ("a 1 0 1 un\nb 1 1 1 deux\n", "several recordings in one CTM")):
        with pytest.raises(ReferenceFormatError, match=reason):
            load_hypothesis(write(tmp_path, "bad.ctm", text))


def test_named_format_variants(tmp_path):
    text = "Anne: bonjour\nPaul Martin\u00a0: salut [4]\nla suite\nAnne :\npremière ligne\n"
    ref = load_reference(write(tmp_path, "named.txt", text))
    assert [(u.speaker, u.text) for u in ref.utterances] == [
        ("Anne", "bonjour"),
        ("Paul Martin", "salut la suite"),
        ("Anne", "première ligne"),
    ]


NAMES = ["Anne Dupont", "Paul", "Jean de La Fontaine", "SPEAKER_01"]
WORDS = st.lists(
    st.sampled_from(["oui", "non", "le", "chat", "dort", "vingt", "l’homme", "c'est-à-dire", "1 %"]),
    min_size=1,
    max_size=8,
)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(NAMES), WORDS, st.lists(WORDS, max_size=2)), min_size=1, max_size=6)
)
def test_named_text_round_trip(tmp_path_factory, turns):
    lines = []
    for name, words, continuations in turns:
        lines.append(f"{name} : {' '.join(words)}")
        lines += [" ".join(c) for c in continuations]
    path = write(tmp_path_factory.mktemp("rt"), "ref.txt", "\n".join(lines) + "\n")
    ref = load_reference(path)
    assert [u.speaker for u in ref.utterances] == [name for name, _, _ in turns]
    assert [u.text for u in ref.utterances] == [
        " ".join([" ".join(w), *(" ".join(c) for c in cs)]) for _, w, cs in turns
    ]


# ---- STM ----------------------------------------------------------------------------------------


def test_stm(tmp_path):
    text = (
        ";; a comment\n"
        "rec 1 B 2.5 4.0 <o,f0,female> et toi\n"
        "rec 1 A 0.0 2.0 bonjour  tout le monde\n"
        "rec 1 inter_segment_gap 2.0 2.5\n"
        "rec 1 A 4.0 5.0 ignore_time_segment_in_scoring\n"
    )
    ref = load_reference(write(tmp_path, "ref.stm", text))
    assert ref.utterances == (
        Utterance("A", "bonjour tout le monde", 0.0, 2.0),
        Utterance("B", "et toi", 2.5, 4.0),
    )
    assert ref.turns() == [Turn(0.0, 2.0, "A"), Turn(2.5, 4.0, "B")]


def test_stm_detected_by_content(tmp_path):
    ref = load_reference(write(tmp_path, "ref.ref", "rec 1 A 0 1.5 bonjour\n"))
    assert ref.utterances == (Utterance("A", "bonjour", 0.0, 1.5),)


@pytest.mark.parametrize(
    "text, line, reason",
    [
        ("rec 1 A 0 1 ok\nrec 1 B\n", 2, "expected '<file> <channel> <speaker> <begin> <end> <transcript>'"),
        ("rec 1 A 0 1 ok\n;; c\nrec 1 B zero 2 mot\n", 3, "begin time is not a number: 'zero'"),
        ("rec 1 A 3 1 mot\n", 1, "end time 1 before begin time 3"),
    ],
)
def test_stm_errors_name_file_and_line(tmp_path, text, line, reason):
    path = write(tmp_path, "bad.stm", text)
    with pytest.raises(ReferenceFormatError) as e:
        load_reference(path)
    assert str(e.value).startswith(f"{path}: line {line}: ")
    assert reason in str(e.value)


# ---- RTTM ---------------------------------------------------------------------------------------


def test_rttm_fixture():
    turns = load_rttm(DATA / "interview.fr.rttm")
    assert len(turns) == 63
    assert turns == sorted(turns)
    assert turns[0] == Turn(0.5, 0.5 + 12.29, "Emmanuel_Macron")
    assert {t.speaker for t in turns} == {
        "Emmanuel_Macron",
        "Mathilde_Wateau",
        "Romain_Boucher",
        "Jérémy_Désir",
    }


@pytest.mark.parametrize(
    "text, line, reason",
    [
        (
            "SPEAKER r 1 0.0 1.0 <NA> <NA> a <NA> <NA>\nSPEAKER r 1 1.0 2.0 <NA> <NA>\n",
            2,
            "expected 10 fields",
        ),
        ("SPEAKER r 1 zero 1.0 <NA> <NA> a <NA> <NA>\n", 1, "onset is not a number: 'zero'"),
        (
            "SPEAKER r 1 0.0 1.0 <NA> <NA> a <NA> <NA>\n\nSPEAKER r 1 2.0 nan <NA> <NA> a <NA> <NA>\n",
            3,
            "not a finite",
        ),
        ("SPEAKER r 1 1.0 -1.0 <NA> <NA> a <NA> <NA>\n", 1, "negative onset or duration"),
    ],
)
def test_rttm_errors_name_file_and_line(tmp_path, text, line, reason):
    path = write(tmp_path, "bad.rttm", text)
    with pytest.raises(ReferenceFormatError) as e:
        load_rttm(path)
    assert str(e.value).startswith(f"{path}: line {line}: ")
    assert reason in str(e.value)


def test_rttm_whole_file_errors(tmp_path):
    with pytest.raises(ReferenceFormatError, match="several recordings"):
        load_rttm(
            write(
                tmp_path,
                "two.rttm",
                "SPEAKER a 1 0 1 <NA> <NA> x <NA> <NA>\nSPEAKER b 1 0 1 <NA> <NA> x <NA> <NA>\n",
            )
        )
    with pytest.raises(ReferenceFormatError, match="no SPEAKER lines"):
        load_rttm(write(tmp_path, "none.rttm", "SPKR-INFO a 1 <NA> <NA> <NA> unknown x <NA> <NA>\n"))
    with pytest.raises(ReferenceFormatError, match="RTTM file holds speaker turns"):
        load_reference(DATA / "interview.fr.rttm")


# ---- encoding and emptiness -------------------------------------------------------------------------


def test_empty_reference_is_an_error(tmp_path):
    path = write(tmp_path, "empty.txt", " \n\n")
    with pytest.raises(ReferenceFormatError, match="empty file"):
        load_reference(path)
    assert load_hypothesis(path).utterances == ()  # a hypothesis may be empty (silent audio)
    with pytest.raises(ReferenceFormatError, match="no words"):
        load_reference(write(tmp_path, "only_gap.stm", "rec 1 inter_segment_gap 0 1\n"))
    names_only = write(tmp_path, "names.txt", "Julien Dumont :\n: \n\n")  # a WER against it divided by 0
    with pytest.raises(ReferenceFormatError) as e:
        load_reference(names_only)
    assert str(e.value) == f"{names_only}: no words in the reference"
    with pytest.raises(ReferenceFormatError, match="<text>: no words"):
        parse_reference("Anne : ... !\n")
    assert parse_reference("Anne : 42\n").text == "42"


def test_non_utf8_names_the_line(tmp_path):
    path = write(tmp_path, "latin1.txt", "Anne : bonjour\nPaul : ça va\n".encode("latin-1"))
    with pytest.raises(ReferenceFormatError) as e:
        load_reference(path)
    assert str(e.value) == f"{path}: line 2: not UTF-8 text"


def test_utf8_bom_and_missing_file(tmp_path):
    ref = load_reference(write(tmp_path, "bom.txt", "\ufeffAnne : bonjour\n".encode()))
    assert ref.speakers == ["Anne"]
    with pytest.raises(InputError, match="no such file"):
        load_reference(tmp_path / "missing.txt")


# ---- subtitles ----------------------------------------------------------------------------------


SRT = """1
00:00:01,000 --> 00:00:03,500
Anne Dupont: <i>Bonjour</i> à tous.

2
00:00:03,600 --> 00:00:05,000
Et bienvenue.

3
00:00:05,000 --> 00:00:07,000
- Paul : Merci.
- Anne Dupont: Je vous en prie.

4
00:00:07,000 --> 00:00:08,000
- Oui ?
- Non.
"""


def test_srt_speakers_from_prefixes_dashes_and_inheritance(tmp_path):
    ref = load_hypothesis(write(tmp_path, "h.srt", SRT))
    assert [(u.speaker, u.text, u.start, u.end) for u in ref.utterances] == [
        ("Anne Dupont", "Bonjour à tous.", 1.0, 3.5),
        ("Anne Dupont", "Et bienvenue.", 3.6, 5.0),  # no prefix: same speaker as before
        ("Paul", "Merci.", 5.0, 7.0),
        ("Anne Dupont", "Je vous en prie.", 5.0, 7.0),
        (None, "Oui ?", 7.0, 8.0),  # a dialogue dash without a name: another, unknown speaker
        (None, "Non.", 7.0, 8.0),
    ]


def test_srt_word_hyphen_is_not_a_dialogue_dash(tmp_path):
    cues = (
        "1\n00:00:00,000 --> 00:00:01,000\nAnne : un post\n\n2\n00:00:01,000 --> 00:00:02,000\n-prestigieux\n"
    )
    ref = load_hypothesis(write(tmp_path, "h.srt", cues))
    assert [(u.speaker, u.text) for u in ref.utterances] == [("Anne", "un post"), ("Anne", "-prestigieux")]


def test_srt_without_names(tmp_path):
    ref = load_hypothesis(
        write(
            tmp_path,
            "h.srt",
            "1\n00:00:00,000 --> 00:00:01,000\nbonjour\n\n2\n00:00:01,000 --> 00:00:02,000\nà tous\n",
        )
    )
    assert ref.speakers == [] and ref.text == "bonjour à tous"


def test_bad_srt_names_the_line(tmp_path):
    bad_second_cue = write(
        tmp_path, "bad.srt", "1\n00:00:00,000 --> 00:00:01,000\nbonjour\n\n2\n00:00:01 -> 00:00:02\nx\n"
    )
    bad_arrow = write(tmp_path, "bad2.srt", "1\n00:00:00,000 -> 00:00:01,000\nbonjour\n")
    for path, line in ((bad_second_cue, 5), (bad_arrow, 1)):
        with pytest.raises(ReferenceFormatError, match=rf"^{path}: line {line}: not valid SRT"):
            load_hypothesis(path)


VTT = """WEBVTT
Kind: captions

NOTE a comment
spanning lines

intro
00:00.000 --> 00:02.500 align:start
<v Anne Dupont>Bonjour &amp; bienvenue</v>

00:00:02.500 --> 00:00:04.000
<v.loud Paul>Salut !

00:00:04.000 --> 00:00:05.000
la suite
"""


def test_vtt_voice_tags(tmp_path):
    ref = load_hypothesis(write(tmp_path, "h.vtt", VTT))
    assert [(u.speaker, u.text, u.start, u.end) for u in ref.utterances] == [
        ("Anne Dupont", "Bonjour & bienvenue", 0.0, 2.5),
        ("Paul", "Salut !", 2.5, 4.0),
        ("Paul", "la suite", 4.0, 5.0),
    ]


def test_subtitle_markup_is_read_as_each_format_writes_it(tmp_path):
    """A VTT voice name is unescaped as its text is ("Tom &amp; Jerry" was the speaker); SRT has no
    escapes and a tag only where a letter follows "<" ("x < y and y > z" lost "y and y", "&amp;" its word)."""
    vtt = ("WEBVTT\n\n00:00.000 --> 00:01.000\n<v Tom &amp; Jerry>oui &lt;3</v>\n\n"
           "00:01.000 --> 00:02.000\n<v AT&T>non\n")
    assert [(u.speaker, u.text) for u in load_hypothesis(write(tmp_path, "h.vtt", vtt)).utterances] == [
        ("Tom & Jerry", "oui <3"), ("AT&T", "non")]  # fmt: skip
    srt_text = "1\n00:00:00,000 --> 00:00:01,000\n{\\an8}<i>si</i> x < y and y > z &amp; <3\n"
    assert load_hypothesis(write(tmp_path, "h.srt", srt_text)).text == "si x < y and y > z &amp; <3"


def test_names_podscribe_writes_read_back_from_its_txt(tmp_path):
    """podscribe's TXT writes any name as ``Name : text``; a label that begins two lines is a name whatever
    its letters (these were read as words: WER 3 % for identical words, and no speaker)."""
    names = ["jane doe", "Tom & Jerry", "Ann Lee, PhD", "Guest #2", "🎙️ Host"]
    lines = [f"{name} : mot {i}" for i, name in enumerate(names)] * 2
    ref = load_reference(write(tmp_path, "t.txt", "\n".join(lines) + "\n"))
    assert [(u.speaker, u.text) for u in ref.utterances] == [(n, f"mot {i}") for i, n in enumerate(names)] * 2
    once = "il a dit : oui.\nIl arrive à midi.\nla suite : demain\n"  # a label once is not a name
    assert load_reference(write(tmp_path, "plain.txt", once)).speakers == []


@pytest.mark.parametrize(
    "text, line, reason",
    [
        (
            "WEBVTT\n\n00:01.000 --> 00:02.000\nok\n\nbonjour\n",
            6,
            "cue without a 'start --> end' timing line",
        ),
        ("WEBVTT\n\n00:01.000 --> 2.0\nok\n", 3, "bad timestamp '2.0'"),
        ("WEBVT\n\n00:01.000 --> 00:02.000\nok\n", 1, "must start with 'WEBVTT'"),
    ],
)
def test_bad_vtt_names_the_line(tmp_path, text, line, reason):
    path = write(tmp_path, "bad.vtt", text)
    with pytest.raises(ReferenceFormatError) as e:
        load_hypothesis(path)
    assert str(e.value).startswith(f"{path}: line {line}: ") and reason in str(e.value)


# ---- podscribe outputs ----------------------------------------------------------------------------


def _transcript() -> Transcript:
    def seg(start, words, speaker):
        return Segment.from_words(
            [Word(w, start + i, start + i + 0.5) for i, w in enumerate(words)], speaker=speaker
        )

    return Transcript(
        segments=(
            seg(0, ["Bonjour", "Paul."], "SPEAKER_00"),
            seg(2, ["Salut", "Anne."], "SPEAKER_01"),
            seg(4, ["Ça", "va ?"], "SPEAKER_00"),
        ),
        duration=6.0,
        language="fr",
        names={"SPEAKER_00": "Anne Dupont"},
    )


def test_json_hypothesis_keeps_display_names(tmp_path):
    path = write(tmp_path, "h.json", _transcript().to_json())
    hyp = load_hypothesis(path)
    assert [(u.speaker, u.text, u.start) for u in hyp.utterances] == [
        ("Anne Dupont", "Bonjour Paul.", 0.0),
        ("SPEAKER_01", "Salut Anne.", 2.0),
        ("Anne Dupont", "Ça va ?", 4.0),
    ]
    assert Reference.from_transcript(_transcript(), display_names=False).speakers == [
        "SPEAKER_00",
        "SPEAKER_01",
    ]
    assert hyp.turns() == [
        Turn(0.0, 1.5, "Anne Dupont"),
        Turn(2.0, 3.5, "SPEAKER_01"),
        Turn(4.0, 5.5, "Anne Dupont"),
    ]


def test_podscribe_txt_output_reads_back(tmp_path):
    from podscribe.writers import OutputOptions, render_txt

    hyp = load_hypothesis(write(tmp_path, "h.txt", render_txt(_transcript(), OutputOptions())))
    assert [(u.speaker, u.text) for u in hyp.utterances] == [
        ("Anne Dupont", "Bonjour Paul."),
        ("SPEAKER_01", "Salut Anne."),
        ("Anne Dupont", "Ça va ?"),
    ]
