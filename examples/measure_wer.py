"""Measure accuracy: WER, speaker-attributed cpWER and DER/JER of a transcript against a reference.

With no arguments it transcribes the bundled 30 s fixture, writes its reference transcript
(``Name : text``, built from the fixture's JSON) into the output folder, and scores the transcript
against it and against the fixture's exact speaker turns (RTTM). With ``--hypothesis`` it scores an
existing file instead (podscribe JSON, TXT, SRT, WebVTT or STM) and runs no model.

    python examples/measure_wer.py
    python examples/measure_wer.py --hypothesis out/short.fr.json --reference ref.txt --rttm ref.rttm
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import podscribe

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def write_reference(fixture_json: Path, path: Path) -> Path:
    """The fixture's turns as a reference transcript, one ``Name : text`` line per turn."""
    turns = json.loads(fixture_json.read_text(encoding="utf-8"))["turns"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{t['speaker']} : {t['text']}\n" for t in turns), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description="WER, cpWER and DER of a transcript against a reference.")
    parser.add_argument(
        "--audio",
        type=Path,
        default=DATA / "short.fr.opus",
        help="fixture to score (X.json, X.rttm beside it)",
    )
    parser.add_argument("--hypothesis", type=Path, help="score this transcript file instead of transcribing")
    parser.add_argument("--reference", type=Path, help="reference (default: from the fixture)")
    parser.add_argument("--rttm", type=Path, help="reference speaker turns (default: the fixture's RTTM)")
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (default ./out)")
    parser.add_argument("--language", default="fr")
    parser.add_argument("--model", default="base", help="Whisper model name or local path (default base)")
    parser.add_argument("--collar", type=float, default=0.25, help="DER no-score zone, seconds each side")
    args = parser.parse_args()
    if args.hypothesis and not args.reference:
        parser.error("--hypothesis needs --reference")

    try:  # a fixture X.opus has its turns in X.json and X.rttm beside it
        reference = args.reference or write_reference(
            args.audio.with_suffix(".json"), args.out / "reference.txt"
        )
        rttm = args.rttm or (None if args.hypothesis else args.audio.with_suffix(".rttm"))
        hypothesis = args.hypothesis or podscribe.transcribe(
            args.audio, language=args.language, model=args.model
        )
        report = podscribe.evaluate(
            hypothesis,
            reference,
            reference_turns=podscribe.load_rttm(rttm) if rttm else None,
            collar=args.collar,
        )
    except podscribe.PodscribeError as e:
        sys.exit(f"error: {e}")

    print(report.format_table())
    report_path = args.out / "report.json"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"\nreference: {reference}\nwrote {report_path}")


if __name__ == "__main__":
    main()
