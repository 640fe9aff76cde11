"""kill -9 trials: `storyline ingest` killed at random moments, then rerun, against an uninterrupted run.

For each backend: one uninterrupted ingest of the stream (timed), then ``--trials`` times: a fresh
store, an ingest killed with SIGKILL at a uniformly random moment of that duration (loading,
batches, consolidation or summaries), a rerun of the same command, and a comparison of the
article, reprint, story and merge counts and the article -> story partition with the
uninterrupted run. Prints one line per trial.

Usage: python scripts/kill_trials.py STREAM.jsonl [--trials 5] [--database-url URL | --pg] [--seed 1]
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from storyline.config import Settings  # noqa: E402
from storyline.store import open_store  # noqa: E402


def ingest(stream: Path, settings: Settings) -> subprocess.Popen[bytes]:
    args = ["--data-dir", str(settings.data_dir)] + (["--database-url", settings.database_url] if settings.database_url else [])
    return subprocess.Popen([sys.executable, "-m", "storyline", "ingest", str(stream), *args],
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def outcome(settings: Settings) -> tuple[dict[str, int], set[frozenset[str]]]:
    store = open_store(settings)
    counts = store.counts()
    groups: dict[str, set[str]] = {}
    reprints = 0
    for row in store.iter_articles():
        groups.setdefault(row["story_id"], set()).add(row["id"])
        reprints += row["reprint_of"] is not None
    counts["reprints"] = reprints
    counts["dirty"] = len(store.dirty_story_ids())
    store.close()
    return counts, {frozenset(g) for g in groups.values()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stream")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--pg", action="store_true", help="a throwaway PostgreSQL (tests/pg.py)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    server = None
    url = args.database_url
    if args.pg:
        from pg import PostgresServer

        server = PostgresServer()
        server.start()
    n = 0

    def fresh(tmp: Path) -> Settings:
        nonlocal n
        n += 1
        if server is not None:
            return Settings(data_dir=tmp / f"d{n}", database_url=server.create_database(f"kill{n}"))
        if url:
            raise SystemExit("--database-url: give --pg instead (each trial needs a fresh database)")
        return Settings(data_dir=tmp / f"d{n}")

    backend = "postgresql" if server else "sqlite"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = fresh(Path(tmp))
            start = time.monotonic()
            proc = ingest(Path(args.stream), base)
            proc.wait()
            duration = time.monotonic() - start
            want, want_groups = outcome(base)
            print(f"{backend}: uninterrupted {duration:.1f} s: {want}")
            held = 0
            for trial in range(args.trials):
                settings = fresh(Path(tmp))
                at = rng.uniform(0.3, 0.85 * duration)
                proc = ingest(Path(args.stream), settings)
                time.sleep(at)
                killed = proc.poll() is None
                if killed:
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                mid, _ = outcome(settings)
                rerun = ingest(Path(args.stream), settings)
                rerun.wait()
                got, groups = outcome(settings)
                same = got == want and groups == want_groups
                held += same
                print(f"{backend} trial {trial + 1}: kill at {at:5.1f} s ({'killed' if killed else 'had finished'}; "
                      f"{mid['articles']} articles, {mid['stories']} stories, {mid['merges']} merges at the kill) -> "
                      f"rerun {got['articles']} articles, {got['reprints']} reprints, {got['stories']} stories, "
                      f"{got['merges']} merges, {got['dirty']} dirty: {'SAME' if same else 'DIFFERENT'}")
            print(f"{backend}: {held} of {args.trials} reruns match the uninterrupted run")
    finally:
        if server is not None:
            server.stop()
    return 0 if held == args.trials else 1


if __name__ == "__main__":
    raise SystemExit(main())
