"""Storyline at newsroom size: stores of 10k, 100k (and 1M) articles, their ingest and their pages.

For each size this builds (once; a rerun reuses the store on disk) a store through the real
``storyline ingest`` command in a subprocess, then starts ``storyline serve`` on it and measures
pages open-loop at fixed offered rates, as ``benchmarks/web.py`` does: a request is due every
1/rate seconds whether or not earlier ones finished, and latency counts from when it was due.

The stream: the shared labelled articles (ECB+ train and dev, NeuS val and train articles,
WikiRef220, the UCI sample: 9,768 articles), shuffled with a fixed seed, then repeated as often
as the size needs. Copy ``k`` gets ids ``k<k>-<id>``, dates ``k`` weeks later (every article is
dated: the stream spreads over one week per copy, about 1,400 articles a day), and every third
word of its title and text marked with a copy suffix, so a copy is a new report rather than a
reprint of copy 0 (the deduplicator compares word trigrams: each trigram holds one marked word),
while two thirds of its words, its terms and its story structure stay the original's. Records
without an outlet get one of 60 synthetic outlet names. Gold labels ride along (prefixed by copy)
for scoring; the engine never reads them.

PostgreSQL: ``--database-url postgresql://user@host/db`` builds and reads each size in its own
database on that server (``storyline_scale_<size>``, created on first use), or ``--pg`` starts a
server of Debian's ``postgresql`` package (``tests/pg.py``) whose files live in the cache
directory, so its stores are reused like the SQLite ones.

Usage:
  python benchmarks/scale.py [--sizes 10000 100000] [--million] [--rate 200] [--cached-rate 500]
                             [--seconds 10] [--server-workers N] [--cache-dir DIR] [--build-only]
                             [--database-url URL | --pg] [--json]
Bars (issue 20): at 100k articles, uncached story page, front page and API story p99 <= 50 ms at
200 requests/s offered; cached story page p99 <= 50 ms at 500 requests/s.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import platform
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timedelta, timezone
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data"
DEFAULT_CACHE = Path(os.environ.get("STORYLINE_SCALE_DIR", Path.home() / ".cache" / "storyline-scale"))
STREAM_VERSION = "scale-stream.v1"  # bump when the stream below changes: built stores are keyed on it
START = datetime(2024, 1, 1, tzinfo=timezone.utc)
COPY_SPAN = timedelta(days=7)
OUTLETS = 60
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


# -- the stream -----------------------------------------------------------------------------
def base_records(data: Path | None = None) -> list[dict[str, Any]]:
    """The shared labelled articles in one fixed shuffled order (no dates: the copies date them)."""
    from storyline.cluster.corpora import mixed_records, neus_story_records, read_records

    data = DATA if data is None else data
    records = (read_records(data / "ecbplus" / "dev.jsonl") + read_records(data / "ecbplus" / "train.jsonl")
               + read_records(data / "neus" / "val_articles.jsonl") + neus_story_records(data / "neus" / "train.jsonl")
               + read_records(data / "wikiref" / "WikiRef220.jsonl")
               + read_records(data / "uci-news-sample" / "stream.jsonl"))
    seen: set[str] = set()
    out = []
    for r in mixed_records(records, seed=13):
        rid = str(r["id"])
        while rid in seen:  # the sets number their items independently
            rid += "+"
        seen.add(rid)
        out.append({**r, "id": rid})
    return out


def _mark(text: str, k: int) -> str:
    """Every third word (by position) of ``text`` with copy ``k``'s suffix; copy 0 unchanged."""
    if k == 0:
        return text
    suffix = "q" + "".join(chr(ord("a") + int(d)) for d in str(k))
    position = count()
    return _WORD.sub(lambda m: m.group(0) + suffix if next(position) % 3 == 1 else m.group(0), text)


def iter_scale_records(size: int, data: Path | None = None) -> Iterator[dict[str, Any]]:
    """``size`` records, one at a time: the base stream repeated with shifted ids, dates and
    marked words (a generator, so the 1M stream is written without holding it)."""
    base = base_records(data)
    made, k = 0, 0
    step = COPY_SPAN / len(base)
    while made < size:
        for i, r in enumerate(base[: size - made]):
            source = r.get("source") or f"Outlet {int(hashlib.md5(str(r['label']).encode()).hexdigest(), 16) % OUTLETS:02d}"
            when = START + k * COPY_SPAN + i * step
            yield {"id": f"k{k}-{r['id']}", "title": _mark(r.get("title") or "", k),
                   "text": _mark(r.get("text") or "", k), "url": f"https://example.org/k{k}/{r['id']}",
                   "source": source, "published": when.isoformat(timespec="seconds"),
                   "label": f"k{k}-{r['label']}"}
            made += 1
        k += 1


