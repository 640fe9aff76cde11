"""Ingest at scale: ``storyline ingest`` of a 10k / 100k / 1M-article stream into a fresh store.

Prints one row per size: articles/s for the whole ``storyline ingest`` process (interpreter
start, model loading, reading, dedup, clustering, writing, summaries — everything a user waits
for), peak memory of the process tree (the writer and its helpers: the sum of their PSS, sampled
every 0.1 s from /proc), the database size, and the stories made. ``--check`` also runs ``storyline cluster``
on the same file and scores both against the gold labels with ``../shared/tools/score_clusters.py``
(issue 20: the store's stories match ``cluster`` within 0.005 B³).

The stream (``build_stream``): the mixed labelled articles of ``../shared/data`` (ECB+ train and
dev, NeuS train and val, seed-13 shuffle, then the UCI headline stream and WikiRef220: 9,768
distinct articles, 2,825 + 12 + 16 gold stories), dated 2 days per pass in stream order. Beyond
one pass, pass k repeats it 6 days later (past the clusterer's 3-day window, so earlier stories
close) with ids ``~k`` and the words of every sentence shuffled (same bag of words for the
clusterer, different shingles, so no pass is a reprint of another). Gold labels get ``~k`` too.

``--stream FILE`` ingests a given labelled stream instead (one JSON record a line with ``label``,
e.g. ``benchmarks/scale.py``'s cached ``stream-10000-scale-stream.v1.jsonl``, dated over a week,
so stories close during the ingest); ``--sizes`` is then ignored.

Usage: python benchmarks/scale_ingest.py [--sizes 10000,100000 | --stream FILE] [--check] [--database-url URL] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storyline.cluster.corpora import mixed_records, neus_story_records  # noqa: E402
from storyline.evaluate import read_records  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
PASS_DAYS = 2  # one pass of the base stream spans two days ...
GAP_DAYS = 6  # ... and the next starts six days after the previous began (past the 3-day window)


def shared_data() -> Path:
    for candidate in (ROOT.parent / "shared" / "data", Path("/work/shared/data")):
        if candidate.is_dir():
            return candidate
    raise SystemExit("benchmarks/scale_ingest.py needs ../shared/data (the evaluation data); it is absent")


def base_records(data: Path) -> list[dict[str, Any]]:
    """The one-pass stream: distinct real articles with gold labels, in stream order."""
    mixed = mixed_records(read_records(data / "ecbplus" / "train.jsonl") + read_records(data / "ecbplus" / "dev.jsonl")
                          + read_records(data / "neus" / "val_articles.jsonl")
                          + neus_story_records(data / "neus" / "train.jsonl"), seed=13)
    extra = read_records(data / "uci-news-sample" / "stream.jsonl") + read_records(data / "wikiref" / "WikiRef220.jsonl")
    out = []
    for r in mixed + [{k: v for k, v in r.items() if k != "published"} for r in extra]:
        out.append({"id": str(r["id"]), "title": r.get("title") or "", "text": r.get("text") or "",
                    "url": r.get("url") or "", "source": r.get("source") or "", "label": str(r["label"])})
    seen: set[str] = set()
    for r in out:  # ids are unique within each source; keep them unique across sources too
        while r["id"] in seen:
            r["id"] += "'"
        seen.add(r["id"])
    return out


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _shuffled(text: str, rng: random.Random) -> str:
    out = []
    for sentence in _SENTENCE.split(text):
        words = sentence.split()
        rng.shuffle(words)
        out.append(" ".join(words))
    return " ".join(out)


def stream(base: list[dict[str, Any]], n: int) -> Iterator[dict[str, Any]]:
    """``n`` records: passes of ``base`` (see the module docstring), dated in stream order."""
    step = timedelta(days=PASS_DAYS) / max(1, len(base))
    for i in range(n):
        k, j = divmod(i, len(base))
        r = dict(base[j])
        r["published"] = (START + timedelta(days=GAP_DAYS * k) + step * j).isoformat()
        if k:
            rng = random.Random(f"{k}:{j}")
            r["id"] = f"{r['id']}~{k}"
            r["label"] = f"{r['label']}~{k}"
            r["title"], r["text"] = _shuffled(r["title"], rng), _shuffled(r["text"], rng)
        yield r


def write_stream(path: Path, n: int) -> Path:
    """Write the ``n``-article stream (with labels, which the engine never reads) and its gold file."""
    base = base_records(shared_data())
    with path.open("w", encoding="utf-8") as fh:
        for r in stream(base, n):
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def _tree_rss(pid: int) -> int:
    """Memory of ``pid`` and its descendants (Linux /proc): the sum of their proportional set
    sizes (PSS), so pages a forked helper shares with the writer count once, not per process."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                total += next(int(line.split()[1]) * 1024 for line in fh if line.startswith("Pss:"))
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


