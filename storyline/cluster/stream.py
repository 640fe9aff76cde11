"""The default online story clusterer: retrieve candidate stories, score them with a small
learned model on similarity features, join the best one or open a new story; merge stories that
turn out to be one.

Per article: (1) represent it (TF-IDF, entities, title words, static embedding); (2) collect
candidate stories from the inverted index (its rarest, heaviest terms) and the dense index (top-k
by embedding), open stories only; (3) compute :data:`FEATURES` against each candidate and score
them with :class:`JoinModel` (six small MLPs trained by ``scripts/train_clusterer.py``, averaged);
(4) join the best candidate when its probability clears ``join_threshold``, else open a story.
Items that match nothing well stay one-item stories. :meth:`StoryClusterer.consolidate` (called
at the end of input) merges stories that are each other's best match, recorded in ``merges_``.
"""
from __future__ import annotations

import json
import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..models import Article
from ..process import blas_limited
from ..scorers import Scorer, scorer_from_dict
from ..text.embed import Embedder, WordLlamaEmbedder
from .base import collector_paused, resolve, story_id_for
from .features import TIME_CUES, ArticleVector, IdfTable, cue_match, default_idf, heaviest, represent, share_of, who_shares
from .dots import TRANSIENT, SparseDots
from .index import DenseStoryIndex, TermIndex
from .join import (  # noqa: F401 - re-exported: the models' home is .join
    CENTRE_FILE, _COLUMNS, ALL_FEATURES, FEATURES, MERGE_FEATURES, MERGE_FILE, MODEL_FILE, ApartWhenBig, JoinModel,
    centre_for, compiled_rows, load_models, merge_row,
)
from .refine import Judged, identity_conflict, one_sided_pass, refine_pass, snapshot, two_groups
from .share import Queries, shared
from .story import StoryState, _pack, _unpack, _vector_from_state, _vector_state


