"""The FastAPI application: its routers, error pages and middleware (state, the response cache
and the response helpers are in :mod:`storyline.web.http`, which the routers import).

Story pages are read-mostly, so every GET response body is cached in process, keyed on the
request and on the database's generation (SQLite's ``data_version``, which changes when any
other process commits, plus a counter bumped by this process's own editorial writes). A
repeated request costs a dictionary lookup; ``If-None-Match`` gets a 304 without a body.
"""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ..config import Settings
from ..store import open_store
from ..store.sqlite import SQLiteStore
from .api import router as api_router
from .health import router as health_router
from .http import (HTML_TYPE, JSON_TYPE, ResponseCache, WebState, cache_key, error_response, etag_of, json_body, respond,
                   state_of)
from .pages import router as pages_router
from .proxy import ProxyAware, canonical_origin, trusted_networks
from .render import STATIC_DIR, environment
from .security import ASGIApp, BodyLimit, EDITOR_COOKIE, EditorGate, Message, Receive, Scope, SecurityHeaders, Send

MAX_BODY_BYTES = 64 * 1024  # editorial forms and JSON bodies are a few hundred bytes


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
    canonical_origin(settings.base_url), trusted_networks(settings.trusted_proxies)  # bad values fail now, by name

    app = _App(
        title="storyline", version="0.1.0", docs_url=None, redoc_url=None, openapi_url="/openapi.json",
        description="News stories from the outlets you choose: every outlet's copy of one event in one place, "
                    "with an attributed extractive summary. Read-only unless an editor token is configured.",
    )
    web = WebState(settings=settings, store=store or open_store(settings), env=environment())
    if web.store.dialect == "postgresql":
        web.store.plan_each_run()  # pages plan for their own parameters (store/postgres.py)
    app.state.web = web
    app.mount("/static/swagger-ui", StaticFiles(directory=swagger_ui_dir()), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(health_router)
    app.include_router(api_router)
    app.include_router(pages_router)
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
