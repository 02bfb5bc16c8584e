"""`align` against `transcribe` on one fixture, side by side in one process: wall time and turn-boundary error.

The text given to `align` is the fixture's own turns as ``Name : text`` lines (the fixture JSON holds
each turn's exact speech bounds). Also, from the same recognitions: the text aligned on the
words of `transcribe` (diarization + speaker-wise recognition) instead of plain recognition, and the
anchors' own times with interpolation between them (no forced alignment). Variants:
- ``inserted``: 10 % of the text's sentences (rounded) are sentences of another fixture (brief.fr),
  put after a turn's first sentence: text that is not spoken;
- ``edges``: a sentence of brief.fr at the start or the end (in turn) of 10 % of the lines, not spoken:
  the errors of the boundaries next to them (``edge_boundaries``) as well as all the turns';
- ``advert``: 20 s of another recording (brief.fr, 10-30 s) inserted into the audio between two turns
  near the middle, the text unchanged: speech not in the text (its own recognition, not timed).

Settings of podscribe.align were chosen on tests/data/short.fr.opus (and its variants); this reports on
another file. ``--realspeech PART`` instead aligns each recorded-voice file of that part of the
real-speech set (``python tools/make_realspeech.py``: Asterisk prompts joined, exact turns) to its own
``Name : text`` lines and reports the same turn-boundary errors, file by file and pooled, and the
``inserted`` and ``edges`` variants per file (no transcribe
run; ``--language`` as ``podscribe align``'s, default: detected). Both also report, under
``encoded_anew``, the same recognition aligned with every window encoded anew instead of reusing the
recognition's encoder outputs where they serve.

    python benchmarks/align.py [--fixture interview.fr] [--out benchmarks/results/align]
    python benchmarks/align.py --realspeech report [--language fr]
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from functools import partial
from itertools import pairwise
from pathlib import Path

import numpy as np

from podscribe.alignment import (
    Aligner,
    WordFit,
    aligner_options,
    match_words,
    snap_to_speech,
    speech_regions,
    timed_words,
)
from podscribe.asr import ASRResult
from podscribe.audio import SAMPLE_RATE, load_audio
from podscribe.errors import InputError
from podscribe.inputs import AudioSource, open_source
from podscribe.normalizer import Normalizer
from podscribe.packing import Encoded
from podscribe.pipeline import Pipeline, make_options
from podscribe.reference import parse_reference
from podscribe.transcript import Segment, Transcript, Word, attach_punctuation

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SENTENCE = re.compile(r"(?<=[.!?…])\s+")


def boundary_errors(transcript: Transcript, turns: list[dict]) -> np.ndarray:
    """|start error| and |end error| of each line's segment against the turn's exact bounds."""
    assert len(transcript.segments) == len(turns)
    return np.abs(
        [e for s, t in zip(transcript.segments, turns) for e in (s.start - t["start"], s.end - t["end"])]
    )


def summary(errors: np.ndarray) -> dict[str, float]:
    """Median, 95th percentile and max of boundary errors."""
    return {"median_s": round(float(np.median(errors)), 3), "p95_s": round(float(np.percentile(errors, 95)), 3),
            "max_s": round(float(errors.max()), 3), "boundaries": len(errors)}  # fmt: skip


def turn_errors(transcript: Transcript, turns: list[dict]) -> dict[str, float]:
    """``summary`` of one transcript's boundary errors."""
    return summary(boundary_errors(transcript, turns))


