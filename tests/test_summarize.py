"""Summarizers on tiny synthetic stories: budget, verbatim attributed sentences, off-topic items,
empty inputs, determinism."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from storyline.models import Article
from storyline.summarize import (
    CentroidSummarizer, LeadSummarizer, LearnedHeadliner, LearnedSummarizer, OffTopicDetector,
    Summarizer, default_summarizer,
)
from storyline.summarize.features import StoryView, story_sentences, trim_title
from storyline.summarize.scoring import MODEL_FILE
from storyline.summarize.words import PAIR_FEATURES, TITLE_WORD_FEATURES, WORD_FEATURES, Lexicon, word_table
from storyline.text import split_sentences

SPECIMEN = Path(__file__).resolve().parents[1].parent / "shared" / "examples" / "iraq-personnel-2019.txt"

FLOOD = [
    Article(id="a", source="Harbor Post", url="https://harbor.example/flood",
            title="River Vell floods lower Dunmore as levee fails",
            text="The River Vell burst a levee in Dunmore on Tuesday, flooding the lower town. "
                 "About 2,000 residents were evacuated to the Dunmore sports hall overnight. "
                 "Mayor Ilse Ferrant said the levee had been due for repair since 2019."),
    Article(id="b", source="Valley Courier", title="Dunmore evacuates 2,000 after levee breach on the Vell",
            text="Emergency crews evacuated some 2,000 people from lower Dunmore after a levee on the "
                 "River Vell failed on Tuesday. Water reached the first floors of homes near the bridge. "
                 "Ferrant promised an inquiry into why the repair was delayed."),
    Article(id="c", source="Northern Wire", title="Levee failure on the River Vell: what we know",
            text="A levee on the River Vell gave way on Tuesday, sending water into lower Dunmore. "
                 "Officials said no one was hurt. The town's mayor, Ilse Ferrant, blamed delays in repair work."),
]
FOREIGN = [
    Article(id="x1", title="Walmart says higher tariffs will push prices higher"),
    Article(id="x2", title="Former wrestler says doc abused him at age 14"),
]
SUMMARIZERS = [LeadSummarizer, CentroidSummarizer, LearnedSummarizer]


def check_summary(summary, articles, max_words):  # type: ignore[no-untyped-def]
    assert len(summary.text.split()) <= max_words
    for sent in summary.sentences:
        art = articles[sent.article]
        assert sent.text in split_sentences(art.text), "sentence is not verbatim from its article"
        assert sent.article_id == art.id
        assert sent.source == art.source and sent.url == art.url


@pytest.mark.parametrize("make", SUMMARIZERS)
@pytest.mark.parametrize("budget", [5, 12, 25, 50, 80])
def test_budget_verbatim_attribution(make, budget):  # type: ignore[no-untyped-def]
    summary = make()(FLOOD, budget)
    check_summary(summary, FLOOD, budget)
    assert re.fullmatch(r"[a-z-]+\.v\d+", summary.summarizer)


@pytest.mark.parametrize("make", SUMMARIZERS)
def test_protocol_and_empty_inputs(make):  # type: ignore[no-untyped-def]
    summarizer = make()
    assert isinstance(summarizer, Summarizer)
    assert summarizer([]).sentences == []
    assert summarizer([Article(id="e")]).sentences == []
    one = summarizer([Article(id="t", title="Only a headline here")])
    assert one.sentences == [] and one.headline == "Only a headline here"
    single = summarizer([FLOOD[0]])
    check_summary(single, [FLOOD[0]], 50)
    assert single.sentences


def test_default_is_learned_and_deterministic():
    first = default_summarizer()
    assert isinstance(first, LearnedSummarizer) and first.name == "learned.v2"
    story = FOREIGN[:1] + FLOOD + FOREIGN[1:]
    a, b = first(story), LearnedSummarizer()(story)
    assert a == b and a == first(story)


def test_off_topic_headlines_never_cited_nor_headline():
    story = [FOREIGN[0], FLOOD[0], FLOOD[1], FOREIGN[1], FLOOD[2]]
    members = OffTopicDetector()(story)
    assert 0 not in members and 3 not in members
    assert {1, 2, 4} <= set(members)
    summary = LearnedSummarizer()(story)
    assert summary.sentences and all(s.article in (1, 2, 4) for s in summary.sentences)
    assert summary.headline_article in (1, 2, 4)
    assert "Walmart" not in summary.headline and "wrestler" not in summary.headline
    assert LearnedHeadliner()(story)[1] in (1, 2, 4)


def test_headline_only_on_topic_item_is_kept():
    story = FLOOD + [Article(id="h", title="Dunmore levee fails, River Vell floods the lower town")]
    assert 3 in OffTopicDetector()(story)


def test_no_titles_falls_back_to_a_sentence():
    story = [Article(id=a.id, text=a.text) for a in FLOOD]
    summary = LearnedSummarizer()(story)
    assert summary.headline and summary.headline_article is not None
    assert len(summary.headline.split()) <= 21


def test_one_sentence_items_like_a_text_file():
    """Each line an item, as ``storyline digest`` reads plain text."""
    story = [Article(id=f"s{i}", text=s) for i, a in enumerate(FLOOD) for s in split_sentences(a.text)]
    story += [Article(id="t", title=FLOOD[0].title)] + FOREIGN
    summary = LearnedSummarizer()(story)
    check_summary(summary, story, 50)
    assert summary.headline == FLOOD[0].title
    assert not {len(story) - 2, len(story) - 1} & {s.article for s in summary.sentences}


@pytest.mark.skipif(not SPECIMEN.exists(), reason=f"specimen not found at {SPECIMEN}")
def test_iraq_specimen_foreign_lines():
    lines = [ln.strip() for ln in SPECIMEN.read_text(encoding="utf-8").splitlines() if ln.strip()]
    items = [Article(id=str(i), title=ln) if not ln.endswith((".", '"', "”", "!", "?")) else Article(id=str(i), text=ln)
             for i, ln in enumerate(lines)]
    foreign = {i for i, ln in enumerate(lines) if ln.startswith(("Walmart", "Former wrestler"))}
    assert len(foreign) == 2
    for story in (items, items[2:]):  # with and without the collapsed copies of the headline
        offset = len(items) - len(story)
        summary = LearnedSummarizer()(story)
        assert summary.headline == "USA orders personnel to leave Iraq"
        assert 2 <= len(summary.sentences) <= 4
        assert not {i - offset for i in foreign} & {s.article for s in summary.sentences}
        assert not {i - offset for i in foreign} & set(OffTopicDetector()(story))


def test_view_ignores_non_members_and_reuses_bags():
    view = StoryView.build(FLOOD + FOREIGN).with_members([0, 1, 2])
    assert "walmart" not in view.df and view.df["levee"] == 3


def test_reference_length_follows_story_length():
    summarizer = LearnedSummarizer()
    short = story_sentences(FLOOD[:1], [0])
    long = story_sentences(FLOOD, [0, 1, 2])
    low, high = summarizer.reference_range
    assert low <= summarizer.reference_length(short) < summarizer.reference_length(long) <= high
    assert LearnedSummarizer(reference_words=40).reference_length(short) == 40.0


def test_lexicon_and_headline_word_rows():
    lexicon = Lexicon({"levee": (0.5, 0.4, 2.0)}, (0.1, 0.05, 0.0))
    assert lexicon("levee") == (0.5, 0.4, 2.0) and lexicon("unseen") == (0.1, 0.05, 0.0)
    assert Lexicon.from_dict({"words": ["levee"], "values": [[0.5, 0.4, 2.0]], "default": [0.1, 0.05, 0.0]}).entries == lexicon.entries
    view = StoryView.build(FLOOD)
    table = word_table(view, story_sentences(FLOOD, view.members), lexicon)
    assert "breach" in table.title_words and "breach" not in {w for w, _ in table.words}  # title-only word
    assert all(len(row) == len(TITLE_WORD_FEATURES) for row in table.title_rows)
    assert all(len(row) == len(WORD_FEATURES) for row in table.word_rows)
    assert all(len(row) == len(PAIR_FEATURES) for row in table.pair_rows)


def test_packaged_model_is_small():
    path = Path(__file__).resolve().parents[1] / "storyline" / "summarize" / "models" / MODEL_FILE
    assert path.stat().st_size < 1_000_000


def test_view_ignores_non_members():
    view = StoryView.build(FLOOD + FOREIGN, members=[0, 1, 2])
    assert "walmart" not in view.df and view.df["levee"] == 3


@pytest.mark.parametrize("raw, trimmed", [
    ("Iran seizes tanker in the Gulf - CNN", "Iran seizes tanker in the Gulf"),
    ("Iran seizes tanker in the Gulf | Fox News", "Iran seizes tanker in the Gulf"),
    ("EXCLUSIVE: Pentagon to start creating Space Force", "Pentagon to start creating Space Force"),
    ("Short - CNN", "Short - CNN"),
    ("  Levee fails   in Dunmore ", "Levee fails in Dunmore"),
])
def test_trim_title(raw, trimmed):  # type: ignore[no-untyped-def]
    assert trim_title(raw) == trimmed


def test_splitter_keeps_abbreviations():
    text = "The U.S. Army said Mr. Smith left at 5 p.m. on Tuesday. He returned Wednesday."
    assert split_sentences(text) == ["The U.S. Army said Mr. Smith left at 5 p.m. on Tuesday.", "He returned Wednesday."]


def test_tree_walk_takes_the_float64_decisions():
    # the walk compares float32 features with thresholds rounded down to float32; it must take
    # exactly the decisions of comparing the float32 features with the float64 thresholds
    import numpy as np

    from storyline.summarize.scoring import TreeEnsembleScorer

    rng = np.random.default_rng(3)
    # two trees of depth 2 (node 0 splits, node 1 splits or is a leaf, leaves point to themselves)
    spec = {"init": 0.5, "depth": 2,
            "feature": [[0, 1, 0, 0, 0], [1, 0, 0, 0, 0]],
            "threshold": [[0.1, 0.30000001, 0.0, 0.0, 0.0], [1 / 3, 0.0, 0.0, 0.0, 0.0]],
            "left": [[1, 3, 2, 3, 4], [1, 1, 2, 3, 4]], "right": [[2, 4, 2, 3, 4], [2, 1, 2, 3, 4]],
            "value": [[0.0, 0.0, 1.0, 2.0, 3.0], [0.0, 10.0, 20.0, 0.0, 0.0]]}
    rows = rng.random((200, 2))
    rows[:50, 0] = 0.1
    rows[50:100, 1] = np.float32(0.30000001)
    rows[100:150, 1] = np.float32(1 / 3)

    def plain(x: np.ndarray) -> float:
        x = x.astype(np.float32).astype(np.float64)
        total = spec["init"]
        for t in range(2):
            node = 0
            for _ in range(spec["depth"]):
                go_right = x[spec["feature"][t][node]] > spec["threshold"][t][node]
                node = (spec["right"] if go_right else spec["left"])[t][node]
            total += spec["value"][t][node]
        return total

    got = TreeEnsembleScorer(**spec).predict(rows)  # type: ignore[arg-type]
    assert got.tolist() == [plain(x) for x in rows]


def test_tree_scorer_reaches_the_leaf_of_a_plain_walk():
    # the packaged models (15 and 4 leaves a tree) and the clusterer's merge model (7), on rows with
    # features at thresholds, at 0.0 and -0.0, and NaN (left at every node): each sum of leaf values
    # as a walk from the root gives it, to the bit
    import json

    import numpy as np

    from storyline.cluster.stream import MERGE_FILE
    from storyline.scorers import TreeEnsembleScorer
    from storyline.summarize.scoring import load_model

    rng = np.random.default_rng(5)
    specs = [load_model()[part] for part in ("words", "headline")] + [json.loads(MERGE_FILE.read_text(encoding="utf-8"))]
    for spec in specs:
        params = {k: v for k, v in spec.items() if k not in ("kind", "features", "name", "pairs")}
        feature, threshold = np.asarray(params["feature"]), np.asarray(params["threshold"])
        rows = (rng.random((300, len(spec["features"]))) - 0.2) * 20
        for row in rows:
            at = rng.integers(feature.size, size=6)
            row[feature.ravel()[at]] = threshold.ravel()[at] + rng.choice([0.0, 1e-9, -1e-9], size=6)
        rows[rng.random(rows.shape) < 0.03] = 0.0
        rows[rng.random(rows.shape) < 0.03] = -0.0
        rows[rng.random(rows.shape) < 0.01] = np.nan

        def walk(x: np.ndarray) -> list[float]:
            x = x.astype(np.float32).astype(np.float64)
            leaves = []
            for t in range(len(feature)):
                node = 0
                while params["left"][t][node] != node:
                    right = x[feature[t][node]] > threshold[t][node]
                    node = (params["right"] if right else params["left"])[t][node]
                leaves.append(params["value"][t][node])
            return leaves

        want = params["init"] + np.array([walk(x) for x in rows]).sum(axis=1)
        assert TreeEnsembleScorer(**params).predict(rows).tolist() == want.tolist()


def test_text_bag_from_sentences_or_whole_text():
    from storyline.summarize.features import bag

    texts = ["WASHINGTON (AP) — The Senate voted on Tuesday. It passed 51-49.",  # dateline left off the sentences
             "The U.S. team won. A", "First line.\nSecond line, with U.S. and No. 5 in it.", ""]
    view = StoryView.build([Article(id=str(i), title="t", text=t) for i, t in enumerate(texts)])
    assert view.text_bags == [set(bag(t)) for t in texts]
    assert [[s.text for s in ss] for ss in view.sentences] == [split_sentences(t) for t in texts]


def _item_features_by_pairs(view: StoryView) -> list[list[float]]:
    """The off-topic features as first written: every item against the union of all the others."""
    import math

    n = len(view.articles)
    rows = []
    for i in range(n):
        rest: set[str] = set()
        rest_titles: set[str] = set()
        title, item = view.title_bags[i] or view.item_bags[i], view.item_bags[i]
        title_max = item_max = 0.0
        for j in range(n):
            if j != i:
                rest |= view.item_bags[j]
                rest_titles |= view.title_bags[j]
                title_max = max(title_max, len(title & view.item_bags[j]) / (len(title) or 1))
                item_max = max(item_max, len(item & view.item_bags[j]) / (len(item) or 1))
        rows.append([len(title & rest) / (len(title) or 1), title_max, len(item & rest) / (len(item) or 1), item_max,
                     len(title & rest_titles) / (len(title) or 1), float(bool(rest_titles)),
                     float(view.articles[i].headline_only), math.log1p(len(item)), float(min(len(item & rest), 10))])
    return rows


@pytest.mark.parametrize("n", [1, 2, 3, 20, 64, 65, 200])
def test_off_topic_features_from_counts_equal_the_pairwise_definition(n: int) -> None:
    """item_features counts shared words (and takes sparse products past 64 items) instead of
    building each item's union of all the others, which took 99 s on a 6,773-article story: the
    rows must be the pairwise definition's, bit for bit, headline-only and empty items included."""
    import random

    from storyline.summarize.noise import item_features

    rng = random.Random(n)
    words = [f"w{k}" for k in range(60)]
    arts = []
    for i in range(n):
        kind = rng.random()
        title = " ".join(rng.sample(words, rng.randint(1, 6))) if kind > 0.1 else ""
        text = " ".join(rng.choices(words, k=rng.randint(3, 30))) if kind < 0.8 else ""
        arts.append(Article(id=str(i), title=title.title(), text=text))
    view = StoryView.build(arts)
    assert item_features(view) == _item_features_by_pairs(view)


