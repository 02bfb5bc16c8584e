"""Transcribe a podcast episode with named speakers and write JSON, TXT, SRT and an HTML page.

Library use in a dozen lines: ``podscribe.transcribe`` runs speech recognition, diarization and
speaker naming; ``write_outputs`` renders the transcript. With no arguments it transcribes the bundled
30 s fixture (two speakers) and takes the speakers' names from the reference transcript.

    python examples/transcribe_podcast.py
    python examples/transcribe_podcast.py episode.mp3 --speakers 3 --names "Ann Lee" "Bo Chen" "Cy Diaz"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import podscribe
from podscribe.writers import write_outputs

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
FORMATS = ["json", "txt", "srt", "html"]


def main() -> None:
    parser = argparse.ArgumentParser(description="Transcribe an episode with named speakers.")
    parser.add_argument(
        "audio", nargs="?", type=Path, default=DATA / "short.fr.opus", help="any audio or video file"
    )
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (default ./out)")
    parser.add_argument("--language", default="fr")
    parser.add_argument("--model", default="base", help="Whisper model name or local path (default base)")
    parser.add_argument("--speakers", type=int, default=2, help="number of speakers (0: detect)")
    names = parser.add_mutually_exclusive_group()
    names.add_argument(
        "--reference",
        type=Path,
        default=DATA / "interview.fr.txt",
        help="reference transcript ('Name : text') whose names label the speakers by best text match",
    )
    names.add_argument(
        "--names", nargs="+", metavar="NAME", help="speaker names in order of first appearance"
    )
    args = parser.parse_args()

    try:
        transcript = podscribe.transcribe(
            args.audio,
            language=args.language,
            model=args.model,
            num_speakers=args.speakers or None,
            speaker_names=args.names or [],
            reference=None if args.names else str(args.reference),
        )
        paths = write_outputs(transcript, args.out, args.audio.stem, FORMATS, force=True)
    except podscribe.PodscribeError as e:
        sys.exit(f"error: {e}")

    print((args.out / f"{args.audio.stem}.txt").read_text(encoding="utf-8"))
    for path in paths:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
