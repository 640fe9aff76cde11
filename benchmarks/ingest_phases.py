"""Where the writer's time goes during ``storyline ingest`` (issue 20): a phase timer.

Runs ``storyline ingest FILE --data-dir NEW`` in this process (the CLI's own code path, fresh
store) with timers around the writer's steps, and prints each phase's own seconds (time in the
phase minus the phases timed inside it, so the rows add up to the run), its share and calls:

- startup and rest: imports, opening the store, reporting (all not timed below)
- load clusterer models; language model (the writer's calls for the model: the first loads
  py3langid's model, or waits for ``storyline ingest``'s preload thread to finish loading it)
- ingest loop (rest): ``add_articles`` outside the phases below (starting helpers, the loop)
- read JSONL: the input reader (parsing, boundary checks), pulled batch by batch
- fresh-id check: dropping ids already stored (``_fresh_batches``)
- run-ahead wait: waiting for the helper's prepared batch (text stage, sketches, vectors)
- dedup / decide: the deduplicator's and the clusterer's ``partial_fit`` (the first two batches
  also prepare their text, sketches and vectors here)
- write batch: the rest of a batch (store writes, checks, commits)
- early refresh: stepping the early-refresh helper, its writes, and at the end ``finish``
  (waiting for its started chunks)
- consolidate (decide): the clusterer's end-of-input consolidation; consolidate (record): its store
  writes
- state: the clusterer's ``get_state``, encoding (``state.dumps``) and the store's write
- refresh: the final summary refresh (its helpers' work is waited for here); refresh: related
  lists, the related-stories lists it owes (in this process)

Writer CPU seconds are printed beside the wall total, and the helpers' (the run-ahead helper, the
early-refresh helper, the consolidation's forked search helpers and the final refresh's pool; all
have ended by then): two cores give at most 200 %. Figures on a shared machine are loaded: compare
runs back to back.

``--cores`` also samples the machine's CPU (``/proc/stat``, every 50 ms, Linux) and prints how
many cores were busy over each stretch of the run (startup, the stream, the consolidation, the
summaries, the related lists) and the core-seconds left idle there: where a second core still
waits. Run it on an otherwise quiet machine: it counts every process.

Usage: python benchmarks/ingest_phases.py STREAM.jsonl [--data-dir NEW_DIR] [--cores]
  (e.g. the stream ``benchmarks/scale_ingest.py --keep DIR`` writes, DIR/stream-10000.jsonl)
"""
from __future__ import annotations

import argparse
import functools
import math
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterator

START = time.monotonic()
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Phases:
    """Exclusive wall time per phase: a stack of running phases, each charged its own time."""

    def __init__(self) -> None:
        self.own: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.stack: list[list[Any]] = []  # [name, started, time of the phases inside]
        self.spans: dict[str, list[float]] = {}  # name -> [first entered, last left]

    def enter(self, name: str) -> None:
        now = time.monotonic()
        self.stack.append([name, now, 0.0])
        self.calls[name] += 1
        self.spans.setdefault(name, [now, now])

    def leave(self) -> None:
        name, started, inner = self.stack.pop()
        now = time.monotonic()
        spent = now - started
        self.own[name] += spent - inner
        self.spans[name][1] = now
        if self.stack:
            self.stack[-1][2] += spent


    def wrap(self, owner: Any, attr: str, name: str) -> None:
        """Time calls of ``owner.attr`` as ``name``."""
        fn = getattr(owner, attr)

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.enter(name)
            try:
                return fn(*args, **kwargs)
            finally:
                self.leave()

        setattr(owner, attr, timed)

    def wrap_iter(self, owner: Any, attr: str, name: str, arg: int | None = None) -> None:
        """Time each step of the iterator ``owner.attr`` returns (or, with ``arg``, of the
        iterable it is given as positional argument ``arg``) as ``name``."""
        fn = getattr(owner, attr)

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if arg is not None:
                args = args[:arg] + (self.steps(iter(args[arg]), name),) + args[arg + 1:]
                return fn(*args, **kwargs)
            return self.steps(iter(fn(*args, **kwargs)), name)

        setattr(owner, attr, timed)

    def steps(self, it: Iterator[Any], name: str) -> Iterator[Any]:
        try:
            while True:
                self.enter(name)
                try:
                    item = next(it)
                except StopIteration:
                    return
                finally:
                    self.leave()
                yield item
        finally:
            close: Callable[[], None] | None = getattr(it, "close", None)
            if close is not None:
                close()


