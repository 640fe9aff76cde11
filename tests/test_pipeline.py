"""The pipeline's run-ahead path: helper processes prepare batches, results stay the same."""
from __future__ import annotations

import copy
import pickle
import sys

import numpy as np
import pytest

from storyline.cluster import index, share
from storyline.cluster.stream import StoryClusterer
from storyline.config import Settings
from storyline.dedup import MinHashDeduplicator
from storyline.ingest import ReadReport, read_paths
from storyline.models import Article
from storyline.pipeline import Pipeline, Prepares, RunAhead, prepare, prepare_batch

from conftest import DEMO


@pytest.fixture(scope="module")
def demo() -> list[Article]:
    return list(read_paths([DEMO], ReadReport()))


def _run(articles: list[Article], workers: int) -> Pipeline:
    pipe = Pipeline(Settings(workers=workers))
    pipe.add_all(copy.deepcopy(articles), batch_size=16)
    pipe.finish()
    return pipe


def test_stages_prepare_ahead_and_travel_small() -> None:
    pipe = Pipeline(Settings())
    assert isinstance(pipe.dedup, Prepares) and isinstance(pipe.clusterer, Prepares)
    assert isinstance(pipe.run_ahead(), RunAhead)
    assert Pipeline(Settings(workers=0)).run_ahead() is None
    blob = pickle.dumps((pipe.dedup.preparer(), pipe.clusterer.preparer()))  # type: ignore[union-attr]
    assert len(blob) < 10_000  # settings only: weights and permutations load where it runs


def test_run_ahead_in_a_helper_gives_the_same_stories(demo: list[Article]) -> None:
    alone, helped = _run(demo, workers=0), _run(demo, workers=1)
    assert len(alone.articles_) == len(helped.articles_) == len({a.id for a in demo})
    assert helped.canonical_ == alone.canonical_
    assert {a: helped.story_id(a) for a in helped.articles_} == {a: alone.story_id(a) for a in alone.articles_}
    for art_id, art in alone.articles_.items():  # the text stage ran in the helper and came back
        other = helped.articles_[art_id]
        assert (other.title, other.text, other.language) == (art.title, art.text, art.language)
    assert len({alone.story_id(a) for a in alone.articles_}) < len(alone.articles_)  # something was grouped


def test_run_ahead_hands_out_the_first_batch_at_once_and_reads_one_more_a_result(demo: list[Article]) -> None:
    """The helper has the first batch before ``map`` returns (the caller decides a batch of its
    own meanwhile); the others are read as results are asked for, none before the first, then
    one more each time until ``depth`` are ahead, so a reader that stops when told is asked
    again only then."""
    ahead = Pipeline(Settings(workers=1)).run_ahead()
    assert ahead is not None and ahead.depth == 2
    read: list[int] = []

    def batches():  # type: ignore[no-untyped-def]
        for n in range(6):
            read.append(n)
            yield copy.deepcopy(demo[n * 5 : n * 5 + 5])

    results = ahead.map(batches())
    assert read == [0]
    when = []
    for ready in results:
        when.append(len(read))
        assert len(ready.texts) == 5
    assert when == [1, 3, 5, 6, 6, 6]


def test_sketches_survive_pickling_and_match_in_process(demo: list[Article]) -> None:
    arts = [prepare(a) for a in copy.deepcopy(demo)]
    sketcher = MinHashDeduplicator().preparer()
    travelled = pickle.loads(pickle.dumps(sketcher))
    here, there = sketcher(arts), travelled(arts)
    assert sum(s is not None for s in here) > len(arts) // 2
    for a, b in zip(here, there):
        assert (a is None and b is None) or (np.array_equal(a[0], b[0]) and a[1] == b[1])
    # partial_fit with prepared sketches equals partial_fit computing them itself
    assert MinHashDeduplicator().partial_fit(arts, prepared=here).canonical == MinHashDeduplicator().partial_fit(arts).canonical


def test_prepared_batch_lines_up_with_skipped_ids(demo: list[Article]) -> None:
    # an article already seen is skipped; the prepared entries of the others must still line up
    arts = copy.deepcopy(demo[:20])
    pipe = Pipeline(Settings(workers=0))
    pipe.add(arts[:5])
    batch = copy.deepcopy(arts)
    ready = prepare_batch(batch, pipe.dedup.preparer(), pipe.clusterer.preparer())  # type: ignore[union-attr]
    ids = pipe.add(batch, ready)
    plain = Pipeline(Settings(workers=0))
    plain.add(copy.deepcopy(arts[:5]))
    assert ids == plain.add(copy.deepcopy(arts))


@pytest.mark.skipif(sys.platform != "linux", reason="forked consolidation helpers are Linux only")
def test_consolidation_search_shared_with_a_forked_helper(demo: list[Article], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(share, "PARALLEL_SEARCH", 4)  # the demo's ~40 stories take the shared path,
    monkeypatch.setattr(share, "AHEAD_BLOCK", 4)  # in pieces of 4 (and dense similarity blocks of 4)
    monkeypatch.setattr(index, "AHEAD_BLOCK", 4)
    arts = [prepare(a) for a in copy.deepcopy(demo)]
    merges = []
    for workers in (0, 1):
        # a strict join leaves stories apart, the permissive hand-set rule merges them again
        clusterer = StoryClusterer(workers=workers, join_threshold=0.95, merge_model=None, mutual_threshold=0.0)
        clusterer.partial_fit(arts)
        touched = [s for s in clusterer.touched_ if s in clusterer.stories_]
        assert len(touched) >= 4 * share.PARALLEL_SEARCH
        best = clusterer._best_partners(touched)
        assert list(best) == touched
        clusterer.consolidate()
        merges.append((clusterer.merges_, {s: (b[0], b[1]) for s, b in best.items()}))
    assert merges[0] == merges[1]
    assert merges[0][0], "the stricter join should leave stories for consolidation to merge"
