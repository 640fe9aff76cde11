"""Exact and near-duplicate detection with MinHash LSH.

The MinHash scheme is datasketch 2.0's default ("affine32": the first four bytes of each word
trigram's SHA-1, MurmurHash3's 32-bit finalizer, then ``a * h + b`` in uint32 with ``a`` odd, the
permutations drawn from ``numpy.random.RandomState(seed)``) and its LSH band layout (the ``b`` x
``r`` that minimizes the sum of the false positive and false negative areas), written here rather
than imported. The signatures are stored (:mod:`.stored`), so their scheme is a stored format that
storyline must own whatever a datasketch release does with its default; and importing the
datasketch package imports ``scipy.integrate`` for the layout, half of a command's start (0.69 ->
0.38 s for an empty ``storyline ingest``). tests/test_dedup.py checks both against datasketch.
"""
from __future__ import annotations

import hashlib
import heapq
import itertools
import operator
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Callable, Iterable, Sequence

import numpy as np

from ..kernels import compiled
from ..models import Article
from ..text.tokens import tokenize, tokens_once
from .base import DedupResult

_SHINGLE = 3  # word trigrams: robust to light edits, strict about different reports
_MIN_SHINGLES = 8  # shorter items (headlines) are only collapsed when identical


def shingles(text: str, k: int = _SHINGLE) -> set[bytes]:
    return shingles_of(tokenize(text), k)


def article_shingles(article: Article, k: int = _SHINGLE) -> set[bytes]:
    """``shingles(article.body)``: the body's words are the title's, then the text's (no word
    spans the line break between them)."""
    return shingles_of(tokens_once(article.title) + tokens_once(article.text), k)


def shingles_of(words: list[str], k: int = _SHINGLE) -> set[bytes]:
    """The k-word shingles of ``words`` (all of them as one when fewer), UTF-8 encoded."""
    if len(words) < k:
        return {" ".join(words).encode()} if words else set()
    return set(map(str.encode, map(" ".join, zip(*(words[i:] for i in range(k))))))


def _sha1_values(grams: Iterable[bytes]) -> np.ndarray:
    """datasketch's ``sha1_hash32`` of each gram (the first four bytes of its SHA-1, little-endian),
    as uint32, hashed in one C-level pass."""
    return np.frombuffer(b"".join(map(_DIGEST, map(hashlib.sha1, grams))), dtype="<u4")[::5].astype(np.uint32)


_DIGEST = operator.methodcaller("digest")
_CHUNK_ROWS = 16_384  # grams whose permuted values are held at once (x num_perm x 4 bytes)


Sketch = tuple[np.ndarray, int] | None  # an article's MinHash values and trigram count (None: too short)

# A fixed text whose sketch names the way signatures are made (words, shingles, hash, permutations):
# letters beyond ASCII, digits, quotes and dashes, so a change in any of those steps changes it.
_PROBE = Article("sketcher-probe", "Zürich's ferries ran 3 hours late, officials said",
                 "Officials in Zürich said on Tuesday that 3 ferries ran 20 minutes late; the «naïve» façades "
                 "of the café's 12th-floor terrace — and O'Neill's kiosk — stayed closed until inspectors left.")


