"""The refresh work per story, in one process: the summary, and the related-stories vector computed
from the articles (represented and embedded again) or from the article vectors the engine keeps
from an ingest's prepared batches (``related.story_vector(..., vectors)``). Prints process CPU ms per
story and whether both vectors' rows are equal.

Usage: python benchmarks/refresh_cost.py --data-dir STORE [--stories 500]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storyline import related  # noqa: E402
from storyline.cluster.features import represent  # noqa: E402
from storyline.config import Settings  # noqa: E402
from storyline.store import open_store  # noqa: E402
from storyline.summarize import default_summarizer  # noqa: E402
from storyline.text.embed import WordLlamaEmbedder  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, required=True, help="an ingested store (read only)")
    ap.add_argument("--stories", type=int, default=500, help="stories sampled evenly from the store")
    args = ap.parse_args()
    store = open_store(Settings(data_dir=args.data_dir))
    ids = [r["id"] for r in store.list_stories(limit=None)]
    ids = ids[:: max(1, len(ids) // args.stories)][: args.stories]
    members = store.stories_members(ids)
    stories = [members[s] for s in ids if s in members]
    embedder, summarizer = WordLlamaEmbedder(), default_summarizer()
    kept = [[(v.dense, v.terms) for v in represent(s.articles, embedder)] for s in stories]
    related.vector_row(stories[0], embedder)
    summarizer(stories[0].articles, 50)  # models loaded before timing
    start = time.process_time()
    again = [related.vector_row(s, embedder) for s in stories]
    represented = time.process_time() - start
    start = time.process_time()
    reused = [related.vector_row(s, embedder, v) for s, v in zip(stories, kept)]
    from_kept = time.process_time() - start
    start = time.process_time()
    for s in stories:
        summarizer(s.articles, 50)
    summaries = time.process_time() - start
    n = len(stories)
    same = all(a[:5] == b[:5] for a, b in zip(again, reused))  # all but the write time
    print(f"{n} stories ({sum(s.size for s in stories)} articles): summary {summaries / n * 1e3:.2f} ms, "
          f"vector re-represented {represented / n * 1e3:.2f} ms, from kept vectors {from_kept / n * 1e3:.2f} ms "
          f"(rows equal: {same})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
