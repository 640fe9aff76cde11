"""Unit tests for the story clusterer: online invariants, the specimen, stray items, merges,
splits and the consolidation's repairs (what it computes per pair: tests/test_cluster_features.py)."""
from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from storyline.cluster import Clusterer, StoryClusterer, default_clusterer, resolve, story_id_for
from storyline.cluster.refine import identity_conflict
from storyline.cluster.stream import FEATURES, JoinModel
from storyline.config import Settings
from storyline.models import Article

from cluster_helpers import T0, event_articles

SPECIMEN = Path(__file__).resolve().parents[1].parent / "shared" / "examples" / "iraq-personnel-2019.txt"


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    return event_articles()


def test_default_clusterer_implements_protocol() -> None:
    clusterer = default_clusterer(Settings())
    assert isinstance(clusterer, Clusterer)
    assert isinstance(clusterer, StoryClusterer)


def test_events_grouped_and_strays_alone(articles: list[Article]) -> None:
    ids = StoryClusterer().partial_fit(articles)
    story = dict(zip((a.id for a in articles), ids))
    assert story["quake0-0"] == story["quake0-1"] == story["quake0-2"]
    assert story["quake1-0"] == story["quake1-1"] == story["quake1-2"]
    assert story["quake0-0"] != story["quake1-0"]
    for stray in ("stray-bakery", "stray-dog"):
        assert list(story.values()).count(story[stray]) == 1
        assert story[stray] == story_id_for(stray)


def test_story_ids_stable_across_reruns(articles: list[Article]) -> None:
    assert StoryClusterer().partial_fit(articles) == StoryClusterer().partial_fit(articles)
    first = StoryClusterer().partial_fit(articles)[0]
    assert first == story_id_for(articles[0].id)


def test_never_looks_ahead(articles: list[Article]) -> None:
    full = StoryClusterer().partial_fit(articles)
    for k in range(1, len(articles)):
        assert StoryClusterer().partial_fit(articles[:k]) == full[:k]


def test_batches_equal_one_run(articles: list[Article]) -> None:
    one = StoryClusterer().partial_fit(articles)
    c = StoryClusterer()
    split = c.partial_fit(articles[:3]) + c.partial_fit(articles[3:5]) + c.partial_fit(articles[5:])
    assert split == one


def test_state_save_load_then_continue_equals_one_run(articles: list[Article]) -> None:
    one = StoryClusterer(close_every=2)
    expected = one.partial_fit(articles)
    first = StoryClusterer(close_every=2)
    head = first.partial_fit(articles[:4])
    state = json.loads(json.dumps(first.get_state()))
    second = StoryClusterer(close_every=2)
    second.set_state(state)
    assert head + second.partial_fit(articles[4:]) == expected
    assert second.merges_ == one.merges_


def test_merges_resolve() -> None:
    # A permissive model makes every story the best match of some other: consolidate links pairs.
    eager = JoinModel.linear([0.0] * len(FEATURES), 50.0)
    # the rule, no folding: every merged-away story keeps its state (the repair passes off: with a
    # model that joins anything they would move every article; they have tests of their own)
    c = StoryClusterer(fold_size=0, merge_model=None, refine_rounds=0, one_sided_size=0)
    arts = event_articles()
    ids = c.partial_fit(arts)
    c.model = eager
    new = c.consolidate()
    assert new and new == c.merges_, "the eager model should have merged stories"
    for story in set(ids):
        final = resolve(story, c.merges_)
        assert final not in c.merges_
    for gone, keep in c.merges_.items():
        assert keep in c.stories_ or keep in c.merges_
        assert c.stories_[gone].opened >= c.stories_[resolve(gone, c.merges_)].opened, "the earlier story keeps its id"
        # the merged-away story keeps its own state for later join decisions
        assert gone in c.stories_
    assert c.consolidate() == {}, "nothing touched since: nothing new to merge"


# consolidation by mutual best alone: the repair passes (refine, one-sided; tested at the end of
# this file) would also join these singletons, which is not what these tests are about
MUTUAL_ONLY = dict(refine_rounds=0, one_sided_size=0)


def two_events() -> list[Article]:
    """Two reports each of a quake and a cup final, interleaved: q1, f1, q2, f2."""
    return [
        Article(id="q1", title="Magnitude 6.1 quake strikes off Tonga coast",
                text="A magnitude 6.1 earthquake struck off the coast of Tonga early Tuesday, the USGS said."),
        Article(id="f1", title="Harbor City win the cup final on penalties",
                text="Harbor City beat Westquay Rovers on penalties to lift the cup at the national stadium."),
        Article(id="q2", title="Tonga shaken by strong undersea earthquake",
                text="Residents felt strong shaking on Tuesday when an undersea earthquake of magnitude 6.1 hit near Tonga."),
        Article(id="f2", title="Penalties hand Harbor City the cup",
                text="Westquay Rovers lost the cup final to Harbor City after a penalty shootout at the stadium."),
    ]


