"""Related stories from the clusterer's own representation of each story.

Every story is kept as the clusterer sees articles (:func:`storyline.cluster.features.represent`):
the unit mean of its reports' dense embeddings (the clusterer's embedder, WordLlama by default)
and the normalized sum of their tf-idf term vectors. Two stories' relatedness is the mean of the
two cosines; stories below :data:`FLOOR` are never shown, so a story with no real neighbour shows
none rather than filler. The vectors are written when a story's summary is refreshed
(``story_vectors``, migration 0012) by the engine (:meth:`storyline.engine.Engine.refresh_stories`:
computed before its transaction, written inside it); only stories within :data:`WINDOW_DAYS` of
each other are compared.

A page never compares vectors: after the engine writes vectors it calls :func:`refresh_pending`,
which compares each changed story with every story in its window and keeps each story's
:data:`KEEP` most related (at or above the floor) in ``story_related`` (migration 0040), updating
the other stories' lists the change touches; :func:`related` reads the story's own rows (an
indexed look-up of at most KEEP rows). A story whose list is owed (``story_vectors.related_at``
differs from its ``updated_at``: a store made before 0040, or an engine stopped between writing
vectors and their lists) is shown by comparing vectors as before until :func:`fill_missing` or
the next refresh computes it.

On the demo corpus the only pair above the floor is the Tellford Bridge ship strike and the Port
Averill dockworkers' walkout (0.403: ships and a port in both); the bridge and the Amber Line's
first train (0.271), or the cup final and the walkout (0.216), stay below it.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from .ingest.dates import shifted
from .cluster.features import represent, sparse_dot
from .forked import shared_pieces
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


ArticleTerms = tuple[np.ndarray | None, dict[str, float]]  # an article's dense vector and terms, as represent gives them


def story_vector(articles: Sequence[Article], embedder: Embedder | None,
                 vectors: Sequence[ArticleTerms] | None = None) -> tuple[np.ndarray | None, dict[str, float]]:
    """(unit dense vector or None, unit term vector) of a story's original reports; ``vectors``:
    the reports' (dense, terms) from :func:`represent` with ``embedder`` and the default IDF
    table, when already known (the clusterer's, kept by the engine from its ingest)."""
    if vectors is None:
        vectors = [(v.dense, v.terms) for v in represent(articles, embedder)]
    dense = None
    rows = [d / (float(np.linalg.norm(d)) or 1.0) for d, _ in vectors if d is not None]
    if rows:
        total = np.sum(rows, axis=0)
        dense = (total / (float(np.linalg.norm(total)) or 1.0)).astype(np.float32)
    terms: dict[str, float] = {}
    for _, article_terms in vectors:
        norm = math.sqrt(sum(x * x for x in article_terms.values())) or 1.0
        for w, x in article_terms.items():
            terms[w] = terms.get(w, 0.0) + x / norm
    top = dict(sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TERMS])
    norm = math.sqrt(sum(x * x for x in top.values())) or 1.0
    return dense, {w: x / norm for w, x in top.items()}


def vector_row(story: Story, embedder: Embedder | None, vectors: Sequence[ArticleTerms] | None = None) -> tuple[Any, ...]:
    """``story``'s ``story_vectors`` row (computed outside any transaction: it embeds, unless
    ``vectors`` gives its articles' (dense, terms): see :func:`story_vector`)."""
    dense, terms = story_vector(story.articles, embedder, vectors)
    last = story.last_seen.isoformat() if story.last_seen else None
    return (story.id, getattr(embedder, "name", "") if dense is not None else "",
            codec.dumps(dense) if dense is not None else "", json.dumps(terms), last,
            datetime.now(UTC).isoformat())  # microseconds: the read cache keys on it


def save_vectors(store: SQLStore, rows: Sequence[tuple[Any, ...]]) -> None:
    """Store :func:`vector_row` rows (inside the caller's transaction). Their related lists are
    then owed: :func:`refresh_pending` computes them, once for many stories."""
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
    dense = codec.loads_flat(row["dense"]) if row["dense"] else None
    return row["embedder"], dense, codec.parse(row["terms"] or "{}")


