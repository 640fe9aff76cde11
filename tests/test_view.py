"""One story view-model: the CLI JSON, the JSON API, the story page, the story-list feeds (Atom,
JSON Feed) and the per-story feeds agree on headline, counts and sentences for the same story,
on a real store built by `storyline ingest` of the demo corpus (SQLite and PostgreSQL).
The about page shows the clusterer's saved evidence, not a re-computation."""
from __future__ import annotations

import html
import json
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import feedparser
import pytest
from fastapi.testclient import TestClient

from conftest import backend_settings, run_cli, store_args
from storyline.cli import demo_corpus_path
from storyline.engine import STATE_NAME, Engine
from storyline.store import open_store, state as codec
from storyline.web import create_app, views

PIN = "Editors' pick: the story of the day"


class StoryPage(HTMLParser):
    """The numbers and words a reader sees on a story page: the headline, the coverage line in
    the header and above the sidebar, the summary sentences, the sidebar's outlets, the sources'
    section headings."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.headline = ""
        self.kicker = ""
        self.sidebar_count = ""
        self.sentences: list[str] = []
        self.outlets: list[str] = []
        self.headings: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("br", "img", "input", "link", "meta"):
            self.stack.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def _inside(self, tag: str, cls: str = "", ident: str = "") -> bool:
        return any(t == tag and (not cls or cls in a.get("class", "").split()) and (not ident or a.get("id") == ident)
                   for t, a in self.stack)

    def handle_data(self, data: str) -> None:
        if self._inside("h1", ident="story-headline") and not self._inside("span", "pin"):
            self.headline += data
        elif self._inside("p", "kicker"):
            self.kicker += data
        elif self._inside("p", "coverage-count"):
            self.sidebar_count += data
        elif self._inside("ol", "sentences") and not self._inside("ol", "new-sentences") and self.stack[-1][0] == "p" \
                and "attribution" not in self.stack[-1][1].get("class", ""):
            self.sentences.append(data)
        elif self._inside("ul", "covering") and self.stack[-1][0] == "a":
            self.outlets.append(data)
        elif self._inside("section", "sources") and self.stack[-1][0] == "h3":
            self.headings.append(data)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, TestClient]]:
    """A store made by `storyline ingest` of the demo corpus, with one headline pinned, and the app."""
    settings = backend_settings(request.param, tmp_path_factory.mktemp("view"), request)
    ingest = run_cli("ingest", str(demo_corpus_path()), *store_args(settings))
    assert ingest.returncode == 0, ingest.stderr
    store = open_store(settings)
    with TestClient(create_app(settings, store=store)) as client:
        yield settings, client
    store.close()


def _cli_stories(settings: Any) -> dict[str, dict[str, Any]]:
    out = run_cli("stories", "--json", "--limit", "100", *store_args(settings))
    assert out.returncode == 0, out.stderr
    return {s["id"]: s for s in json.loads(out.stdout)["stories"]}


def _broadest(client: TestClient) -> dict[str, Any]:
    """The story with reprints whose reprinting outlets are not all among its original outlets:
    where counting outlets two ways would disagree."""
    for card in client.get("/api/stories?limit=100").json()["stories"]:
        story = client.get(card["api_url"]).json()
        originals = {s["outlet"] for s in story["sources"]}
        if story["reprints"] and len(story["coverage_by_outlet"]) > len(originals):
            return story
    raise AssertionError("the demo corpus has no story with an outlet that only reprinted")


def _agree(settings: Any, client: TestClient, story_id: str) -> dict[str, Any]:
    """Assert every interface shows ``story_id`` with the API's headline, counts and sentences."""
    api = client.get(f"/api/stories/{story_id}").json()
    sentences = [s["text"] for s in api["summary"]["sentences"]]
    assert api["headline"] and sentences and api["reports"] >= 1
    # the counts are one set of numbers, and the sidebar is their breakdown
    assert api["outlets"] == len(api["coverage_by_outlet"]) == len(api["outlet_names"])
    assert api["reports"] == sum(o["reports"] for o in api["coverage_by_outlet"]) == len(api["sources"])
    assert api["reprints"] == sum(o["reprints"] for o in api["coverage_by_outlet"]) \
        == sum(len(s["reprints"]) for s in api["sources"])
    assert api["coverage"] == (f"{api['outlets']} outlet{'s' * (api['outlets'] != 1)} · {api['reports']} original "
                               f"report{'s' * (api['reports'] != 1)}, {api['reprints']} reprint{'s' * (api['reprints'] != 1)}")

    cli = _cli_stories(settings)[story_id]
    for key in ("headline", "pinned", "reports", "reprints", "outlets", "coverage", "first_seen", "last_seen",
                "outlet_names", "coverage_by_outlet"):
        if key == "coverage_by_outlet":
            assert [(o["name"], o["reports"], o["reprints"]) for o in cli[key]] == \
                [(o["name"], o["reports"], o["reprints"]) for o in api[key]]
        else:
            assert cli[key] == api[key], key
    assert [s["text"] for s in cli["summary"]["sentences"]] == sentences
    assert [s["outlet"] for s in cli["summary"]["sentences"]] == [s["outlet"] for s in api["summary"]["sentences"]]

    page = StoryPage()
    page.feed(client.get(f"/stories/{story_id}").text)
    assert page.headline.strip() == api["headline"]
    assert page.kicker.strip() == page.sidebar_count.strip() == api["coverage"]
    assert [s.strip() for s in page.sentences] == sentences
    assert sorted(o.strip() for o in page.outlets) == api["outlet_names"]
    assert page.headings[0].strip() == f"{api['reports']} original report{'s' * (api['reports'] != 1)}"
    if api["reprints"]:
        assert page.headings[1].strip() == f"{api['reprints']} reprint{'s' * (api['reprints'] != 1)}"

    url = f"http://testserver/stories/{story_id}"
    atom = feedparser.parse(client.get("/feed.atom").content)
    entry = next(e for e in atom.entries if e.id == url)
    assert not atom.bozo and entry.title == api["headline"]
    assert entry.content[0].value.split("\n\n") == [
        f"{s['text']} ({s['outlet']})" if s["outlet"] else s["text"] for s in api["summary"]["sentences"]
    ] + [f"{api['coverage']}."]
    assert sorted(c["name"] for c in entry.contributors) == api["outlet_names"]

    item = next(i for i in client.get("/feed.json").json()["items"] if i["id"] == url)
    assert item["title"] == api["headline"] and item["summary"] == " ".join(sentences)
    assert item["content_text"] == entry.content[0].value
    assert {k: item["_storyline"][k] for k in ("reports", "reprints", "outlets")} == \
        {k: api[k] for k in ("reports", "reprints", "outlets")}

    own_atom = feedparser.parse(client.get(f"/stories/{story_id}/feed.atom").content)
    assert not own_atom.bozo and own_atom.feed.title == f"storyline: {api['headline']}"
    assert own_atom.feed.subtitle == api["coverage"]
    own_json = client.get(f"/stories/{story_id}/feed.json").json()
    assert own_json["title"] == f"storyline: {api['headline']}" and own_json["description"] == api["coverage"]
    assert {k: own_json["_storyline"][k] for k in ("reports", "reprints", "outlets", "coverage")} == \
        {k: api[k] for k in ("reports", "reprints", "outlets", "coverage")}
    # each day's update quotes only sentences of that story's reports, and the first day's
    # entry carries the story's headline unless a later report's title took over
    quoted = {s["text"] for i in own_json["items"] for s in i["_storyline"]["sentences"]}
    texts = " ".join(client.get(f"/api/articles/{a['id']}").json()["text"] for a in api["sources"])
    assert quoted and all(q in texts for q in quoted)
    return api