def test_consolidate_joins_mutual_best_singletons() -> None:
    # Nothing may join on arrival (threshold above 1), so four reports of two events are four
    # stories; at the end each is the best match of its counterpart and, under the hand-set rule
    # with no probability floor, the pairs become stories.
    arts = two_events()
    c = StoryClusterer(join_threshold=1.01, loose_threshold=2.0, mutual_threshold=0.0, merge_model=None)
    ids = c.partial_fit(arts)
    assert len(set(ids)) == 4
    assert c.consolidate() == {ids[2]: ids[0], ids[3]: ids[1]}
    assert {resolve(s, c.merges_) for s in ids} == {ids[0], ids[1]}


def test_learned_merge_model_decides_consolidation() -> None:
    # The committed merge model joins the two quake reports and never a quake with a cup final.
    arts = two_events()
    c = StoryClusterer(join_threshold=1.01, loose_threshold=2.0)
    assert c.merge_model is not None, "the committed merge-trees model should load"
    ids = c.partial_fit(arts)
    merged = c.consolidate()
    assert merged.get(ids[2]) == ids[0]
    story = {a.id: resolve(s, c.merges_) for a, s in zip(arts, ids)}
    assert story["q1"] == story["q2"] != story["f1"] and story["f2"] != story["q1"]
    # with the model's bar above any probability nothing merges: the model is what decides
    strict = StoryClusterer(join_threshold=1.01, loose_threshold=2.0, learned_merge_threshold=1.01, **MUTUAL_ONLY)
    strict.partial_fit(arts)
    assert strict.consolidate() == {}


def test_consolidate_folds_small_pairs_and_searches_again() -> None:
    # Three reports of one event and two of another, none joined on arrival. Two of the quake
    # reports are each other's best match; once folded into one story, that story and the third
    # report are mutually best, which a second round finds. One round leaves the third apart.
    third = Article(id="q3", title="Undersea quake rattles Tonga, no tsunami warning",
                    text="The USGS measured the Tuesday earthquake near Tonga at magnitude 6.1; no tsunami warning was issued.")
    arts = [*two_events(), third]
    settings = dict(join_threshold=1.01, loose_threshold=2.0, mutual_threshold=0.0, merge_model=None, **MUTUAL_ONLY)
    one_round = StoryClusterer(merge_rounds=1, **settings)
    ids = one_round.partial_fit(arts)
    one_round.consolidate()
    assert len({resolve(s, one_round.merges_) for s in ids}) == 3
    c = StoryClusterer(**settings)
    ids = c.partial_fit(arts)
    merged = c.consolidate()
    story = {a.id: resolve(s, c.merges_) for a, s in zip(arts, ids)}
    assert story["q1"] == story["q2"] == story["q3"] != story["f1"] == story["f2"]
    assert set(merged) == {ids[2], ids[3], ids[4]}, "every merged-away id is reported and still resolves"
    # folded stories are one state: the quake story holds all three reports, the others closed
    assert c.stories_[story["q1"]].size == 3 and ids[2] not in c.stories_ and ids[4] not in c.stories_
    # and a later report joins the kept story directly
    later = Article(id="q4", title="Tonga quake: magnitude 6.1 tremor off the coast on Tuesday",
                    text="An undersea earthquake of magnitude 6.1 struck near Tonga on Tuesday, the USGS said; no tsunami.")
    c.join_threshold = 0.5
    assert c.partial_fit([later]) == [story["q1"]]


def test_consolidate_keeps_lone_items_that_only_share_a_place_apart() -> None:
    # Each is the other's best match only because nothing else mentions Quendale.
    arts = [
        Article(id="regatta", title="Lantern regatta returns to Mirrow Lake",
                text="Organizers of the Quendale lantern regatta said on Thursday that forty handmade boats will sail "
                     "across Mirrow Lake after dark. The regatta began in 1987 and draws visitors from the whole valley."),
        Article(id="ferry", title="Quendale ferry timetable changes from Monday",
                text="The Quendale ferry will leave every forty minutes from Monday, the operator said. "
                     "Evening sailings end at 22:10 instead of midnight."),
    ]
    c = StoryClusterer()
    ids = c.partial_fit(arts)
    assert ids[0] != ids[1]
    assert c.consolidate() == {}
    # the same with a title that says nothing (markup, as in the web tests' hostile article): only
    # the place is shared, and the join-probability floor keeps the merge model from being asked
    blank = [replace(arts[0], title="<img src=x onerror=alert(1)><script>alert(2)</script>"), arts[1]]
    c = StoryClusterer()
    c.partial_fit(blank)
    assert c.consolidate() == {}
    # the same pair does merge when the evidence floors are removed, so the floors are what hold
    loose = StoryClusterer(mutual_min_dense=0.0, mutual_threshold=0.0, merge_min_p=0.0)
    loose.partial_fit(arts)
    assert loose.consolidate()


