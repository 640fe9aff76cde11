"""The web UI in a real browser: Playwright driving Debian's Chromium against a live uvicorn server."""
from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_web_api import HOSTILE_TITLE, build_store, demo_id

from storyline.config import Settings
from storyline.models import Article
from storyline.web import create_app
from storyline.web.server import ServerThread, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None,
                       reason="the playwright package is not installed (pip install playwright)"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium (apt-get install chromium)"),
]

ARTICLE_PAGE = "<!doctype html><title>Outlet article</title><h1>The outlet's own article page</h1>"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server over the demo corpus, the hostile articles, and one article whose URL is local."""
    from fastapi.responses import HTMLResponse

    data_dir, port = tmp_path_factory.mktemp("web-browser"), free_port()
    store = build_store(data_dir)
    store.add_articles([Article(
        id="local-1", title="Quendale ferry timetable changes from Monday", source="Mirrow Lake Post",
        url=f"http://127.0.0.1:{port}/outlet/ferry-timetable",
        text="The Quendale ferry will leave every forty minutes from Monday, the operator said. "
             "Evening sailings end at 22:10 instead of midnight.")])
    app = create_app(Settings(data_dir=data_dir), store=store)
    app.add_api_route("/outlet/ferry-timetable", lambda: HTMLResponse(ARTICLE_PAGE), include_in_schema=False)
    with ServerThread(app, port=port) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that records dialogs and console errors, with outside sites answered locally."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    pg.dialogs, pg.errors = [], []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    context.route("https://**/*", lambda route: route.fulfill(status=200, content_type="text/html",
                                                             body=ARTICLE_PAGE))
    yield pg
    context.close()


def test_front_page_story_and_source_link(server: str, page: Any) -> None:
    page.goto(server + "/")
    assert page.locator("h1").inner_text() == "Top stories"
    lead = page.locator(".card.lead .card-headline a")
    headline = lead.inner_text()
    lead.click()
    page.wait_for_url(server + "/stories/*")
    assert page.locator("h1#story-headline").inner_text().startswith(headline)
    assert page.locator(".sentences li").count() >= 1
    assert page.locator("svg.chart rect").count() >= 1
    assert "original report" in page.locator(".sources").inner_text()
    link = page.locator(".sentences .source-link").first
    href = link.get_attribute("href")
    assert href and href.startswith("https://")
    link.click()
    page.wait_for_url(href)
    assert page.locator("h1").inner_text() == "The outlet's own article page"
    assert page.dialogs == [] and page.errors == []


def test_follow_a_local_source_link(server: str, page: Any) -> None:
    page.goto(server + "/search?q=ferry+timetable")
    page.locator(".stories .card-headline a").first.click()
    page.wait_for_url(server + "/stories/*")
    page.locator(".source-list .source-link", has_text="Quendale ferry timetable").first.click()
    page.wait_for_url(server + "/outlet/ferry-timetable")
    assert page.locator("h1").inner_text() == "The outlet's own article page"


def test_search(server: str, page: Any) -> None:
    page.goto(server + "/")
    page.fill("#q", "Tellford bridge")
    page.press("#q", "Enter")
    page.wait_for_url(server + "/search?q=Tellford*")
    assert page.locator(".results li").count() >= 1
    assert page.locator(".results mark").first.inner_text().lower() in ("tellford", "bridge")
    page.fill("#q", 'NEAR( "unbalanced')
    page.press("#q", "Enter")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().startswith("Search")
    assert page.errors == []


def test_hostile_title_shows_as_text_and_runs_nothing(server: str, page: Any) -> None:
    page.goto(server + "/search?q=regatta")
    page.locator(".results .source-meta").first.wait_for()
    page.goto(server + "/api/articles/hostile-1")
    story_id = page.evaluate("() => JSON.parse(document.body.innerText).story_id")
    page.goto(f"{server}/stories/{story_id}")
    assert page.locator("h1#story-headline").inner_text().startswith(HOSTILE_TITLE)
    assert HOSTILE_TITLE in page.locator(".sources").inner_text()
    assert page.locator("img").count() == 0
    assert page.evaluate("() => document.querySelectorAll('script:not([src])').length") == 0
    assert page.evaluate("() => [...document.querySelectorAll('a[href]')].filter(a => !/^(https?:|\\/|#|\\?)/.test("
                         "a.getAttribute('href'))).length") == 0
    for path in ["/", "/search?q=regatta", f"/stories/{story_id}/about", "/outlets"]:
        page.goto(server + path)
        assert page.locator("img").count() == 0, path
    page.wait_for_timeout(300)
    assert page.dialogs == [], page.dialogs
    assert page.errors == [], page.errors


def test_readable_on_a_phone(server: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    pg = context.new_page()
    pg.goto(server + "/")
    pg.locator(".card.lead .card-headline a").click()
    pg.wait_for_url(server + "/stories/*")
    width = pg.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the story page scrolls sideways on a phone ({width}px)"
    context.close()


def _story_of(page: Any, server: str, article_id: str) -> str:
    page.goto(f"{server}/api/articles/{article_id}")
    return str(page.evaluate("() => JSON.parse(document.body.innerText).story_id"))


def test_updates_view_marks_what_is_new(server: str, page: Any) -> None:
    story_id = _story_of(page, server, demo_id("demo-019"))
    page.goto(f"{server}/stories/{story_id}?since=2026-03-11")
    update = page.locator("section.update")
    assert update.locator("h2").inner_text().lower().startswith("new after wed 11 mar 2026")
    items = update.locator("li.new")
    assert items.count() >= 1
    for i in range(items.count()):
        attribution = items.nth(i).locator(".attribution").inner_text()
        assert attribution.startswith("— ") and "12 Mar" in attribution, attribution
    # the whole summary is folded away; new sources carry the mark, older ones do not
    assert not page.locator(".summary .sentences").is_visible()
    page.locator(".summary details > summary").click()
    assert page.locator(".summary .sentences").is_visible()
    assert page.locator(f'[id="a-{demo_id("demo-024")}"] .new-mark').count() == 1
    assert page.locator(f'[id="a-{demo_id("demo-018")}"] .new-mark').count() == 0
    assert page.errors == [] and page.dialogs == []


def test_front_page_remembers_the_last_visit(server: str, page: Any) -> None:
    page.goto(server + "/")
    assert page.locator(".new-since").count() == 0, "a first visit has nothing to compare with"
    # pretend the previous visit of this browser saw coverage only up to 17 March
    page.evaluate("() => { localStorage.setItem('storyline.lastVisit', '2026-03-17T00:00:00+00:00');"
                  " sessionStorage.clear(); }")
    page.reload()
    marked = page.locator(".card.moved")
    assert marked.count() >= 1
    for i in range(page.locator(".card[data-story]").count()):
        card = page.locator(".card[data-story]").nth(i)
        moved = card.get_attribute("data-last-seen") > "2026-03-17"
        assert (card.locator(".new-since").count() == 1) == moved
    assert "since your last visit" in page.locator(".visit-note").inner_text()
    assert page.evaluate("() => localStorage.getItem('storyline.lastVisit')") > "2026-03-17T00:00:00+00:00"
    page.reload()  # the same session keeps its marks
    assert page.locator(".card.moved").count() == marked.count()
    link = page.locator(".card.moved .new-since").first
    link.click()
    page.wait_for_url(server + "/stories/*")
    assert "since=2026-03-17" in page.url
    assert page.locator("section.update").count() == 1
    assert page.errors == []


def test_registry_filters_and_who_missed_it(server: str, page: Any) -> None:
    page.goto(server + "/")
    total = page.locator(".card[data-story]").count()
    page.select_option("select[name=kind]", "national")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url(server + "/?*kind=national*")
    national = page.locator(".card[data-story]").count()
    assert 0 < national < total
    page.select_option("select[name=lean]", "left")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url(server + "/?*lean=left*")
    assert page.locator(".card[data-story]").count() <= national
    assert page.locator("select[name=lean]").input_value() == "left"
    story_id = _story_of(page, server, demo_id("demo-019"))
    page.goto(f"{server}/stories/{story_id}")
    missing = page.locator("ul.missing li")
    assert missing.count() >= 1
    names = [missing.nth(i).inner_text().split(" · ")[0].strip() for i in range(missing.count())]
    covering = page.locator("ul.covering li a").all_inner_texts()
    assert "Eastbay Observer" in names and not set(names) & set(covering)
    assert page.locator(".coverage-count").inner_text().lower() == page.locator(".kicker").inner_text().lower()
    assert len(covering) == int(page.locator(".coverage-count").inner_text().split(" ")[0])


def test_hostile_registry_fields_run_nothing(server: str, page: Any) -> None:
    story_id = _story_of(page, server, demo_id("demo-096"))
    page.goto(f"{server}/stories/{story_id}")
    assert "<b onmouseover=alert(3)>Evil</b> Gazette" in page.locator("ul.missing").inner_text()
    assert "<img src=x onerror=alert(5)>land" in page.locator("ul.missing").inner_text()
    page.goto(server + "/?country=" + "%3Cimg%20src%3Dx%20onerror%3Dalert(5)%3Eland")
    assert page.locator("img").count() == 0
    page.wait_for_timeout(300)
    assert page.dialogs == [] and page.errors == []