def relatedness(a: tuple[str, np.ndarray | None, dict[str, float]],
                b: tuple[str, np.ndarray | None, dict[str, float]]) -> float:
    """Mean of the dense cosine (0 when the two were embedded differently) and the term cosine."""
    dense = float(a[1] @ b[1]) if a[1] is not None and b[1] is not None and a[0] == b[0] else 0.0
    return (dense + sparse_dot(a[2], b[2])) / 2.0


_Vector = tuple[str, "np.ndarray | None", dict[str, float]]
_CACHE: dict[tuple[str, str], tuple[str, _Vector]] = {}  # (database, story) -> (updated_at, vector)
_CACHE_SIZE = 100_000


def _vectors(store: SQLStore, keys: list[tuple[str, str]], *, cache: bool = True) -> dict[str, _Vector]:
    """Decoded vectors of ``(story_id, updated_at)`` pairs, from the process cache when current
    (``cache=False``: read and decode without keeping them, for the writer's comparisons, which
    keep their own compact form)."""
    where = str(getattr(store, "where", id(store)))
    out, missing = {}, []
    for story_id, updated in keys:
        hit = _CACHE.get((where, story_id)) if cache else None
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
            if not cache:
                continue
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.clear()
            _CACHE[(where, row["story_id"])] = (row["updated_at"], vector)
    return out


def related(store: SQLStore, story_id: str, *, limit: int = 5, floor: float = FLOOR) -> list[tuple[str, float]]:
    """Other current stories at least ``floor`` related to ``story_id``, most related first: the
    story's precomputed ``story_related`` rows (hidden and emptied stories left out), or, for a
    story whose pairs were never computed, a comparison with the stories in its window."""
    row = store.db.execute("SELECT story_id, updated_at, last_seen, related_at FROM story_vectors WHERE story_id = ?",
                           (story_id,)).fetchone()
    if row is None:
        return []
    if row["related_at"] is not None and row["related_at"] == row["updated_at"]:
        rows = store.db.execute(
            "SELECT r.related_id, r.score FROM story_related r JOIN stories s ON s.id = r.related_id "
            "WHERE r.story_id = ? AND r.score >= ? AND s.size > 0 "
            "AND r.related_id NOT IN (SELECT story_id FROM hidden_stories) "
            "ORDER BY r.score DESC, r.related_id LIMIT ?", (story_id, floor, limit)).fetchall()
        return [(r[0], round(float(r[1]), 4)) for r in rows]
    return related_live(store, story_id, limit=limit, floor=floor)


def related_live(store: SQLStore, story_id: str, *, limit: int = 5, floor: float = FLOOR) -> list[tuple[str, float]]:
    """:func:`related` by comparing ``story_id``'s vector with up to :data:`MAX_CANDIDATES`
    stories of its window now (the reading of a store whose pairs were never computed)."""
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


# -- precomputed pairs (story_related, migration 0040) -------------------------------------------
_VOCAB: dict[str, int] = {}  # term -> column, for the sparse products (grows with the terms seen ...
_VOCAB_MAX = 1_000_000  # ... until a comparison starts with more: then it starts again, with _PACKED)
_PACKED: dict[tuple[str, str], tuple[str, tuple[str, np.ndarray | None, np.ndarray, np.ndarray]]] = {}
_PACKED_SIZE = 50_000  # stories kept packed (about 1.3 KB each): a refresh's windows in time order
_CHUNK = 256  # stories compared at once (a chunk x window score matrix)
FORK_CHUNKS = 8  # chunks of a comparison before forked helpers pay off (a fork costs ~50 ms, a chunk ~60)
_SLICE = 8192  # window columns per float64 dense product (see _add_dense)
PENDING_CHUNK = 5_000  # owed lists computed per transaction, in time order (see refresh_pending)
KEEP = 10  # related stories kept per story (a page shows 5)
_EPOCH = datetime(1970, 1, 1)


