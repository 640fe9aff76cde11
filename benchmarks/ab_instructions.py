"""Two checkouts' clusterer work counted in instructions and simulated cache misses (cachegrind).

On the 2-core machine of issue 20 the same code's 10k ingest swings by a fifth with the hour,
and in-process timings of the clusterer's decisions swung from 6.3 to 11.7 s over sixteen runs
of one session (docs/scale.md, session 43): a change worth a few percent cannot be seen in
seconds. Valgrind's cachegrind counts what a run executes instead: its instructions, and the
misses of a simulated first-level data cache and of a last-level cache (set here to a 1 MB
L2-sized cache, since the machine's shared L3 holds the whole workload). The counts do not depend
on the machine's load: the same code and input give the same instructions within about 0.3 %
(where objects land in memory moves searches keyed by ``id()``), the same misses within 1-2 %.
They are not seconds: an instruction that misses the cache costs many that hit. Read both.

For each checkout, ``python -c WORKLOAD`` runs under cachegrind twice: up to the stage before
``--stage`` and up to it. Both read the stream's first ``--items`` articles and prepare their
vectors (the checkout's own code, in this process, batches of 256), so the difference of the two
runs is the stage's own work:

- ``prepare``: the clusterer's and the deduplicator's preparation of the items (text cleaning,
  language, MinHash, TF-IDF terms, embeddings), against reading them only;
- ``decide``: the clusterer's stream decisions (``partial_fit`` a batch of 256 at a time);
- ``consolidate``: its end-of-input consolidation (in one process: no forked helpers).

The four runs go two at a time (the machine's two cores). Prints one row a checkout and B's
difference from A in percent.

Usage: python benchmarks/ab_instructions.py STREAM.jsonl A_CHECKOUT B_CHECKOUT [--items 3000] [--stage decide]
  (checkouts are source trees, e.g. worktrees: git worktree add /tmp/a main; needs valgrind:
  apt-get install valgrind)
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ab_ingest import check_checkouts  # noqa: E402

STAGES = ("read", "prepare", "decide", "consolidate")
EVENTS = ("Ir", "D1mr", "D1mw", "DLmr", "DLmw")
LAST_LEVEL = "1048576,16,64"  # 1 MB, 16-way, 64-byte lines: a per-core L2's size

WORKLOAD = """
import sys
from pathlib import Path
from storyline.cluster.stream import StoryClusterer
from storyline.dedup.minhash import MinHashDeduplicator
from storyline.ingest.base import ReadReport
from storyline.ingest.files import read_jsonl
from storyline.pipeline import prepare_batch
stream, items, stage, counted = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
articles = []
for article in read_jsonl(stream, ReadReport()):
    if len(articles) >= items:
        break
    articles.append(article)
if stage != "read":
    clusterer = StoryClusterer(workers=0)
    # the deduplicator's preparation only when the preparation is what is counted (it feeds no decision)
    dedup = MinHashDeduplicator().preparer() if counted == "prepare" else None
    cluster = clusterer.preparer()
    batches = [articles[at : at + 256] for at in range(0, len(articles), 256)]
    prepared = [prepare_batch(batch, dedup, cluster).cluster for batch in batches]
    if stage in ("decide", "consolidate"):
        for batch, vectors in zip(batches, prepared):
            clusterer.partial_fit(batch, vectors)
    if stage == "consolidate":
        clusterer.consolidate()
"""


def counts(out: Path) -> dict[str, int]:
    """The event totals of one cachegrind output file."""
    names: list[str] = []
    for line in out.read_text().splitlines():
        if line.startswith("events:"):
            names = line.split()[1:]
        elif line.startswith("summary:"):
            return dict(zip(names, map(int, line.split()[1:])))
    raise SystemExit(f"{out}: no summary line (did the run fail?)")


def measured(checkout: Path, stream: Path, items: int, stage: str, counted: str, folder: Path) -> dict[str, int]:
    """Cachegrind's totals of one run of the workload up to ``stage`` by ``checkout``'s code, for
    counting the stage ``counted``."""
    out = folder / f"{checkout.name}-{stage}.cg"
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", f"--LL={LAST_LEVEL}", f"--cachegrind-out-file={out}",
           sys.executable, "-c", WORKLOAD, str(stream), str(items), stage, counted]
    env = dict(os.environ, PYTHONPATH=str(checkout), OPENBLAS_NUM_THREADS="1", PYTHONHASHSEED="0")
    done = subprocess.run(cmd, env=env, cwd=checkout, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{checkout}: the {stage} run failed ({done.returncode}): {done.stderr[-2000:]}")
    return counts(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stream", type=Path)
    ap.add_argument("a", type=Path, help="checkout A (the base)")
    ap.add_argument("b", type=Path, help="checkout B (the change)")
    ap.add_argument("--items", type=int, default=3000, help="the stream's first items (default 3000)")
    ap.add_argument("--stage", choices=STAGES[1:], default="decide", help="the stage counted (default decide)")
    args = ap.parse_args()
    if not args.stream.is_file():
        raise SystemExit(f"{args.stream}: no such file")
    check_checkouts(args.a, args.b)
    if args.items < 1:
        raise SystemExit("--items must be at least 1")
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    before = STAGES[STAGES.index(args.stage) - 1]
    checkouts = [args.a.resolve(), args.b.resolve()]
    with tempfile.TemporaryDirectory(prefix="ab-instructions-") as tmp, ThreadPoolExecutor(2) as pool:
        folders = [Path(tmp) / "a", Path(tmp) / "b"]
        for folder in folders:
            folder.mkdir()
        print(f"counting {args.stage} of {args.items} items under cachegrind (4 runs, two at a time)...",
              file=sys.stderr, flush=True)
        stream = args.stream.resolve()
        runs = {(n, stage): pool.submit(measured, checkout, stream, args.items, stage, args.stage, folders[n])
                for n, checkout in enumerate(checkouts) for stage in (before, args.stage)}
        stage_counts = [{e: runs[n, args.stage].result()[e] - runs[n, before].result()[e] for e in EVENTS}
                        for n in (0, 1)]
    print(f"{args.stage} of the first {args.items} items of {args.stream.name} "
          f"(the run to {args.stage} less the run to {before})")
    print(f"{'checkout':<28} {'instructions':>16} {'D1 misses':>14} {'LL misses':>12}")
    for checkout, c in zip(checkouts, stage_counts):
        print(f"{str(checkout)[-28:]:<28} {c['Ir']:>16,} {c['D1mr'] + c['D1mw']:>14,} {c['DLmr'] + c['DLmw']:>12,}")
    a, b = stage_counts

    def change(x: int, y: int) -> str:
        return f"{100.0 * (y - x) / x:+.2f} %" if x else "n/a"

    print(f"{'B - A':<28} {change(a['Ir'], b['Ir']):>16} {change(a['D1mr'] + a['D1mw'], b['D1mr'] + b['D1mw']):>14} "
          f"{change(a['DLmr'] + a['DLmw'], b['DLmr'] + b['DLmw']):>12}")


if __name__ == "__main__":
    main()
