"""Related stories from the clusterer's own representation of each story.

Every story is kept as the clusterer sees articles (:func:`storyline.cluster.features.represent`):
the unit mean of its reports' dense embeddings (the clusterer's embedder, WordLlama by default)
and the normalized sum of their tf-idf term vectors. Two stories' relatedness is the mean of the
two cosines; stories below :data:`FLOOR` are never shown, so a story with no real neighbour shows
none rather than filler. The vectors are written when a story's summary is refreshed
(``story_vectors``, migration 0012) by the engine (:meth:`storyline.engine.Engine.refresh_stories`:
computed before its transaction, written inside it); only stories within :data:`WINDOW_DAYS` of
each other are compared.

On the demo corpus the only pairs above the floor are the cup final and its victory parade (0.357)
and the port stories with the parade on Harbor Road (0.445); a bridge collision and a rail opening
(about 0.27), a wildfire and an earthquake (about 0.18), or a museum theft and anything else stay
below it.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from .ingest.dates import shifted
from .cluster.features import represent, sparse_dot
from .models import Article, Story
from .store import state as codec

if TYPE_CHECKING:
    from .store.base import SQLStore
    from .text.embed import Embedder

FLOOR = 0.30
WINDOW_DAYS = 14.0
MAX_TERMS = 60
MAX_CANDIDATES = 5000
_EMBEDDERS: dict[str, Any] = {}
_VISIBLE = "AND v.story_id NOT IN (SELECT story_id FROM hidden_stories)"


def embedder_for(owner: Any) -> Embedder | None:
    """The clusterer's embedder when ``owner`` (an engine) has its pipeline loaded, else the one
    the settings name (made once per process)."""
    clusterer = getattr(getattr(owner, "pipeline_", None), "clusterer", None)
    found = getattr(clusterer, "embedder", None)
    if found is not None:
        return found  # type: ignore[no-any-return]
    spec = getattr(getattr(owner, "settings", None), "embedder", "") or ""
    if spec not in _EMBEDDERS:
        from .text.embed import make_embedder

        _EMBEDDERS[spec] = make_embedder(spec)
    return _EMBEDDERS[spec]  # type: ignore[no-any-return]


def story_vector(articles: Sequence[Article], embedder: Embedder | None) -> tuple[np.ndarray | None, dict[str, float]]:
    """(unit dense vector or None, unit term vector) of a story's original reports."""
    vectors = represent(articles, embedder)
    dense = None
    rows = [v.dense / (float(np.linalg.norm(v.dense)) or 1.0) for v in vectors if v.dense is not None]
    if rows:
        total = np.sum(rows, axis=0)
        dense = (total / (float(np.linalg.norm(total)) or 1.0)).astype(np.float32)
    terms: dict[str, float] = {}
    for v in vectors:
        norm = math.sqrt(sum(x * x for x in v.terms.values())) or 1.0
        for w, x in v.terms.items():
            terms[w] = terms.get(w, 0.0) + x / norm
    top = dict(sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TERMS])
    norm = math.sqrt(sum(x * x for x in top.values())) or 1.0
    return dense, {w: x / norm for w, x in top.items()}


def vector_row(story: Story, embedder: Embedder | None) -> tuple[Any, ...]:
    """``story``'s ``story_vectors`` row (computed outside any transaction: it embeds)."""
    dense, terms = story_vector(story.articles, embedder)
    last = story.last_seen.isoformat() if story.last_seen else None
    return (story.id, getattr(embedder, "name", "") if dense is not None else "",
            codec.dumps(dense) if dense is not None else "", json.dumps(terms), last,
            datetime.now(UTC).isoformat())  # microseconds: the read cache keys on it


def save_vectors(store: SQLStore, rows: Sequence[tuple[Any, ...]]) -> None:
    """Store :func:`vector_row` rows (inside the caller's transaction)."""
    if rows:
        store.db.executemany(
            "INSERT INTO story_vectors (story_id, embedder, dense, terms, last_seen, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (story_id) DO UPDATE SET embedder = excluded.embedder, "
            "dense = excluded.dense, terms = excluded.terms, last_seen = excluded.last_seen, "
            "updated_at = excluded.updated_at", list(rows))


