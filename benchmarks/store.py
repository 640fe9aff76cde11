"""Store backends side by side: ingest speed and story-page latency, SQLite and PostgreSQL.

For each backend: ``storyline ingest`` (in this process, through ``cli.main``, so interpreter and
import start-up are not counted) of a mixed stream built from ``../shared/data`` (ECB+ train and
dev, NeuS val articles, WikiRef220: 1,913 articles), then ``storyline serve`` on the result and
story pages requested open-loop at ``--rate`` per second (see ``benchmarks/web.py``: latency counts
from when a request was due).

PostgreSQL: ``--database-url postgresql://...``, or ``--pg`` to start a throwaway server with
``tests/pg.py`` (Debian's ``postgresql`` package; skipped with a note when it is missing).

Usage: python benchmarks/store.py [--pg] [--database-url URL] [--rate 200] [--seconds 10] [--json]
Bar (issue 14): neither backend more than 10 % slower than SQLite before the engine/store split.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from web import LoopbackClient, run_target  # noqa: E402

from storyline.cli import main as cli_main  # noqa: E402
from storyline.web.server import free_port  # noqa: E402

PARTS = ["ecbplus/train.jsonl", "ecbplus/dev.jsonl", "neus/val_articles.jsonl", "wikiref/WikiRef220.jsonl"]


def shared_data() -> Path:
    for candidate in (ROOT.parent / "shared" / "data", Path("/work/shared/data")):
        if candidate.is_dir():
            return candidate
    raise SystemExit("benchmarks/store.py needs ../shared/data (the evaluation data); it is absent")


def build_stream(out: Path) -> int:
    data = shared_data()
    n = 0
    with out.open("w", encoding="utf-8") as fh:
        for part in PARTS:
            for line in (data / part).read_text(encoding="utf-8").splitlines():
                if line.strip():
                    record = json.loads(line)
                    record.pop("label", None)
                    record["id"] = f"{part}:{record.get('id', n)}"
                    fh.write(json.dumps(record) + "\n")
                    n += 1
    return n


def store_args(data_dir: Path, url: str) -> list[str]:
    return ["--data-dir", str(data_dir)] + (["--database-url", url] if url else [])


def start_server(args: list[str], port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "storyline", "serve", *args, "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/stories", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(f"the server did not start: {proc.stderr.read().decode() if proc.stderr else ''}")


def story_ids(port: int) -> list[str]:
    got = httpx.get(f"http://127.0.0.1:{port}/api/stories", params={"limit": 100}, timeout=30).json()
    stories = got["stories"] if isinstance(got, dict) else got
    return [s["id"] for s in stories]


async def pages(port: int, ids: list[str], rate: float, seconds: float) -> dict[str, float]:
    async with LoopbackClient("127.0.0.1", port) as client:
        for sid in ids:
            await client.get(f"/stories/{sid}")
        return await run_target(client, lambda i: f"/stories/{ids[i % len(ids)]}", rate, seconds)


def run_backend(name: str, url: str, stream: Path, n: int, rate: float, seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        args = store_args(Path(tmp), url)
        start = time.perf_counter()
        status = cli_main(["ingest", str(stream), *args])
        elapsed = time.perf_counter() - start
        if status not in (0, 3):
            raise SystemExit(f"{name}: ingest failed with status {status}")
        port = free_port()
        proc = start_server(args, port)
        try:
            ids = story_ids(port)
            web = asyncio.run(pages(port, ids, rate, seconds))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return {"articles": n, "ingest_s": round(elapsed, 2), "articles_per_s": round(n / elapsed, 1),
            "story_p50_ms": web["p50_ms"], "story_p99_ms": web["p99_ms"], "story_rps": web["rps"],
            "errors": web["errors"]}


def main() -> int:
    parser = argparse.ArgumentParser(description="Ingest speed and story-page latency per store backend.")
    parser.add_argument("--database-url", default="", help="a PostgreSQL URL to measure beside SQLite")
    parser.add_argument("--pg", action="store_true", help="start a throwaway PostgreSQL (tests/pg.py) and measure it")
    parser.add_argument("--no-sqlite", action="store_true", help="measure PostgreSQL only")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    results: dict[str, dict[str, float]] = {}
    server = None
    with tempfile.TemporaryDirectory() as tmp:
        stream = Path(tmp) / "stream.jsonl"
        n = build_stream(stream)
        if not args.no_sqlite:
            results["sqlite"] = run_backend("sqlite", "", stream, n, args.rate, args.seconds)
        url = args.database_url
        if args.pg and not url:
            sys.path.insert(0, str(ROOT / "tests"))
            from pg import PostgresServer, unavailable_reason

            reason = unavailable_reason()
            if reason:
                print(f"postgresql skipped: {reason}", file=sys.stderr)
            else:
                server = PostgresServer(Path(tmp) / "pg")
                server.start()
                url = server.create_database("bench")
        try:
            if url:
                results["postgresql"] = run_backend("postgresql", url, stream, n, args.rate, args.seconds)
        finally:
            if server is not None:
                server.stop()
    if args.json:
        print(json.dumps({"rate": args.rate, "seconds": args.seconds, "cpus": os.cpu_count(), "results": results}, indent=2))
        return 0
    print(f"{n} articles; story pages at {args.rate:g} requests/s for {args.seconds:g} s; {os.cpu_count()} CPUs")
    print(f"{'backend':12} {'ingest s':>9} {'articles/s':>11} {'story p50 ms':>13} {'story p99 ms':>13} {'errors':>7}")
    for name, r in results.items():
        print(f"{name:12} {r['ingest_s']:9.2f} {r['articles_per_s']:11.1f} {r['story_p50_ms']:13.2f} "
              f"{r['story_p99_ms']:13.2f} {r['errors']:7d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
