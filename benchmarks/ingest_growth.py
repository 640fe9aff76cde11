"""Does ingest slow down or grow as the store grows? Rate and memory per chunk of one ingest.

Runs what ``storyline ingest FILE`` runs (``Engine.add_articles`` over the JSONL reader, then the
end-of-input consolidation and the summary refresh), in this process, on the first ``--limit``
articles of a stream into a fresh store, and prints one line per ``--chunk`` articles stored:
articles so far, the chunk's rate (articles/s), the writer's RSS now and its peak, and the RSS
of its helpers (the run-ahead preparer), and the CPU milliseconds per article of the writer and
of its helpers in that chunk (less sensitive to other load on the machine than the rate). Then the time of the consolidation and of the summary
refresh (with its related lists), and the final peak. A rate that falls from chunk to chunk
means per-article cost that grows with the store; an RSS that climbs after the first chunks
means state that grows with it.

Usage: python benchmarks/ingest_growth.py STREAM.jsonl --data-dir NEW_DIR [--limit 30000]
                                          [--chunk 5000] [--no-refresh] [--json OUT]
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in MB (0 when it is gone)."""
    out = {"rss": 0, "hwm": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss"] = int(line.split()[1]) // 1024
            elif line.startswith("VmHWM:"):
                out["hwm"] = int(line.split()[1]) // 1024
    except OSError:
        pass
    return out


def _children() -> tuple[int, float]:
    """RSS (MB) and CPU seconds (user + system) of this process's live direct children (the
    helpers), summed."""
    me, total, cpu = os.getpid(), 0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == me:
            total += _status(entry.name)["rss"]
            cpu += (int(fields[11]) + int(fields[12])) / tick
    return total, cpu


def _cpu() -> float:
    """CPU seconds (user + system) of this process so far."""
    t = os.times()
    return t.user + t.system


def _held(engine: Any) -> dict[str, int]:
    """How much stream state the writer holds: originals in the near-copy index, ids in the
    pipeline's maps, open stories and remembered name weights in the clusterer."""
    pipe = engine.pipeline_
    if pipe is None:
        return {}
    dedup, clusterer = pipe.dedup, pipe.clusterer
    index = getattr(dedup, "lsh_", None)
    try:
        indexed = len(index)  # type: ignore[arg-type]
    except TypeError:  # datasketch's MinHashLSH (before the horizon)
        indexed = len(getattr(dedup, "signatures_", {}))
    return {"dedup_indexed": indexed,
            "dedup_hashes": len(getattr(dedup, "by_hash_", {})), "pipeline_ids": len(pipe.articles_),
            "open_stories": len(getattr(clusterer, "stories_", {})),
            "name_weights": len(getattr(clusterer, "name_weights_", {})),
            "merges": len(getattr(clusterer, "merges_", {}))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stream", type=Path)
    ap.add_argument("--data-dir", type=Path, required=True, help="a new directory for the store")
    ap.add_argument("--limit", type=int, default=30_000)
    ap.add_argument("--chunk", type=int, default=5_000)
    ap.add_argument("--no-refresh", action="store_true", help="skip the summary refresh at the end")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    if args.data_dir.exists() and any(args.data_dir.iterdir()):
        raise SystemExit(f"{args.data_dir} is not empty: this measures ingest into a fresh store")
    from storyline.config import Settings
    from storyline.engine import open_engine
    from storyline.ingest import ReadReport
    from storyline.ingest.files import read_paths

    t0 = time.perf_counter()
    engine = open_engine(Settings(data_dir=args.data_dir), command="ingest_growth")
    report = ReadReport()
    articles = itertools.islice(read_paths([args.stream], report), args.limit)
    rows: list[dict[str, Any]] = []
    state = {"done": 0, "mark": time.perf_counter(), "next": args.chunk, "cpu": _cpu(), "helper_cpu": 0.0, "at": 0}

    def progress(n: int) -> None:
        state["done"] += n
        if state["done"] >= state["next"]:
            now, cpu = time.perf_counter(), _cpu()
            me = _status()
            helpers_mb, helper_cpu = _children()
            done = state["done"] - state["at"]
            row = {"articles": state["done"], "chunk_rate": round(done / (now - state["mark"]), 1),
                   "writer_cpu_ms": round(1000 * (cpu - state["cpu"]) / done, 2),
                   "helper_cpu_ms": round(1000 * max(helper_cpu - state["helper_cpu"], 0.0) / done, 2),
                   "elapsed_s": round(now - t0, 1), "rss_mb": me["rss"], "peak_mb": me["hwm"],
                   "helpers_mb": helpers_mb, **_held(engine)}
            rows.append(row)
            print(json.dumps(row), flush=True)
            state.update(mark=now, next=state["next"] + args.chunk, cpu=cpu, helper_cpu=helper_cpu, at=state["done"])

    start = time.perf_counter()
    result = engine.add_articles(articles, progress=progress, refresh=False)
    stored, cpu_stored = time.perf_counter(), _cpu()
    refreshed = engine.refresh_stories() if not args.no_refresh else 0
    end = time.perf_counter()
    refresh_cpu = _cpu() - cpu_stored
    counts = engine.counts()
    engine.close()
    summary = {"articles": result.new, "reprints": result.reprints, "stories": counts["stories"],
               "store_s": round(stored - start, 1), "after_last_chunk_s": round(stored - state["mark"], 1),
               "refresh_s": round(end - stored, 1), "refresh_writer_cpu_s": round(refresh_cpu, 1),
               "stories_refreshed": refreshed,
               "whole_s": round(end - t0, 1), "rate_whole": round(result.new / (end - t0), 1),
               "peak_mb": _status()["hwm"], "errors": len(report.errors)}
    print(json.dumps(summary), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"chunks": rows, "summary": summary}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