def test_every_interface_shows_the_same_story(demo: tuple[Any, TestClient]) -> None:
    settings, client = demo
    story = _broadest(client)
    api = _agree(settings, client, story["id"])
    # the outlet that only reprinted is counted everywhere (the CLI used to count originals' outlets only)
    assert api["outlets"] > len({s["outlet"] for s in api["sources"]})


def test_a_pinned_headline_shows_everywhere(demo: tuple[Any, TestClient]) -> None:
    settings, client = demo
    sid = client.get("/api/stories?limit=1").json()["stories"][0]["id"]
    computed = client.get(f"/api/stories/{sid}").json()["headline"]
    engine = Engine(open_store(settings), settings)
    try:
        engine.pin_headline(sid, PIN)
        api = _agree(settings, client, sid)
        assert api["headline"] == PIN and api["pinned"]
        assert next(c for c in client.get("/api/stories?limit=100").json()["stories"] if c["id"] == sid)["headline"] == PIN
        word = max(computed.split(), key=len)
        assert any(s["headline"] == PIN for s in client.get("/api/search", params={"q": word}).json()["stories"])
        engine.pin_headline(sid, "")
        api = _agree(settings, client, sid)
        assert api["headline"] == computed and not api["pinned"]
    finally:
        engine.pin_headline(sid, "")
        engine.close()


