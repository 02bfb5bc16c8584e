"""Subtitles for a video: SRT and WebVTT cut to professional rules, and a check of those rules.

The soundtrack of the video is transcribed and diarized, then ``make_cues`` cuts its words into cues
(Netflix/BBC rules, spelled out below; French typography for French), ``compose_srt`` and
``compose_vtt`` write them, and ``check_cues`` counts the cues that break a rule. With no arguments it
subtitles the bundled noisy 4-speaker MP4 (167 s).

    python examples/subtitles_for_video.py
    python examples/subtitles_for_video.py --input film.mkv --fps 24 --max-chars 37
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import podscribe
from podscribe.subtitles import SubtitleRules, check_cues, compose_srt, compose_vtt, make_cues

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description="SRT and WebVTT subtitles for a video.")
    parser.add_argument("--input", type=Path, default=DATA / "noisy.fr.mp4", help="video (or audio) file")
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (default ./out)")
    parser.add_argument("--language", default="fr")
    parser.add_argument("--model", default="base", help="Whisper model name or local path (default base)")
    parser.add_argument("--speakers", type=int, help="number of speakers (default: detect)")
    parser.add_argument("--fps", type=float, default=25.0, help="video frame rate (default 25)")
    parser.add_argument("--max-chars", type=int, default=42, help="characters per line (default 42)")
    args = parser.parse_args()

    try:
        rules = SubtitleRules(
            max_chars_per_line=args.max_chars,
            max_lines=2,
            max_cps=17.0,  # reading speed, characters per second
            min_duration=5 / 6,  # seconds
            max_duration=7.0,
            min_gap_frames=2,  # between two cues
            fps=args.fps,
            speaker_labels="dash",  # two speakers in a cue only as a "- " dialogue
        )
        transcript = podscribe.transcribe(
            args.input, language=args.language, model=args.model, num_speakers=args.speakers
        )
        cues = make_cues(transcript, rules)
        args.out.mkdir(parents=True, exist_ok=True)
        srt_path = args.out / f"{args.input.stem}.srt"
        vtt_path = args.out / f"{args.input.stem}.vtt"
        srt_path.write_text(compose_srt(cues), encoding="utf-8")
        vtt_path.write_text(compose_vtt(cues, transcript), encoding="utf-8")
    except podscribe.PodscribeError as e:
        sys.exit(f"error: {e}")

    print(f"{len(transcript.speakers)} speakers, {transcript.duration:.1f} s of audio")
    print(check_cues(cues, rules).format())
    print("\nFirst cues:\n")
    print(compose_srt(cues[:3]))
    print(f"wrote {srt_path}\nwrote {vtt_path}")


if __name__ == "__main__":
    main()