def _packed(store: SQLStore, keys: list[tuple[str, str]]) -> dict[str, tuple[str, np.ndarray | None, np.ndarray, np.ndarray]]:
    """(embedder, dense, term columns, term weights) of ``(story_id, updated_at)`` pairs, cached."""
    where = str(getattr(store, "where", id(store)))
    out, missing = {}, []
    for story_id, updated in keys:
        hit = _PACKED.get((where, story_id))
        if hit is not None and hit[0] == updated:
            out[story_id] = hit[1]
        else:
            missing.append((story_id, updated))
    updated_at = dict(missing)
    for story_id, vector in _vectors(store, missing, cache=False).items():
        terms = vector[2]
        ordered = sorted(terms)  # one order for every story in every process (see _compare)
        idx = np.fromiter((_VOCAB.setdefault(w, len(_VOCAB)) for w in ordered), dtype=np.int64, count=len(terms))
        packed = (vector[0], vector[1], idx, np.fromiter((terms[w] for w in ordered), dtype=np.float64, count=len(terms)))
        if len(_PACKED) >= _PACKED_SIZE:
            _PACKED.clear()
        _PACKED[(where, story_id)] = (updated_at[story_id], packed)
        out[story_id] = packed
    return out


def _when(value: str | None) -> float | None:
    """A stored ``last_seen`` as POSIX seconds (naive taken as UTC), None when absent."""
    if not value:
        return None
    dt = datetime.fromisoformat(value)
    offset = dt.utcoffset() or timedelta(0)  # no conversion: a date at the calendar's end stays in range
    return (dt.replace(tzinfo=None) - _EPOCH).total_seconds() - offset.total_seconds()


def _window_rows(store: SQLStore, targets: dict[str, Any]) -> list[Any]:
    """``story_vectors`` (story_id, updated_at, last_seen, related_at) of every story a target can
    be related to: those seen within WINDOW_DAYS of a dated target (an indexed range per run of
    targets, with a margin for stored UTC offsets), the undated ones, and everything when a target
    is undated (an undated story is compared with all, as :func:`related_live` does)."""
    cols = "SELECT story_id, updated_at, last_seen, related_at FROM story_vectors"
    if any(row["last_seen"] is None for row in targets.values()):
        return list(store.db.execute(cols).fetchall())
    # bounds on the stored text as written (local times): two days' margin covers any two UTC
    # offsets, and never converting keeps dates at the calendar's ends in range
    span = timedelta(days=WINDOW_DAYS + 2)
    times = sorted(datetime.fromisoformat(row["last_seen"]).replace(tzinfo=None) for row in targets.values())
    runs: list[list[datetime]] = []
    for t in times:
        lo, hi = shifted(t, -span), shifted(t, span)
        if runs and lo <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], hi)
        else:
            runs.append([lo, hi])
    found: dict[str, Any] = {}
    for lo, hi in runs:
        for row in store.db.execute(f"{cols} WHERE last_seen >= ? AND last_seen <= ?",
                                    (lo.isoformat(), hi.isoformat())):
            found[row[0]] = row
    for row in store.db.execute(f"{cols} WHERE last_seen IS NULL"):
        found[row[0]] = row
    return list(found.values())


