"""Update summaries: what a story's reports first seen after a time T add to what came before.

A reader who looked at a story at T already had every report first seen up to T. The update is
made of real sentences of the later reports only, and only of sentences that say something those
earlier reports did not (the redundancy test below); the story's own summarizer then chooses
among them, so the update is attributed, budgeted and free of repeats like any summary.

**Redundancy test.** A sentence's words are its stemmed content words (``features.bag``: stopwords
out, numbers kept, so a new figure is a new word). Against the reports first seen up to T
(titles and texts), a later sentence is *already known* when

- fewer than :data:`MIN_NEW_WORDS` of its words, or less than :data:`MIN_NEW_SHARE` of them, appear
  nowhere in the earlier reports, or
- at least :data:`MAX_CONTAINMENT` of its words are found in one single earlier sentence
  (a restatement, even with a new word or two).

Everything else is new. The thresholds were set by reading the demo corpus's follow-up reports
(a final vote count after a partial one is new; a wire lead retold by a later report is not).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from ..models import Article, Summary, SummarySentence
from ..text import split_sentences
from .base import DEFAULT_MAX_WORDS, Summarizer
from .features import bag

MIN_NEW_WORDS = 2
MIN_NEW_SHARE = 0.34
MAX_CONTAINMENT = 0.75


@dataclass(slots=True)
class Known:
    """What a reader already had: the words of the earlier reports and each earlier sentence."""

    words: set[str] = field(default_factory=set)
    sentences: list[frozenset[str]] = field(default_factory=list)

    @classmethod
    def of(cls, articles: Sequence[Article]) -> "Known":
        known = cls()
        for art in articles:
            known.words.update(bag(art.title))
            for sent in split_sentences(art.text):
                words = frozenset(bag(sent))
                known.words.update(words)
                if words:
                    known.sentences.append(words)
        return known

    def is_new(self, sentence: str) -> bool:
        """True when ``sentence`` tells the reader something the earlier reports did not."""
        words = set(bag(sentence))
        if not words:
            return False
        fresh = words - self.words
        if len(fresh) < MIN_NEW_WORDS or len(fresh) / len(words) < MIN_NEW_SHARE:
            return False
        best = max((len(words & s) for s in self.sentences), default=0)
        return best / len(words) < MAX_CONTAINMENT


def new_sentences(before: Sequence[Article], after: Sequence[Article]) -> list[list[str]]:
    """For each article of ``after``, its sentences that pass the redundancy test against
    ``before`` (in reading order)."""
    known = Known.of(before)
    return [[s for s in split_sentences(art.text) if known.is_new(s)] for art in after]


@dataclass(slots=True)
class Update:
    """An update summary: ``summary`` sentences index into ``reports`` (the later reports)."""

    since: datetime | None
    reports: list[Article]
    summary: Summary
    candidates: int = 0  # sentences of the later reports that passed the redundancy test


def update_summary(before: Sequence[Article], after: Sequence[Article], summarizer: Summarizer, *,
                   since: datetime | None = None, max_words: int = DEFAULT_MAX_WORDS) -> Update:
    """The update ``after`` brings to a reader who had ``before``.

    Args:
        before: the reports first seen up to the reader's time (what they had).
        after: the reports first seen after it.
        summarizer: chooses among the new sentences (its headline choice, among the later
            reports' titles, becomes the update's headline).
        since: the reader's time, recorded in the result.
        max_words: the update's word budget.

    Returns:
        The update; its summary is empty when nothing later is new.
    """
    fresh = new_sentences(before, after)
    total = sum(len(f) for f in fresh)
    if not after:
        return Update(since, [], Summary("", [], summarizer.name), 0)
    # each later report, reduced to its new sentences: the summarizer can only quote those
    pruned = [replace(art, text="\n".join(f)) for art, f in zip(after, fresh)]  # a newline ends a sentence
    chosen = summarizer(pruned, max_words) if total else Summary("", [], summarizer.name)
    allowed = [set(f) for f in fresh]
    sentences = [SummarySentence(s.text, s.article, after[s.article].id, after[s.article].source, after[s.article].url)
                 for s in chosen.sentences if s.text in allowed[s.article]]
    headline = chosen.headline if total else ""
    return Update(since, list(after), Summary(headline, sentences, summarizer.name, chosen.headline_article), total)


__all__ = ["MAX_CONTAINMENT", "MIN_NEW_SHARE", "MIN_NEW_WORDS", "Known", "Update", "new_sentences", "update_summary"]
