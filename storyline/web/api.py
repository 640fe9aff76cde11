"""The JSON API: the same view data the pages show, plus editorial actions behind a token."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from starlette.responses import Response

import storyline.web.views as views  # the module itself: "from . import" would import the package
from .. import follow, sources as registry
from ..store import editorial, queries
from .http import json_body, respond, state_of
from .security import token_matches

router = APIRouter(prefix="/api", tags=["api"])

LimitQ = Query(20, ge=1, le=views.MAX_LIMIT, description="items per page (at most 100)")
OffsetQ = Query(0, ge=0, le=1_000_000, description="items to skip")


def _json(request: Request, compute: Callable[[], Any]) -> Response:
    return respond(request, lambda: json_body(compute()))


def _found(data: dict[str, Any] | None, what: str) -> dict[str, Any]:
    if data is None:
        raise HTTPException(404, f"no {what}")
    return data


def _story_or_redirect(request: Request, story_id: str, compute: Callable[[], dict[str, Any] | None],
                       suffix: str = "", *, cache: bool = True) -> Response:
    web = state_of(request)
    with web.lock:
        target = queries.merge_target(web.store, story_id)
    if target and target != story_id:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/api/stories/{target}{suffix}{query}", status_code=301)
    return respond(request, lambda: json_body(_found(compute(), f"story {story_id!r}; list stories with GET "
                                                                 "/api/stories")), cache=cache)


def _is_editor(request: Request) -> bool:
    """True when the request carries the editor token (API readers of hidden stories)."""
    token = state_of(request).settings.editor_token
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and token_matches(given.strip(), token)


@router.get("/stories", summary="Stories, ranked by breadth and freshness (or matching ?q=)")
async def api_stories(request: Request, q: str = Query("", max_length=200, description="search words (FTS5)"),
                since: str = Query("", description="time range: 24h, 3d, 7d or 30d before the newest coverage"),
                outlet: str = Query("", description="only stories this outlet covered"),
                language: str = Query("", description="only stories with articles in this language"),
                kind: str = Query("", max_length=60, description="only stories a registered outlet of this kind covered"),
                country: str = Query("", max_length=60, description="only stories an outlet of this country covered"),
                lean: str = Query("", max_length=60, description="only stories an outlet of this lean covered"),
                limit: int = LimitQ, offset: int = OffsetQ) -> Response:
    """The front page's stories as JSON: {"stories": [...], "total", "limit", "offset", "next_offset"}."""
    web, page = state_of(request), views.Page(limit, offset)
    if q.strip():
        return _json(request, lambda: _searched(web.store, q, outlet, since, page))
    return _json(request, lambda: views.front(web.store, since=since, outlet=outlet, language=language, kind=kind,
                                              country=country, lean=lean, page=page))


def _parse_since(value: str) -> datetime:
    try:
        return follow.parse_since(value)
    except follow.SinceError as exc:
        raise HTTPException(422, str(exc)) from exc


@router.get("/stories/{story_id}", summary="One story: summary, sources, timeline, related, history")
async def api_story(request: Request, story_id: str,
                    since: str = Query("", max_length=64, description="also report what is new since this ISO time")
                    ) -> Response:
    """A story in full (with ``update`` when ``since`` is given). A merged-away id answers 301."""
    web = state_of(request)
    when = _parse_since(since) if since else None
    editor = _is_editor(request)
    return _story_or_redirect(request, story_id,
                              lambda: views.story(web.store, story_id, since=when, include_hidden=editor,
                                                  sources_limit=views.SOURCES_SHOWN),
                              cache=not editor)


@router.get("/stories/{story_id}/sources", summary="Every report of a story, a page at a time")
async def api_story_sources(request: Request, story_id: str,
                            limit: int = Query(views.SOURCES_PAGE, ge=1, le=views.SOURCES_PAGE,
                                               description=f"original reports per page (at most {views.SOURCES_PAGE})"),
                            offset: int = OffsetQ) -> Response:
    """The story's card and ``sources`` (original reports, earliest first, each with all its
    ``reprints``), with ``total``, ``offset``, ``limit``, ``next_offset`` and ``prev_offset``.
    ``GET /api/stories/{id}`` lists the first :data:`views.SOURCES_SHOWN` and links here."""
    web = state_of(request)
    editor = _is_editor(request)
    return _story_or_redirect(request, story_id, lambda: views.story_sources(
        web.store, story_id, page=views.Page(limit=limit, offset=offset), include_hidden=editor), "/sources",
        cache=not editor)


@router.get("/stories/{story_id}/updates", summary="What is new in a story since a time")
async def api_story_updates(request: Request, story_id: str,
                            since: str = Query(..., max_length=64, description="ISO 8601 date or time")) -> Response:
    """Sentences from reports first seen after ``since`` that say something the earlier reports did not,
    each attributed: ``{"story_id", "since", "latest", "new_reports", "new_reprints", "new_outlets",
    "headline", "sentences": [{"text", "outlet", "article_id", "article_title", "url", "href", "published"}],
    "reports": [...]}``."""
    web = state_of(request)
    when = _parse_since(since)
    return _story_or_redirect(request, story_id, lambda: views.story_update(web.store, story_id, when), "/updates")


