"""What one search costs on an ingested store, in this process: ``queries.search`` (the search
page's query) for the given words, best of ``--repeat`` runs, and over the search words
``benchmarks/scale.py`` offers (title words of 5+ letters, a fixed sample), warm, with the share
of each SQL statement. Read only; works on SQLite (``--data-dir``) and PostgreSQL
(``--database-url``).

Usage: python benchmarks/search_cost.py --data-dir STORE [--database-url URL] [--words W ...]
                                        [--sample 300] [--repeat 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import sample_ids  # noqa: E402  benchmarks/scale.py

from storyline.config import Settings  # noqa: E402
from storyline.store import open_store, queries  # noqa: E402

WORDS = ["tuesday", "president", "trump", "trump biden", "minister said", "earthquake"]


class Timed:
    """The store's connection, timing each statement by its first words."""

    def __init__(self, db: Any) -> None:
        self.db, self.spent = db, defaultdict(float)

    def execute(self, sql: str, args: Any = ()) -> Any:
        started = time.perf_counter()
        rows = self.db.execute(sql, args).fetchall()
        self.spent[" ".join(sql.split()[:4])[:48]] += time.perf_counter() - started
        return _Rows(rows)


class _Rows(list):  # type: ignore[type-arg]
    def fetchall(self) -> list[Any]:
        return self

    def fetchone(self) -> Any:
        return self[0] if self else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, required=True, help="an ingested store (the sample words come from it)")
    ap.add_argument("--database-url", default="", help="search this PostgreSQL store instead")
    ap.add_argument("--words", nargs="*", default=WORDS)
    ap.add_argument("--sample", type=int, default=300, help="sample words timed (0: none)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    store = open_store(Settings(data_dir=args.data_dir, database_url=args.database_url))
    for word in args.words:
        best = float("inf")
        for _ in range(args.repeat):
            started = time.perf_counter()
            found, stories, _, articles = queries.search(store, word)
            best = min(best, time.perf_counter() - started)
        print(f"{word!r:>18}: {best * 1000:8.1f} ms  (best of {args.repeat}; {stories:,} stories, {articles:,} articles)")
    words = sample_ids(args.data_dir)["words"][: args.sample]
    if not words:
        return 0
    for word in words:
        queries.search(store, word)  # warm: the timed run reads pages already cached
    timed = Timed(store.db)
    real, store.db = store.db, timed  # type: ignore[assignment]
    spent = []
    try:
        for word in words:
            started = time.perf_counter()
            queries.search(store, word)
            spent.append((time.perf_counter() - started) * 1000)
    finally:
        store.db = real
    spent.sort()
    print(f"{len(words)} sample words, warm: mean {statistics.mean(spent):.1f} ms, p50 {spent[len(spent) // 2]:.1f}, "
          f"p90 {spent[int(len(spent) * 0.9)]:.1f}, max {spent[-1]:.1f}")
    for sql, seconds in sorted(timed.spent.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds * 1000 / len(words):7.2f} ms a search  {sql}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
