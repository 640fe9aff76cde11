"""PostgreSQL versions of the read queries that SQLite answers with FTS5 (search, related
stories) and of the database's change counter. :mod:`storyline.store.queries` calls these when
``store.dialect == "postgresql"``; every other query runs unchanged on both (PostgreSQL gets
``julianday``, two-argument ``max`` and ``sum(boolean)`` from migration 0004).

Full-text search uses the stored column ``articles.search`` of migration 0004 (title weighted A,
text D; GIN-indexed; since 0063 the text's first 150,000 characters, so it stays under a
tsvector's 1 MB); ranking is ``ts_rank`` with the title weighted 4:1 as FTS5's
``bm25(4.0, 1.0)`` does, and snippets come from ``ts_headline`` with the same private-use marks.
"""
from __future__ import annotations

import re
from typing import Any, Sequence

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_MAX_TERMS = 12
_DOC = "a.search"  # migration 0004: setweight(title, 'A') || setweight(text, 'D'), GIN-indexed
_RANK = "ts_rank('{0.25, 0.4, 0.7, 1.0}', a.search, q)"  # text (D) : title (A) = 1 : 4


def ts_query(text: str, *, prefix_last: bool = True, any_term: bool = False) -> str:
    """A safe ``to_tsquery('simple', ...)`` expression for user text: words only, no operators."""
    words = [w.lower() for w in _TOKEN.findall(text)[:_MAX_TERMS]]
    if not words:
        return ""
    parts = [w.replace("'", "") for w in words]
    if prefix_last and not any_term and len(words[-1]) >= 3:
        parts[-1] += ":*"
    return (" | " if any_term else " & ").join(parts)


def _newest_cut(store: Any, query: str, filters: tuple[str, Sequence[Any]], ranked: int) -> int:
    """The least ``seq`` of the newest ``ranked`` matches (0 when fewer match): as on SQLite,
    only they are ranked, so a common word's ranking costs the same at any size."""
    extra, params = filters
    row = store.db.execute(f"SELECT a.seq FROM articles a, to_tsquery('simple', ?) q WHERE {_DOC} @@ q{extra} "
                           "ORDER BY a.seq DESC LIMIT 1 OFFSET ?", (query, *params, ranked - 1)).fetchone()
    return 0 if row is None else int(row[0])


def _headline_options(start: str, end: str) -> str:
    return f"StartSel={start}, StopSel={end}, MaxWords=16, MinWords=8, FragmentDelimiter=…, MaxFragments=1"


def _match_count(store: Any, query: str, filters: tuple[str, Sequence[Any]]) -> int:
    """How many articles match ``query`` (a ``to_tsquery`` string) and ``filters``."""
    extra, params = filters
    return int(store.db.execute(f"SELECT count(*) FROM articles a, to_tsquery('simple', ?) q WHERE {_DOC} @@ q{extra}",
                                (query, *params)).fetchone()[0])


def ranked_window(newest: Sequence[Sequence[Any]]) -> tuple[list[Any], list[tuple[str, float]]]:
    """A search window's ``(seq, story id, score)`` rows best first (then oldest, as the list
    queries order them), and its stories by their best row (best first, then id): both
    backends' one-ranking search (:func:`search`, ``queries.search``)."""
    ranked = sorted(newest, key=lambda r: (-r[2], r[0]))
    best: dict[str, float] = {}
    for _, story_id, score in ranked:
        best[story_id] = max(best.get(story_id, score), float(score))
    return ranked, sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))


def search(store: Any, text: str, start: str, end: str, *, limit: int, offset: int,
           filters: tuple[str, Sequence[Any]] = ("", ()), ranked: int = 5000,
           ) -> tuple[list[tuple[str, float]], int, list[dict[str, Any]], int]:
    """A search's page, as :func:`search_stories` and :func:`search_articles` give it, from one
    ranking of the newest ``ranked`` matches (as on SQLite): stories by their best article, the
    articles best first, then older matches newest first; snippets for the page's articles only.
    Ranking them once for both lists, and reading every match in two passes fewer (no separate
    look for where the window starts, no second ordering of them all for the articles list),
    halves a common word's search at 100k articles (docs/scale.md, session 37)."""
    query = ts_query(text)
    if not query:
        return [], 0, [], 0
    extra, params = filters
    newest = store.db.execute(
        f"SELECT a.seq, a.story_id, {_RANK} FROM (SELECT a.seq, a.story_id, a.search FROM articles a, "
        f"to_tsquery('simple', ?) q WHERE {_DOC} @@ q{extra} ORDER BY a.seq DESC LIMIT ?) a, to_tsquery('simple', ?) q",
        (query, *params, ranked, query)).fetchall()
    order, stories = ranked_window(newest)
    page = [int(r[0]) for r in order[offset : offset + limit]]
    full = len(newest) == ranked  # older matches may follow
    if full and len(page) < limit:  # past the ranked ones: older matches, newest first
        cut = int(newest[-1][0])  # the window is the newest matches, newest first
        page += [int(r[0]) for r in store.db.execute(
            f"SELECT a.seq FROM articles a, to_tsquery('simple', ?) q WHERE {_DOC} @@ q{extra} AND a.seq < ? "
            "ORDER BY a.seq DESC LIMIT ? OFFSET ?", (query, *params, cut, limit - len(page), max(0, offset - len(order))))]
    rows: dict[int, dict[str, Any]] = {}
    if page:
        marks = ", ".join("?" * len(page))
        rows = {int(r["seq"]): dict(r) for r in store.db.execute(
            "SELECT a.seq, a.id, a.title, a.source, a.url, a.published, a.story_id, a.canonical_id, "
            f"ts_headline('simple', a.text, q, ?) AS snippet FROM articles a, to_tsquery('simple', ?) q WHERE a.seq IN ({marks})",
            (_headline_options(start, end), query, *page))}
    total = _match_count(store, query, filters) if full else len(newest)
    return stories[offset : offset + limit], len(stories), [rows[q] for q in page if q in rows], total