def test_time_window_keeps_old_stories_closed() -> None:
    a = Article(id="old", title="Port Averill bridge closed after ship strike", text="A cargo ship hit the Tellford Bridge.", published=T0)
    b = Article(id="new", title="Port Averill bridge closed after ship strike", text="A cargo ship hit the Tellford Bridge.", published=T0 + timedelta(days=30))
    ids = StoryClusterer(window_days=3).partial_fit([a, b])
    assert ids[0] != ids[1]


def test_short_items_without_text() -> None:
    heads = [Article(id=f"h{i}", title=t) for i, t in enumerate([
        "Fed official says weak data caused by weather, should not slow taper",
        "Fed's Plosser sees high bar for change in pace of tapering",
        "Former wrestler says doc abused him at age 14",
    ])]
    ids = StoryClusterer().partial_fit(heads)
    assert len(ids) == 3 and ids[2] == story_id_for("h2")


def test_state_is_json(articles: list[Article]) -> None:
    c = StoryClusterer()
    c.partial_fit(articles)
    state = c.get_state()
    assert json.loads(json.dumps(state)) == state


@pytest.mark.skipif(not SPECIMEN.exists(), reason=f"specimen {SPECIMEN} not present (needs ../shared/examples)")
def test_specimen_one_story_and_two_strays() -> None:
    from storyline.ingest import read_paths
    from storyline.pipeline import digest

    stories = digest(list(read_paths([SPECIMEN])))
    texts = {s.id: [a.title or a.text for a in s.articles] for s in stories}
    iraq = next(s for s in stories if any("USA orders personnel" in t for t in texts[s.id]))
    assert iraq.duplicates == 2
    assert iraq.size >= 15
    for stray in ("Walmart says higher tariffs", "Former wrestler says doc"):
        holder = [s for s in stories if any(t.startswith(stray) for t in texts[s.id])]
        assert len(holder) == 1 and holder[0].size == 1 and holder[0].duplicates == 0


def test_time_cues_survive_state_round_trip(articles: list[Article]) -> None:
    c = StoryClusterer()
    c.partial_fit(articles)
    again = StoryClusterer()
    again.set_state(json.loads(json.dumps(c.get_state())))
    quake = c.stories_[story_id_for("quake0-0")]
    assert "Monday" in quake.days
    restored = again.stories_[story_id_for("quake0-0")]
    assert (restored.days, restored.years, restored.months) == (quake.days, quake.years, quake.months)


def test_short_dated_items_join_at_the_headline_threshold() -> None:
    """A short dated item joins at the headline bar; an undated one faces the join bar (here above
    any probability: two near-identical headlines score 0.995)."""
    c = StoryClusterer(join_threshold=1.01, headline_join_threshold=0.0, mutual_threshold=2.0)
    heads = [Article(id=f"h{i}", title=t, text="", published=T0 + timedelta(minutes=i)) for i, t in
             enumerate(["Chile quake triggers tsunami alert", "Tsunami alert after Chile quake"])]
    assert len(set(c.partial_fit(heads))) == 1
    undated = StoryClusterer(join_threshold=1.01, headline_join_threshold=0.0, mutual_threshold=2.0, loose_threshold=2.0)
    assert len(set(undated.partial_fit([Article(id=a.id, title=a.title, text="") for a in heads]))) == 2


# -- splits: a story whose members form two well-separated groups comes apart at consolidation --

def _forced_together() -> tuple[StoryClusterer, list[Article], list[str]]:
    """The two earthquakes of :func:`event_articles` forced into one story on arrival (a hand-set
    model with a join bar near zero), as twin events slip in together when the first report of
    the second joins the first."""
    arts = [a for a in event_articles() if a.id.startswith("quake")]
    c = StoryClusterer(model=JoinModel.fallback(), merge_model=None, join_threshold=0.02, loose_threshold=2.0)
    ids = c.partial_fit(arts)
    assert len(set(ids)) == 1, "the permissive bar should have put both quakes in one story"
    return c, arts, ids


def test_split_separates_twin_events_and_records_it() -> None:
    c, arts, ids = _forced_together()
    old = ids[0]
    assert c.consolidate() == {}
    assert len(c.splits_) == 1
    new, parent = next(iter(c.splits_.items()))
    assert parent == old and new != old
    # the larger part (a tie here: the part holding the story's first article) keeps the id
    assert set(c.moved_) == {"quake1-0", "quake1-1", "quake1-2"} and set(c.moved_.values()) == {new}
    assert c.stories_[old].size == 3 and c.stories_[new].size == 3
    # a later report of the second quake joins the split-off story, not its twin
    later = Article(id="quake1-3", title="Chile counts damage in Iquique after 8.2 quake",
                    text="Iquique and Arica cleared debris on Thursday after the magnitude 8.2 earthquake off northern Chile; "
                         "Bachelet promised aid and the tsunami alert was lifted.")
    c.join_threshold = 0.5
    assert c.partial_fit([later]) == [new]


