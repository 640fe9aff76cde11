"""Other outlets' headlines, for a story whose reports have no sentence to quote.

Many feeds carry headlines alone (aggregators, title-only RSS), so a story gathered from them can
hold dozens of outlets' reports and still no sentence for its summary. The summary stays what it
is everywhere, sentences quoted from the reports' text, and stays empty; what such a story shows
instead is how outlets headlined it: a few of its original reports' titles, each with its outlet
and its link, beside the story's headline (docs/decisions.md).

Which titles: those that say most of what the other titles say (the sum, over a title's words, of
how many other titles use the word, over the square root of its length: its cosine with the
story's other titles, up to a constant), one per outlet, none that words the same thing as the
headline or a title already shown (word sets overlapping at :data:`SAME_WORDING` or more), none
that shares no word with the headline (it tells of something else: a story the clusterer merged
wrongly should not look whole) and none that shares no word with another title (a stray item).
Deterministic: ties go to the report listed first. ``python benchmarks/headlines.py`` measures
the choice on labelled headline-only stories (docs/summaries.md).
"""
from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache
from typing import Sequence

from ..text import content_words

SAME_WORDING = 0.6  # Jaccard of two titles' content-word sets at which they say the same thing
SHOWN = 3  # titles shown at most


@lru_cache(maxsize=16384)  # a page shows the same big story's titles again and again (a few MB at most)
def _bag(title: str) -> frozenset[str]:
    return frozenset(content_words(title, stemmed=True))


def _same(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a or b) and len(a & b) >= SAME_WORDING * len(a | b)


def other_headlines(reports: Sequence[tuple[str, str]], headline: str, limit: int = SHOWN) -> list[int]:
    """Indices into ``reports`` (each original report's ``(title, outlet)``, in the story's
    order) of up to ``limit`` titles that tell the story in other words than ``headline``, best
    first (see the module doc)."""
    bags = [_bag(title) for title, _ in reports]
    used = Counter(w for bag in bags for w in bag)
    score = [(sum(map(used.__getitem__, bag)) - len(bag)) / math.sqrt(len(bag)) if bag else 0.0 for bag in bags]
    head = _bag(headline)
    shown: list[frozenset[str]] = [head]
    outlets: set[str] = set()
    chosen: list[int] = []
    for i in sorted(range(len(reports)), key=lambda i: (-score[i], i)):
        if len(chosen) >= limit or score[i] <= 0:
            break
        outlet = reports[i][1]
        if (head and not bags[i] & head) or (outlet and outlet in outlets) or any(_same(bags[i], b) for b in shown):
            continue
        chosen.append(i)
        shown.append(bags[i])
        outlets.add(outlet)
    return chosen


__all__ = ["SAME_WORDING", "SHOWN", "other_headlines"]