def _sigmoid_array(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _core(counts: dict[str, int], size: int) -> set[str]:
    """What at least half a story's members name (everything when nothing is that common): a
    story's own participants and figures, not every name a follow-up mentioned once."""
    return {k for k, c in counts.items() if 2 * c >= size} or set(counts)


# An online batch's term searches go in blocks when the searches since the last batch summed this
# many stories on average: a batch's earlier articles change stories its later ones search, which
# are summed again, so blocks pay only where the sums are long (108-138 stories a search on the 10k
# streams: 0.2-0.35 s slower in one process; 870 on the 100k stream: 3-5 s faster over its first
# 30k articles)
ONLINE_BLOCK_SUMS = 300
_RANKED = any(f in FEATURES for f in ("rank_sparse", "rank_dense", "dense_margin", "best_margin"))  # need the other rows


@contextmanager
def _quiet() -> Iterator[None]:
    """One BLAS thread (matrix-vector products this small run ~20x slower spread over threads),
    the collector paused (:func:`collector_paused`)."""
    with collector_paused(), blas_limited():
        yield


@dataclass
class Representer:
    """An article's :class:`ArticleVector` from its own text: the part of clustering that needs
    no story state, so it can run ahead of the stream (it pickles small: the embedder's weights
    load where it runs)."""

    embedder: Embedder | None
    idf: IdfTable | None = None

    def __call__(self, articles: Sequence[Article]) -> list[ArticleVector]:
        return represent(articles, self.embedder, self.idf)


class StoryClusterer:
    """Online story clustering with learned join decisions, candidate indexes and merges.

    Args:
        window_days: An article only joins stories seen within this many days (when dated).
        join_threshold: Minimum join probability; below it the article opens a story.
        headline_join_threshold: The same for a short dated item (a feed headline, under 30
            words): a headline carries little evidence, but it is only compared with stories
            inside the time window, where few look-alikes compete. Session 20's model: the UCI
            headline stream (12 stories in 3 hours) scores 0.551 at 0.08, 0.631 at 0.05, 0.669 at
            0.03, but a dense dated stream (10k articles in two days, a quarter of them short)
            0.784, 0.776, 0.765: 0.05 loses least on either (docs/clustering.md, session 20).
            Undated and full-length items keep ``join_threshold``.
        loose_threshold: Loose items (undated headlines or lone sentences, as in a pasted list)
            carry too few words for event-level evidence; they are grouped by topic instead,
            joining a story made only of loose items when the embedding cosine reaches this. A
            headline joins this way only a story that holds a lone sentence (the specimen's
            headline and its sentences): a list of undated headlines grouped by topic became
            blobs (NeuS val's 921 titles: B3 0.35 over five orders, 0.71 for a TF-IDF baseline,
            0.80 now), so headlines alone are grouped by the join model (docs/clustering.md,
            session 34).
        loose_margin: ...and only when that story's cosine leads the next loose story's by this
            much: among close topics a loose item stays alone (session 34: a wider margin splits
            the specimen's sentences in more of its shuffled orders).
        merge_threshold: Without a merge model: minimum probability for merging two stories
            that are each other's best match when both are bigger than ``small_merge_size``.
        mutual_threshold: Minimum probability for merging two mutually-best stories when both
            have at most ``small_merge_size`` articles.
        mutual_min_dense: ...and the minimum embedding cosine between them: two lone items that
            are each other's best match only because nothing else shares their town read less
            alike than reports of one event. With the merge model it is a floor below which the
            model is not asked (0.25: lowered from 0.35 with ``merge_apart_size``, which keeps
            the pairs the model misjudged, two big look-alike stories, apart: NeuS val 0.9145 ->
            0.9161, mixed dev 0.9188 -> 0.9200; docs/clustering.md).
        fold_size: Merged stories holding at most this many articles together become one state.
        merge_rounds: Most consolidation rounds (a folded story searches again in the next).
        close_every: Articles between sweeps that close stories outside the time window.
        max_open: Most stories kept open; the earliest opened close first.
        candidates: Stories retrieved from each index per article.
        embedder: Dense embedder (default: WordLlama's bundled static embeddings); ``None`` to
            use sparse features only.
        model: Join model (default: the committed trained model).
        merge_model: Decides which mutually-best pairs merge at consolidation (default: the
            committed boosted trees, ``MERGE_FILE``); ``None`` for the hand-set rule of
            ``mutual_threshold`` / ``mutual_min_dense`` / ``merge_threshold``.
        learned_merge_threshold: Minimum merge-model probability for a merge.
        merge_min_p: With the merge model, pairs whose join probability is below this are not
            even asked: almost no evidence (a stray pothole report whose only mutual match is
            a big bridge story, p 0.004, went in at a mid-stream consolidation without it). At
            0.001 (session 11) NeuS val rose 0.9161 -> 0.9180, but two lone items that share only
            a place merged (a regatta report whose title is markup and a ferry timetable, both on
            Mirrow Lake: ``tests/test_cluster.py``), so it stays 0.01.
        mutual_join_p: With the merge model, a mutually-best pair of *dated* stories also merges
            when the mean of its two join probabilities reaches this (None: the merge model alone
            decides). Inside a time window few look-alikes compete, so mutual best at an even
            chance is evidence; on undated streams it lowered the yardstick (mixed dev worst
            order 0.8891 -> 0.8780, ECB+ CV 0.8844 -> 0.8768), so it is off for them.
        split_min_part: At consolidation a story splits in two only when each part has at least
            this many articles (0 turns splitting off).
        split_separation: ...and the two groups are well separated: their mean similarity across
            is at most this share of the lower mean similarity within a group (0.8 measured in
            session 11: ECB+ CV +0.003, mixed dev -0.0035, a wash; docs/clustering.md);
        split_threshold: ...and the merge decision (merge model, or the join probability without
            one) for the two parts, scored like a consolidation pair, is below this.
        refine_rounds: Rounds of :func:`.refine.refine_pass` at consolidation (0: off): an
            article of a story of at most ``refine_size`` moves to another story when that reaches
            ``refine_min_p`` (None: ``join_threshold``) and leads its own story without it by
            ``refine_margin``.
        refine_single_p: After the repair passes, an article that is still a story by itself
            (linked to none) moves to its best story at this join probability (None: off), when
            that story leads the runner-up ``refine_single_lead`` times (:func:`.refine.refine_pass`
            over single-article stories only). NeuS val's fragments (one event told by three
            outlets in different words) reach their own story at join probabilities near
            0.02-0.1, but that story often leads the rest by far (session 11, docs/clustering.md:
            NeuS val 0.9180 -> 0.9209; lead 4 cost mixed big; inside refine's own rounds it cost
            wikiref220 0.7467 -> 0.7075).
        refine_single_agree_p: ...or, short of that bar or lead, at this join probability (None:
            off) when that story is also the nearest around the training articles' mean embedding
            (``dense_centre``) by ``refine_single_agree_lead`` in cosine (:func:`.refine.agrees`;
            NeuS val 0.9190 -> 0.9245, no set or order worse: docs/clustering.md, session 16).
        dense_centre: The mean embedding (default: the committed ``dense-centre.v1.json`` when it
            was taken with this embedder, else None, which turns the agreement off).
        refine_keeps_headlines: ...except an item that carries a headline only
            (``ArticleVector.headline``: a title, no text): with it moved, the dated headline
            stream (UCI) fell below its pin (0.6237 -> 0.6109).
        one_sided_size: :func:`.refine.one_sided_pass` for stories of at most this many articles
            (0: off), when the partner's probability back reaches ``one_sided_p``.
        merge_apart_size: Two stories that each hold at least this many articles never merge at
            consolidation, and a split whose two parts are both this big is not asked whether
            they are one story (:class:`.join.ApartWhenBig`; 0: off). Look-alike events each
            grow a story of their own; one event's scattered parts are small. A dated pair that
            ``mutual_join_p`` accepts still merges: inside the time window few look-alikes
            compete (the dated headline stream falls 0.624 -> 0.553 when it is held apart too).
        identity_separation: A split's two groups that are less well separated than
            ``split_separation`` still go to the merge decision when their separation is at most
            this, each holds at least ``identity_min_part`` articles and the two name different
            events (:func:`.refine.identity_conflict`: disjoint core years, months or figures,
            a group's core being what at least ``identity_share`` of its members name). ECB+ twins
            read alike (separation 0.67-0.85 where the cut is exact) but name other years or
            figures. Measured (session 11, same models and orders as docs/clustering.md): ECB+ CV
            0.9230 / 0.9090 -> 0.9289 / 0.9168, mixed dev 0.9205 / 0.9178 -> 0.9222 / 0.9198
            (share 0.3: ECB+ 0.9301, mixed dev 0.9195; 0.5: 0.9280, 0.9213; separation 0.8 or 0.9
            and min part 2 or 5 changed ECB+ by at most 0.0009). 0 turns the route off.
        idf: Document frequencies for TF-IDF (default: the committed table, ``IDF_FILE``).
        workers: Forked helper processes (Linux only) that share a consolidation search over many
            stories or articles (at least ``PARALLEL_SEARCH`` of them, :mod:`.share`); 0 searches here alone.
    """

    name = "story-logit.v1"

    def __init__(
        self,
        *,
        window_days: float = 3.0,
        join_threshold: float = 0.4,
        headline_join_threshold: float = 0.05,
        loose_threshold: float = 0.22,
        loose_margin: float = 0.02,
        merge_threshold: float = 0.9,
        mutual_threshold: float = 0.03,
        mutual_min_dense: float = 0.25,
        small_merge_size: int = 2,
        fold_size: int = 4,
        merge_rounds: int = 3,
        close_every: int = 500,
        max_open: int = 50_000,
        candidates: int = 6,
        embedder: Embedder | None | str = "default",
        model: JoinModel | None = None,
        merge_model: Scorer | None | str = "default",
        learned_merge_threshold: float = 0.3,
        merge_min_p: float = 0.01,
        workers: int = 0,
        idf: IdfTable | None = None,
        mutual_join_p: float | None = 0.5,
        split_min_part: int = 2,
        split_threshold: float = 0.5,
        split_separation: float = 0.6,
        refine_rounds: int = 2,
        refine_margin: float = 0.3,
        refine_min_p: float | None = 0.3,
        refine_size: int = 64,
        one_sided_size: int = 4,
        one_sided_p: float = 0.5,
        refine_keeps_headlines: bool = True,
        merge_apart_size: int = 5,
        identity_separation: float = 0.85,
        identity_min_part: int = 3,
        identity_share: float = 0.4,
        refine_single_p: float | None = 0.03,
        refine_single_lead: float = 5.0,
        refine_single_agree_p: float | None = 0.01,
        refine_single_agree_lead: float = 0.04,
        dense_centre: np.ndarray | None | str = "default",
    ) -> None:
        self.window_days = window_days
        self.join_threshold = join_threshold
        self.headline_join_threshold = headline_join_threshold
        self.loose_threshold = loose_threshold
        self.loose_margin = loose_margin
        self.merge_threshold = merge_threshold
        self.mutual_threshold = mutual_threshold
        self.mutual_min_dense = mutual_min_dense
        self.small_merge_size = small_merge_size
        self.fold_size = fold_size
        self.merge_rounds = merge_rounds
        self.close_every = close_every
        self.max_open = max_open
        self.candidates = candidates
        self.embedder: Embedder | None = WordLlamaEmbedder() if embedder == "default" else embedder  # type: ignore[assignment]
        if model is None:
            model = JoinModel.load() if MODEL_FILE.exists() else JoinModel.fallback()
        self.model = model
        if merge_model == "default":
            merge_model = scorer_from_dict(json.loads(MERGE_FILE.read_text(encoding="utf-8"))) if MERGE_FILE.exists() else None
        if merge_model is not None and merge_apart_size > 0:
            merge_model = ApartWhenBig(merge_model, merge_apart_size)
        self.merge_model: Scorer | None = merge_model  # type: ignore[assignment]
        self.learned_merge_threshold = learned_merge_threshold
        self.merge_min_p = merge_min_p
        self.workers = workers
        self.mutual_join_p = mutual_join_p
        self.split_min_part = split_min_part
        self.split_threshold = split_threshold
        self.split_separation = split_separation
        self.refine_rounds = refine_rounds
        self.refine_margin = refine_margin
        self.refine_min_p, self.refine_size = refine_min_p, refine_size
        self.one_sided_size, self.one_sided_p = one_sided_size, one_sided_p
        self.refine_keeps_headlines = refine_keeps_headlines
        self.identity_separation, self.identity_min_part, self.identity_share = identity_separation, identity_min_part, identity_share
        self.refine_single_p, self.refine_single_lead = refine_single_p, refine_single_lead
        self.refine_single_agree_p, self.refine_single_agree_lead = refine_single_agree_p, refine_single_agree_lead
        self.dense_centre = centre_for(self.embedder, dense_centre)
        self.idf = idf  # None: the committed table (IDF_FILE)
        self.idf_ = idf or default_idf()
        self.name_weights_: dict[str, float] = {}
        self.name_weights_max = 100_000
        # called with (MERGE_FEATURES row, story, partner) for every mutually-best pair (training)
        self.merge_probe_: Callable[[list[float], str, str], None] | None = None
        self._reset()

    def _reset(self) -> None:
        self.merges_: dict[str, str] = {}
        self.splits_: dict[str, str] = {}  # new story -> the story it split from
        self.moved_: dict[str, str] = {}  # article -> the story it moved to in a split
        self.stories_: dict[str, StoryState] = {}
        self.seen_ = 0
        self.touched_: dict[str, None] = {}  # stories touched since the last consolidate(), in order
        self.clock_: float | None = None
        self.terms_ = TermIndex()
        self.sparse_ = SparseDots()
        self.dense_ = DenseStoryIndex(self.embedder.dim) if self.embedder is not None else None

    # -- candidates and features -------------------------------------------------------------

    def _open(self, story: StoryState, when: float | None) -> bool:
        if when is None or story.last is None:
            return True
        return abs(when - story.last) <= self.window_days * 86400

    def _candidates(self, vec: ArticleVector) -> list[str]:
        return self._search(vec)[0]

    def _search(self, vec: ArticleVector) -> tuple[list[str], list[str], list[str], tuple[float, float], float]:
        """The candidate stories; the stories the inverted index and the dense index returned
        (before the time window); the least index score among them with the best score left out
        (0, 0 when fewer than ``candidates`` matched); and the least embedding cosine among them
        (-inf when fewer were open)."""
        found, cut, left = self.terms_.best(vec.top, vec.terms, self.candidates)  # the k heaviest, ties by id
        sparse, dense, dense_cut = list(found), [], math.inf
        if self.dense_ is not None and vec.dense is not None:
            top = self.dense_.top(vec.dense, self.candidates)
            dense, dense_cut = [s for s, _ in top], (min(p for _, p in top) if len(top) == self.candidates else -math.inf)
            for s, _ in sorted(top, key=lambda p: (-p[1], p[0])):
                if s not in found:
                    found.append(s)
        return [s for s in found if self._open(self.stories_[s], vec.when)], sparse, dense, (cut, left), dense_cut

    def _features(self, vec: ArticleVector, stories: list[str]) -> np.ndarray:
        return self._feature_rows(vec, [self.stories_[s] for s in stories])

    def _feature_rows(self, vec: ArticleVector, states: list[StoryState]) -> np.ndarray:
        """The :data:`ALL_FEATURES` rows of ``vec`` against each story, cut to :data:`FEATURES`."""
        names = {n: self._name_weight(n) for n in vec.names}
        lead = {n: self._name_weight(n) for n in vec.lead_names}
        names_total, lead_total = math.fsum(names.values()), math.fsum(lead.values())
        dots = self.sparse_.dots(vec, states)
        x = compiled_rows(vec, states, dots, names, names_total, lead, lead_total, self._core_of)
        if x is None:
            rows = [self._feature_row(vec, st, names, names_total, lead, lead_total, d) for st, d in zip(states, dots)]
            x = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(ALL_FEATURES))
        if len(x) and _RANKED:  # the rank and margin columns, when the model uses them
            for col, src in ((7, 0), (8, 1)):
                x[np.argsort(-x[:, src], kind="stable"), col] = np.minimum(np.arange(len(x)), 5)
            for col, src in ((9, 1), (10, 0)):
                ranked = np.sort(x[:, src])[::-1]
                x[:, col] = x[:, src] - ranked[1 if len(x) > 1 else 0]
        return x[:, _COLUMNS]

    def _feature_row(self, vec: ArticleVector, st: StoryState, names: dict[str, float], names_total: float,
                     lead: dict[str, float], lead_total: float, dots: tuple[float, float, float, float]) -> list[float]:
        """One story's :data:`ALL_FEATURES` row (the rank and margin columns 0: they depend on the other
        candidates); ``names`` and ``lead``: the vector's names and lead names with weights, and their sums;
        ``dots``: its sparse dot products with the story (:meth:`.dots.SparseDots.dots`)."""
        core_names, core_total, core_figures = self._core_of(st)
        sp_dot, en_dot, ti_dot, m_sp = dots
        sp = sp_dot / st.norms[0]
        dn = m_dn = 0.0
        if vec.dense is not None and st.dense is not None:
            dn = float(st.unit_dense() @ vec.dense)  # type: ignore[operator]
        members = st.member_dense() if vec.dense is not None else None
        if members is not None:
            m_dn = float(np.maximum.reduce(members @ vec.dense))  # .max() without its Python wrapper
        en = en_dot / st.norms[1]
        ti = ti_dot / st.norms[2]
        return [sp, dn, en, ti, sp * dn, math.log1p(min(st.size, 10)), float(vec.short), 0.0, 0.0, 0.0, 0.0,
                math.log1p(len(vec.entities)), m_sp, m_dn, cue_match(vec.days, st.days), cue_match(vec.years, st.years),
                cue_match(vec.months, st.months), *who_shares(names, names_total, st.names, core_names, core_total),
                cue_match(vec.figures, core_figures), share_of(lead, lead_total, core_names)]

    def _name_weight(self, name: str) -> float:
        """A name's weight: the IDF of its last word (remembered per name; a cache of a fixed
        table, emptied at ``name_weights_max`` names so a long stream's memory stays bounded)."""
        w = self.name_weights_.get(name)
        if w is None:
            if len(self.name_weights_) >= self.name_weights_max:
                self.name_weights_.clear()
            w = self.name_weights_[name] = self.idf_[name.rsplit(" ", 1)[-1]]
        return w

    def _core_of(self, st: StoryState) -> tuple[dict[str, float], float, set[str]]:
        """The story's core names (with weights, and their sum) and core figures, cached until it
        changes."""
        if st.core_ is None:
            names = {n: self._name_weight(n) for n in _core(st.names, st.size)}
            st.core_ = (names, math.fsum(names.values()), _core(st.figures, st.size))
        return st.core_

    def score(self, vec: ArticleVector) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Candidate stories for ``vec``, their feature rows and join probabilities."""
        cands = self._candidates(vec)
        x = self._features(vec, cands)
        return cands, x, (self.model.predict(x) if len(cands) else np.zeros(0))

    # -- the stream ----------------------------------------------------------------------------

    def preparer(self) -> "Representer":
        """The per-article work of :meth:`partial_fit` (see :class:`storyline.pipeline.Prepares`)."""
        return Representer(self.embedder, self.idf)

    def partial_fit(self, articles: Sequence[Article], prepared: Sequence[ArticleVector] | None = None) -> list[str]:
        """Assign each article, in order, to a story; ``prepared``: the articles' vectors from
        :meth:`preparer`, when they were computed ahead."""
        with _quiet():
            return self._fit(articles, represent(articles, self.embedder, self.idf) if prepared is None else prepared)

    def _fit(self, articles: Sequence[Article], vectors: Sequence[ArticleVector]) -> list[str]:
        out = []
        with self._expecting(vectors, terms=self.terms_.mean_sums() >= ONLINE_BLOCK_SUMS):
            for art, vec in zip(articles, vectors, strict=True):
                story = self.decide(art.id, vec)[0]
                out.append(story)
                self._add(story, vec, art.id)
        return out

    @contextmanager
    def _expecting(self, queries: Sequence[ArticleVector | None], start: int = 0, terms: bool = True) -> Iterator[None]:
        """The searches to come (the vectors they query with), in blocks for the duration
        (:meth:`DenseStoryIndex.expect`; with ``terms``, :meth:`TermIndex.expect` too)."""
        self.terms_.expect([(v.top, v.terms) if v is not None else None for v in queries] if terms else (), start)
        if self.dense_ is not None:
            self.dense_.expect([v.dense if v is not None else None for v in queries], start)
        try:
            yield
        finally:
            self.terms_.expect(())
            if self.dense_ is not None:
                self.dense_.expect(())

    def decide(self, article_id: str, vec: ArticleVector) -> tuple[str, list[str], np.ndarray]:
        """The story an article joins (or opens), with its candidates and their feature rows."""
        cands, x, probs = self.score(vec)
        best = int(np.argmax(probs)) if len(cands) else -1
        if best >= 0 and probs[best] >= self.join_bar(vec):
            return cands[best], cands, x
        return self._loose_match(vec, cands, x) or story_id_for(article_id), cands, x

    def join_bar(self, vec: ArticleVector) -> float:
        """The join probability ``vec`` needs to join a story: ``headline_join_threshold`` for a
        short dated item, else ``join_threshold``."""
        return self.headline_join_threshold if vec.short and vec.when is not None else self.join_threshold

    def _loose_match(self, vec: ArticleVector, cands: list[str], x: np.ndarray) -> str | None:
        """For a loose item: the loose-only story it is closest to by embedding, if close enough and
        clearly closer than the next; a headline only to one that holds a sentence (headlines alone
        are grouped by the model)."""
        if not vec.loose:
            return None
        near = sorted(((float(row[1]), story) for story, row in zip(cands, x) if self.stories_[story].loose
                       and not (vec.headline and self.stories_[story].headlines)), key=lambda t: (-t[0], t[1]))
        if not near or near[0][0] < self.loose_threshold or (len(near) > 1 and near[0][0] - near[1][0] < self.loose_margin):
            return None
        return near[0][1]

    def _add(self, story: str, vec: ArticleVector, article_id: str = "") -> None:
        st = self.stories_.get(story)
        if st is None:
            st = self.stories_[story] = StoryState(story, opened=self.seen_)
        old_terms = st.indexed()
        st.add(vec, article_id)
        new_terms = st.indexed()
        self.terms_.remove(story, old_terms - new_terms)
        self.terms_.add(story, new_terms - old_terms)
        if self.dense_ is not None and st.dense is not None:
            self.dense_.set(story, st.unit_dense())  # type: ignore[arg-type]
        self.touched_[story] = None
        self.seen_ += 1
        if vec.when is not None:
            self.clock_ = vec.when if self.clock_ is None else max(self.clock_, vec.when)
        if self.seen_ % self.close_every == 0:
            self._close_old()

    # -- merges and closing ------------------------------------------------------------------

    def _story_vector(self, st: StoryState) -> ArticleVector:
        """The story as one pseudo-article (its centroids over their norms), kept until it changes."""
        if st.vector_ is None:
            st.vector_ = self._pseudo_article(st)
        return st.vector_

    def _pseudo_article(self, st: StoryState) -> ArticleVector:
        def unit(d: dict[str, float], n: float) -> dict[str, float]:
            return {w: v / n for w, v in d.items()}

        terms = unit(st.terms, st.norms[0])
        top = heaviest(terms, 12)
        vec = ArticleVector(terms, unit(st.entities, st.norms[1]), unit(st.title, st.norms[2]), st.unit_dense(), st.last, False, 100, top,
                            **{cue: frozenset(getattr(st, cue)) for cue in TIME_CUES},
                            names=frozenset(st.names), figures=frozenset(_core(st.figures, st.size)))
        if st.dots_ is not TRANSIENT:
            self.sparse_.story_query(st, vec)
        return vec

    def _best_partner(self, story: str) -> tuple[float, str | None, float, np.ndarray | None]:
        """The open story most probably the same as ``story`` (scored as one pseudo-article), with
        the probability, the embedding cosine of the two and the pair's feature row."""
        return self._partner_search(story)[0]

    def _partner_search(self, story: str, kept: list[tuple[float, str, float, np.ndarray]] | None = None
                        ) -> tuple[tuple[float, str | None, float, np.ndarray | None], tuple[Any, ...]]:
        """:meth:`_best_partner`, with what it depends on: the search (see :meth:`_search`) and
        every candidate's (probability, story, cosine, row); ``kept``: those of an earlier search
        of the same story, still right for the stories that did not change since (not scored again)."""
        vec = self._story_vector(self.stories_[story])
        cands, *search = self._search(vec)
        cands = [c for c in cands if c != story]
        have = {t[1]: t for t in kept or ()}
        scored = iter(self._scored(vec, [c for c in cands if c not in have]))
        found = [have[c] if c in have else next(scored) for c in cands]
        return (max(found, key=lambda t: (t[0], t[1])) if found else (0.0, None, 0.0, None)), (*search, found)

    def _scored(self, vec: ArticleVector, stories: list[str]) -> list[tuple[float, str, float, np.ndarray]]:
        """(join probability, story, embedding cosine, feature row) of ``vec`` against each story."""
        if not stories:
            return []
        x = self._features(vec, stories)
        return [(float(p), c, float(row[1]), row) for c, p, row in zip(stories, self.model.predict(x), x)]

    def _best_partners(self, stories: list[str], searched: dict[str, Any] | None = None,
                       kept: dict[str, list[Any]] | None = None) -> dict[str, tuple[float, str | None, float, np.ndarray | None]]:
        """:meth:`_best_partner` of every story (and into ``searched``, what each search depended
        on, for :func:`.refine.one_sided_pass` to reuse); ``kept``: see :meth:`_partner_search`."""
        out = {}
        known = kept or {}
        for s, (best, deps) in zip(stories, self._shared(lambda cl, s: cl._partner_search(s, known.get(s)), stories,
                                                        lambda cl, s: cl._story_vector(cl.stories_[s]))):
            out[s] = best
            if searched is not None:
                searched[s] = (best, *deps)
        return out

    def _shared(self, fn: Callable[["StoryClusterer", Any], Any], items: list[Any], queries: Queries | None = None) -> list[Any]:
        """``fn(self, item)`` of every item, in order, a long list shared with forked helpers
        (:func:`.share.shared`); ``queries(self, item)``: the vector the item's search will query,
        if any (searched in blocks, :meth:`_expecting`)."""
        return shared(self, fn, items, queries)

    def consolidate(self) -> dict[str, str]:
        """Merge stories that are each other's best match; returns the new merges (old -> kept).

        An article joins a story on arrival only with clear evidence, which leaves a story's
        articles scattered when the first of them had nothing close enough yet. Once more of the
        stream is in, two stories that are *mutually* each other's best match are one story even
        at a modest probability: at ``mutual_threshold`` (and embedding cosine
        ``mutual_min_dense``) when both have at most ``small_merge_size`` articles, otherwise at
        ``merge_threshold``. A merge is recorded in ``merges_`` (the old id still resolves). When the
        two hold at most ``fold_size`` articles together they become one state (the later-opened
        one is closed), and the folded story searches again, up to ``merge_rounds`` rounds: a
        story scattered over three singletons comes back whole (NeuS val 0.901 -> 0.907, 9k mixed
        stream 0.796 -> 0.799). Bigger merged stories keep their own states for later join
        decisions, so a merged pair does not become a broad attractor. Only stories touched since
        the last call start a search, so the cost follows the new articles, not the open set.

        Called at the end of input (``storyline cluster``, ``digest``) and at the end of each
        ``ingest`` run. Measured: linking at fixed article counts mid-stream instead (when fewer
        stories are known, so "mutually best" is weaker evidence) lowered the 9k mixed stream
        from 0.754 to 0.677-0.749, so there is no periodic pass.
        """
        before = dict(self.merges_)
        touched = list(self.touched_)
        with _quiet():
            searched = self._mutual_pass()
            judged = Judged()  # the lone-article pass judges again from the first pass's searches
            if self.refine_rounds > 0:
                refine_pass(self, touched, self.refine_rounds, self.refine_margin,
                            self.join_threshold if self.refine_min_p is None else self.refine_min_p, self.refine_size,
                            keep_headlines=self.refine_keeps_headlines, judged=judged)
            if self.one_sided_size > 0:
                one_sided_pass(self, touched, self.one_sided_size, self.one_sided_p, searched)
            if self.refine_rounds > 0 and self.refine_single_p is not None:
                # what the passes above left alone: lone articles, at their own bar (stories of
                # more members are not looked at: max_size 1, and a bar no probability reaches)
                refine_pass(self, touched, self.refine_rounds, math.inf, math.inf, 1, keep_headlines=self.refine_keeps_headlines,
                            single=(self.refine_single_p, self.refine_single_lead, self.refine_single_agree_p,
                                    self.refine_single_agree_lead), judged=judged)
            if self.split_min_part > 0:
                self._split_pass(touched)
        return {old: new for old, new in self.merges_.items() if before.get(old) != new}

    # -- splits ----------------------------------------------------------------------------------

    def _split_pass(self, stories: list[str]) -> None:
        """Split every story among ``stories`` whose members form two groups that the merge
        decision would not join (twin events that slipped in together: the first report of the
        second event joined the first, and its later reports followed). The larger part keeps
        the id; the other part becomes a new story, recorded in ``splits_`` (new -> old), and
        its articles in ``moved_`` (article -> new story)."""
        for s in dict.fromkeys(stories):
            st = self.stories_.get(s)
            if st is None or st.items is None or st.size < 2 * self.split_min_part or len(st.items) != st.size:
                continue
            found = two_groups(st.items)
            if found is None:
                continue
            groups, separation = found
            if min(len(g) for g in groups) < self.split_min_part or not self._apart(st.items, groups, separation):
                continue
            keep, part = sorted(groups, key=lambda g: (-len(g), g[0]))
            a, b = self._rebuilt(s, st, keep), self._rebuilt(s, st, part)
            if self._same_story(a, b) >= self.split_threshold:
                continue
            self._split(s, a, b)

    def _apart(self, items: list[tuple[str, ArticleVector]], groups: list[list[int]], separation: float) -> bool:
        """Whether the two groups are apart enough to ask if they are one story: well separated
        (``split_separation``), or less well (``identity_separation``) with each group at least
        ``identity_min_part`` and the two naming different years, months or figures
        (:func:`.refine.identity_conflict`)."""
        if separation <= self.split_separation:
            return True
        return (separation <= self.identity_separation and min(len(g) for g in groups) >= self.identity_min_part
                and identity_conflict([[items[i][1] for i in g] for g in groups], self.identity_share))

    def _rebuilt(self, story: str, st: StoryState, members: list[int]) -> StoryState:
        out = StoryState(story, opened=st.opened)
        for i in members:
            out.add(st.items[i][1], st.items[i][0])  # type: ignore[index]
        return out

    def _same_story(self, a: StoryState, b: StoryState) -> float:
        """How probably two groups are one story, asked like a consolidation pair."""
        va, vb = self._story_vector(a), self._story_vector(b)
        row_ab, row_ba = self._feature_rows(vb, [a]), self._feature_rows(va, [b])
        p_ab, p_ba = float(self.model.predict(row_ab)[0]), float(self.model.predict(row_ba)[0])
        if self.merge_model is None:
            return max(p_ab, p_ba)
        dense = float(row_ab[0, 1])
        rows = [merge_row(p_ab, p_ba, dense, b.size, a.size, row_ab[0]), merge_row(p_ba, p_ab, dense, a.size, b.size, row_ba[0])]
        return float(_sigmoid_array(np.mean(self.merge_model.predict(rows))))

    def _split(self, story: str, keep: StoryState, part: StoryState) -> None:
        first = part.items[0][0] if part.items else story  # type: ignore[index]
        k = 1
        new = story_id_for(f"{first}/split{k}")
        while new in self.stories_ or new in self.merges_ or new in self.splits_:
            k += 1
            new = story_id_for(f"{first}/split{k}")
        part.id = new
        part.opened = self.seen_
        self._close([story])
        for st in (keep, part):
            self.stories_[st.id] = st
            self.terms_.add(st.id, st.indexed())
            if self.dense_ is not None and st.dense is not None:
                self.dense_.set(st.id, st.unit_dense())  # type: ignore[arg-type]
        self.splits_[new] = story
        for article, _ in part.items or ():
            if article:
                self.moved_[article] = new

    def _mutual_pass(self) -> tuple[dict[str, tuple[StoryState, int]], dict[str, Any]]:
        """Mutual rounds; returns the first round's searches with the stories as they were then
        (:func:`.refine.one_sided_pass` reuses those still valid)."""
        touched = [s for s in self.touched_ if s in self.stories_]
        self.touched_ = {}
        searched: dict[str, Any] = {}
        then = snapshot(self)
        for r in range(self.merge_rounds):
            touched = self._mutual_round(touched, searched if r == 0 else None)
            if not touched:
                break
        return then, searched

    def _mutual_round(self, touched: list[str], searched: dict[str, Any] | None = None) -> list[str]:
        """Link every mutually-best pair among ``touched`` and their partners that the merge
        decision accepts; fold the small ones into one state. Returns the stories that grew by a
        fold (they search again). A story has one best partner, so mutual pairs are disjoint and
        can be decided all at once."""
        best = self._best_partners(touched, searched)
        pairs: list[tuple[str, str, list[float]]] = []
        seen: set[str] = set()
        for s, (p, other, dense, row) in sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0])):
            if other is None or s in seen or other not in self.stories_:
                continue
            passes = self._may_merge(p, dense) if self.merge_model is not None else self._rule_merges(s, other, p, dense)
            if not passes and self.merge_probe_ is None:
                # its only possible pair is with ``other``, and seen from ``other`` (a lower or
                # equal probability, the same cosine) it fails too: no look at the partner's side
                seen.add(s)
                continue
            if other not in best:
                best[other] = self._best_partner(other)
            if best[other][1] != s:
                continue
            seen.update((s, other))
            # the pair seen from each side (each as the pseudo-article against the other)
            rows = [merge_row(a, b, d, self.stories_[s].size, self.stories_[other].size, r)
                    for a, b, d, r in ((p, best[other][0], dense, row), (best[other][0], p, best[other][2], best[other][3]))]
            if self.merge_probe_ is not None:
                for r in rows:
                    self.merge_probe_(r, s, other)
            if passes:
                pairs.append((s, other, rows))
        if self.merge_model is not None and pairs:
            z = self.merge_model.predict([r for _, _, rows in pairs for r in rows]).reshape(len(pairs), 2)
            keep = _sigmoid_array(z.mean(axis=1)) >= self.learned_merge_threshold  # both views' mean log-odds
            if self.mutual_join_p is not None:  # dated pairs: or the join model itself, both ways, says so
                keep |= np.asarray([self._dated(a, b) and (rows[0][0] + rows[0][1]) / 2.0 >= self.mutual_join_p
                                    for a, b, rows in pairs])
            pairs = [pr for pr, ok in zip(pairs, keep) if ok]
        folds: list[tuple[str, str]] = []
        for s, other, _ in pairs:
            roots = s not in self.merges_ and other not in self.merges_
            if self._link(s, other) and roots and self.stories_[s].size + self.stories_[other].size <= self.fold_size:
                gone = s if s in self.merges_ else other
                folds.append((self.merges_[gone], gone))
        return [self._fold(keep, gone) for keep, gone in folds]

    def _dated(self, a: str, b: str) -> bool:
        """Both stories are dated (so both lie inside each other's time window)."""
        return self.stories_[a].last is not None and self.stories_[b].last is not None

    def _may_merge(self, p: float, dense: float) -> bool:
        """The floors a pair must pass before the merge model is asked: join probability (the
        higher side's) at least ``merge_min_p`` and embedding cosine ``mutual_min_dense``."""
        return p >= self.merge_min_p and dense >= self.mutual_min_dense

    def _rule_merges(self, s: str, other: str, p: float, dense: float) -> bool:
        """The hand-set merge rule, used when no merge model is loaded."""
        if p < self.mutual_threshold:
            return False
        small = max(self.stories_[s].size, self.stories_[other].size) <= self.small_merge_size
        return p >= self.merge_threshold or (small and dense >= self.mutual_min_dense)

    def _fold(self, keep: str, gone: str) -> str:
        """Make ``gone`` (just linked to ``keep``) part of ``keep``'s state and close it."""
        st = self.stories_[keep]
        old_terms = st.indexed()
        st.absorb(self.stories_[gone])
        self._close([gone])
        new_terms = st.indexed()
        self.terms_.remove(keep, old_terms - new_terms)
        self.terms_.add(keep, new_terms - old_terms)
        if self.dense_ is not None and st.dense is not None:
            self.dense_.set(keep, st.unit_dense())  # type: ignore[arg-type]
        return keep

    def _link(self, a: str, b: str) -> bool:
        """Present ``a`` and ``b`` as one story from now on (recorded in ``merges_``; the later-
        opened group points to the earlier one); False when they already are. Both keep their own
        state for join decisions, so a merged pair does not turn into a broad attractor."""
        ra, rb = resolve(a, self.merges_), resolve(b, self.merges_)
        if ra == rb:
            return False
        keep, gone = sorted((ra, rb), key=lambda s: (self.stories_[s].opened if s in self.stories_ else -1, s))
        self.merges_[gone] = keep
        return True

    def _close(self, stories: list[str]) -> None:
        for s in stories:
            st = self.stories_.pop(s)
            self.terms_.remove(s, st.indexed())
        if self.dense_ is not None:
            self.dense_.remove(stories)

    def _close_old(self) -> None:
        if self.clock_ is not None:
            horizon = self.clock_ - self.window_days * 86400
            self._close([s for s, st in self.stories_.items() if st.last is not None and st.last < horizon])
        if len(self.stories_) > self.max_open:
            self._close(list(self.stories_)[: len(self.stories_) - self.max_open])

    # -- state ----------------------------------------------------------------------------------

    def get_state(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seen": self.seen_,
            "clock": self.clock_,
            "touched": list(self.touched_),
            "merges": self.merges_,
            "splits": self.splits_,
            "moved": self.moved_,
            "stories": [
                {"id": st.id, "size": st.size, "terms": st.terms, "entities": st.entities, "title": st.title,
                 "dense": _pack(st.dense), "first": st.first, "last": st.last, "loose": st.loose,
                 "headlines": st.headlines, "opened": st.opened,
                 "members": [[t, _pack(d)] for t, d in st.members],
                 **{cue: sorted(getattr(st, cue)) for cue in TIME_CUES},
                 "names": st.names, "figures": st.figures,
                 "items": None if st.items is None else [[a, _vector_state(v)] for a, v in st.items]}
                for st in self.stories_.values()
            ],
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self._reset()
        self.seen_ = int(state.get("seen", 0))
        self.clock_ = state.get("clock")
        self.touched_ = dict.fromkeys(state.get("touched", []))
        self.merges_ = dict(state.get("merges", {}))
        self.splits_ = dict(state.get("splits", {}))
        self.moved_ = dict(state.get("moved", {}))
        for d in state.get("stories", []):
            st = StoryState(d["id"], int(d["size"]), dict(d["terms"]), dict(d["entities"]), dict(d["title"]),
                            _unpack(d.get("dense")), d.get("first"), d.get("last"), loose=bool(d.get("loose", True)),
                            headlines=bool(d.get("headlines", False)),  # a state saved before it: as before
                            opened=int(d.get("opened", 0)),
                            members=[(dict(t), _unpack(v)) for t, v in d.get("members", [])],
                            **{cue: set(d.get(cue, ())) for cue in TIME_CUES},
                            names=dict(d.get("names", {})), figures=dict(d.get("figures", {})),
                            items=None if d.get("items") is None else [(a, _vector_from_state(v)) for a, v in d["items"]])
            st._renorm()
            self.stories_[st.id] = st
            self.terms_.add(st.id, st.indexed())
            if self.dense_ is not None and st.dense is not None:
                self.dense_.set(st.id, st.unit_dense())  # type: ignore[arg-type]


__all__ = ["ALL_FEATURES", "load_models", "StoryClusterer", "StoryState", "Representer", "JoinModel", "FEATURES", "MERGE_FEATURES", "merge_row"]
