"""What a returning reader gets: updates since a time, per-story feeds, coverage counts that agree."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from fastapi.testclient import TestClient
from conftest import backend_settings
from test_web_api import build_store, demo_id

from storyline.config import Settings
from storyline.follow import parse_since
from storyline.store import queries
from storyline.web import create_app, views

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A store with the demo corpus, its registry and the hostile outlet, on each backend."""
    found = backend_settings(request.param, tmp_path_factory.mktemp("web-reader"), request)
    build_store(found).close()
    return found


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def store_args(settings: Settings) -> list[str]:
    """The command-line options naming ``settings``'s store."""
    if settings.database_url:
        return ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url]
    return ["--data-dir", str(settings.data_dir)]


def story_of(client: TestClient, article_id: str) -> str:
    return str(client.get(f"/api/articles/{article_id}").json()["story_id"])


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def section(html: str, ident: str) -> str:
    start = html.index(f'id="{ident}"')
    return html[start: html.index("</section>", start)]


def test_update_since_the_day_before_the_last_report(client: TestClient) -> None:
    """Demo acceptance: ?since= the day before the last report shows only that day's new sentences."""
    sid = story_of(client, demo_id("demo-019"))  # the election story
    story = client.get(f"/api/stories/{sid}").json()
    last_day = max(t["time"] for t in story["timeline"])[:10]
    assert last_day == "2026-03-12"
    update = client.get(f"/api/stories/{sid}/updates", params={"since": "2026-03-11"}).json()
    that_day = {r["id"] for r in update["reports"]}
    assert that_day and all(r["seen"].startswith("2026-03-12") for r in update["reports"])
    assert update["sentences"], "the day after the count brought new facts"
    texts = {a["id"]: client.get(f"/api/articles/{a['id']}").json()["text"] for a in update["reports"]}
    earlier = " ".join(client.get(f"/api/articles/{t['article_id']}").json()["text"]
                       for t in story["timeline"] if not t["time"].startswith("2026-03-12"))
    for s in update["sentences"]:
        assert s["article_id"] in that_day and s["outlet"], s
        assert s["text"] in texts[s["article_id"]], "a real sentence of that day's report"
        assert s["text"] not in earlier, "nothing the reader already had"
    page = client.get(f"/stories/{sid}", params={"since": "2026-03-11"})
    assert page.status_code == 200
    new = section(page.text, "update")
    shown = re.findall(r'<li class="new">\s*<p><span class="new-mark">New</span> (.*?)</p>', new, re.S)
    assert [s.replace("&#39;", "'") for s in shown] == [s["text"] for s in update["sentences"]]
    for s in update["sentences"]:
        assert s["outlet"].replace("'", "&#39;") in new
    # sources first seen that day are marked new, earlier ones are not
    assert f'id="a-{demo_id("demo-024")}" class="new"' in page.text
    assert f'id="a-{demo_id("demo-018")}" class="new"' not in page.text


def test_the_api_story_carries_the_same_update(client: TestClient) -> None:
    sid = story_of(client, demo_id("demo-019"))
    full = client.get(f"/api/stories/{sid}", params={"since": "2026-03-11T23:00:00Z"}).json()
    alone = client.get(f"/api/stories/{sid}/updates", params={"since": "2026-03-11T23:00:00Z"}).json()
    assert full["new_since"]["sentences"] == alone["sentences"]
    assert client.get(f"/api/stories/{sid}").json()["new_since"] is None


def test_nothing_new_after_the_last_report(client: TestClient) -> None:
    sid = story_of(client, demo_id("demo-019"))
    update = client.get(f"/api/stories/{sid}/updates", params={"since": "2026-03-30"}).json()
    assert update["sentences"] == [] and update["new_reports"] == 0
    assert "Nothing new since then" in client.get(f"/stories/{sid}?since=2026-03-30").text


