"""The FastAPI application: state, response cache with ETags, error pages, middleware.

Story pages are read-mostly, so every GET response body is cached in process, keyed on the
request and on the database's generation (SQLite's ``data_version``, which changes when any
other process commits, plus a counter bumped by this process's own editorial writes). A
repeated request costs a dictionary lookup; ``If-None-Match`` gets a 304 without a body.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ..config import Settings
from ..store import open_store, queries
from ..engine import Engine
from ..store.sqlite import SQLiteStore
from . import render
from .security import (EDITOR_COOKIE, ASGIApp, BodyLimit, EditorGate, Message, Receive, Scope, SecurityHeaders, Send,
                       editor_cookie_ok)

Body = tuple[bytes, str]  # (body, media type)
MAX_BODY_BYTES = 64 * 1024  # editorial forms and JSON bodies are a few hundred bytes
JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"


@dataclass(slots=True)
class _Entry:
    generation: tuple[int, int]
    body: bytes
    media_type: str
    etag: str


class ResponseCache:
    """An LRU of response bodies bounded in entries *and* bytes, each valid for one database
    generation. A body larger than ``max_entry_bytes`` is not cached; keys count too, so
    thousands of query-string variants of one page cannot grow the server without bound."""

    def __init__(self, size: int = 4096, *, max_bytes: int = 64 << 20, max_entry_bytes: int = 4 << 20) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _cost(key: str, entry: _Entry) -> int:
        return len(entry.body) + len(key) + len(entry.etag) + len(entry.media_type) + 200

    def get(self, key: str, generation: tuple[int, int]) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.generation != generation:
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: _Entry) -> None:
        cost = self._cost(key, entry)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= self._cost(key, old)
            if cost > self.max_entry_bytes:
                return
            self._entries[key] = entry
            self.bytes += cost
            while len(self._entries) > self.size or self.bytes > self.max_bytes:
                gone_key, gone = self._entries.popitem(last=False)
                self.bytes -= self._cost(gone_key, gone)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass
class WebState:
    """What every request handler shares: the store (one connection, used under a lock)."""

    settings: Settings
    store: SQLiteStore
    env: Environment
    cache: ResponseCache = field(default_factory=ResponseCache)
    lock: threading.RLock = field(default_factory=threading.RLock)
    writes: int = 0
    _engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """The engine the editorial actions go through (built on first use: it loads models)."""
        with self.lock:
            if self._engine is None:
                self._engine = Engine(self.store, self.settings)
            return self._engine

    def generation(self) -> tuple[int, int]:
        with self.lock:
            return queries.data_version(self.store), self.writes

    def wrote(self) -> None:
        with self.lock:
            self.writes += 1

    @property
    def editing_enabled(self) -> bool:
        return bool(self.settings.editor_token)

    def is_editor(self, request: Request) -> bool:
        """True when the request carries the editor cookie for the configured token."""
        return editor_cookie_ok(request.cookies.get(EDITOR_COOKIE), self.settings.editor_token)

    def html(self, template: str, **context: Any) -> bytes:
        return self.env.get_template(template).render(**context).encode("utf-8", "replace")


def state_of(request: Request) -> WebState:
    return request.app.state.web  # type: ignore[no-any-return]


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return etag in tags or "*" in tags


def _finish(request: Request, body: bytes, media_type: str, etag: str, private: bool) -> Response:
    headers = {"ETag": etag, "Cache-Control": "private, no-store" if private else "no-cache",
               "Vary": "Cookie"}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def cache_key(scope: Scope) -> str:
    query: bytes = scope.get("query_string", b"")
    host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")  # set by ProxyAware, never the client's
    return f"{scope.get('scheme', 'http')}://{host}{scope['path']}?{query.decode('latin-1')}"


def respond(request: Request, build: Callable[[], Body], *, cache: bool = True) -> Response:
    """Serve ``build()``'s body with an ETag, from the cache when the database has not changed."""
    web = state_of(request)
    key = cache_key(request.scope)
    generation = web.generation()
    entry = web.cache.get(key, generation) if cache else None
    if entry is None:
        with web.lock:
            body, media_type = build()
        entry = _Entry(generation, body, media_type, etag_of(body))
        if cache:
            web.cache.put(key, entry)
    return _finish(request, entry.body, entry.media_type, entry.etag, private=not cache)


