"""A self-contained interactive transcript page: audio player, clickable words, speaker timeline, search.

The page makes no network request: CSS and JS are inline, the audio is a relative path next to the
page or an embedded data: URI, and subtitle downloads are built in the page from inline text.
All transcript text is HTML-escaped; data for the script sits in a JSON block with ``<`` escaped.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import re
from collections.abc import Sequence
from itertools import groupby, pairwise
from pathlib import Path
from urllib.parse import quote

from ._version import __version__
from .errors import InputError, OptionError
from .palette import speaker_colour
from .transcript import Segment, Transcript
from .writing import spaced

logger = logging.getLogger(__name__)

UNKNOWN_COLOUR = "#57606a"
LOW_CONFIDENCE = 0.5  # words below this recogniser probability get a dotted underline
# Forbids every fetch except the page's own folder (or file: when opened from disk), inline code, data:/blob:.
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "media-src 'self' file: data: blob:; base-uri 'none'; form-action 'none'"
)


def render_html(
    transcript: Transcript,
    audio_src: str | None = None,
    *,
    embed_audio: bytes | None = None,
    audio_mime: str = "audio/mpeg",
    title: str | None = None,
    srt_text: str | None = None,
    vtt_text: str | None = None,
) -> str:
    """Render ``transcript`` as one offline HTML page that plays ``audio_src`` (a relative path) or
    ``embed_audio`` (bytes embedded as a data: URI), with SRT/VTT downloads when their text is given."""
    if audio_src is not None and embed_audio is not None:
        raise OptionError("give either an audio path or audio bytes to embed, not both")
    if audio_src is not None and re.match(r"[a-zA-Z][\w+.-]*:|[/\\]", audio_src):
        raise OptionError(
            f"audio must be a path relative to the page (no URL, no absolute path), got {audio_src!r}"
        )
    if transcript.audio_track != 1 and (audio_src or embed_audio):  # <audio> has no choice of track
        logger.warning("%s: the page's player plays the file's first audio track; the words are of track %d",
                       transcript.audio or "the page", transcript.audio_track)  # fmt: skip
    title = title or (Path(transcript.audio).stem if transcript.audio else "Transcript")
    colours = {s: speaker_colour(i) for i, s in enumerate(transcript.speakers)}
    duration = max([transcript.duration, *(s.end for s in transcript.segments)])
    stem = _filename_stem(title)
    data = {"duration": duration, "srt": srt_text, "vtt": vtt_text}
    downloads = "".join(
        f'<a class="btn" data-kind="{kind}" href="#" download="{html.escape(stem)}.{kind}">{kind.upper()}</a>'
        for kind, text in (("srt", srt_text), ("vtt", vtt_text))
        if text is not None
    )
    meta = [
        _clock(duration, duration),
        f"{len(transcript.speakers)} speaker{'s' * (len(transcript.speakers) != 1)}",
        f"{sum(len(s.words) or len(s.text.split()) for s in transcript.segments):,} words",
        transcript.language and f"language: {transcript.language}",
        transcript.model and f"model: {transcript.model}",
    ]
    language = html.escape(transcript.language or "und")
    playable = audio_src is not None or embed_audio is not None
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',  # the page's own words; the transcript's language is its main's (``language``)
        '<head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="podscribe {__version__}">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style></head>",
        "<body>" if playable else '<body class="silent">',  # no audio: nothing offered to play
        '<a class="skip" href="#transcript">Skip to transcript</a>',
        '<header class="wrap top"><div class="heading">',
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{" · ".join(html.escape(m) for m in meta if m)}</p></div>',
        f'<nav class="downloads" aria-label="Download subtitles">{downloads}</nav>' if downloads else "",
        "</header>",
        '<div class="bar"><div class="wrap">',
        '<div class="controls">',
        _audio_tag(audio_src, embed_audio, audio_mime),
        '<form class="search" role="search">',
        '<label class="sr-only" for="q">Search the transcript</label>',
        '<input id="q" type="search" placeholder="Search… ( / )" autocomplete="off" spellcheck="false">',
        '<span id="count" class="count" aria-live="polite"></span>',
        _icon_button("prev", "Previous match", "Shift+Enter", "&#8593;"),
        _icon_button("next", "Next match", "Enter", "&#8595;"),
        "</form>",
        '<label class="follow"><input type="checkbox" id="follow" checked> Follow</label>',
        "</div>",
        _timeline_html(transcript, colours, duration, playable),
        "</div></div>",
        f'<main id="transcript" class="wrap" tabindex="-1" lang="{language}">',
        *(
            _turn_html(transcript, speaker, list(segs), colours, duration)
            for speaker, segs in groupby(transcript.segments, key=lambda s: s.speaker)
        ),
        "</main>",
        (
            '<footer class="wrap"><p>'
            + ("<kbd>Space</kbd> or <kbd>K</kbd> play/pause · <kbd>J</kbd>/<kbd>L</kbd> back/forward 5 s · "
               if playable else "")
            + "<kbd>/</kbd> search · <kbd>Enter</kbd>/<kbd>Shift+Enter</kbd> next/previous match"
            + " · <kbd>←</kbd>/<kbd>→</kbd> word by word in the transcript"
            + (" (<kbd>Enter</kbd> plays from it) · click a word or time to play from it" if playable else "")
            + "</p>"
        ),
        f"<p>Made with podscribe {__version__}. Works offline.</p></footer>",
        f'<script type="application/json" id="podscribe-data">{_json_for_script(data)}</script>',
        f"<script>{_JS}</script>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def audio_source(
    audio_path: str | os.PathLike[str], page_dir: str | os.PathLike[str], embed: bool = False
) -> tuple[str | None, bytes | None, str]:
    """How a page in ``page_dir`` reaches its audio: (relative path, None, mime) or (None, bytes, mime)."""
    mime = _mime(audio_path)
    if embed:
        try:
            return None, Path(audio_path).read_bytes(), mime
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror or e}", audio_path) from e
    relative = Path(os.path.relpath(Path(audio_path).resolve(), Path(page_dir).resolve())).as_posix()
    if ":" in relative.split("/")[0]:  # "ep:1.wav" would read as a URL scheme: "./ep:1.wav" cannot
        relative = "./" + relative
    return relative, None, mime


def _audio_tag(audio_src: str | None, embed_audio: bytes | None, mime: str) -> str:
    if embed_audio is not None:
        src = f"data:{mime};base64,{base64.b64encode(embed_audio).decode('ascii')}"
    elif audio_src is not None:
        src = quote(os.fsencode(audio_src.replace("\\", "/")), safe="/")  # a name's own bytes, in any locale
    else:
        return '<p class="noaudio">No audio attached: words and times are shown without playback.</p>'
    attributes = f'id="audio" controls preload="metadata" aria-label="Recording" src="{html.escape(src)}"'
    return f"<audio {attributes}></audio>"


def _icon_button(id_: str, label: str, key: str, symbol: str) -> str:
    labels = f'aria-label="{label}" title="{label} ({key})"'
    return f'<button type="button" id="{id_}" class="icon" {labels}>{symbol}</button>'


def _turn_html(
    transcript: Transcript,
    speaker: str | None,
    segments: Sequence[Segment],
    colours: dict[str, str],
    duration: float,
) -> str:
    name = html.escape(transcript.speaker_name(speaker) or "Unknown speaker")
    start, end = _num(segments[0].start), _num(max(s.end for s in segments))
    clock = _clock(segments[0].start, duration)
    others = dict.fromkeys(
        transcript.speaker_name(o) or o for s in segments for o in s.overlap if o != speaker
    )
    note = f'<span class="overlap">overlaps {html.escape(", ".join(others))}</span>' if others else ""
    words = _spaced_html([span for s in segments for span in _word_spans(s)])
    return (
        f'<section class="turn" style="--c:{colours.get(speaker or "", UNKNOWN_COLOUR)}" '
        f'data-start="{start}" data-end="{end}"><div class="who"><span class="name" dir="auto">{name}</span>'
        f'<button type="button" class="ts" data-start="{start}" aria-label="Play from {clock}, {name}">'
        f"{clock}</button>"
        f'{note}</div><p class="txt" dir="auto">{words}</p></section>'
    )


def _word_spans(segment: Segment) -> list[tuple[str, str]]:
    """(text, HTML) of each word's span; a transcript without word timings: the segment is one span."""
    if not segment.words:
        return [(segment.text, _word_span(segment.text, segment.start, segment.end, ""))]
    return [
        (w.text, _word_span(w.text, w.start, w.end, f' title="confidence {w.probability:.0%}"'))
        if w.probability < LOW_CONFIDENCE
        else (w.text, _word_span(w.text, w.start, w.end, ""))
        for w in segment.words
    ]


