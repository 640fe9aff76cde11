"""Where the two cores idle during ``storyline ingest`` (issue 20): a CPU timeline per process.

Runs ``storyline ingest -q FILE --data-dir NEW`` as a subprocess and samples, every 0.25 s from
``/proc``, the CPU time of the writer and of its child processes (the run-ahead helper, the
early-refresh helper, the consolidation's forked search helper, the final refresh's pool). Prints
one row per bin (default 2 s): the writer's and the helpers' share of a core, how many children
ran, and a bar; then the totals and the idle core-seconds (cores x wall - CPU used). A helper's
CPU before its first sample is not counted (a fork starts at zero, so little is lost).

Linux only (``/proc``). Usage: python benchmarks/ingest_cores.py STREAM.jsonl [--data-dir NEW] [--bin 2]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of one process, or None when it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            out += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except OSError:
        pass
    return out


def sample(cmd: list[str], every: float = 0.25) -> list[tuple[float, float, float, int]]:
    """(seconds since start, writer CPU, helpers' CPU, children) per interval while ``cmd`` runs."""
    proc = subprocess.Popen(cmd)
    seen: dict[int, float] = {}
    rows = []
    start = time.monotonic()
    while proc.poll() is None:
        time.sleep(every)
        now: dict[int, float] = {}
        for pid in [proc.pid, *children(proc.pid)]:
            c = cpu_seconds(pid)
            if c is not None:
                now[pid] = c
        writer = now.get(proc.pid, seen.get(proc.pid, 0.0)) - seen.get(proc.pid, 0.0)
        helpers = sum(c - seen[pid] for pid, c in now.items() if pid != proc.pid and pid in seen)
        rows.append((time.monotonic() - start, writer, helpers, len(now) - 1))
        seen.update(now)
    if proc.returncode:
        raise SystemExit(f"storyline ingest exited with {proc.returncode}")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stream", type=Path, help="a JSONL stream (e.g. benchmarks/scale_ingest.py --keep DIR's)")
    ap.add_argument("--data-dir", type=Path, default=None, help="a new store (default: a temporary one)")
    ap.add_argument("--bin", type=float, default=2.0, help="seconds per printed row")
    args = ap.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="ingest-cores-")) / "store"
    rows = sample([sys.executable, "-m", "storyline", "ingest", "-q", str(args.stream), "--data-dir", str(data_dir)])
    bins: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for at, writer, helpers, kids in rows:
        b = bins[int(at // args.bin)]
        b[0] += writer
        b[1] += helpers
        b[2] = max(b[2], kids)
    print(f"{'seconds':>8} {'writer':>7} {'helpers':>8} children")
    for k in sorted(bins):
        writer, helpers, kids = bins[k]
        w, h = writer / args.bin, helpers / args.bin
        print(f"{k * args.bin:8.0f} {w:7.0%} {h:8.0%} {int(kids):8d}  {'#' * int(w * 20)}|{'+' * int(h * 20)}")
    wall = rows[-1][0] if rows else 0.0
    writer, helpers = sum(r[1] for r in rows), sum(r[2] for r in rows)
    cores = os.cpu_count() or 1
    print(f"wall {wall:.1f} s; writer {writer:.1f} s, helpers {helpers:.1f} s of CPU; "
          f"idle {cores * wall - writer - helpers:.1f} of {cores * wall:.1f} core-seconds ({cores} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
