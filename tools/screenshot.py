"""Screenshot of a podscribe HTML page in headless Chromium (the README's picture).

    python tools/screenshot.py out/interview.fr.html docs/html.png [--width 1100 --height 760]

Needs Playwright for Python and Debian's chromium (as the browser test does). The page is opened from
its file, the player is seeked to ``--at`` seconds so that a word is highlighted, then captured.
"""

from __future__ import annotations

import argparse
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=760)
    parser.add_argument("--at", type=float, default=40.0, help="seconds to seek to before the capture")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.goto(args.page.resolve().as_uri())
        page.wait_for_selector("audio")
        page.evaluate(
            "t => { const a = document.querySelector('audio'); a.currentTime = t;"
            " a.dispatchEvent(new Event('timeupdate')); }",
            args.at,
        )
        page.wait_for_timeout(500)
        args.png.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.png))
        browser.close()


if __name__ == "__main__":
    main()