@pytest.mark.parametrize("n", [1, 2, 5, 40])
def test_headline_other_titles_share_from_counts_equals_the_union(n: int) -> None:
    """headline_features' second column (the share of an option's words in the other titles)
    counts words over the titled articles instead of keeping each article's union of all the
    other titles (3.5 GB for a story of 6,773 articles): it must equal the union's share."""
    import random

    from storyline.summarize.features import bag
    from storyline.summarize.headline import headline_features, title_variants

    rng = random.Random(n)
    words = [f"w{k}" for k in range(40)]
    arts = [Article(id=str(i), title=" ".join(rng.sample(words, rng.randint(2, 7))).title() if i == 0 or rng.random() > 0.2 else "",
                    text=" ".join(rng.choices(words, k=12))) for i in range(n)]
    view = StoryView.build(arts).with_members(range(n))
    options = [(i, t, p) for i in view.members if arts[i].title.strip() for t, p in title_variants(arts[i].title)]
    titled = sorted({i for i, _, _ in options})
    rows = headline_features(view, options, {}, {})
    for (i, title, _), row in zip(options, rows):
        others = set().union(*(view.title_bags[j] for j in titled if j != i))
        stems = set(bag(title))
        assert row[1] == len(stems & others) / (len(stems) or 1)


def test_summaries_and_their_models_leave_no_reference_cycles():
    """An ingest's helpers summarize thousands of stories: whatever one summary leaves in a reference
    cycle (a closure that calls itself held the story's word tables) waits for the cyclic collector,
    whose passes over it cost 1.4 s of a 10k ingest (docs/scale.md, session 40)."""
    import gc

    from storyline.summarize.scoring import load_model, scorer_from_dict

    summarizer = LearnedSummarizer()
    summarizer(FLOOD)
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for story in (FLOOD, FLOOD[:1], FOREIGN + FLOOD, FLOOD[1:]):
            assert summarizer(story).sentences
        scorer_from_dict(load_model()["words"])
        assert gc.collect() == 0
    finally:
        if enabled:
            gc.enable()


