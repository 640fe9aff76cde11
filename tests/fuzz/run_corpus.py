"""Run every case of a fuzz corpus through ``storyline ingest`` and ``storyline digest --json``.

Usage: ``python tests/fuzz/run_corpus.py CORPUS_DIR [--commands ingest,digest] [--timeout 60]
[--only NAME,...] [--json OUT]``. Each run is a fresh process (``python -m storyline``, with the
repository first on ``PYTHONPATH``) with a fresh data directory, killed after ``--timeout``
seconds; its peak RSS is read with ``os.wait4``. Per run it records: traceback in stderr, time,
peak RSS, exit code, which valid neighbours (``markers``) came out (stored articles for
``ingest``, article titles of the JSON for ``digest``), and for ``binary-*`` cases how many
articles came from the binary file. Prints one line per run and a summary table.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MEMORY_LIMIT = 2 << 30
ADDRESS_LIMIT = 3 << 30  # each run's address space is capped so a blow-up fails instead of eating the machine


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_LIMIT, ADDRESS_LIMIT))


@dataclass
class Run:
    case: str
    command: str
    seconds: float
    peak_rss_mb: float
    exit_code: int | None
    traceback: bool
    timed_out: bool
    lost: list[str] = field(default_factory=list)
    binary_stored: int = 0
    stderr_tail: str = ""


def _run(args: list[str], timeout: float, cwd: Path) -> tuple[int | None, float, float, bytes, bytes, bool]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "STORYLINE_LOG_LEVEL": "WARNING"}
    out_f, err_f = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "storyline", *args], stdout=out_f, stderr=err_f,
                            stdin=subprocess.DEVNULL, cwd=cwd, env=env, start_new_session=True,
                            preexec_fn=_cap_memory)
    timed_out = False
    status, rusage = 0, None
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - start > timeout:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            _, status, rusage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - start
    rss_mb = (rusage.ru_maxrss / 1024) if rusage else 0.0
    out_f.seek(0)
    err_f.seek(0)
    return (None if timed_out else proc.returncode), seconds, rss_mb, out_f.read(), err_f.read(), timed_out


def _stored(db: Path) -> list[tuple[str, str]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return [(t, o) for t, o in conn.execute("SELECT title, origin FROM articles")]


def _digest_titles(out: bytes) -> list[tuple[str, str]]:
    try:
        doc = json.loads(out.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return []
    return [(a.get("title", ""), a.get("origin", "")) for s in doc.get("stories", []) for a in s.get("articles", [])]


def run_case(case: dict, command: str, timeout: float, work: Path) -> Run:
    data = work / f"data-{case['name']}-{command}"
    if command == "ingest":
        args = ["ingest", "--data-dir", str(data), *case["paths"]]
    else:
        args = ["digest", "--json", *case["paths"]]
    code, seconds, rss, out, err, timed_out = _run(args, timeout, work)
    rows = _stored(data / "storyline.db") if command == "ingest" else _digest_titles(out)
    titles = {t for t, _ in rows}
    # digest collapses exact copies into one article: a marker may also survive as a reprint;
    # the markers are written to be distinct, so the title check is exact.
    lost = [m for m in case["markers"] if m not in titles]
    binary = 0
    if case["name"].startswith("binary-"):
        bad = [p for p in case["paths"] if not p.endswith(("a_before.jsonl", "z_after.jsonl"))]
        binary = sum(1 for _, origin in rows if any(origin.startswith(b) for b in bad))
    text = err.decode("utf-8", "replace")
    return Run(case["name"], command, round(seconds, 2), round(rss, 1), code,
               "Traceback (most recent call last)" in text or "MemoryError" in text, timed_out, lost, binary, text[-600:])


def summarize(runs: list[Run], timeout: float) -> str:
    lines = ["| command | runs | tracebacks | over 60 s | over 2 GB | lost neighbours | binary stored | max s | max RSS MB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for command in sorted({r.command for r in runs}):
        rs = [r for r in runs if r.command == command]
        lines.append(
            f"| {command} | {len(rs)} | {sum(r.traceback for r in rs)} | {sum(r.timed_out or r.seconds > 60 for r in rs)} "
            f"| {sum(r.peak_rss_mb * 2**20 > MEMORY_LIMIT for r in rs)} | {sum(bool(r.lost) for r in rs)} "
            f"| {sum(r.binary_stored > 0 for r in rs)} | {max(r.seconds for r in rs):.1f} "
            f"| {max(r.peak_rss_mb for r in rs):.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--commands", default="ingest,digest")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--only", default="")
    parser.add_argument("--json", type=Path, help="write every run's record here")
    args = parser.parse_args(argv)
    cases = json.loads((args.corpus / "manifest.json").read_text(encoding="utf-8"))
    if args.only:
        wanted = set(args.only.split(","))
        cases = [c for c in cases if c["name"] in wanted]
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="storyline-fuzz-") as tmp:
        for case in cases:
            for command in args.commands.split(","):
                run = run_case(case, command, args.timeout, Path(tmp))
                runs.append(run)
                flags = [f for f, on in (("TRACEBACK", run.traceback), ("TIMEOUT", run.timed_out),
                                         (f"LOST {run.lost}", bool(run.lost)),
                                         (f"BINARY {run.binary_stored}", run.binary_stored > 0),
                                         ("RSS>2GB", run.peak_rss_mb * 2**20 > MEMORY_LIMIT)) if on]
                print(f"{run.case:34} {command:7} exit={run.exit_code} {run.seconds:6.1f}s {run.peak_rss_mb:7.0f}MB "
                      f"{' '.join(flags) or 'ok'}", flush=True)
    print(f"\n{len(cases)} cases\n" + summarize(runs, args.timeout))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=1), encoding="utf-8")
    bad = [r for r in runs if r.traceback or r.timed_out or r.lost or r.binary_stored
           or r.peak_rss_mb * 2**20 > MEMORY_LIMIT]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
