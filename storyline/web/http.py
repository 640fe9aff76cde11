"""What every web handler shares: the per-app state, the response cache, and response helpers.

``respond`` serves a built body with an ETag, from the cache when the database has not changed;
``json_body`` and ``error_response`` make the bodies. This module sits below the app
(``app.py``) and its routers (``api.py``, ``pages.py``, ``health.py``), which all import it and
not each other.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from jinja2 import Environment
from starlette.responses import Response

from ..config import Settings
from ..engine import Engine
from ..store import queries
from ..store.sqlite import SQLiteStore
from .security import EDITOR_COOKIE, Scope, editor_cookie_ok

Body = tuple[bytes, str]  # (body, media type)
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


__all__ = [
    "Body",
    "HTML_TYPE",
    "JSON_TYPE",
    "ResponseCache",
    "WebState",
    "cache_key",
    "error_response",
    "etag_of",
    "json_body",
    "respond",
    "state_of",
]