def test_split_needs_two_groups_apart() -> None:
    # one event's reports forced together stay one story: its halves read alike
    arts = [a for a in event_articles() if a.id.startswith("quake0")]
    arts.append(Article(id="quake0-3", title="Iran quake toll rises to 38 in East Azerbaijan",
                        text="The Red Crescent said the toll from Monday's magnitude 6.4 earthquake near Tabriz, Ahar and "
                             "Varzaqan rose to 38, with thousands sheltered in tents."))
    c = StoryClusterer(model=JoinModel.fallback(), merge_model=None, join_threshold=0.02, loose_threshold=2.0)
    assert len(set(c.partial_fit(arts))) == 1
    c.consolidate()
    assert c.splits_ == {} and c.moved_ == {}
    # and with splitting turned off, the twin story of the previous test stays merged
    twins, _, ids = _forced_together()
    twins.split_min_part = 0
    twins.consolidate()
    assert twins.splits_ == {} and twins.stories_[ids[0]].size == 6


def test_split_by_identity_when_groups_read_alike() -> None:
    # twins that read too alike for the separation test still split when the two groups name
    # different figures (6.4 and 38 against 8.2) and each holds identity_min_part articles
    twins, _, ids = _forced_together()
    twins.split_separation = 0.0
    twins.consolidate()
    assert len(twins.splits_) == 1 and twins.stories_[ids[0]].size == 3
    for kw in ({"identity_separation": 0.0}, {"identity_min_part": 4}):
        twins, _, ids = _forced_together()
        twins.split_separation = 0.0
        for k, v in kw.items():
            setattr(twins, k, v)
        twins.consolidate()
        assert twins.splits_ == {} and twins.stories_[ids[0]].size == 6, kw


def test_identity_conflict_needs_disjoint_cores() -> None:
    from storyline.cluster.features import represent

    def group(*texts: str) -> list:
        return represent([Article(id=str(i), title="Quake", text=t) for i, t in enumerate(texts)], None)

    q2008 = group("The 2008 quake killed 38 people.", "Rescuers in 2008 found 38 dead.", "Aid arrived.")
    q2012 = group("The 2012 quake killed 306 people.", "In 2012 the toll reached 306.", "Aid arrived.")
    assert identity_conflict([q2008, q2012], 0.3)
    assert not identity_conflict([q2008, q2008], 0.3)
    # a year named by one member in three is a group's core at share 0.3, not at 0.5
    lone = group("Tents went up in 2012.", "Tents went up.", "Tents went up.")
    assert identity_conflict([q2008, lone], 0.3) and not identity_conflict([q2008, lone], 0.5)
    # a group that names no year, month or figure conflicts with nothing
    assert not identity_conflict([q2008, group("Tents went up.", "Aid arrived.", "Roads reopened.")], 0.3)


def test_split_redirects_pipeline_ids_and_survives_state_round_trip() -> None:
    from storyline.pipeline import Pipeline

    c, arts, _ = _forced_together()
    c.set_state({})  # start over inside a pipeline
    pipe = Pipeline(Settings(workers=0), clusterer=c)
    pipe.add_all(arts)
    pipe.finish()
    story = {a.id: pipe.story_id(a.id) for a in arts}
    assert story["quake0-0"] == story["quake0-1"] == story["quake0-2"] == story_id_for("quake0-0")
    assert story["quake1-0"] == story["quake1-1"] == story["quake1-2"] != story["quake0-0"]
    assert c.splits_ == {story["quake1-0"]: story_id_for("quake0-0")}
    again = StoryClusterer(model=JoinModel.fallback(), merge_model=None, loose_threshold=2.0)
    again.set_state(json.loads(json.dumps(c.get_state())))
    assert again.splits_ == c.splits_ and again.moved_ == c.moved_
    assert {s: st.size for s, st in again.stories_.items()} == {s: st.size for s, st in c.stories_.items()}
    # a split-off story that later merges still resolves for its moved articles
    again.merges_[story["quake1-0"]] = story["quake0-0"]
    assert resolve(again.moved_["quake1-0"], again.merges_) == story["quake0-0"]


def test_twin_events_stay_apart_after_consolidation(articles: list[Article]) -> None:
    from storyline.pipeline import Pipeline

    pipe = Pipeline(Settings(workers=0), clusterer=StoryClusterer())
    pipe.add_all(articles)
    pipe.finish()
    story = {a.id: pipe.story_id(a.id) for a in articles}
    assert story["quake0-0"] == story["quake0-1"] == story["quake0-2"]
    assert story["quake1-0"] == story["quake1-1"] == story["quake1-2"]
    assert story["quake0-0"] != story["quake1-0"]