def test_a_bad_since_is_a_clear_422(client: TestClient) -> None:
    sid = story_of(client, demo_id("demo-019"))
    for path in (f"/api/stories/{sid}/updates?since=last+week", f"/stories/{sid}?since=soon"):
        r = client.get(path)
        assert r.status_code == 422 and "not a date or time" in r.text


def test_story_atom_feed_is_valid_and_its_entries_are_updates(client: TestClient) -> None:
    sid = story_of(client, demo_id("demo-019"))
    r = client.get(f"/stories/{sid}/feed.atom")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.get("bozo_exception")
    days = [u for u in client.get(f"/stories/{sid}/feed.json").json()["items"]]
    assert len(feed.entries) == len(days) >= 2
    newest = feed.entries[0]
    assert newest.title.startswith("Update: ")
    update = client.get(f"/api/stories/{sid}/updates", params={"since": "2026-03-11"}).json()
    for s in update["sentences"]:
        assert f"{s['text']} ({s['outlet']})" in newest.content[0].value
    assert f"/stories/{sid}?since=" in newest.link
    assert client.get(newest.link.replace("http://testserver", "")).status_code == 200


def test_counts_agree_in_header_sidebar_api_and_feeds(client: TestClient) -> None:
    for article in ("demo-001", "demo-019", "demo-090"):
        sid = story_of(client, demo_id(article))
        api = client.get(f"/api/stories/{sid}").json()
        html = client.get(f"/stories/{sid}").text
        header = text_of(re.search(r'<p class="kicker">(.*?)</p>', html, re.S).group(1))
        sidebar = text_of(re.search(r'<p class="coverage-count">(.*?)</p>', html, re.S).group(1))
        listed = re.findall(r"<li><a href=\"/outlets/[^\"]+\">", section(html, "outlets-h"))
        assert header == sidebar == api["coverage"]
        assert api["coverage"].startswith(f"{api['outlets']} outlet")
        assert f"{api['reports']} original report" in api["coverage"] and f"{api['reprints']} reprint" in api["coverage"]
        assert len(listed) == len(api["coverage_by_outlet"]) == api["outlets"]
        assert sum(o["reports"] for o in api["coverage_by_outlet"]) == api["reports"]
        assert sum(o["reprints"] for o in api["coverage_by_outlet"]) == api["reprints"]
        assert api["outlets"] == len({t["outlet"] for t in api["timeline"] if t["outlet"]})
        atom = feedparser.parse(client.get(f"/stories/{sid}/feed.atom").content)
        assert atom.feed.subtitle == api["coverage"]
        doc = client.get(f"/stories/{sid}/feed.json").json()
        assert doc["description"] == api["coverage"]
        assert (doc["_storyline"]["outlets"], doc["_storyline"]["reports"], doc["_storyline"]["reprints"]) == (
            api["outlets"], api["reports"], api["reprints"])
        card = next(s for s in client.get("/api/stories?limit=100").json()["stories"] if s["id"] == sid)
        assert card["coverage"] == api["coverage"]
        entry = next(e for e in feedparser.parse(client.get("/feed.atom").content).entries if e.id.endswith(sid))
        assert api["coverage"] in entry.content[0].value


def test_readers_see_no_model_names_or_untitled(client: TestClient) -> None:
    for article in ("demo-019", "demo-023", "demo-049"):
        sid = story_of(client, demo_id(article))
        html = client.get(f"/stories/{sid}").text
        assert "selected by" not in html and "learned.v2" not in html and "(untitled" not in html
    assert "(untitled" not in client.get("/").text