def _compare(store: SQLStore, ids: Sequence[str], floor: float, *, entering: bool = True,
             done_soon: frozenset[str] = frozenset(), helpers: int = 0,
             ) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """For each of ``ids`` that has a vector: its own list (the :data:`KEEP` best stories at least
    ``floor`` related to it that belong in its list), and, with ``entering``, for every *other*
    story (not one of ``ids``) the KEEP best of ``ids`` that belong in that story's list. A dated
    story's list holds the stories within WINDOW_DAYS; an undated story's list holds every story
    (as :func:`related_live`), so the two directions differ only for undated stories.

    Only the best KEEP per list are kept as the matrix is walked (ties kept, then cut as
    :func:`_top` cuts), so memory grows with the stories compared, not with the pairs over the
    floor: a 55,793-story store holding every such pair ran out of 24 GB.

    A story whose own list is owed gets no entering list: :func:`refresh` computes that list in
    full on its turn and drops what enters it, and after a long ingest that is every story later
    in the window (about half the stories it holds). Owed means owed as this comparison reads the
    store (:func:`_owes`), except ``done_soon``: stories a writer will have given their lists
    before it merges this comparison (:func:`refresh_pending_ahead`'s chunks in flight).

    The targets are compared :data:`_CHUNK` at a time; from :data:`FORK_CHUNKS` chunks on,
    ``helpers`` forked helpers take chunks too (:func:`~.forked.shared_pieces`), and their
    results are merged in the chunks' order, so the lists are the same."""
    from scipy.sparse import csr_matrix

    targets: dict[str, Any] = {}
    for i in range(0, len(ids), 500):
        chunk = list(ids[i : i + 500])
        for row in store.db.execute(f"SELECT story_id, updated_at, last_seen FROM story_vectors "
                                    f"WHERE story_id IN ({','.join('?' * len(chunk))})", chunk):
            targets[row["story_id"]] = row
    if not targets:
        return {}, {}
    if len(_VOCAB) > _VOCAB_MAX:  # packed vectors index the vocabulary: both start again
        _VOCAB.clear()
        _PACKED.clear()
    universe = _window_rows(store, targets)
    vectors = _packed(store, [(r[0], r[1]) for r in universe])
    universe = [r for r in universe if r[0] in vectors]
    when = {r[0]: _when(r[2]) for r in universe}
    # dated stories in time order (a run of targets compares with a contiguous slice), then undated
    order = sorted(universe, key=lambda r: (when[r[0]] is None, when[r[0]] or 0.0, r[0]))
    names = [r[0] for r in order]
    pos = {sid: k for k, sid in enumerate(names)}
    times = np.array([when[s] if when[s] is not None else np.nan for s in names])
    n_dated = int(np.count_nonzero(~np.isnan(times)))
    indptr, cols_, vals = [0], [], []
    for sid in names:
        cols_.append(vectors[sid][2])
        vals.append(vectors[sid][3])
        indptr.append(indptr[-1] + len(vectors[sid][2]))
    terms = csr_matrix((np.concatenate(vals) if vals else np.zeros(0),
                        np.concatenate(cols_) if cols_ else np.zeros(0, np.int64), np.array(indptr)),
                       shape=(len(names), max(len(_VOCAB), 1)), dtype=np.float64)
    dense: dict[str, np.ndarray] = {}  # embedder -> rows (zero where a story has another or none)
    for k, sid in enumerate(names):
        emb, vec = vectors[sid][0], vectors[sid][1]
        if vec is not None and emb:
            if emb not in dense:
                dense[emb] = np.zeros((len(names), len(vec)), dtype=np.float32)
            if dense[emb].shape[1] == len(vec):
                dense[emb][k] = vec
    window = WINDOW_DAYS * 86400.0
    own: dict[str, dict[str, float]] = {s: {} for s in targets if s in pos}
    into: dict[str, dict[str, float]] = {}
    mine = sorted(pos[s] for s in own)
    is_target = np.zeros(len(names), dtype=bool)
    is_target[mine] = True
    owed = np.fromiter((_owes(r[1], r[3]) and r[0] not in done_soon for r in order), dtype=bool, count=len(order))
    enters = ~is_target & ~owed  # the stories whose lists a target can enter (see above)
    others: tuple[bytes, Any, list[np.ndarray]] | None = None  # the columns' vectors, transposed (the last window's)

    def compare_chunk(k: int) -> tuple[list[tuple[str, str, float]], list[tuple[str, str, float]]]:
        """Chunk ``k`` of the targets: (target, story, score) of its own lists' best, and
        (story, target, score) of the targets that belong in another story's list."""
        nonlocal others
        rows_ = np.array(mine[k * _CHUNK : (k + 1) * _CHUNK])
        row_times = times[rows_]
        if np.isnan(row_times).any():
            cols = np.arange(len(names))
        else:  # the slice of dated stories within the window of this run, then the undated ones
            lo = np.searchsorted(times[:n_dated], np.nanmin(row_times) - window, side="left")
            hi = np.searchsorted(times[:n_dated], np.nanmax(row_times) + window, side="right")
            cols = np.concatenate([np.arange(lo, hi), np.arange(n_dated, len(names))])
        if others is None or others[0] != cols.tobytes():  # chunks of one window share them: made once
            # (the CSR form is the one the product converts the transpose to; the same products)
            others = (cols.tobytes(), terms[cols].T.tocsr(), [matrix[cols].T for matrix in dense.values()])
        score = np.asarray((terms[rows_] @ others[1]).toarray(), dtype=np.float64)
        for matrix, theirs in zip(dense.values(), others[2]):
            _add_dense(score, matrix[rows_], theirs)
        score /= 2.0
        ta, tb = row_times[:, None], times[cols][None, :]
        near = np.abs(ta - tb) <= window  # False when either is undated (NaN)
        a_sees_b = np.isnan(ta) | near  # the target's own list (an undated target sees all)
        b_sees_a = np.isnan(tb) | near
        over = (score >= floor) & (rows_[:, None] != cols[None, :])
        found = [(names[rows_[i]], names[cols[j]], float(score[i, j])) for i, j in _best(score, over & a_sees_b, axis=1)]
        open_ = np.flatnonzero(enters[cols]) if entering else ()  # the window's columns that can be entered
        if not len(open_):
            return found, []
        into_cols, into_score = cols[open_], score[:, open_]  # the targets that belong in other stories' lists
        return found, [(names[into_cols[j]], names[rows_[i]], float(into_score[i, j]))
                       for i, j in _best(into_score, over[:, open_] & b_sees_a[:, open_], axis=0)]

    n_chunks = -(-len(mine) // _CHUNK)
    for found, entered in shared_pieces(n_chunks, compare_chunk, helpers if n_chunks >= FORK_CHUNKS else 0):
        for target, other, value in found:
            own[target][other] = value
        for other, target, value in entered:
            got = into.setdefault(other, {})
            got[target] = value
            if len(got) > 4 * KEEP:
                into[other] = dict(_top(got))
    return ({sid: dict(_top(found)) for sid, found in own.items()},
            {sid: dict(_top(found)) for sid, found in into.items()})


def _add_dense(score: np.ndarray, mine: np.ndarray, theirs: np.ndarray) -> None:
    """``score += mine @ theirs`` for float32 vectors, each product summed in float64 and rounded
    to float32, so two stories get the same score whichever is the row. A float32 product is
    not symmetric: BLAS sums a row's and a column's terms in different orders, and after a long
    ingest about one list in six was recomputed in the writer, because a story's score in
    another's list came back an ulp lower (:func:`refresh`). The float64 copies are made a slice
    of columns at a time, so memory stays bounded when a window is every story."""
    mine = mine.astype(np.float64)
    for lo in range(0, theirs.shape[1], _SLICE):
        part = theirs[:, lo : lo + _SLICE].astype(np.float64)
        score[:, lo : lo + _SLICE] += (mine @ part).astype(np.float32)


def _best(score: np.ndarray, allowed: np.ndarray, axis: int) -> list[tuple[int, int]]:
    """(i, j) of the KEEP highest scores where ``allowed`` holds, in each row (``axis=1``) or
    column (``axis=0``) of a matrix, ties at the cut kept, in row-major order.

    A row or column with at most KEEP allowed pairs keeps them all; one with more keeps those at
    or above its KEEP-th highest allowed score, found by one partition of the matrix (linear in
    the matrix: at newsroom density most pairs of a 14-day window pass the floor, and sorting them
    was most of the lists' time). The pairs not allowed go in below every score, each shifted by
    the same amount, so they stay as distinct as the scores: numpy's partition of rows that are
    mostly one value (-inf, as it was) takes about ten times as long, and in a small store, where
    a list's window is every story, most of a row is not allowed."""
    n = score.shape[axis]
    if n > KEEP and int(allowed.sum(axis=axis).max(initial=0)) > KEEP:
        finite = np.where(np.isfinite(score), score, 0.0)
        below = finite - (float(finite.max() - finite.min()) + 1.0)  # under every allowed score
        masked = np.where(allowed, score, below)
        if axis == 0:
            masked = masked.T.copy()  # partitioned along contiguous rows
        cut = np.partition(masked, n - KEEP, axis=1)[:, n - KEEP]  # each group's KEEP-th highest
        allowed = allowed & (score >= (cut[:, None] if axis == 1 else cut[None, :]))
    i, j = np.nonzero(allowed)
    return list(zip(i.tolist(), j.tolist()))


def _top(scored: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:KEEP]


def _write_lists(store: SQLStore, lists: dict[str, list[tuple[str, float]]]) -> int:
    """Replace the stored lists of these stories (inside the caller's transaction)."""
    ids = list(lists)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        store.db.execute(f"DELETE FROM story_related WHERE story_id IN ({','.join('?' * len(chunk))})", chunk)
    rows = [(sid, other, score) for sid, top in lists.items() for other, score in top]
    for i in range(0, len(rows), 1000):
        store.db.executemany("INSERT INTO story_related (story_id, related_id, score) VALUES (?, ?, ?)",
                             rows[i : i + 1000])
    return len(rows)


def _stored_lists(store: SQLStore, ids: Sequence[str], column: str = "story_id") -> list[Any]:
    out: list[Any] = []
    ids = list(ids)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        out += store.db.execute(f"SELECT story_id, related_id, score FROM story_related "
                                f"WHERE {column} IN ({','.join('?' * len(chunk))})", chunk).fetchall()
    return out


Compared = tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]  # what _compare returns