def realspeech(part: str, language: str | None, out: Path, files: str = "*") -> None:
    """Align every file of one part of the real-speech set to its own text; errors per file and pooled."""
    folder = Path.home() / ".cache" / "podscribe" / "realspeech" / part
    aligner = Aligner(Pipeline(aligner_options(make_options(language=language, cache=False))))
    result: dict = {"part": part, "language": language or "detected", "date": datetime.date.today().isoformat(),
                    "command": f"python benchmarks/align.py --realspeech {part}" + (f" --language {language}" if language else ""),
                    "files": {}}  # fmt: skip
    pooled = []
    for path in sorted(folder.glob(f"{files}.json")):
        turns = json.loads(path.read_text(encoding="utf-8"))["turns"]
        source = open_source(path.with_suffix(".flac"))
        t0 = time.perf_counter()  # Aligner.run, its two steps apart: the recognition serves the variant
        kept: list = []  # the recognition's encoder outputs, as Aligner.run keeps them
        recognised, duration = aligner.recognise(source, kept.append)
        try:
            aligned = aligner.fit(source, recognised, duration, parse_reference(lines(turns)), encoded=kept)
        except InputError as e:  # refused as another recording's text: reported, not timed
            result["files"][path.stem] = {"refused": str(e)}
            continue
        errors = boundary_errors(aligned, turns)
        pooled.append(errors)
        result["files"][path.stem] = {
            **summary(errors), "align_s": round(time.perf_counter() - t0, 1), "language": aligned.language,
            "words_equal_text": [w.text for w in aligned.words] == text_words(turns),
            "names_exact": [aligned.speaker_name(s.speaker) for s in aligned.segments] == [t["speaker"] for t in turns],
            "unaligned_words": sum(not w.aligned for w in aligned.words), "words": len(aligned.words),
            "inserted": inserted(aligner, source, recognised, duration, turns, kept),
            "edges": at_edges(partial(fit_text, aligner, source, recognised, duration, kept), turns),
            "windows_kept": len(kept),
            # the same recognition, every forced-alignment window encoded anew (before session 11)
            "encoded_anew": {
                **turn_errors(aligner.fit(source, recognised, duration, parse_reference(lines(turns))), turns),
                "inserted": inserted(aligner, source, recognised, duration, turns),
            },
        }  # fmt: skip
        logging.getLogger("align").info("%s: %s", path.stem, result["files"][path.stem])
    result["pooled"] = summary(np.concatenate(pooled))
    out.mkdir(parents=True, exist_ok=True)
    name = (
        f"realspeech-{part}"
        + (f"-{language}" if language else "")
        + ("" if files == "*" else f"-{files.strip('*')}")
        + ".json"
    )
    (out / name).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))


def inserted(
    aligner: Aligner,
    source: AudioSource,
    recognised: ASRResult,
    duration: float,
    turns: list[dict],
    encoded: Sequence[Encoded] = (),
) -> dict:
    """The text with sentences of another fixture (brief.fr) inserted into 10 % of its sentences (after
    a turn's first sentence: text that is not spoken), aligned: timing of the turns, words flagged."""
    extra = other_sentences()
    sentences = sum(len(SENTENCE.split(t["text"])) for t in turns)
    hosts = [i for i, t in enumerate(turns) if len(SENTENCE.split(t["text"])) >= 2]
    count = min(round(0.1 * sentences), len(hosts))
    chosen = [hosts[round(k * (len(hosts) - 1) / max(count - 1, 1))] for k in range(count)]
    edited, inserted_words = [dict(t) for t in turns], []
    for k, i in enumerate(chosen):
        first, *rest = SENTENCE.split(edited[i]["text"])
        sentence = extra[k % len(extra)]
        edited[i]["text"] = " ".join([first, sentence, *rest])
        inserted_words.append((i, len(first.split()), len(sentence.split())))
    t0 = time.perf_counter()
    with_extra = aligner.fit(source, recognised, duration, parse_reference(lines(edited)), encoded=encoded)
    seconds = time.perf_counter() - t0
    flagged = inserted_positions(edited, inserted_words)
    unaligned = {k for k, w in enumerate(with_extra.words) if not w.aligned}
    return {
        **turn_errors(with_extra, turns),
        "sentences": sentences, "inserted_sentences": count,
        "inserted_words": len(flagged), "inserted_words_flagged": len(flagged & unaligned),
        "spoken_words_flagged": len(unaligned - flagged), "spoken_words": len(with_extra.words) - len(flagged),
        "fit_s": round(seconds, 1),
    }  # fmt: skip


