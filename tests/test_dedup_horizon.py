"""The deduplicator's horizon (issue 20: memory that does not grow with the store).

Near copies are searched only among the originals of the last ``horizon_days`` (by date) or
the last ``horizon_items``; exact copies of anything stored are found through the store's
``content_hash`` index, however old. Real SQLite and PostgreSQL stores, the real engine."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from conftest import another_store
from storyline.dedup import MinHashDeduplicator
from storyline.engine import Engine
from storyline.models import Article
from storyline.store import open_store

REPORT = (
    "Officials closed the Tellford Bridge on Tuesday after a cargo ship struck one of its piers, "
    "the city transport department said. Engineers will inspect the damage for at least two weeks, "
    "and ferries will run every twenty minutes until then."
)
EDITED = "(Valley Wire) — " + REPORT + " Subscribe for more news."
T0 = datetime(2024, 3, 1, 9, tzinfo=timezone.utc)


def other(i: int, when: datetime | None) -> Article:
    """A distinct report (no copy of anything), dated ``when``."""
    words = " ".join(f"w{i}x{k}" for k in range(30))
    return Article(f"o{i}", f"Council item {i}", f"The council discussed item {i}: {words}.", published=when)


def test_a_near_copy_within_the_horizon_is_found_and_one_past_it_is_a_new_article():
    dedup = MinHashDeduplicator(horizon_days=7)
    dedup.partial_fit([Article("a", "Bridge closed", REPORT, published=T0)])
    near = dedup.partial_fit([Article("b", "Bridge closed", EDITED, published=T0 + timedelta(days=6))])
    assert near.canonical == ["a"], "six days later: still a near copy"
    assert "a" in dedup.lsh_
    dedup.partial_fit([other(1, T0 + timedelta(days=8))])  # the clock passes a's horizon
    assert "a" not in dedup.lsh_ and len(dedup.lsh_) == 1, "a left the index with its horizon"
    late = dedup.partial_fit([Article("c", "Bridge closed", EDITED + " Updated.", published=T0 + timedelta(days=9))])
    assert late.canonical == ["c"], "a near copy past the horizon is a new article"


def test_without_a_horizon_nothing_leaves_the_index():
    dedup = MinHashDeduplicator()
    dedup.partial_fit([Article("a", "Bridge closed", REPORT, published=T0)])
    dedup.partial_fit([other(1, T0 + timedelta(days=400))])
    assert dedup.partial_fit([Article("b", "Bridge closed", EDITED, published=T0 + timedelta(days=401))]).canonical == ["a"]


def test_an_article_dated_before_the_horizon_is_not_indexed_but_keeps_its_signature():
    dedup = MinHashDeduplicator(horizon_days=7)
    dedup.partial_fit([other(1, T0 + timedelta(days=30))])
    result = dedup.partial_fit([Article("a", "Bridge closed", REPORT, published=T0)])
    assert result.canonical == ["a"] and "a" not in dedup.lsh_
    assert dedup.signature("a") is not None, "its signature is still stored with it"


def test_undated_originals_are_bounded_by_count_in_arrival_order():
    dedup = MinHashDeduplicator(horizon_days=7, horizon_items=2)
    dedup.partial_fit([Article("a", "Bridge closed", REPORT), other(1, None)])
    assert "a" in dedup.lsh_
    dedup.partial_fit([other(2, None)])
    assert "a" not in dedup.lsh_ and len(dedup.lsh_) == 2, "the earliest undated original went"
    assert dedup.partial_fit([Article("b", "Bridge closed", EDITED)]).canonical == ["b"]


def test_dated_originals_beyond_the_count_go_oldest_first():
    dedup = MinHashDeduplicator(horizon_days=365, horizon_items=2)
    dedup.partial_fit([other(1, T0 + timedelta(days=2)), Article("a", "Bridge closed", REPORT, published=T0)])
    dedup.partial_fit([other(2, T0 + timedelta(days=3))])
    assert "a" not in dedup.lsh_ and {"o1", "o2"} <= set(dedup.lsh_.values)


def test_compact_index_finds_what_datasketch_finds():
    """The band index gives the candidates datasketch's MinHashLSH gives (same band layout)."""
    from datasketch import MinHash, MinHashLSH

    from storyline.dedup.minhash import BandIndex, MinHashSketcher

    sketcher = MinHashSketcher()
    texts = [REPORT, EDITED, REPORT.replace("Tuesday", "Monday"), "An unrelated note about the weather, "
             "which was mild for the season and dry across the valley, the forecasters said on Friday."]
    ours, theirs = BandIndex(0.5, 128), MinHashLSH(threshold=0.5, num_perm=128)
    assert (ours.b, ours.r) == (theirs.b, theirs.r)
    sketches = [sketcher.sketch(Article(f"t{i}", "", t)) for i, t in enumerate(texts)]
    for i, (values, _) in enumerate(sketches):
        ours.insert(f"t{i}", values)
        theirs.insert(f"t{i}", MinHash(num_perm=128, seed=1, scheme="affine32", hashvalues=values))
    for values, _ in sketches:
        assert ours.query(values) == set(theirs.query(MinHash(num_perm=128, seed=1, scheme="affine32", hashvalues=values)))
    ours.remove("t0")
    assert "t0" not in ours.query(sketches[0][0]) and "t1" in ours.query(sketches[0][0])


