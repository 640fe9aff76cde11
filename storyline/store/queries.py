"""Read-only queries for the web interface: ranked story lists, search, outlets, related stories.

Every function takes a :class:`~storyline.store.sqlite.SQLiteStore` and only reads. Story rows
carry the stored (computed) headline; the story view-model (:mod:`storyline.view`) applies an
editor's pin through the one pinned-headline rule (:func:`storyline.store.editorial.shown_headline`).
"""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..ingest.dates import parse_date, shifted
from . import queries_pg

if TYPE_CHECKING:
    from .sqlite import SQLiteStore

_FTS_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_MAX_QUERY_TERMS = 12
SNIPPET_START, SNIPPET_END = "\ue000", "\ue001"  # private-use marks, replaced after escaping

# Breadth (independent outlets count most, reprints least) over a freshness decay of one day.
# "(SELECT julianday(:ref))": computed once a query (PostgreSQL would call it for every row of a
# prepared statement's generic plan). On PostgreSQL the story's own day is kept in a column
# (migration 0064), since parsing it there costs microseconds a row.
_SCORE = ("(2.0 * s.outlets + s.size + 0.5 * s.duplicates) / "
          "(1.0 + max(0.0, (SELECT julianday(:ref)) - {seen}))")
_SEEN_DAY = {"sqlite": "julianday(coalesce(s.last_seen, :ref))",
             "postgresql": "CASE WHEN s.last_seen IS NULL THEN (SELECT julianday(:ref)) ELSE s.last_seen_day END"}
# Outlets count every outlet that carried the story, reprinting outlets included, so the count
# agrees with the list of outlets a story shows (the stored ``stories.outlets`` counts originals only).
_CARD_COLUMNS = ("s.id, s.headline, s.summary, "
                 "s.size, s.duplicates, (SELECT count(DISTINCT a.source) FROM articles a WHERE a.story_id = s.id "
                 "AND a.source <> '') AS outlets, s.first_seen, s.last_seen, s.updated_at")


# stories an editor hid (migration 0014) stay out of every list, search, feed and related list
_VISIBLE_ARTICLE = " AND a.story_id NOT IN (SELECT story_id FROM hidden_stories)"

# full-text search on SQLite: the matching articles, their rank (title weighted 4:1) and snippet
_FTS_MATCH = "FROM articles_fts JOIN articles a ON a.seq = articles_fts.rowid WHERE articles_fts MATCH ? "
_BM25 = "bm25(articles_fts, 4.0, 1.0)"
_SNIPPET_OF = f"snippet(articles_fts, 1, '{SNIPPET_START}', '{SNIPPET_END}', '…', 16)"
_SNIPPET = f"{_SNIPPET_OF} AS snippet"


@dataclass(frozen=True, slots=True)
class StoryFilter:
    """Front-page filters: stories seen since ``since`` (ISO time), by ``outlet``, in ``language``,
    covered by one of ``sources`` (the outlet names a registry filter selects)."""

    since: str | None = None
    outlet: str | None = None
    language: str | None = None
    sources: tuple[str, ...] | None = None  # only stories covered by one of these outlet names


def fts_query(text: str, *, prefix_last: bool = True, any_term: bool = False) -> str:
    """A safe FTS5 MATCH expression for user text: words quoted, operators impossible.

    Returns an empty string when ``text`` has no words (callers then return no results).
    """
    words = _FTS_TOKEN.findall(text)[:_MAX_QUERY_TERMS]
    if not words:
        return ""
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    if prefix_last and not any_term and len(words[-1]) >= 3:
        quoted[-1] += "*"
    return (" OR " if any_term else " ").join(quoted)


def latest_time(store: SQLiteStore) -> str | None:
    """The newest ``last_seen`` of any story: the "now" of the stored coverage."""
    row = store.db.execute("SELECT max(last_seen) FROM stories").fetchone()
    return row[0] if row and row[0] else None


def since_for(store: SQLiteStore, hours: float) -> str | None:
    """ISO time ``hours`` before the newest coverage (so archives filter like live data)."""
    ref = parse_date(latest_time(store))
    return (ref - timedelta(hours=hours)).isoformat() if isinstance(ref, datetime) else None


