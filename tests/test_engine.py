"""The engine over a store: one writer, state that names its makers, complete resume, rebuild,
and migrations that two processes can run at once. Each test first failed on the code before
the engine/store split (see the commit message)."""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import DEMO, ROOT, another_store, store_args
from storyline.cluster import StoryClusterer
from storyline.config import Settings
from storyline.engine import Engine, StateMismatch, open_engine
from storyline.ingest import read_paths
from storyline.models import Article
from storyline.store import WriterBusy, open_store
from storyline.store.migrate import migrations
from storyline.text.embed import WordLlamaEmbedder

QUAKE = [
    Article(id="q1", title="Magnitude 6.1 quake strikes off Tonga coast", source="Wire A",
            text="A magnitude 6.1 earthquake struck off the coast of Tonga early Tuesday, the USGS said."),
    Article(id="q2", title="Tonga shaken by strong undersea earthquake", source="Wire B",
            text="Residents felt strong shaking on Tuesday when an undersea earthquake of magnitude 6.1 hit near Tonga."),
]


def strict(settings: Settings) -> StoryClusterer:
    """Never joins on arrival, so only the end-of-input consolidation merges (q1 and q2)."""
    return StoryClusterer(join_threshold=1.01, loose_threshold=2.0, mutual_threshold=0.0)


class TinyEmbedder:
    """A deterministic 8-dimensional embedder standing in for a changed ``embedder`` setting."""

    name = "tiny-hash.v1"
    dim = 8

    def embed(self, texts):  # type: ignore[no-untyped-def]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, hash(word) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


def tiny(settings: Settings) -> StoryClusterer:
    return StoryClusterer(window_days=settings.cluster_window_days, embedder=TinyEmbedder())


def partition(engine) -> set[frozenset[str]]:  # type: ignore[no-untyped-def]
    groups: dict[str, set[str]] = {}
    for row in engine.iter_articles():
        groups.setdefault(row["story_id"], set()).add(row["id"])
    return {frozenset(g) for g in groups.values()}


def demo_lines() -> list[str]:
    return [line for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]


# -- one writer ---------------------------------------------------------------------------------
def test_two_writers_never_diverge(store_settings):
    """Writer A holds its stream state in memory; writer B stores an article; A then receives a
    verbatim copy from another outlet. A must see B's article: a reprint, in the same story."""
    a = open_engine(store_settings)
    b = open_engine(store_settings)
    a.add_articles([Article(id="other", title="Council approves harbour budget", source="Local",
                            text="The council approved the harbour budget on Monday after a long debate.")])
    original = Article(id="b-1", title="Storm closes Port Averill ferry terminal", source="Coast Post",
                       text="A winter storm closed the Port Averill ferry terminal on Friday, the port authority said, "
                            "and all sailings were cancelled until Saturday morning at the earliest.")
    b.add_articles([original])
    copy = Article(id="a-1", title=original.title, text=original.text, source="Syndicated Daily")
    result = a.add_articles([copy])
    assert result.reprints == 1
    story = {r["id"]: r["story_id"] for r in a.iter_articles()}
    assert story["a-1"] == story["b-1"]
    # whichever saved last, the saved state holds both writers' work: a third writer agrees
    c = open_engine(store_settings)
    third = c.add_articles([Article(id="c-1", title=original.title, text=original.text, source="Third")])
    assert third.reprints == 1 and {r["id"]: r["story_id"] for r in c.iter_articles()}["c-1"] == story["b-1"]


def test_a_second_writer_is_refused_with_the_holder_named(store_settings):
    first = open_store(store_settings)
    engine = open_engine(store_settings.with_(writer_wait=0.3))
    with first.writer("storyline watch"):
        with pytest.raises(WriterBusy) as refused:
            engine.add_articles(QUAKE)
    message = str(refused.value)
    assert f"pid {os.getpid()}" in message and "storyline watch" in message and "since 20" in message
    assert engine.counts()["articles"] == 0, "nothing changed"
    assert engine.add_articles(QUAKE).new == 2, "the lock is free again once the first writer is done"


