"""The read side at scale (issue 20): pages read what they show, on both backends.

Correctness of the indexed and precomputed paths, not speed (that is benchmarks/scale.py):
redirect chains resolve by look-up as the whole-table walk did, precomputed related stories
equal the comparison a page used to make and follow a story's changes, full-text search finds
exactly the articles holding the words, and the response cache stays inside its byte bound.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from conftest import backend_settings

from storyline import related
from storyline.cli import demo_corpus_path
from storyline.config import Settings
from storyline.engine import Engine, open_engine
from storyline.ingest import read_paths
from storyline.store import queries
from storyline.store.base import resolve_merges
from storyline.web.http import ResponseCache, _Entry

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    settings: Settings = backend_settings(request.param, tmp_path_factory.mktemp("scale-read"), request)
    found = open_engine(settings)
    found.add_articles(read_paths([demo_corpus_path()]))
    yield found
    found.close()


def live_ids(engine: Engine) -> list[str]:
    return [str(r["id"]) for r in engine.store.list_stories(limit=None) if r["size"] > 0]


def test_related_pairs_are_written_with_the_vectors_and_equal_the_live_comparison(engine: Engine) -> None:
    store = engine.store
    ids = live_ids(engine)
    stale = store.db.execute("SELECT count(*) FROM story_vectors WHERE related_at IS NULL "
                             "OR related_at <> updated_at").fetchone()[0]
    assert stale == 0, "every refreshed story has its pairs"
    assert store.db.execute("SELECT count(*) FROM story_related").fetchone()[0] > 0, "the demo has related pairs"
    shown = 0
    for sid in ids:
        pre, live = related.related(store, sid, limit=5), related.related_live(store, sid, limit=5)
        assert [s for s, _ in pre] == [s for s, _ in live], sid
        assert all(abs(a - b) < 1e-3 for (_, a), (_, b) in zip(pre, live)), sid
        shown += len(pre)
    assert shown >= 2, "some story shows related stories"


def test_a_changed_story_refreshes_its_pairs_both_ways(engine: Engine) -> None:
    store = engine.store
    ids = live_ids(engine)
    lonely = next(s for s in ids if not related.related(store, s))
    other = next(s for s in ids if s != lonely)
    row = store.db.execute("SELECT * FROM story_vectors WHERE story_id = ?", (other,)).fetchone()
    lonely_row = store.db.execute("SELECT * FROM story_vectors WHERE story_id = ?", (lonely,)).fetchone()
    # the lonely story now reads like `other` (same vector, same time): they must find each other
    now = datetime.now(UTC).isoformat()
    with store.transaction():
        related.save_vectors(store, [(lonely, row["embedder"], row["dense"], row["terms"], row["last_seen"], now)])
    assert related.pending(store) == [lonely]
    assert related.related(store, lonely) == related.related_live(store, lonely), "owed: compared live meanwhile"
    with store.transaction():
        assert related.refresh_pending(store) == 1
    assert related.related(store, lonely)[0] == (other, 1.0)
    assert lonely in [s for s, _ in related.related(store, other, limit=50)], "the other story's list follows"
    # and back: the engine's refresh rewrites the vector, and with it the pairs
    engine.refresh_stories([lonely])
    assert store.db.execute("SELECT related_at = updated_at FROM story_vectors WHERE story_id = ?",
                            (lonely,)).fetchone()[0]
    assert related.related(store, lonely) == related.related_live(store, lonely) == []
    assert lonely not in [s for s, _ in related.related(store, other, limit=50)]
    assert lonely_row["terms"] == store.db.execute("SELECT terms FROM story_vectors WHERE story_id = ?",
                                                   (lonely,)).fetchone()[0]


def stored_lists(store) -> dict[str, list[tuple[str, float]]]:  # type: ignore[no-untyped-def]
    out: dict[str, list[tuple[str, float]]] = {}
    # scores rounded, then ordered by rounded score and id: a list computed incrementally and one
    # computed from scratch sum the same cosines in another order, so near-ties may differ in the last bits
    rows = sorted((r[0], -round(float(r[2]), 5), r[1]) for r in store.db.execute("SELECT story_id, related_id, score FROM story_related"))
    for story_id, neg_score, related_id in rows:
        out.setdefault(story_id, []).append((related_id, -neg_score))
    return out


def test_incremental_lists_equal_lists_computed_from_scratch(engine: Engine) -> None:
    """Stories change one batch at a time (vectors swapped around); the lists kept up to date
    through refresh equal a recomputation of every list, including the lists of stories that
    did not change (a changed story entering or leaving them)."""
    import random

    store = engine.store
    rows = {r["story_id"]: r for r in store.db.execute("SELECT * FROM story_vectors").fetchall()}
    ids = sorted(rows)
    rng = random.Random(7)
    try:
        for step in range(4):
            chosen = rng.sample(ids, 3)
            donors = rng.sample(ids, 3)
            with store.transaction():
                related.save_vectors(store, [(sid, rows[d]["embedder"], rows[d]["dense"], rows[d]["terms"],
                                              rows[d]["last_seen"], f"2030-01-01T00:00:0{step}.{n}")
                                             for n, (sid, d) in enumerate(zip(chosen, donors))])
                related.refresh_pending(store)
            incremental = stored_lists(store)
            with store.transaction():
                store.db.execute("DELETE FROM story_related")
                related.refresh(store, ids)
            assert stored_lists(store) == incremental, step
    finally:
        engine.refresh_stories(ids)  # the stories' own vectors back (and their lists)


def test_a_pair_scores_the_same_whichever_story_is_the_row(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """related._add_dense gives story a's score against b bit for bit what it gives b against a
    (the float32 product of the same rows did not, for 19,959 of these pairs, on this machine's
    BLAS), and the same whatever slice of columns it works in."""
    import numpy as np

    rng = np.random.default_rng(5)
    unit = rng.standard_normal((700, 256)).astype(np.float32)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    rows, cols = np.arange(40, 296), np.arange(700)
    ab, ba = np.zeros((len(rows), len(cols))), np.zeros((len(cols), len(rows)))
    related._add_dense(ab, unit[rows], unit[cols].T)
    related._add_dense(ba, unit[cols], unit[rows].T)
    assert np.array_equal(ab, ba.T)
    assert np.allclose(ab, unit[rows] @ unit[cols].T, atol=1e-6)
    monkeypatch.setattr(related, "_SLICE", 7)
    sliced = np.zeros_like(ab)
    related._add_dense(sliced, unit[rows], unit[cols].T)
    assert np.array_equal(sliced, ab)


def test_best_pairs_are_each_lists_top_scores_with_ties_at_the_cut() -> None:
    """related._best ranks only the allowed pairs: each row's (or column's) KEEP highest scores,
    every score tied with the KEEP-th kept, in row-major order, as ranking the whole matrix."""
    import numpy as np

    rng = np.random.default_rng(3)
    for trial in range(500):
        wide = trial >= 400  # a small store's rows: every story in the window, few allowed
        rows, cols = (int(n) for n in rng.integers(0, 30, size=2)) if not wide else (int(rng.integers(1, 40)), 600)
        score = np.round(rng.random((rows, cols)), int(rng.integers(1, 3)))  # few digits: many ties
        allowed = (score >= 0.3) & (rng.random((rows, cols)) < (rng.random() if not wide else 0.03))
        if wide:
            score[~allowed & (rng.random((rows, cols)) < 0.1)] = -np.inf  # never allowed, never counted
        for axis in (0, 1):
            groups: dict[int, list[float]] = {}
            for i, j in zip(*np.nonzero(allowed)):
                groups.setdefault(int(i if axis == 1 else j), []).append(float(score[i, j]))
            cut = {g: sorted(v, reverse=True)[related.KEEP - 1] if len(v) > related.KEEP else -1.0
                   for g, v in groups.items()}
            expected = [(int(i), int(j)) for i, j in zip(*np.nonzero(allowed))
                        if score[i, j] >= cut[int(i if axis == 1 else j)]]
            assert related._best(score, allowed, axis) == expected, (trial, axis)


def test_fill_missing_computes_pairs_for_a_store_made_before_them(engine: Engine) -> None:
    store = engine.store
    before = {s: related.related(store, s) for s in live_ids(engine)}
    with store.transaction():
        store.db.execute("DELETE FROM story_related")
        store.db.execute("UPDATE story_vectors SET related_at = NULL")
    assert {s: related.related(store, s) for s in before} == before, "without pairs a page compares vectors"
    assert related.fill_missing(store) == store.db.execute("SELECT count(*) FROM story_vectors").fetchone()[0]
    assert {s: related.related(store, s) for s in before} == before
    assert related.fill_missing(store) == 0, "nothing left to fill"


def test_a_hidden_or_deleted_story_leaves_the_related_lists(engine: Engine) -> None:
    store = engine.store
    pair = store.db.execute("SELECT story_id, related_id FROM story_related ORDER BY score DESC").fetchone()
    a, b = str(pair[0]), str(pair[1])
    assert b in [s for s, _ in related.related(store, a)]
    engine.hide_story(b)
    try:
        assert b not in [s for s, _ in related.related(store, a)]
    finally:
        engine.hide_story(b, hidden=False)
    assert b in [s for s, _ in related.related(store, a)]
    with store.transaction():
        store.delete_story(b)
    assert b not in [s for s, _ in related.related(store, a)]
    assert store.db.execute("SELECT count(*) FROM story_related WHERE story_id = ? OR related_id = ?",
                            (b, b)).fetchone()[0] == 0
    with store.transaction():
        store.touch_story(b, "2026-01-01T00:00:00+00:00")  # its articles are still there
    engine.refresh_stories([b])  # the story and its pairs come back
    assert b in [s for s, _ in related.related(store, a)]


def test_redirect_chains_resolve_by_look_up_as_the_table_walk_did(engine: Engine) -> None:
    store = engine.store
    now = "2026-01-01T00:00:00+00:00"
    with store.transaction():
        store.redirect("chain-a", "chain-b", now, "test")
        store.redirect("chain-b", "chain-c", now, "test")
        store.redirect("chain-c", "chain-d", now, "test")
        store.redirect("loop-x", "loop-y", now, "test")
        store.redirect("loop-y", "loop-x", now, "test")
    try:
        merges = store.merges()
        for start in ["chain-a", "chain-b", "chain-c", "chain-d", "loop-x", "loop-y", "never-merged", *merges.values()]:
            assert store.resolve_story_id(start) == resolve_merges(start, merges), start
        assert store.resolve_story_id("chain-a") == "chain-d"
        assert store.resolve_story_id("never-merged") == "never-merged"
        assert queries.merge_target(store, "chain-b") == "chain-d"
        assert [r["old_id"] for r in queries.merged_into(store, "chain-d")] == ["chain-c"]
    finally:
        with store.transaction():
            for old in ("chain-a", "chain-b", "chain-c", "loop-x", "loop-y"):
                store.forget_merge(old)


def test_merged_story_id_redirects_to_where_its_articles_went(engine: Engine) -> None:
    store = engine.store
    old, new = live_ids(engine)[-2:]
    with store.transaction():
        store.record_merge(old, new, "2026-01-01T00:00:00+00:00", "test")  # stays: the tests below do not mind
    assert store.resolve_story_id(old) == new
    assert store.story(old).id == new  # type: ignore[union-attr]
    assert old in [r["old_id"] for r in queries.merged_into(store, new)]


def tokens(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def test_full_text_search_finds_exactly_the_articles_holding_the_word(engine: Engine) -> None:
    store = engine.store
    rows = store.db.execute("SELECT id, title, text FROM articles").fetchall()
    words = sorted({w for r in rows for w in tokens(r["title"]) if w.isalpha() and w.isascii() and len(w) >= 5})[::7]
    assert len(words) >= 10
    for word in words:
        want = {r["id"] for r in rows if any(t.startswith(word) for t in tokens(r["title"]) | tokens(r["text"]))}
        got, total = queries.search_articles(store, word, limit=10_000)
        assert {r["id"] for r in got} == want, word
        assert total == len(want), word
        found, _ = queries.search_stories(store, word, limit=10_000)
        assert {s for s, _ in found} == {str(store.story_of_article(a)) for a in want}, word


@pytest.mark.parametrize("ranked", [5000, 3])
def test_one_ranking_serves_both_search_lists_as_the_two_queries_did(engine: Engine, ranked: int,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """`queries.search` (one ranking, snippets for the page only) against `search_stories` and
    `search_articles`, with filters, pages past the first, a hidden story, and (ranked=3) a
    ranking cut short, so the deep-page and count fallbacks run too."""
    monkeypatch.setattr(queries, "SEARCH_RANKED", ranked)
    store = engine.store
    rows = store.db.execute("SELECT title, source FROM articles").fetchall()
    words = sorted({w for r in rows for w in tokens(r["title"]) if w.isalpha() and len(w) >= 4})[::5]
    outlet = max({r["source"] for r in rows}, key=lambda o: sum(r["source"] == o for r in rows))
    hidden = str(store.list_stories(limit=1)[0]["id"])
    engine.hide_story(hidden)
    try:
        checked = 0
        for word in words + ["council", "bridge OR strike", '"port averill"', "minist*", ""]:
            for kw in ({}, {"offset": 1, "limit": 2}, {"offset": 4, "limit": 3}, {"outlet": outlet},
                       {"since": "2026-01-01"}):
                found, total, arts, total_articles = queries.search(store, word, **kw)  # type: ignore[arg-type]
                assert (found, total) == queries.search_stories(store, word, **kw), (word, kw)  # type: ignore[arg-type]
                old, old_total = queries.search_articles(store, word, **kw)  # type: ignore[arg-type]
                assert total_articles == old_total, (word, kw)
                assert [{k: r[k] for k in r.keys() if k != "seq"} for r in arts] == [dict(r) for r in old], (word, kw)
                assert hidden not in {s for s, _ in found} | {r["story_id"] for r in arts}
                checked += bool(arts)
        assert checked >= 20
    finally:
        engine.hide_story(hidden, hidden=False)


def test_search_ranks_the_newest_matches_then_lists_older_ones_newest_first(engine: Engine,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """With more matches than ``SEARCH_RANKED``, only the newest are ranked (its cost stays bounded
    as the store grows): the stories are theirs, the first articles are they, best first, and
    older ones follow newest first; the article total still counts every match."""
    monkeypatch.setattr(queries, "SEARCH_RANKED", 3)
    store = engine.store
    rows = store.db.execute("SELECT seq, id, story_id, title, text FROM articles ORDER BY seq").fetchall()
    words = sorted({w for r in rows for w in tokens(r["title"]) if w.isalpha() and w.isascii() and len(w) >= 5})
    checked = 0
    for word in words:
        holding = [r for r in rows if any(t.startswith(word) for t in tokens(r["title"]) | tokens(r["text"]))]
        if len(holding) <= 4:
            continue
        newest = sorted(holding, key=lambda r: -r["seq"])
        found, total, arts, total_articles = queries.search(store, word, limit=len(holding))
        assert total_articles == len(holding), word
        assert {r["id"] for r in arts[:3]} == {r["id"] for r in newest[:3]}, word
        assert [r["id"] for r in arts[3:]] == [r["id"] for r in newest[3:]], word
        assert {s for s, _ in found} == {r["story_id"] for r in newest[:3]} and total == len(found), word
        _, _, deep, _ = queries.search(store, word, limit=2, offset=3)
        assert [r["id"] for r in deep] == [r["id"] for r in newest[3:5]], word
        checked += 1
    assert checked >= 5


def test_response_cache_holds_its_byte_bound_and_evicts_oldest_first() -> None:
    cache = ResponseCache(size=10_000, max_bytes=50_000, max_entry_bytes=20_000)
    gen = (1, 0)
    for n in range(200):
        body = json.dumps({"n": n, "pad": "x" * 1000}).encode()
        cache.put(f"/p/{n}", _Entry(gen, body, "application/json", f'"{n}"'))
        assert cache.bytes <= 50_000
    assert 0 < len(cache) < 200
    assert cache.get("/p/199", gen) is not None and cache.get("/p/0", gen) is None, "the oldest went first"
    assert cache.get("/p/199", (2, 0)) is None, "another generation is a miss"
    cache.put("/huge", _Entry(gen, b"x" * 30_000, "text/plain", '"h"'))
    assert cache.get("/huge", gen) is None, "a body over the entry bound is not cached"
    accounted = sum(len(e.body) + len(k) + len(e.etag) + len(e.media_type) + 200 for k, e in cache._entries.items())
    assert cache.bytes == accounted


# the score as first written: every story's time parsed in SQL (PostgreSQL now keeps it, 0064)
_SCORE_PARSED = ("(2.0 * s.outlets + s.size + 0.5 * s.duplicates) / "
                 "(1.0 + max(0.0, julianday(:ref) - julianday(coalesce(s.last_seen, :ref))))")


def full_ranking(store, flt: queries.StoryFilter) -> list[str]:  # type: ignore[no-untyped-def]
    """The front page's order as it was computed before: every matching story scored."""
    where, params = queries._filter_sql(flt)
    params.update(ref=queries.latest_time(store) or "1970-01-01")
    return [r[0] for r in store.db.execute(
        f"SELECT s.id, {_SCORE_PARSED} AS score FROM stories s WHERE {where} "
        "ORDER BY score DESC, s.last_seen DESC, s.id", params).fetchall()]