def at_edges(fit: Callable[[str], Transcript], turns: list[dict]) -> dict:
    """The text with a sentence of another fixture (brief.fr) at the start or the end (in turn) of 10 % of
    its lines, not spoken, aligned by ``fit`` (``Name : text`` lines -> transcript): timing of the turns,
    of the boundaries next to the sentences, words flagged."""
    extra = other_sentences()
    count = max(1, round(0.1 * len(turns)))
    chosen = sorted({round(k * (len(turns) - 1) / max(count - 1, 1)) for k in range(count)})
    edited, inserted_words, edges = [dict(t) for t in turns], [], []
    for k, i in enumerate(chosen):
        sentence, said = extra[k % len(extra)], edited[i]["text"]
        at_start = k % 2 == 0
        edited[i]["text"] = f"{sentence} {said}" if at_start else f"{said} {sentence}"
        inserted_words.append((i, 0 if at_start else len(said.split()), len(sentence.split())))
        edges.append(2 * i + (0 if at_start else 1))  # its boundary among boundary_errors' (start, end) pairs
    with_extra = fit(lines(edited))
    flagged = inserted_positions(edited, inserted_words)
    unaligned = {k for k, w in enumerate(with_extra.words) if not w.aligned}
    return {
        **turn_errors(with_extra, turns),
        "edge_boundaries": summary(boundary_errors(with_extra, turns)[edges]),
        "inserted_sentences": len(chosen), "inserted_words": len(flagged),
        "inserted_words_flagged": len(flagged & unaligned), "spoken_words_flagged": len(unaligned - flagged),
    }  # fmt: skip


def fit_text(
    aligner: Aligner,
    source: AudioSource,
    recognised: ASRResult,
    duration: float,
    encoded: Sequence[Encoded],
    text: str,
) -> Transcript:
    """``text`` (``Name : text`` lines) aligned on a recognition already made."""
    return aligner.fit(source, recognised, duration, parse_reference(text), encoded=encoded)


def other_sentences() -> list[str]:
    """The sentences of another fixture (brief.fr), the text inserted as not spoken."""
    return [s for t in json.loads((DATA / "brief.fr.json").read_text(encoding="utf-8"))["turns"]
            for s in SENTENCE.split(t["text"])]  # fmt: skip


def inserted_positions(turns: list[dict], inserted_words: Sequence[tuple[int, int, int]]) -> set[int]:
    """Indices, among the words of the text aligned (marks attached, as ``text_words``), of the words
    inserted (turn, first word, count). A word's marks go with it (``attach_punctuation`` keeps the word's
    fields, here a flag in ``probability``): a "..." ending the sentence before an insertion becomes part
    of the inserted word, which shifted a count by raw words by one."""
    marked = {(i, at + k) for i, at, n in inserted_words for k in range(n)}
    groups = [[Word(x, 0.0, 0.0, probability=float((i, k) in marked)) for k, x in enumerate(t["text"].split())]
              for i, t in enumerate(turns)]  # fmt: skip
    words = [w for g in attach_punctuation(groups) for w in g]
    return {k for k, w in enumerate(words) if w.probability}


def text_words(turns: list[dict]) -> list[str]:
    """The turns' words as an aligned transcript holds them: a mark standing alone attached to its word."""
    return [w.text for g in attach_punctuation([[Word(x, 0.0, 0.0) for x in t["text"].split()] for t in turns]) for w in g]