def _filter_sql(flt: StoryFilter, *, live: str = "s.size > 0") -> tuple[str, dict[str, Any]]:
    clauses, params = [live, "s.id NOT IN (SELECT story_id FROM hidden_stories)"], {}
    if flt.since:
        clauses.append("julianday(s.last_seen) >= julianday(:since)")
        params["since"] = flt.since
    if flt.outlet:
        clauses.append("s.id IN (SELECT story_id FROM articles WHERE source = :outlet)")
        params["outlet"] = flt.outlet
    if flt.language:
        clauses.append("s.id IN (SELECT story_id FROM articles WHERE language = :language)")
        params["language"] = flt.language
    if flt.sources is not None:
        names = {f"src{i}": name for i, name in enumerate(flt.sources)}
        marks = ", ".join(f":{k}" for k in names) or "NULL"
        clauses.append(f"s.id IN (SELECT story_id FROM articles WHERE source IN ({marks}))")
        params.update(names)
    return " AND ".join(clauses), params


_BREADTH_S = "(2.0 * s.outlets + s.size + 0.5 * s.duplicates)"  # the score's numerator; migration 0041 indexes it
_RANK_ORDER = "ORDER BY score DESC, s.last_seen DESC, s.id"
_MAX_DAYS = 4096.0  # past this window the ranking reads every matching story


def _ranked_ids(store: SQLiteStore, where: str, params: dict[str, Any], want: int) -> list[Any]:
    """The first ``want`` (id, score) rows of the ranking, scoring only the stories that can be
    among them: those seen within ``days`` of the newest coverage (and the undated, which count
    as fresh), and the older stories broad enough to beat the ``want``-th of those. A story last
    seen more than ``days`` before scores at most its breadth / (1 + days), so an older story whose
    breadth is at most the ``want``-th score x (1 + days) cannot enter (on a tie, the older
    loses). The first from an indexed range on ``last_seen`` (a day, widened fourfold until it
    holds ``want`` stories), the second from the breadth index, top down."""
    score = _SCORE.format(seen=_SEEN_DAY[store.dialect])
    sql = f"SELECT s.id, {score} AS score FROM stories s WHERE {where}{{extra}} {_RANK_ORDER} LIMIT :want"
    ref = parse_date(params["ref"])
    plus = "+" if store.dialect == "sqlite" else ""  # SQLite: range over the breadth index, not last_seen
    # PostgreSQL: the breadth is NUMERIC; against a float parameter it would be cast per row and
    # the breadth index not used (a scan of every story: 50-60 ms at 100k articles)
    bar = ":bar" if store.dialect == "sqlite" else "CAST(:bar AS NUMERIC)"
    days = 1.0
    while isinstance(ref, datetime) and days < _MAX_DAYS:
        lo = shifted(ref, -timedelta(days=days + 1)).isoformat()  # a day's margin for stored UTC offsets
        rows = store.db.execute(sql.format(extra=" AND (s.last_seen >= :lo OR s.last_seen IS NULL)"),
                                {**params, "lo": lo, "want": want}).fetchall()
        if len(rows) < want:
            days *= 4
            continue
        broad = [r[0] for r in store.db.execute(
            f"SELECT s.id FROM stories s WHERE {where} AND {plus}s.last_seen < :lo AND {_BREADTH_S} > {bar}",
            {**params, "lo": lo, "bar": float(rows[-1]["score"]) * (1.0 + days)}).fetchall()]
        if not broad:
            return list(rows)
        ids = [r[0] for r in rows] + broad
        marks = ", ".join(f":id{i}" for i in range(len(ids)))
        return list(store.db.execute(sql.format(extra=f" AND s.id IN ({marks})"),
                                     {**params, "want": want, **{f"id{i}": v for i, v in enumerate(ids)}}).fetchall())
    return list(store.db.execute(sql.format(extra=""), {**params, "want": want}).fetchall())