def test_stories_summarized_together_get_what_each_gets_alone():
    """The engine's refresh summarizes a chunk of stories in one call (``summarize_many``: one word
    table for all, one call of each model): every summary is the one its story gets alone, and
    every word table is the same to the bit (stories of one item, of titles only, of one line, with
    off-topic items, empty)."""
    import numpy as np

    from cluster_helpers import event_articles
    from storyline.summarize.base import summarize_all
    from storyline.summarize.words import WordTable, word_tables

    events = event_articles()
    stories = [FLOOD, FLOOD[:1], FOREIGN + FLOOD, [], FOREIGN, events[:4], events[4:], FLOOD[1:] + events[:2],
               [Article(id="h", title="Levee fails on the River Vell")], [Article(id="t", text="One line of text only.")]]
    summarizer = LearnedSummarizer()
    alone = [summarizer(story) for story in stories]
    assert summarizer.summarize_many(stories) == alone and sum(bool(s.sentences) for s in alone) >= 6
    assert summarize_all(summarizer, stories, 20) == [summarizer(story, 20) for story in stories]
    assert summarize_all(LeadSummarizer(), stories) == [LeadSummarizer()(story) for story in stories]  # no summarize_many
    lexicon = summarizer.words.lexicon
    views = []
    for story in filter(None, stories):
        view = StoryView.build(story)
        view = view.with_members(summarizer.detector(story, view))
        views.append((view, story_sentences(story, view.members, view)))
    together = word_tables(views, lexicon)
    assert len(together) == len(views) and sum(len(t.pair_codes) for t in together) > 20
    for (view, sents), table in zip(views, together):
        single = word_table(view, sents, lexicon)
        for name in WordTable.__slots__:
            a, b = getattr(single, name), getattr(table, name)
            if isinstance(a, np.ndarray):
                assert (a.dtype, a.shape, a.tobytes()) == (b.dtype, b.shape, b.tobytes()), name
            else:
                assert a == b, name