def scale_records(size: int, data: Path | None = None) -> list[dict[str, Any]]:
    """:func:`iter_scale_records` as a list."""
    return list(iter_scale_records(size, data))


def stream_file(size: int, cache: Path) -> Path:
    """The JSONL stream of ``size`` articles (written once, record by record)."""
    path = cache / f"stream-{size}-{STREAM_VERSION}.jsonl"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for r in iter_scale_records(size):
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        tmp.replace(path)
    return path


# -- the store ------------------------------------------------------------------------------
def build_store(stream: Path, data_dir: Path, *, extra_args: tuple[str, ...] = (), timeout: float = 6 * 3600,
                nice: int = 0, database_url: str = "") -> dict[str, Any]:
    """Run the real ``storyline ingest`` on ``stream`` into ``data_dir`` in a subprocess (this
    tree's code first on the path); returns the whole-process rate and the peak RSS (of the
    ingest process and of the largest helper it waited for), the database size, and the Python
    that ran it (an optimized build is 15-18 % faster than a plain one: docs/scale.md, session 30)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
    articles = sum(1 for _ in stream.open(encoding="utf-8"))
    backend = ["--database-url", database_url] if database_url else []
    cmd = [sys.executable, "-m", "storyline", "ingest", "-q", "--data-dir", str(data_dir), *backend, *extra_args,
           str(stream)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=(lambda: os.nice(nice)) if nice else None)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            raise SystemExit(f"ingest of {stream} did not finish in {timeout:.0f} s")
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0, 3):
        raise SystemExit(f"ingest failed ({proc.returncode}): {err[-2000:]}")
    return {"articles": articles, "seconds": round(seconds, 1), "articles_per_s": round(articles / seconds, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "db_mb": round(db_bytes(data_dir, database_url) / 2**20, 1),
            "command": " ".join(cmd[1:]), "exit": proc.returncode, "python": interpreter()}


def interpreter() -> str:
    """This Python's version and executable, as the ingest line names them."""
    return f"Python {platform.python_version()} ({sys.executable})"


def db_bytes(data_dir: Path, database_url: str = "") -> int:
    if database_url:
        with connect(data_dir, database_url) as db:
            return int(db.execute("SELECT pg_database_size(current_database())").fetchone()[0])
    return sum(p.stat().st_size for p in data_dir.glob("storyline.db*") if p.is_file())


def connect(data_dir: Path, database_url: str = "") -> Any:
    """A plain connection to the store: its SQLite file read-only, or its PostgreSQL database."""
    if database_url:
        import psycopg

        return psycopg.connect(database_url)
    return closing(sqlite3.connect(f"file:{data_dir / 'storyline.db'}?mode=ro", uri=True))


def size_database(server_url: str, size: int) -> str:
    """The URL of ``size``'s database on the server of ``server_url`` (created when missing)."""
    import psycopg

    name = f"storyline_scale_{size}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


def ensure_store(size: int, cache: Path, *, nice: int = 0, timeout: float = 6 * 3600,
                 database_url: str = "") -> tuple[Path, dict[str, Any]]:
    """The store of ``size`` articles in ``cache`` (built on first use) and its build figures.
    With ``database_url`` the store is that PostgreSQL database (its data dir holds only
    ``build.json``); a build that did not finish is dropped and made again."""
    data_dir = cache / f"store-{size}-{STREAM_VERSION}" if not database_url else \
        cache / f"pgstore-{size}-{STREAM_VERSION}-{urlsplit(database_url).path.strip('/')}"
    info = data_dir / "build.json"
    if info.exists():
        return data_dir, json.loads(info.read_text())
    if data_dir.exists():  # a build that did not finish: start over
        shutil.rmtree(data_dir)
        if database_url:
            drop_tables(database_url)
    data_dir.mkdir(parents=True)
    figures = build_store(stream_file(size, cache), data_dir, nice=nice, timeout=timeout, database_url=database_url)
    info.write_text(json.dumps(figures, indent=2))
    return data_dir, figures