def ranked_stories(store: SQLiteStore, flt: StoryFilter = StoryFilter(), *, limit: int = 20,
                   offset: int = 0) -> tuple[list[sqlite3.Row], int]:
    """Stories ranked by breadth and freshness of coverage, and how many match ``flt``. Scores
    only the stories that can reach the page (:func:`_ranked_ids`), then reads those cards."""
    where, params = _filter_sql(flt)
    params.update(ref=latest_time(store) or "1970-01-01")
    # "+s.size": not the size index (that is for the count); the ranking ranges on last_seen and breadth
    ids = [r[0] for r in _ranked_ids(store, _filter_sql(flt, live="+s.size > 0")[0], params, offset + limit)[offset:]]
    cards = story_cards(store, ids)
    rows = [cards[sid] for sid in ids if sid in cards]
    return rows, _count_stories(store, where, params)


_MEMO: dict[tuple[int, int, int, str], Any] = {}  # (store, data version, own writes, question) -> answer


def _memo(store: SQLiteStore, question: str, answer: Any) -> Any:
    """``answer()``, remembered until the database changes (:func:`data_version`): the front
    page's count and choices are asked again by every page between two writes."""
    # data_version moves on other connections' commits; total_changes on this connection's writes
    key = (id(store), data_version(store), int(getattr(store.db, "total_changes", 0)), question)
    if key not in _MEMO:
        if len(_MEMO) > 256:
            _MEMO.clear()
        _MEMO[key] = answer()
    return _MEMO[key]


def _count_stories(store: SQLiteStore, where: str, params: dict[str, Any]) -> int:
    """How many stories match (an index count, O(stories) entries), remembered until the database
    changes, so pages between two writes do not count again."""
    question = where + repr(sorted((k, v) for k, v in params.items() if k not in ("ref", "limit", "offset")))
    return int(_memo(store, question, lambda: store.db.execute(
        f"SELECT count(*) FROM stories s WHERE {where}", params).fetchone()[0]))