def remember(store: SQLStore, story: Story, embedder: Embedder | None) -> None:
    """Store ``story``'s vector (inside the caller's transaction)."""
    save_vectors(store, [vector_row(story, embedder)])


def _load(row: Any) -> tuple[str, np.ndarray | None, dict[str, float]]:
    dense = codec.loads(row["dense"]) if row["dense"] else None
    return row["embedder"], dense, json.loads(row["terms"] or "{}")


def relatedness(a: tuple[str, np.ndarray | None, dict[str, float]],
                b: tuple[str, np.ndarray | None, dict[str, float]]) -> float:
    """Mean of the dense cosine (0 when the two were embedded differently) and the term cosine."""
    dense = float(a[1] @ b[1]) if a[1] is not None and b[1] is not None and a[0] == b[0] else 0.0
    return (dense + sparse_dot(a[2], b[2])) / 2.0


_Vector = tuple[str, "np.ndarray | None", dict[str, float]]
_CACHE: dict[tuple[str, str], tuple[str, _Vector]] = {}  # (database, story) -> (updated_at, vector)
_CACHE_SIZE = 100_000


def _vectors(store: SQLStore, keys: list[tuple[str, str]]) -> dict[str, _Vector]:
    """Decoded vectors of ``(story_id, updated_at)`` pairs, from the process cache when current."""
    where = str(getattr(store, "where", id(store)))
    out, missing = {}, []
    for story_id, updated in keys:
        hit = _CACHE.get((where, story_id))
        if hit is not None and hit[0] == updated:
            out[story_id] = hit[1]
        else:
            missing.append(story_id)
    for i in range(0, len(missing), 500):
        chunk = missing[i: i + 500]
        for row in store.db.execute(f"SELECT * FROM story_vectors WHERE story_id IN ({','.join('?' * len(chunk))})",
                                    chunk):
            vector = _load(row)
            out[row["story_id"]] = vector
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.clear()
            _CACHE[(where, row["story_id"])] = (row["updated_at"], vector)
    return out


def related(store: SQLStore, story_id: str, *, limit: int = 5, floor: float = FLOOR) -> list[tuple[str, float]]:
    """Other current stories at least ``floor`` related to ``story_id``, most related first."""
    row = store.db.execute("SELECT story_id, updated_at, last_seen FROM story_vectors WHERE story_id = ?",
                           (story_id,)).fetchone()
    if row is None:
        return []
    when = row["last_seen"]
    if when:
        ref = datetime.fromisoformat(when)
        lo, hi = shifted(ref, -timedelta(days=WINDOW_DAYS)).isoformat(), shifted(ref, timedelta(days=WINDOW_DAYS)).isoformat()
        rows = store.db.execute(
            "SELECT v.story_id, v.updated_at FROM story_vectors v JOIN stories s ON s.id = v.story_id "
            f"WHERE v.story_id <> ? AND s.size > 0 {_VISIBLE} AND julianday(v.last_seen) BETWEEN julianday(?) "
            "AND julianday(?) ORDER BY v.last_seen DESC LIMIT ?", (story_id, lo, hi, MAX_CANDIDATES)).fetchall()
    else:
        rows = store.db.execute(
            "SELECT v.story_id, v.updated_at FROM story_vectors v JOIN stories s ON s.id = v.story_id "
            f"WHERE v.story_id <> ? AND s.size > 0 {_VISIBLE} ORDER BY v.updated_at DESC LIMIT ?",
            (story_id, MAX_CANDIDATES)).fetchall()
    vectors = _vectors(store, [(row["story_id"], row["updated_at"])] + [(r[0], r[1]) for r in rows])
    own = vectors[story_id]
    scored = [(r[0], relatedness(own, vectors[r[0]])) for r in rows if r[0] in vectors]
    return sorted(((s, round(v, 4)) for s, v in scored if v >= floor), key=lambda sv: (-sv[1], sv[0]))[:limit]


__all__ = ["FLOOR", "WINDOW_DAYS", "embedder_for", "related", "relatedness", "remember", "save_vectors",
           "story_vector", "vector_row"]