def refresh(store: SQLStore, story_ids: Sequence[str], *, floor: float = FLOOR, compared: Compared | None = None,
            helpers: int = 0) -> int:
    """Recompute the related lists ``story_related`` after ``story_ids``' vectors changed, inside
    the caller's transaction; returns the rows written.

    Each story keeps its :data:`KEEP` most related stories at or above ``floor`` (a page shows
    five; the rest stand in for stories hidden or emptied later). The changed stories' own lists
    are computed against every story in their window (no candidate cap). Another story's list
    changes only through them: a changed story that now ranks in it is put in; one that was in it
    and fell (or left its window) makes that list be recomputed in full, since its replacement is
    not stored. So every list equals what comparing that story with its window would give.

    The engine calls this (through :func:`refresh_pending`) after writing vectors; the cost grows
    with the stories in the changed stories' windows, not with the store. ``compared``: the
    comparison of ``story_ids`` with their windows, made already (:func:`compare_in_worker`: it
    reads only vectors, which no list changes). ``helpers``: forked helpers for a long
    comparison (:func:`_compare`)."""
    ids = list(dict.fromkeys(story_ids))
    if not ids:
        return 0
    changed = set(ids)
    # entering: other story -> changed stories that belong in its list
    found, entering = _compare(store, ids, floor, helpers=helpers) if compared is None else compared
    own = {sid: _top(found.get(sid, {})) for sid in ids}
    # a story whose own list is still owed gets it computed in full on its turn: nothing to merge now
    referring = _stored_lists(store, ids, "related_id")
    owed = _owed(store, set(entering) | {r[0] for r in referring}) - changed
    entering = {sid: got for sid, got in entering.items() if sid not in owed}
    was_in = {r[0] for r in referring if r[0] not in changed and r[0] not in owed}
    current: dict[str, dict[str, float]] = {}
    for r in _stored_lists(store, sorted(was_in | set(entering))):
        current.setdefault(r[0], {})[r[1]] = float(r[2])
    lists, recompute = dict(own), []
    for other in sorted(was_in | set(entering)):
        cur, new = current.get(other, {}), entering.get(other, {})
        stale = {s: v for s, v in cur.items() if s in changed}
        if len(cur) >= KEEP and any(s not in new or new[s] < v for s, v in stale.items()):
            recompute.append(other)  # one fell out of a full list: what replaces it is not stored
            continue
        merged = {s: v for s, v in cur.items() if s not in changed}
        merged.update(new)
        top = _top(merged)
        if top != _top(cur):
            lists[other] = top
    if recompute:
        again, _ = _compare(store, recompute, floor, entering=False, helpers=helpers)
        lists.update({sid: _top(again.get(sid, {})) for sid in recompute})
    written = _write_lists(store, lists)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        store.db.execute(f"UPDATE story_vectors SET related_at = updated_at "
                         f"WHERE story_id IN ({','.join('?' * len(chunk))})", chunk)
    return written