def story_cards(store: SQLiteStore, ids: Sequence[str]) -> dict[str, sqlite3.Row]:
    """Story rows (as in :func:`ranked_stories`) for ``ids``, keyed by id."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = store.db.execute(
        f"SELECT {_CARD_COLUMNS} FROM stories s "
        f"WHERE s.id IN ({marks})", list(ids),
    ).fetchall()
    return {r["id"]: r for r in rows}


def story_articles(store: SQLiteStore, story_id: str) -> list[sqlite3.Row]:
    """Every article of a story (originals and reprints), oldest first."""
    return store.db.execute(
        "SELECT id, url, source, title, text, published, language, canonical_id, content_hash FROM articles "
        "WHERE story_id = ? ORDER BY coalesce(julianday(published), 1e9), seq", (story_id,),
    ).fetchall()


SEEN_SQL = "coalesce(published, fetched_at, added_at)"  # when a report was first seen (see docs/web.md)


def story_reports(store: SQLiteStore, story_id: str) -> list[sqlite3.Row]:
    """Every article of a story with its full text and ``seen`` time (originals and reprints),
    earliest seen first."""
    return store.db.execute(
        f"SELECT *, {SEEN_SQL} AS seen FROM articles WHERE story_id = ? "
        f"ORDER BY coalesce(julianday({SEEN_SQL}), 1e9), seq", (story_id,),
    ).fetchall()


def _seen_margin(when: str, days: float) -> str:
    """``when`` moved by ``days`` as an ISO string, for a range on the indexed ``SEEN_SQL`` text
    (migration 0041) that a stored UTC offset cannot push a matching row out of; the exact
    comparison is still made with ``julianday``. Unparsable input gives the open end."""
    found = parse_date(when)
    if not isinstance(found, datetime):
        return "" if days < 0 else "\uffff"
    return shifted(found, timedelta(days=days)).isoformat()


def stories_moved_since(store: SQLiteStore, since: str) -> list[str]:
    """Ids of stories with a report first seen after ``since`` (ISO time), latest news first
    (reads the reports seen since then, by index)."""
    rows = store.db.execute(
        f"SELECT story_id, max(julianday({SEEN_SQL})) AS latest FROM articles "
        f"WHERE {SEEN_SQL} >= ? AND julianday({SEEN_SQL}) > julianday(?) "
        "GROUP BY story_id ORDER BY latest DESC, story_id", (_seen_margin(since, -1), since),
    ).fetchall()
    return [r[0] for r in rows]


def sources_active_between(store: SQLiteStore, start: str, end: str) -> list[str]:
    """Outlet names with an article first seen between ``start`` and ``end`` (ISO times): reads
    the index entries of that window, not the articles."""
    return [r[0] for r in store.db.execute(
        f"SELECT DISTINCT source FROM articles WHERE {SEEN_SQL} BETWEEN ? AND ? AND source <> '' "
        f"AND julianday({SEEN_SQL}) BETWEEN julianday(?) AND julianday(?) ORDER BY source",
        (_seen_margin(start, -1), _seen_margin(end, 1), start, end))]


def merged_into(store: SQLiteStore, story_id: str) -> list[sqlite3.Row]:
    """Stories merged into ``story_id`` (its history), oldest first."""
    return store.db.execute(
        "SELECT old_id, merged_at, reason FROM story_merges WHERE new_id = ? ORDER BY merged_at, old_id",
        (story_id,),
    ).fetchall()


def merge_target(store: SQLiteStore, story_id: str) -> str | None:
    """Where a merged-away story id now lives, or None when the id was never merged."""
    row = store.db.execute("SELECT 1 FROM story_merges WHERE old_id = ?", (story_id,)).fetchone()
    return store.resolve_story_id(story_id) if row else None


def related_stories(store: SQLiteStore, story_id: str, terms: Sequence[str], *, limit: int = 5) -> list[tuple[str, float]]:
    """Other stories whose articles best match ``terms`` (FTS5 bm25, summed per story)."""
    if store.dialect == "postgresql":
        return queries_pg.related_stories(store, story_id, terms, limit=limit)
    query = fts_query(" ".join(terms), prefix_last=False, any_term=True)
    if not query:
        return []
    rows = store.db.execute(
        f"SELECT story_id, sum(score) AS total FROM (SELECT a.story_id, -bm25(articles_fts) AS score {_FTS_MATCH}"
        "AND a.story_id <> ? AND a.canonical_id = a.id ORDER BY bm25(articles_fts) LIMIT 500) "
        "GROUP BY story_id ORDER BY total DESC, story_id LIMIT ?",
        (query, story_id, limit),
    ).fetchall()
    return [(r[0], float(r[1])) for r in rows]


def _article_filter(outlet: str | None, since: str | None) -> tuple[str, list[Any]]:
    """Extra WHERE clauses on ``articles a`` for search: one outlet, first seen at or after ``since``."""
    sql, params = "", []
    if outlet:
        sql += " AND a.source = ?"
        params.append(outlet)
    if since:
        sql += " AND julianday(coalesce(a.published, a.fetched_at, a.added_at)) >= julianday(?)"
        params.append(since)
    return sql, params


def _visible_filter(outlet: str | None, since: str | None) -> tuple[str, list[Any]]:
    """:func:`_article_filter` plus the hidden-story exclusion, for the PostgreSQL search."""
    extra, params = _article_filter(outlet, since)
    return extra + _VISIBLE_ARTICLE, params


def search_articles(store: SQLiteStore, text: str, *, limit: int = 20, offset: int = 0, outlet: str | None = None,
                    since: str | None = None) -> tuple[list[sqlite3.Row], int]:
    """Articles matching ``text`` with a marked snippet, and the number of matches; optionally
    only ``outlet``'s, first seen at or after ``since`` (ISO time). On SQLite the newest
    ``SEARCH_RANKED`` matches come first, best first (:func:`_newest_cut`), then older ones,
    newest first."""
    if store.dialect == "postgresql":
        return queries_pg.search_articles(store, text, SNIPPET_START, SNIPPET_END, limit=limit, offset=offset,
                                          filters=_visible_filter(outlet, since), ranked=SEARCH_RANKED)
    query = fts_query(text)
    if not query:
        return [], 0
    extra, params = _article_filter(outlet, since)
    try:
        cut = _newest_cut(store, query, extra, params) or 0
        rows = store.db.execute(
            f"SELECT a.id, a.title, a.source, a.url, a.published, a.story_id, a.canonical_id, {_SNIPPET} "
            f"{_FTS_MATCH}{extra}{_VISIBLE_ARTICLE} ORDER BY a.seq < ?, CASE WHEN a.seq >= ? THEN {_BM25} END, "
            "CASE WHEN a.seq >= ? THEN a.seq ELSE -a.seq END LIMIT ? OFFSET ?",
            (query, *params, cut, cut, cut, limit, offset),
        ).fetchall()
        total = _match_count(store, query, extra, params)
    except sqlite3.OperationalError:
        return [], 0
    return rows, total


SEARCH_RANKED = 5000  # the newest matches a search ranks by relevance (stories, first articles)


def _newest_cut(store: SQLiteStore, query: str, extra: str, params: list[Any]) -> int | None:
    """Where the newest ``SEARCH_RANKED`` visible articles matching ``query`` (and the filters
    ``extra``) begin: the least ``seq`` among them, or None when fewer match (then all are
    ranked). Ranking every match made a common word's search cost what the store holds (at 1M
    articles "president" matched 410,031 and took 1.9 s); the newest are found walking the
    full-text index backwards, so the ranking's cost is bounded."""
    row = store.db.execute(f"SELECT a.seq {_FTS_MATCH}{extra}{_VISIBLE_ARTICLE} ORDER BY articles_fts.rowid DESC "
                           "LIMIT 1 OFFSET ?", (query, *params, SEARCH_RANKED - 1)).fetchone()
    return None if row is None else int(row[0])