_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (a bijection that spreads every input bit), element-wise,
    wrapping in uint32: the pre-mix before the affine permutations."""
    s1, m1, s2, m2, s3 = _FMIX32
    values = values ^ (values >> s1)
    values = values * m1
    values = values ^ (values >> s2)
    values = values * m2
    return values ^ (values >> s3)


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``num_perm`` affine permutations ``h -> a * h + b`` (mod 2**32; ``a`` odd, so each is a
    bijection) drawn from ``seed``: ``a`` then ``b``, as uint32 arrays."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    a.flags.writeable = b.flags.writeable = False
    return a, b


@dataclass
class MinHashSketcher:
    """An article's MinHash sketch, from its text alone: the part of deduplication that needs no
    index, so it can run ahead of the stream (in another process: it pickles small)."""

    num_perm: int = 128
    seed: int = 1

    def sketch(self, article: Article) -> Sketch:
        return self([article])[0]

    def key(self) -> str:
        """The key of the signatures this sketcher makes: its size and seed, and a hash of a fixed
        text's sketch, which moves with anything that changes a signature (the tokenizer, the
        shingles, the hash or the permutations). Two sketchers with one key make signatures that
        compare; the store keeps the key beside them (:mod:`.stored`)."""
        probe = sketch_blob(self([_PROBE])[0])
        assert probe is not None, "the probe text has enough trigrams"
        return f"minhash/{self.num_perm}/{self.seed}/{hashlib.sha1(probe).hexdigest()[:16]}"

    def __call__(self, articles: Sequence[Article]) -> list[Sketch]:
        """The sketch of each article (None when it has fewer than 8 trigrams): its trigrams'
        minimum under each permutation. The batch's trigrams are hashed and permuted together, a
        permutation a row and a trigram a column, in chunks of bounded size."""
        a, b = permutations(self.num_perm, self.seed)
        grams = [article_shingles(art) for art in articles]
        out: list[Sketch] = [None] * len(articles)
        native = compiled()
        if native is not None:  # the same values, each article's trigrams hashed and permuted in one compiled loop
            for i, g in enumerate(grams):
                if len(g) >= _MIN_SHINGLES:
                    native.minhash(g, a, b, low := np.empty(self.num_perm, dtype=np.uint32))
                    out[i] = low, len(g)
            return out
        a, b = a.reshape(-1, 1), b.reshape(-1, 1)
        todo = deque(i for i, g in enumerate(grams) if len(g) >= _MIN_SHINGLES)
        while todo:
            chunk, rows = [], 0
            while todo and (not chunk or rows + len(grams[todo[0]]) <= _CHUNK_ROWS):
                chunk.append(todo.popleft())
                rows += len(grams[chunk[-1]])
            mixed = _fmix32(_sha1_values(itertools.chain.from_iterable(grams[i] for i in chunk)).reshape(1, -1))
            permuted = a * mixed + b
            starts = np.cumsum([0] + [len(grams[i]) for i in chunk[:-1]])
            for i, low in zip(chunk, np.minimum.reduceat(permuted, starts, axis=1).T):
                out[i] = np.ascontiguousarray(low), len(grams[i])
        return out


@lru_cache(maxsize=8)
def band_layout(threshold: float, num_perm: int) -> tuple[int, int]:
    """The ``(b, r)`` of ``b`` bands of ``r`` values (``b * r <= num_perm``) that minimizes the
    area of false positives below ``threshold`` plus that of false negatives above it, each
    weighted a half: datasketch's ``MinHashLSH`` layout. The candidate probability
    ``1 - (1 - s**r)**b`` is a polynomial of degree ``b * r``, so Gauss-Legendre quadrature with
    ``num_perm // 2 + 1`` nodes integrates it exactly (up to rounding)."""
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 1)

    def area(low: float, high: float, b: int, r: int, positive: bool) -> float:
        s = (high - low) / 2 * nodes + (high + low) / 2
        p = 1.0 - (1.0 - s ** float(r)) ** float(b)
        return float((high - low) / 2 * np.dot(weights, p if positive else 1.0 - p))

    best, layout = float("inf"), (0, 0)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            error = 0.5 * area(0.0, threshold, b, r, True) + 0.5 * area(threshold, 1.0, b, r, False)
            if error < best:
                best, layout = error, (b, r)
    if layout[0] < 2:
        raise ValueError(f"an LSH threshold of {threshold} with {num_perm} permutations gives one band: "
                         "lower the threshold or use more permutations")
    return layout


class BandIndex:
    """The near-copy candidate index: ``b`` bands of ``r`` MinHash values each (datasketch's
    layout for the LSH threshold), an item a candidate of a query when one band is equal. Kept
    compact, because it is the deduplicator's memory: a band is a 64-bit hash of its values (a
    collision only adds a candidate, which the Jaccard check then refuses), a bucket holding one
    item is that item's id, and the values are kept as 32-bit numbers (MinHash values are below
    2**32). About 3 KB an item, against datasketch's ``MinHashLSH`` at 8.6 KB (tracemalloc)."""

    def __init__(self, threshold: float, num_perm: int) -> None:
        self.b, self.r = band_layout(threshold, num_perm)
        self.tables: list[dict[int, str | list[str]]] = [{} for _ in range(self.b)]
        self.values: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.values)

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def _keys(self, values: np.ndarray) -> list[int]:
        bands = np.ascontiguousarray(values[: self.b * self.r], dtype="<u8").reshape(self.b, self.r)
        return [hash(row.tobytes()) for row in bands]

    def insert(self, key: str, values: np.ndarray) -> None:
        for table, band in zip(self.tables, self._keys(values)):
            held = table.get(band)
            if held is None:
                table[band] = key
            elif isinstance(held, str):
                table[band] = [held, key]
            else:
                held.append(key)
        self.values[key] = values.astype(np.uint32)

    def remove(self, key: str) -> None:
        values = self.values.pop(key)
        for table, band in zip(self.tables, self._keys(values.astype(np.uint64))):
            held = table.get(band)
            if held == key:
                del table[band]
            elif isinstance(held, list):
                held.remove(key)
                if len(held) == 1:
                    table[band] = held[0]

    def query(self, values: np.ndarray) -> set[str]:
        found: set[str] = set()
        for table, band in zip(self.tables, self._keys(values)):
            held = table.get(band)
            if held is None:
                continue
            if isinstance(held, str):
                found.add(held)
            else:
                found.update(held)
        return found

    def jaccard(self, values: np.ndarray, key: str) -> float:
        """Estimated Jaccard of ``values`` and the item ``key`` (as ``MinHash.jaccard``)."""
        return float(np.count_nonzero(self.values[key] == values)) / len(values)


