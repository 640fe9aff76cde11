"""The product's summarizer: learned word importance, exact budgeted subset search, learned headline.

Steps for one story:

1. :class:`~storyline.summarize.noise.OffTopicDetector` keeps the items that belong; the others
   give no sentence and never the headline.
2. :class:`~storyline.summarize.chances.WordChances` (the component the headliner shares):
   :func:`~storyline.summarize.words.word_table` describes every word and adjacent word pair of
   the members' sentences (how many items use it, in titles, how early, capitalized, how often
   training editors kept it: the :class:`~storyline.summarize.words.Lexicon`); gradient-boosted
   models trained on NeuS (``scripts/train_summarizer.py``) give the chance that an editor's
   summary uses each word (at least k times) and each pair, and that the headline uses each word.
3. Among the best candidate sentences, every subset that fits the word budget is valued by its
   expected matched words and pairs — a word repeated beyond its predicted use earns nothing, so
   redundant sentences lose — divided by its length plus a reference length (an F1 estimate),
   and the best subset wins.
4. Chosen sentences are ordered for reading: the most valuable opening sentence first, the rest
   by position in their articles.
5. The headline comes from :class:`~storyline.summarize.headline.LearnedHeadliner` (fed the
   summary- and headline-word chances); when a later member report's title carries a development
   that supersedes it (a result, a verdict, a toll),
   :func:`~storyline.summarize.headline.follow_development` moves the headline there and the
   summary records the headline it replaced (``Summary.superseded``).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..models import Article, Summary, SummarySentence
from .base import DEFAULT_MAX_WORDS
from .features import Sentence, StoryView, story_sentences
from .headline import LearnedHeadliner, follow_development
from .noise import OffTopicDetector
from .standalone import needs_antecedent
from .chances import WordChances, best_first
from .scoring import load_model
from .words import SubsetValue, WordTable, expected_f1


TOGETHER = 64  # stories whose word tables and model calls summarize_many makes at once


class LearnedSummarizer:
    """Extractive summarizer driven by learned word importance (see module docstring).

    Args:
        model: the exported model dict; by default the packaged ``learned.v2.json``.
        candidates: how many sentences (best value per word first) the subset search considers.
        reference_words: the length the F1 estimate assumes for an ideal summary; by default
            ``reference_share`` of the story's words (editors write longer summaries of longer
            coverage), kept within ``reference_range``.
        pair_weight: weight of word pairs against single words.
        standalone: a sentence that leans on an antecedent (:func:`~.standalone.needs_antecedent`)
            is chosen only together with the sentence before it in its article (never alone).
        several_sources: take the best subset that quotes at least two reports over a better one
            quoting a single report when its estimated F1 is at least this share of the best
            (0 turns the preference off).
        title_weight: bonus, added to a subset's estimated F1, per share of the member titles'
            words the subset covers: the summary should state what the headline announces.
    """

    name = "learned.v2"

    def __init__(self, model: dict[str, Any] | None = None, *, candidates: int | None = None,
                 reference_words: float | None = None, pair_weight: float | None = None,
                 several_sources: float = 0.97, title_weight: float = 0.2, standalone: bool = True) -> None:
        model = model or load_model()
        self.words = WordChances(model, pair_weight=pair_weight)
        selection = model.get("selection", {})
        self.candidates = int(candidates or selection.get("candidates", 12))
        self.reference_words = float(reference_words) if reference_words else None
        self.reference_share = self.words.reference_share
        self.reference_range = self.words.reference_range
        self.pair_weight = self.words.pair_weight
        self.several_sources = several_sources
        self.title_weight = title_weight
        self.standalone = standalone
        self.detector = OffTopicDetector(model["offtopic"])
        self.headliner = LearnedHeadliner(model["headline"])

    def __call__(self, articles: Sequence[Article], max_words: int = DEFAULT_MAX_WORDS) -> Summary:
        return self.summarize_many([articles], max_words)[0]

    def summarize_many(self, stories: Sequence[Sequence[Article]], max_words: int = DEFAULT_MAX_WORDS) -> list[Summary]:
        """The summary of each story, the same as :meth:`__call__` makes it, with the word tables and
        the model calls of :data:`TOGETHER` stories at a time made together (:meth:`values_many`;
        numpy's fixed cost per call was about half of a small story's summary), so the tables of a
        long list are never all held at once."""
        if len(stories) > TOGETHER:
            return [s for at in range(0, len(stories), TOGETHER)
                    for s in self.summarize_many(stories[at : at + TOGETHER], max_words)]
        views = []
        for articles in stories:
            if articles:
                view = StoryView.build(articles)
                view = view.with_members(self.detector(articles, view))
                views.append((view, story_sentences(articles, view.members, view)))
        values = iter(self.values_many(views))
        made = iter(views)
        return [self._summary(articles, *next(made), next(values), max_words) if articles else Summary("", [], self.name, None)
                for articles in stories]

    def _summary(self, articles: Sequence[Article], view: StoryView, sents: Sequence[Sentence], value: SubsetValue,
                 max_words: int) -> Summary:
        reference = self.reference_length(sents)
        ranked = best_first(sents, value, reference)
        title_words = set().union(*(view.title_bags[i] for i in view.members)) if view.members else set()
        chosen = self.select(sents, value, ranked, max_words, reference, title_words)
        headline, source = self.headliner.choose(view, [(sents[k].text, sents[k].article) for k in ranked],
                                                 value.word_chance(), value.title_chance)
        first_choice = (headline, source)
        headline, source = follow_development(view, headline, source)
        out = [
            SummarySentence(s.text, s.article, articles[s.article].id, articles[s.article].source, articles[s.article].url)
            for s in self.reading_order(chosen, sents, value)
        ]
        superseded = [first_choice] if source != first_choice[1] else []
        return Summary(headline, out, self.name, source, superseded)

    def values(self, view: StoryView, sents: Sequence[Sentence]) -> SubsetValue:
        """Predicted word, pair and headline-word probabilities of the story, as a subset valuer."""
        return self.values_many([(view, sents)])[0]

    def values_many(self, stories: Sequence[tuple[StoryView, Sequence[Sentence]]]) -> list[SubsetValue]:
        """:meth:`values` of each (view, sentences): the word tables made together, and each model
        called once for all of them (story by story when a subclass blends in chances of its own
        through :meth:`chances`)."""
        tables = self.words.tables(stories)
        if type(self).chances is LearnedSummarizer.chances:
            chances = self.words.chances_many(tables)
        else:
            chances = [(*self.chances(table), self.words.title_chances(table)) for table in tables]
        return [SubsetValue(table, word_p, pair_p, self.pair_weight, title_p)
                for table, (word_p, pair_p, title_p) in zip(tables, chances)]

    def chances(self, table: WordTable) -> tuple[np.ndarray, np.ndarray]:
        """Per word row and per pair row of ``table``, the chance the editor's summary has it
        (:meth:`WordChances.chances`; a subclass may blend in other chances)."""
        return self.words.chances(table)

    def reference_length(self, sents: Sequence[Sentence]) -> float:
        """The summary length the F1 estimate assumes: fixed if set, else a share of the story's words."""
        if self.reference_words:
            return self.reference_words
        return self.words.reference_length(sents)

    def select(self, sents: Sequence[Sentence], value: SubsetValue, ranked: Sequence[int], max_words: int,
               reference: float, title_words: set[str] | frozenset[str] = frozenset()) -> list[int]:
        """Indices of the subset of the top candidates with the best expected F1 within ``max_words``
        (``reference``: the assumed length of an ideal summary)."""
        pool = [k for k in ranked if 0 < sents[k].words <= max_words][: self.candidates]
        # a sentence that leans on the one before it in its article comes with it or not at all
        need: dict[int, int | None] = {}
        while self.standalone:  # drop those whose antecedent is not a candidate (chains included)
            need = antecedents(sents, pool)
            kept = [k for k in pool if need.get(k, k) is not None]
            if len(kept) == len(pool):
                break
            pool = kept
        need_bits = [(1 << n, 1 << pool.index(need[k])) for n, k in enumerate(pool) if k in need]

        def whole(mask: int) -> bool:
            return all(mask & bit == 0 or mask & pred for bit, pred in need_bits)

        best: tuple[float, list[int]] = (0.0, [])
        several: tuple[float, list[int]] = (0.0, [])  # the best that quotes two or more reports
        # the title words each candidate covers, and the articles it comes from, as bit sets
        bit = {w: 1 << n for n, w in enumerate(sorted(title_words))} if self.title_weight else {}
        covers = [sum(bit[w] for w in sents[k].stems & title_words) if bit else 0 for k in pool]
        sources = [1 << sents[k].article for k in pool]
        words = [sents[k].words for k in pool]
        bonus = self.title_weight / len(title_words) if bit else 0.0
        take, remove = value.take, value.remove

        def search(again: Callable[..., None], start: int, chosen: list[int], used: int, matches: float,
                   covered: int, quoted: int, mask: int) -> None:
            nonlocal best, several
            score = expected_f1(matches, used, reference) + bonus * covered.bit_count()
            if score > best[0] and whole(mask):
                best = (score, list(chosen))
            if score > several[0] and quoted & (quoted - 1) and whole(mask):  # two or more reports
                several = (score, list(chosen))
            for pos in range(start, len(pool)):
                if used + words[pos] > max_words:
                    continue
                k = pool[pos]
                more = take(k)
                chosen.append(k)
                again(again, pos + 1, chosen, used + words[pos], matches + more, covered | covers[pos],
                      quoted | sources[pos], mask | 1 << pos)
                remove(k)
                chosen.pop()

        # handed itself to recurse: a closure naming itself is a reference cycle, which kept each story's
        # word tables until the cyclic collector ran (1.4 s of a 10k ingest's helpers; docs/scale.md)
        search(search, 0, [], 0, 0.0, 0, 0, 0)
        # A story told by several reports gets a summary quoting several of them, when a subset
        # that does so fits the budget (measured on NeuS val: ROUGE-1 unchanged within noise).
        if self.several_sources and several[1] and several[0] >= self.several_sources * best[0]:
            return several[1]
        return best[1]

    def reading_order(self, chosen: Sequence[int], sents: Sequence[Sentence], value: SubsetValue) -> list[Sentence]:
        """The most valuable opening sentence leads; the others follow by position, then article;
        a sentence that leans on its article's previous sentence comes right after it."""
        if not chosen:
            return []
        need = antecedents(sents, chosen) if self.standalone else {}
        free = [k for k in chosen if k not in need]
        leads = [k for k in free if sents[k].position == 0]
        first = max(leads or free or chosen, key=lambda k: (value.alone(k), -k))
        rest = sorted((k for k in chosen if k != first), key=lambda k: (sents[k].position, sents[k].article))
        order = [first] + [k for k in rest if k not in need or need[k] not in chosen]
        for k in sorted((k for k in rest if need.get(k) in chosen), key=lambda k: sents[k].position):
            order.insert(order.index(need[k]) + 1, k)  # type: ignore[arg-type]
        return [sents[k] for k in order]


def antecedents(sents: Sequence[Sentence], among: Sequence[int]) -> dict[int, int | None]:
    """For each of ``among`` that needs an antecedent: the index (in ``sents``) of its article's
    previous sentence when that is also in ``among``, else None."""
    where = {(sents[k].article, sents[k].position): k for k in among}
    out: dict[int, int | None] = {}
    for k in among:
        if needs_antecedent(sents[k].text):
            out[k] = where.get((sents[k].article, sents[k].position - 1))
    return out