def test_demo_keeps_the_bridge_collision_and_the_dock_strike_apart() -> None:
    """The demo's first story used to hold the Port Averill dockworkers' strike (three days after
    the Tellford Bridge collision, same town): one story per event, each summary on its own."""
    from storyline.ingest import read_paths
    from storyline.pipeline import digest

    demo = Path(__file__).resolve().parents[1] / "storyline" / "demo" / "corpus.jsonl"
    stories = digest(list(read_paths([demo])))
    given = lambda article: article.id.split(":", 1)[-1]  # noqa: E731 - the id the file gave (ids are kept under their file)
    holder = {given(a): s for s in stories for a in s.articles}
    bridge, strike = holder["demo-001"], holder["demo-033"]
    assert bridge.id != strike.id
    assert {"demo-004", "demo-015"} <= {given(a) for a in bridge.articles}
    assert {"demo-036", "demo-045"} <= {given(a) for a in strike.articles}
    assert not any("strike" in a.title.lower() and "Tellford" not in a.title and "ship" not in a.title for a in bridge.articles)
    assert not any("Tellford" in a.title for a in strike.articles)
    assert bridge.summary is not None and strike.summary is not None
    assert "dockworker" not in bridge.summary.text.lower() and "Marlow Crest" not in strike.summary.text


def test_dated_mutual_best_pairs_merge_on_the_join_model_alone() -> None:
    """Inside a time window a mutually-best pair whose join probability is high both ways merges
    even when the merge model says no (here: its bar above any probability); undated, or with the
    rule off, the merge model alone decides."""
    def run(dated: bool, **settings: object) -> dict[str, str]:
        arts = [Article(id=a.id, title=a.title, text=a.text, published=T0 + timedelta(hours=i) if dated else None)
                for i, a in enumerate(two_events())]
        c = StoryClusterer(join_threshold=1.01, headline_join_threshold=1.01, loose_threshold=2.0,
                           learned_merge_threshold=1.01, **MUTUAL_ONLY, **settings)
        ids = c.partial_fit(arts)
        merged = c.consolidate()
        assert len(set(ids)) == 4
        return {old: new for old, new in merged.items()}

    dated = run(True)
    assert dated == {story_id_for("q2"): story_id_for("q1"), story_id_for("f2"): story_id_for("f1")}
    assert run(False) == {}
    assert run(True, mutual_join_p=None) == {}


# -- order-free repair at consolidation (storyline/cluster/refine.py) --

def test_refine_rejoins_reports_that_came_before_their_story() -> None:
    """Nothing joins on arrival and no merge passes, so five reports are five stories; re-scored
    at the end against every story, each quake report joins the quakes and each cup report the
    cup. Without the pass they stay apart."""
    third = Article(id="q3", title="Undersea quake rattles Tonga, no tsunami warning",
                    text="The USGS measured the Tuesday earthquake near Tonga at magnitude 6.1; no tsunami warning was issued.")
    arts = [*two_events(), third]

    def run(**settings: object) -> tuple[StoryClusterer, dict[str, str]]:
        c = StoryClusterer(join_threshold=1.01, loose_threshold=2.0, learned_merge_threshold=1.01, **settings)
        ids = c.partial_fit(arts)
        c.consolidate()
        return c, {a.id: resolve(c.moved_.get(a.id, s), c.merges_) for a, s in zip(arts, ids)}

    _, apart = run(refine_rounds=0, one_sided_size=0)
    assert len(set(apart.values())) == 5
    c, story = run(refine_rounds=2, refine_min_p=0.3, one_sided_size=0)
    assert story["q1"] == story["q2"] == story["q3"] != story["f1"] == story["f2"]
    # emptied stories are merges (their ids still resolve), and the states left are the two stories
    assert sorted(st.size for st in c.stories_.values()) == [2, 3]
    assert all(resolve(s, c.merges_) in c.stories_ for s in c.merges_)


def test_refine_skips_the_search_only_for_members_that_cannot_move() -> None:
    """A member whose probability at home (its story without it) is over 1 - margin stays
    whatever a search would find, so ``_judge`` makes none; its verdict is the same as with the
    search made, at every margin and bar. Checked on every member of the demo's stories."""
    from storyline.cluster.refine import _judge
    from storyline.ingest import read_paths

    demo = Path(__file__).resolve().parents[1] / "storyline" / "demo" / "corpus.jsonl"
    c = StoryClusterer()
    c.partial_fit(list(read_paths([demo])))
    members = [(s, i) for s, st in c.stories_.items() if st.size > 1 for i in range(st.size)]
    skipped = moves = 0
    for margin, min_p in ((0.05, 0.0), (0.3, 0.3), (0.6, 0.0)):
        for s, i in members:
            quick = _judge(c, s, i, margin, min_p, set(), False)
            _, sparse, dense, cut, dense_cut = c._search(c.stories_[s].items[i][1])
            full = _judge(c, s, i, margin, min_p, set(), False, (sparse, dense, cut, dense_cut, {}, None))
            assert quick[0] == full[0], (s, i, margin)
            skipped += quick[3] == (math.inf, math.inf)
            moves += full[0] is not None
    assert skipped and moves and skipped < 3 * len(members)