def _story_of(store, article_id: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    row = store.db.execute("SELECT canonical_id, story_id FROM articles WHERE id = ?", (article_id,)).fetchone()
    return row[0], row[1]


def test_an_old_exact_copy_is_found_through_the_store_and_an_old_near_copy_is_new(store_settings):
    settings = store_settings.with_(dedup_horizon_days=7.0, workers=0)
    engine = Engine(open_store(settings))
    engine.add_articles([Article("a", "Bridge closed", REPORT, published=T0, source="Wire")], refresh=False)
    engine.add_articles([other(i, T0 + timedelta(days=20 + i)) for i in range(3)], refresh=False)
    dedup = engine.pipeline_.dedup  # type: ignore[union-attr]
    assert "a" not in dedup.lsh_ and not dedup.by_hash_.get(Article("x", "Bridge closed", REPORT).content_hash)
    engine.add_articles([Article("copy", "Bridge closed", REPORT, published=T0 + timedelta(days=30), source="Post"),
                         Article("edit", "Bridge closed", EDITED, published=T0 + timedelta(days=30), source="Star")],
                        refresh=False)
    store = engine.store
    assert _story_of(store, "copy") == ("a", _story_of(store, "a")[1]), "exact copy: a reprint, in a's story"
    assert _story_of(store, "edit")[0] == "edit", "near copy past the horizon: a new article"
    assert store.db.execute("SELECT count(*) FROM minhash_signatures WHERE article_id = 'edit'").fetchone()[0] == 1

    # a fresh engine on the same store (another process) holds the same horizon: the store's clock
    again = Engine(open_store(settings))
    again.add_articles([Article("copy2", "Bridge closed", REPORT, published=T0 + timedelta(days=31)),
                        Article("edit2", "Bridge closed", EDITED + " Updated.", published=T0 + timedelta(days=31))],
                       refresh=False)
    assert _story_of(again.store, "copy2")[0] == "a"
    assert _story_of(again.store, "edit2")[0] == "edit", "a near copy of 'edit', which is in the horizon"
    restored = again.pipeline_.dedup  # type: ignore[union-attr]
    assert "a" not in restored.lsh_ and "edit" in restored.lsh_


def test_within_the_horizon_a_resumed_engine_decides_as_one_that_never_stopped(store_settings):
    settings = store_settings.with_(dedup_horizon_days=7.0, workers=0)
    stream = [Article("a", "Bridge closed", REPORT, published=T0)]
    stream += [other(i, T0 + timedelta(days=i)) for i in range(1, 6)]
    stream += [Article("b", "Bridge closed", EDITED, published=T0 + timedelta(days=6)),
               other(9, T0 + timedelta(days=9)),
               Article("c", "Bridge closed", EDITED + " Updated.", published=T0 + timedelta(days=10))]
    whole = Engine(open_store(settings))
    whole.add_articles([Article(a.id, a.title, a.text, published=a.published) for a in stream], refresh=False)
    parts_settings = another_store(settings, "parts")
    for i in range(0, len(stream), 3):  # a new engine (a new process) for every three articles
        Engine(open_store(parts_settings)).add_articles(
            [Article(a.id, a.title, a.text, published=a.published) for a in stream[i : i + 3]], refresh=False)
    parts = open_store(parts_settings)
    rows = lambda s: s.db.execute("SELECT id, canonical_id FROM articles ORDER BY id").fetchall()  # noqa: E731
    assert [tuple(r) for r in rows(whole.store)] == [tuple(r) for r in rows(parts)]
    assert dict(rows(parts))["b"] == "a", "six days: a near copy"
    assert dict(rows(parts))["c"] == "c", "ten days: a is out of the horizon (b, a reprint, was never indexed)"
