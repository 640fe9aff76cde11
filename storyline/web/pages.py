"""HTML pages, feeds, the API docs page and the editorial forms."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

import storyline.web.feeds as feeds  # the modules themselves: "from . import" would import the package
import storyline.web.story_feeds as story_feeds
import storyline.web.views as views
from .. import follow
from ..store import editorial, queries
from .http import HTML_TYPE, error_response, respond, state_of
from .security import EDITOR_COOKIE, cookie_value, form_token, token_matches

router = APIRouter(include_in_schema=False)
FEED_SIZE = 30


def _int(request: Request, name: str, default: int, high: int) -> int:
    try:
        return max(0, min(high, int(request.query_params.get(name, default))))
    except ValueError:
        return default


def _page(request: Request, limit: int = 20) -> views.Page:
    return views.Page(limit=max(1, _int(request, "limit", limit, views.MAX_LIMIT)),
                      offset=_int(request, "offset", 0, 1_000_000))


def _html(request: Request, template: str, compute: Callable[[], dict[str, Any]], *, editor: bool = False) -> Response:
    web = state_of(request)
    q = request.query_params.get("q", "") if request.url.path == "/search" else ""

    def build() -> tuple[bytes, str]:
        context = compute()
        return web.html(template, **context, q=q, editor=editor, path=request.url.path), HTML_TYPE

    return respond(request, build, cache=not editor)


@router.get("/")
async def front_page(request: Request) -> Response:
    web, p = state_of(request), request.query_params
    args = {k: p.get(k, "")[:200] for k in ("since", "outlet", "language", "kind", "country", "lean")}
    return _html(request, "front.html", lambda: {"data": views.front(web.store, **args, page=_page(request)),
                                                 "params": {k: v for k, v in args.items() if v}})


def _redirect_merged(request: Request, story_id: str, suffix: str = "") -> Response | None:
    web = state_of(request)
    with web.lock:
        target = queries.merge_target(web.store, story_id)
    if target and target != story_id:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/stories/{target}{suffix}{query}", status_code=301)
    return None


def _since(request: Request) -> datetime | None:
    """The page's ``?since=`` time, None when absent; a bad value is a 422."""
    value = request.query_params.get("since", "")
    if not value:
        return None
    try:
        return follow.parse_since(value)
    except follow.SinceError as exc:
        raise HTTPException(422, str(exc)) from exc


def _editor_login(request: Request) -> Response | None:
    """``?editor_token=...``: check it, keep it as a cookie, and reload without it in the URL."""
    given = request.query_params.get("editor_token")
    if given is None:
        return None
    token = state_of(request).settings.editor_token
    if not token:
        return error_response(request, 403, "Editing is disabled on this server (no editor token is configured).")
    if not token_matches(given, token):
        return error_response(request, 403, "That editor token is not valid.")
    response = RedirectResponse(request.url.path, status_code=303)
    response.set_cookie(EDITOR_COOKIE, cookie_value(token), httponly=True, samesite="strict", path="/")
    return response


@router.get("/stories/{story_id}")
async def story_page(request: Request, story_id: str) -> Response:
    login = _editor_login(request)
    if login is not None:
        return login
    moved = _redirect_merged(request, story_id)
    if moved is not None:
        return moved
    web = state_of(request)
    editor = web.is_editor(request)
    since = _since(request)

    def compute() -> dict[str, Any]:
        data = views.story(web.store, story_id, since=since, include_hidden=editor,
                           sources_limit=None if editor else views.SOURCES_SHOWN)  # an editor may split any report
        if data is None:
            raise HTTPException(404, "There is no story with this id.")
        form = form_token(web.settings.editor_token, story_id) if editor else ""
        return {"s": data, "form_token": form, "title": data["headline"]}

    return _html(request, "story.html", compute, editor=editor)


@router.get("/stories/{story_id}/sources")
async def sources_page(request: Request, story_id: str) -> Response:
    """Every report of a story, :data:`views.SOURCES_PAGE` originals a page (the story page lists
    the first :data:`views.SOURCES_SHOWN`)."""
    moved = _redirect_merged(request, story_id, "/sources")
    if moved is not None:
        return moved
    web = state_of(request)
    editor = web.is_editor(request)
    page = views.Page(limit=views.SOURCES_PAGE, offset=_int(request, "offset", 0, 10_000_000))

    def compute() -> dict[str, Any]:
        data = views.story_sources(web.store, story_id, page=page, include_hidden=editor)
        if data is None:
            raise HTTPException(404, "There is no story with this id.")
        return {"s": data, "title": f"Reports: {data['headline']}"}

    return _html(request, "sources.html", compute, editor=editor)


@router.get("/stories/{story_id}/about")
async def about_page(request: Request, story_id: str) -> Response:
    moved = _redirect_merged(request, story_id, "/about")
    if moved is not None:
        return moved
    web = state_of(request)
    page = views.Page(limit=views.ABOUT_PAGE, offset=_int(request, "offset", 0, 10_000_000))

    def compute() -> dict[str, Any]:
        data = views.about(web.store, story_id, page)
        if data is None:
            raise HTTPException(404, "There is no story with this id.")
        return {"s": data, "title": f"About: {data['headline']}"}

    return _html(request, "about.html", compute)


@router.get("/outlets")
async def outlets_page(request: Request) -> Response:
    web = state_of(request)
    return _html(request, "outlets.html", lambda: {"data": views.outlets(web.store), "title": "Outlets"})


@router.get("/outlets/{name:path}")
async def outlet_page(request: Request, name: str) -> Response:
    web = state_of(request)

    def compute() -> dict[str, Any]:
        data = views.outlet(web.store, name, page=_page(request))
        if data is None:
            raise HTTPException(404, "No article from this outlet is stored.")
        return {"data": data, "title": data["name"]}

    return _html(request, "outlet.html", compute)


