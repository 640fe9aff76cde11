"""PostgreSQL runs a query in parallel once its tables are big enough, and a function that is not
safe there fails every page that calls it, on big stores only. Migration 0004's ``julianday``
opened a subtransaction per call (an EXCEPTION block) while declared PARALLEL SAFE: at about 60k
articles, story pages, the front page with ``?since=`` and ``/api/articles`` answered 500
(session 36). Migration 0062 replaced it.

Here the database makes the planner run every query it can in parallel (``force_parallel_mode``;
``debug_parallel_query`` from PostgreSQL 16), a store is built through the engine (the write path
runs in that mode too), and every GET route the app has is requested, with the query variants
that take other paths. A new page is covered without being listed here.

``julianday`` itself is checked against SQLite's on the forms SQLite reads, the odd ones included.
"""
from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Route

from storyline import sources
from storyline.cli import demo_corpus_path
from storyline.config import Settings
from storyline.engine import open_engine
from storyline.ingest import read_paths
from storyline.web import create_app

SINCE = "2000-01-01T00:00:00Z"


def _parallel_database(server) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A new database on ``server`` whose sessions run every query they can in parallel; its URL
    and the setting's name."""
    import psycopg

    url = server.create_database("parallel_pages")
    with psycopg.connect(url, autocommit=True) as conn:
        version = int(conn.execute("SHOW server_version_num").fetchone()[0])
        setting = "debug_parallel_query" if version >= 160000 else "force_parallel_mode"
        conn.execute(f"ALTER DATABASE parallel_pages SET {setting} = on")
    return url, setting


