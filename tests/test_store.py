"""SQLite store: migrations, idempotent ingest, crash consistency under SIGKILL."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys


import pytest

from conftest import DEMO, ROOT, another_store, run_cli
from storyline.config import Settings
from storyline.errors import StorageError
from storyline.ingest import read_paths
from storyline.engine import Engine, open_engine
from storyline.store import open_store
from storyline.store.migrate import migrations


def test_migrations_apply_once_and_record_the_version(data_dir):
    store = open_store(Settings(data_dir=data_dir))
    assert store.schema_version == migrations()[-1][0]
    store.close()
    again = open_store(Settings(data_dir=data_dir))
    assert again.schema_version == migrations()[-1][0]


def test_component_state_is_written_as_json_writes_it_and_read_back_exactly():
    """The state codec writes with orjson: the same data as the standard library's JSON (floats
    bit for bit, numpy scalars and arrays, sets, bytes), what orjson refuses falls back to it, and
    a state written by the old encoder (``json.dumps``) reads the same."""
    import numpy as np

    from storyline.store import state as codec

    floats = [0.1, 1e-05, 5e-324, 1.7976931348623157e308, -0.0, 1e16, 123456789.123456789, 2 / 3]
    state = {"floats": floats, "f32": np.float32(0.1), "f64": np.float64(1 / 3), "i64": np.int64(2**62),
             "bool": np.bool_(True), "array": np.arange(6, dtype="<f4").reshape(2, 3) / 7, "ints": np.arange(3),
             "set": {"b", "a"}, "bytes": b"\x00\xff", "text": "caf\u00e9 \u2014", "none": None,
             "nested": [{"w": 0.30000000000000004, "n": [1, 2.5]}]}
    old = json.dumps(state, default=codec._default, separators=(",", ":"))  # the encoder before orjson
    new = codec.dumps(state)
    assert json.loads(new) == json.loads(old)
    back, before = codec.loads(new), codec.loads(old)
    assert [x.hex() for x in back["floats"]] == [x.hex() for x in floats]
    assert back["f32"] == float(np.float32(0.1)) and back["f64"] == 1 / 3 and back["i64"] == 2**62
    assert back["array"].dtype == np.float32 and back["array"].tobytes() == before["array"].tobytes()
    assert back["ints"].tolist() == [0, 1, 2] and back["set"] == ["a", "b"] and back["bytes"] == b"\x00\xff"
    assert {k: v for k, v in back.items() if k not in ("array", "ints")} == \
           {k: v for k, v in before.items() if k not in ("array", "ints")}
    # what orjson refuses (a non-str key, a lone surrogate) is written by json, as before
    for odd in ({1: "one", "2": 2.5}, {"s": "\ud800"}):
        assert codec.dumps(odd) == json.dumps(odd, separators=(",", ":"))
    with pytest.raises(TypeError, match="cannot save"):
        codec.dumps({"x": object()})


def test_newer_database_is_refused_with_a_clear_message(data_dir):
    open_store(Settings(data_dir=data_dir)).close()
    db = sqlite3.connect(data_dir / "storyline.db")
    db.execute("PRAGMA user_version = 999")
    db.close()
    with pytest.raises(StorageError, match="newer than this storyline"):
        open_store(Settings(data_dir=data_dir))


def test_damaged_database_is_refused_by_name_and_left_as_it_was(data_dir, tmp_path):
    data_dir.mkdir(parents=True)
    junk = b"not a database, a half-copied file" * 200
    (data_dir / "storyline.db").write_bytes(junk)
    with pytest.raises(StorageError, match=r"storyline\.db: file is not a database .*storyline backup"):
        open_store(Settings(data_dir=data_dir))
    assert (data_dir / "storyline.db").read_bytes() == junk  # nothing written over what the user has
    done = run_cli("ingest", "--data-dir", str(data_dir), str(DEMO))
    assert done.returncode != 0 and "file is not a database" in done.stderr and "Traceback" not in done.stderr


def test_store_matches_one_shot_digest_and_reopens(store_settings):
    store = open_engine(store_settings)
    result = store.add_articles(read_paths([DEMO]))
    assert result.new == sum(1 for line in DEMO.open() if line.strip())
    counts = store.counts()
    store.close()
    reopened = open_store(store_settings)
    assert reopened.counts() == counts
    top = reopened.list_stories(limit=1)[0]
    story = reopened.story(top["id"])
    assert story is not None and story.summary is not None and story.summary.sentences
    assert top["size"] == story.size and top["duplicates"] == story.duplicates


@pytest.mark.parametrize("share", [0.375, 0.5, 0.625])
def test_split_ingest_continues_the_same_stories(store_settings, tmp_path, share):
    """Two ingest runs give the stories one run gives, wherever the input is cut (each run ends
    with a consolidation; session 20's first model broke this at 8 of 18 cuts of the demo, when a
    lone headline merged into the wrong story at the first run's end)."""
    lines = [line for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    half = round(len(lines) * share)
    (tmp_path / "a.jsonl").write_text("\n".join(lines[:half]) + "\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text("\n".join(lines[half:]) + "\n", encoding="utf-8")
    one = open_engine(another_store(store_settings, "one"))
    one.add_articles(read_paths([DEMO]))
    two_settings = another_store(store_settings, "two")
    two = open_engine(two_settings)
    two.add_articles(read_paths([tmp_path / "a.jsonl"]))
    two.close()
    two = open_engine(two_settings)
    two.add_articles(read_paths([tmp_path / "b.jsonl"]))
    def stories(store):  # ids are kept under their file's name, so compare the file's own ids, grouped by story
        groups: dict[str, set[str]] = {}
        for r in store.iter_articles():
            groups.setdefault(r["story_id"], set()).add(r["id"].rsplit(":", 1)[-1])
        return sorted(sorted(g) for g in groups.values())

    assert stories(one) == stories(two)


KILLER = """
import sys, time
from storyline.config import Settings
from storyline.ingest import read_paths
from storyline.engine import open_engine
store = open_engine(Settings(data_dir=sys.argv[1], database_url=sys.argv[3]))
def slow():
    for i, art in enumerate(read_paths([sys.argv[2]])):
        if i == 40:
            print("ready", flush=True)
            time.sleep(60)
        yield art
store.add_articles(slow(), batch_size=16)
"""


def test_sigkill_mid_ingest_leaves_a_consistent_db_and_rerun_completes(store_settings):
    data_dir = store_settings.data_dir
    proc = subprocess.Popen([sys.executable, "-c", KILLER, str(data_dir), str(DEMO), store_settings.database_url],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    if not store_settings.database_url:
        db = sqlite3.connect(data_dir / "storyline.db")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
    db = open_store(store_settings).db
    stored = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert stored == 32  # two whole batches of 16; the third was never committed
    assert db.execute("SELECT count(*) FROM articles a LEFT JOIN stories s ON s.id = a.story_id WHERE s.id IS NULL").fetchone()[0] == 0
    store = open_engine(store_settings)
    result = store.add_articles(read_paths([DEMO]))
    total = sum(1 for line in DEMO.open() if line.strip())
    assert result.already_stored == 32 and store.counts()["articles"] == total
    assert not store.db.execute("SELECT count(*) FROM stories WHERE dirty = 1").fetchone()[0]
    fresh = open_engine(another_store(store_settings, "fresh"))
    fresh.add_articles(read_paths([DEMO]))
    assert {r["id"]: r["story_id"] for r in store.iter_articles()} == {r["id"]: r["story_id"] for r in fresh.iter_articles()}
    assert json.loads(json.dumps(list(store.iter_stories())))


def test_merges_found_at_the_end_of_an_ingest_are_stored_and_resolve(store_settings):
    # A clusterer that never joins on arrival leaves every article alone; the end-of-run
    # consolidation then merges mutually-best stories, and the store must record and apply it.
    from storyline.cluster import StoryClusterer, story_id_for
    from storyline.models import Article

    def strict(settings):
        return StoryClusterer(join_threshold=1.01, loose_threshold=2.0, mutual_threshold=0.0)

    arts = [
        Article(id="q1", title="Magnitude 6.1 quake strikes off Tonga coast",
                text="A magnitude 6.1 earthquake struck off the coast of Tonga early Tuesday, the USGS said."),
        Article(id="q2", title="Tonga shaken by strong undersea earthquake",
                text="Residents felt strong shaking on Tuesday when an undersea earthquake of magnitude 6.1 hit near Tonga."),
    ]
    store = Engine(open_store(store_settings), clusterer_factory=strict)
    store.add_articles(arts)
    rows = store.db.execute("SELECT old_id, new_id, reason FROM story_merges").fetchall()
    assert [tuple(r) for r in rows] == [(story_id_for("q2"), story_id_for("q1"), "clusterer")]
    stories = {r[0] for r in store.db.execute("SELECT story_id FROM articles")}
    assert stories == {story_id_for("q1")}, "both articles now belong to the kept story"
    store.close()
    reopened = Engine(open_store(store_settings), clusterer_factory=strict)
    listed = reopened.list_stories(limit=10)
    assert [(s["id"], s["size"]) for s in listed] == [(story_id_for("q1"), 2)]


def test_a_write_session_lets_the_log_grow_and_puts_the_default_back(data_dir):
    """During a write session the write-ahead log is folded into the database every 16,000 pages
    instead of SQLite's 1,000 (fewer checkpoints, each page copied once: docs/scale.md, session
    39); the session's end puts SQLite's default back, and nothing is lost."""
    from storyline.store.sqlite import DEFAULT_WAL_PAGES, SESSION_WAL_PAGES

    store = open_store(Settings(data_dir=data_dir))
    autocheckpoint = lambda: store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]  # noqa: E731
    wal = data_dir / "storyline.db-wal"
    assert autocheckpoint() == DEFAULT_WAL_PAGES
    blob = "x" * 400_000
    with store.writer("test"):
        assert autocheckpoint() == SESSION_WAL_PAGES
        for n in range(30):  # about 3,000 pages: past SQLite's default, under the session's
            with store.transaction():
                store.put_checkpoint(f"big-{n}", blob + str(n))
        # no commit folded the log in (it would then be written again from its start, under 5 MB)
        assert wal.stat().st_size > 2 * DEFAULT_WAL_PAGES * 4096
    assert autocheckpoint() == DEFAULT_WAL_PAGES
    assert all(store.get_checkpoint(f"big-{n}") == blob + str(n) for n in range(30))
    store.close()
    assert not wal.exists()  # closed: folded in
    db = sqlite3.connect(data_dir / "storyline.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
