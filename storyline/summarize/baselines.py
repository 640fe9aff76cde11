"""Unsupervised baselines behind the same interface: lead sentences and centroid ranking."""
from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

from ..models import Article, Summary
from ..text import content_words
from .base import DEFAULT_MAX_WORDS, Candidate, Headliner, candidates, fill_budget, to_summary_sentences
from .headline import CentralTitleHeadliner


class LeadSummarizer:
    """First sentences, taken round-robin across articles (first of each, then second...)."""

    name = "lead.v1"

    def __init__(self, headliner: Headliner | None = None) -> None:
        self.headliner = headliner or CentralTitleHeadliner()

    def __call__(self, articles: Sequence[Article], max_words: int = DEFAULT_MAX_WORDS) -> Summary:
        ranked = sorted(candidates(articles), key=lambda c: (c.position, c.article))
        headline, source = self.headliner(articles)
        chosen = fill_budget(ranked, max_words)
        return Summary(headline, to_summary_sentences(chosen, articles), self.name, source)


class CentroidSummarizer:
    """Sentences closest to the story's word centroid, skipping near-repeats of chosen ones."""

    name = "centroid.v1"

    def __init__(self, headliner: Headliner | None = None, *, redundancy: float = 0.5) -> None:
        self.headliner = headliner or CentralTitleHeadliner()
        self.redundancy = redundancy

    def __call__(self, articles: Sequence[Article], max_words: int = DEFAULT_MAX_WORDS) -> Summary:
        cands = candidates(articles)
        bags = [Counter(content_words(c.text)) for c in cands]
        centroid: Counter[str] = Counter()
        for art in articles:
            centroid.update(set(content_words(art.body)))

        def score(i: int) -> float:
            bag = bags[i]
            if not bag:
                return 0.0
            return sum(centroid[w] for w in bag) / math.sqrt(sum(bag.values())) - 0.05 * cands[i].position

        order = sorted(range(len(cands)), key=lambda i: (-score(i), i))
        chosen: list[Candidate] = []
        chosen_bags: list[set[str]] = []
        used = 0
        for i in order:
            words = set(bags[i])
            if any(len(words & b) / (len(words | b) or 1) > self.redundancy for b in chosen_bags):
                continue
            if used + cands[i].words <= max_words:
                chosen.append(cands[i])
                chosen_bags.append(words)
                used += cands[i].words
        chosen.sort(key=lambda c: (c.position, c.article))
        headline, source = self.headliner(articles)
        return Summary(headline, to_summary_sentences(chosen, articles), self.name, source)
