"""Exact and near-duplicate detection with datasketch's MinHash LSH."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
from datasketch import MinHash, MinHashLSH

from ..models import Article
from ..text import tokenize
from .base import DedupResult

_SHINGLE = 3  # word trigrams: robust to light edits, strict about different reports
_MIN_SHINGLES = 8  # shorter items (headlines) are only collapsed when identical


def shingles(text: str, k: int = _SHINGLE) -> set[bytes]:
    words = tokenize(text)
    if len(words) < k:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + k]).encode() for i in range(len(words) - k + 1)}


Sketch = tuple[np.ndarray, int] | None  # an article's MinHash values and trigram count (None: too short)


@dataclass
class MinHashSketcher:
    """An article's MinHash sketch, from its text alone: the part of deduplication that needs no
    index, so it can run ahead of the stream (in another process: it pickles small). One set of
    permutations serves every sketch; building them per article cost as much as the hashing."""

    num_perm: int = 128
    seed: int = 1
    _template: MinHash | None = field(default=None, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {"num_perm": self.num_perm, "seed": self.seed, "_template": None}

    def minhash(self, grams: Iterable[bytes] = (), values: np.ndarray | None = None) -> MinHash:
        """A MinHash of ``grams``, or holding ``values`` already computed."""
        if self._template is None:
            self._template = MinHash(num_perm=self.num_perm, seed=self.seed)
        m = MinHash(num_perm=self.num_perm, seed=self.seed, scheme=self._template.scheme,
                    permutations=self._template.permutations, hashvalues=values)
        grams = list(grams)
        if grams:
            m.update_batch(grams)
        return m

    def sketch(self, article: Article) -> Sketch:
        grams = shingles(article.body)
        if len(grams) < _MIN_SHINGLES:
            return None
        return self.minhash(grams).hashvalues, len(grams)

    def __call__(self, articles: Sequence[Article]) -> list[Sketch]:
        return [self.sketch(a) for a in articles]


class MinHashDeduplicator:
    """Collapses exact copies (same normalized title and text) and near-copies.

    A near-copy shares word trigrams with an earlier article: Jaccard similarity at least
    ``threshold``, or containment (shared trigrams over the smaller set) at least ``containment``
    — the second catches reprints that add a dateline or a subscription line, or drop a sentence.
    Candidates come from LSH at a lower Jaccard (``lsh_threshold``), so cost per article does
    not grow with the number seen, and are confirmed on the estimates. The canonical article is
    the first one seen, so the earliest report is the original.
    """

    name = "minhash.v2"

    def __init__(self, *, threshold: float = 0.8, containment: float = 0.9, lsh_threshold: float = 0.5,
                 num_perm: int = 128, seed: int = 1) -> None:
        self.threshold = threshold
        self.containment = containment
        self.num_perm = num_perm
        self.seed = seed
        self.sizes_: dict[str, int] = {}
        self.lsh_ = MinHashLSH(threshold=lsh_threshold, num_perm=num_perm)
        self.by_hash_: dict[str, str] = {}
        self.signatures_: dict[str, MinHash] = {}
        self.canonical_of_: dict[str, str] = {}
        self._sketcher = MinHashSketcher(num_perm, seed)

    def preparer(self) -> MinHashSketcher:
        """The per-article work of :meth:`partial_fit` (see :class:`storyline.pipeline.Prepares`)."""
        return self._sketcher

    def _near_copy_of(self, article: Article, sketch: Sketch) -> str | None:
        """The earlier original ``article`` nearly copies, if any; else it joins the index."""
        if sketch is None:
            return None
        values, size = sketch
        sig = self._sketcher.minhash(values=values)
        best, best_sim = None, 0.0
        for cand in sorted(self.lsh_.query(sig)):
            jac = sig.jaccard(self.signatures_[cand])
            other = self.sizes_[cand]
            shared = jac * (size + other) / (1 + jac)
            contained = shared / min(size, other)
            if (jac >= self.threshold or contained >= self.containment) and jac > best_sim:
                best, best_sim = cand, jac
        if best is None:
            self.lsh_.insert(article.id, sig)
            self.signatures_[article.id] = sig
            self.sizes_[article.id] = size
        return best

    def signature(self, article_id: str) -> bytes | None:
        """The stored MinHash of an original article, for persisting the index."""
        sig = self.signatures_.get(article_id)
        if sig is None:
            return None
        return np.append(sig.hashvalues, self.sizes_[article_id]).astype("<u8").tobytes()

    def restore(self, canonical_of: dict[str, str], hashes: dict[str, str], signatures: dict[str, bytes]) -> None:
        """Rebuild the index from persisted rows (see :meth:`signature`)."""
        self.canonical_of_.update(canonical_of)
        for digest, canon in hashes.items():
            self.by_hash_.setdefault(digest, canon)
        for article_id, blob in signatures.items():
            values = np.frombuffer(blob, dtype="<u8")
            sig = self._sketcher.minhash(values=values[:-1].copy())
            self.signatures_[article_id] = sig
            self.sizes_[article_id] = int(values[-1])
            self.lsh_.insert(article_id, sig)

    def partial_fit(self, articles: Sequence[Article], prepared: Sequence[Sketch] | None = None) -> DedupResult:
        """Assign each article to itself or the earlier article it copies. ``prepared``: the
        articles' sketches from :meth:`preparer`, when they were computed ahead."""
        ids, canonical = [], []
        for i, art in enumerate(articles):
            if art.id in self.canonical_of_:
                canon = self.canonical_of_[art.id]
            else:
                match = self.by_hash_.get(art.content_hash)
                if match is None:
                    sketch = prepared[i] if prepared is not None else self._sketcher.sketch(art)
                    match = self._near_copy_of(art, sketch)
                canon = self.canonical_of_.get(match, match) if match else art.id
                self.canonical_of_[art.id] = canon
                self.by_hash_.setdefault(art.content_hash, canon)
            ids.append(art.id)
            canonical.append(canon)
        return DedupResult(canonical=canonical, _ids=ids)


__all__ = ["MinHashDeduplicator", "MinHashSketcher", "shingles"]
