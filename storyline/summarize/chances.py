"""Word chances: the learned component that says which words of a story an editor would use.

For one story (its :class:`~.features.StoryView` and candidate sentences) it predicts, per word
row of :func:`~.words.word_table`, the chance that the editor's summary uses the word (at least
``k`` times), per adjacent pair the chance the summary has the pair, and per title word the chance
the headline uses it. Both the summarizer (to value subsets of sentences) and the headliner (to
value the member titles) read these chances; neither builds the other to get them.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .features import Sentence, StoryView
from .scoring import load_model, scorer_from_dict
from .words import PAIR_FEATURES, TITLE_WORD_FEATURES, WORD_FEATURES, Lexicon, SubsetValue, WordTable, word_table, word_tables


class WordChances:
    """The word, pair and headline-word models of a summarizer model file, with its lexicon.

    Args:
        model: the exported model dict; by default the packaged ``learned.v2.json``.
        pair_weight: weight of word pairs against single words when valuing sentences
            (by default the model's ``selection.pair_weight``).

    Raises:
        ValueError: the model's feature lists are not this code's (retrain it).
    """

    def __init__(self, model: dict[str, Any] | None = None, *, pair_weight: float | None = None) -> None:
        model = model or load_model()
        expected = {"words": WORD_FEATURES, "pairs": PAIR_FEATURES, "title_words": TITLE_WORD_FEATURES}
        if any(part not in model or list(model[part]["features"]) != list(names) for part, names in expected.items()):
            raise ValueError("model file does not match the word features; retrain with scripts/train_summarizer.py")
        self.word_scorer = scorer_from_dict(model["words"])
        self.pair_scorer = scorer_from_dict(model["pairs"])
        self.title_scorer = scorer_from_dict(model["title_words"])
        self.lexicon = Lexicon.from_dict(model["lexicon"])
        selection = model.get("selection", {})
        self.pair_weight = float(selection.get("pair_weight", 1.0) if pair_weight is None else pair_weight)
        self.reference_share = float(selection.get("reference_share", 0.17))
        self.reference_range = tuple(selection.get("reference_range", (10.0, 120.0)))

    def table(self, view: StoryView, sents: Sequence[Sentence]) -> WordTable:
        """The story's word, pair and title-word rows, with this model's lexicon."""
        return word_table(view, sents, self.lexicon)

    def tables(self, stories: Sequence[tuple[StoryView, Sequence[Sentence]]]) -> list[WordTable]:
        """:meth:`table` of each (view, sentences), made together (:func:`.words.word_tables`)."""
        return word_tables(stories, self.lexicon)

    def chances_many(self, tables: Sequence[WordTable]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(:meth:`chances`, :meth:`title_chances`) of each table, from one call of each model for
        all of them: a row's prediction depends on that row alone, so they are the same numbers."""
        word = _per_table(self.word_scorer, [t.word_rows for t in tables])
        pair = _per_table(self.pair_scorer, [t.pair_rows for t in tables])
        title = _per_table(self.title_scorer, [t.title_rows for t in tables])
        return list(zip(word, pair, title))

    def chances(self, table: WordTable) -> tuple[np.ndarray, np.ndarray]:
        """Per word row and per pair row of ``table``, the chance the editor's summary has it."""
        return (self.word_scorer.predict(table.word_rows).clip(0.0, 1.0),
                self.pair_scorer.predict(table.pair_rows).clip(0.0, 1.0))

    def title_chances(self, table: WordTable) -> np.ndarray:
        """Per title word of ``table``, the chance an editor's headline uses it."""
        return self.title_scorer.predict(table.title_rows).clip(0.0, 1.0)

    def values(self, view: StoryView, sents: Sequence[Sentence]) -> SubsetValue:
        """Predicted word, pair and headline-word chances of the story, as a subset valuer."""
        table = self.table(view, sents)
        word_p, pair_p = self.chances(table)
        return SubsetValue(table, word_p, pair_p, self.pair_weight, self.title_chances(table))

    def reference_length(self, sents: Sequence[Sentence]) -> float:
        """The summary length an F1 estimate assumes: a share of the story's words, within a range."""
        low, high = self.reference_range
        return min(max(self.reference_share * sum(s.words for s in sents), low), high)


def _per_table(scorer: Any, rows: Sequence[np.ndarray]) -> list[np.ndarray]:
    """``scorer``'s chances (clipped to [0, 1]) of the rows of all tables at once, cut back per table."""
    if len(rows) <= 1:
        return [scorer.predict(r).clip(0.0, 1.0) for r in rows]
    chances = scorer.predict(np.concatenate(rows)).clip(0.0, 1.0)
    at = np.cumsum([0] + [len(r) for r in rows]).tolist()
    return [chances[a:b] for a, b in zip(at, at[1:])]


def best_first(sents: Sequence[Sentence], value: SubsetValue, reference: float) -> list[int]:
    """Indices of ``sents``, the best value per word first (``reference``: the assumed length of
    an ideal summary, added to each sentence's length)."""
    return sorted(range(len(sents)), key=lambda k: (-value.alone(k) / (sents[k].words + reference), k))


__all__ = ["WordChances", "best_first"]