def _match_count(store: SQLiteStore, query: str, extra: str, params: list[Any]) -> int:
    """How many visible articles match: without filters counted on the full-text index alone,
    less the hidden stories' matches (joining every match to its article row costs 10x more)."""
    if extra:
        return int(store.db.execute(f"SELECT count(*) {_FTS_MATCH}{extra}{_VISIBLE_ARTICLE}", (query, *params)).fetchone()[0])
    every = store.db.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", (query,)).fetchone()[0]
    hidden = store.db.execute(
        "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ? AND rowid IN "
        "(SELECT seq FROM articles WHERE story_id IN (SELECT story_id FROM hidden_stories))", (query,)).fetchone()[0]
    return int(every) - int(hidden)


def _page_rows(store: SQLiteStore, query: str, seqs: list[int]) -> dict[int, dict[str, Any]]:
    """The page's articles (by ``seq``) with their snippets, in one pass over the matches between
    the page's first and last ``seq``. A look-up per article (``rowid = ?`` or ``IN``) runs the
    match again for each: with the last word a prefix ("president*" gathers every word starting
    so), 30 ms each at 1M articles."""
    if not seqs:
        return {}
    marks, page = ", ".join("?" * len(seqs)), set(seqs)
    snippets = {r[0]: r[1] for r in store.db.execute(
        f"SELECT rowid, CASE WHEN rowid IN ({marks}) THEN {_SNIPPET_OF} END FROM articles_fts "
        "WHERE articles_fts MATCH ? AND rowid BETWEEN ? AND ?", (*seqs, query, min(seqs), max(seqs))) if r[0] in page}
    return {r["seq"]: {**dict(r), "snippet": snippets[r["seq"]]} for r in store.db.execute(
        "SELECT a.seq, a.id, a.title, a.source, a.url, a.published, a.story_id, a.canonical_id FROM articles a "
        f"WHERE a.seq IN ({marks})", seqs) if r["seq"] in snippets}


