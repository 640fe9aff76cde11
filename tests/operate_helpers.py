"""Shared helpers of the operate tests: generated feeds and articles, and `storyline run` as a
real process on a free loopback port."""
from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

from storyline.config import Settings
from storyline.models import FeedState
from storyline.store import open_store
from storyline.web.server import free_port

ROOT = Path(__file__).resolve().parents[1]
_WORDS = [f"{a}{b}" for a in ("bar", "cor", "del", "fen", "gal", "hom", "jus", "kel", "lor", "mav", "nor", "pel",
                              "quin", "ros", "sal", "tor", "val", "wen", "yor", "zan")
          for b in ("an", "eth", "ion", "or", "um", "ery", "ine", "ost", "ade", "ic", "ull", "end", "ark", "ow", "ip")]


def texts(n: int, *, seed: int = 7, prefix: str = "Item") -> list[tuple[str, str]]:
    """``n`` distinct (title, text) pairs of made-up words: six sentences each, nothing in common
    beyond chance, so each stands as its own original."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        title = f"{prefix} {i} " + " ".join(rng.choice(_WORDS) for _ in range(4))
        body = " ".join(" ".join(rng.choice(_WORDS) for _ in range(12)).capitalize() + "." for _ in range(6))
        out.append((title, body))
    return out


def rss(items: list[tuple[str, str, str]], title: str = "Loopback News") -> bytes:
    """An RSS 2.0 document of (guid, title, text) items."""
    body = "".join(f"<item><guid>{g}</guid><title>{t}</title><link>http://example.org/{g}</link>"
                   f"<description>{x}</description></item>" for g, t, x in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'.encode()


def subscribe(data_dir: Path, *urls: str) -> None:
    store = open_store(Settings(data_dir=data_dir))
    for url in urls:
        store.save_feed(FeedState(url=url))
    store.close()


def count(db_path: Path, sql: str) -> int:
    """One number from the database, read through a connection of its own (0 before it exists)."""
    if not db_path.exists():
        return 0
    db = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        return int(db.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


class RunningService:
    """A `storyline run` process: its URL, its log (JSON lines) and its process."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
        self.proc, self.url, self.log_path = proc, url, log_path

    def log(self) -> list[dict]:
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def health(self) -> httpx.Response:
        return httpx.get(self.url + "/healthz", timeout=10)

    def wait_for(self, predicate, timeout: float = 120.0, what: str = "") -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"storyline run exited ({self.proc.returncode}) while waiting for {what}:\n"
                                     + self.log_path.read_text(encoding="utf-8")[-3000:])
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n" + self.log_path.read_text(encoding="utf-8")[-3000:])

    def stop(self, timeout: float = 60.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)


@contextmanager
def storyline_run(data_dir: Path, *extra: str, env: dict[str, str] | None = None) -> Iterator[RunningService]:
    """Start ``storyline run`` on a free loopback port; wait until it answers /healthz."""
    port = free_port()
    log_path = data_dir.parent / f"run-{port}.log"
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    full_env.pop("STORYLINE_LOG_LEVEL", None)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "storyline", "run", "--data-dir", str(data_dir), "--port", str(port),
             "--allow-private-network", "--no-fetch-pages", "--max-sleep", "0.2", "--log-json", *extra],
            stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=ROOT)
    service = RunningService(proc, f"http://127.0.0.1:{port}", log_path)

    def answering() -> bool:
        try:
            return service.health().status_code == 200
        except httpx.HTTPError:
            return False

    try:
        service.wait_for(answering, 90, "/healthz")
        yield service
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
