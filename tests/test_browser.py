"""End to end in headless Chromium: the page plays, seeks on click, highlights, searches, stays offline."""

from __future__ import annotations

import json
import shutil
import unicodedata
import wave
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from podscribe.html import render_html
from podscribe.transcript import Segment, Transcript, Word

from conftest import DATA

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
HOSTILE = '<img src="https://example.invalid/x.png" onerror="alert(1)">'
SRT = "1\n00:00:00,300 --> 00:00:02,000\nBonjour\n"


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright for Python is missing (pip install playwright)"
    )
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is missing at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def audio_and_turns(folder: Path) -> tuple[str, list[tuple[str, float, float, str]], float]:
    """The short French fixture and its turns when present, else a synthesised 6 s WAV with two turns."""
    fixture = DATA / "short.fr.json"
    if fixture.exists() and (DATA / "short.fr.opus").exists():
        meta = json.loads(fixture.read_text(encoding="utf-8"))
        shutil.copy(DATA / "short.fr.opus", folder / "short.fr.opus")
        return (
            "short.fr.opus",
            [(t["speaker"], t["start"], t["end"], t["text"]) for t in meta["turns"]],
            meta["duration"],
        )
    rate, t = 16000, np.arange(6 * 16000) / 16000
    pcm = (0.2 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    with wave.open(str(folder / "tone.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate), w.writeframes(pcm.tobytes())
    turns = [
        ("Alice", 0.3, 2.8, "Bonjour à tous et bienvenue, bonjour"),
        ("Bob", 3.0, 5.6, "Merci, ravi d'être ici aujourd'hui"),
    ]
    return "tone.wav", turns, 6.0


def make_transcript(turns: list[tuple[str, float, float, str]], duration: float) -> Transcript:
    """Words spread evenly over each turn; a hostile word ends the last turn."""
    ids: dict[str, str] = {}
    segments = []
    for k, (name, start, end, text) in enumerate(turns):
        speaker = ids.setdefault(name, f"SPEAKER_{len(ids):02d}")
        tokens = text.split() + ([HOSTILE] if k == len(turns) - 1 else [])
        step = (end - start) / len(tokens)
        words = [
            Word(w, round(start + i * step, 3), round(start + (i + 0.9) * step, 3), 0.9, speaker)
            for i, w in enumerate(tokens)
        ]
        segments.append(Segment.from_words(words, speaker))
    return Transcript(tuple(segments), duration, language="fr", names={v: k for k, v in ids.items()})


def norm(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c)).lower()


@dataclass
class Opened:
    page: Any
    transcript: Transcript
    folder: Path
    audio: str
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def opened(browser, tmp_path):
    """The page written next to its audio and opened from file://, with every request and dialog recorded."""
    audio, turns, duration = audio_and_turns(tmp_path)
    transcript = make_transcript(turns, duration)
    path = tmp_path / "transcript.html"
    path.write_text(
        render_html(transcript, audio, title="Essai", srt_text=SRT, vtt_text="WEBVTT\n"), encoding="utf-8"
    )
    context = browser.new_context(viewport={"width": 1100, "height": 800}, accept_downloads=True)
    o = Opened(context.new_page(), transcript, tmp_path, audio)
    o.page.on("request", lambda r: o.requests.append(r.url))
    o.page.on("dialog", lambda d: (o.dialogs.append(d.message), d.dismiss()))
    o.page.on("pageerror", lambda e: o.errors.append(str(e)))
    o.page.goto(path.as_uri())
    o.page.wait_for_function("() => document.getElementById('audio').readyState >= 1", timeout=15000)
    yield o
    context.close()


# Predicates are arrow functions: a bare expression would go through eval(), which the page's CSP forbids.
def seek_target(pg, action) -> tuple[float, int]:
    """Do ``action``; return audio.currentTime and the highlighted word's index when its seek starts."""
    pg.evaluate("""() => {
        window.__seek = null;
        const record = e => {
            const cur = [...document.querySelectorAll('.w')].findIndex(w => w.classList.contains('cur'));
            window.__seek = [e.target.currentTime, cur];
        };
        document.getElementById('audio').addEventListener('seeking', record, {once: true});
    }""")
    action()
    pg.wait_for_function("() => window.__seek !== null", timeout=10000)
    time, index = pg.evaluate("window.__seek")
    return time, index


def test_page_plays_seeks_highlights_searches_offline(opened: Opened) -> None:
    page, words = opened.page, opened.transcript.words
    k = len(words) // 2
    target = page.locator(".w").nth(k)
    assert target.inner_text() == words[k].text

    # Clicking a word seeks to its start and plays; that word is highlighted.
    time, highlighted = seek_target(page, target.click)
    assert abs(time - words[k].start) < 0.1 and highlighted == k
    page.wait_for_function(
        f"() => document.getElementById('audio').currentTime > {words[k].start + 0.3}", timeout=10000
    )

    # While playing, the highlighted word is the one being spoken: the last one started,
    # unless a pause of over 1 s followed it.
    page.evaluate("document.getElementById('audio').pause()")
    page.wait_for_timeout(100)
    now = page.evaluate("document.getElementById('audio').currentTime")
    spoken = max(i for i, w in enumerate(words) if w.start <= now + 0.01)
    spoken = spoken if now <= words[spoken].end + 1.0 else -1
    assert (
        page.evaluate("[...document.querySelectorAll('.w')].findIndex(w => w.classList.contains('cur'))")
        == spoken
    )
    assert page.locator(".turn.active").count() == (spoken >= 0)

    # Keyboard: k and space toggle playback when focus is not in an input.
    page.locator("h1").click()
    page.keyboard.press("k")
    page.wait_for_function("() => !document.getElementById('audio').paused", timeout=5000)
    page.keyboard.press(" ")
    page.wait_for_function("() => document.getElementById('audio').paused", timeout=5000)

    # Keyboard in the transcript: from a turn's time button the arrows go word by word, Enter plays from the
    # word (words could only be clicked); one tab stop for the transcript, not one per word.
    page.locator(".ts").first.focus()
    for key in ("ArrowRight", "ArrowRight", "ArrowRight", "ArrowLeft"):
        page.keyboard.press(key)
    assert page.evaluate("[...document.querySelectorAll('.w')].indexOf(document.activeElement)") == 1
    time, highlighted = seek_target(page, lambda: page.keyboard.press("Enter"))
    assert abs(time - words[1].start) < 0.1 and highlighted == 1
    page.evaluate("document.getElementById('audio').pause()")
    assert page.locator(".w[tabindex]").count() == 1

    # Clicking the speaker timeline seeks proportionally.
    box = page.locator("#tl").bounding_box()
    at, _ = seek_target(
        page, lambda: page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    )
    assert abs(at - opened.transcript.duration / 2) < 0.2

    # Search: accent- and case-insensitive matches are highlighted and counted; next moves on.
    counts = Counter(norm(w.text).strip(",.?!") for w in words)
    query, n = max(
        ((q, c) for q, c in counts.items() if len(q) >= 4 and q.isalpha()), key=lambda qc: (qc[1], qc[0])
    )
    page.fill("#q", query.upper())
    page.wait_for_function(f"() => document.getElementById('count').textContent === '1 of {n}'", timeout=5000)
    assert page.locator(".w.m").count() == sum(query in norm(w.text) for w in words)
    assert page.locator(".w.mc").count() == 1
    if n > 1:
        page.click("#next")
        assert page.inner_text("#count") == f"2 of {n}"
    page.fill("#q", "zzzzqqq")
    page.wait_for_function(
        "() => document.getElementById('count').textContent === 'No matches'", timeout=5000
    )
    assert page.locator(".w.m").count() == 0
    page.fill("#q", query)
    page.wait_for_function(f"() => document.getElementById('count').textContent === '1 of {n}'", timeout=5000)
    page.fill("#q", "zzzzqqq")  # Enter at once: the new text's search, not the next of the old matches
    page.keyboard.press("Enter")
    assert page.inner_text("#count") == "No matches" and page.locator(".w.m").count() == 0
    page.fill("#q", query)
    page.wait_for_function(f"() => document.getElementById('count').textContent === '1 of {n}'", timeout=5000)

    # Subtitles download from the page itself.
    with page.expect_download() as download:
        page.click("a[data-kind=srt]")
    assert download.value.suggested_filename == "Essai.srt"
    assert Path(download.value.path()).read_text(encoding="utf-8") == SRT

    # The hostile word is text, nothing ran, and no request left the page's folder.
    assert page.locator(".w").last.inner_text() == HOSTILE
    assert opened.dialogs == [] and opened.errors == []
    folder = opened.folder.as_uri() + "/"
    assert folder + opened.audio in opened.requests
    assert all(u.startswith((folder, "blob:", "data:")) for u in opened.requests), opened.requests

    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("document.getElementById('audio').pause(); window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "html.png"), full_page=True)


def test_embedded_audio_page_needs_no_other_file(browser, tmp_path) -> None:
    audio, turns, duration = audio_and_turns(tmp_path)
    data = (tmp_path / audio).read_bytes()
    (tmp_path / audio).unlink()
    transcript = make_transcript(turns, duration)
    path = tmp_path / "embedded.html"
    mime = "audio/ogg" if audio.endswith(".opus") else "audio/wav"
    path.write_text(render_html(transcript, embed_audio=data, audio_mime=mime), encoding="utf-8")
    pg = browser.new_page()
    requests: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    pg.goto(path.as_uri())
    pg.wait_for_function("() => document.getElementById('audio').readyState >= 1", timeout=15000)
    assert pg.evaluate("document.getElementById('audio').duration") == pytest.approx(duration, abs=0.5)
    word = transcript.words[-2]
    time, highlighted = seek_target(pg, pg.locator(".w").nth(len(transcript.words) - 2).click)
    assert abs(time - word.start) < 0.1 and highlighted == len(transcript.words) - 2
    assert all(u == path.as_uri() or u.startswith("data:") for u in requests), requests
    pg.close()


def test_search_takes_the_page_as_typed_and_a_missing_audio_is_said(browser, tmp_path) -> None:
    """"romain !" found nothing (the word holds a no-break space), nor "l’été" typed with the curly apostrophe
    against a plain one, nor an Arabic word without its vowel marks; an audio file gone failed in silence."""
    said = ["Salut", "Romain\u00a0!", "l'été", "مَرْحَبًا", "fin."]
    words = [Word(w, i, i + 0.8, 0.9, "SPEAKER_00") for i, w in enumerate(said)]
    transcript = Transcript((Segment.from_words(words, "SPEAKER_00"),), 6.0, language="fr")
    path = tmp_path / "page.html"
    path.write_text(render_html(transcript, "gone.opus"), encoding="utf-8")
    pg = browser.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(path.as_uri())
    for query in ("romain !", "l’été", "مرحبا"):
        pg.fill("#q", query)
        pg.keyboard.press("Enter")
        assert pg.inner_text("#count") == "1 of 1", query
    pg.emulate_media(forced_colors="active")  # Windows high contrast: the match was painted as the page
    mark, page_colour = pg.evaluate("""() => [
        getComputedStyle(document.querySelector('.w.m')).backgroundColor,
        getComputedStyle(document.body).backgroundColor]""")
    assert mark != page_colour
    pg.wait_for_selector(".audio-error", timeout=10000)
    assert "gone.opus is missing or unreadable" in pg.inner_text(".audio-error")
    assert errors == []
    pg.close()


def test_a_page_without_audio_offers_nothing_to_play_and_lands_below_its_bar(browser, tmp_path) -> None:
    """Without audio the page still showed "Play from" buttons, a focusable seek slider, Follow and the play
    keys; and a skip link or a hit landed under a sticky bar taller than the fixed 9 rem kept for it."""
    speakers = [f"SPEAKER_{k:02d}" for k in range(8)]
    words = [Word(f"mot{i}", i, i + 0.8, 0.9, speakers[i % 8]) for i in range(40)]
    segments = tuple(Segment.from_words([w], w.speaker) for w in words)
    names = {s: f"Intervenante numéro {k} au nom très long" for k, s in enumerate(speakers)}
    transcript = Transcript(segments, 41.0, language="fr", names=names)
    path = tmp_path / "page.html"
    path.write_text(render_html(transcript), encoding="utf-8")
    pg = browser.new_page(viewport={"width": 360, "height": 700})
    pg.goto(path.as_uri())
    assert pg.locator(".ts").first.is_hidden() and pg.locator(".follow").is_hidden()
    assert pg.locator("#tl").count() == 0 and pg.locator(".tl-tracks[role=img]").count() == 1
    assert "play" not in pg.inner_text("footer").lower()
    bar, padding = pg.evaluate("""() => [document.querySelector('.bar').offsetHeight,
        parseFloat(getComputedStyle(document.documentElement).scrollPaddingTop)]""")
    assert padding == bar + 8 and bar > 144  # eight speakers on a phone: taller than the 9 rem once kept
    pg.close()

