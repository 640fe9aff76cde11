#!/usr/bin/env python3
"""Backfill speed: articles/s of ``storyline backfill`` on local[1] vs local[2], and the same
articles through ``storyline ingest`` (one process); and where the story summaries are computed.

    python benchmarks/backfill.py                     # the scaling table (about 25 min on 2 quiet cores)
    python benchmarks/backfill.py --files 2 --pages 10 --no-ingest   # a one-minute check that it runs
    python benchmarks/backfill.py --summaries ../shared/data/ecbplus/train.jsonl

Scaling: the set is extraction-heavy on purpose (where a backfill's cost is): ``--files`` (32) CC-News-style
WARC files, each holding every page of ``../shared/data/html/trafilatura-news`` (149 real news
pages in 6 languages; the copies in later files are exact duplicates, collapsed by the
duplicate stage, but every record is read and extracted). Each run is a fresh data directory
and its own Spark session (JVM start included in "total"); "read" is the stage where the
files are read, extracted, cleaned, sketched and represented, one task per file. 32 files (4,768
pages) keep local[1]'s read stage at about 5 minutes, so Spark's fixed costs (JVM, a dozen small
jobs, a Python worker per core loading the models) do not decide the ratio.

Summaries: a JSONL stream backfilled on ``--masters``' first master; then the time of that run's
summaries stage (summarizer and related-story vectors on executors, the driver writing) against
``Engine.refresh_stories`` recomputing every story on the driver alone, as the backfill did before.

The machine this runs on matters: note what else was running (``uptime`` is printed).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
DATA = Path(os.environ.get("STORYLINE_SHARED_DATA") or ROOT.parent / "shared" / "data")


def build_set(folder: Path, files: int, pages_per_file: int | None = None) -> int:
    """``files`` WARCs of the news pages (all, or the first ``pages_per_file``); returns the pages per file."""
    import gzip

    from ingest_helpers import page_url, write_warc

    pages_dir = DATA / "html" / "trafilatura-news"
    rows = [json.loads(line) for line in (pages_dir / "expectations.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    pages = [(page_url(r), gzip.decompress((pages_dir / "html" / (r["file"] + ".gz")).read_bytes()))
             for r in rows[:pages_per_file]]
    for i in range(files):
        write_warc(folder / f"set-{i}.warc.gz", pages)
    return len(pages)


def run_backfill(folder: Path, master: str, data_dir: Path) -> dict[str, float]:
    from storyline.backfill import run_backfill as backfill
    from storyline.backfill import spark_session
    from storyline.config import Settings

    start = time.perf_counter()
    session = spark_session(master)
    report = backfill([str(folder)], Settings(data_dir=data_dir), spark=session, say=lambda m: None)
    session.stop()
    total = time.perf_counter() - start
    return {"articles": report.articles, "total_s": total, "read_s": report.stage_seconds.get("read", 0.0),
            "copies": report.copies, "stories": report.stories, "stages": report.stage_seconds}


def run_ingest(folder: Path, data_dir: Path) -> dict[str, float]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "storyline", "ingest", str(folder), "--data-dir", str(data_dir)],
                         capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), cwd=ROOT)
    total = time.perf_counter() - start
    if out.returncode not in (0, 3):
        raise SystemExit(out.stderr)
    import sqlite3

    articles = sqlite3.connect(data_dir / "storyline.db").execute("SELECT count(*) FROM articles").fetchone()[0]
    return {"articles": articles, "total_s": total}


def run_summaries(stream: Path, master: str, data_dir: Path) -> dict[str, float]:
    from storyline.backfill import run_backfill as backfill
    from storyline.backfill import spark_session
    from storyline.config import Settings
    from storyline.engine import open_engine

    session = spark_session(master)
    try:
        report = backfill([str(stream)], Settings(data_dir=data_dir), spark=session, say=lambda m: None)
    finally:
        session.stop()
    engine = open_engine(Settings(data_dir=data_dir), command="benchmark")
    try:
        ids = [s["id"] for s in engine.store.iter_stories()]
        start = time.perf_counter()
        with engine.writing("benchmark"):
            engine.refresh_stories(ids)
        driver = time.perf_counter() - start
    finally:
        engine.store.close()
    return {"articles": report.articles, "stories": len(ids), "executors_s": report.stage_seconds["summaries"],
            "driver_s": driver}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=32)
    parser.add_argument("--pages", type=int, default=None, help="pages per file (default: all 149)")
    parser.add_argument("--masters", nargs="+", default=["local[1]", "local[2]"])
    parser.add_argument("--no-ingest", action="store_true", help="skip the one-process ingest row")
    parser.add_argument("--summaries", type=Path, metavar="JSONL",
                        help="instead: time the summaries stage on this stream against the driver alone")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.summaries:
        load_before = os.getloadavg()
        with tempfile.TemporaryDirectory(prefix="storyline-bench-") as tmp:
            r = run_summaries(args.summaries, args.masters[-1], Path(tmp) / "bf")
        if args.json:
            print(json.dumps(r, indent=2))
            return 0
        print(f"{args.summaries.name}: {r['articles']} articles, {r['stories']} stories; master {args.masters[-1]}; "
              f"{os.cpu_count()} CPUs; load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}\n")
        print(f"{'summaries computed':<34}{'s':>8}{'stories/s':>11}")
        for name, key in (("on executors, driver writes", "executors_s"), ("on the driver (refresh_stories)", "driver_s")):
            print(f"{name:<34}{r[key]:>8.1f}{r['stories'] / r[key]:>11.1f}")
        return 0
    if not (DATA / "html" / "trafilatura-news" / "expectations.jsonl").exists():
        print(f"shared data not found at {DATA}; nothing to measure", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="storyline-bench-") as tmp:
        folder = Path(tmp) / "warc"
        folder.mkdir()
        per_file = build_set(folder, args.files, args.pages)
        for master in args.masters:
            results[master] = run_backfill(folder, master, Path(tmp) / f"bf-{master}")
        if not args.no_ingest:
            results["storyline ingest"] = run_ingest(folder, Path(tmp) / "ingest")
    if args.json:
        print(json.dumps(results, indent=2, default=str))
        return 0
    print(f"{args.files} WARC files x {per_file} real news pages; {os.cpu_count()} CPUs; "
          f"load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}\n")
    print(f"{'run':<18}{'articles':>10}{'total s':>10}{'articles/s':>12}{'read s':>10}{'read art/s':>12}")
    for name, r in results.items():
        read = r.get("read_s")
        print(f"{name:<18}{r['articles']:>10}{r['total_s']:>10.1f}{r['articles'] / r['total_s']:>12.2f}"
              + (f"{read:>10.1f}{r['articles'] / read:>12.2f}" if read else f"{'':>10}{'':>12}"))
    masters = [m for m in args.masters if m in results]
    if len(masters) == 2:
        a, b = (results[m] for m in masters)
        print(f"\nspeed-up {masters[1]} over {masters[0]}: total {a['total_s'] / b['total_s']:.2f}x, "
              f"read stage {a['read_s'] / b['read_s']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
