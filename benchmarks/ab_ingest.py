"""Two checkouts' ``storyline ingest`` of one stream, alternated, with the noise beside the difference.

On a shared machine one run's wall time swings by several seconds: on the 2-core machine of
issue 20 the same commit took 30.9-33.3 s over six 10k-article runs, while a change under test
was worth well under a second. One run each proves nothing either way. This runs each checkout
``--runs`` times, alternating in ABBA order (A B, B A, A B, ...: a drift in the machine's speed
falls on both alike), each run ``storyline ingest -q STREAM`` into a fresh store, and prints
every round's wall time and CPU (the process and its helpers), each checkout's mean, min and max,
and the paired differences (B - A, per round): their mean, standard deviation and t (the mean
over its standard error). |t| under 2: the difference is within the noise of these runs.

Usage: python benchmarks/ab_ingest.py STREAM.jsonl A_CHECKOUT B_CHECKOUT [--runs 6]
  (checkouts are source trees, e.g. worktrees: git worktree add /tmp/a main; the stream e.g. the
  one ``benchmarks/scale_ingest.py --keep DIR`` writes, DIR/stream-10000.jsonl)
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_ingest import run_measured  # noqa: E402


def ingest_once(checkout: Path, stream: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``storyline ingest`` of ``stream`` by ``checkout``'s code."""
    with tempfile.TemporaryDirectory(prefix="ab-ingest-") as tmp:
        cmd = [sys.executable, "-m", "storyline", "ingest", "-q", str(stream), "--data-dir", str(Path(tmp) / "store")]
        env = dict(os.environ, PYTHONPATH=str(checkout))
        # -m puts the working folder first on the path; no memory polling (it slows what it measures)
        seconds, _, done = run_measured(cmd, env, cwd=checkout, poll=None)
        if done.returncode != 0:
            raise SystemExit(f"{checkout}: storyline ingest failed ({done.returncode}): {done.stderr[-2000:]}")
        return seconds, done.cpu  # type: ignore[attr-defined]


def check_checkouts(*checkouts: Path) -> None:
    """Stop with the reason when one of ``checkouts`` is not a storyline source tree."""
    for checkout in checkouts:
        if not (checkout / "storyline" / "__init__.py").is_file():
            raise SystemExit(f"{checkout} is not a storyline checkout (no storyline/__init__.py)")


def describe(checkout: Path) -> str:
    """The checkout and its commit (with a + when it has uncommitted changes), when git knows it."""
    try:
        head = subprocess.run(["git", "-C", str(checkout), "describe", "--always", "--dirty=+"], capture_output=True,
                              text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        head = ""
    return f"{checkout} ({head})" if head else str(checkout)


def summary(name: str, walls: list[float]) -> str:
    return f"{name}: mean {statistics.fmean(walls):.2f} s, min {min(walls):.2f}, max {max(walls):.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stream", type=Path)
    ap.add_argument("a", type=Path, help="checkout A (the baseline)")
    ap.add_argument("b", type=Path, help="checkout B (the change)")
    ap.add_argument("--runs", type=int, default=6, help="rounds; each runs A and B once (default 6)")
    args = ap.parse_args(argv)
    check_checkouts(args.a, args.b)
    if args.runs < 2:
        raise SystemExit("--runs must be at least 2 (the noise needs two rounds)")
    stream = args.stream.resolve()
    n = sum(1 for _ in stream.open(encoding="utf-8"))
    print(f"{n:,} articles; A = {describe(args.a)}, B = {describe(args.b)}; {args.runs} rounds, ABBA order")
    print(f"{'round':>5}  {'A wall':>7} {'A cpu':>7}  {'B wall':>7} {'B cpu':>7}  {'B - A':>7}")
    a_walls, b_walls, a_cpus, b_cpus = [], [], [], []
    for r in range(args.runs):
        order = [("a", args.a), ("b", args.b)] if r % 2 == 0 else [("b", args.b), ("a", args.a)]
        got = {key: ingest_once(checkout.resolve(), stream) for key, checkout in order}
        (aw, ac), (bw, bc) = got["a"], got["b"]
        a_walls.append(aw), b_walls.append(bw), a_cpus.append(ac), b_cpus.append(bc)
        print(f"{r + 1:>5}  {aw:>6.2f}s {ac:>6.1f}s  {bw:>6.2f}s {bc:>6.1f}s  {bw - aw:>+6.2f}s", flush=True)
    diffs = [b - a for a, b in zip(a_walls, b_walls)]
    mean, sd = statistics.fmean(diffs), statistics.stdev(diffs)
    t = mean / (sd / math.sqrt(len(diffs))) if sd > 0 else math.inf * (1 if mean >= 0 else -1)
    print(summary("A", a_walls) + f"; {n / statistics.fmean(a_walls):.1f} articles/s; CPU mean {statistics.fmean(a_cpus):.1f} s")
    print(summary("B", b_walls) + f"; {n / statistics.fmean(b_walls):.1f} articles/s; CPU mean {statistics.fmean(b_cpus):.1f} s")
    verdict = "within the noise" if abs(t) < 2 else ("B is slower" if mean > 0 else "B is faster")
    print(f"B - A: mean {mean:+.2f} s ({100 * mean / statistics.fmean(a_walls):+.1f} %), sd {sd:.2f} s, t {t:+.2f}: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
