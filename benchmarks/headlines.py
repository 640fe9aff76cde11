"""What a headline-only story shows: the other outlets' headlines, measured on labelled stories.

A story gathered from title-only feeds has no sentence to quote, so it shows a few of its
reports' titles instead (:func:`storyline.summarize.headlines.other_headlines`). This script
groups headline-only items with ``storyline digest``'s own pipeline and, for every story of two
or more original reports, compares the titles chosen with a plain choice, the first titles in the
story's order other than the headline itself:

- **on the story**: the share of titles shown whose gold story is the headline's (the gold story
  of the report the headline came from); a stray the clusterer let in should not be shown;
- **says the headline again**: the share whose words overlap the headline's at
  ``SAME_WORDING`` or more (the reader learns nothing new from them);
- **one outlet twice**: the share of stories that show two titles from one outlet.

Sets: the UCI News Aggregator sample (499 headlines, ``uci-news-sample/stream.jsonl``) and NeuS
val's 921 articles with their text dropped (``neus/val_articles.jsonl``: headline-only copies of
three-outlet stories). Needs ``../shared/data``.

Usage: python benchmarks/headlines.py [--data ../shared/data]
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storyline.cluster.corpora import read_records, to_labelled  # noqa: E402
from storyline.models import Article  # noqa: E402
from storyline.pipeline import digest  # noqa: E402
from storyline.summarize.headlines import SHOWN, _bag, _same, other_headlines  # noqa: E402

SETS = {"uci": "uci-news-sample/stream.jsonl", "neus_val_titles": "neus/val_articles.jsonl"}


def headline_only(path: Path) -> tuple[list[Article], dict[str, str]]:
    """The file's items as title-only articles (their dates kept), and each item's gold story."""
    articles, labels = to_labelled([{**r, "text": ""} for r in read_records(path)])
    return articles, {a.id: label for a, label in zip(articles, labels)}


def first_titles(reports: Sequence[tuple[str, str]], headline: str, limit: int = SHOWN) -> list[int]:
    """The plain choice: the first titles in the story's order that are not the headline itself."""
    return [i for i, (title, _) in enumerate(reports) if title and title != headline][:limit]


def measure(stories: list[Any], gold: dict[str, str], choose: Callable[..., list[int]]) -> dict[str, float]:
    shown = on_story = again = twice = stories_shown = multi = 0
    for story in stories:
        if len(story.articles) < 2:
            continue
        multi += 1
        headline = story.summary.headline if story.summary else ""
        at = story.summary.headline_article if story.summary else None
        main = gold[story.articles[at].id] if at is not None else Counter(gold[a.id] for a in story.articles).most_common(1)[0][0]
        reports = [(a.title, a.source) for a in story.articles]
        picks = choose(reports, headline)
        stories_shown += bool(picks)
        shown += len(picks)
        on_story += sum(gold[story.articles[i].id] == main for i in picks)
        head = _bag(headline)
        again += sum(_same(_bag(story.articles[i].title), head) for i in picks)
        outlets = [story.articles[i].source for i in picks if story.articles[i].source]
        twice += len(outlets) != len(set(outlets))
    return {"stories": multi, "shown_in": stories_shown, "mean_shown": shown / max(stories_shown, 1),
            "on_story": on_story / max(shown, 1), "again": again / max(shown, 1), "twice": twice / max(multi, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args(argv)
    print("| set | choice | stories of 2+ reports | show titles | titles each | on the story | say the headline again | one outlet twice |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rel in SETS.items():
        path = args.data / rel
        if not path.exists():
            print(f"{name}: {path} not found, skipped", file=sys.stderr)
            continue
        articles, gold = headline_only(path)
        started = time.perf_counter()
        stories = digest(articles)
        took = time.perf_counter() - started
        for label, choose in (("other_headlines", other_headlines), ("first titles", first_titles)):
            m = measure(stories, gold, choose)
            print(f"| {name} | {label} | {m['stories']} | {m['shown_in']} | {m['mean_shown']:.2f} | "
                  f"{m['on_story']:.3f} | {m['again']:.3f} | {m['twice']:.3f} |")
        print(f"{name}: {len(articles)} headline-only items, {len(stories)} stories in {took:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
