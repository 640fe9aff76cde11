"""Security for the web interface: safe links, response headers, the editor token.

Everything an article brings (title, text, URL, outlet name) is untrusted. Templates escape
text (Jinja2 autoescape); URLs become links only through :func:`safe_href`, which accepts
absolute ``http(s)`` URLs and nothing else (no ``javascript:``, ``data:``, ``vbscript:``,
relative or protocol-relative URLs).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

EDITOR_COOKIE = "storyline_editor"
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f<>\"'`\\]")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# The API docs page runs Swagger UI 5 from the assets of the fastapi-offline package, served under
# /static/swagger-ui: no CDN, works offline; Swagger UI sets inline styles, hence 'unsafe-inline'
# for styles on that page only (still no inline script).
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]


def safe_href(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL safe to put in an ``href``, else None."""
    if not url or len(url) > 4096 or _UNSAFE_CHARS.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


class SecurityHeaders:
    """ASGI middleware adding Content-Security-Policy and related headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = (DOCS_CSP if scope.get("path") == "/docs" else CSP).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"content-security-policy"]
                headers.append((b"content-security-policy", csp))
                headers.extend(_COMMON_HEADERS)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


_EDITOR_API = re.compile(r"^/api/stories/[^/]+/(?:merge|split|pin)/?$")
_EDITOR_FORM = re.compile(r"^/stories/[^/]+/edit/?$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EDITOR_DISABLED = ("editorial actions are disabled on this server: start it with an editor token "
                   "(Settings.editor_token, or STORYLINE_EDITOR_TOKEN for `storyline serve`)")
EDITOR_BEARER = "editorial actions need the header `Authorization: Bearer <editor token>`"
EDITOR_FORM = "Editorial actions need the editor token (open the story with ?editor_token=...)."
Reject = Callable[[Scope, int, str], tuple[bytes, str]]


async def _answer(send: Send, status: int, body: bytes, media_type: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _json_error(status: int, message: str) -> tuple[bytes, str]:
    return json.dumps({"error": message, "status": status}).encode(), "application/json"


class EditorGate:
    """ASGI middleware refusing editorial requests without the editor token *before* their body
    is read (an unauthenticated 50 MB body gets a 403, not a parse): the API actions need
    ``Authorization: Bearer <token>``, the story page's form the editor cookie. The routes check
    again (and the form its anti-forgery token)."""

    def __init__(self, app: ASGIApp, token: Callable[[], str], reject: Reject | None = None) -> None:
        self.app, self.token, self.reject = app, token, reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _BODY_METHODS:
            path = scope.get("path", "")
            problem = ""
            if _EDITOR_API.match(path):
                problem = self._api_problem(scope)
                if problem:
                    await _answer(send, 403, *_json_error(403, problem))
                    return
            elif _EDITOR_FORM.match(path) and not editor_cookie_ok(_cookie(scope, EDITOR_COOKIE), self.token()):
                body, media = (self.reject or (lambda s, st, m: _json_error(st, m)))(scope, 403, EDITOR_FORM)
                await _answer(send, 403, body, media)
                return
        await self.app(scope, receive, send)

    def _api_problem(self, scope: Scope) -> str:
        token = self.token()
        if not token:
            return EDITOR_DISABLED
        scheme, _, given = _header(scope, b"authorization").partition(" ")
        return "" if scheme.lower() == "bearer" and token_matches(given.strip(), token) else EDITOR_BEARER


class BodyLimit:
    """ASGI middleware answering 413 to a request body over ``max_bytes``: at once from its
    Content-Length, or as soon as a chunked body passes the limit (the app then sees a
    disconnect and whatever it sends is dropped)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        message = f"request body is larger than {self.max_bytes:,} bytes; refused"
        declared = _header(scope, b"content-length")
        if declared and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _answer(send, 413, *_json_error(413, message))
            return
        seen, refused = 0, False

        async def counting_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    await _answer(send, 413, *_json_error(413, message))
                    return {"type": "http.disconnect"}
            return msg

        async def guarded_send(msg: Message) -> None:
            if not refused:
                await send(msg)

        await self.app(scope, counting_receive, guarded_send)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def _cookie(scope: Scope, name: str) -> str | None:
    from http.cookies import CookieError, SimpleCookie

    raw = _header(scope, b"cookie")
    if not raw:
        return None
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    return jar[name].value if name in jar else None


def editor_cookie_ok(given: str | None, token: str) -> bool:
    """True when editing is enabled and ``given`` is the editor cookie for ``token`` (constant-time)."""
    if not token or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), cookie_value(token).encode("utf-8"))


def token_matches(given: str | None, expected: str) -> bool:
    """True when editing is enabled and ``given`` is the editor token (constant-time compare)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def cookie_value(token: str) -> str:
    """What the editor cookie holds: a digest of the token, never the token itself."""
    return hashlib.sha256(b"storyline-editor\0" + token.encode("utf-8")).hexdigest()


def form_token(token: str, story_id: str) -> str:
    """A per-story anti-forgery value for the editorial forms."""
    return hmac.new(token.encode("utf-8"), b"form\0" + story_id.encode("utf-8"), hashlib.sha256).hexdigest()


__all__ = ["CSP", "EDITOR_COOKIE", "BodyLimit", "EditorGate", "SecurityHeaders", "cookie_value", "editor_cookie_ok",
           "form_token", "safe_href", "token_matches"]