@router.get("/search")
async def search_page(request: Request) -> Response:
    web = state_of(request)
    q = request.query_params.get("q", "")[:200]
    outlet, since = request.query_params.get("outlet", "")[:200], request.query_params.get("since", "")[:64]

    def compute() -> dict[str, Any]:
        try:
            data = views.search(web.store, q, outlet=outlet or None, since=since or None, page=_page(request))
        except follow.SinceError as exc:
            raise HTTPException(422, str(exc)) from exc
        return {"data": data, "title": f"Search: {q}" if q else "Search",
                "params": {k: v for k, v in (("q", q), ("outlet", outlet), ("since", since)) if v}}

    return _html(request, "search.html", compute)


def _feed_stories(request: Request) -> tuple[list[dict[str, Any]], str, str]:
    web = state_of(request)
    q = request.query_params.get("q", "")[:200].strip()
    try:
        cards = views.top_stories(web.store, q=q, limit=FEED_SIZE, outlet=request.query_params.get("outlet") or None,
                                  since=request.query_params.get("since") or None)
    except follow.SinceError as exc:
        raise HTTPException(422, str(exc)) from exc
    full = [s for s in (views.story(web.store, c["id"], sources_limit=views.SOURCES_SHOWN) for c in cards)
            if s is not None]
    return full, str(request.base_url).rstrip("/"), q


@router.get("/feed.atom")
async def atom_feed(request: Request) -> Response:
    def build() -> tuple[bytes, str]:
        stories, base, q = _feed_stories(request)
        return feeds.atom(stories, base_url=base, q=q), "application/atom+xml; charset=utf-8"

    return respond(request, build)


@router.get("/feed.json")
async def json_feed(request: Request) -> Response:
    def build() -> tuple[bytes, str]:
        stories, base, q = _feed_stories(request)
        return feeds.json_feed(stories, base_url=base, q=q), "application/feed+json; charset=utf-8"

    return respond(request, build)


def _story_feed(request: Request, story_id: str, kind: str) -> Response:
    moved = _redirect_merged(request, story_id, f"/feed.{kind}")
    if moved is not None:
        return moved
    web = state_of(request)

    def build() -> tuple[bytes, str]:
        data = views.story(web.store, story_id)
        if data is None:
            raise HTTPException(404, "There is no story with this id.")
        entries = story_feeds.entries(web.store, data)
        base = str(request.base_url).rstrip("/")
        if kind == "atom":
            return story_feeds.atom(data, entries, base_url=base), "application/atom+xml; charset=utf-8"
        return story_feeds.json_feed(data, entries, base_url=base), "application/feed+json; charset=utf-8"

    return respond(request, build)


@router.get("/stories/{story_id}/feed.atom")
async def story_atom(request: Request, story_id: str) -> Response:
    """One story's updates as Atom: one entry per day with news."""
    return _story_feed(request, story_id, "atom")


@router.get("/stories/{story_id}/feed.json")
async def story_json_feed(request: Request, story_id: str) -> Response:
    """One story's updates as JSON Feed 1.1."""
    return _story_feed(request, story_id, "json")


@router.get("/docs")
async def docs_page(request: Request) -> Response:
    """The OpenAPI reference: listed server-side, with Swagger UI on top when its CDN is reachable."""
    spec = request.app.openapi()
    endpoints = [{"method": m.upper(), "path": path, "summary": op.get("summary", ""),
                  "description": op.get("description", ""),
                  "params": [{"name": p["name"], "in": p["in"], "description": p.get("description", "")}
                             for p in op.get("parameters", [])]}
                 for path, ops in spec["paths"].items() for m, op in ops.items()]
    return _html(request, "docs.html", lambda: {"endpoints": endpoints, "info": spec["info"], "title": "API"})


# -- editorial forms --------------------------------------------------------------------------
async def _form(request: Request) -> dict[str, str]:
    raw = (await request.body())[:20_000].decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def _edit(request: Request, story_id: str, form: dict[str, str]) -> str:
    engine = state_of(request).engine
    action, note = form.get("action", ""), form.get("note", "")[:500]
    if action == "merge":
        return engine.merge_stories(story_id, form.get("into", "").strip(), note=note)
    if action == "split":
        return engine.split_article(story_id, form.get("article", "").strip(), note=note)
    if action == "pin":
        return engine.pin_headline(story_id, form.get("headline", ""), note=note)
    if action in ("hide", "unhide"):
        return engine.hide_story(story_id, hidden=action == "hide", note=note)
    if action == "undo":
        try:
            log_id = int(form.get("entry", ""))
        except ValueError as exc:
            raise editorial.EditorialError("undo needs the number of a logged action") from exc
        return engine.undo(log_id, note=note) or story_id
    raise editorial.EditorialError(f"unknown editorial action {action!r}")


@router.post("/stories/{story_id}/edit")
async def edit_story(request: Request, story_id: str) -> Response:
    """The story page's editorial form (needs the editor cookie and the form's token)."""
    web = state_of(request)
    form = await _form(request)
    if not web.is_editor(request) or not token_matches(form.get("csrf"), form_token(web.settings.editor_token,
                                                                                       story_id)):
        return error_response(request, 403, "Editorial actions need the editor token "
                                            "(open the story with ?editor_token=...).")
    try:
        with web.lock:
            target = _edit(request, story_id, form)
    except editorial.EditorialError as exc:
        return error_response(request, 404 if exc.not_found else 409, str(exc))
    finally:
        web.wrote()
    return RedirectResponse(f"/stories/{target}", status_code=303)


@router.get("/editor/logout")
async def editor_logout(request: Request) -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(EDITOR_COOKIE, path="/")
    return response