def search(store: SQLiteStore, text: str, *, limit: int = 20, offset: int = 0, outlet: str | None = None,
           since: str | None = None) -> tuple[list[tuple[str, float]], int, list[Any], int]:
    """A search's page: ``(story id, relevance)`` and the stories' total as :func:`search_stories`
    gives them, then the articles and their total as :func:`search_articles` gives them.

    On SQLite the newest ``SEARCH_RANKED`` matches (:func:`_newest_cut`) are read in one pass
    backwards over the full-text index, ranked by bm25, and serve both lists (stories by their
    best article); articles past them follow newest first, and snippets are made for the page's
    articles only (docs/scale.md: "president" at 1M articles, 1,913 -> 163 ms). PostgreSQL does
    the same in :func:`.queries_pg.search`.
    """
    if store.dialect == "postgresql":
        return queries_pg.search(store, text, SNIPPET_START, SNIPPET_END, limit=limit, offset=offset,
                                 filters=_visible_filter(outlet, since), ranked=SEARCH_RANKED)
    query = fts_query(text)
    if not query:
        return [], 0, [], 0
    extra, params = _article_filter(outlet, since)
    matched = f"{_FTS_MATCH}{extra}{_VISIBLE_ARTICLE}"
    try:
        newest = store.db.execute(  # the newest matches, walking the index backwards (_newest_cut)
            f"SELECT a.seq, a.story_id, -{_BM25} {matched} ORDER BY articles_fts.rowid DESC LIMIT ?",
            (query, *params, SEARCH_RANKED)).fetchall()
        cut = int(newest[-1][0]) if len(newest) == SEARCH_RANKED else None  # older ones may match too
        ranked, stories = queries_pg.ranked_window(newest)
        page_seqs = [r[0] for r in ranked[offset : offset + limit]]
        if cut is not None and len(page_seqs) < limit:  # past the ranked ones: older matches, newest first
            page_seqs += [r[0] for r in store.db.execute(
                f"SELECT a.seq {matched} AND articles_fts.rowid < ? ORDER BY articles_fts.rowid DESC LIMIT ? OFFSET ?",
                (query, *params, cut, limit - len(page_seqs), max(0, offset - len(ranked))))]
        total_articles = len(ranked) if cut is None else _match_count(store, query, extra, params)
        by_seq = _page_rows(store, query, page_seqs)
    except sqlite3.OperationalError:
        return [], 0, [], 0
    return stories[offset : offset + limit], len(stories), [by_seq[q] for q in page_seqs if q in by_seq], total_articles


def search_stories(store: SQLiteStore, text: str, *, limit: int = 20, offset: int = 0, outlet: str | None = None,
                   since: str | None = None) -> tuple[list[tuple[str, float]], int]:
    """(story id, relevance) of stories whose articles match ``text``, best first, and the total
    (the articles optionally only ``outlet``'s, first seen at or after ``since``). On SQLite the
    stories of the newest ``SEARCH_RANKED`` matches (:func:`_newest_cut`), each by its best."""
    if store.dialect == "postgresql":
        return queries_pg.search_stories(store, text, limit=limit, offset=offset,
                                         filters=_visible_filter(outlet, since), ranked=SEARCH_RANKED)
    query = fts_query(text)
    if not query:
        return [], 0
    extra, params = _article_filter(outlet, since)
    try:
        rows = store.db.execute(
            f"SELECT story_id, max(score) AS best FROM (SELECT a.story_id, -{_BM25} AS score {_FTS_MATCH}"
            f"{extra}{_VISIBLE_ARTICLE} AND a.seq >= ? ORDER BY {_BM25}, a.seq LIMIT ?) GROUP BY story_id "
            "ORDER BY best DESC, story_id", (query, *params, _newest_cut(store, query, extra, params) or 0, SEARCH_RANKED),
        ).fetchall()
    except sqlite3.OperationalError:
        return [], 0
    found = [(r[0], float(r[1])) for r in rows]
    return found[offset : offset + limit], len(found)


def outlets(store: SQLiteStore, name: str | None = None) -> list[sqlite3.Row]:
    """Every outlet (or the one called ``name``) with its article, original and reprint counts and
    latest article time, most original reports first: one ``outlet_counts`` row each (migration
    0060, kept as articles are stored and removed), not a pass over the articles."""
    where, params = ("AND source = ?", (name,)) if name is not None else ("", ())
    return store.db.execute(
        "SELECT source AS name, articles, originals, articles - originals AS reprints, last_published "
        f"FROM outlet_counts WHERE articles > 0 {where} ORDER BY originals DESC, articles DESC, name", params,
    ).fetchall()