def test_about_shows_the_clusterers_saved_evidence(demo: tuple[Any, TestClient]) -> None:
    settings, client = demo
    store = open_store(settings)
    try:
        saved = codec.loads(store.load_state(STATE_NAME).state)
    finally:
        store.close()
    held = {s["id"]: s for s in saved["stories"]}
    sid = _broadest(client)["id"]
    about = client.get(f"/api/stories/{sid}/about").json()
    evidence, mine = about["evidence"], held[sid]
    assert evidence["source"] == "clusterer state" and evidence["size"] == mine["size"]
    heaviest = sorted(mine["terms"], key=lambda w: (-mine["terms"][w], w))[: len(evidence["terms"])]
    assert [t["term"] for t in evidence["terms"]] == heaviest  # the centroid itself, not a proxy
    assert {n["name"]: n["members"] for n in evidence["names"]} == \
        {n: c for n, c in mine["names"].items() if 2 * c >= mine["size"]}
    for article in about["articles"]:
        assert article["similarity"] is not None and 0 < article["similarity"] <= 1.0
        assert set(t["term"] for t in article["shared_terms"]) <= set(mine["terms"])
    page = client.get(f"/stories/{sid}/about").text
    assert "What the clusterer holds for this story" in page
    missing = [t["term"] for t in evidence["terms"] if f">{t['term']}</span>" not in html.unescape(page)]
    assert not missing, missing


def test_about_pages_through_the_reports(demo: tuple[Any, TestClient], monkeypatch: pytest.MonkeyPatch) -> None:
    """The about page and its API show a page of reports at a time (a story of a thousand
    reports costs what the page shows), with the story's evidence on every page."""
    _, client = demo
    sid = _broadest(client)["id"]
    whole = client.get(f"/api/stories/{sid}/about").json()
    assert whole["total"] == len(whole["articles"]) >= 3 and whole["next_offset"] is None
    paged, offset = [], 0
    while offset is not None:
        part = client.get(f"/api/stories/{sid}/about", params={"limit": 2, "offset": offset}).json()
        assert part["evidence"] == whole["evidence"] and len(part["articles"]) <= 2
        paged += part["articles"]
        offset = part["next_offset"]
    assert paged == whole["articles"]
    monkeypatch.setattr(views, "ABOUT_PAGE", 2)
    first = client.get(f"/stories/{sid}/about", params={"u": "paged"}).text
    assert first.count('<li>\n    <h2>') == 2 and 'rel="next" href="?offset=2"' in first
    second = client.get(f"/stories/{sid}/about", params={"offset": 2}).text
    assert '<ol class="evidence" start="3">' in second and 'rel="prev"' in second
    assert "What the clusterer holds for this story" in second