_OWES = "related_at IS NULL OR related_at <> updated_at"  # a story_vectors row whose list is owed


def _owes(updated_at: str | None, related_at: str | None) -> bool:
    """:data:`_OWES` of one row already read (``_window_rows``' columns)."""
    return related_at is None or related_at != updated_at


def pending(store: SQLStore, limit: int | None = None) -> list[str]:
    """Stories whose related list is owed: their vector changed since it was computed, or it
    never was (a store made before migration 0040). Read from a partial index (migration 0042);
    in time order (undated last), so the first ``limit`` share their windows."""
    sql = (f"SELECT story_id FROM story_vectors WHERE {_OWES} "
           "ORDER BY last_seen IS NULL, last_seen, story_id")
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [r[0] for r in store.db.execute(sql)]


def owed_count(store: SQLStore) -> int:
    """How many stories' related lists are owed (:func:`pending`'s length, counted in its index)."""
    return int(store.db.execute(f"SELECT count(*) FROM story_vectors WHERE {_OWES}").fetchone()[0])


def _owed(store: SQLStore, ids: set[str]) -> set[str]:
    """Those of ``ids`` whose related list is owed (as :func:`pending` has it), looked up by id: a
    chunk asks about the stories it touches, not every owed one (after a 1M ingest, 400k)."""
    out: set[str] = set()
    ordered = sorted(ids)
    for i in range(0, len(ordered), 500):
        chunk = ordered[i : i + 500]
        out.update(r[0] for r in store.db.execute(
            f"SELECT story_id FROM story_vectors WHERE story_id IN ({','.join('?' * len(chunk))}) "
            f"AND ({_OWES})", chunk))
    return out