class MinHashDeduplicator:
    """Collapses exact copies (same normalized title and text) and near-copies.

    A near-copy shares word trigrams with an earlier article: Jaccard similarity at least
    ``threshold``, or containment (shared trigrams over the smaller set) at least ``containment``
    — the second catches reprints that add a dateline or a subscription line, or drop a sentence.
    Candidates come from LSH at a lower Jaccard (``lsh_threshold``), so cost per article does
    not grow with the number seen, and are confirmed on the estimates. The canonical article is
    the first one seen, so the earliest report is the original.

    Bounded memory (the engine's setting; the defaults keep every original, as ``cluster`` and
    ``digest`` do over an input they hold anyway):

    - ``horizon_days``: near copies are searched only among originals dated (published, else
      fetched) within that many days of the newest date seen so far (the stream's clock); older
      ones leave the index as the clock moves. An original already older than that when it
      arrives is not indexed.
    - ``horizon_items``: at most that many dated originals stay indexed (the oldest by date go
      first), and at most that many undated ones (the earliest to arrive go first).
    - ``lookup``: exact copies of anything already stored, however old, are found by asking
      ``lookup(content hashes) -> {hash: canonical id}`` (the store's indexed ``content_hash``),
      and only the current call's hashes and ids are held in memory. The caller stores each
      call's result before the next call (the engine does, one transaction per batch).
    """

    name = "minhash.v2"

    def __init__(self, *, threshold: float = 0.8, containment: float = 0.9, lsh_threshold: float = 0.5,
                 num_perm: int = 128, seed: int = 1, horizon_days: float | None = None,
                 horizon_items: int | None = None, lookup: Callable[[list[str]], dict[str, str]] | None = None) -> None:
        self.threshold = threshold
        self.containment = containment
        self.num_perm = num_perm
        self.seed = seed
        self.horizon_days = horizon_days
        self.horizon_items = horizon_items
        self.lookup = lookup
        self.sizes_: dict[str, int] = {}
        self.lsh_ = BandIndex(lsh_threshold, num_perm)
        self.by_hash_: dict[str, str] = {}
        self.canonical_of_: dict[str, str] = {}
        self.clock_: float | None = None  # newest article date seen (POSIX seconds)
        self._dated: list[tuple[float, int, str]] = []  # heap of (date, arrival, id) of dated indexed originals
        self._undated: deque[str] = deque()  # undated indexed originals, in arrival order
        self._arrivals = 0
        self._fresh: dict[str, bytes] = {}  # signatures of the current call's originals
        self._sketcher = MinHashSketcher(num_perm, seed)

    def preparer(self) -> MinHashSketcher:
        """The per-article work of :meth:`partial_fit` (see :class:`storyline.pipeline.Prepares`)."""
        return self._sketcher

    # -- the horizon ------------------------------------------------------------------------
    def _advance(self, when: float | None) -> None:
        """Move the clock to ``when`` and let the originals that fell out of the horizon go."""
        if when is None or self.horizon_days is None:
            return
        if self.clock_ is None or when > self.clock_:
            self.clock_ = when
        oldest = self.clock_ - self.horizon_days * 86400.0
        while self._dated and self._dated[0][0] < oldest:
            self._forget(heapq.heappop(self._dated)[2])

    def _forget(self, article_id: str) -> None:
        if article_id in self.lsh_:
            self.lsh_.remove(article_id)
            del self.sizes_[article_id]

    def _admit(self, article_id: str, values: np.ndarray, size: int, when: float | None) -> None:
        """Index an original (unless it is already out of the horizon), evicting past the caps."""
        if when is not None and self.horizon_days is not None and self.clock_ is not None \
                and when < self.clock_ - self.horizon_days * 86400.0:
            return
        self.lsh_.insert(article_id, values)
        self.sizes_[article_id] = size
        self._arrivals += 1
        if when is None:
            self._undated.append(article_id)
            if self.horizon_items is not None and len(self._undated) > self.horizon_items:
                self._forget(self._undated.popleft())
        else:
            heapq.heappush(self._dated, (when, self._arrivals, article_id))
            if self.horizon_items is not None and len(self._dated) > self.horizon_items:
                self._forget(heapq.heappop(self._dated)[2])

    # -- deciding -------------------------------------------------------------------------
    def _near_copy_of(self, article: Article, sketch: Sketch, when: float | None) -> str | None:
        """The earlier original ``article`` nearly copies, if any; else it joins the index."""
        if sketch is None:
            return None
        values, size = sketch
        best, best_sim = None, 0.0
        for cand in sorted(self.lsh_.query(values)):
            jac = self.lsh_.jaccard(values, cand)
            other = self.sizes_[cand]
            shared = jac * (size + other) / (1 + jac)
            contained = shared / min(size, other)
            if (jac >= self.threshold or contained >= self.containment) and jac > best_sim:
                best, best_sim = cand, jac
        if best is None:
            self._fresh[article.id] = _blob(values, size)
            self._admit(article.id, values, size, when)
        return best

    def signature(self, article_id: str) -> bytes | None:
        """The stored MinHash of an original article, for persisting the index."""
        fresh = self._fresh.get(article_id)
        if fresh is not None:
            return fresh
        if article_id not in self.lsh_:
            return None
        return _blob(self.lsh_.values[article_id], self.sizes_[article_id])

    def restore(self, canonical_of: dict[str, str], hashes: dict[str, str], signatures: dict[str, bytes],
                times: dict[str, float | None] | None = None, clock: float | None = None) -> None:
        """Rebuild the index from persisted rows (see :meth:`signature`), in arrival order;
        ``times``: each original's date (see :func:`article_time`), ``clock``: the stream's clock
        when they were saved, so the horizon holds what it held then."""
        self.canonical_of_.update(canonical_of)
        for digest, canon in hashes.items():
            self.by_hash_.setdefault(digest, canon)
        if clock is not None and self.horizon_days is not None:
            self.clock_ = clock if self.clock_ is None else max(clock, self.clock_)
        for article_id, blob in signatures.items():
            values = np.frombuffer(blob, dtype="<u8")
            self._admit(article_id, values[:-1].copy(), int(values[-1]), (times or {}).get(article_id))

    def partial_fit(self, articles: Sequence[Article], prepared: Sequence[Sketch] | None = None) -> DedupResult:
        """Assign each article to itself or the earlier article it copies. ``prepared``: the
        articles' sketches from :meth:`preparer`, when they were computed ahead."""
        self._fresh = {}
        if self.lookup is not None:  # everything before this call is stored: ask the store
            self.canonical_of_ = {}
            self.by_hash_ = {}
            hashes = list(dict.fromkeys(a.content_hash for a in articles))
            if hashes:
                self.by_hash_.update(self.lookup(hashes))
        ids, canonical = [], []
        for i, art in enumerate(articles):
            if art.id in self.canonical_of_:
                canon = self.canonical_of_[art.id]
            else:
                when = article_time(art.published, art.fetched_at)
                self._advance(when)
                match = self.by_hash_.get(art.content_hash)
                if match is None:
                    sketch = prepared[i] if prepared is not None else self._sketcher.sketch(art)
                    match = self._near_copy_of(art, sketch, when)
                canon = self.canonical_of_.get(match, match) if match else art.id
                self.canonical_of_[art.id] = canon
                self.by_hash_.setdefault(art.content_hash, canon)
            ids.append(art.id)
            canonical.append(canon)
        return DedupResult(canonical=canonical, _ids=ids)


def article_time(published: datetime | None, fetched_at: datetime | None) -> float | None:
    """An article's date for the horizon (published, else fetched), POSIX seconds; naive is UTC."""
    when = published or fetched_at
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def _blob(values: np.ndarray, size: int) -> bytes:
    return np.append(values.astype("<u8"), size).astype("<u8").tobytes()


def sketch_blob(sketch: Sketch) -> bytes | None:
    """The stored form of a sketch (its values, then its trigram count, as little-endian uint64),
    or None for an article too short to sketch."""
    return None if sketch is None else _blob(*sketch)


__all__ = ["BandIndex", "MinHashDeduplicator", "MinHashSketcher", "article_shingles", "article_time", "shingles",
           "sketch_blob"]
