"""Subtitles from a text you already have: ``podscribe.align`` times it to the audio, word by word.

The text keeps its own words, spelling and punctuation, and the speakers its ``Name : text`` lines
name; words the speech lacks keep their place with ``aligned=False``. The SRT is cut by the release
rules. With no arguments it aligns the bundled 30-s two-speaker fixture to its own text (written from
the fixture's JSON into ``--out``, by default ``out/aligned``, apart from the other examples' outputs).

    python examples/align_known_text.py
    python examples/align_known_text.py episode.mp3 episode.txt --language fr --out out/episode
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import podscribe
from podscribe.writers import write_outputs

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
FORMATS = ("json", "srt")


def main() -> None:
    parser = argparse.ArgumentParser(description="Align a known text to its audio; write JSON and SRT.")
    parser.add_argument("audio", nargs="?", type=Path, default=DATA / "short.fr.opus")
    parser.add_argument("text", nargs="?", type=Path, help="Name : text lines, plain text or STM")
    parser.add_argument("--language", default="fr", help="language of the speech and the text")
    parser.add_argument("--out", type=Path, default=Path("out/aligned"),
                        help="output folder (default ./out/aligned)")
    args = parser.parse_args()

    text = args.text
    if text is None:  # the fixture's own turns, as a publisher's transcript would give them
        turns = json.loads(args.audio.with_suffix(".json").read_text(encoding="utf-8"))["turns"]
        args.out.mkdir(parents=True, exist_ok=True)
        text = args.out / f"{args.audio.stem}.txt"
        text.write_text("".join(f"{t['speaker']} : {t['text']}\n" for t in turns), encoding="utf-8")
    try:
        transcript = podscribe.align(args.audio, text, language=args.language)
        paths = write_outputs(transcript, args.out, args.audio.stem, FORMATS, force=True)
    except podscribe.PodscribeError as e:
        sys.exit(f"error: {e}")

    for segment in transcript.segments:
        print(f"{segment.start:7.2f} {segment.end:7.2f}  {transcript.speaker_name(segment.speaker)}")
    missing = [w.text for w in transcript.words if not w.aligned]
    found = f"{len(transcript.words)} words of the text, {len(missing)} not found in the speech"
    print(found + (f": {' '.join(missing)}" if missing else ""))
    for path in paths:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