POLL_SECONDS = 1.0  # how often the tree's memory is read: each read walks the processes' page
# tables (and holds their memory maps' lock); every 0.1 s it cost the measured 10k ingest about 2 s
# of its 30 s on 2 cores (session 27)


def run_measured(cmd: list[str], env: dict[str, str], cwd: Path | None = None,
                 poll: float | None = POLL_SECONDS) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """Wall seconds, peak tree memory (bytes; 0 with ``poll`` None, which reads none) and the
    finished process of ``cmd`` (its CPU seconds, user + system, its helpers' included, in
    ``.cpu``), run in ``cwd``."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while poll is not None and proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(poll)
    out, err = proc.communicate()
    seconds = time.monotonic() - start
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    done.cpu = now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime  # type: ignore[attr-defined]
    return seconds, peak, done


def storyline_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "storyline", *args]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def ingest(path: Path, data_dir: Path, database_url: str = "") -> dict[str, Any]:
    """``storyline ingest PATH`` into a fresh store: rate, peak memory, size, counts."""
    args = ["ingest", str(path), "--data-dir", str(data_dir)] + (["--database-url", database_url] if database_url else [])
    seconds, peak, done = run_measured(storyline_cmd(*args), _env())
    if done.returncode != 0:
        raise SystemExit(f"storyline ingest failed ({done.returncode}): {done.stderr[-2000:]}")
    n = sum(1 for _ in path.open(encoding="utf-8"))
    db = data_dir / "storyline.db"
    size = sum(p.stat().st_size for p in data_dir.glob("storyline.db*")) if db.exists() else 0
    return {"articles": n, "seconds": round(seconds, 1), "articles_per_s": round(n / seconds, 1), "cpu_s": round(done.cpu, 1),
            "peak_mb": round(peak / 2**20), "db_mb": round(size / 2**20, 1), "report": done.stderr.strip().splitlines()[-1]}


def store_assignments(data_dir: Path, database_url: str = "") -> dict[str, str]:
    """Article id (as in the file) -> story id, read from the store (ids are ``<file key>:<id>``)."""
    sys.path.insert(0, str(ROOT))
    from storyline.config import Settings
    from storyline.store import open_store

    store = open_store(Settings(data_dir=data_dir, database_url=database_url))
    try:
        return {str(r["id"]).split(":", 1)[1]: str(r["story_id"]) for r in store.iter_articles()}
    finally:
        store.close()


def score(pred: Path, gold: Path) -> dict[str, float]:
    tool = shared_data().parent / "tools" / "score_clusters.py"
    out = subprocess.run([sys.executable, str(tool), "--gold", str(gold), "--pred", str(pred)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def check(path: Path, data_dir: Path, work: Path, database_url: str = "") -> dict[str, Any]:
    """Both the store's stories and ``storyline cluster``'s on ``path``, scored against the gold."""
    gold = path
    store_pred = work / "store_pred.jsonl"
    with store_pred.open("w") as fh:
        for art, story in store_assignments(data_dir, database_url).items():
            fh.write(json.dumps({"id": art, "story": story}) + "\n")
    cluster_pred = work / "cluster_pred.jsonl"
    seconds, peak, done = run_measured(storyline_cmd("cluster", str(path), "-o", str(cluster_pred)), _env())
    if done.returncode != 0:
        raise SystemExit(f"storyline cluster failed: {done.stderr[-2000:]}")
    return {"store": score(store_pred, gold), "cluster": score(cluster_pred, gold),
            "cluster_seconds": round(seconds, 1), "cluster_peak_mb": round(peak / 2**20)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000", help="comma-separated stream sizes (default 10000)")
    ap.add_argument("--check", action="store_true", help="also compare the store's stories with `storyline cluster`")
    ap.add_argument("--database-url", default="", help="a PostgreSQL URL (an empty database) instead of SQLite")
    ap.add_argument("--keep", type=Path, help="build the stores here instead of a temporary folder")
    ap.add_argument("--stream", type=Path, help="ingest this labelled JSONL stream instead of building one")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="scale-ingest-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        sizes = [sum(1 for _ in args.stream.open(encoding="utf-8"))] if args.stream else [int(s) for s in args.sizes.split(",")]
        for n in sizes:
            path = args.stream or write_stream(work / f"stream-{n}.jsonl", n)
            data_dir = work / f"store-{n}"
            row = {"size": n, **ingest(path, data_dir, args.database_url)}
            if args.check:
                row["check"] = check(path, data_dir, work, args.database_url)
            rows.append(row)
            if not args.json:
                print(f"{n:>9,} articles  {row['seconds']:>8.1f} s  {row['articles_per_s']:>7.1f} art/s  cpu {row['cpu_s']:>6.1f} s  "
                      f"peak {row['peak_mb']:>5} MB  db {row['db_mb']:>7.1f} MB  | {row['report']}", flush=True)
                if args.check:
                    print(f"          {json.dumps(row['check'])}", flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
