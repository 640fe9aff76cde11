"""The related-stories lists of N stories of a built store, made owed again and computed as the
engine does (``related.refresh_pending`` in chunks, one transaction each), on a copy of the store.

Copies the store's database to a temporary folder, marks the N stories from OFFSET (in time
order) owed, times their lists in this process (wall and CPU, ms a story) with CHECKOUT's code,
and prints the SHA-256 of the whole ``story_related`` table after, so two checkouts' lists can be
compared exactly. The copy is deleted at the end; the store is only read.

Usage: python benchmarks/related_cost.py STORE_DIR [--checkout DIR] [--stories 2000] [--offset 25000] [--helpers N]
  (e.g. the 100k store ``benchmarks/scale.py --sizes 100000 --build-only`` builds: at 800 stories
  a day its 14-day windows hold about 23k stories, as a newsroom's do at any size)
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("store", type=Path, help="a built store's data directory (read, not written)")
    ap.add_argument("--checkout", type=Path, default=Path(__file__).resolve().parent.parent,
                    help="the source tree whose code computes the lists (default: this one)")
    ap.add_argument("--stories", type=int, default=2000)
    ap.add_argument("--offset", type=int, default=25000, help="stories skipped first, in time order")
    ap.add_argument("--helpers", type=int, default=0,
                    help="compare in this many helper processes when more than one chunk is owed, as an engine "
                         "with workers = N - 1 does (related.refresh_all_pending; their CPU is not counted)")
    args = ap.parse_args()
    source = args.store / "storyline.db"
    if not source.is_file():
        raise SystemExit(f"{args.store}: no storyline.db here")
    sys.path.insert(0, str(args.checkout.resolve()))
    from storyline import related
    from storyline.config import Settings
    from storyline.store import open_store

    with tempfile.TemporaryDirectory(prefix="related-cost-") as tmp:
        shutil.copy(source, Path(tmp) / "storyline.db")
        settings = Settings(data_dir=Path(tmp))
        store = open_store(settings)
        with store.transaction():
            ids = [r[0] for r in store.db.execute("SELECT story_id FROM story_vectors ORDER BY last_seen, story_id "
                                                  "LIMIT ? OFFSET ?", (args.stories, args.offset))]
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                store.db.execute(f"UPDATE story_vectors SET related_at = NULL WHERE story_id IN "
                                 f"({','.join('?' * len(chunk))})", chunk)
        owed = len(related.pending(store))
        start, cpu = time.perf_counter(), time.process_time()
        done = related.refresh_all_pending(store, settings=settings, helpers=args.helpers)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        digest = hashlib.sha256()
        for r in store.db.execute("SELECT story_id, related_id, score FROM story_related ORDER BY story_id, related_id"):
            digest.update(repr((r[0], r[1], float(r[2]))).encode())
    print(f"{args.checkout}: {owed} owed, {done} lists in {wall:.2f} s wall, {cpu:.2f} s CPU "
          f"({wall / max(done, 1) * 1e3:.2f} ms a story); story_related sha256 {digest.hexdigest()[:16]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