@router.get("/stories/{story_id}/about", summary="Why each article is in a story")
async def api_story_about(request: Request, story_id: str,
                          limit: int = Query(views.MAX_LIMIT, ge=1, le=views.MAX_LIMIT,
                                             description=f"original reports per page (at most {views.MAX_LIMIT})"),
                          offset: int = OffsetQ) -> Response:
    """Similarity evidence per article: shared terms, similarity to the other reports, reprint
    matches; a page of the original reports at a time (``total``, ``next_offset``)."""
    web = state_of(request)
    page = views.Page(limit=limit, offset=offset)
    return _story_or_redirect(request, story_id, lambda: views.about(web.store, story_id, page), "/about")


@router.get("/articles", summary="Articles, newest first")
async def api_articles(request: Request, outlet: str = Query("", description="only this outlet's articles"),
                 story: str = Query("", description="only this story's articles"),
                 limit: int = LimitQ, offset: int = OffsetQ) -> Response:
    web = state_of(request)
    return _json(request, lambda: views.articles(web.store, outlet=outlet or None, story=story or None,
                                                 page=views.Page(limit, offset)))


@router.get("/articles/{article_id}", summary="One article, with its text and story")
async def api_article(request: Request, article_id: str) -> Response:
    web = state_of(request)
    return _json(request, lambda: _found(views.article(web.store, article_id), f"article {article_id!r}"))


@router.get("/outlets", summary="Outlets with article, reprint and story counts")
async def api_outlets(request: Request) -> Response:
    web = state_of(request)
    return _json(request, lambda: views.outlets(web.store))


@router.get("/outlets/{name:path}", summary="What one outlet covered")
async def api_outlet(request: Request, name: str, limit: int = LimitQ, offset: int = OffsetQ) -> Response:
    web = state_of(request)
    return _json(request, lambda: _found(views.outlet(web.store, name, page=views.Page(limit, offset)),
                                         f"outlet {name!r}"))


def _searched(store: Any, q: str, outlet: str, since: str, page: views.Page) -> dict[str, Any]:
    try:
        return views.search(store, q, outlet=outlet or None, since=since or None, page=page)
    except follow.SinceError as exc:
        raise HTTPException(422, str(exc)) from exc


@router.get("/search", summary="Search stories and articles")
async def api_search(request: Request, q: str = Query("", max_length=200, description="search words"),
                     outlet: str = Query("", max_length=200, description="only this outlet's articles"),
                     since: str = Query("", max_length=64, description="24h, 3d, 7d, 30d or an ISO date or time"),
                     limit: int = LimitQ, offset: int = OffsetQ) -> Response:
    """Words are matched as words (FTS5 operators in q are treated as plain words)."""
    web = state_of(request)
    return _json(request, lambda: _searched(web.store, q, outlet, since, views.Page(limit, offset)))


@router.get("/editorial/log", summary="Editorial actions, newest first")
async def api_editorial_log(request: Request, limit: int = LimitQ) -> Response:
    web = state_of(request)
    return _json(request, lambda: {"actions": editorial.editorial_log(web.store, limit=limit)})


# -- editorial actions ------------------------------------------------------------------------
class MergeRequest(BaseModel):
    into: str = Field(description="the story that absorbs this one")
    note: str = Field("", max_length=500)


class SplitRequest(BaseModel):
    article: str = Field(description="an original article of the story, moved with its reprints to a new story")
    note: str = Field("", max_length=500)


class PinRequest(BaseModel):
    headline: str = Field(description="the headline to pin; empty to unpin", max_length=editorial.MAX_HEADLINE_CHARS)
    note: str = Field("", max_length=500)


def require_editor(request: Request) -> None:
    """403 unless editing is enabled and the request carries ``Authorization: Bearer <token>``."""
    token = state_of(request).settings.editor_token
    if not token:
        raise HTTPException(403, "editorial actions are disabled on this server: start it with an editor token "
                                 "(Settings.editor_token, or STORYLINE_EDITOR_TOKEN for `storyline serve`)")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token_matches(given.strip(), token):
        raise HTTPException(403, "editorial actions need the header `Authorization: Bearer <editor token>`")


def run_action(request: Request, action: Callable[[], str], what: str) -> dict[str, Any]:
    """Run one editorial action against the store and report the story it left."""
    web = state_of(request)
    try:
        with web.lock:
            story_id = action()
    except editorial.EditorialError as exc:
        raise HTTPException(404 if exc.not_found else 409, str(exc)) from exc
    finally:
        web.wrote()
    return {"ok": True, "action": what, "story": story_id, "url": f"/stories/{story_id}",
            "api_url": f"/api/stories/{story_id}"}


@router.post("/stories/{story_id}/merge", summary="Editor: merge this story into another")
async def api_merge(request: Request, story_id: str, body: MergeRequest) -> dict[str, Any]:
    """Needs the header Authorization: Bearer <editor token>; the merged id redirects from then on."""
    require_editor(request)
    engine = state_of(request).engine
    return run_action(request, lambda: engine.merge_stories(story_id, body.into, note=body.note), "merge")


