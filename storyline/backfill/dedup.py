"""Exact and near-duplicate collapse across the whole backfill, with ingest's rules.

The rules are :class:`storyline.dedup.MinHashDeduplicator`'s, applied in arrival order:

1. exact copies (same content hash) belong to the first article with that hash, and take its
   canonical;
2. the first article of each hash is a near-copy of the earlier *original* it shares trigrams
   with (Jaccard >= ``threshold`` or containment >= ``containment``, estimated on the MinHash),
   the most similar one (ties: the smaller id); candidates are the articles that collide in one
   LSH band, with the deduplicator's own band layout (``b`` bands of ``r`` values).

On Spark: each signature is cut into its bands, the bands are joined (grouped by band value),
and the candidate pairs are confirmed on the two signatures — all on executors. What reaches
the driver is only the confirmed pairs (one row per pair of real copies) with their arrival
positions; the driver applies the first-seen rule (which original each copy belongs to needs
the decisions of the copies before it), O(copies), and the answer travels back as a small map.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import numpy as np

from ..dedup import MinHashDeduplicator

Order = tuple[float, int, int]


@dataclass(frozen=True, slots=True)
class DedupRules:
    """The deduplicator's thresholds and band layout, shipped to executors."""

    threshold: float
    containment: float
    bands: int
    rows: int

    @classmethod
    def of(cls, dedup: MinHashDeduplicator) -> "DedupRules":
        return cls(dedup.threshold, dedup.containment, dedup.lsh_.b, dedup.lsh_.r)

    def band_keys(self, values: np.ndarray) -> Iterator[tuple[int, bytes]]:
        for b in range(self.bands):
            yield b, np.ascontiguousarray(values[b * self.rows : (b + 1) * self.rows]).tobytes()

    def confirm(self, a: tuple[np.ndarray, int], b: tuple[np.ndarray, int]) -> float | None:
        """The estimated Jaccard of two sketches when they are copies by the rules, else None."""
        (va, sa), (vb, sb) = a, b
        jac = float(np.count_nonzero(va == vb)) / len(va)
        shared = jac * (sa + sb) / (1 + jac)
        contained = shared / min(sa, sb)
        return jac if jac >= self.threshold or contained >= self.containment else None


def _pairs(members: Iterable[tuple[Order, str]]) -> Iterator[tuple[str, str]]:
    ordered = sorted(members)
    for i, (_, earlier) in enumerate(ordered):
        for _, later in ordered[i + 1 :]:
            yield earlier, later


def first_seen(edges: Iterable[tuple[Order, str, Order, str, float]]) -> dict[str, str]:
    """The driver's part: ``{copy id: original id}`` from confirmed pairs (earlier, later, Jaccard),
    deciding articles in arrival order as the streaming deduplicator does."""
    incoming: dict[str, list[tuple[str, float]]] = {}
    order: dict[str, Order] = {}
    for o_a, a, o_b, b, jac in edges:
        order[a], order[b] = o_a, o_b
        incoming.setdefault(b, []).append((a, jac))
    originals: set[str] = set()
    copy_of: dict[str, str] = {}
    for node in sorted(order, key=lambda n: (order[n], n)):
        best, best_sim = None, 0.0
        for cand, jac in sorted(incoming.get(node, [])):
            if cand in originals and jac > best_sim:
                best, best_sim = cand, jac
        if best is None:
            originals.add(node)
        else:
            copy_of[node] = best
    return copy_of


def canonical_ids(staged: Any, rules: DedupRules) -> tuple[Any, dict[str, int]]:
    """``(rdd of (Staged, canonical id), counts)`` for an RDD of :class:`Staged` items.

    Every shuffle keeps the input's partition count ``n`` (one per staged file): PySpark's ``join``
    otherwise gives the sum of its parents' counts, and a chain of joins multiplies tiny tasks
    whose fixed cost (about 0.1 s each) outweighed the work on the benchmark's 32 files."""
    n = max(1, staged.getNumPartitions())
    by_hash = staged.map(lambda s: (s.article.content_hash, (s.order, s.article.id)))
    first = by_hash.reduceByKey(min, n)  # hash -> (order, id) of the first article with it
    reps = first.map(lambda kv: (kv[1][1], kv[1][0]))  # id -> order
    sketches = staged.filter(lambda s: s.sketch is not None).map(lambda s: (s.article.id, s.sketch))
    rep_sketch = sketches.join(reps, n).map(lambda kv: (kv[0], (kv[1][1], kv[1][0])))  # id -> (order, sketch)
    rep_sketch.persist()
    bands = rep_sketch.flatMap(lambda kv: (((b, key), (kv[1][0], kv[0])) for b, key in rules.band_keys(kv[1][1][0])))
    candidates = bands.groupByKey(n).flatMap(lambda kv: _pairs(kv[1])).distinct(n)

    def confirmed(kv: tuple[str, tuple[tuple[str, Any], tuple[Order, Any]]]) -> list[tuple[Order, str, Order, str, float]]:
        later, ((earlier, (o_a, sk_a)), (o_b, sk_b)) = kv[0], kv[1]
        jac = rules.confirm(sk_a, sk_b)
        return [] if jac is None else [(o_a, earlier, o_b, later, jac)]

    edges = (candidates.join(rep_sketch, n)  # earlier -> (later, (order, sketch))
             .map(lambda kv: (kv[1][0], (kv[0], kv[1][1])))
             .join(rep_sketch, n)  # later -> ((earlier, ...), (order, sketch))
             .flatMap(confirmed)
             .collect())
    rep_sketch.unpersist()
    copy_of = first_seen(edges)
    spark = staged.context
    near = spark.broadcast(copy_of)

    def assign(kv: tuple[str, tuple[Any, tuple[Order, str]]]) -> tuple[Any, str]:
        item, (_, rep) = kv[1]
        return item, near.value.get(rep, rep)

    out = staged.map(lambda s: (s.article.content_hash, s)).join(first, n).map(assign)
    return out, {"near_pairs": len(edges), "near_copies": len(copy_of)}


__all__ = ["DedupRules", "canonical_ids", "first_seen"]