def _spaced_html(spans: list[tuple[str, str]]) -> str:
    """The spans one after another, a space between two words where ``writing.spaced`` puts one (none in
    Chinese or Japanese text, whose search then finds a phrase typed without spaces)."""
    out = [spans[0][1]] if spans else []
    for (before, _), (after, markup) in pairwise(spans):
        out.append(" " + markup if spaced(before, after) else markup)
    return "".join(out)


def _word_span(text: str, start: float, end: float, low_confidence: str) -> str:
    cls = "w lc" if low_confidence else "w"
    times = f'data-start="{_num(start)}" data-end="{_num(end)}"'
    return f'<span class="{cls}" {times}{low_confidence}>{html.escape(text)}</span>'


def _timeline_html(transcript: Transcript, colours: dict[str, str], duration: float, playable: bool) -> str:
    """Who speaks when, one track a speaker: a slider that seeks, or a picture where there is no audio."""
    turns = transcript.speaker_turns()
    if not transcript.speakers or duration <= 0:
        return ""
    names, tracks, shares = [], [], []
    for s in transcript.speakers:
        name, colour = html.escape(transcript.speaker_name(s) or s), colours[s]
        talk = sum(t.duration for t in turns if t.speaker == s)
        share = f"{_clock(talk, duration)} ({100 * talk / duration:.0f} %)"
        count = sum(t.speaker == s for t in turns)
        shares.append(f"{name} {share}, in {count} turn{'' if count == 1 else 's'}")
        names.append(f'<div class="tl-name" style="--c:{colour}" title="{name}: {share}">{name}</div>')
        blocks = "".join(
            f'<i style="left:{100 * t.start / duration:.3f}%;width:{100 * t.duration / duration:.3f}%"></i>'
            for t in turns
            if t.speaker == s
        )
        tracks.append(f'<div class="tl-track" style="--c:{colour}">{blocks}</div>')
    start, end = _clock(0, duration), _clock(duration, duration)
    # What the tracks show, in words, for those who cannot see them: each speaker's time and turns.
    summary = f'<p class="sr-only" id="tl-said">Who speaks: {"; ".join(shares)}.</p>'
    return (
        f'<div class="timeline">{summary}'
        f'<div class="tl-names" aria-hidden="true">{"".join(names)}</div>'
        + (
            '<div class="tl-tracks" id="tl" tabindex="0" role="slider" aria-label="Speaker timeline: seek" '
            f'aria-describedby="tl-said" aria-valuemin="0" aria-valuemax="{_num(duration)}" '
            f'aria-valuenow="0" aria-valuetext="{start} of {end}">'
            if playable
            else '<div class="tl-tracks" role="img" aria-label="Speaker timeline" aria-describedby="tl-said">'
        )
        + f'{"".join(tracks)}<div class="playhead" id="playhead"></div></div>'
        f'<div></div><div class="tl-axis" aria-hidden="true"><span>{start}</span><span>{end}</span></div>'
        "</div>"
    )


