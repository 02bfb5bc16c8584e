"""The transcript page: self-contained, escaped, every word clickable with its time, speakers named."""

from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podscribe.errors import OptionError
from podscribe.html import audio_source, render_html
from podscribe.transcript import Segment, Transcript, Word

HOSTILE = "<script>alert(1)</script>"


class Page(HTMLParser):
    """Collects what the tests look at: URL attributes, tags, word spans and turn sections."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self.words: list[dict[str, str]] = []
        self.names: list[str] = []
        self._open: dict[str, str] | None = None
        self._in_name = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        self.urls += [
            (tag, k, v) for k, v in a.items() if k in ("src", "href", "action", "poster", "srcset", "data")
        ]
        if tag == "span" and "w" in a.get("class", "").split():
            self._open = {**a, "text": ""}
        self._in_name = tag == "span" and a.get("class") == "name"

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data
        if self._in_name:
            self.names.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._open is not None:
            self.words.append(self._open)
            self._open = None
        self._in_name = False


def make_transcript(
    texts_by_speaker: list[tuple[str, list[str]]], names: dict[str, str] | None = None
) -> Transcript:
    """Segments of evenly spaced words, 0.4 s apart, one segment per (speaker, words) item."""
    segments, t = [], 0.0
    for speaker, texts in texts_by_speaker:
        words = []
        for text in texts:
            words.append(Word(text, round(t, 3), round(t + 0.3, 3), 0.9, speaker))
            t += 0.4
        segments.append(Segment.from_words(words, speaker))
        t += 0.5
    return Transcript(
        tuple(segments), duration=t + 1.0, language="fr", model="base", audio="episode.mp3", names=names or {}
    )


@pytest.fixture
def transcript() -> Transcript:
    return make_transcript(
        [
            ("SPEAKER_00", ["Bonjour", "à", "tous,", "voici", HOSTILE]),
            ("SPEAKER_00", ["et", "la", "suite."]),
            ("SPEAKER_01", ["Merci", "Mathilde", "&", "bonjour."]),
            ("SPEAKER_00", ["Dernière", "question", "?"]),
        ],
        names={"SPEAKER_00": "Mathilde Wateau", "SPEAKER_01": 'Romain "<b>" Boucher'},
    )


def test_page_is_self_contained(transcript: Transcript) -> None:
    page = render_html(
        transcript,
        "audio/episode 1.mp3",
        srt_text="1\n00:00:00,000 --> 00:00:01,000\nBonjour\n",
        vtt_text="WEBVTT\n",
    )
    parsed = Page(page)
    assert not {"link", "img", "iframe", "object", "embed"} & set(parsed.tags)
    for tag, attr, url in parsed.urls:
        assert url == "audio/episode%201.mp3" or url.startswith(("#", "data:")), (tag, attr, url)
    assert ("audio", "src", "audio/episode%201.mp3") in parsed.urls
    assert "http://" not in page and "https://" not in page
    assert "url(" not in page and "@import" not in page
    assert re.search(r"<script[^>]*\bsrc=", page) is None
    assert 'download="episode.srt"' in page and 'download="episode.vtt"' in page


def test_a_page_of_another_track_says_its_player_plays_the_first(transcript: Transcript, caplog) -> None:
    """An <audio> element has no choice of track: the words of track 2 would play over track 1."""
    with caplog.at_level("WARNING", logger="podscribe.html"):
        render_html(transcript, "episode.mkv")
        assert not caplog.records
        render_html(replace(transcript, audio_track=2), "episode.mkv")
        render_html(replace(transcript, audio_track=2), None)  # no player: nothing to say
    assert len(caplog.records) == 1
    assert "plays the file's first audio track; the words are of track 2" in caplog.text


def test_transcript_text_is_escaped(transcript: Transcript) -> None:
    srt = f"1\n00:00:00,000 --> 00:00:01,000\n</script>{HOSTILE}<!--\n"
    page = render_html(transcript, "episode.mp3", srt_text=srt)
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script") == 2 and page.count("</script>") == 2  # the JSON block and the code
    data = re.search(r'<script type="application/json" id="podscribe-data">(.*?)</script>', page, re.DOTALL)
    assert data and json.loads(data.group(1))["srt"] == srt
    assert "Romain &quot;&lt;b&gt;&quot; Boucher" in page


def test_every_word_is_a_span_with_its_times(transcript: Transcript) -> None:
    parsed = Page(render_html(transcript, "episode.mp3"))
    assert [w["text"] for w in parsed.words] == [w.text for w in transcript.words]
    for span, word in zip(parsed.words, transcript.words):
        assert float(span["data-start"]) == pytest.approx(word.start, abs=1e-3)
        assert float(span["data-end"]) == pytest.approx(word.end, abs=1e-3)


def test_turns_group_consecutive_segments_and_show_names(transcript: Transcript) -> None:
    page = render_html(transcript, "episode.mp3")
    assert Page(page).names == ["Mathilde Wateau", 'Romain "<b>" Boucher', "Mathilde Wateau"]
    assert page.count('<section class="turn"') == 3
    assert page.count('class="tl-track"') == 2  # one timeline row per speaker
    assert "Mathilde Wateau" in page.split('class="timeline"')[1].split("</div></div>")[0]


def test_segments_without_words_are_one_clickable_span() -> None:
    t = Transcript((Segment(1.0, 2.5, "texte sans mots", speaker="A"),), duration=3.0)
    words = Page(render_html(t)).words
    assert [(w["text"], w["data-start"], w["data-end"]) for w in words] == [("texte sans mots", "1", "2.5")]


def test_empty_transcript_renders_a_page() -> None:
    page = render_html(Transcript((), duration=0.0), "a.mp3")
    assert page.startswith("<!DOCTYPE html>") and Page(page).words == [] and 'id="tl"' not in page


def test_embedded_audio_is_a_data_uri(transcript: Transcript) -> None:
    audio = bytes(range(256)) * 4
    src = {
        (t, k): v for t, k, v in Page(render_html(transcript, embed_audio=audio, audio_mime="audio/ogg")).urls
    }[("audio", "src")]
    assert src.startswith("data:audio/ogg;base64,")
    assert base64.b64decode(src.split(",", 1)[1]) == audio


def test_page_without_audio_still_renders(transcript: Transcript) -> None:
    page = render_html(transcript)
    assert "<audio" not in page and "No audio attached" in page


@pytest.mark.parametrize(
    "src",
    [
        "https://example.org/a.mp3",
        "//cdn.example/a.mp3",
        "/abs/a.mp3",
        "file:///a.mp3",
        "data:audio/mpeg;base64,AA==",
    ],
)
def test_audio_must_be_a_relative_path(transcript: Transcript, src: str) -> None:
    with pytest.raises(OptionError):
        render_html(transcript, src)


def test_audio_path_and_embedded_audio_exclude_each_other(transcript: Transcript) -> None:
    with pytest.raises(OptionError):
        render_html(transcript, "a.mp3", embed_audio=b"x")


def test_audio_source_is_relative_to_the_page_or_embedded(transcript: Transcript, tmp_path) -> None:
    audio = tmp_path / "media" / "épisode 1.mp3"
    audio.parent.mkdir()
    audio.write_bytes(b"\xff\xfb")
    (tmp_path / "pages").mkdir()
    src, _, mime = audio_source(audio, tmp_path / "pages")
    assert ("audio", "src", "../media/%C3%A9pisode%201.mp3") in Page(render_html(transcript, src, audio_mime=mime)).urls
    _, data, mime = audio_source(audio, tmp_path, embed=True)
    embedded = render_html(transcript, embed_audio=data, audio_mime=mime)
    assert 'src="data:audio/mpeg;base64,//s="' in embedded


def test_twelve_minute_transcript_page_stays_small() -> None:
    vocab = (
        "alors le numérique a pris une place centrale dans nos vies personnelles et professionnelles".split()
    )
    turns = [(f"SPEAKER_{i % 3:02d}", [vocab[(i + j) % len(vocab)] for j in range(20)]) for i in range(100)]
    t = make_transcript(turns)
    assert len(t.words) == 2000 and t.duration > 700
    page = render_html(t, "episode.mp3")
    assert len(page.encode()) < 250_000
    assert len(Page(page).words) == 2000


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1, max_size=12),
        min_size=1,
        max_size=15,
    )
)
def test_any_word_text_survives_as_text(texts: list[str]) -> None:
    t = make_transcript([("SPEAKER_00", texts)], names={"SPEAKER_00": texts[0]})
    parsed = Page(render_html(t, "a.mp3", title=texts[-1], srt_text="".join(texts)))
    assert [w["text"] for w in parsed.words] == texts
    assert parsed.names == [texts[0]]
    assert parsed.tags.count("script") == 2


def test_the_timeline_is_said_in_words_and_highlights_are_more_than_a_pale_colour(transcript: Transcript):
    """The timeline was a picture without a text alternative, and the current word and search matches
    differed from white by 1.3-1.8:1 only: each now has a line of 3:1 or more beside white (WCAG 1.4.11)."""
    for playable in (True, False):
        page = render_html(transcript, "episode.mp3" if playable else None)
        said = re.search(r'<p class="sr-only" id="tl-said">([^<]*)</p>', page)
        assert said and 'aria-describedby="tl-said"' in page
        turns = transcript.speaker_turns()
        for speaker in transcript.speakers:
            talk = sum(t.duration for t in turns if t.speaker == speaker)
            count = sum(t.speaker == speaker for t in turns)
            name = html.escape(transcript.speaker_name(speaker) or speaker)
            share = f"0:{int(talk):02d} ({100 * talk / transcript.duration:.0f} %)"
            assert f"{name} {share}, in {count} turn{'' if count == 1 else 's'}" in said[1]

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    page = render_html(transcript, "episode.mp3")
    for state in (r"\.w\.m", r"\.w\.mc", r"\.w\.cur"):
        rule = re.search(state + r" \{([^}]*)\}", page)
        assert rule, state
        lines = re.findall(r"(?:border-bottom(?:-color)?|outline): (?:[^;]*?)(#[0-9a-f]{6})", rule[1])
        assert lines and all((1.05) / (luminance(c) + 0.05) >= 3.0 for c in lines), (state, lines)