@router.post("/stories/{story_id}/split", summary="Editor: split an article out into a new story")
async def api_split(request: Request, story_id: str, body: SplitRequest) -> dict[str, Any]:
    require_editor(request)
    engine = state_of(request).engine
    return run_action(request, lambda: engine.split_article(story_id, body.article, note=body.note), "split")


class NoteRequest(BaseModel):
    note: str = Field("", max_length=500)


@router.post("/stories/{story_id}/hide", summary="Editor: hide a story from readers")
async def api_hide(request: Request, story_id: str, body: NoteRequest) -> dict[str, Any]:
    """The story leaves every list, search, feed and related list; its page and API answer 404 to
    readers (editors still see it). Undo with /unhide or /api/editorial/{id}/undo."""
    require_editor(request)
    engine = state_of(request).engine
    return run_action(request, lambda: engine.hide_story(story_id, note=body.note), "hide")


@router.post("/stories/{story_id}/unhide", summary="Editor: show a hidden story again")
async def api_unhide(request: Request, story_id: str, body: NoteRequest) -> dict[str, Any]:
    require_editor(request)
    engine = state_of(request).engine
    return run_action(request, lambda: engine.hide_story(story_id, hidden=False, note=body.note), "unhide")


@router.post("/editorial/{log_id}/undo", summary="Editor: undo an editorial action from the log")
async def api_undo(request: Request, log_id: int, body: NoteRequest) -> dict[str, Any]:
    """Merge, split, pin, unpin, hide, unhide and registry changes can be undone once each (409 when
    already undone or when the story changed so that undoing would lose later decisions)."""
    require_editor(request)
    engine = state_of(request).engine
    return run_action(request, lambda: engine.undo(log_id, note=body.note), "undo")


@router.post("/stories/{story_id}/pin", summary="Editor: pin (or, with an empty headline, unpin) a headline")
async def api_pin(request: Request, story_id: str, body: PinRequest) -> dict[str, Any]:
    require_editor(request)
    engine = state_of(request).engine
    return run_action(request, lambda: engine.pin_headline(story_id, body.headline, note=body.note), "pin")


# -- the source registry ----------------------------------------------------------------------
class OutletRequest(BaseModel):
    name: str = Field(description="the outlet's name, as its articles name it", max_length=registry.MAX_NAME)
    domains: list[str] = Field(default_factory=list, description="its web domains (example.com)")
    country: str = Field("", max_length=60)
    language: str = Field("", max_length=20, description="a language code (en, pt-BR)")
    kind: str = Field("", description="one of: " + ", ".join(registry.KINDS))
    lean: str = Field("", description="empty or one of: " + ", ".join(registry.LEANS))
    note: str = Field("", max_length=registry.MAX_NOTE, description="where this description came from")


class OutletChanges(BaseModel):
    name: str | None = Field(None, max_length=registry.MAX_NAME, description="a new name (rename)")
    domains: list[str] | None = None
    country: str | None = Field(None, max_length=60)
    language: str | None = Field(None, max_length=20)
    kind: str | None = None
    lean: str | None = None
    note: str | None = Field(None, max_length=registry.MAX_NOTE)


@router.get("/sources", summary="The source registry: every registered outlet")
async def api_sources(request: Request) -> Response:
    web = state_of(request)
    return _json(request, lambda: views.sources(web.store))


@router.get("/sources/{name:path}", summary="One registered outlet")
async def api_source(request: Request, name: str) -> Response:
    web = state_of(request)
    return _json(request, lambda: _found(views.source(web.store, name), f"registered outlet {name!r}"))


def _registry_write(request: Request, write: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    web = state_of(request)
    try:
        with web.lock:
            return write()
    except registry.SourceError as exc:
        raise HTTPException(404 if exc.not_found else 422, str(exc)) from exc
    finally:
        web.wrote()


@router.post("/sources", summary="Editor: register an outlet", status_code=201)
async def api_add_source(request: Request, body: OutletRequest) -> dict[str, Any]:
    """Needs the header Authorization: Bearer <editor token>."""
    require_editor(request)
    store = state_of(request).store

    def write() -> dict[str, Any]:
        outlet = registry.add_outlet(store, registry.outlet_from(body.model_dump()))
        editorial.log_action(store, "source-add", {"outlet": outlet.to_dict()})
        return {"ok": True, "action": "source-add", "source": outlet.to_dict()}

    return _registry_write(request, write)


@router.patch("/sources/{name:path}", summary="Editor: change a registered outlet")
async def api_edit_source(request: Request, name: str, body: OutletChanges) -> dict[str, Any]:
    """Only the fields given change; ``name`` renames. Needs the editor token."""
    require_editor(request)
    store = state_of(request).store

    def write() -> dict[str, Any]:
        before, after = registry.edit_outlet(store, name, body.model_dump(exclude_none=True))
        editorial.log_action(store, "source-edit", {"before": before.to_dict(), "outlet": after.to_dict()})
        return {"ok": True, "action": "source-edit", "source": after.to_dict()}

    return _registry_write(request, write)
