"""Take the README screenshots: the front page and a story page of the demo corpus.

Usage: python scripts/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]

Builds the demo database in a temporary directory, serves it on a free loopback port and
drives Debian's Chromium through Playwright.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from storyline.cli import demo_corpus_path
from storyline.config import Settings
from storyline.ingest import read_paths
from storyline.engine import open_engine
from storyline.web import create_app
from storyline.web.server import ServerThread

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def build_demo(data_dir: Path) -> str:
    """Load the demo corpus into ``data_dir``; returns the id of the biggest story."""
    store = open_engine(Settings(data_dir=data_dir))
    store.add_articles(read_paths([demo_corpus_path()]))
    return str(store.list_stories(limit=1)[0]["id"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "screenshots"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        story_id = build_demo(Path(tmp))
        with ServerThread(create_app(Settings(data_dir=Path(tmp)))) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": 900}, device_scale_factor=1)
            page.goto(f"{base}/")
            page.screenshot(path=str(out / "front.png"), full_page=False)
            page.goto(f"{base}/stories/{story_id}")
            page.screenshot(path=str(out / "story.png"), full_page=True)
            mobile = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
            mobile.goto(f"{base}/stories/{story_id}")
            mobile.screenshot(path=str(out / "story-phone.png"), full_page=False)
            browser.close()
    print(f"screenshots written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
