"""The story clusterer protocol, stable story ids, the simplest clusterers, and the collector pause
the clusterer and the engine share."""
from __future__ import annotations

import hashlib
from typing import Any, Protocol, Sequence, runtime_checkable

from ..models import Article
from ..process import collector_paused  # noqa: F401 - the clusterer's and the engine's pause (beside the ingest's setting)


def story_id_for(article_id: str) -> str:
    """A story's id comes from the article that opened it, so reruns give the same ids."""
    return "s" + hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:12]


@runtime_checkable
class Clusterer(Protocol):
    """Online story clustering.

    ``partial_fit`` assigns each article, in the order given, to an existing story or a new one,
    never looking ahead, and returns one story id per article. ``merges_`` maps ids of stories
    that were merged away to the id that absorbed them. ``get_state``/``set_state`` round-trip
    everything needed to resume the stream later. ``consolidate`` is called at the end of input
    (and of each ingest run) to merge stories that turned out to be one; it returns the new merges.
    """

    name: str
    merges_: dict[str, str]

    def partial_fit(self, articles: Sequence[Article]) -> list[str]: ...

    def consolidate(self) -> dict[str, str]: ...

    def get_state(self) -> dict[str, Any]: ...

    def set_state(self, state: dict[str, Any]) -> None: ...


def resolve(story_id: str, merges: dict[str, str]) -> str:
    """Follow merge redirects to the story that holds ``story_id`` now."""
    seen = set()
    while story_id in merges and story_id not in seen:
        seen.add(story_id)
        story_id = merges[story_id]
    return story_id


def placed(clusterer: Any, article_id: str, story_id: str) -> str:
    """Where an article assigned to ``story_id`` is now: the story a consolidation moved it to
    (``moved_``: refine moves and splits), else its own, followed through ``merges_``."""
    return resolve(getattr(clusterer, "moved_", {}).get(article_id, story_id), clusterer.merges_)


class SingletonClusterer:
    """Every article is its own story: the do-nothing baseline."""

    name = "singleton.v1"

    def __init__(self) -> None:
        self.merges_: dict[str, str] = {}

    def consolidate(self) -> dict[str, str]:
        return {}

    def partial_fit(self, articles: Sequence[Article]) -> list[str]:
        return [story_id_for(a.id) for a in articles]

    def get_state(self) -> dict[str, Any]:
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        pass


class LabelClusterer:
    """Stories given by a label function (e.g. gold labels), for tests and benchmarks."""

    name = "labels.v1"

    def __init__(self, label_of: dict[str, str]) -> None:
        self.label_of = label_of
        self.merges_: dict[str, str] = {}
        self.first_: dict[str, str] = {}

    def consolidate(self) -> dict[str, str]:
        return {}

    def partial_fit(self, articles: Sequence[Article]) -> list[str]:
        out = []
        for a in articles:
            label = self.label_of.get(a.id, a.id)
            first = self.first_.setdefault(label, a.id)
            out.append(story_id_for(first))
        return out

    def get_state(self) -> dict[str, Any]:
        return {"first": self.first_}

    def set_state(self, state: dict[str, Any]) -> None:
        self.first_ = dict(state.get("first", {}))