def test_tree_scorer_gives_each_row_its_value_in_blocks_of_any_size():
    """A tree ensemble evaluates long inputs in blocks of rows (the leaf sets of a block stay in the
    cache): each row gets the value it gets alone or among a few."""
    import numpy as np

    from storyline.scorers import PREDICT_BLOCK
    from storyline.summarize.scoring import load_model, scorer_from_dict

    scorer = scorer_from_dict(load_model()["words"])
    rows = np.random.default_rng(7).gamma(1.0, 2.0, size=(2 * PREDICT_BLOCK + 13, len(WORD_FEATURES)))
    values = scorer.predict(rows)
    assert len(values) == len(rows) and len(np.unique(values)) > 100
    assert values.tobytes() == np.concatenate([scorer.predict(rows[i : i + 7]) for i in range(0, len(rows), 7)]).tobytes()


def test_a_backfill_executor_summarizes_a_chunk_together_as_the_engine_does_each_alone(monkeypatch):
    """A backfill's executor (``StorySummaries``) summarizes its partition's stories a chunk at a
    time: each story, across chunk boundaries and in order, gets the summary and the related-stories
    row the engine's refresh gives it alone; a story with no original among its rows gives none."""
    from cluster_helpers import event_articles
    from storyline import related
    from storyline.backfill import summaries as backfill
    from storyline.config import Settings
    from storyline.models import Story

    monkeypatch.setattr(backfill, "_CHUNK", 3)
    events = event_articles()
    groups = [FLOOD, FOREIGN + FLOOD, events[:4], events[4:], FLOOD[1:] + events[:2],
              [Article(id="h", title="Levee fails on the River Vell")], FLOOD[:1]]
    items = [(f"s{i}", [(k, a, a.id) for k, a in enumerate(g)]) for i, g in enumerate(groups)]
    items.insert(2, ("reprints-only", [(0, FLOOD[0], "elsewhere")]))
    executor = backfill.StorySummaries(Settings())
    out = list(executor(items))
    summarizer, embedder = executor._models()
    assert [story.id for story, _, _ in out] == [f"s{i}" for i in range(len(groups))]
    for (story, summary, row), group in zip(out, groups):
        originals = [backfill.as_stored(a) for a in group]
        assert summary == summarizer(originals, Settings().max_words)
        assert row[:5] == related.vector_row(Story(id=story.id, articles=originals), embedder)[:5]  # then the time it was made
    assert sum(bool(summary.sentences) for _, summary, _ in out) >= 4