def lines(turns: list[dict]) -> str:
    return "\n".join(f"{t['speaker']} : {t['text']}" for t in turns)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fixture", default="interview.fr")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/align"))
    p.add_argument(
        "--realspeech", choices=("dev", "report", "test"), help="align the real-speech set's files"
    )
    p.add_argument("--language", help="language of --realspeech files (default: detected)")
    p.add_argument("--files", default="*", help="--realspeech: only the files matching this glob")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.realspeech:
        realspeech(args.realspeech, args.language, args.out, args.files)
        return
    fixture = json.loads((DATA / f"{args.fixture}.json").read_text(encoding="utf-8"))
    audio = DATA / fixture["audio"]
    turns = fixture["turns"]
    result: dict = {
        "fixture": args.fixture,
        "date": datetime.date.today().isoformat(),
        "command": "python benchmarks/align.py",
    }

    t0 = time.perf_counter()
    transcribed = Pipeline(make_options(language="fr", cache=False)).run(audio)
    result["transcribe_s"] = round(time.perf_counter() - t0, 1)

    aligner = Aligner(Pipeline(make_options(language="fr", diarizer="none", cache=False)))
    source = open_source(audio)
    t0 = time.perf_counter()  # Aligner.run, its two steps apart: the recognition serves the variant below
    kept: list[Encoded] = []  # the recognition's encoder outputs, as Aligner.run keeps them
    recognised, duration = aligner.recognise(source, kept.append)
    aligned = aligner.fit(source, recognised, duration, parse_reference(lines(turns)), encoded=kept)
    result["align_s"] = round(time.perf_counter() - t0, 1)
    result["align_over_transcribe"] = round(result["align_s"] / result["transcribe_s"], 3)
    result["transcribe_words"] = len(transcribed.words)
    result["align"] = {
        **turn_errors(aligned, turns),
        "words_equal_text": [w.text for w in aligned.words] == text_words(turns),
        "names_exact": [aligned.speaker_name(s.speaker) for s in aligned.segments]
        == [t["speaker"] for t in turns],
        "unaligned_words": sum(not w.aligned for w in aligned.words),
        "words": len(aligned.words),
    }

    # the same text on other anchors / without forced alignment, from recognitions already made
    reference = parse_reference(lines(turns))
    t0 = time.perf_counter()
    on_turns = aligner.fit(source, ASRResult("fr", transcribed.segments), duration, reference)
    result["anchors_from_transcribe"] = {
        **turn_errors(on_turns, turns),
        "fit_s": round(time.perf_counter() - t0, 1),
    }
    texts = [w for u in reference.utterances for w in u.text.split()]
    matching = match_words(texts, [w for s in recognised.segments for w in s.words], Normalizer("fr"))
    times = {i: WordFit(a, b, 1.0, 0.0) for i, (a, b) in matching.anchors.items()}
    words = snap_to_speech(
        timed_words(texts, times, matching.unspoken, duration), speech_regions(source.load())
    )
    sizes = [len(t["text"].split()) for t in turns]
    bounds = np.cumsum([0, *sizes])
    interpolated = Transcript(
        segments=tuple(Segment.from_words(words[a:b]) for a, b in pairwise(bounds)), duration=duration
    )
    result["anchors_interpolated"] = turn_errors(interpolated, turns)

    result["inserted"] = inserted(aligner, source, recognised, duration, turns, kept)
    result["edges"] = at_edges(partial(fit_text, aligner, source, recognised, duration, kept), turns)
    result["encoded_anew"] = {  # the same recognition, every forced-alignment window encoded anew
        **turn_errors(aligner.fit(source, recognised, duration, reference), turns),
        "inserted": inserted(aligner, source, recognised, duration, turns),
    }

    # advert: 20 s of other speech inserted into the audio between two turns near the middle
    samples = load_audio(audio)
    middle = len(turns) // 2
    at = (turns[middle - 1]["end"] + turns[middle]["start"]) / 2
    advert = load_audio(DATA / "brief.fr.opus")[10 * SAMPLE_RATE : 30 * SAMPLE_RATE]
    cut = int(at * SAMPLE_RATE)
    shifted = [dict(t, start=t["start"] + 20.0 * (i >= middle), end=t["end"] + 20.0 * (i >= middle))
               for i, t in enumerate(turns)]  # fmt: skip
    with_advert = aligner.run(np.concatenate([samples[:cut], advert, samples[cut:]]), lines(turns))
    result["advert"] = {
        **turn_errors(with_advert, shifted), "inserted_at_s": round(at, 3),
        "unaligned_words": sum(not w.aligned for w in with_advert.words),
    }  # fmt: skip

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