def test_two_ingest_processes_end_as_one_sequential_ingest(tmp_path, store_settings):
    """Two `storyline ingest` started together over two halves (copies across the halves): the
    second waits for the first; the end state is a sequential ingest of the two halves."""
    lines = demo_lines()
    half = len(lines) // 2
    (tmp_path / "a.jsonl").write_text("\n".join(lines[:half]) + "\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text("\n".join(lines[half:]) + "\n", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-m", "storyline", "ingest", str(tmp_path / f"{p}.jsonl"),
                               *store_args(store_settings)], env=env, stderr=subprocess.PIPE, text=True)
             for p in ("a", "b")]
    outs = [p.communicate(timeout=600)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    got = open_engine(store_settings)
    orders = []
    for first, second in (("a", "b"), ("b", "a")):
        seq = open_engine(another_store(store_settings, f"seq_{first}{second}"))
        seq.add_articles(read_paths([tmp_path / f"{first}.jsonl"]))
        seq.add_articles(read_paths([tmp_path / f"{second}.jsonl"]))
        orders.append(seq)
    reprints = lambda e: {r["id"]: r["reprint_of"] for r in e.iter_articles()}  # noqa: E731
    assert got.counts()["articles"] == len(lines)
    assert any(reprints(got) == reprints(s) and partition(got) == partition(s) and got.counts() == s.counts()
               for s in orders)
    cross = [i for i, r in reprints(got).items() if r]
    assert cross, "the halves share copies, so a diverging writer would show"


# -- state that names its makers ----------------------------------------------------------------
def test_a_state_saved_before_makers_were_named_is_held_to_the_models_of_its_time(store_settings):
    """A state saved with no maker (schema < 4) was made by the engine of its time: today's is
    refused unless its model files are those, and the message names `storyline rebuild`."""
    from storyline.engine import LEGACY_MAKER, STATE_NAME, maker_of

    engine = Engine(open_store(store_settings))
    engine.add_articles(read_paths([DEMO]))
    saved = engine.store.load_state(STATE_NAME)
    with engine.store.transaction():
        engine.store.save_state(STATE_NAME, kind=saved.kind, maker="", state=saved.state)
    later = Engine(open_store(store_settings))
    if maker_of(later.clusterer_factory(later.settings)) == LEGACY_MAKER:
        later.check_state()  # the same models as then: resumed
        return
    with pytest.raises(StateMismatch) as refused:
        later.check_state()
    assert "did not name its makers" in str(refused.value) and "storyline rebuild" in str(refused.value)


def test_a_state_saved_before_makers_named_the_embedders_files_resumes_and_other_files_are_refused(store_settings):
    """Makers saved before they named the embedder's files were made with the files of
    wordllama 0.3.7-0.4.0.post1, today's: such a state resumes. One that names other files (a
    wordllama release that shipped other vectors under the same name) is refused by name."""
    from storyline.engine import STATE_NAME

    engine = Engine(open_store(store_settings))
    engine.add_articles(read_paths([DEMO]))
    saved = engine.store.load_state(STATE_NAME)
    maker = json.loads(saved.maker)
    assert maker["embedder files"] == WordLlamaEmbedder().key()
    for files, resumes in ((None, True), ("0123456789abcdef", False)):
        then = {k: v for k, v in maker.items() if k != "embedder files"}
        if files:
            then["embedder files"] = files
        with engine.store.transaction():
            engine.store.save_state(STATE_NAME, kind=saved.kind, maker=json.dumps(then), state=saved.state)
        later = Engine(open_store(store_settings))
        if resumes:
            later.check_state()
            continue
        with pytest.raises(StateMismatch) as refused:
            later.check_state()
        assert f"embedder files 0123456789abcdef -> {maker['embedder files']}" in str(refused.value)
        assert "storyline rebuild" in str(refused.value)


def test_changed_embedder_gets_one_clear_message_then_rebuild_matches_a_fresh_ingest(store_settings):
    Engine(open_store(store_settings)).add_articles(read_paths([DEMO]))
    changed = Engine(open_store(store_settings), clusterer_factory=tiny)
    with pytest.raises(StateMismatch) as refused:
        changed.add_articles([Article(id="late", title="A late article", text="Some late text about nothing.")])
    message = str(refused.value)
    assert "embedder wordllama-l2-supercat.v1/256 -> tiny-hash.v1/8" in message
    assert "storyline rebuild" in message
    assert changed.counts()["articles"] == 97
    old_ids = {r["id"] for r in changed.list_stories(limit=None)}
    stats = changed.rebuild()
    fresh = Engine(open_store(another_store(store_settings, "fresh")), clusterer_factory=tiny)
    fresh.add_articles(read_paths([DEMO]))
    assert partition(changed) == partition(fresh)
    assert changed.counts()["stories"] == fresh.counts()["stories"] == stats["stories"]
    kept = {r["id"] for r in changed.list_stories(limit=None)} & old_ids
    assert kept, "stories that match keep their ids"
    # and the rebuilt store resumes with the new engine
    assert changed.add_articles([Article(id="late", title="A late article", text="Some late text.")]).new == 1


def test_changed_model_on_the_command_line_is_one_message_not_a_traceback(store_settings):
    from conftest import run_cli

    where = store_args(store_settings)
    assert run_cli("ingest", str(DEMO), *where).returncode == 0
    db = open_store(store_settings)
    saved = db.load_state("clusterer")
    assert saved is not None and json.loads(saved.maker)["embedder"].startswith("wordllama")
    with db.transaction():
        maker = json.loads(saved.maker)
        maker["idf"] = "0000000000000000"
        db.db.execute("UPDATE engine_state SET maker = ? WHERE name = 'clusterer'", (json.dumps(maker, sort_keys=True),))
    db.close()
    res = run_cli("ingest", str(DEMO), *where)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "idf 0000000000000000 -> " in res.stderr and "storyline rebuild" in res.stderr
    res = run_cli("rebuild", *where)
    assert res.returncode == 0, res.stderr
    assert run_cli("ingest", str(DEMO), *where).returncode == 0


# -- resume is complete -------------------------------------------------------------------------
KILL_BEFORE_CONSOLIDATION = """
import os, signal, sys
sys.path.insert(0, sys.argv[2])
from test_engine import QUAKE, strict
from storyline.config import Settings
from storyline.engine import open_engine
from storyline.pipeline import Pipeline
Pipeline.finish = lambda self: os.kill(os.getpid(), signal.SIGKILL)
open_engine(Settings(data_dir=sys.argv[1], database_url=sys.argv[3]), clusterer_factory=strict).add_articles(QUAKE)
"""


def test_kill_after_the_last_batch_before_consolidation_is_repaired_by_the_next_run(store_settings):
    proc = subprocess.run([sys.executable, "-c", KILL_BEFORE_CONSOLIDATION, str(store_settings.data_dir),
                           str(ROOT / "tests"), store_settings.database_url],
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    killed = open_engine(store_settings, clusterer_factory=strict)
    assert killed.counts()["articles"] == 2 and killed.counts()["merges"] == 0, "died before consolidating"
    result = killed.add_articles([])  # the rerun has nothing new
    assert result.new == 0
    whole = open_engine(another_store(store_settings, "whole"), clusterer_factory=strict)
    whole.add_articles(QUAKE)
    assert whole.counts()["merges"] == 1
    assert killed.counts() == whole.counts()
    assert partition(killed) == partition(whole)
    assert not killed.dirty_story_ids()


# -- migrations ---------------------------------------------------------------------------------
def _open(path: str, url: str, start: float) -> str:
    time.sleep(max(0.0, start - time.time()))
    try:
        store = open_store(Settings(data_dir=Path(path), database_url=url))
        version = store.schema_version
        store.close()
        return f"ok {version}"
    except Exception as exc:  # noqa: BLE001 - reported to the test
        return f"{type(exc).__name__}: {exc}"


def test_processes_opening_a_new_store_at_once_all_succeed(store_settings):
    ctx = multiprocessing.get_context("fork")
    for attempt in range(4):
        new = another_store(store_settings, f"new{attempt}")
        start = time.time() + 0.5
        with ctx.Pool(4) as pool:
            results = pool.starmap(_open, [(str(new.data_dir), new.database_url, start)] * 4)
        assert results == [f"ok {migrations()[-1][0]}"] * 4, results


def test_readers_neither_wait_for_the_writer_nor_see_half_a_batch(store_settings):
    """While a writer is inside a batch's transaction, a reader (another connection, as `serve`
    or `stories` would be) answers at once with the state before the batch."""
    writer = open_engine(store_settings)
    writer.add_articles(QUAKE[:1])
    reader = open_store(store_settings)
    with writer.writing(), writer.store.transaction():
        writer.store.insert_article(QUAKE[1], canonical="q2", story="s-half", batch=99, now="2026-01-01T00:00:00+00:00")
        writer.store.touch_story("s-half", "2026-01-01T00:00:00+00:00")
        start = time.monotonic()
        seen = reader.counts()
        assert time.monotonic() - start < 2.0
        assert seen["articles"] == 1 and seen["stories"] == 1
        assert [r["id"] for r in reader.list_stories()] != ["s-half"]
    assert reader.counts()["articles"] == 2, "committed, the whole batch shows"


# -- every consumer of the consolidation follows its moves -----------------------------------------
def _forced_wrong_join():  # type: ignore[no-untyped-def]
    """The quake reports and a Chile report that a clusterer puts into the Iran quake's story on
    arrival; its consolidation moves it to the Chile story (``moved_``, as in test_cluster)."""
    from datetime import timedelta

    from test_cluster import event_articles

    from storyline.cluster import story_id_for

    arts = [a for a in event_articles() if a.id.startswith("quake")]
    extra = Article(id="quake1-3", title="Chile counts damage in Iquique after 8.2 quake",
                    text="Iquique and Arica cleared debris on Thursday after the magnitude 8.2 earthquake off northern "
                         "Chile; Bachelet promised aid and the tsunami alert was lifted.",
                    source="outlet9", published=max(a.published for a in arts) + timedelta(hours=1))

    class Forced(StoryClusterer):
        def decide(self, article_id, vec):  # type: ignore[no-untyped-def]
            story, cands, x = super().decide(article_id, vec)
            return (story_id_for("quake0-0") if article_id.endswith(extra.id) else story), cands, x

    return [*arts, extra], lambda settings=None: Forced(refine_rounds=2, refine_min_p=0.3)


def test_rebuild_and_backfill_windows_follow_the_consolidations_moves(store_settings):
    """``Engine.rebuild`` and the backfill's windows place an article where the consolidation
    moved it, as an ingest and ``Pipeline.story_id`` do (both once read only ``merges_``)."""
    from storyline.backfill.extract import Staged
    from storyline.backfill.stories import cluster_window
    from storyline.cluster.features import represent

    arts, make = _forced_wrong_join()
    engine = Engine(open_store(store_settings), clusterer_factory=make)
    engine.add_articles(arts)
    given = lambda engine: {r["id"].rsplit(":", 1)[-1]: r["story_id"] for r in engine.iter_articles()}  # noqa: E731
    ingested = given(engine)
    assert ingested["quake1-3"] == ingested["quake1-0"] != ingested["quake0-0"]
    engine.rebuild()
    rebuilt = given(engine)
    assert rebuilt["quake1-3"] == rebuilt["quake1-0"] != rebuilt["quake0-0"]

    clusterer = make()
    vectors = represent(arts, clusterer.embedder, clusterer.idf)
    staged = [Staged((i, 0, i), a, None, v) for i, (a, v) in enumerate(zip(arts, vectors))]
    window = cluster_window(("all", 0), staged, make).stories
    assert window["quake1-3"] == window["quake1-0"] != window["quake0-0"]
