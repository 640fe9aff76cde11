"""/docs in a real browser with no network beyond loopback: Swagger UI runs from local assets."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from storyline.config import Settings
from storyline.store import open_store
from storyline.web import create_app
from storyline.web.server import ServerThread, free_port

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="the playwright package is not installed"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium (apt-get install chromium)"),
]


def test_swagger_ui_renders_offline_under_the_csp(tmp_path):
    from playwright.sync_api import sync_playwright

    port = free_port()
    app = create_app(Settings(data_dir=tmp_path), store=open_store(Settings(data_dir=tmp_path)))
    outside: list[str] = []
    with ServerThread(app, port=port) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        context = browser.new_context()
        context.route(lambda u: not u.startswith(url), lambda route: (outside.append(route.request.url), route.abort()))
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/docs")
        page.wait_for_selector("#swagger-ui .opblock", timeout=20_000)
        operations = page.locator("#swagger-ui .opblock").count()
        browser.close()
    assert operations >= 8
    assert not outside, outside
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
