"""The web UI, JSON API and feeds, in process (fastapi.testclient) over the demo corpus."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from fastapi.testclient import TestClient

from storyline.cli import demo_corpus_path
from storyline.config import Settings
from storyline.ingest import read_paths
from storyline.models import Article
from conftest import backend_settings
from storyline.engine import Engine, open_engine
from storyline.store import open_store
from storyline.store.queries import fts_query
from storyline.web import create_app
from storyline.web.security import safe_href

HOSTILE_TITLE = "<img src=x onerror=alert(1)><script>alert(2)</script>"
HOSTILE_OUTLET = "<b onmouseover=alert(3)>Evil</b> Gazette"
TOKEN = "s3cret-editor-token"


def hostile_articles() -> list[Article]:
    when = datetime(2026, 3, 19, 15, 0, tzinfo=UTC)
    text = ("Organizers of the Quendale lantern regatta said on Thursday that forty handmade boats will sail "
            "across Mirrow Lake after dark. The regatta began in 1987 and draws visitors from the whole valley.")
    return [
        Article(id="hostile-1", title=HOSTILE_TITLE, text=text, url="javascript:alert(1)", source=HOSTILE_OUTLET,
                published=when, language="en"),
        Article(id="hostile-2", title="Gravel shortage delays Ostrand quarry road works", url="data:text/html,<b>x</b>",
                text="Resurfacing of the Ostrand quarry road is on hold until a gravel delivery arrives, the county "
                     "roads office said. Crews expect to resume work within a fortnight.", source="Valley Wire Service",
                published=when, language="en"),
    ]


HOSTILE_COUNTRY = "<img src=x onerror=alert(5)>land"


def demo_id(given: str) -> str:
    """The stored id of the demo corpus's article ``given`` (ids a file assigns are namespaced by
    that file at the ingest boundary)."""
    from storyline.ingest.boundary import namespaced_id

    return namespaced_id(demo_corpus_path(), given)


def build_store(where: Path | Settings) -> Engine:
    """The demo corpus and its source registry, plus hostile articles from an outlet registered
    with hostile fields (active on 19 March, so listed as missing from that day's stories)."""
    from storyline import sources

    store = open_engine(where if isinstance(where, Settings) else Settings(data_dir=where))
    store.add_articles(read_paths([demo_corpus_path()]))
    store.add_articles(hostile_articles())
    sources.import_file(store, demo_corpus_path().with_name("sources.csv"))
    sources.add_outlet(store, sources.Outlet(HOSTILE_OUTLET, ("evil.example",), HOSTILE_COUNTRY, "en", "blog",
                                             "", "<script>alert(6)</script> note"))
    return store


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """Read-only app (no editor token) over the demo corpus plus two hostile articles, on each
    store backend."""
    settings = backend_settings(request.param, tmp_path_factory.mktemp("web-demo"), request)
    store = build_store(settings)
    with TestClient(create_app(settings, store=store)) as c:
        yield c


@pytest.fixture(params=["sqlite", "postgresql"])
def editor_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """An app with an editor token over its own copy of the demo database, on each backend."""
    settings = backend_settings(request.param, tmp_path, request, editor_token=TOKEN)
    store = build_store(settings)
    with TestClient(create_app(settings, store=store)) as c:
        yield c


def top_story_id(client: TestClient) -> str:
    return str(client.get("/api/stories?limit=1").json()["stories"][0]["id"])


def biggest_story(client: TestClient) -> dict:
    stories = client.get("/api/stories?limit=100").json()["stories"]
    return max(stories, key=lambda s: (s["reports"], s["reprints"], s["id"]))


def hostile_story_id(client: TestClient) -> str:
    return str(client.get("/api/articles/hostile-1").json()["story_id"])


# -- pages ----------------------------------------------------------------------------------
def test_pages_render(client: TestClient) -> None:
    sid = biggest_story(client)["id"]
    outlet = client.get("/api/outlets").json()["outlets"][0]["url"]
    for path in ["/", "/?since=7d", "/?outlet=Harbor+Ledger", "/?language=en&offset=5", f"/stories/{sid}",
                 f"/stories/{sid}/about", "/outlets", outlet, "/search?q=bridge", "/search", "/docs"]:
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("text/html"), path
        assert "<html lang=\"en\">" in r.text


def test_front_page_lists_stories_in_api_order(client: TestClient) -> None:
    html = client.get("/").text
    api = client.get("/api/stories").json()["stories"]
    positions = [html.index(f'href="/stories/{s["id"]}"') for s in api]
    assert positions == sorted(positions)
    assert "reports" in html and "reprint" in html and "outlets" in html


def test_story_page_shows_attributed_summary_sources_and_timeline(client: TestClient) -> None:
    story = biggest_story(client)
    detail = client.get(f"/api/stories/{story['id']}").json()
    html = client.get(f"/stories/{story['id']}").text
    assert "<svg" in html and "bar-orig" in html
    assert f"{detail['reports']} original reports" in html and f"{detail['reprints']} reprints" in html
    for sentence in detail["summary"]["sentences"]:
        assert sentence["outlet"] and sentence["href"].startswith("https://")
        assert f'href="{sentence["href"]}"' in html
    bridge = next(s for s in client.get("/api/stories").json()["stories"] if "Tellford" in s["headline"])
    related = client.get(f"/api/stories/{bridge['id']}").json()["related"]
    assert any("Port Averill" in r["headline"] for r in related), "the bridge collision relates to the dock strike"


def test_unknown_ids_are_404(client: TestClient) -> None:
    assert client.get("/stories/nope").status_code == 404
    r = client.get("/api/stories/nope")
    assert r.status_code == 404 and "error" in r.json()
    assert client.get("/outlets/Nobody%20Times").status_code == 404
    assert client.get("/api/articles/nope").status_code == 404


# -- security -------------------------------------------------------------------------------
def test_security_headers(client: TestClient) -> None:
    for path in ["/", "/api/stories", "/feed.atom", "/stories/nope"]:
        h = client.get(path).headers
        csp = h["content-security-policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "object-src 'none'" in csp
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "no-referrer"


def test_pages_have_no_inline_script(client: TestClient) -> None:
    html = client.get(f"/stories/{biggest_story(client)['id']}").text
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert not re.search(r"<[a-z]+[^>]*\son[a-z]+=", html)


def test_hostile_title_is_escaped_everywhere(client: TestClient) -> None:
    sid = hostile_story_id(client)
    pages = [f"/stories/{sid}", f"/stories/{sid}/about", "/", "/search?q=regatta", "/search?q=alert",
             "/outlets", "/outlets/" + re.sub("[^A-Za-z]", lambda m: f"%{ord(m.group(0)):02X}", HOSTILE_OUTLET)]
    for path in pages:
        r = client.get(path)
        assert r.status_code == 200, path
        html = r.text
        assert "<script>alert" not in html and "<img src=x" not in html and "<b onmouseover" not in html, path
        assert "javascript:" not in html.replace("javascript:alert(1)", ""), path
        assert not re.search(r'href="\s*(javascript|data|vbscript):', html, re.IGNORECASE), path
    story_html = client.get(f"/stories/{sid}").text
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in story_html
    assert "&lt;b onmouseover=alert(3)&gt;Evil&lt;/b&gt; Gazette" in story_html


def test_non_http_urls_are_never_links(client: TestClient) -> None:
    article = client.get("/api/articles/hostile-1").json()
    assert article["url"] == "javascript:alert(1)" and article["href"] is None
    assert client.get("/api/articles/hostile-2").json()["href"] is None
    for bad in ["javascript:alert(1)", " javascript:alert(1)", "JaVaScRiPt:x", "data:text/html,x", "vbscript:x",
                "//evil.example/x", "/relative", "http://", "https://a.example/\"onmouseover=x", "java\nscript:x"]:
        assert safe_href(bad) is None, bad
    assert safe_href("https://valleywire.example/a?b=1") == "https://valleywire.example/a?b=1"


@pytest.mark.parametrize("q", ['"', "NEAR(", "a OR", "*", "AND", "(", "title:x", "^bridge", "bridge\"", "-", "'",
                               "ünïcödé", "x" * 300, "bridge AND NOT ship", ")))", "{a b}:c"])
def test_search_never_fails_on_fts_syntax(client: TestClient, q: str) -> None:
    for path in ["/api/search", "/api/stories", "/search", "/feed.atom"]:
        r = client.get(path, params={"q": q[:200]})
        assert r.status_code == 200, (path, q)
    assert fts_query('a "b" NEAR(c)') == '"a" "b" "NEAR" "c"'


# -- JSON API -------------------------------------------------------------------------------
def test_api_stories_shape(client: TestClient) -> None:
    data = client.get("/api/stories").json()
    assert {"stories", "total", "limit", "offset", "next_offset", "prev_offset", "filters", "choices"} <= set(data)
    story = data["stories"][0]
    assert {"id", "headline", "summary", "reports", "reprints", "outlets", "first_seen", "last_seen", "url",
            "api_url"} <= set(story)
    detail = client.get(story["api_url"]).json()
    assert {"summary", "sources", "timeline", "related", "merged_from", "outlet_names"} <= set(detail)
    assert {"text", "sentences", "summarizer"} <= set(detail["summary"])
    source = detail["sources"][0]
    assert {"id", "title", "outlet", "url", "href", "published", "reprints"} <= set(source)
    assert len(detail["timeline"]) == detail["reports"] + detail["reprints"]


def test_articles_list_is_newest_first_with_its_counts(client: TestClient) -> None:
    """The articles list (read from an index on SQLite, a sort on PostgreSQL) is the articles in
    the order of the query over them all, and its totals are the articles' own counts."""
    store = client.app.state.web.store
    order = "ORDER BY coalesce(julianday(published), 0) DESC, seq DESC"
    every = [r[0] for r in store.db.execute(f"SELECT id FROM articles {order}").fetchall()]
    listed, offset = [], 0
    while offset is not None:
        part = client.get("/api/articles", params={"limit": 40, "offset": offset}).json()
        assert part["total"] == len(every)
        listed += [a["id"] for a in part["articles"]]
        offset = part["next_offset"]
    assert listed == every
    outlet = store.db.execute("SELECT source FROM articles WHERE source <> '' GROUP BY source "
                              "ORDER BY count(*) DESC, source").fetchone()[0]
    own = [r[0] for r in store.db.execute(f"SELECT id FROM articles WHERE source = ? {order}", (outlet,)).fetchall()]
    theirs = client.get("/api/articles", params={"outlet": outlet, "limit": 100}).json()
    assert [a["id"] for a in theirs["articles"]] == own and theirs["total"] == len(own) > 1
    assert client.get("/api/articles", params={"outlet": "No Such Outlet"}).json()["total"] == 0


def test_api_other_endpoints(client: TestClient) -> None:
    arts = client.get("/api/articles?limit=5").json()
    assert len(arts["articles"]) == 5 and arts["total"] >= 97
    outlets = client.get("/api/outlets").json()["outlets"]
    assert {"name", "articles", "originals", "reprints", "last_published", "url"} <= set(outlets[0])
    assert [o["originals"] for o in outlets] == sorted((o["originals"] for o in outlets), reverse=True)
    one = client.get("/api" + outlets[0]["url"]).json()
    assert one["name"] == outlets[0]["name"] and one["stories"]
    found = client.get("/api/search?q=Tellford").json()
    assert found["stories"] and found["articles"]
    assert all("Tellford" in a["title"] or "Tellford" in a["snippet"].replace("\ue000", "").replace("\ue001", "")
               for a in found["articles"])
    assert client.get("/api/stories?q=Tellford").json()["stories"] == found["stories"]
    about = client.get(f"/api/stories/{biggest_story(client)['id']}/about").json()
    assert about["articles"][0]["shared_terms"] and about["articles"][0]["similarity"] > 0
    assert client.get("/openapi.json").json()["paths"]["/api/stories"]


def test_pagination(client: TestClient) -> None:
    full = client.get("/api/stories?limit=100").json()
    seen, offset = [], 0
    while offset is not None:
        page = client.get(f"/api/stories?limit=4&offset={offset}").json()
        assert page["total"] == full["total"] and len(page["stories"]) <= 4
        seen += [s["id"] for s in page["stories"]]
        offset = page["next_offset"]
    assert seen == [s["id"] for s in full["stories"]]
    assert client.get("/api/stories?limit=0").status_code == 422
    assert client.get("/api/stories?limit=1000").status_code == 422
    assert client.get("/api/stories?offset=-1").status_code == 422
    html = client.get("/?limit=4").text
    assert 'rel="next"' in html and "offset=4" in html


def test_etag_and_304(client: TestClient) -> None:
    for path in ["/api/stories", f"/api/stories/{top_story_id(client)}", "/", f"/stories/{top_story_id(client)}",
                 "/feed.atom", "/feed.json", "/api/search?q=fire"]:
        first = client.get(path)
        etag = first.headers["etag"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag, path
        assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


# -- feeds ----------------------------------------------------------------------------------
def test_atom_feed_matches_api(client: TestClient) -> None:
    feed = feedparser.parse(client.get("/feed.atom").content)
    assert not feed.bozo, feed.get("bozo_exception")
    api = client.get("/api/stories?limit=30").json()["stories"]
    assert [e.link.rsplit("/", 1)[-1] for e in feed.entries] == [s["id"] for s in api]
    assert [e.title for e in feed.entries] == [s["headline"] for s in api]
    assert feed.entries[0].summary and feed.feed.title


def test_json_feed(client: TestClient) -> None:
    doc = client.get("/feed.json").json()
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    api = client.get("/api/stories?limit=30").json()["stories"]
    assert [i["_storyline"]["story_id"] for i in doc["items"]] == [s["id"] for s in api]
    # JSON Feed 1.1: a title, items with a string id and content_text or content_html
    assert doc["title"] and doc["feed_url"].endswith("/feed.json")
    for item in doc["items"]:
        assert isinstance(item["id"], str) and item["content_text"] and item["url"].startswith("http")
        assert datetime.fromisoformat(item["date_modified"])


def test_search_feeds(client: TestClient) -> None:
    found = client.get("/api/stories?q=Tellford&limit=30").json()["stories"]
    feed = feedparser.parse(client.get("/feed.atom?q=Tellford").content)
    assert not feed.bozo and [e.link.rsplit("/", 1)[-1] for e in feed.entries] == [s["id"] for s in found]
    assert "Tellford" in feed.feed.title
    items = client.get("/feed.json?q=Tellford").json()["items"]
    assert [i["_storyline"]["story_id"] for i in items] == [s["id"] for s in found]


def test_hostile_title_in_feeds_is_data(client: TestClient) -> None:
    feed = feedparser.parse(client.get("/feed.atom?q=regatta").content)
    assert not feed.bozo
    assert any(HOSTILE_TITLE in e.title or "regatta" in e.title for e in feed.entries)
    assert b"<script>" not in client.get("/feed.atom?q=regatta").content


# -- editorial ------------------------------------------------------------------------------
def test_editorial_disabled_without_token(client: TestClient) -> None:
    sid = top_story_id(client)
    r = client.post(f"/api/stories/{sid}/pin", json={"headline": "X"}, headers={"Authorization": "Bearer x"})
    assert r.status_code == 403 and "disabled" in r.json()["error"]
    assert "<form method=\"post\"" not in client.get(f"/stories/{sid}").text
    assert client.get(f"/stories/{sid}?editor_token=x", follow_redirects=False).status_code == 403


def test_editorial_needs_the_right_token(editor_client: TestClient) -> None:
    sid = top_story_id(editor_client)
    for headers in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]:
        r = editor_client.post(f"/api/stories/{sid}/pin", json={"headline": "X"}, headers=headers)
        assert r.status_code == 403 and "Authorization" in r.json()["error"]


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def test_pin_headline(editor_client: TestClient) -> None:
    sid = top_story_id(editor_client)
    before = editor_client.get("/").text
    r = editor_client.post(f"/api/stories/{sid}/pin", json={"headline": "An editor's <em>headline</em>"},
                           headers=_auth())
    assert r.status_code == 200 and r.json()["story"] == sid
    story = editor_client.get(f"/api/stories/{sid}").json()
    assert story["headline"] == "An editor's <em>headline</em>" and story["pinned"]
    after = editor_client.get("/").text
    assert after != before and "An editor&#39;s &lt;em&gt;headline&lt;/em&gt;" in after
    store = editor_client.app.state.web.store
    store.refresh_stories([sid])  # a later refresh keeps the pin
    assert editor_client.get(f"/api/stories/{sid}").json()["headline"] == "An editor's <em>headline</em>"
    editor_client.post(f"/api/stories/{sid}/pin", json={"headline": ""}, headers=_auth())
    assert not editor_client.get(f"/api/stories/{sid}").json()["pinned"]
    actions = [a["action"] for a in editor_client.get("/api/editorial/log").json()["actions"]]
    assert actions[:2] == ["unpin", "pin"]


def test_merge_redirects_old_id(editor_client: TestClient) -> None:
    stories = editor_client.get("/api/stories?limit=100").json()["stories"]
    keep, gone = stories[0]["id"], stories[1]["id"]
    size = stories[0]["reports"] + stories[1]["reports"]
    r = editor_client.post(f"/api/stories/{gone}/merge", json={"into": keep, "note": "same event"}, headers=_auth())
    assert r.status_code == 200 and r.json()["story"] == keep
    for path, target in [(f"/stories/{gone}", f"/stories/{keep}"), (f"/api/stories/{gone}", f"/api/stories/{keep}"),
                         (f"/stories/{gone}/about", f"/stories/{keep}/about")]:
        moved = editor_client.get(path, follow_redirects=False)
        assert moved.status_code in (301, 307, 308) and moved.headers["location"] == target
    merged = editor_client.get(f"/api/stories/{gone}").json()
    assert merged["id"] == keep and merged["reports"] == size
    assert any(m["story_id"] == gone and m["reason"] == "editor" for m in merged["merged_from"])
    assert gone in editor_client.get(f"/stories/{keep}").text
    again = editor_client.post(f"/api/stories/{gone}/merge", json={"into": keep}, headers=_auth())
    assert again.status_code == 409
    assert editor_client.post("/api/stories/nope/merge", json={"into": keep}, headers=_auth()).status_code == 404


def test_split_article(editor_client: TestClient) -> None:
    story = biggest_story(editor_client)
    detail = editor_client.get(f"/api/stories/{story['id']}").json()
    source = next((s for s in detail["sources"] if s["reprints"]), detail["sources"][0])
    r = editor_client.post(f"/api/stories/{story['id']}/split", json={"article": source["id"]}, headers=_auth())
    assert r.status_code == 200
    new_id = r.json()["story"]
    new = editor_client.get(f"/api/stories/{new_id}").json()
    assert [s["id"] for s in new["sources"]] == [source["id"]] and new["reprints"] == len(source["reprints"])
    old = editor_client.get(f"/api/stories/{story['id']}").json()
    assert old["reports"] == story["reports"] - 1 and source["id"] not in [s["id"] for s in old["sources"]]
    store = editor_client.app.state.web.store
    overrides = store.db.execute("SELECT count(*) FROM article_overrides WHERE story_id = ?", (new_id,)).fetchone()[0]
    assert overrides == 1 + len(source["reprints"])
    if source["reprints"]:
        reprint = source["reprints"][0]["id"]
        bad = editor_client.post(f"/api/stories/{new_id}/split", json={"article": reprint}, headers=_auth())
        assert bad.status_code == 409 and "reprint" in bad.json()["error"]
    only = editor_client.post(f"/api/stories/{new_id}/split", json={"article": source["id"]}, headers=_auth())
    assert only.status_code == 409 and "only report" in only.json()["error"]
    assert editor_client.post(f"/api/stories/{new_id}/split", json={"article": "nope"}, headers=_auth()).status_code == 404
    log = editor_client.get("/api/editorial/log").json()["actions"][0]
    assert log["action"] == "split" and log["new_story"] == new_id


def test_editor_form_in_the_ui(editor_client: TestClient) -> None:
    sid = top_story_id(editor_client)
    assert 'method="post"' not in editor_client.get(f"/stories/{sid}").text
    login = editor_client.get(f"/stories/{sid}?editor_token={TOKEN}", follow_redirects=False)
    assert login.status_code == 303 and login.headers["location"] == f"/stories/{sid}"
    assert TOKEN not in login.headers["set-cookie"] and "httponly" in login.headers["set-cookie"].lower()
    page = editor_client.get(f"/stories/{sid}")
    assert 'method="post"' in page.text and page.headers["cache-control"] == "private, no-store"
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
    forged = editor_client.post(f"/stories/{sid}/edit", data={"action": "pin", "headline": "Forged"},
                                follow_redirects=False)
    assert forged.status_code == 403
    done = editor_client.post(f"/stories/{sid}/edit", data={"action": "pin", "headline": "Pinned from the form",
                                                            "csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert editor_client.get(f"/api/stories/{sid}").json()["headline"] == "Pinned from the form"
    editor_client.cookies.clear()
    assert "Pinned from the form" in editor_client.get(f"/stories/{sid}").text


def test_cache_follows_writes_from_other_connections(editor_client: TestClient) -> None:
    """Another process (here: another connection) ingesting shows up on the next request."""
    before = editor_client.get("/api/stories").json()["total"]
    web = editor_client.app.state.web
    other = Engine(open_store(web.settings))
    other.add_articles([Article(id="late-1", title="Harbor seals return to Saltmere breakwater",
                                text="Dozens of harbor seals were counted on the Saltmere breakwater this week.",
                                source="Coastline Daily", published=datetime(2026, 3, 19, 16, tzinfo=UTC))])
    other.close()
    assert editor_client.get("/api/stories").json()["total"] == before + 1
    assert json.loads(editor_client.get("/api/articles/late-1").text)["title"].startswith("Harbor seals")


def test_head_requests(client: TestClient) -> None:
    for path in ["/", "/feed.atom", "/api/stories"]:
        get, head = client.get(path), client.head(path)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["etag"] == get.headers["etag"]


def test_every_api_path_is_documented(client: TestClient) -> None:
    """docs/web.md names every API path the app serves (placeholders compared as {})."""
    docs = re.sub(r"\{[^}]*\}", "{}", (Path(__file__).parents[1] / "docs" / "web.md").read_text(encoding="utf-8"))
    for path in client.get("/openapi.json").json()["paths"]:
        assert re.sub(r"\{[^}]*\}", "{}", path) in docs, path
