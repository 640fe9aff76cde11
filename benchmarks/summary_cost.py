"""The summary of every story of a store, timed in process CPU, and optionally written out to
compare two versions of the code exactly.

Loads the stories' members first (``store.stories_members``) and the models (one summary), then
times ``default_summarizer()`` over every story, ``--repeat`` times, and prints the process CPU
of each pass and the per-story mean. ``--dump FILE`` writes one JSON line per story (its id and
everything its :class:`~storyline.models.Summary` holds) and prints the file's SHA-256, so the
output of two commits can be compared byte for byte. ``--together N`` summarizes N stories a
call (``summarize_all``, as the engine's refresh does with its chunks of 64); 1, the default, one
story a call.

Usage: python benchmarks/summary_cost.py --data-dir STORE [--stories N] [--repeat 3] [--together 64] [--dump FILE]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storyline.config import Settings  # noqa: E402
from storyline.store import open_store  # noqa: E402
from storyline.summarize import default_summarizer  # noqa: E402
from storyline.summarize.base import summarize_all  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, required=True, help="an ingested store (opened, not written)")
    ap.add_argument("--stories", type=int, default=0, help="stories sampled evenly from the store (0: all)")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes over the stories")
    ap.add_argument("--max-words", type=int, default=50)
    ap.add_argument("--dump", type=Path, help="write every summary as JSON lines and print the file's hash")
    ap.add_argument("--profile", type=Path, help="write a cProfile of one pass to this file")
    ap.add_argument("--together", type=int, default=1, help="stories summarized in one call (summarize_all)")
    args = ap.parse_args()
    store = open_store(Settings(data_dir=args.data_dir))
    ids = [r["id"] for r in store.list_stories(limit=None)]
    if args.stories:
        ids = ids[:: max(1, len(ids) // args.stories)][: args.stories]
    members = store.stories_members(ids)
    stories = [(s, members[s].articles) for s in ids if s in members]
    summarizer = default_summarizer()
    summarizer(stories[0][1], args.max_words)  # models loaded before timing
    n, size = len(stories), max(args.together, 1)
    groups = [[a for _, a in stories[i : i + size]] for i in range(0, n, size)]

    def every() -> list:
        return [s for group in groups for s in summarize_all(summarizer, group, args.max_words)]

    print(f"{n} stories, {sum(len(a) for _, a in stories)} articles, {size} a call")
    for _ in range(args.repeat):
        start = time.process_time()
        every()
        spent = time.process_time() - start
        print(f"  {spent:.3f} s CPU, {spent / n * 1e3:.3f} ms per story", flush=True)
    if args.profile:
        import cProfile

        cProfile.runctx("every()", globals(), locals(), str(args.profile))
    if args.dump:
        digest = hashlib.sha256()
        with args.dump.open("w", encoding="utf-8") as out:
            for (story, _), summary in zip(stories, every()):
                line = json.dumps({"story": story, **asdict(summary)},
                                  ensure_ascii=False, sort_keys=True) + "\n"
                out.write(line)
                digest.update(line.encode("utf-8"))
        print(f"dump {args.dump}: {n} summaries, sha256 {digest.hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