class CoreSampler:
    """The machine's busy cores over time, from ``/proc/stat`` (all processes), in a thread."""

    def __init__(self, every: float = 0.05) -> None:
        self.samples: list[tuple[float, int, int]] = []  # (time, total jiffies, idle jiffies)
        self.every = every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.is_set():
            with open("/proc/stat", encoding="ascii") as f:
                ticks = [int(v) for v in f.readline().split()[1:]]
            self.samples.append((time.monotonic(), sum(ticks), ticks[3] + ticks[4]))  # idle + iowait
            self.stopped.wait(self.every)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()

    def busy(self, start: float, end: float) -> float:
        """Cores busy on average from ``start`` to ``end`` (NaN when too short to sample)."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2 or inside[-1][1] == inside[0][1]:
            return math.nan
        (_, total0, idle0), (_, total1, idle1) = inside[0], inside[-1]
        return (os.cpu_count() or 1) * (1 - (idle1 - idle0) / (total1 - total0))


def print_cores(phases: Phases, cores: CoreSampler, end: float) -> None:
    """Busy cores and idle core-seconds over each stretch of the run (see the module doc)."""
    spans = phases.spans
    marks = [("startup (to the first decision)", START, spans.get("decide", [end])[0]),
             ("the stream (decisions, writes)", spans.get("decide", [end])[0], spans.get("consolidate (decide)", [end])[0]),
             ("consolidation", *spans.get("consolidate (decide)", [end, end])),
             ("to the summaries", spans.get("consolidate (decide)", [end, end])[1], spans.get("refresh", [end])[0]),
             ("summaries", spans.get("refresh", [end])[0], spans.get("refresh: related lists", [end])[0]),
             ("related lists", *spans.get("refresh: related lists", [end, end])),
             ("the rest", spans.get("refresh: related lists", [end, end])[1], end)]
    n = os.cpu_count() or 1
    print(f"{'stretch':<32} {'seconds':>8} {'cores busy':>10} {'idle core-s':>11}")
    idle = 0.0
    for name, start, stop in marks:
        busy = cores.busy(start, stop)
        left = 0.0 if math.isnan(busy) else (n - busy) * (stop - start)
        idle += left
        print(f"{name:<32} {stop - start:>8.2f} {busy:>10.2f} {left:>11.2f}")
    print(f"idle core-seconds in all: {idle:.2f} of {n * (end - START):.2f}")


def instrument(phases: Phases) -> None:
    from storyline import engine, pipeline, refresh
    from storyline.cluster import stream
    from storyline.dedup import minhash
    from storyline.store import state
    from storyline.text import language

    E = engine.Engine
    phases.wrap_iter(E, "add_articles", "read JSONL", arg=1)
    phases.wrap(E, "add_articles", "ingest loop (rest)")
    phases.wrap(E, "_new_pipeline", "load clusterer models")
    phases.wrap(language, "_identifier", "language model")
    phases.wrap_iter(E, "_fresh_batches", "fresh-id check")
    phases.wrap_iter(pipeline.RunAhead, "map", "run-ahead wait")
    phases.wrap(minhash.MinHashDeduplicator, "partial_fit", "dedup")
    phases.wrap(stream.StoryClusterer, "partial_fit", "decide")
    phases.wrap(E, "_add_batch", "write batch")
    for method in ("step", "send_all", "finish"):
        phases.wrap(refresh.EarlyRefresh, method, f"early refresh: {method}")
    phases.wrap(stream.StoryClusterer, "consolidate", "consolidate (decide)")
    phases.wrap(E, "consolidate", "consolidate (record)")
    phases.wrap(stream.StoryClusterer, "get_state", "state: get_state")
    phases.wrap(state, "dumps_utf8", "state: encode")  # (dumps: the same, decoded to a str)
    phases.wrap(E, "_save_state", "state: store write")
    phases.wrap(E, "checkpoint", "checkpoint")
    phases.wrap(E, "refresh_stories", "refresh")
    phases.wrap(E, "_refresh_related", "refresh: related lists")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stream", type=Path)
    ap.add_argument("--data-dir", type=Path, help="a new store here (default: a temporary folder)")
    ap.add_argument("--cores", action="store_true", help="also print the busy cores over each stretch (Linux)")
    args = ap.parse_args(argv)
    cores = CoreSampler() if args.cores else None
    phases = Phases()
    phases.enter("startup and rest")
    from storyline import cli
    from storyline.config import one_blas_thread

    one_blas_thread()  # as the command does, before the timers' imports load numpy
    instrument(phases)
    with tempfile.TemporaryDirectory(prefix="ingest-phases-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "store"
        if (data_dir / "storyline.db").exists():
            raise SystemExit(f"{data_dir} holds a store already; give a new folder")
        # startup is charged until the first timed phase starts (imports, store, models)
        status = cli.main(["ingest", "-q", str(args.stream), "--data-dir", str(data_dir)])
    phases.leave()
    if status:
        raise SystemExit(f"storyline ingest failed ({status})")
    end = time.monotonic()
    wall = end - START
    if cores is not None:
        cores.stop()
    times = os.times()
    cpu, helpers = times.user + times.system, times.children_user + times.children_system
    n = sum(1 for _ in args.stream.open(encoding="utf-8"))
    print(f"{n:,} articles in {wall:.1f} s ({n / wall:.1f} articles/s in this process; writer CPU {cpu:.1f} s, "
          f"helpers' CPU {helpers:.1f} s, {(cpu + helpers) / wall:.0%} of one core; interpreter start not counted)")
    print(f"{'phase':<28} {'seconds':>8} {'share':>6} {'calls':>6}")
    for name, seconds in sorted(phases.own.items(), key=lambda kv: -kv[1]):
        print(f"{name:<28} {seconds:>8.2f} {seconds / wall:>6.1%} {phases.calls[name]:>6}")
    if cores is not None:
        print_cores(phases, cores, end)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
