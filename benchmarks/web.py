"""Load generator for the web UI and JSON API on loopback, over the demo database.

Starts ``storyline serve`` (a real uvicorn process) on a free port, then for each target sends
requests open-loop at a fixed rate (default 200/s for 10 s: a request is due every 5 ms whether
or not earlier ones finished, and latency counts from when it was due, so a stalled server
cannot hide its queueing) and reports achieved requests per second and p50/p99/max latency.

Targets: the front page, story pages (cycling through every story; served from the in-process
cache after the first hit), story pages with a unique query string each time (cache misses:
every request renders), and the JSON API (``/api/stories`` and ``/api/stories/{id}``).

Usage: python benchmarks/web.py [--rate 200] [--seconds 10] [--server-workers N] [--data-dir DIR] [--json]
Bar (issue 6): story page p99 <= 50 ms at 200 requests/s on 2 cores.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Self

import httpx

from storyline.cli import demo_corpus_path
from storyline.config import Settings
from storyline.ingest import read_paths
from storyline.engine import open_engine
from storyline.web.server import free_port

MAX_REQUESTS = 20_000
MAX_SECONDS = 60.0


def build_demo(data_dir: Path) -> list[str]:
    store = open_engine(Settings(data_dir=data_dir))
    if not store.counts()["articles"]:
        store.add_articles(read_paths([demo_corpus_path()]))
    ids = [str(r["id"]) for r in store.list_stories(limit=None)]
    store.close()
    return ids


def listening(port: int) -> int:
    """Listening TCP sockets on ``port`` (Linux's /proc/net/tcp; elsewhere assume all)."""
    try:
        rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return 1 << 30
    return sum(1 for r in rows if r.split()[1].endswith(f":{port:04X}") and r.split()[3] == "0A")


def start_server(data_dir: Path, port: int, workers: int = 1, database_url: str = "") -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "storyline", "serve", "--data-dir", str(data_dir),
                             "--port", str(port), "--workers", str(workers),
                             *(["--database-url", database_url] if database_url else [])],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/outlets", timeout=1).status_code == 200 \
                    and listening(port) >= workers:  # every process up, or the first takes all the connections
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(f"the server did not start: {proc.stderr.read().decode() if proc.stderr else ''}")


class LoopbackClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams, so the load generator itself costs
    little CPU (the server shares the machine's cores with it)."""

    def __init__(self, host: str, port: int, connections: int = 32) -> None:
        self.host, self.port, self.size = host, port, connections
        self.pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def __aenter__(self) -> Self:
        for _ in range(self.size):
            self.pool.put_nowait(await asyncio.open_connection(self.host, self.port))
        return self

    async def __aexit__(self, *exc: object) -> None:
        while not self.pool.empty():
            self.pool.get_nowait()[1].close()

    async def get(self, path: str) -> int:
        """GET ``path``; returns the status code after reading the whole body."""
        reader, writer = await self.pool.get()
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            writer.close()
            reader, writer = await asyncio.open_connection(self.host, self.port)
            status = 0
        self.pool.put_nowait((reader, writer))
        return status


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


async def run_target(client: LoopbackClient, path_for: Callable[[int], str], rate: float,
                     seconds: float) -> dict[str, float]:
    """Send ``rate`` requests per second for ``seconds``, open loop; latency counted from due time."""
    total = min(MAX_REQUESTS, int(rate * seconds))
    # the load generator's own pauses count as the server's latency: keep its cyclic collector from
    # walking what it has loaded (a benchmark that imported storyline holds ~100k objects: ~60 ms)
    gc.collect()
    gc.freeze()
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()

    async def one(i: int) -> None:
        nonlocal errors
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        if await client.get(path_for(i)) != 200:
            errors += 1
        latencies.append((time.perf_counter() - due) * 1000)

    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(total))), timeout=seconds + MAX_SECONDS)
    elapsed = time.perf_counter() - start
    return {"requests": total, "errors": errors, "rps": round(total / elapsed, 1),
            "p50_ms": round(percentile(latencies, 50), 2), "p99_ms": round(percentile(latencies, 99), 2),
            "max_ms": round(max(latencies), 2)}


async def benchmark(port: int, story_ids: list[str], rate: float, seconds: float) -> dict[str, dict[str, float]]:
    unique = count()
    targets: dict[str, Callable[[int], str]] = {
        "front page /": lambda i: "/",
        "story page /stories/{id}": lambda i: f"/stories/{story_ids[i % len(story_ids)]}",
        "JSON /api/stories": lambda i: "/api/stories",
        "JSON /api/stories/{id}": lambda i: f"/api/stories/{story_ids[i % len(story_ids)]}",
        "story page, uncached": lambda i: f"/stories/{story_ids[i % len(story_ids)]}?bench={next(unique)}",
    }
    results = {}
    async with LoopbackClient("127.0.0.1", port) as client:
        for path in ["/", "/api/stories"] + [f"{p}/{s}" for s in story_ids for p in ("/stories", "/api/stories")]:
            await client.get(path)  # warm the cache once, as a running server would be
        for name, path_for in targets.items():
            results[name] = await run_target(client, path_for, rate, seconds)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description="Load-test the storyline web server on loopback.")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second per target (default 200)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per target (default 10, max 60)")
    parser.add_argument("--server-workers", type=int, default=1, metavar="N",
                        help="serve with `storyline serve --workers N` (default 1)")
    parser.add_argument("--data-dir", help="an existing data directory (default: the demo corpus in a temp dir)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    seconds = min(args.seconds, MAX_SECONDS)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(args.data_dir) if args.data_dir else Path(tmp)
        story_ids = build_demo(data_dir)
        port = free_port()
        proc = start_server(data_dir, port, args.server_workers)
        try:
            results = asyncio.run(benchmark(port, story_ids, args.rate, seconds))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    if args.json:
        print(json.dumps({"rate": args.rate, "seconds": seconds, "cpus": os.cpu_count(), "results": results}, indent=2))
        return 0
    print(f"{len(story_ids)} stories; {args.rate:g} requests/s per target for {seconds:g} s; {os.cpu_count()} CPUs")
    print(f"{'target':28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}")
    for name, r in results.items():
        print(f"{name:28} {r['rps']:8.1f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['max_ms']:8.2f} {r['errors']:7d}")
    story = results["story page /stories/{id}"]
    verdict = "meets" if story["p99_ms"] <= 50 and not story["errors"] else "MISSES"
    print(f"story page p99 {story['p99_ms']:.2f} ms at {story['rps']:.0f} req/s: {verdict} the 50 ms bar")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
