"""The clusterer's own evidence for a story, read from what the engine saved (never recomputed).

The engine checkpoints its clusterer's state in the store (``engine_state``, name
:data:`storyline.engine.STATE_NAME`). For every story still open in the stream that state holds
the centroid the join decisions compared new articles with (its heaviest terms), the names and
figures its members named (how many members named each) and, for stories small enough to be split
later, each member's own term vector, names and figures. :func:`story_evidence` reads those for
one story; the "about this story" page and ``/api/stories/{id}/about`` show them.

A story no longer in the saved state (closed by the time horizon, or made by an editor's split
or merge since the last checkpoint) falls back to the term vector the engine stored for it when it
last refreshed the story (``story_vectors``, :mod:`storyline.related`), which is built from the
same article representation; it has no per-article part.
"""
from __future__ import annotations

import json
import math
import threading
from typing import Any

from .cluster import resolve
from .cluster.features import heaviest
from .cluster.stream import _core as core_of
from .engine import STATE_NAME
from .store import state as codec

KEEP_TERMS = 12
_CACHE: dict[str, tuple[int, str, dict[str, dict[str, Any]]]] = {}  # store -> (generation, kind, stories)
_LOCK = threading.Lock()


def _core(counts: dict[str, int], size: int) -> list[str]:
    """The story's core names or figures by the clusterer's own rule (what at least half its
    members name), most named first."""
    return sorted(core_of(counts, size), key=lambda k: (-counts[k], k))


def _unit(vec: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(math.fsum(v * v for v in vec.values())) or 1.0
    return {k: v / norm for k, v in vec.items()}


def _heaviest(vec: dict[str, float], keep: int = KEEP_TERMS) -> list[dict[str, Any]]:
    unit = _unit(vec)
    return [{"term": w, "weight": round(unit[w], 3)} for w in heaviest(unit, keep)]


def _slim(story: dict[str, Any]) -> dict[str, Any]:
    """The parts of a saved story the evidence shows (dense vectors and the rest dropped, so the
    process keeps a fraction of the state in memory)."""
    items = [[a, {k: v.get(k) for k in ("terms", "names", "figures")}] for a, v in story.get("items") or []]
    return {k: story.get(k) for k in ("id", "size", "terms", "names", "figures")} | {"items": items}


def _saved(store: Any) -> tuple[str, dict[str, dict[str, Any]]]:
    """The saved clusterer's kind, and story id -> that story's entry in its saved state (empty
    when nothing is saved), parsed once per store generation. Every save of the state bumps the
    generation in the same transaction, so a page between two writes reads one checkpoint row,
    not the state (tens of MB at 100k articles)."""
    where = str(getattr(store, "where", id(store)))
    generation = store.generation()
    with _LOCK:
        hit = _CACHE.get(where)
        if hit is not None and hit[0] == generation:
            return hit[1], hit[2]
    saved = store.load_state(STATE_NAME)
    stories: dict[str, dict[str, Any]] = {}
    if saved is not None:
        state = codec.loads(saved.state)
        if isinstance(state, dict):
            stories = {str(s["id"]): _slim(s) for s in state.get("stories", []) if isinstance(s, dict) and "id" in s}
            merges = {str(k): str(v) for k, v in (state.get("merges") or {}).items()}
            for old_id, entry in stories.items():  # where a merged-away story's members live now
                entry["absorbed_by"] = resolve(old_id, merges) if old_id in merges else None
    kind = saved.kind if saved is not None else ""
    with _LOCK:
        _CACHE[where] = (generation, kind, stories)
    return kind, stories


def saved_stories(store: Any) -> dict[str, dict[str, Any]]:
    """Story id -> that story's entry in the engine's saved clusterer state (:func:`_saved`)."""
    return _saved(store)[1]


def _member(item: dict[str, Any], centroid: dict[str, float], core_names: set[str]) -> dict[str, Any]:
    terms = dict(item.get("terms") or {})
    own, mean = _unit(terms), _unit(centroid)
    similarity = math.fsum(v * mean.get(w, 0.0) for w, v in own.items())
    shared = sorted((w for w in own if w in mean), key=lambda w: (-own[w] * mean[w], w))[:KEEP_TERMS]
    return {"similarity": round(similarity, 3), "shared_terms": shared,
            "names": sorted(n for n in item.get("names") or () if n in core_names),
            "figures": sorted(item.get("figures") or ())}


def story_evidence(store: Any, story_id: str) -> dict[str, Any]:
    """What the clusterer used for ``story_id``.

    Returns:
        ``{"source", "clusterer", "size", "terms" [{term, weight}], "names" [{name, members}],
        "figures" [{figure, members}], "articles" {article id: {similarity, shared_terms, names,
        figures}}}``; ``source`` is ``"clusterer state"``, ``"story vector"`` or ``None`` (nothing
        stored for the story).
    """
    kind, stories = _saved(store)
    saved = stories.get(story_id)
    if saved is not None:
        size = int(saved.get("size", 0))
        names, figures = dict(saved.get("names") or {}), dict(saved.get("figures") or {})
        core_names = _core(names, size)
        centroid = dict(saved.get("terms") or {})
        parts = [saved] + [s for s in stories.values() if s.get("absorbed_by") == story_id]
        members = {str(a): _member(v, centroid, set(core_names)) for part in parts for a, v in part.get("items") or []}
        return {"source": "clusterer state", "clusterer": kind, "size": size,
                "terms": _heaviest(centroid), "names": [{"name": n, "members": names[n]} for n in core_names],
                "figures": [{"figure": f, "members": figures[f]} for f in _core(figures, size)],
                "articles": members}
    terms = _stored_vector(store, story_id)
    return {"source": "story vector" if terms else None, "clusterer": "", "size": None, "terms": _heaviest(terms),
            "names": [], "figures": [], "articles": {}}


def _stored_vector(store: Any, story_id: str) -> dict[str, float]:
    row = store.db.execute("SELECT terms FROM story_vectors WHERE story_id = ?", (story_id,)).fetchone()
    return dict(json.loads(row[0] or "{}")) if row is not None else {}


def vector_terms(store: Any, story_id: str, keep: int = 10) -> list[str]:
    """The heaviest terms of the story's stored vector (one row read: cheap enough for every page)."""
    return [t["term"] for t in _heaviest(_stored_vector(store, story_id), keep)]


__all__ = ["KEEP_TERMS", "saved_stories", "story_evidence", "vector_terms"]
