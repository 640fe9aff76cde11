"""Security for the web interface: safe links, response headers, the editor token.

Everything an article brings (title, text, URL, outlet name) is untrusted. Templates escape
text (Jinja2 autoescape); URLs become links only through :func:`safe_href`, which accepts
absolute ``http(s)`` URLs and nothing else (no ``javascript:``, ``data:``, ``vbscript:``,
relative or protocol-relative URLs).
"""
from __future__ import annotations

import hashlib
import hmac
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
# The API docs page loads Swagger UI from its CDN when the network allows (the page also lists
# every endpoint server-side, so it works offline); still no inline script.
DOCS_CSP = ("default-src 'self'; script-src 'self' https://cdn.jsdelivr.net; "
            "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
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


__all__ = ["CSP", "EDITOR_COOKIE", "SecurityHeaders", "cookie_value", "form_token", "safe_href", "token_matches"]
