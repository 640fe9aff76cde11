"""The product's summarizer: learned sentence scores, budgeted subset search, learned headline.

Steps for one story:

1. :class:`~storyline.summarize.noise.OffTopicDetector` keeps the items that belong.
2. Every sentence of the members' texts gets features (:mod:`.features`) and a score from a
   gradient-boosted model trained on NeuS (``scripts/train_summarizer.py``): the expected share
   of its words and word pairs that an editor's summary of the story contains.
3. The best-scoring subset that fits the word budget is found by exhaustive search over the top
   candidates: value = sum of score x words, minus a penalty for content words repeated between
   chosen sentences (redundancy control, MMR-style but exact over the subset).
4. Chosen sentences are ordered for reading: the best lead sentence first, the rest by their
   position in their articles.
5. The headline comes from :class:`~storyline.summarize.headline.LearnedHeadliner`.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..models import Article, Summary, SummarySentence
from .base import DEFAULT_MAX_WORDS
from .features import SENTENCE_FEATURES, Sentence, StoryView, sentence_features, story_sentences
from .headline import LearnedHeadliner
from .noise import OffTopicDetector
from .scoring import load_model, scorer_from_dict


class LearnedSummarizer:
    """Extractive summarizer with a learned sentence scorer (see module docstring).

    Args:
        model: the exported model dict; by default the packaged ``learned.v1.json``.
        redundancy: penalty per content word shared by two chosen sentences (default: tuned
            value stored with the model).
        candidates: how many top-scored sentences the subset search considers.
    """

    name = "learned.v1"

    def __init__(self, model: dict[str, Any] | None = None, *, redundancy: float | None = None,
                 candidates: int | None = None) -> None:
        model = model or load_model()
        if list(model["sentence"]["features"]) != list(SENTENCE_FEATURES):
            raise ValueError("model file does not match SENTENCE_FEATURES; retrain with scripts/train_summarizer.py")
        self.scorer = scorer_from_dict(model["sentence"])
        selection = model.get("selection", {})
        self.redundancy = float(selection.get("redundancy", 0.02) if redundancy is None else redundancy)
        self.length_power = float(selection.get("length_power", 1.0))
        self.candidates = int(selection.get("candidates", 12) if candidates is None else candidates)
        self.detector = OffTopicDetector(model["offtopic"])
        self.headliner = LearnedHeadliner(model["headline"])

    def __call__(self, articles: Sequence[Article], max_words: int = DEFAULT_MAX_WORDS) -> Summary:
        if not articles:
            return Summary("", [], self.name, None)
        view = StoryView.build(articles)
        view = StoryView.build(articles, self.detector(articles, view))
        sents = story_sentences(articles, view.members)
        scores = [float(s) for s in self.scorer.predict(sentence_features(view, sents))] if sents else []
        chosen = self.select(sents, scores, max_words)
        ranked = sorted(range(len(sents)), key=lambda k: (-scores[k], k))
        headline, source = self.headliner.choose(view, [(sents[k].text, sents[k].article) for k in ranked])
        out = [
            SummarySentence(s.text, s.article, articles[s.article].id, articles[s.article].source, articles[s.article].url)
            for s in self.reading_order(chosen, sents, scores)
        ]
        return Summary(headline, out, self.name, source)

    def select(self, sents: Sequence[Sentence], scores: Sequence[float], max_words: int) -> list[int]:
        """Indices of the subset of ``sents`` with the highest value that fits ``max_words``."""
        pool = sorted((k for k in range(len(sents)) if 0 < sents[k].words <= max_words),
                      key=lambda k: (-scores[k], k))[: self.candidates]
        value = {k: max(scores[k], 0.0) * sents[k].words ** self.length_power for k in pool}
        shared = {(a, b): len(sents[a].stems & sents[b].stems) for a in pool for b in pool if a < b}
        best: tuple[float, list[int]] = (0.0, [])

        def search(start: int, chosen: list[int], used: int, total: float) -> None:
            nonlocal best
            if total > best[0]:
                best = (total, list(chosen))
            for pos in range(start, len(pool)):
                k = pool[pos]
                if used + sents[k].words > max_words:
                    continue
                gain = value[k] - self.redundancy * sum(shared[min(k, c), max(k, c)] for c in chosen)
                if gain <= 0:
                    continue
                chosen.append(k)
                search(pos + 1, chosen, used + sents[k].words, total + gain)
                chosen.pop()

        search(0, [], 0, 0.0)
        return best[1]

    @staticmethod
    def reading_order(chosen: Sequence[int], sents: Sequence[Sentence], scores: Sequence[float]) -> list[Sentence]:
        """The best-scored opening sentence leads; the others follow by position, then article."""
        if not chosen:
            return []
        leads = [k for k in chosen if sents[k].position == 0]
        first = max(leads or chosen, key=lambda k: (scores[k], -k))
        rest = sorted((k for k in chosen if k != first), key=lambda k: (sents[k].position, sents[k].article))
        return [sents[first]] + [sents[k] for k in rest]