def drop_tables(database_url: str) -> None:
    """Empty a PostgreSQL store's database (an unfinished build), keeping the database."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def replicate_store(source: Path, target: Path, copies: int) -> dict[str, Any]:
    """A read-side stand-in when ingesting the big stream takes too long on a busy machine: the
    rows of an ingested store (``source``) repeated ``copies`` times into ``target`` (ids
    prefixed ``r<j>:``, times moved ``j`` times ``source``'s time span later), through SQL
    inserts (the search index fills by its trigger). Its stories, summaries, vectors and headline
    histories are the ingested ones; no MinHash signatures or engine state (pages only; a store
    to read, not to ingest into). Returns what it made; the table names it as replicated."""
    from storyline.config import Settings
    from storyline.store import open_store

    if (target / "build.json").exists():
        return json.loads((target / "build.json").read_text())
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    src = sqlite3.connect(f"file:{source / 'storyline.db'}?mode=ro", uri=True)
    src.row_factory = sqlite3.Row
    open_store(Settings(data_dir=target)).close()  # the schema
    dst = sqlite3.connect(target / "storyline.db")
    first, last = src.execute("SELECT min(published), max(published) FROM articles").fetchone()
    span = (datetime.fromisoformat(last) - datetime.fromisoformat(first)) + timedelta(hours=1)  # copies follow on

    def moved(value: Any, j: int) -> Any:
        if not value or j == 0:
            return value
        try:
            return (datetime.fromisoformat(value) + j * span).isoformat()
        except ValueError:
            return value

    start = time.perf_counter()
    tables = {"articles": ("id", "canonical_id", "story_id"), "stories": ("id",), "story_vectors": ("story_id",),
              "headline_history": ("story_id", "article_id"), "story_merges": ("old_id", "new_id")}
    times = {"published", "fetched_at", "first_seen", "last_seen", "at", "merged_at"}
    for j in range(copies):
        dst.execute("BEGIN")
        for table, ids in tables.items():
            rows = src.execute(f"SELECT * FROM {table}").fetchall()
            if not rows:
                continue
            cols = [c for c in rows[0].keys() if c != "seq"]
            out = []
            for r in rows:
                out.append([f"r{j}:{r[c]}" if c in ids and r[c] else moved(r[c], j) if c in times else r[c]
                            for c in cols])
            dst.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", out)
        dst.execute("COMMIT")
    dst.execute("UPDATE story_vectors SET related_at = NULL")
    dst.commit()
    dst.close()
    src.close()
    figures = {"articles": 0, "seconds": round(time.perf_counter() - start, 1), "articles_per_s": 0.0,
               "peak_rss_mb": 0.0, "db_mb": round(db_bytes(target) / 2**20, 1),
               "command": f"replicate_store({source.name}, x{copies})", "replicated": True, "exit": 0}
    figures["articles"] = store_counts(target)["articles"]
    (target / "build.json").write_text(json.dumps(figures, indent=2))
    return figures


def prepare_reads(data_dir: Path, database_url: str = "") -> dict[str, Any]:
    """Bring a built store to this tree's schema and fill what the read side precomputes (related
    stories of a store made before they were kept); returns what it did and how long it took."""
    from storyline import related
    from storyline.config import Settings
    from storyline.store import open_store

    store = open_store(Settings(data_dir=data_dir, database_url=database_url))
    try:
        start = time.perf_counter()
        done = related.fill_missing(store)
        return {"related_filled": done, "seconds": round(time.perf_counter() - start, 1)}
    finally:
        store.close()


def sample_ids(data_dir: Path, n: int = 2000, seed: int = 5, database_url: str = "") -> dict[str, list[str]]:
    """Story ids to visit (a fixed random sample of live stories) and search words (title words)."""
    with connect(data_dir, database_url) as db:
        ids = [r[0] for r in db.execute("SELECT id FROM stories WHERE size > 0 ORDER BY id")]
        titles = [r[0] for r in db.execute("SELECT title FROM articles ORDER BY seq LIMIT 5000")]
    rng = random.Random(seed)
    words = sorted({w.lower() for t in titles for w in _WORD.findall(t) if len(w) >= 5})
    return {"stories": rng.sample(ids, min(n, len(ids))), "words": rng.sample(words, min(n, len(words)))}


# -- the pages ------------------------------------------------------------------------------
async def measure(port: int, sample: dict[str, list[str]], rate: float, cached_rate: float,
                  seconds: float) -> dict[str, dict[str, float]]:
    from web import LoopbackClient, run_target  # benchmarks/web.py

    stories, words = sample["stories"], sample["words"]
    top = sample["top"]
    unique = count()
    u = lambda: next(unique)  # noqa: E731  a fresh query string: a cache miss, the page renders
    targets: list[tuple[str, Callable[[int], str], float]] = [
        ("story page, uncached", lambda i: f"/stories/{stories[i % len(stories)]}?u={u()}", rate),
        ("front page, uncached", lambda i: f"/?u={u()}", rate),
        ("API story, uncached", lambda i: f"/api/stories/{stories[i % len(stories)]}?u={u()}", rate),
        ("top story page, uncached", lambda i: f"/stories/{top[i % len(top)]}?u={u()}", rate),
        ("top API story, uncached", lambda i: f"/api/stories/{top[i % len(top)]}?u={u()}", rate),
        ("story page, cached", lambda i: f"/stories/{stories[i % 200]}", cached_rate),
        ("front page, cached", lambda i: "/", cached_rate),
        ("API story, cached", lambda i: f"/api/stories/{stories[i % 200]}", cached_rate),
        # search last: it can fall behind at the offered rate, and the requests it left queued would
        # still be served while the next target runs and count against that target's latency
        ("search, uncached", lambda i: f"/search?q={quote(words[i % len(words)])}&u={u()}", rate),
        ("search, cached", lambda i: f"/search?q={quote(words[i % 200])}", cached_rate),
    ]
    results = {}
    for name, path_for, r in targets:  # a fresh client per target: a target that times out loses only its own
        async with LoopbackClient("127.0.0.1", port) as client:
            if name.endswith(", cached"):  # its 200 pages, warmed (the uncached runs filled the cache with others)
                for i in range(200):
                    await client.get(path_for(i))
            results[name] = {"rate": r, **await serial(client, path_for)}
            try:
                results[name].update(await run_target(client, path_for, r, seconds))
            except asyncio.TimeoutError:  # the server fell so far behind that the run could not finish
                results[name].update(requests=int(r * seconds), errors=-1, rps=0.0, p50_ms=float("nan"),
                                     p99_ms=float("nan"), max_ms=float("nan"))
    return results


async def serial(client: Any, path_for: Callable[[int], str], n: int = 100) -> dict[str, float]:
    """One request at a time (no queueing): the server's own time per page, p50 and p99 in ms.
    On a loaded machine this says more than the open-loop figures, which also count the wait."""
    from web import percentile  # benchmarks/web.py

    took = []
    for i in range(10_000, 10_000 + n):
        start = time.perf_counter()
        await client.get(path_for(i))
        took.append((time.perf_counter() - start) * 1000)
    return {"serial_p50_ms": round(percentile(took, 50), 2), "serial_p99_ms": round(percentile(took, 99), 2)}


def front_ids(port: int, n: int = 60) -> list[str]:
    """The front page's first ``n`` stories (its ranking, from the API): the ones readers open,
    which are the biggest, where a random sample holds mostly small ones."""
    ids: list[str] = []
    for offset in range(0, n, 20):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stories?limit=20&offset={offset}") as r:
            ids += [c["id"] for c in json.load(r)["stories"]]
    return ids[:n]


def serve_and_measure(data_dir: Path, rate: float, cached_rate: float, seconds: float,
                      workers: int = 1, database_url: str = "") -> dict[str, dict[str, float]]:
    from web import start_server  # benchmarks/web.py

    from storyline.web.server import free_port

    sample = sample_ids(data_dir, database_url=database_url)
    port = free_port()
    proc = start_server(data_dir, port, workers, database_url=database_url)
    try:
        sample["top"] = front_ids(port)
        return asyncio.run(measure(port, sample, rate, cached_rate, seconds))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def print_table(size: int, build: dict[str, Any], pages: dict[str, dict[str, float]] | None, counts: dict[str, int],
                workers: int = 1) -> None:
    print(f"\n== {counts.get('articles', 0):,} articles: {counts.get('stories', 0):,} stories, "
          f"{counts.get('originals', 0):,} originals; {build.get('backend', 'sqlite')} database {build['db_mb']} MB ==")
    if build.get("replicated"):
        print(f"not ingested: {build['command']} (the ingested store's rows repeated; pages only)")
    else:
        print(f"ingest (whole process): {build['articles_per_s']} articles/s ({build['articles']:,} in "
              f"{build['seconds']} s), peak RSS {build['peak_rss_mb']} MB"
              + (f"; {build['python']}" if build.get("python") else ""))
    if not pages:
        return
    print(f"served by `storyline serve --workers {workers}`")
    print(f"{'page':24} {'one-at-a-time p50/p99 ms':>25} {'offered/s':>9} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'errors':>6}")
    for name, r in pages.items():
        serial_ = f"{r['serial_p50_ms']:.2f} / {r['serial_p99_ms']:.2f}"
        print(f"{name:24} {serial_:>25} {r['rate']:9.0f} {r['rps']:7.1f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
              f"{r['max_ms']:8.2f} {r['errors']:6d}")


def store_counts(data_dir: Path, database_url: str = "") -> dict[str, int]:
    with connect(data_dir, database_url) as db:
        one = lambda sql: int(db.execute(sql).fetchone()[0])  # noqa: E731
        return {"articles": one("SELECT count(*) FROM articles"),
                "originals": one("SELECT count(*) FROM articles WHERE canonical_id = id"),
                "stories": one("SELECT count(*) FROM stories WHERE size > 0")}


def main() -> int:
    ap = argparse.ArgumentParser(description="Build stores of 10k/100k/1M articles and measure ingest and pages.")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--million", action="store_true", help="also 1,000,000 articles (hours to build)")
    ap.add_argument("--rate", type=float, default=200.0, help="offered requests/s for uncached pages (200)")
    ap.add_argument("--cached-rate", type=float, default=500.0, help="offered requests/s for cached pages (500)")
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds per target (10)")
    ap.add_argument("--server-workers", type=int, default=1, metavar="N",
                    help="serve with `storyline serve --workers N` (1)")
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"where built stores live ({DEFAULT_CACHE})")
    ap.add_argument("--nice", type=int, default=0, help="run the ingest at this niceness")
    ap.add_argument("--build-hours", type=float, default=6.0, help="give up a store's ingest after this long (6)")
    ap.add_argument("--build-only", action="store_true", help="build (or reuse) the stores, measure no pages")
    ap.add_argument("--replicated", type=int, metavar="N", help="instead of ingesting the biggest size, measure pages "
                    "on the smallest size's ingested store with its rows repeated N times (labelled as such)")
    backend = ap.add_mutually_exclusive_group()
    backend.add_argument("--database-url", metavar="URL", default="",
                         help="build and read the stores in PostgreSQL: one database per size on this server")
    backend.add_argument("--pg", action="store_true", help="the same on a PostgreSQL server started for the run "
                         "(Debian's postgresql; its files kept in the cache dir, so stores are reused)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA} is missing: the scale streams are built from the shared data")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    sizes = sorted(set(args.sizes + ([1_000_000] if args.million else [])))
    server = None
    if args.pg:
        server = pg_server(args.cache_dir)
        args.database_url = server.admin_url
    try:
        return run_sizes(args, sizes)
    finally:
        if server is not None:
            server.stop(keep=True)


def pg_server(cache: Path) -> Any:
    """A PostgreSQL server for ``--pg``, its files in ``cache/pg-server`` (kept between runs)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from pg import PostgresServer, unavailable_reason  # tests/pg.py

    reason = unavailable_reason()
    if reason:
        raise SystemExit(f"--pg: {reason}")
    server = PostgresServer(cache / "pg-server")
    server.start()
    return server