@pytest.fixture(scope="module")
def parallel(postgres_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:  # type: ignore[no-untyped-def]
    url, setting = _parallel_database(postgres_server)
    settings = Settings(data_dir=tmp_path_factory.mktemp("parallel"), database_url=url)
    store = open_engine(settings)
    store.add_articles(read_paths([demo_corpus_path()]))
    sources.import_file(store, demo_corpus_path().with_name("sources.csv"))
    assert store.db.execute(f"SHOW {setting}").fetchone()[0] == "on"  # the mode is really in force
    app = create_app(settings, store=store)
    app.state.parallel_url = url
    with TestClient(app) as client:
        yield client, setting


def _routes(routes: list) -> Iterator[object]:  # type: ignore[type-arg]
    """The app's routes, through included routers (FastAPI >= 0.120 keeps them whole)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        yield from _routes(inner.routes) if inner is not None else (route,)


def _get_paths(client: TestClient) -> tuple[list[str], list[str]]:
    """Every GET route of the app with its parameters filled from the store, and the variants."""
    story = client.get("/api/stories?limit=1").json()["stories"][0]["id"]
    article = client.get("/api/articles?limit=1").json()["articles"][0]
    outlet = client.get("/api/sources").json()["sources"][0]["name"]  # an outlet with a registry entry
    fill = {"story_id": story, "article_id": article["id"], "name": quote(outlet)}
    paths = []
    for route in _routes(client.app.routes):  # type: ignore[attr-defined]
        if isinstance(route, Route) and "GET" in (route.methods or ()):
            # a route with a parameter not filled here fails the test (add it to ``fill``)
            paths.append(route.path_format.format(**{k: fill[k] for k in route.param_convertors}))
    variants = ["/?since=24h", f"/?outlet={quote(outlet)}", f"/api/stories?since=7d&outlet={quote(outlet)}",
                "/api/stories?q=port", f"/stories/{story}?since={SINCE}", f"/api/stories/{story}?since={SINCE}",
                f"/api/stories/{story}/updates?since={SINCE}", f"/search?q=port&since={SINCE}", "/api/search?q=port",
                f"/api/articles?outlet={quote(outlet)}", f"/api/articles?story={story}", f"/outlets/{quote(outlet)}"]
    return paths, variants


def test_every_page_works_when_postgresql_runs_queries_in_parallel(parallel: tuple[TestClient, str]) -> None:
    client, _ = parallel
    routes, variants = _get_paths(client)
    assert len(routes) >= 25 and "/api/articles" in routes and "/stories/{story_id}" not in routes
    codes = {path: client.get(path).status_code for path in routes + variants}
    # 422: a route whose required parameter only a variant gives (/updates needs ?since=)
    assert {p: c for p, c in codes.items() if c != 200 and not (c == 422 and p in routes)} == {}


def test_the_articles_list_reads_its_order_from_the_index(parallel: tuple[TestClient, str]) -> None:
    import psycopg

    client, setting = parallel
    with psycopg.connect(client.app.state.parallel_url) as conn:  # type: ignore[attr-defined]
        conn.execute(f"SET {setting} = off")
        conn.execute("SET enable_seqscan = off")  # the demo is small enough to sort; the index must be usable
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT id FROM articles ORDER BY coalesce(storyline_julianday(published), 0) DESC, seq DESC LIMIT 5"))
    assert "articles_newest" in plan and "Sort" not in plan


FORMS = ["2024-01-01", "2024-01-01T00:00:00", "2024-01-01 12:30", "2024-01-01T10:00:00.123456-05:30",
         "2024-01-01T10:00:00Z", "2024-01-01T10:00:00z", "2024-01-01T10:00:00+00:00", "2024-01-01T10:00 -01:00 ",
         "1999-12-31T23:59:59+14:00", "1900-02-28T00:00:00", "2000-02-29", "2024-02-30", "2024-04-31T23:00",
         "2024-01-01T24:00:00", "2024-12-31T23:59:59.9996", "1582-10-10", "0001-01-01",
         # not dates to SQLite
         "garbage", "", "2024-13-01", "2024-00-10", "2024-01-00", "2024-01-32", "2024-01-01T25:00:00",
         "2024-01-01T10:60", "2024-01-01T10:00:60", "2024-01-01+05:00", "2024-01-01T10:00:00+15:00",
         "2024-01-01T10:00:00+0500", "24-01-01", "2024-1-01", "Mon, 01 Jan 2024 10:00:00 GMT", "2024-01-01T10"]


def _stored_forms(n: int = 600) -> list[str]:
    """Times in the form storyline stores (the fast path), each field drawn around and past its
    range, so both the fast path and the full parser it hands odd values to are met."""
    rng = random.Random(62)
    out = []
    for _ in range(n):
        y, mo, d = rng.choice([1, 1899, 1900, 1970, 1999, 2000, 2024, 2100, 9999]), rng.randint(0, 13), rng.randint(0, 32)
        h, mi, sec, tzh, tzm = rng.randint(0, 25), rng.randint(0, 60), rng.randint(0, 60), rng.randint(0, 15), rng.randint(0, 60)
        out.append(f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{sec:02d}{rng.choice('+-')}{tzh:02d}:{tzm:02d}")
    return out


def test_julianday_reads_what_sqlite_reads(parallel: tuple[TestClient, str]) -> None:
    client, _ = parallel
    store = client.app.state.web.store  # type: ignore[attr-defined]
    lite = sqlite3.connect(":memory:")
    for form in FORMS + _stored_forms():
        want = lite.execute("SELECT julianday(?)", (form,)).fetchone()[0]
        got = store.db.execute("SELECT julianday(?)", (form,)).fetchone()[0]
        assert got == want, form  # to the bit: both compute SQLite's milliseconds


def test_a_store_made_before_migration_62_gets_the_new_function_and_keeps_working(
        postgres_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from storyline.models import Article
    from storyline.store import base, open_store
    from storyline.store.migrate import migrations
    from storyline.store.queries import search_articles

    settings = Settings(data_dir=tmp_path, database_url=postgres_server.create_database("before_62"))
    with monkeypatch.context() as m:  # a store of schema 61, holding an article
        m.setattr(base, "migrations", lambda: [(v, sql) for v, sql in migrations() if v < 62])
        old = open_engine(settings)
        assert old.db.execute("SELECT provolatile FROM pg_proc WHERE proname = 'julianday'").fetchone()[0] == "s"
        old.add_articles([Article(id="a1", title="Harbour opens", text="The harbour opened on Monday.",
                                  source="Port News", published=datetime(2024, 5, 1, 9, tzinfo=UTC))])
        old.close()
    store = open_store(settings)
    try:
        assert store.db.execute("SELECT provolatile FROM pg_proc WHERE proname = 'julianday'").fetchone()[0] == "i"
        assert store.db.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'articles_newest'").fetchone()[0] == 1
        assert store.db.execute("SELECT julianday(published) FROM articles").fetchone()[0] == pytest.approx(2460431.875)
        assert [r["id"] for r in search_articles(store, "harbour")[0]] == ["a1"]  # 0063 remade the search vector
    finally:
        store.close()
