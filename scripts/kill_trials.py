"""kill -9 trials: `storyline ingest` killed at random moments, then rerun, against an uninterrupted run.

For each backend: one uninterrupted ingest of the stream (timed), then ``--trials`` times: a fresh
store, an ingest killed with SIGKILL at a uniformly random moment of that duration (loading,
batches, consolidation or summaries), a rerun of the same command, and a comparison of the
article, reprint, story and merge counts and the article -> story partition with the
uninterrupted run. Prints one line per trial; a draw that falls after the ingest had already
finished (the machine got faster than during the timed run) is not a kill: it is drawn again,
within that run's time. ``--late K``: the last K trials aim at the
consolidation window instead: they wait until every article is stored, then kill at a random
point of the time the uninterrupted run took from there to commit its end-of-input merges.

Usage: python scripts/kill_trials.py STREAM.jsonl [--trials 5] [--late 0] [--pg] [--seed 1]

Each line names the phase the kill hit: *loading* (nothing stored yet), *batches* (some articles
stored), *consolidation* (every article stored, the end-of-input merges not yet committed) or
*summaries* (merges committed; summaries and related stories were being refreshed).
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


def stored(settings: Settings) -> dict[str, int]:
    """Article and merge counts as a reader sees them now (0 before the store exists)."""
    try:
        store = open_store(settings)
    except Exception:  # noqa: BLE001 - the store may not exist yet, or be mid-migration
        return {"articles": 0, "merges": 0}
    try:
        return store.counts()
    except Exception:  # noqa: BLE001
        return {"articles": 0, "merges": 0}
    finally:
        store.close()


def phases(proc: subprocess.Popen[bytes], settings: Settings, total: int | None = None,
           poll: float = 0.25) -> tuple[float, float]:
    """Watch a running ingest: seconds until every article is stored (``total``, or the count
    stops growing once merges appear) and until the end-of-input merges are committed."""
    start = time.monotonic()
    stored_at = merged_at = 0.0
    last = -1
    while proc.poll() is None:
        got = stored(settings)
        now = time.monotonic() - start
        if got["articles"] != last:
            last, stored_at = got["articles"], now
        if got["merges"] and not merged_at:
            merged_at = now
        if total is not None and got["articles"] >= total:
            return now, merged_at
        time.sleep(poll)
    return stored_at, merged_at or time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stream")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--pg", action="store_true", help="a throwaway PostgreSQL (tests/pg.py)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--late", type=int, default=0,
                        help="how many trials kill inside the consolidation window (after the last batch is stored, "
                             "before the end-of-input merges commit)")
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
            all_stored, merged = phases(proc, base)
            proc.wait()
            duration = time.monotonic() - start
            want, want_groups = outcome(base)
            window = max(merged - all_stored, 0.5)
            print(f"{backend}: uninterrupted {duration:.1f} s (every article stored at {all_stored:.1f} s, "
                  f"merges committed at {merged:.1f} s): {want}")
            held = 0
            kills = attempt = 0
            horizon = 0.85 * duration
            while kills < args.trials and attempt < 3 * args.trials:
                attempt += 1
                trial = kills
                settings = fresh(Path(tmp))
                late = trial >= args.trials - args.late
                proc = ingest(Path(args.stream), settings)
                if late:  # wait for the last batch, then kill at a random point of the consolidation window
                    reached, _ = phases(proc, settings, total=want["articles"], poll=0.05)
                    at = reached + rng.uniform(0.0, window)
                    time.sleep(at - reached)
                else:
                    at = rng.uniform(0.3, horizon)
                    time.sleep(at)
                killed = proc.poll() is None
                if killed:
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                if not killed:  # the machine got faster than the timed run: draw again within this run's time
                    horizon = min(horizon, 0.9 * at)
                    print(f"{backend} attempt {attempt}: the ingest had finished before {at:.1f} s; not a kill, drawn again")
                    continue
                kills += 1
                mid, _ = outcome(settings)
                phase = ("loading" if not mid["articles"] else "batches" if mid["articles"] < want["articles"]
                         else "consolidation" if mid["merges"] < want["merges"] else "summaries")
                rerun = ingest(Path(args.stream), settings)
                rerun.wait()
                got, groups = outcome(settings)
                same = got == want and groups == want_groups
                held += same
                print(f"{backend} trial {trial + 1}: kill at {at:5.1f} s ({phase}; "
                      f"{mid['articles']} articles, {mid['stories']} stories, {mid['merges']} merges at the kill) -> "
                      f"rerun {got['articles']} articles, {got['reprints']} reprints, {got['stories']} stories, "
                      f"{got['merges']} merges, {got['dirty']} dirty: {'SAME' if same else 'DIFFERENT'}")
            print(f"{backend}: {held} of {kills} reruns after a kill match the uninterrupted run")
    finally:
        if server is not None:
            server.stop()
    return 0 if held == kills == args.trials else 1


if __name__ == "__main__":
    raise SystemExit(main())