class CachedResponses:
    """ASGI middleware answering a GET from the response cache before routing (editors excepted).

    Only bodies that :func:`respond` cached for anonymous readers are served here, so this is
    the same answer the route would give, minus the routing and rendering.
    """

    def __init__(self, app: ASGIApp, web: WebState) -> None:
        self.app, self.web = app, web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] == "/healthz":  # health: never cached
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        entry = None
        if EDITOR_COOKIE.encode() not in headers.get(b"cookie", b""):
            entry = self.web.cache.get(cache_key(scope), self.web.generation())
        if entry is None:
            await self.app(scope, receive, send)
            return
        inm = headers.get(b"if-none-match", b"").decode("latin-1")
        fresh = bool(inm) and (entry.etag in {t.strip().removeprefix("W/") for t in inm.split(",")} or inm == "*")
        out = [(b"etag", entry.etag.encode()), (b"cache-control", b"no-cache"), (b"vary", b"Cookie")]
        if not fresh:
            out += [(b"content-type", entry.media_type.encode()), (b"content-length", str(len(entry.body)).encode())]
        await send({"type": "http.response.start", "status": 304 if fresh else 200, "headers": out})
        await send({"type": "http.response.body", "body": b"" if fresh else entry.body})


class HeadAsGet:
    """ASGI middleware answering HEAD like GET without the body (feed readers and link checkers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


def json_body(data: Any) -> Body:
    # a lone surrogate in a value stored before the ingest boundary becomes a \\uXXXX escape (valid JSON)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace"), JSON_TYPE


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/feed.")) or path == "/openapi.json"


def error_response(request: Request, status: int, message: str) -> Response:
    """A JSON error for API paths, an HTML page for everything else."""
    if _wants_json(request):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    web = state_of(request)
    body = web.html("error.html", status=status, message=message, q="", editor=False)
    return Response(body, status_code=status, media_type=HTML_TYPE)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = "There is nothing at this address."
        response = error_response(request, exc.status_code, message)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        import logging

        logging.getLogger("storyline.web").error("%s %s failed: %s: %s", request.method, request.url.path,
                                                 type(exc).__name__, exc, exc_info=exc)
        try:
            return error_response(request, 500, "Something went wrong on this server; the error is in its log.")
        except Exception:  # noqa: BLE001 - the error page itself failed: plain text, still with the headers
            return Response("internal server error", status_code=500, media_type="text/plain; charset=utf-8")

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return error_response(request, 422, f"invalid request: {problems}")


def swagger_ui_dir() -> str:
    """Swagger UI 5's bundle and stylesheet, as the fastapi-offline package ships them."""
    from importlib import resources

    return str(resources.files("fastapi_offline") / "static")


def create_app(settings: Settings, *, store: SQLiteStore | None = None) -> FastAPI:
    """The storyline web application over the store named by ``settings``.

    Args:
        settings: data directory, editor token, ...
        store: an already open store to serve (tests); opened from ``settings`` when None.

    Returns:
        A FastAPI app serving pages, the JSON API (OpenAPI at ``/docs``) and feeds.
    """
    from . import api, health, pages
    from .proxy import ProxyAware, canonical_origin, trusted_networks

    canonical_origin(settings.base_url), trusted_networks(settings.trusted_proxies)  # bad values fail now, by name

    app = _App(
        title="storyline", version="0.1.0", docs_url=None, redoc_url=None, openapi_url="/openapi.json",
        description="News stories from the outlets you choose: every outlet's copy of one event in one place, "
                    "with an attributed extractive summary. Read-only unless an editor token is configured.",
    )
    web = WebState(settings=settings, store=store or open_store(settings), env=render.environment())
    app.state.web = web
    app.mount("/static/swagger-ui", StaticFiles(directory=swagger_ui_dir()), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=render.STATIC_DIR), name="static")
    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(pages.router)
    _install_errors(app)
    app.add_middleware(CachedResponses, web=web)
    app.add_middleware(HeadAsGet)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    # outside the body limit: an unauthenticated editorial request is refused (403) before its body is read
    app.add_middleware(EditorGate, token=lambda: web.settings.editor_token,
                       reject=lambda scope, status, message: (web.html("error.html", status=status, message=message,
                                                                       q="", editor=False), HTML_TYPE))
    app.add_middleware(ProxyAware, settings=settings)  # outermost: scheme, client and Host from settings, not clients
    return app  # SecurityHeaders wraps the whole stack (see _App), so 500 pages carry the headers too


class _App(FastAPI):
    """FastAPI whose outermost layer adds the security headers: Starlette's ServerErrorMiddleware
    sits outside every added middleware, so only a wrapper around the built stack reaches its
    500 responses."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


__all__ = [
    "HTML_TYPE",
    "JSON_TYPE",
    "ResponseCache",
    "WebState",
    "create_app",
    "error_response",
    "etag_of",
    "json_body",
    "respond",
    "state_of",
]
