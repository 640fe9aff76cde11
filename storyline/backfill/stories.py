"""Stories at backfill scale: time windows clustered in parallel, then linked.

The online clusterer is sequential: each article's decision depends on every story before it.
Within its time horizon (``cluster_window_days``, 3 days) that dependency is real; beyond it the
clusterer closes stories, so an article never joins a story whose last article is older than
the horizon. The plan uses that:

1. **Windows.** Original articles (copies follow their original) are cut into windows of
   ``window_days`` (>= the horizon; 7 by default) by publication time (else fetch time), per
   language. Each window is one Spark task: a fresh clusterer with the same models runs the
   stream of that window in arrival order (with the article vectors prepared in the first
   stage), then its end-of-input consolidation. Undated articles form one window of their own,
   in input order (they have no place in time, so nothing can cut them: that window costs what
   ``storyline cluster`` costs).
2. **Links.** A story can cross a window boundary only through articles within the horizon of
   it. For each pair of neighbouring windows (k, k+1), one task loads window k's final clusterer
   state and continues its stream with the articles of window k+1's first ``horizon`` days —
   the decisions the sequential clusterer would make for them. Each of those articles that joins
   a window-k story votes for linking its own window-(k+1) story to it; a story links to the
   window-k story that got at least half of its early articles. Link tasks run in parallel.
3. **Union.** Links (one row per linked story) go to the driver, where a union-find gives each
   story its root (the earliest), and the root map travels back to the executors.

Cost as the input grows, n articles over T days in L languages, horizon h, window w: the window
stage is n articles of sequential clustering split into about L*T/w independent tasks; the
link stage replays n*h/w articles in T/w independent tasks; the driver sees one row per link.
Wall time therefore falls with executors until a task is one (language, window) pair: a week
of English CC-NEWS is the longest task.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ..cluster import Clusterer, default_clusterer, placed, resolve
from ..config import Settings
from .extract import Staged

UNDATED_WINDOW = ("", -1)
_BATCH = 512


@dataclass
class WindowResult:
    """What one window's clusterer decided."""

    key: tuple[str, int]
    stories: dict[str, str] = field(default_factory=dict)  # article id -> story id (merges resolved)
    merges: dict[str, str] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    articles: int = 0


_LOADED: dict[Settings, Clusterer] = {}  # per executor process: models load once, not per task


@dataclass(frozen=True)
class FreshClusterer:
    """Picklable factory of the product's clusterer with an empty stream. The clusterer (and its
    embedder and join model) is built once per executor process and reset for each window."""

    settings: Settings

    def __call__(self) -> Clusterer:
        clusterer = _LOADED.get(self.settings)
        if clusterer is None:
            clusterer = _LOADED[self.settings] = default_clusterer(self.settings)
        clusterer.set_state({})  # a new stream; the models stay loaded
        return clusterer


def window_key(item: Staged, window_days: float) -> tuple[str, int]:
    when = item.when
    if when is None:
        return UNDATED_WINDOW
    return (item.article.language or "", int(math.floor(when / (window_days * 86400))))


def in_head(item: Staged, key: tuple[str, int], window_days: float, horizon_days: float) -> bool:
    """Whether ``item`` falls in the first ``horizon_days`` of its window (the part a story of the
    window before can reach)."""
    when = item.when
    return when is not None and key[1] >= 0 and when < (key[1] * window_days + horizon_days) * 86400


def _fit(clusterer: Clusterer, items: list[Staged]) -> list[str]:
    out: list[str] = []
    for i in range(0, len(items), _BATCH):
        chunk = items[i : i + _BATCH]
        out += clusterer.partial_fit([s.article for s in chunk], prepared=[s.vector for s in chunk])  # type: ignore[call-arg]
    return out


def cluster_window(key: tuple[str, int], items: Iterable[Staged], make: Callable[[], Clusterer]) -> WindowResult:
    """One window: the stream in arrival order, then the end-of-input consolidation."""
    ordered = sorted(items, key=lambda s: s.order)
    clusterer = make()
    assigned = _fit(clusterer, ordered)
    clusterer.consolidate()
    stories = {s.article.id: placed(clusterer, s.article.id, story) for s, story in zip(ordered, assigned)}
    return WindowResult(key, stories, dict(clusterer.merges_), clusterer.get_state(), len(ordered))


def link_votes(state: dict[str, Any], items: Iterable[Staged], make: Callable[[], Clusterer]) -> list[tuple[str, str]]:
    """Continue the stream of a window (its final ``state``) with the next window's early
    articles; returns ``(article id, story of the earlier window it joins)`` for each that joins one."""
    clusterer = make()
    clusterer.set_state(state)
    known = {s["id"] for s in state.get("stories", [])} | set(state.get("merges", {}))
    ordered = sorted(items, key=lambda s: s.order)
    out = []
    for item, story in zip(ordered, _fit(clusterer, ordered)):
        if story in known:
            out.append((item.article.id, resolve(story, clusterer.merges_)))
    return out


def choose_links(votes: Iterable[tuple[str, str, int, int]]) -> dict[str, str]:
    """``{later story: earlier story}`` from ``(later, earlier, votes, early articles of later)``:
    the earlier story with the most votes, when it has at least half of them."""
    best: dict[str, tuple[int, str]] = {}
    for later, earlier, count, total in votes:
        if 2 * count >= total and (later not in best or (count, earlier) > best[later]):
            best[later] = (count, earlier)
    return {later: earlier for later, (_, earlier) in best.items()}


def union_roots(links: dict[str, str], opened: dict[str, tuple[int, int]]) -> dict[str, str]:
    """Each linked story's root: the earliest (by ``opened``: window, position) of its group."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for a, b in links.items():
        ra, rb = find(a), find(b)
        if ra != rb:
            keep, gone = sorted((ra, rb), key=lambda s: (opened.get(s, (1 << 62, 0)), s))
            parent[gone] = keep
    return {s: find(s) for s in set(parent) | set(links.values()) if find(s) != s}


def combine_states(states: list[dict[str, Any]], merges: dict[str, str]) -> dict[str, Any]:
    """One clusterer state from the last window of each language (the stories still open at the
    end of the backfill), with every merge and link, for live ingest to carry on from."""
    if not states:
        return {}
    out = dict(states[0])
    out["stories"] = [s for st in states for s in st.get("stories", [])]
    out["seen"] = sum(int(st.get("seen", 0)) for st in states)
    clocks = [st["clock"] for st in states if st.get("clock") is not None]
    out["clock"] = max(clocks) if clocks else None
    out["touched"] = []
    out["merges"] = dict(merges)
    return out


__all__ = ["FreshClusterer", "WindowResult", "window_key", "in_head", "cluster_window", "link_votes", "choose_links", "union_roots",
           "combine_states", "UNDATED_WINDOW"]