def test_front_page_ranking_scores_few_stories_yet_orders_as_scoring_all(engine: Engine) -> None:
    store = engine.store
    outlet = queries.outlet_names(store)[0]
    for flt in (queries.StoryFilter(), queries.StoryFilter(outlet=outlet), queries.StoryFilter(language="en"),
                queries.StoryFilter(since=queries.since_for(store, 24))):
        want = full_ranking(store, flt)
        for limit, offset in ((20, 0), (3, 0), (3, 2), (5, 10), (50, 0)):
            rows, total = queries.ranked_stories(store, flt, limit=limit, offset=offset)
            assert [r["id"] for r in rows] == want[offset : offset + limit], (flt, limit, offset)
            assert total == len(want)


def test_outlet_and_language_choices_are_the_distinct_values(engine: Engine) -> None:
    store = engine.store
    assert queries.outlet_names(store) == sorted(
        {r[0] for r in store.db.execute("SELECT source FROM articles") if r[0]}, key=lambda s: s)
    assert queries.languages(store) == sorted({r[0] for r in store.db.execute("SELECT language FROM articles") if r[0]})


def test_time_window_reads_by_index_answer_as_the_full_scans(engine: Engine) -> None:
    store = engine.store
    seen = queries.SEEN_SQL
    times = sorted(r[0] for r in store.db.execute(f"SELECT {seen} FROM articles") if r[0])
    for start, end in ((times[0], times[len(times) // 2]), (times[len(times) // 3], times[-1]), (times[5], times[5])):
        want = [r[0] for r in store.db.execute(
            f"SELECT DISTINCT source FROM articles WHERE source <> '' AND julianday({seen}) "
            "BETWEEN julianday(?) AND julianday(?) ORDER BY source", (start, end))]
        assert queries.sources_active_between(store, start, end) == want
        moved = [r[0] for r in store.db.execute(
            f"SELECT story_id, max(julianday({seen})) AS latest FROM articles WHERE julianday({seen}) > julianday(?) "
            "GROUP BY story_id ORDER BY latest DESC, story_id", (start,))]
        assert queries.stories_moved_since(store, start) == moved
    assert queries.stories_moved_since(store, "not a time") == [], "as before: julianday of it is NULL"


def test_registry_matches_outlets_as_the_grouped_scan_did(engine: Engine) -> None:
    from storyline import sources

    store = engine.store
    sources.import_file(store, demo_corpus_path().with_name("sources.csv"))
    outlets = sources.list_outlets(store)
    assert outlets
    resolved = sources.resolve(store, outlets)
    by_name = {o.name.lower(): o for o in outlets}
    by_domain = {d: o for o in outlets for d in o.domains}
    want = {}
    for source, url in store.db.execute("SELECT source, max(url) FROM articles WHERE source <> '' GROUP BY source"):
        found, host = by_name.get(source.lower()), sources.domain_of(url) if url else ""
        while host and found is None:
            found = by_domain.get(host)
            host = host.partition(".")[2] if "." in host else ""
        if found is not None:
            want[source] = found
    assert resolved == want and resolved


def test_remembered_counts_follow_this_connections_own_writes(engine: Engine) -> None:
    store = engine.store
    _, before = queries.ranked_stories(store)
    victim = live_ids(engine)[0]
    engine.hide_story(victim)
    try:
        assert queries.ranked_stories(store)[1] == before - 1, "a hide through this same connection"
    finally:
        engine.hide_story(victim, hidden=False)
    assert queries.ranked_stories(store)[1] == before


def test_lists_owed_by_many_stories_computed_in_chunks_equal_one_pass(engine: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """After a big ingest every story owes its list; the engine computes them a chunk of
    stories (close in time) per transaction, so memory follows a chunk's window. Chunks of three
    stories give the lists one pass over all of them gives."""
    store = engine.store
    with store.transaction():
        store.db.execute("DELETE FROM story_related")
        store.db.execute("UPDATE story_vectors SET related_at = NULL")
        related.refresh_pending(store)  # one pass, every story at once
    whole = stored_lists(store)
    monkeypatch.setattr(related, "PENDING_CHUNK", 3)
    with store.transaction():
        store.db.execute("DELETE FROM story_related")
        store.db.execute("UPDATE story_vectors SET related_at = NULL")
    owed = len(related.pending(store))
    assert owed > 6, "more stories than two chunks"
    with store.transaction():
        related.refresh_pending(store, 3)
    every = {r[0] for r in store.db.execute("SELECT story_id FROM story_vectors")} | {"no-such-story"}
    assert related._owed(store, every) == set(related.pending(store)) and len(related.pending(store)) == owed - 3
    assert related.fill_missing(store) == owed - 3
    assert related.pending(store) == []
    assert stored_lists(store) == whole