def _distinct(store: SQLiteStore, column: str) -> list[str]:
    """The distinct non-empty values of an indexed ``articles`` column, sorted: a loose index
    scan (one index seek per value), so the cost grows with the values, not the articles."""
    return [r[0] for r in store.db.execute(
        f"WITH RECURSIVE v(x) AS (SELECT min({column}) FROM articles WHERE {column} <> '' "
        f"UNION ALL SELECT (SELECT min({column}) FROM articles WHERE {column} > v.x) FROM v WHERE v.x IS NOT NULL) "
        "SELECT x FROM v WHERE x IS NOT NULL ORDER BY x")]


def store_counts(store: SQLiteStore) -> dict[str, int]:
    """The store's article, original, story and merge counts (:meth:`SQLStore.counts`: whole-table
    counts, 14 ms at 100k articles), remembered until the database changes."""
    return dict(_memo(store, "store counts", store.counts))


def outlet_names(store: SQLiteStore) -> list[str]:
    return list(_memo(store, "outlet names", lambda: _distinct(store, "source")))


def languages(store: SQLiteStore) -> list[str]:
    return list(_memo(store, "languages", lambda: _distinct(store, "language")))


_NEWEST_DAY = {"sqlite": "julianday", "postgresql": "storyline_julianday"}  # the articles_newest index's own call


def articles(store: SQLiteStore, *, outlet: str | None = None, story_id: str | None = None, limit: int = 50,
             offset: int = 0) -> tuple[list[sqlite3.Row], int]:
    """Articles newest first, optionally of one outlet or story, and how many there are. The
    page is read from the ``articles_newest`` index (migration 0061; on PostgreSQL 0062), not a
    sort of every article."""
    clauses, params = ["1 = 1"], []
    if outlet:
        clauses.append("source = ?")
        params.append(outlet)
    if story_id:
        clauses.append("story_id = ?")
        params.append(story_id)
    where = " AND ".join(clauses)
    rows = store.db.execute(
        "SELECT id, url, source, title, published, language, canonical_id, story_id FROM articles "
        f"WHERE {where} ORDER BY coalesce({_NEWEST_DAY[store.dialect]}(published), 0) DESC, seq DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    ).fetchall()
    if story_id:
        total = store.db.execute(f"SELECT count(*) FROM articles WHERE {where}", params).fetchone()[0]
    elif outlet:  # kept per outlet (migration 0060)
        total = next((r["articles"] for r in outlets(store, outlet)), 0)
    else:  # every article: counted once between two writes
        total = store_counts(store)["articles"]
    return rows, int(total)


def article(store: SQLiteStore, article_id: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = store.db.execute(
        "SELECT id, url, fetched_url, source, title, text, published, language, canonical_id, story_id FROM articles "
        "WHERE id = ?",
        (article_id,),
    ).fetchone()
    return row


def outlet_stories(store: SQLiteStore, name: str, *, limit: int = 20, offset: int = 0) -> tuple[list[sqlite3.Row], int]:
    """Stories an outlet covered, most recent coverage first."""
    rows = store.db.execute(
        f"SELECT {_CARD_COLUMNS} FROM stories s "
        "WHERE s.id IN (SELECT story_id FROM articles WHERE source = ?) AND s.size > 0 "
        "AND s.id NOT IN (SELECT story_id FROM hidden_stories) "
        "ORDER BY julianday(s.last_seen) DESC, s.id LIMIT ? OFFSET ?", (name, limit, offset),
    ).fetchall()
    total = store.db.execute("SELECT count(DISTINCT story_id) FROM articles WHERE source = ?", (name,)).fetchone()[0]
    return rows, int(total)


def data_version(store: SQLiteStore) -> int:
    """Changes whenever another connection (another process) commits to the database."""
    if store.dialect == "postgresql":
        return queries_pg.data_version(store)
    return int(store.db.execute("PRAGMA data_version").fetchone()[0])


__all__ = [
    "SNIPPET_END",
    "SNIPPET_START",
    "StoryFilter",
    "article",
    "articles",
    "data_version",
    "fts_query",
    "languages",
    "latest_time",
    "merge_target",
    "merged_into",
    "outlet_names",
    "outlet_stories",
    "outlets",
    "ranked_stories",
    "related_stories",
    "search",
    "search_articles",
    "search_stories",
    "since_for",
    "store_counts",
    "story_articles",
    "story_cards",
    "sources_active_between",
    "story_reports",
    "stories_moved_since",
]