def refresh_pending(store: SQLStore, limit: int | None = None, helpers: int = 0) -> int:
    """:func:`refresh` the first ``limit`` stories of :func:`pending` (all with None), inside
    the caller's transaction; returns how many there were. The engine calls it with
    :data:`PENDING_CHUNK` in a loop, one transaction each, until none is owed: a chunk of stories close in time is compared with its
    own window, so memory follows the chunk and its window, not the stories owed (all of them,
    after one big ingest). Each list is still what comparing its story with its window gives:
    a later chunk's stories enter an earlier chunk's lists as any changed story does.
    ``helpers``: forked helpers for a long comparison (:func:`_compare`)."""
    ids = pending(store, limit)
    if ids:
        refresh(store, ids, helpers=helpers)
    return len(ids)


def refresh_pending_ahead(store: SQLStore, settings: Any, helpers: int, progress: Callable[[int], None] | None = None) -> int:
    """:func:`refresh_pending` of every owed list, in its chunks and their order, inside one
    transaction each, when more than one chunk is owed (after a long ingest, hundreds of
    thousands): each chunk's comparison with its window, the bulk of the work, runs in
    ``helpers`` processes (spawned: lean, where a fork would carry the writer's heap) while this
    one merges and writes the chunks' lists in order. The same lists: the chunks are those
    :func:`refresh_pending` takes one after the other, and a comparison reads vectors, which no
    list changes, and which stories are owed, told which of those the chunks still in flight
    will have done by its merge. Returns how many lists were computed (0: one chunk or none, left
    to the caller)."""
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    if owed_count(store) <= PENDING_CHUNK:  # counted in the index: a feed poll's few read no ids here
        return 0
    owed = pending(store)
    chunks = deque(owed[i : i + PENDING_CHUNK] for i in range(0, len(owed), PENDING_CHUNK))
    with ProcessPoolExecutor(helpers, mp_context=get_context("spawn"), initializer=start_comparer,
                             initargs=(settings,)) as pool:
        ahead: deque[tuple[list[str], Any]] = deque()
        while chunks or ahead:
            while chunks and len(ahead) <= helpers:  # one compared ahead of the helpers' work
                chunk = chunks.popleft()
                soon = frozenset(s for earlier, _ in ahead for s in earlier)  # written before this one is merged
                ahead.append((chunk, pool.submit(compare_in_worker, chunk, soon)))
            done, compared = ahead.popleft()
            with store.transaction():  # type: ignore[attr-defined]
                refresh(store, done, compared=compared.result())
            if progress:
                progress(len(done))
    return len(owed)