def run_sizes(args: argparse.Namespace, sizes: list[int]) -> int:
    report = {}
    if args.replicated and args.database_url:
        raise SystemExit("--replicated copies SQLite files; it does not work with PostgreSQL")
    if args.replicated:
        base, _ = ensure_store(sizes[0], args.cache_dir, nice=args.nice, timeout=args.build_hours * 3600)
        replica = args.cache_dir / f"replica-{sizes[0]}x{args.replicated}-{STREAM_VERSION}"
        replicate_store(base, replica, args.replicated)
        sizes = sizes[:1] + [-args.replicated]
    for size in sizes:
        url = size_database(args.database_url, size) if args.database_url else ""
        if size < 0:
            data_dir = args.cache_dir / f"replica-{sizes[0]}x{-size}-{STREAM_VERSION}"
            build = json.loads((data_dir / "build.json").read_text())
        else:
            data_dir, build = ensure_store(size, args.cache_dir, nice=args.nice, timeout=args.build_hours * 3600,
                                           database_url=url)
        prepared = prepare_reads(data_dir, url)
        pages = None if args.build_only else serve_and_measure(data_dir, args.rate, args.cached_rate,
                                                                min(args.seconds, 60.0), args.server_workers, url)
        counts = store_counts(data_dir, url)
        build["backend"] = "postgresql" if url else "sqlite"
        report[size] = {"build": build, "prepared": prepared, "counts": counts, "pages": pages,
                        "server_workers": args.server_workers}
        if not args.json:
            print_table(size, build, pages, counts, args.server_workers)
    if args.json:
        print(json.dumps({"cpus": os.cpu_count(), "sizes": report}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