def _same(a: object, b: object) -> bool:
    """Equal, floats (and arrays) to 12 significant digits, through tuples, lists and dicts."""
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (float, np.ndarray)) or isinstance(b, (float, np.ndarray)):
        return bool(np.allclose(a, b, rtol=1e-12, atol=0.0))  # type: ignore[arg-type]
    return a == b


def test_a_search_made_again_scores_only_the_stories_that_changed() -> None:
    """A member (refine) or a story (the one-sided pass) searched again because some stories
    changed keeps the probabilities of the candidates that did not: the same verdict, search
    and probabilities as judged afresh, with one feature row made (the changed candidate's).
    Its probability is computed in a batch of one instead of with the others, which can change
    its last bit (the join model's matrix products), as for any story scored again since session
    18. Checked on every member and story of the demo that has candidates."""
    from storyline.cluster.refine import _judge
    from storyline.ingest import read_paths

    demo = Path(__file__).resolve().parents[1] / "storyline" / "demo" / "corpus.jsonl"
    c = StoryClusterer()
    c.partial_fit(list(read_paths([demo])))
    rows: list[int] = []
    real = c._feature_rows
    c._feature_rows = lambda vec, states: rows.append(len(states)) or real(vec, states)  # type: ignore[method-assign]
    members = judged = 0
    for s, st in list(c.stories_.items()):
        for i in range(st.size):
            fresh = _judge(c, s, i, 0.05, 0.0, set(), False)
            if not fresh[5]:
                continue  # decided without a search, or none found
            changed = {next(iter(fresh[5]))}
            rows.clear()
            again = _judge(c, s, i, 0.05, 0.0, set(), False, (None, *fresh[2:]), changed)
            assert _same(again, fresh), (s, i)
            assert rows == [1]
            members += 1
        best, deps = c._partner_search(s)
        if len(deps[-1]) >= 2:
            rows.clear()
            best_again, deps_again = c._partner_search(s, [t for t in deps[-1] if t[1] != deps[-1][0][1]])
            assert _same(best_again, best) and _same(deps_again, deps), s
            assert rows == [1]
            judged += 1
    assert members >= 20 and judged >= 5


def _lone_groups(**settings: object) -> list[list[str]]:
    """The groups the cup and quake reports (and a third quake report) end in when only lone
    articles can move: every join, merge and ordinary refine bar is out of reach."""
    third = Article(id="q3", title="Undersea quake rattles Tonga, no tsunami warning",
                    text="The USGS measured the Tuesday earthquake near Tonga at magnitude 6.1; no tsunami warning was issued.")
    arts = [*two_events(), third]
    c = StoryClusterer(join_threshold=1.01, loose_threshold=2.0, learned_merge_threshold=1.01, refine_min_p=1.01,
                       one_sided_size=0, **settings)
    ids = c.partial_fit(arts)
    c.consolidate()
    out: dict[str, list[str]] = {}
    for a, s in zip(arts, ids):
        out.setdefault(resolve(c.moved_.get(a.id, s), c.merges_), []).append(a.id)
    return sorted(sorted(g) for g in out.values())


def test_refine_moves_a_lone_report_when_its_story_leads_clearly() -> None:
    """The ordinary refine bar is out of reach here (``refine_min_p`` above any probability), so
    only single-article stories move, after the other passes, at ``refine_single_p``, and only when the best story leads
    the runner-up by ``refine_single_lead`` times: each cup report has one probable partner (the
    other, about 0.996 against 0.0) and they join; each quake report has two about as probable
    (0.997 and 0.994), so at the default lead of 5 the quakes stay apart, and at a lead of 1 they
    come together. With the single bar off nothing moves."""
    assert _lone_groups(refine_single_p=None) == [["f1"], ["f2"], ["q1"], ["q2"], ["q3"]]
    assert _lone_groups() == [["f1", "f2"], ["q1"], ["q2"], ["q3"]]  # defaults: 0.03, lead 5
    assert _lone_groups(refine_single_lead=1.0) == [["f1", "f2"], ["q1", "q2", "q3"]]
    assert _lone_groups(refine_single_p=0.999, refine_single_lead=1.0, refine_single_agree_p=None) == [["f1"], ["f2"], ["q1"], ["q2"], ["q3"]]


def test_a_lone_report_moves_without_the_lead_when_a_second_view_agrees() -> None:
    """Without the lead, a lone report moves at ``refine_single_agree_p`` when its most probable
    story is also the nearest by embedding cosine around the training articles' mean
    (``dense_centre``), by ``refine_single_agree_lead``: the cup reports' bar is out of reach
    (``refine_single_p`` 0.999) and they join on agreement (each leads the quakes in that view by
    0.5 to 0.7, so a lead of 0.9 keeps them apart); each quake report's two partners are about as
    near in that view too (within the default lead of 0.04), so they stay apart. Without the mean
    embedding nothing moves, whatever the lead."""
    def groups(**settings: object) -> list[list[str]]:
        return _lone_groups(refine_single_p=0.999, **settings)

    assert groups() == [["f1", "f2"], ["q1"], ["q2"], ["q3"]]
    assert groups(refine_single_agree_lead=0.5) == [["f1", "f2"], ["q1"], ["q2"], ["q3"]]
    assert groups(refine_single_agree_lead=0.9) == [["f1"], ["f2"], ["q1"], ["q2"], ["q3"]]
    assert groups(refine_single_agree_lead=0.0, dense_centre=None) == [["f1"], ["f2"], ["q1"], ["q2"], ["q3"]]
    assert groups(refine_single_agree_p=None) == [["f1"], ["f2"], ["q1"], ["q2"], ["q3"]]


