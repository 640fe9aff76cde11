"""The deduplicator protocol and its do-nothing implementation."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence, runtime_checkable

from ..models import Article


@dataclass(slots=True)
class DedupResult:
    """``canonical[i]`` is the id of the article that item ``i`` reprints (its own id when it is
    an original)."""

    canonical: list[str] = field(default_factory=list)

    def originals(self, articles: Sequence[Article]) -> list[Article]:
        return [a for a, c in zip(articles, self.canonical) if a.id == c]

    def reprints(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for item_id, canon in zip(self._ids, self.canonical):
            if item_id != canon:
                out.setdefault(canon, []).append(item_id)
        return out

    _ids: list[str] = field(default_factory=list)


@runtime_checkable
class Deduplicator(Protocol):
    """Assigns every incoming article to itself or to an earlier article it copies.

    Calls are incremental: an article seen in an earlier call can be the canonical of a later one.
    """

    name: str

    def partial_fit(self, articles: Sequence[Article]) -> DedupResult: ...


class NoDedup:
    """Treats every article as an original."""

    name = "none.v1"

    def partial_fit(self, articles: Sequence[Article]) -> DedupResult:
        ids = [a.id for a in articles]
        return DedupResult(canonical=list(ids), _ids=ids)