def _json_for_script(data: object) -> str:
    """JSON that cannot close its <script> element or open a comment: <, > and & become escapes."""
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _num(t: float) -> str:
    return f"{t:.3f}".rstrip("0").rstrip(".") or "0"


def _clock(seconds: float, duration: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if duration >= 3600 else f"{s // 60}:{s % 60:02d}"


def _filename_stem(title: str) -> str:
    return re.sub(r"[^\w.-]+", "_", title).strip("._") or "transcript"


def _mime(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    return {
        ".mp3": "audio/mpeg",
        ".wav": "audio/wav",
        ".ogg": "audio/ogg",
        ".opus": "audio/ogg",
        ".oga": "audio/ogg",
        ".m4a": "audio/mp4",
        ".aac": "audio/aac",
        ".flac": "audio/flac",
        ".webm": "audio/webm",
    }.get(suffix, "audio/mpeg")


_CSS = """
:root {
  --fg: #1b1f24; --muted: #57606a; --bg: #fff; --panel: #f3f5f7; --line: #d0d7de; --focus: #0b5cd5;
  --hl: #ffe066; --match: #cfe4ff; --match-cur: #ffb347; color-scheme: light;
}
* { box-sizing: border-box; }
html { scroll-padding-top: 9rem; }
body {
  margin: 0; color: var(--fg); background: var(--bg);
  font: 16px/1.65 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
.wrap { max-width: 58rem; margin: 0 auto; padding: 0 1.25rem; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 1rem; z-index: 20; background: #fff; padding: .3rem .6rem; }
.sr-only {
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;
}
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.top {
  display: flex; flex-wrap: wrap; align-items: flex-end; justify-content: space-between; gap: .75rem;
  padding-top: 1.75rem; padding-bottom: 1rem;
}
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0 0 .2rem; letter-spacing: -.01em; }
.meta { margin: 0; color: var(--muted); font-size: .9rem; }
.downloads { display: flex; gap: .5rem; }
.btn {
  display: inline-block; padding: .3rem .75rem; font-size: .85rem; font-weight: 600; color: var(--fg);
  text-decoration: none; background: #fff; border: 1px solid var(--line); border-radius: 6px;
}
.btn::before { content: "\\2193  "; color: var(--muted); }
.btn:hover, .icon:hover { background: var(--panel); }
.bar {
  position: sticky; top: 0; z-index: 10; padding: .65rem 0 .55rem; background: #fff;
  border-top: 1px solid var(--line); border-bottom: 1px solid var(--line);
  box-shadow: 0 2px 8px rgba(27, 31, 36, .06);
}
.controls { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; }
audio { flex: 1 1 18rem; min-width: 15rem; height: 40px; }
.noaudio { flex: 1 1 18rem; margin: 0; color: var(--muted); font-size: .9rem; }
.silent .ts, .silent .follow { display: none; }  /* no audio: nothing to play from */
.silent .w, .silent .tl-tracks { cursor: auto; }
.search { display: flex; align-items: center; gap: .3rem; }
.search input {
  width: 12.5rem; padding: .3rem .6rem; font: inherit; font-size: .95rem; color: var(--fg);
  border: 1px solid #8c959f; border-radius: 6px;
}
.count {
  min-width: 5.5rem; font-size: .82rem; color: var(--muted); text-align: center;
  font-variant-numeric: tabular-nums;
}
.icon {
  width: 2rem; height: 2rem; font: inherit; color: var(--fg); background: #fff; cursor: pointer;
  border: 1px solid var(--line); border-radius: 6px;
}
.follow {
  display: flex; align-items: center; gap: .3rem; font-size: .85rem; color: var(--muted); cursor: pointer;
}
.timeline {
  display: grid; grid-template-columns: minmax(5rem, 9rem) 1fr; column-gap: .6rem; margin-top: .55rem;
}
.tl-names, .tl-tracks { display: grid; gap: 3px; }
.tl-name {
  height: 12px; font-size: .7rem; line-height: 12px; font-weight: 600; color: var(--c); text-align: right;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}
.tl-tracks { position: relative; cursor: pointer; border-radius: 3px; }
.tl-track { position: relative; height: 12px; background: var(--panel); border-radius: 2px; }
.tl-track i { position: absolute; top: 0; bottom: 0; min-width: 1px; background: var(--c); }
.playhead {
  position: absolute; top: -3px; bottom: -3px; left: 0; width: 2px; margin-left: -1px;
  background: #d6336c; pointer-events: none;
}
.tl-axis {
  display: flex; justify-content: space-between; font-size: .7rem; line-height: 1.4; color: var(--muted);
  font-variant-numeric: tabular-nums;
}
main { padding-top: 1rem; padding-bottom: 2rem; }
main:focus { outline: none; }
.turn {
  display: grid; grid-template-columns: 9rem 1fr; gap: 1.1rem; margin: .2rem 0; padding: .55rem .9rem;
  border-left: 3px solid var(--c); border-radius: 0 6px 6px 0;
}
.turn.active { background: #f6f8fa; }
.who {
  display: flex; flex-direction: column; align-items: flex-start; padding-top: .15rem; line-height: 1.35;
}
.name { color: var(--c); font-weight: 650; font-size: .92rem; overflow-wrap: anywhere; }
.ts {
  padding: 0; font: inherit; font-size: .8rem; font-variant-numeric: tabular-nums; color: var(--muted);
  background: none; border: 0; cursor: pointer;
}
.ts:hover { color: var(--fg); text-decoration: underline; }
.overlap { font-size: .72rem; color: var(--muted); font-style: italic; }
.txt { margin: 0; max-width: 44rem; }
.w { padding: .05em 0; border-radius: 3px; cursor: pointer; }
.w:hover { background: #e7ecf1; }
.w.lc { text-decoration: underline dotted #9a6700; text-underline-offset: 3px; }
/* A highlight is pale beside white (1.3-1.8:1): each state also has a line of its own, 6-8:1 on white */
.w.m { background: var(--match); border-bottom: 2px solid #0b5cd5; }
.w.mc { background: var(--match-cur); border-bottom-color: #8a3b00; }
.w.mj { box-shadow: .3em 0 0 var(--match); }
.w.mc.mj { box-shadow: .3em 0 0 var(--match-cur); }
.w.cur { background: var(--hl); box-shadow: 0 0 0 2px var(--hl); outline: 1px solid #7a5b00; }
.audio-error { margin: 0; color: #9a2c00; font-size: .85rem; }
@media (forced-colors: active) {  /* Windows high contrast: marks and bars in system colours, not vanished */
  .w.m, .w.mc, .w.cur { background: Mark; color: MarkText; forced-color-adjust: none; }
  .w.mc, .w.cur { outline: 2px solid CanvasText; }
  .tl-track i, .playhead { forced-color-adjust: none; background: CanvasText; }
}
@media (prefers-reduced-motion: reduce) { html { scroll-behavior: auto; } }
@media print {  /* the transcript, not the player */
  .bar, .downloads, footer, .ts { display: none !important; }
  html { scroll-padding-top: 0; }
  .turn { break-inside: avoid; }
}
footer {
  padding-top: .75rem; padding-bottom: 2rem; font-size: .82rem; color: var(--muted);
  border-top: 1px solid var(--line);
}
footer p { margin: .3rem 0; }
kbd {
  padding: 0 .3rem; font: inherit; font-size: .78rem; background: #fff;
  border: 1px solid var(--line); border-bottom-width: 2px; border-radius: 4px;
}
@media (max-width: 640px) {
  html { scroll-padding-top: 12rem; }
  .turn { grid-template-columns: 1fr; gap: .1rem; }
  .who { flex-direction: row; align-items: baseline; gap: .6rem; }
  .search input { width: 9rem; }
}
"""

_JS = r"""
(function () {
"use strict";
var audio = document.getElementById("audio");
var data = JSON.parse(document.getElementById("podscribe-data").textContent);
var duration = data.duration;
var main = document.getElementById("transcript");
var words = Array.prototype.slice.call(main.querySelectorAll(".w"));
var n = words.length, starts = new Float64Array(n), ends = new Float64Array(n);
words.forEach(function (w, i) { starts[i] = +w.dataset.start; ends[i] = +w.dataset.end; });
var order = words.map(function (_, i) { return i; }).sort(function (a, b) { return starts[a] - starts[b]; });
var sorted = Float64Array.from(order, function (i) { return starts[i]; });
var cur = -1, curTurn = null, raf = 0;
var follow = document.getElementById("follow");
var tl = document.getElementById("tl"), playhead = document.getElementById("playhead"), spokenSecond = 0;
// The sticky bar's height, whatever its speakers and the screen: a skip link or a search hit lands below it
function pad() {
  document.documentElement.style.scrollPaddingTop = document.querySelector(".bar").offsetHeight + 8 + "px";
}
pad();
window.addEventListener("resize", pad);
var holdUntil = 0;  // following the audio pauses for a while after the reader scrolls or searches

var calm = window.matchMedia("(prefers-reduced-motion: reduce)");

function hold(ms) { holdUntil = Date.now() + ms; }
["wheel", "touchmove"].forEach(function (e) {
  window.addEventListener(e, function () { hold(5000); }, {passive: true});
});
window.addEventListener("keydown", function (e) {  // the keyboard scrolls too: the page no longer pulls back
  var scrolls = ["PageDown", "PageUp", "ArrowDown", "ArrowUp", "Home", "End"].indexOf(e.key) >= 0;
  if (scrolls && e.target !== tl) hold(5000);
});
function two(x) { return ("0" + x).slice(-2); }
function clock(t) {
  var s = Math.max(0, Math.floor(t));
  if (duration >= 3600) return Math.floor(s / 3600) + ":" + two(Math.floor(s / 60) % 60) + ":" + two(s % 60);
  return Math.floor(s / 60) + ":" + two(s % 60);
}
// The word being spoken at time t: the last word started by t, unless a pause of over 1 s followed it.
function wordAt(t) {
  var lo = 0, hi = n - 1, r = -1;
  while (lo <= hi) {
    var mid = (lo + hi) >> 1;
    if (sorted[mid] <= t + 0.01) { r = mid; lo = mid + 1; } else { hi = mid - 1; }
  }
  if (r < 0) return -1;
  var i = order[r];
  return t <= ends[i] + 1.0 ? i : -1;
}
function visible(el) {
  var r = el.getBoundingClientRect(), top = document.querySelector(".bar").getBoundingClientRect().bottom;
  return r.top >= top && r.bottom <= window.innerHeight;
}
function setCurrent(i) {
  if (i === cur) return;
  if (cur >= 0) { words[cur].classList.remove("cur"); words[cur].removeAttribute("aria-current"); }
  cur = i;
  var turn = i >= 0 ? words[i].closest(".turn") : null;
  if (turn !== curTurn) {
    if (curTurn) curTurn.classList.remove("active");
    if (turn) turn.classList.add("active");
    curTurn = turn;
  }
  if (i < 0) return;
  words[i].classList.add("cur");
  words[i].setAttribute("aria-current", "true");
  if (follow.checked && audio && !audio.paused && Date.now() > holdUntil && !visible(words[i])) {
    words[i].scrollIntoView({block: "center", behavior: calm.matches ? "auto" : "smooth"});
  }
}
function update() {
  var t = audio.currentTime;
  setCurrent(wordAt(t));
  if (tl) {
    playhead.style.left = Math.min(100, 100 * t / duration) + "%";
    if (Math.floor(t) !== spokenSecond) {  // a screen reader hears a new value once a second, not every frame
      spokenSecond = Math.floor(t);
      tl.setAttribute("aria-valuenow", String(spokenSecond));
      tl.setAttribute("aria-valuetext", clock(t) + " of " + clock(duration));
    }
  }
}
function tick() { update(); raf = audio.paused ? 0 : requestAnimationFrame(tick); }
function play() { var p = audio.play(); if (p && p.catch) p.catch(function () {}); }
function seek(t, start) {
  if (!audio) return;
  audio.currentTime = Math.max(0, Math.min(t, audio.duration || duration));
  if (start) play();
  update();
}
function toggle() { if (audio) { if (audio.paused) play(); else audio.pause(); } }

if (audio) {
  audio.addEventListener("play", function () { if (!raf) raf = requestAnimationFrame(tick); });
  // An audio file moved or deleted failed in silence, a click on a word still marking it as if playing
  audio.addEventListener("error", function () {
    var note = document.createElement("p"), src = audio.getAttribute("src") || "";
    note.className = "audio-error"; note.setAttribute("role", "alert");
    if (src.indexOf("data:") === 0) src = "the embedded audio";
    note.textContent = "The audio cannot be played: " + decodeURI(src) + " is missing or unreadable.";
    audio.parentNode.insertBefore(note, audio); audio.hidden = true;
  });
  ["timeupdate", "seeked", "pause", "ended"].forEach(function (e) { audio.addEventListener(e, update); });
}
main.addEventListener("click", function (e) {
  var w = e.target.closest(".w");
  if (w) { seek(+w.dataset.start, true); setCurrent(words.indexOf(w)); return; }
  var ts = e.target.closest(".ts");
  if (ts) seek(+ts.dataset.start, true);
});
if (tl) {
  tl.addEventListener("click", function (e) {
    var r = tl.getBoundingClientRect();
    seek(duration * Math.max(0, Math.min(1, (e.clientX - r.left) / r.width)), true);
  });
  tl.addEventListener("keydown", function (e) {
    var step = {ArrowLeft: -5, ArrowDown: -5, ArrowRight: 5, ArrowUp: 5, PageDown: -30, PageUp: 30}[e.key];
    var to = step && audio ? audio.currentTime + step : {Home: 0, End: duration}[e.key];
    if (to !== undefined) { seek(to, false); e.preventDefault(); }
  });
}

// Search: accent- and case-insensitive over the words in reading order, across word boundaries.
var q = document.getElementById("q"), count = document.getElementById("count");
document.querySelector("form.search").addEventListener("submit", function (e) { e.preventDefault(); });
function norm(s) {  // accents and vowel marks of any script away, no-break spaces and curly apostrophes plain
  return s.normalize("NFD").replace(/\p{M}/gu, "").replace(/[\u00a0\u202f]/g, " ")
    .replace(/[\u2019\u02bc]/g, "'").toLowerCase();
}
var text = "", offsets = new Int32Array(n);
words.forEach(function (w, i) {  // a space where the page has one (none in Chinese text), and between turns
  var next = w.nextSibling, space = !next || (next.nodeType === 3 && /\s/.test(next.data));
  offsets[i] = text.length; text += norm(w.textContent) + (space ? " " : "");
});
function wordOf(pos) {
  var lo = 0, hi = n - 1;
  while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (offsets[mid] <= pos) lo = mid; else hi = mid - 1; }
  return lo;
}
var matches = [], at = -1, marked = [], timer = 0;
function span(k) { return words.slice(matches[k][0], matches[k][1] + 1); }
function search() {
  clearTimeout(timer); timer = 0;
  marked.forEach(function (w) { w.classList.remove("m", "mc", "mj"); });
  matches = []; at = -1; marked = [];
  var needle = norm(q.value.trim().replace(/\s+/g, " "));
  if (!needle) { count.textContent = ""; return; }
  for (var pos = text.indexOf(needle); pos >= 0; pos = text.indexOf(needle, pos + needle.length)) {
    matches.push([wordOf(pos), wordOf(pos + needle.length - 1)]);
  }
  matches.forEach(function (_, k) {
    span(k).forEach(function (w, j, all) {
      w.classList.add("m");
      if (j < all.length - 1) w.classList.add("mj");  // fills the space up to the next matched word
      marked.push(w);
    });
  });
  if (matches.length) go(0); else count.textContent = "No matches";
}
function go(k) {
  if (!matches.length) return;
  if (at >= 0) span(at).forEach(function (w) { w.classList.remove("mc"); });
  at = (k + matches.length) % matches.length;
  span(at).forEach(function (w) { w.classList.add("mc"); });
  count.textContent = (at + 1) + " of " + matches.length;
  hold(8000);
  words[matches[at][0]].scrollIntoView({block: "center"});
}
q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(search, 120); });
// search() clears the pending timer: Enter knows whether the matches are the box's text
q.addEventListener("keydown", function (e) {
  if (e.key === "Enter") {
    if (timer) { clearTimeout(timer); search(); }  // typed just now: the new text's matches, not the old
    else if (!matches.length || at < 0) search(); else go(at + (e.shiftKey ? -1 : 1));
    e.preventDefault();
  } else if (e.key === "Escape") {
    q.value = ""; search(); q.blur();
  }
});
document.getElementById("next").addEventListener("click", function () { go(at + 1); });
document.getElementById("prev").addEventListener("click", function () { go(at - 1); });

// Keyboard in the transcript: from it, a turn's time or a word, the arrows move word by word (from the
// word at the playhead, else the turn's first), Enter plays from the word; a word is focused only then,
// so the page keeps one tab stop for thousands of words.
var keyed = null;
main.addEventListener("keydown", function (e) {
  if (e.ctrlKey || e.metaKey || e.altKey || ["ArrowRight", "ArrowLeft", "Enter"].indexOf(e.key) < 0) return;
  var w = e.target.closest(".w"), ts = e.target.closest(".ts");
  if (e.key === "Enter") {
    if (w && audio) { seek(+w.dataset.start, true); setCurrent(words.indexOf(w)); e.preventDefault(); }
    return;
  }
  if (!w && !ts && e.target !== main) return;
  var step = e.key === "ArrowRight" ? 1 : -1, i;
  if (w) i = words.indexOf(w) + step;
  else if (ts) i = words.indexOf(ts.closest(".turn").querySelector(".w"));
  else i = cur >= 0 ? cur : 0;
  if (i < 0 || i >= n) return;
  if (keyed) keyed.removeAttribute("tabindex");
  keyed = words[i]; keyed.tabIndex = -1; keyed.focus(); e.preventDefault();
});

// Keyboard: Space or K play/pause, J/L back/forward 5 s, / search; never while typing in a field.
document.addEventListener("keydown", function (e) {
  if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
  var el = e.target, tag = el.tagName;
  if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable) return;
  if (e.key === " " && (tag === "BUTTON" || tag === "A" || tag === "AUDIO")) return;  // their own activation
  if (e.key === " " || e.key === "k" || e.key === "K") { toggle(); e.preventDefault(); }
  else if ((e.key === "j" || e.key === "l") && audio) {
    seek(audio.currentTime + (e.key === "j" ? -5 : 5), false);
  }
  else if (e.key === "/") { q.focus(); e.preventDefault(); }
});

// Subtitle downloads come from the inline text: a Blob, never a request.
Array.prototype.forEach.call(document.querySelectorAll("a[data-kind]"), function (a) {
  var kind = a.dataset.kind, mime = kind === "vtt" ? "text/vtt" : "application/x-subrip";
  a.href = URL.createObjectURL(new Blob([data[kind]], {type: mime + ";charset=utf-8"}));
});
})();
"""