def test_the_mean_embedding_belongs_to_its_embedder() -> None:
    """The committed mean was taken over the default embedder's vectors: a clusterer with another
    embedder (another name or dimension) goes without it, and its lone-article step still runs; a
    mean of the wrong dimension given by hand is refused."""

    class Other:
        name, dim = "other-embedder.v1", 8

        def embed(self, texts: list[str]) -> np.ndarray:
            out = np.zeros((len(texts), self.dim), dtype=np.float32)
            out[:, 0] = 1.0
            return out

    assert StoryClusterer().dense_centre is not None
    assert StoryClusterer(dense_centre=None).dense_centre is None
    other = StoryClusterer(embedder=Other())
    assert other.dense_centre is None
    third = Article(id="q3", title="Undersea quake rattles Tonga", text="The USGS measured the Tuesday earthquake near Tonga.")
    other.partial_fit([*two_events(), third])
    other.consolidate()
    with pytest.raises(ValueError, match="dimensions"):
        StoryClusterer(embedder=Other(), dense_centre=np.zeros(256))


def test_refine_moves_a_wrong_join_to_its_own_event() -> None:
    """A Chile report forced into the Iran quake story moves to the Chile story at consolidation
    (recorded in ``moved_``); with the pass off it stays where it was put."""
    from storyline.cluster.features import represent

    arts = [a for a in event_articles() if a.id.startswith("quake")]
    extra = Article(id="quake1-3", title="Chile counts damage in Iquique after 8.2 quake",
                    text="Iquique and Arica cleared debris on Thursday after the magnitude 8.2 earthquake off northern "
                         "Chile; Bachelet promised aid and the tsunami alert was lifted.")
    for rounds in (0, 2):
        c = StoryClusterer(refine_rounds=rounds, refine_min_p=0.3)
        ids = c.partial_fit(arts)
        iran, chile = ids[0], ids[1]
        assert iran != chile and ids[2] == iran and ids[3] == chile
        c._add(iran, represent([extra], c.embedder)[0], extra.id)  # the wrong join
        c.consolidate()
        if rounds:
            assert c.moved_ == {"quake1-3": chile}
            assert c.stories_[iran].size == 3 and c.stories_[chile].size == 4
        else:
            assert c.moved_ == {} and c.stories_[iran].size == 4


def test_one_sided_merges_every_fragment_around_a_story() -> None:
    """Two Chile reports left as stories of their own beside the Chile story, each with the Chile
    story as its best partner. The story's own best partner is one of them, so mutual best takes
    back only that one (one round: as for a story too big to fold and search again); the one-sided
    rule also takes back the other, which the story finds probable too and the merge model
    accepts. The Iran story stays apart."""
    from storyline.cluster.features import represent

    arts = [a for a in event_articles() if a.id.startswith("quake")]
    fragments = [
        Article(id="chile-c", title="Bachelet declares disaster zone in Chile's north",
                text="President Michelle Bachelet declared Tarapaca and Arica a disaster zone after the magnitude 8.2 "
                     "earthquake killed six people near Iquique."),
        Article(id="chile-d", title="Tsunami waves reach Chilean port after 8.2 earthquake",
                text="Waves of two metres hit Iquique on Tuesday night after the quake; the navy ordered a tsunami "
                     "evacuation of the Pacific coast of Chile."),
    ]
    for size in (0, 2):
        c = StoryClusterer(merge_rounds=1, refine_rounds=0, one_sided_size=size)
        ids = c.partial_fit(arts)
        for art, vec in zip(fragments, represent(fragments, c.embedder)):
            c._add(story_id_for(art.id), vec, art.id)  # arrived before the story formed: left alone
        merged = c.consolidate()
        mutual = {story_id_for("chile-d"): ids[1]}
        assert merged == ({**mutual, story_id_for("chile-c"): ids[1]} if size else mutual)
        assert resolve(ids[0], c.merges_) == ids[0]


