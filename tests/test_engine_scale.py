"""The engine's ingest at scale (issue 20): clustering splits reach the store, run-ahead ingest
decides exactly as in one process, parallel summary refresh writes what one process would, and
batches resolve redirects with indexed look-ups. Each runs on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from conftest import DEMO, ROOT, another_store
from storyline import related
from storyline.cluster import StoryClusterer
from storyline.cluster.base import story_id_for
from storyline.config import Settings
from storyline.engine import Engine, open_engine
from storyline.models import Article
from storyline.pipeline import Pipeline
from storyline.refresh import REFRESH_CHUNK, EarlyRefresh

QUAKE = [
    Article(id="q1", title="Magnitude 6.1 quake strikes off Tonga coast", source="Wire A",
            text="A magnitude 6.1 earthquake struck off the coast of Tonga early Tuesday, the USGS said. "
                 "No tsunami warning was issued for the islands."),
    Article(id="q2", title="Tonga shaken by strong undersea earthquake", source="Wire B",
            text="Residents felt strong shaking on Tuesday when an undersea earthquake of magnitude 6.1 hit near "
                 "Tonga. The USGS said no tsunami was expected."),
    Article(id="q3", title="Undersea quake rattles Tonga, no tsunami threat", source="Wire C",
            text="An undersea earthquake of magnitude 6.1 rattled Tonga on Tuesday; officials said there was no "
                 "tsunami threat to the islands."),
]
BUDGET = [
    Article(id="b1", title="Council approves harbour budget after long debate", source="Local",
            text="The city council approved the harbour budget on Monday after a long debate over dredging costs "
                 "and the ferry terminal."),
    Article(id="b2", title="Harbour budget passes council vote", source="Gazette",
            text="Councillors passed the harbour budget by nine votes to four on Monday, ending weeks of debate "
                 "over dredging and the ferry terminal."),
    Article(id="b3", title="Dredging costs dominate harbour budget debate", source="Herald",
            text="Dredging costs dominated Monday's council debate before the harbour budget was approved, with "
                 "the ferry terminal upgrade delayed."),
]
REPRINT = replace(BUDGET[0], id="b1-copy", source="Syndicated")  # a verbatim copy: a reprint of b1


def lumping(settings: Settings) -> StoryClusterer:
    """Joins every article to the first story on arrival, then splits it at consolidation when
    its members form two groups (the real clusterer, with its split rule made unconditional)."""
    return StoryClusterer(join_threshold=0.0, headline_join_threshold=0.0, loose_threshold=-1.0,
                          merge_model=None, mutual_threshold=2.0, merge_threshold=2.0,
                          split_min_part=2, split_threshold=1.01, split_separation=10.0)


def partition(engine: Engine) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for row in engine.iter_articles():
        groups.setdefault(row["story_id"], set()).add(row["id"])
    return {frozenset(g) for g in groups.values()}


def test_a_clustering_split_moves_the_stored_articles_and_is_recorded(store_settings):
    stream = QUAKE[:1] + BUDGET[:1] + QUAKE[1:] + BUDGET[1:] + [REPRINT]
    memory = Pipeline(store_settings, clusterer=lumping(store_settings))
    memory.add(list(stream))
    memory.finish()
    expected = {frozenset({"q1", "q2", "q3"}), frozenset({"b1", "b2", "b3", "b1-copy"})}
    grouped: dict[str, set[str]] = {}
    for art in stream:
        grouped.setdefault(memory.story_id(art.id), set()).add(art.id)
    assert {frozenset(g) for g in grouped.values()} == expected, "the clusterer itself must split here"

    engine = open_engine(store_settings, clusterer_factory=lumping)
    engine.add_articles(list(stream))
    assert partition(engine) == expected  # the store follows the split, reprint with its original
    stories = {s["id"]: s for s in engine.iter_stories()}
    assert len(stories) == 2 and not engine.dirty_story_ids()
    assert sorted(s["size"] for s in stories.values()) == [3, 3]
    splits = engine.store.db.execute("SELECT old_id, new_id, reason FROM story_splits").fetchall()
    assert len(splits) == 1 and splits[0][2] == "clusterer"
    assert {splits[0][0], splits[0][1]} == set(stories)
    for story in stories.values():  # each summary is made of its own story's reports only
        assert set(story["articles"]) in expected
        assert {s["article_id"] for s in story["sentences"]} <= set(story["articles"])

    # a later run resumes from the saved state: the moved articles stay where the split put them
    again = open_engine(store_settings, clusterer_factory=lumping)
    again.add_articles([Article(id="q4", title="Tonga quake: no damage reported", source="Wire D",
                                text="No damage was reported after Tuesday's magnitude 6.1 undersea earthquake near "
                                     "Tonga, officials said.")])
    assert frozenset({"b1", "b2", "b3", "b1-copy"}) in partition(again)


def test_ingest_prepared_ahead_decides_as_one_process(store_settings):
    """More than two batches go through the run-ahead helper: same stories, reprints and ids
    as the one-process ingest (workers=0)."""
    stream = []
    for n in range(4):  # nine batches of 3 (batch_size 3)
        for art in QUAKE + BUDGET:
            stream.append(replace(art, id=f"{art.id}-{n}", title=f"{art.title} ({n})"))
    stream.append(replace(QUAKE[0], id="copy-of-q1-0", title=f"{QUAKE[0].title} (0)", source="Copy"))
    ahead = open_engine(store_settings.with_(workers=1))
    one = open_engine(another_store(store_settings, "one").with_(workers=0))
    r_ahead = ahead.add_articles([replace(a) for a in stream], batch_size=3)
    r_one = one.add_articles([replace(a) for a in stream], batch_size=3)
    assert (r_ahead.new, r_ahead.reprints) == (r_one.new, r_one.reprints)
    assert r_ahead.new == len(stream) and 0 < r_ahead.reprints < len(stream)  # the retitled copies are near copies
    rows_ahead = [(r["id"], r["story_id"], r["reprint_of"], r["language"], r["title"]) for r in ahead.iter_articles()]
    rows_one = [(r["id"], r["story_id"], r["reprint_of"], r["language"], r["title"]) for r in one.iter_articles()]
    assert rows_ahead == rows_one
    assert [(s["id"], s["headline"], s["summary"]) for s in ahead.iter_stories()] == \
           [(s["id"], s["headline"], s["summary"]) for s in one.iter_stories()]
    # re-ingesting the same input through the helper adds nothing
    assert ahead.add_articles([replace(a) for a in stream], batch_size=3).already_stored == len(stream)


def word_salad(n: int = 140) -> list[Article]:
    """``n`` articles of random words from the quake and budget reports: with :func:`apart`, one
    story each (140: more than two refresh chunks of 64)."""
    rng = random.Random(7)
    words = sorted({w.strip(".,;'").lower() for a in QUAKE + BUDGET for w in (a.title + " " + a.text).split()})
    stream = []
    for k in range(n):
        sentences = [" ".join(rng.sample(words, 12)).capitalize() + f" {k * 37 + j}." for j in range(3)]
        stream.append(Article(id=f"s{k}", title=" ".join(rng.sample(words, 6)).capitalize(), text=" ".join(sentences),
                              source=f"Outlet {k % 5}"))
    return stream


def apart(settings: Settings) -> StoryClusterer:
    """A clusterer that never joins or merges: every article its own story."""
    return StoryClusterer(join_threshold=1.01, loose_threshold=2.0, mutual_threshold=2.0, merge_model=None,
                          merge_threshold=2.0, refine_rounds=0, one_sided_size=0)


def test_parallel_refresh_writes_what_one_process_writes(store_settings, monkeypatch):
    monkeypatch.setattr(related, "PENDING_CHUNK", 32)  # lists owed in several chunks: compared in helpers
    ahead, compare_ahead = [], related.refresh_pending_ahead
    monkeypatch.setattr(related, "refresh_pending_ahead", lambda *a: ahead.append(compare_ahead(*a)) or ahead[-1])
    stream = word_salad()
    settings = store_settings.with_(workers=1)
    pooled = open_engine(settings, clusterer_factory=apart)
    pooled.add_articles(stream, refresh=False)
    dirty = pooled.dirty_story_ids()
    assert len(dirty) > 128
    calls = []
    assert pooled.refresh_stories(meanwhile=lambda: calls.append(len(calls))) == len(dirty)
    assert calls == [0]  # the ingest's checkpoint: once, while the helpers summarize
    one = Engine(pooled.store, store_settings.with_(workers=0))
    got = {s["id"]: (s["headline"], s["summary"], s["size"]) for s in pooled.iter_stories()}
    assert all(h for h, _, _ in got.values()) and not pooled.dirty_story_ids()
    vectors = dict(pooled.store.db.execute("SELECT story_id, terms FROM story_vectors").fetchall())
    assert set(vectors) == set(got)
    lists = related_lists(pooled)
    assert len(lists) > 100 and not related.pending(pooled.store)
    assert len(ahead) == 1 and ahead[0] > 4 * 32  # the pooled refresh's lists, in helpers
    assert one.refresh_stories(dirty) == len(dirty)  # the same stories, summarized here alone
    assert {s["id"]: (s["headline"], s["summary"], s["size"]) for s in one.iter_stories()} == got
    assert dict(one.store.db.execute("SELECT story_id, terms FROM story_vectors").fetchall()) == vectors
    assert related_lists(one) == lists


def test_the_ingest_keeps_the_vectors_of_the_batches_it_prepares_itself(store_settings, monkeypatch):
    stream = word_salad(24) + QUAKE + BUDGET + [REPRINT]
    settings = store_settings.with_(workers=0)  # no helper: every batch is prepared and decided here
    engine = open_engine(settings)
    engine.add_articles(stream, batch_size=8, refresh=False)
    originals = {a.id for a in stream} - {REPRINT.id}
    assert set(engine.article_vectors_) == originals
    embedded, represent = [], related.represent
    monkeypatch.setattr(related, "represent", lambda articles, *a: embedded.extend(articles) or represent(articles, *a))
    dirty = engine.dirty_story_ids()
    assert engine.refresh_stories() == len(dirty)
    assert embedded == []  # every story's vector made of its articles' kept vectors
    kept = story_vectors(engine)
    again = Engine(engine.store, settings)  # knows no vector: embeds the stored texts
    assert again.refresh_stories(dirty) == len(dirty)
    assert {a.id for a in embedded} == originals
    assert story_vectors(again) == kept and len(kept) == len(dirty)


def story_vectors(engine: Engine) -> list[tuple[object, ...]]:
    rows = engine.store.db.execute("SELECT story_id, embedder, dense, terms FROM story_vectors ORDER BY 1").fetchall()
    return [tuple(bytes(x) if isinstance(x, memoryview) else x for x in row) for row in rows]


def related_lists(engine: Engine) -> list[tuple[str, str, float]]:
    """Every stored related pair and its score."""
    return [tuple(r) for r in engine.store.db.execute("SELECT story_id, related_id, score FROM story_related ORDER BY 1, 2")]


def owing_many_lists(store_settings: Settings, monkeypatch) -> tuple[Engine, list[tuple[str, str, float]]]:  # type: ignore[no-untyped-def]
    """An engine whose 140 one-article stories over 23 days owe their related lists again
    (compared 16 a chunk), and the lists one process computes for them chunk after chunk."""
    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    stream = [replace(a, published=start + timedelta(days=k // 6)) for k, a in enumerate(word_salad())]  # 23 days
    engine = open_engine(store_settings.with_(workers=0), clusterer_factory=apart)
    engine.add_articles(stream)
    monkeypatch.setattr(related, "PENDING_CHUNK", 16)
    owe_all(engine)
    while True:  # the engine's loop without helpers, in chunks of 16
        with engine.store.transaction():
            if related.refresh_pending(engine.store, related.PENDING_CHUNK) < related.PENDING_CHUNK:
                break
    one = related_lists(engine)
    assert len(one) > 800 and not related.pending(engine.store)
    owe_all(engine)
    return engine, one


def owe_all(engine: Engine) -> None:
    with engine.store.transaction():
        engine.store.db.execute("UPDATE story_vectors SET related_at = NULL")
        engine.store.db.execute("DELETE FROM story_related")


def test_related_lists_compared_in_helpers_are_those_of_one_process(store_settings, monkeypatch):
    """Many owed lists (more than one chunk): each chunk's comparison runs in a spawned helper
    with its own connection, the writer merges and writes in order: the lists are those of the
    chunks computed one after the other here, to the bit."""
    engine, one = owing_many_lists(store_settings, monkeypatch)
    counted: list[int] = []
    n = len(related.pending(engine.store))
    assert n > 4 * 16
    assert related.refresh_pending_ahead(engine.store, engine.settings, 2, counted.append) == n
    assert counted == [16] * (n // 16) + [n % 16] * (n % 16 > 0) and not related.pending(engine.store)
    assert related_lists(engine) == one


def test_one_long_comparison_shared_with_a_forked_helper_gives_the_same_lists(store_settings, monkeypatch):
    """One comparison of many targets (every owed list at once, in chunks of 4) is shared with a
    forked helper, which takes chunks from the back: merged in the chunks' order, the lists are
    those of the chunks computed one after the other here, to the bit (elsewhere than Linux all
    chunks are compared here)."""
    engine, one = owing_many_lists(store_settings, monkeypatch)
    monkeypatch.setattr(related, "_CHUNK", 4)
    monkeypatch.setattr(related, "FORK_CHUNKS", 2)
    shared, calls = related.shared_pieces, []

    def sharing(n, work, helpers):  # type: ignore[no-untyped-def]
        calls.append((n, helpers))
        return shared(n, work, helpers)

    monkeypatch.setattr(related, "shared_pieces", sharing)
    with engine.store.transaction():
        assert related.refresh_pending(engine.store, None, helpers=1) > 4 * 16
    assert calls[0][0] > 4 * 16 // 4 and {h for _, h in calls} == {1}
    assert related_lists(engine) == one and not related.pending(engine.store)


def test_lists_owed_after_a_long_ingest_are_each_computed_once(store_settings, monkeypatch):
    """Compared in helpers, no owed list is computed twice: the writer recomputes none in full
    (``refresh`` does that when a changed story's score in another's list comes back lower, and
    at 100k about one list in six was, from float32 products summed in another order), because a
    score is the same whichever story is the row and each chunk is told which stories the chunks
    still in flight will have written (told none, their lists are recomputed)."""
    engine, one = owing_many_lists(store_settings, monkeypatch)
    recomputed, compare = [], related._compare

    def counting(store, ids, floor, **kw):  # type: ignore[no-untyped-def]
        if not kw.get("entering", True):
            recomputed.extend(ids)
        return compare(store, ids, floor, **kw)

    monkeypatch.setattr(related, "_compare", counting)
    assert related.refresh_pending_ahead(engine.store, engine.settings, 2) > 4 * 16
    assert recomputed == [] and related_lists(engine) == one


class Stages:
    """A progress that records each stage it is told of (as the command line's bar shows them)."""

    def __init__(self) -> None:
        self.seen: list[list] = [["input", None, 0]]

    def __call__(self, n: int) -> None:
        self.seen[-1][2] += n

    def phase(self, label: str, total: int | None = None) -> None:
        self.seen.append([label, total, 0])


def test_storyline_ingest_saves_the_state_while_its_refresh_summarizes(store_settings, tmp_path):
    """`storyline ingest` of a file (service.ingest_sources) leaves the clusterer's state to its
    final refresh, which saves it once its helpers have their first chunks: saved once, inside
    the refresh, and nothing left to replay. Its progress shows each stage after the input, with
    its size."""
    from storyline.engine import STATE_NAME
    from storyline.ingest import ReadReport
    from storyline.service import ingest_sources

    path = tmp_path / "salad.jsonl"
    path.write_text("".join(json.dumps({"id": a.id, "title": a.title, "text": a.text, "source": a.source}) + "\n"
                            for a in word_salad()), encoding="utf-8")
    engine = open_engine(store_settings.with_(workers=1), clusterer_factory=apart)
    calls: list[str] = []
    checkpoint, refresh_stories = engine.checkpoint, engine.refresh_stories

    def saving() -> None:
        calls.append("checkpoint")
        checkpoint()

    def refreshing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append("refresh")
        done = refresh_stories(*args, **kwargs)
        calls.append("refreshed")
        return done

    engine.checkpoint, engine.refresh_stories = saving, refreshing  # type: ignore[method-assign]
    stages = Stages()
    result = ingest_sources(engine, [str(path)], engine.settings, ReadReport(), stages).result
    assert result.new == 140 and engine.counts()["stories"] == 140
    assert stages.seen == [["input", None, 140], ["consolidating stories", None, 0], ["summarizing stories", 140, 140],
                           ["related stories", 140, 140]]
    assert calls == ["refresh", "checkpoint", "refreshed"]
    assert engine._batches_since_state == 0 and engine.store.load_state(STATE_NAME) is not None
    assert not engine.dirty_story_ids()


def test_stories_closed_during_ingest_are_summarized_early_as_at_the_end(store_settings):
    """A dated stream longer than the clusterer's window: the stories it closes are refreshed while
    the ingest goes on (helper: workers=1), and the store ends as one refreshed only at the end
    (workers=0), a reprint of an early-refreshed story's report included."""
    start, rng = datetime(2024, 3, 1, tzinfo=timezone.utc), random.Random(11)

    def retold(text: str) -> str:  # the same words in another order: the same story, not a reprint
        words = text.split()
        rng.shuffle(words)
        return " ".join(words)

    stream = [Article(id=f"{art.id}-{n}", title=f"{art.title} ({n})", text=retold(art.text), source=art.source,
                      published=start + timedelta(days=4 * n)) for n in range(5) for art in QUAKE + BUDGET]
    stream.append(Article(id="copy-of-q1-0", title=stream[0].title, text=stream[0].text, source="Copy",
                          published=start + timedelta(days=16, hours=1)))
    factory = lambda s: StoryClusterer(close_every=3)  # noqa: E731 - a sweep every three articles
    early = open_engine(store_settings.with_(workers=1), clusterer_factory=factory)
    end = open_engine(another_store(store_settings, "end").with_(workers=0), clusterer_factory=factory)
    r_early = early.add_articles([replace(a) for a in stream], batch_size=3)
    r_end = end.add_articles([replace(a) for a in stream], batch_size=3)
    assert (r_early.new, r_early.reprints) == (r_end.new, r_end.reprints) == (len(stream), 1)
    assert early.refreshed_early_ >= 4 and end.refreshed_early_ == 0  # the stories of the first days
    assert not early.dirty_story_ids()
    rows = lambda e: [(r["id"], r["story_id"], r["reprint_of"]) for r in e.iter_articles()]  # noqa: E731
    assert rows(early) == rows(end)
    stories = lambda e: [(s["id"], s["headline"], s["summary"], s["sentences"], s["size"], s["duplicates"])  # noqa: E731
                         for s in e.iter_stories()]
    assert stories(early) == stories(end)
    reprinted = next(s for s in early.iter_stories() if "copy-of-q1-0" in s["articles"] or s["duplicates"])
    assert reprinted["duplicates"] == 1
    vectors = "SELECT story_id, embedder, dense, terms FROM story_vectors ORDER BY story_id"
    assert early.store.db.execute(vectors).fetchall() == end.store.db.execute(vectors).fetchall()
    pairs = lambda e: [(a, b, round(x, 6)) for a, b, x in related_lists(e)]  # noqa: E731
    assert pairs(early) == pairs(end)

def test_a_story_summarized_while_the_consolidation_splits_it_is_refreshed_again(store_settings, monkeypatch):
    """At the end of input every story touched goes to the early-refresh helper before the
    consolidation decides. Here the consolidation splits the one story the stream made: the
    helper's summary of it, computed meanwhile, is not written (its members changed), and the
    store ends as one refreshed only at the end."""
    stream = QUAKE[:1] + BUDGET[:1] + QUAKE[1:] + BUDGET[1:] + [REPRINT]
    computed: list[str] = []
    write, consolidate = EarlyRefresh._write, StoryClusterer.consolidate

    def recording(self, item):  # type: ignore[no-untyped-def]
        chunk, _, future = item
        computed.extend(chunk[: len(future.result())])  # the stories the helper summarized
        return write(self, item)

    def slow(self):  # type: ignore[no-untyped-def]
        time.sleep(1.0)  # a real consolidation takes seconds: the helper has run the chunk by its end
        return consolidate(self)

    monkeypatch.setattr(EarlyRefresh, "_write", recording)
    monkeypatch.setattr(StoryClusterer, "consolidate", slow)
    engine = open_engine(store_settings.with_(workers=1), clusterer_factory=lumping)
    engine.add_articles([replace(a) for a in stream], batch_size=2)
    monkeypatch.undo()
    lumped = story_id_for(stream[0].id)  # all seven until the consolidation split it
    assert lumped in computed
    assert partition(engine) == {frozenset({"q1", "q2", "q3"}), frozenset({"b1", "b2", "b3", "b1-copy"})}
    assert not engine.dirty_story_ids()
    end = open_engine(another_store(store_settings, "end").with_(workers=0), clusterer_factory=lumping)
    end.add_articles([replace(a) for a in stream], batch_size=2)
    stories = lambda e: [(s["id"], s["headline"], s["summary"], s["sentences"], s["size"], s["duplicates"])  # noqa: E731
                         for s in e.iter_stories()]
    assert stories(engine) == stories(end)


def test_the_end_of_ingest_stops_the_early_refresh_helper_and_withdraws_what_it_has_not_started(store_settings):
    """At the end of an ingest the writer waits for at most one story of the early-refresh helper
    (which runs below its priority: on a busy machine it may hardly run): the helper stops after
    the story it is on, the chunks it has not started are withdrawn, the results it has are
    written, the other stories stay dirty and the final refresh computes them, so the store ends
    as one refreshed at the end."""
    rng = random.Random(5)
    words = sorted({w.strip(".,;'").lower() for a in QUAKE + BUDGET for w in (a.title + " " + a.text).split()})
    stream = [Article(id=f"s{n}", title=" ".join(rng.sample(words, 6)).capitalize(), source=f"Outlet {n % 5}",
                      text=" ".join(" ".join(rng.sample(words, 12)).capitalize() + f" {n * 37 + k}." for k in range(3)))
              for n in range(300)]  # 300 one-article stories: five chunks of 64
    factory = lambda s: StoryClusterer(join_threshold=1.01, loose_threshold=2.0, mutual_threshold=2.0,  # noqa: E731
                                       merge_model=None, merge_threshold=2.0, refine_rounds=0, one_sided_size=0)
    engine = open_engine(store_settings.with_(workers=1), clusterer_factory=factory)
    engine.add_articles([replace(a) for a in stream], refresh=False)
    dirty = engine.dirty_story_ids()
    assert len(dirty) == len(stream)
    summarizer = engine.summarizer

    def slow(articles, max_words):  # type: ignore[no-untyped-def]
        time.sleep(0.2)  # a chunk of 64 stories takes 13 s
        return summarizer(articles, max_words)

    engine._summarizer = slow  # the helper forks with it
    early = EarlyRefresh(engine)
    early.touched(dirty)
    early.send_all()
    assert len(early.pending) == 5
    time.sleep(1.0)  # the helper is in its first chunk
    started = time.monotonic()
    early.finish()
    waited = time.monotonic() - started
    engine._summarizer = summarizer
    assert waited < 6.0, f"finish waited {waited:.1f} s: the helper finished its chunk"
    assert 0 < engine.refreshed_early_ < REFRESH_CHUNK  # the first stories of the chunk it was on
    assert len(engine.dirty_story_ids()) == len(stream) - engine.refreshed_early_  # stopped and withdrawn ones
    assert not early.sent
    engine.refresh_stories()
    assert not engine.dirty_story_ids()
    end = open_engine(another_store(store_settings, "end").with_(workers=0), clusterer_factory=factory)
    end.add_articles([replace(a) for a in stream])
    stories = lambda e: [(s["id"], s["headline"], s["summary"], s["sentences"], s["size"])  # noqa: E731
                         for s in e.iter_stories()]
    assert stories(engine) == stories(end)
    vectors = "SELECT story_id, embedder, dense, terms FROM story_vectors ORDER BY story_id"
    assert engine.store.db.execute(vectors).fetchall() == end.store.db.execute(vectors).fetchall()


def test_the_name_weight_cache_is_bounded_and_decides_the_same():
    """The clusterer's remembered name weights (the IDF of a name's last word) are emptied at
    ``name_weights_max`` names: memory stays bounded on a long stream, decisions stay the same."""
    from storyline.ingest import read_paths

    articles = list(read_paths([DEMO]))
    decided = []
    for bound in (10, 100_000):
        clusterer = StoryClusterer()
        clusterer.name_weights_max = bound
        stories = [s for i in range(0, len(articles), 16) for s in clusterer.partial_fit([replace(a) for a in articles[i:i + 16]])]
        clusterer.consolidate()
        decided.append((stories, dict(clusterer.merges_), dict(clusterer.moved_)))
        assert len(clusterer.name_weights_) <= bound
    assert len(clusterer.name_weights_) > 10  # the demo's names overflow the small bound
    assert decided[0] == decided[1] and len(set(decided[0][0])) > 10


def test_batches_follow_an_editors_merge_through_indexed_redirects(store_settings):
    engine = open_engine(store_settings, clusterer_factory=lambda s: StoryClusterer(
        join_threshold=1.01, loose_threshold=2.0, mutual_threshold=2.0, merge_model=None, merge_threshold=2.0))
    engine.add_articles([QUAKE[0], BUDGET[0]])
    quake, budget = engine.story_of_article("q1"), engine.story_of_article("b1")
    engine.merge_stories(budget, quake)  # an editor: the budget story lives on as the quake story
    engine.add_articles([REPRINT])  # the clusterer still knows the budget story: the store redirects
    assert engine.story_of_article("b1-copy") == quake
    store = engine.store
    assert store.resolve_story_ids([budget, quake, "nope"]) == {budget: quake, quake: quake, "nope": "nope"}
    # a chain of redirects resolves in one call, a cycle stops
    store.redirect("older", budget, "2024-01-01T00:00:00+00:00", "test")
    assert store.resolve_story_ids(["older"]) == {"older": quake}


KILLED_WITH_HELPER = """
import os, signal, sys
sys.path.insert(0, sys.argv[2])
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from test_engine_scale import QUAKE, BUDGET
from storyline.config import Settings
from storyline.engine import Engine, open_engine
calls = []
real = Engine._add_batch
def add_batch(self, *args, **kwargs):
    calls.append(1)
    if len(calls) == 4:  # batches 3 on go through the run-ahead helper: it is running now
        print(os.getpid(), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, *args, **kwargs)
Engine._add_batch = add_batch
stream = [replace(a, id=f"{a.id}-{n}") for n in range(3) for a in QUAKE + BUDGET]
open_engine(Settings(data_dir=sys.argv[1], database_url=sys.argv[3], workers=1)).add_articles(stream, batch_size=2)
"""


def test_kill_during_a_run_ahead_ingest_leaves_no_helper_holding_the_writer_lock(store_settings):
    """A forked helper shares the writer's open files (the lock file, the PostgreSQL session);
    it must end with the writer, or the next run waits for a lock nobody will release."""
    proc = subprocess.run([sys.executable, "-c", KILLED_WITH_HELPER, str(store_settings.data_dir),
                           str(ROOT / "tests"), store_settings.database_url],
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    engine = open_engine(store_settings.with_(writer_wait=20.0))
    with engine.store.writer("test", wait=20.0):  # WriterBusy if an orphaned helper kept the lock
        pass
    engine.add_articles([replace(a, id=f"{a.id}-{n}") for n in range(3) for a in QUAKE + BUDGET], batch_size=2)
    assert engine.counts()["articles"] == 18 and not engine.dirty_story_ids()


def test_an_id_given_twice_is_stored_once_within_and_across_prepared_batches(store_settings):
    arts = [Article(id=f"a{i}", title=f"Headline number {i} about things {i * 7}",
                    text=f"Body {i} " * 20 + f" unique {i * 13} words {i * 17}") for i in range(10)]
    stream = arts[:3] + [replace(arts[2])] + arts[3:] + [replace(arts[0]), replace(arts[5])]  # batch of 2: a2 twice in one
    engine = open_engine(store_settings.with_(workers=1))
    result = engine.add_articles(stream, batch_size=2)
    assert (result.seen, result.new, result.already_stored) == (13, 10, 3)
    assert engine.counts()["articles"] == 10


def test_a_spawned_helper_of_python_m_storyline_runs_no_command():
    """multiprocessing's spawn makes a helper import the parent's main module under the name
    __mp_main__ (its arguments given back): for `python -m storyline ingest ...` that is
    storyline.__main__, which must not run the command again (the related lists' helpers are
    spawned)."""
    import runpy

    argv = sys.argv
    sys.argv = ["storyline", "ingest", "/nonexistent/never-read.jsonl"]
    try:
        runpy.run_module("storyline.__main__", run_name="__mp_main__")
    finally:
        sys.argv = argv