def search_articles(store: Any, text: str, start: str, end: str, *, limit: int, offset: int,
                    filters: tuple[str, Sequence[Any]] = ("", ()), ranked: int = 5000) -> tuple[list[Any], int]:
    """``filters``: extra ``AND ...`` clauses on ``articles a`` and their parameters. The newest
    ``ranked`` matches first, best first, then older ones newest first."""
    query = ts_query(text)
    if not query:
        return [], 0
    extra, params = filters
    cut = _newest_cut(store, query, filters, ranked)
    rows = store.db.execute(
        "SELECT a.id, a.title, a.source, a.url, a.published, a.story_id, a.canonical_id, "
        "ts_headline('simple', a.text, q, ?) AS snippet "
        f"FROM articles a, to_tsquery('simple', ?) q WHERE {_DOC} @@ q{extra} "
        f"ORDER BY a.seq < ?, CASE WHEN a.seq >= ? THEN {_RANK} END DESC, "
        "CASE WHEN a.seq >= ? THEN a.seq ELSE -a.seq END LIMIT ? OFFSET ?",
        (_headline_options(start, end), query, *params, cut, cut, cut, limit, offset),
    ).fetchall()
    return rows, _match_count(store, query, filters)


def search_stories(store: Any, text: str, *, limit: int, offset: int,
                   filters: tuple[str, Sequence[Any]] = ("", ()), ranked: int = 5000) -> tuple[list[tuple[str, float]], int]:
    """The stories of the newest ``ranked`` matches, each by its best."""
    query = ts_query(text)
    if not query:
        return [], 0
    extra, params = filters
    rows = store.db.execute(
        f"SELECT story_id, max({_RANK}) AS best FROM (SELECT a.story_id, a.search "
        f"FROM articles a, to_tsquery('simple', ?) q WHERE {_DOC} @@ q{extra} ORDER BY a.seq DESC LIMIT ?) a, "
        "to_tsquery('simple', ?) q GROUP BY story_id ORDER BY best DESC, story_id", (query, *params, ranked, query),
    ).fetchall()
    found = [(r[0], float(r[1])) for r in rows]
    return found[offset : offset + limit], len(found)


def related_stories(store: Any, story_id: str, terms: Sequence[str], *, limit: int) -> list[tuple[str, float]]:
    query = ts_query(" ".join(terms), prefix_last=False, any_term=True)
    if not query:
        return []
    rows = store.db.execute(
        f"SELECT story_id, sum(score) AS total FROM (SELECT a.story_id, {_RANK} AS score "
        f"FROM articles a, to_tsquery('simple', ?) q WHERE {_DOC} @@ q AND a.story_id <> ? "
        "AND a.canonical_id = a.id ORDER BY score DESC LIMIT 500) hits "
        "GROUP BY story_id ORDER BY total DESC, story_id LIMIT ?", (query, story_id, limit),
    ).fetchall()
    return [(r[0], float(r[1])) for r in rows]


def data_version(store: Any) -> int:
    """Moves whenever any session commits a change to what pages show: the count of
    ``storyline_changed`` notifications (migration 0004's triggers) this connection has received.
    Checking is a poll of the connection's socket, not a query."""
    conn = store.conn
    counter = getattr(store, "_changes", None)
    if counter is None:
        counter = store._changes = [0]
        store.db.execute("LISTEN storyline_changed")
    for _ in conn.notifies(timeout=0):  # also those that arrived during other queries (psycopg >= 3.2)
        counter[0] += 1
    return int(counter[0])


__all__ = ["data_version", "ranked_window", "related_stories", "search", "search_articles", "search_stories", "ts_query"]