def test_big_stories_stay_apart_whatever_the_merge_model_says() -> None:
    from storyline.cluster.join import MERGE_FEATURES, ApartWhenBig, merge_row
    from storyline.scorers import LinearScorer

    # a merge model that merges every pair it is asked about
    yes = LinearScorer(weights=[0.0] * len(MERGE_FEATURES), bias=20.0, mean=[0.0] * len(MERGE_FEATURES),
                       scale=[1.0] * len(MERGE_FEATURES))
    apart = ApartWhenBig(yes, 5)
    row = np.zeros(len(FEATURES))
    z = apart.predict([merge_row(0.9, 0.9, 0.8, a, b, row) for a, b in ((4, 40), (5, 5), (5, 40), (1, 1))])
    assert z[0] == 20.0 and z[3] == 20.0 and np.isneginf(z[1]) and np.isneginf(z[2])
    # in consolidation: four single-report stories (nothing joins on arrival) are mutually-best
    # pairs, which the yes-model merges unless every story counts as big
    arts = two_events()
    for size, merged in ((0, 2), (2, 2), (1, 0)):
        c = StoryClusterer(join_threshold=1.01, loose_threshold=2.0, merge_model=yes, merge_apart_size=size, **MUTUAL_ONLY)
        c.partial_fit(arts)
        assert len(c.consolidate()) == merged, size


def test_shared_searches_come_back_in_order_whoever_took_each_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long list of searches is shared in pieces: this process takes them from the front, a
    forked helper from the back. Every result comes back once, in the list's order; both took
    pieces, each piece whole."""
    import os
    import time

    from storyline.cluster import share

    monkeypatch.setattr(share, "PARALLEL_SEARCH", 1)
    cl = StoryClusterer(workers=1)
    items = list(range(12 * share.AHEAD_BLOCK + 5))

    def search(_: StoryClusterer, item: int) -> tuple[int, int]:
        time.sleep(0.0003)  # long enough for the helper to start before this process is through
        return item, os.getpid()

    out = cl._shared(search, items)
    assert [item for item, _ in out] == items
    by_piece = [{pid for _, pid in out[start : start + share.AHEAD_BLOCK]} for start in range(0, len(items), share.AHEAD_BLOCK)]
    assert all(len(pids) == 1 for pids in by_piece)
    assert by_piece[0] == {os.getpid()} and by_piece[-1] != {os.getpid()}


def test_a_headline_joins_by_topic_only_a_story_that_holds_a_sentence() -> None:
    """With the join model out of the way (bar above 1) and any embedding closeness enough for the
    loose path, an undated headline still does not join a story made of headlines; a lone sentence
    does, and a headline then joins the story that holds it."""
    clusterer = default_clusterer(Settings())
    clusterer.join_threshold = 1.01
    clusterer.loose_threshold = -1.0
    first, second, sentence, third = (
        Article(id="h1", title="Magnitude 6.1 earthquake strikes off the Ostrand coast"),
        Article(id="h2", title="Ostrand coast shaken by 6.1 quake, no tsunami warning issued"),
        Article(id="s1", text="The earthquake struck at a depth of ten kilometres off the Ostrand coast."),
        Article(id="h3", title="Strong earthquake rattles Ostrand coastal towns overnight"),
    )
    story = {}
    for art in (first, second, sentence, third):
        story[art.id] = clusterer.partial_fit([art])[0]
    assert story["h2"] != story["h1"]  # headline to headline: not on closeness alone
    assert story["s1"] in (story["h1"], story["h2"])  # a sentence groups by topic, as before
    assert story["h3"] == story["s1"]  # a headline joins the story holding a sentence
    # the flag survives a saved state
    again = default_clusterer(Settings())
    again.set_state(json.loads(json.dumps(clusterer.get_state())))
    assert {s.id: s.headlines for s in again.stories_.values()} == {s.id: s.headlines for s in clusterer.stories_.values()}
    assert again.stories_[story["h3"]].headlines is False


def test_a_loose_item_joins_only_a_story_clearly_closer_than_the_next() -> None:
    """Two loose stories both within reach: the item joins the closer only when its cosine leads
    by ``loose_margin``; with one loose story in reach it joins that one."""
    clusterer = default_clusterer(Settings())
    clusterer.join_threshold = 1.01
    lines = [Article(id="a", text="The earthquake struck at a depth of ten kilometres off the Ostrand coast."),
             Article(id="b", text="Council members voted to raise the Ostrand harbour fees next spring."),
             Article(id="c", text="Aftershocks shook the Ostrand coast through the night after the quake.")]
    clusterer.loose_threshold = -1.0
    first = clusterer.partial_fit(lines[:1])[0]
    clusterer.loose_threshold = 2.0
    second = clusterer.partial_fit(lines[1:2])[0]
    assert first != second
    clusterer.loose_threshold, clusterer.loose_margin = -1.0, 2.0
    vec = clusterer.preparer()(lines[2:])[0]
    cands, x, _ = clusterer.score(vec)
    assert {first, second} <= set(cands)
    assert clusterer._loose_match(vec, cands, x) is None  # neither leads by 2
    clusterer.loose_margin = 0.0
    near = dict(zip(cands, x[:, 1]))
    assert clusterer._loose_match(vec, cands, x) == max((first, second), key=lambda s: near[s])
    assert clusterer._loose_match(vec, [first], x[[cands.index(first)]]) == first  # alone in reach: no rival