_COMPARER: SQLStore | None = None  # a comparing helper's own connection to the store


def start_comparer(settings: Any) -> None:
    """A helper process that compares owed stories with their windows (:func:`compare_in_worker`)
    for a writer that merges and writes the lists in order (``Engine._refresh_related``, when
    more than one chunk of lists is owed: after a long ingest, hundreds of thousands)."""
    global _COMPARER
    from .pipeline import die_with_parent
    from .store import open_store

    die_with_parent()
    _COMPARER = open_store(settings)


def compare_in_worker(ids: list[str], done_soon: frozenset[str] = frozenset()) -> Compared:
    """:func:`refresh`'s comparison of ``ids`` (one chunk of :func:`pending`), in a helper;
    ``done_soon``: the owed stories whose lists the writer writes before it merges this one."""
    assert _COMPARER is not None
    return _compare(_COMPARER, ids, FLOOR, done_soon=done_soon)


def refresh_all_pending(store: SQLStore, *, settings: Any = None, helpers: int = 0,
                        progress: Callable[[int], None] | None = None) -> int:
    """Every owed list, :data:`PENDING_CHUNK` stories per transaction (:func:`refresh_pending`)
    until none is owed; with ``helpers`` (and the ``settings`` they open the store with), the
    chunks' comparisons in helper processes when more than one chunk is owed
    (:func:`refresh_pending_ahead`), and one chunk's shared with ``helpers - 1`` forked helpers
    (this process compares too). ``progress`` counts the lists; returns how many."""
    done = refresh_pending_ahead(store, settings, helpers, progress) if helpers > 0 else 0
    while True:
        with store.transaction():  # type: ignore[attr-defined]
            n = refresh_pending(store, PENDING_CHUNK, max(helpers - 1, 0))
        done += n
        if progress:
            progress(n)
        if n < PENDING_CHUNK:
            return done


def fill_missing(store: SQLStore) -> int:
    """:func:`refresh_all_pending` as the one writer (a maintenance step: e.g. a store made
    before migration 0040); returns how many stories it did."""
    with store.writer("storyline related lists"):  # type: ignore[attr-defined]
        return refresh_all_pending(store)

__all__ = ["FLOOR", "KEEP", "PENDING_CHUNK", "WINDOW_DAYS", "compare_in_worker", "embedder_for", "fill_missing", "owed_count", "pending", "refresh", "refresh_all_pending", "refresh_pending", "refresh_pending_ahead", "related",
           "related_live", "relatedness", "remember", "save_vectors", "start_comparer", "story_vector", "vector_row"]