def test_cli_stories_since(settings: Settings) -> None:
    run = subprocess.run([sys.executable, "-m", "storyline", "stories", *store_args(settings), "--since",
                          "2026-03-18", "--json"], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    assert found["since"] == parse_since("2026-03-18").isoformat()
    moved = found["stories"]
    assert moved and all(s["latest"] > "2026-03-19" for s in moved)
    quake = next(s for s in moved if "Corvel" in s["headline"])
    assert quake["sentences"] and all(s["outlet"] for s in quake["sentences"])
    text = subprocess.run([sys.executable, "-m", "storyline", "stories", *store_args(settings), "--since",
                           "2026-03-18"], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert text.returncode == 0 and quake["headline"] in text.stdout
    assert f"- {quake['sentences'][0]['text']} ({quake['sentences'][0]['outlet']})" in text.stdout
    bad = subprocess.run([sys.executable, "-m", "storyline", "stories", *store_args(settings), "--since",
                          "someday"], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert bad.returncode != 0 and "not a date or time" in bad.stderr


# -- the source registry on the web ----------------------------------------------------------
from test_web_api import HOSTILE_COUNTRY, HOSTILE_OUTLET, TOKEN  # noqa: E402


def test_story_lists_who_missed_it(client: TestClient) -> None:
    """Demo acceptance: a story's page lists the registered outlets that missed it."""
    sid = story_of(client, demo_id("demo-019"))  # the election: 11-12 March
    api = client.get(f"/api/stories/{sid}").json()
    missing = [o["name"] for o in api["missing"]["outlets"]]
    covering = {o["name"] for o in api["coverage_by_outlet"]}
    assert missing and not set(missing) & covering
    assert "Halvern Public Radio" not in missing, "never active, so never missing"
    assert "Eastbay Observer" in missing  # published the pothole story on 12 March, not the election
    html = client.get(f"/stories/{sid}").text
    listed = re.findall(r"<li>([^<]+?)(?: <span|</li>)", section(html, "outlets-h").split('id="missing-h"')[1])
    assert [x.strip() for x in listed] == missing
    described = next(o for o in api["coverage_by_outlet"] if o["name"] == "Valley Wire Service")
    assert (described["kind"], described["registered"]) == ("wire", True)


def test_front_page_filters_by_kind_country_and_lean(client: TestClient) -> None:
    everything = client.get("/api/stories?limit=100").json()
    assert {"kinds", "countries", "leans"} <= set(everything["choices"])
    assert "wire" in everything["choices"]["kinds"] and "Eastbay" in everything["choices"]["countries"]
    registry = {s["name"]: s for s in client.get("/api/sources").json()["sources"]}
    for key, value in (("kind", "national"), ("country", "Eastbay"), ("lean", "left"), ("kind", "wire")):
        found = client.get(f"/api/stories?limit=100&{key}={value}").json()
        assert 0 < found["total"] < everything["total"], (key, value)
        assert found["filters"][key] == value
        for card in found["stories"]:
            story = client.get(f"/api/stories/{card['id']}").json()
            assert any(registry.get(o["name"], {}).get(key) == value for o in story["coverage_by_outlet"]), card
        html = client.get(f"/?{key}={value}").text
        assert f'<option value="{value}" selected>' in html
    assert client.get("/api/stories?kind=aggregator").json()["total"] == 0


def test_hostile_registry_fields_are_escaped(client: TestClient) -> None:
    sid = story_of(client, demo_id("demo-096"))  # 19 March, when the hostile outlet was active
    api = client.get(f"/api/stories/{sid}").json()
    assert HOSTILE_OUTLET in [o["name"] for o in api["missing"]["outlets"]]
    html = client.get(f"/stories/{sid}").text
    for raw in (HOSTILE_OUTLET, HOSTILE_COUNTRY):
        assert raw not in html
    assert "&lt;img src=x onerror=alert(5)&gt;land" in html and "&lt;b onmouseover=alert(3)&gt;Evil&lt;/b&gt;" in html
    front = client.get("/").text
    assert HOSTILE_COUNTRY not in front and "&lt;img src=x onerror=alert(5)&gt;land" in front
    hostile = next(o for o in client.get("/api/sources").json()["sources"] if o["name"] == HOSTILE_OUTLET)
    assert hostile["country"] == HOSTILE_COUNTRY  # the JSON API carries the text as data, unchanged
    assert client.get("/api/sources").headers["content-type"].startswith("application/json")


@pytest.fixture(params=["sqlite", "postgresql"])
def editor(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """An app with an editor token over its own copy of the demo store, on each backend."""
    found = backend_settings(request.param, tmp_path, request, editor_token=TOKEN)
    store = build_store(found)
    with TestClient(create_app(found, store=store)) as c:
        yield c


def test_registry_writes_need_the_editor_token(editor: TestClient, client: TestClient) -> None:
    new = {"name": "Quendale Bugle", "domains": ["quendale-bugle.example"], "kind": "blog", "country": "GB"}
    assert client.post("/api/sources", json=new).status_code == 403  # no token configured
    assert editor.post("/api/sources", json=new).status_code == 403  # token configured, none sent
    auth = {"Authorization": f"Bearer {TOKEN}"}
    made = editor.post("/api/sources", json=new, headers=auth)
    assert made.status_code == 201 and made.json()["source"]["kind"] == "blog"
    assert editor.post("/api/sources", json=new, headers=auth).status_code == 422  # already registered
    bad = editor.post("/api/sources", json={**new, "name": "Other", "kind": "tabloid"}, headers=auth)
    assert bad.status_code == 422 and "tabloid" in bad.json()["error"]
    assert editor.patch("/api/sources/Quendale%20Bugle", json={"lean": "centre"}).status_code == 403
    changed = editor.patch("/api/sources/Quendale%20Bugle", json={"lean": "centre"}, headers=auth)
    assert changed.status_code == 200 and changed.json()["source"]["lean"] == "centre"
    assert editor.get("/api/sources/Quendale%20Bugle").json()["lean"] == "centre"
    assert editor.patch("/api/sources/Nobody", json={"lean": "left"}, headers=auth).status_code == 404
    log = editor.get("/api/editorial/log").json()["actions"]
    assert [a["action"] for a in log[:2]] == ["source-edit", "source-add"]


def test_related_stories_come_from_the_engine_with_a_floor(client: TestClient) -> None:
    from storyline.related import FLOOR

    bridge, strike, museum = (story_of(client, demo_id(a)) for a in ("demo-001", "demo-033", "demo-035"))
    assert bridge != strike
    related = client.get(f"/api/stories/{bridge}").json()["related"]
    assert [r["id"] for r in related] == [strike]  # the collision and the strike three days later in the same port
    assert all(r["relatedness"] >= FLOOR for r in related)
    assert client.get(f"/api/stories/{museum}").json()["related"] == [], "a museum theft has no neighbour: no filler"
    assert 'id="related-h"' not in client.get(f"/stories/{museum}").text
    everything = client.get("/api/stories?limit=100").json()["stories"]
    for card in everything:
        for r in client.get(f"/api/stories/{card['id']}").json()["related"]:
            assert r["relatedness"] >= FLOOR and r["id"] != card["id"]


# -- search filters, hide and undo -----------------------------------------------------------
def test_search_honours_outlet_and_since(client: TestClient) -> None:
    everything = client.get("/api/search?q=Tellford").json()
    assert everything["total_articles"] >= 3
    one = client.get("/api/search", params={"q": "Tellford", "outlet": "Harbor Ledger"}).json()
    assert 0 < one["total_articles"] < everything["total_articles"]
    assert {a["outlet"] for a in one["articles"]} == {"Harbor Ledger"}
    later = client.get("/api/search", params={"q": "Tellford", "since": "2026-03-11"}).json()
    assert 0 < later["total_articles"] < everything["total_articles"]
    assert all(a["published"] >= "2026-03-11" for a in later["articles"])
    assert client.get("/api/stories", params={"q": "Tellford", "outlet": "Harbor Ledger"}).json()["total_articles"] == \
        one["total_articles"]
    assert client.get("/api/search", params={"q": "Tellford", "since": "whenever"}).status_code == 422
    page = client.get("/search", params={"q": "Tellford", "outlet": "Harbor Ledger"}).text
    assert "from Harbor Ledger" in page and "Valley Wire Service</a> ·" not in page.split('class="results"')[1]
    feed = client.get("/feed.json", params={"q": "Tellford", "since": "2026-03-13"}).json()
    assert feed["items"] and len(feed["items"]) <= len(client.get("/feed.json", params={"q": "Tellford"}).json()["items"])


def test_search_says_when_its_story_count_is_a_floor(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """More matches than are ranked: the stories counted are the newest matches' only, and the
    page says "at least" (the article total still counts every match)."""
    whole = client.get("/api/search", params={"q": "Tellford", "n": 1}).json()
    assert whole["total_partial"] is False and whole["total_articles"] >= 3
    assert "At least " not in client.get("/search", params={"q": "Tellford", "n": 1}).text
    monkeypatch.setattr(queries, "SEARCH_RANKED", 2)
    cut = client.get("/api/search", params={"q": "Tellford", "n": 2}).json()
    assert cut["total_partial"] is True and cut["total_articles"] == whole["total_articles"]
    assert cut["total"] <= 2 < whole["total_articles"]
    assert "At least " in client.get("/search", params={"q": "Tellford", "n": 2}).text


def test_hide_unhide_and_undo_every_action(editor: TestClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    sid = story_of(editor, demo_id("demo-035"))  # the museum theft
    assert editor.post(f"/api/stories/{sid}/hide", json={"note": "legal check"}, headers=auth).status_code == 200
    assert editor.get(f"/api/stories/{sid}").status_code == 404
    assert editor.get(f"/stories/{sid}").status_code == 404
    assert sid not in {s["id"] for s in editor.get("/api/stories?limit=100").json()["stories"]}
    assert sid not in {s["id"] for s in editor.get("/api/search?q=Ravel").json()["stories"]}
    assert editor.get(f"/api/stories/{sid}", headers=auth).json()["hidden"] is True  # editors still see it
    assert editor.post(f"/api/stories/{sid}/hide", json={}, headers=auth).status_code == 409
    hide_id = editor.get("/api/editorial/log").json()["actions"][0]["id"]
    assert editor.post(f"/api/editorial/{hide_id}/undo", json={}, headers=auth).status_code == 200
    assert editor.get(f"/api/stories/{sid}").status_code == 200
    assert editor.post(f"/api/editorial/{hide_id}/undo", json={}, headers=auth).status_code == 409  # once only

    # pin, then undo: the computed headline is back
    computed = editor.get(f"/api/stories/{sid}").json()["headline"]
    editor.post(f"/api/stories/{sid}/pin", json={"headline": "Museum heist"}, headers=auth)
    pin_id = editor.get("/api/editorial/log").json()["actions"][0]["id"]
    editor.post(f"/api/editorial/{pin_id}/undo", json={}, headers=auth)
    assert editor.get(f"/api/stories/{sid}").json()["headline"] == computed

    # merge, then undo: both stories as they were, the old id no longer redirects
    other = story_of(editor, demo_id("demo-050"))
    before = {s: sorted(a["id"] for a in editor.get(f"/api/articles?story={s}&limit=100").json()["articles"])
              for s in (sid, other)}
    editor.post(f"/api/stories/{sid}/merge", json={"into": other}, headers=auth)
    assert editor.get(f"/api/stories/{sid}", follow_redirects=False).status_code == 301
    merge_id = editor.get("/api/editorial/log").json()["actions"][0]["id"]
    assert editor.post(f"/api/editorial/{merge_id}/undo", json={}, headers=auth).status_code == 200
    assert editor.get(f"/api/stories/{sid}", follow_redirects=False).status_code == 200
    after = {s: sorted(a["id"] for a in editor.get(f"/api/articles?story={s}&limit=100").json()["articles"])
             for s in (sid, other)}
    assert after == before

    # split, then undo: the new story disappears, its articles are back
    split = editor.post(f"/api/stories/{other}/split", json={"article": demo_id("demo-058")}, headers=auth).json()
    new_story = split["story"]
    assert new_story != other and editor.get(f"/api/stories/{new_story}").status_code == 200
    split_id = editor.get("/api/editorial/log").json()["actions"][0]["id"]
    editor.post(f"/api/editorial/{split_id}/undo", json={}, headers=auth)
    assert editor.get(f"/api/stories/{new_story}").status_code == 404
    assert sorted(a["id"] for a in editor.get(f"/api/articles?story={other}&limit=100").json()["articles"]) == \
        before[other]

    # a registry change, then undo
    editor.patch("/api/sources/Metro%20Signal", json={"kind": "blog"}, headers=auth)
    edit_id = editor.get("/api/editorial/log").json()["actions"][0]["id"]
    editor.post(f"/api/editorial/{edit_id}/undo", json={}, headers=auth)
    assert editor.get("/api/sources/Metro%20Signal").json()["kind"] == "national"
    assert editor.post("/api/editorial/999999/undo", json={}, headers=auth).status_code == 404
    assert editor.post(f"/api/editorial/{edit_id}/undo", json={}).status_code == 403


def test_hide_and_undo_from_the_story_page(editor: TestClient) -> None:
    sid = story_of(editor, demo_id("demo-035"))
    editor.get(f"/stories/{sid}?editor_token={TOKEN}")
    page = editor.get(f"/stories/{sid}").text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    done = editor.post(f"/stories/{sid}/edit", data={"action": "hide", "csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303
    page = editor.get(f"/stories/{sid}").text
    assert "Hidden from readers" in page and 'value="unhide"' in page
    entry = re.search(r'name="entry" value="(\d+)"><button type="submit" data-entry="\d+">Undo', page).group(1)
    undone = editor.post(f"/stories/{sid}/edit", data={"action": "undo", "entry": entry, "csrf": csrf},
                         follow_redirects=False)
    assert undone.status_code == 303
    page = editor.get(f"/stories/{sid}").text
    assert "Hidden from readers" not in page and "undo of #" in page
    editor.cookies.clear()
    assert editor.get(f"/stories/{sid}").status_code == 200
    assert 'name="entry"' not in editor.get(f"/stories/{sid}").text  # readers get no undo buttons


def card_of(html: str, sid: str) -> str:
    start = html.index(f'data-story="{sid}"')
    return html[start: html.index("</article>", start)]


def test_a_pinned_headline_and_its_undo_reach_every_card(editor: TestClient) -> None:
    """Cards are rendered once per content and reused: a pin is a new card on every list, and
    its undo brings the old card back, on the front page and in search results alike."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    sid = story_of(editor, demo_id("demo-035"))  # the museum theft
    pages = ("/?limit=100", "/search?q=Ravel")
    before = [card_of(editor.get(p).text, sid) for p in pages]
    assert all("Museum heist" not in c and 'class="pin"' not in c for c in before)
    editor.post(f"/api/stories/{sid}/pin", json={"headline": "Museum heist"}, headers=auth)
    pinned = [card_of(editor.get(p).text, sid) for p in pages]
    assert all(">Museum heist</a> <span class=\"pin\"" in c for c in pinned)
    pin_id = editor.get("/api/editorial/log").json()["actions"][0]["id"]
    editor.post(f"/api/editorial/{pin_id}/undo", json={}, headers=auth)
    assert [card_of(editor.get(p).text, sid) for p in pages] == before


def test_a_reused_card_is_the_macro_s_own_html() -> None:
    """The ``card`` global gives what macros.html's ``card_html`` renders, for the same fields;
    any changed field (not only the ones shown today) makes a new card."""
    from storyline.web.render import environment

    env = environment()
    macro = env.get_template("macros.html").module.card_html
    story = {"id": "s1", "headline": "Bridge <closed>", "pinned": False, "summary": "Traffic & trains stop.",
             "coverage": "3 outlets", "last_seen": "2026-03-10T07:15:00+00:00", "url": "/stories/s1"}
    card = env.globals["card"]
    assert card(story) == macro(story, lead=False) and card(story, lead=True) == macro(story, lead=True)
    assert "Bridge &lt;closed&gt;" in card(story) and card(story) is card(dict(story))
    assert card({**story, "headline": "Bridge open"}) != card(story)
    assert card({**story, "relatedness": 0.5}) is not card(story)
    listed = {**story, "outlets_named": ["A", "B"]}  # a field no key can hold is rendered as it comes
    assert card(listed) == macro(listed, lead=False)


def _listed_ids(html: str) -> list[str]:
    """Ids of the reports a page's source lists hold, in page order."""
    return re.findall(r'<li id="a-([^"]+)"', html)


def test_a_long_story_lists_its_first_reports_and_links_them_all(client: TestClient,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A story of a thousand reports costs what its page shows: the page lists the first
    reports and every one the summary quotes (each jump link lands), and links a paged list of
    them all, where every original report and reprint appears once, in the story's order."""
    cards = client.get("/api/stories", params={"limit": 100}).json()["stories"]
    big = max(cards, key=lambda c: (c["reports"], c["reprints"]))
    full = client.get(f"/api/stories/{big['id']}").json()
    originals = [a["id"] for a in full["sources"]]
    every = [i for a in full["sources"] for i in [a["id"], *(r["id"] for r in a["reprints"])]]
    assert len(originals) == big["reports"] >= 4 and len(every) == big["reports"] + big["reprints"]
    assert full["sources_url"] is None and full["sources_api_url"] is None and full["sources_total"] == len(originals)

    whole = client.get(f"/stories/{big['id']}", params={"u": "whole"}).text
    assert set(_listed_ids(whole)) == set(every) and f"/stories/{big['id']}/sources" not in whole

    monkeypatch.setattr(views, "SOURCES_SHOWN", 2)
    monkeypatch.setattr(views, "SOURCES_PAGE", 3)
    html = client.get(f"/stories/{big['id']}", params={"u": "cut"}).text
    listed = _listed_ids(html)
    quoted = {s["article_id"] for s in full["summary"]["sentences"]}
    jumps = set(re.findall(r'class="jump" href="#a-([^"]+)"', html))
    assert quoted and jumps == quoted and jumps <= set(listed)  # every jump link lands on the page
    assert [i for i in listed if i in originals][:2] == originals[:2]
    assert set(listed) <= set(every) and len(listed) < len(every)
    assert f'href="/stories/{big["id"]}/sources"' in html
    assert f"of {big['reports']} original reports" in text_of(html)

    seen, path, pages = [], f"/stories/{big['id']}/sources", 0
    while path:
        page = client.get(path)
        assert page.status_code == 200
        seen += _listed_ids(page.text)
        pages += 1
        nxt = re.search(r'<a rel="next" href="([^"]+)"', page.text)
        path = f"/stories/{big['id']}/sources{nxt.group(1)}".replace("&amp;", "&") if nxt else ""
    assert seen == every  # every report once, reprints under their original, in the story's order
    assert pages == -(-len(originals) // 3)
    assert "Back to the story" in page.text and big["headline"] in page.text
    assert client.get("/stories/s000000000000/sources").status_code == 404

    cut = client.get(f"/api/stories/{big['id']}", params={"u": "cut"}).json()  # the API likewise, paged as JSON
    assert len(cut["sources"]) < len(originals) and cut["sources_total"] == len(originals)
    assert {s["article_id"] for s in cut["summary"]["sentences"]} <= {a["id"] for a in cut["sources"]}
    assert cut["sources_api_url"] == f"/api/stories/{big['id']}/sources"
    paged, offset = [], 0
    while offset is not None:
        part = client.get(cut["sources_api_url"], params={"limit": 3, "offset": offset}).json()
        paged += part["sources"]
        offset = part["next_offset"]
    assert [(a["id"], [r["id"] for r in a["reprints"]]) for a in paged] == \
        [(a["id"], [r["id"] for r in a["reprints"]]) for a in full["sources"]]
    assert client.get("/api/stories/s000000000000/sources").status_code == 404
