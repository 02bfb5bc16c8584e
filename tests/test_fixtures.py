"""Committed synthetic fixtures are consistent; tools/make_fixtures.py parses and rebuilds them exactly."""

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from podscribe.audio import ffprobe_path

from conftest import DATA, ROOT, load_tool

FIXTURES = sorted(p.stem for p in DATA.glob("*.json")
                  if json.loads(p.read_text(encoding="utf-8")).get("schema") == "podscribe.fixture/1")
SIZE_LIMIT = 6 * 1024 * 1024

make_fixtures = load_tool("make_fixtures")


def load(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def read_rttm(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text(encoding="utf-8").splitlines()]


def probe(path: Path) -> dict:
    out = subprocess.run(
        [
            ffprobe_path(),
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_type",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return json.loads(out)


def test_parser_handles_continuations_annotations_and_footnotes():
    text = (
        "Emmanuel Macron en off : Bonjour [1] à tous.\n"
        "Mathilde Wateau : Salut, c’est-à-dire : salut [12].\n"
        "\n"
        "Oui, une ligne sans nom : elle continue Mathilde.\n"
        "Jean Pierre Le Goff : Fin.\n"
    )
    assert make_fixtures.parse_transcript(text) == [
        make_fixtures.Utterance("Emmanuel Macron", "Bonjour à tous.", "en off"),
        make_fixtures.Utterance("Mathilde Wateau", "Salut, c’est-à-dire : salut."),
        make_fixtures.Utterance("Mathilde Wateau", "Oui, une ligne sans nom : elle continue Mathilde."),
        make_fixtures.Utterance("Jean Pierre Le Goff", "Fin."),
    ]


def test_parser_rejects_text_before_any_speaker():
    with pytest.raises(ValueError, match="line 1"):
        make_fixtures.parse_transcript("Pas de nom ici.\nMathilde Wateau : Salut.\n")


def test_reference_parses_into_four_speakers():
    utterances = make_fixtures.parse_transcript((DATA / "interview.fr.txt").read_text(encoding="utf-8"))
    speakers = list(dict.fromkeys(u.speaker for u in utterances))
    assert speakers == ["Emmanuel Macron", "Mathilde Wateau", "Romain Boucher", "Jérémy Désir"]
    assert {u.annotation for u in utterances if u.speaker == "Emmanuel Macron"} == {"en off"}
    assert not any("[" in u.text for u in utterances)


@given(
    st.lists(
        st.text(alphabet="abcdé ,’", min_size=1, max_size=60)
        .map(str.strip)
        .filter(bool)
        .map(lambda s: s + "."),
        min_size=1,
        max_size=12,
    ),
    st.integers(min_value=10, max_value=200),
)
def test_split_long_keeps_text_and_respects_limit(sentences, max_chars):
    utterance = make_fixtures.Utterance("A B", " ".join(sentences))
    chunks = make_fixtures.split_long(utterance, max_chars)
    assert " ".join(c.text for c in chunks) == utterance.text
    assert all(len(c.text) <= max_chars or c.text in sentences for c in chunks)


@given(
    st.lists(st.tuples(st.integers(1, 40000), st.sampled_from("ABC")), min_size=1, max_size=30),
    st.integers(0, 2**32 - 1),
    st.floats(0, 1),
)
def test_layout_overlaps_at_most_two_voices_and_only_at_speaker_changes(items, seed, prob):
    lengths, speakers = [n for n, _ in items], [s for _, s in items]
    onsets = make_fixtures.layout(
        lengths, speakers, np.random.default_rng(seed), (0.3, 1.0), prob, (0.3, 1.0)
    )
    ends = [o + n for o, n in zip(onsets, lengths)]
    assert onsets == sorted(onsets)
    for i in range(1, len(onsets)):
        if onsets[i] < max(ends[:i]):
            assert speakers[i] != speakers[i - 1] and onsets[i] >= max(ends[: i - 1], default=0)


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_rttm_matches_json_and_audio(name):
    record = load(name)
    audio = DATA / record["audio"]
    turns = record["turns"]
    ids = {s["name"]: s["id"] for s in record["speakers"]}
    assert [t["start"] for t in turns] == sorted(t["start"] for t in turns)
    assert all(0 <= t["start"] < t["end"] <= record["duration"] and t["text"].strip() for t in turns)
    assert {t["speaker"] for t in turns} == set(ids)
    rttm = read_rttm(DATA / f"{name}.rttm")
    assert all(
        len(f) == 10
        and f[0] == "SPEAKER"
        and f[1] == name
        and f[5::] == ["<NA>", "<NA>", f[7], "<NA>", "<NA>"]
        for f in rttm
    )
    assert [f[7] for f in rttm] == [ids[t["speaker"]] for t in turns]
    assert [(float(f[3]), float(f[4])) for f in rttm] == [
        pytest.approx((t["start"], round(t["end"] - t["start"], 3))) for t in turns
    ]
    info = probe(audio)
    assert float(info["format"]["duration"]) == pytest.approx(record["duration"], abs=0.05)
    kinds = sorted(s["codec_type"] for s in info["streams"])
    assert kinds == (["audio", "video"] if audio.suffix == ".mp4" else ["audio"])


@pytest.mark.parametrize("name", ["interview.fr", "interview.heldout"])
def test_interview_fixtures_speak_the_whole_reference(name):
    reference = make_fixtures.parse_transcript((DATA / "interview.fr.txt").read_text(encoding="utf-8"))
    turns = load(name)["turns"]
    assert " ".join(t["text"] for t in turns) == " ".join(u.text for u in reference)
    assert len({t["speaker"] for t in turns}) == 4


@pytest.mark.parametrize("name", ["noisy.fr", "overlap.fr"])
def test_overlap_fixtures_contain_overlapped_speech(name):
    turns = load(name)["turns"]
    overlaps = [b["start"] < a["end"] for a, b in itertools.pairwise(turns)]
    assert sum(overlaps) >= 3


def test_dev_and_heldout_voice_sets_share_no_voice():
    dev, heldout = make_fixtures.VOICE_SETS["dev"], make_fixtures.VOICE_SETS["heldout"]
    assert not {v.variant for v in dev} & {v.variant for v in heldout}
    assert not {v.cents for v in dev} & {v.cents for v in heldout}
    assert {load(n)["voice_set"] for n in ("interview.heldout", "heldout_text.fr", "noisy.fr")} == {"heldout"}


def test_fixtures_stay_small():
    assert sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file()) < SIZE_LIMIT


@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")), reason="needs espeak-ng and sox")
def test_rebuilding_short_reproduces_committed_turns(tmp_path):
    args = make_fixtures.parser().parse_args(
        [*make_fixtures.PRESETS["short"], "--format", "wav", "--out-dir", str(tmp_path)]
    )
    args.transcript = str(ROOT / args.transcript)
    make_fixtures.build(args, load("short.fr")["command"])
    assert (tmp_path / "short.fr.rttm").read_bytes() == (DATA / "short.fr.rttm").read_bytes()
    rebuilt = json.loads((tmp_path / "short.fr.json").read_text(encoding="utf-8"))
    assert rebuilt["turns"] == load("short.fr")["turns"]
    assert rebuilt["duration"] == load("short.fr")["duration"]
