"""The fuzz corpus (tests/fuzz/make_corpus.py, 163 malformed inputs each between two valid items)
through the real command line: one ``ingest`` and one ``digest --json`` over every case at once.

Asserted: no traceback, every valid neighbour comes out, nothing from a binary file is stored,
and the run stays bounded (killed after a generous deadline; peak RSS from ``os.wait4`` under
2 GiB, with the address space capped at 3 GiB so a blow-up fails instead of eating the
machine). ``python tests/fuzz/run_corpus.py`` runs each case alone and prints the table kept in
docs/ingest.md.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from fuzz.make_corpus import build
from fuzz.run_corpus import MEMORY_LIMIT, _digest_titles, _run

DEADLINE_S = 300  # a whole-corpus run takes ~20 s on an idle machine; a hang or a quadratic parse does not end


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    root = tmp_path_factory.mktemp("fuzz")
    build(root, small=True)
    return root, json.loads((root / "manifest.json").read_text(encoding="utf-8"))


def _all_paths(cases: list[dict]) -> list[str]:
    return [p for c in cases for p in c["paths"]]


def _binary_origins(cases: list[dict]) -> list[str]:
    return [p for c in cases if c["name"].startswith("binary-") for p in c["paths"]
            if not p.endswith(("a_before.jsonl", "z_after.jsonl"))]


def test_corpus_covers_every_kind(corpus):
    _, cases = corpus
    kinds = {c["kind"] for c in cases}
    assert {"jsonl", "jsonfeed", "csv", "text", "feed", "warc", "file", "folder"} <= kinds
    assert len(cases) >= 115
    names = {c["name"] for c in cases}
    for wanted in ("date-1e30", "date-9999-minus14", "json-deep-nesting-record", "json-5000-digit-int",
                   "feed-unclosed-doctype", "warc-content-length-1e23", "special-fifo", "special-dev-zero-symlink",
                   "csv-field-over-131072", "folder-symlinks-out", "binary-bin-ls", "opml-deep-nesting"):
        assert wanted in names


def test_ingest_of_the_whole_corpus(corpus, tmp_path):
    _, cases = corpus
    data = tmp_path / "data"
    code, seconds, rss_mb, _, err, timed_out = _run(["ingest", "--data-dir", str(data), *_all_paths(cases)],
                                                    DEADLINE_S, tmp_path)
    text = err.decode("utf-8", "replace")
    assert not timed_out, f"ingest still running after {DEADLINE_S} s"
    assert "Traceback" not in text and "MemoryError" not in text, text[-3000:]
    assert rss_mb * 2**20 < MEMORY_LIMIT
    assert code == 3  # some items failed, the rest stored
    with sqlite3.connect(data / "storyline.db") as conn:
        rows = conn.execute("SELECT title, origin FROM articles").fetchall()
    titles = {t for t, _ in rows}
    lost = [m for c in cases for m in c["markers"] if m not in titles]
    assert not lost
    binary = _binary_origins(cases)
    assert not [o for _, o in rows if any(o.startswith(b) for b in binary)]
    assert not [t for t, _ in rows if any(ch in t for ch in "\x00\x1b\x07\x9b")]


def test_digest_of_the_whole_corpus(corpus, tmp_path):
    _, cases = corpus
    code, seconds, rss_mb, out, err, timed_out = _run(["digest", "--json", *_all_paths(cases)], DEADLINE_S, tmp_path)
    text = err.decode("utf-8", "replace")
    assert not timed_out, f"digest still running after {DEADLINE_S} s"
    assert "Traceback" not in text and "MemoryError" not in text, text[-3000:]
    assert rss_mb * 2**20 < MEMORY_LIMIT and code == 0
    assert b"\x1b" not in out
    rows = _digest_titles(out)
    titles = {t for t, _ in rows}
    assert not [m for c in cases for m in c["markers"] if m not in titles]
    binary = _binary_origins(cases)
    assert not [o for _, o in rows if any(o.startswith(b) for b in binary)]
