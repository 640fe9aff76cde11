"""Where a request came from and which address links carry, decided by settings, not by clients.

Behind a reverse proxy the socket's peer is the proxy; the proxy says who the client was
(``X-Forwarded-For``) and whether it spoke HTTPS (``X-Forwarded-Proto``). Anyone can send those
headers, so :class:`ProxyAware` believes them only from the addresses in
``Settings.trusted_proxies``. Absolute links (feed ids and links) start with
``Settings.base_url``; without it, with the address the server is listening on. The request's
``Host`` header is never used for either: a client that forges it changes nothing, for itself or
(through the response cache) for anyone else.
"""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from ..config import Settings
from ..errors import ConfigError
from .security import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(value: str) -> list[Network]:
    """``Settings.trusted_proxies`` parsed: ``"127.0.0.1, 10.0.0.0/8, ::1"``.

    Raises:
        ConfigError: an entry is not an IP address or network.
    """
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"trusted_proxies: {item!r} is not an IP address or network "
                              "(e.g. 127.0.0.1 or 10.0.0.0/8)") from None
    return networks


def canonical_origin(base_url: str) -> tuple[str, str] | None:
    """``(scheme, host[:port])`` of ``Settings.base_url``, or None when it is empty.

    Raises:
        ConfigError: not an absolute http(s) URL of a site's root.
    """
    if not base_url.strip():
        return None
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"base_url {base_url!r} must be an absolute http(s) address, e.g. https://news.example.org")
    if parts.path.strip("/") or parts.query or parts.fragment or parts.username:
        raise ConfigError(f"base_url {base_url!r}: serve storyline at the root of its own host name "
                          "(https://news.example.org), without a path, query or user")
    return parts.scheme, parts.netloc.lower()


def _in(host: str, networks: list[Network]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in net for net in networks)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> list[str]:
    return [v.decode("latin-1") for k, v in headers if k.lower() == name]


class ProxyAware:
    """ASGI middleware fixing ``scheme``, ``client`` and the ``Host`` header every later layer sees.

    * From a trusted proxy: the client is the right-most ``X-Forwarded-For`` address that is not
      itself a trusted proxy; the scheme is the last ``X-Forwarded-Proto`` value (http/https).
    * The ``Host`` header is replaced by ``base_url``'s host (and the scheme by its scheme), or,
      without ``base_url``, by the address the connection arrived at.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.trusted = trusted_networks(settings.trusted_proxies)
        self.origin = canonical_origin(settings.base_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        headers = list(scope.get("headers", []))
        client = scope.get("client")
        if client and self.trusted and _in(client[0], self.trusted):
            self._believe_proxy(scope, headers)
        if self.origin is not None:
            scope["scheme"], host = self.origin
        else:
            server = scope.get("server") or ("127.0.0.1", 80)
            name = f"[{server[0]}]" if ":" in str(server[0]) else str(server[0])
            default = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(scope.get("scheme", "http"))
            host = name if server[1] in (None, default) else f"{name}:{server[1]}"
        scope["headers"] = [(k, v) for k, v in headers if k.lower() != b"host"] + [(b"host", host.encode("latin-1"))]
        await self.app(scope, receive, send)

    def _believe_proxy(self, scope: Scope, headers: list[tuple[bytes, bytes]]) -> None:
        protos = [p.strip().lower() for value in _header(headers, b"x-forwarded-proto") for p in value.split(",")]
        if protos and protos[-1] in ("http", "https"):
            scope["scheme"] = protos[-1] if scope["type"] == "http" else protos[-1].replace("http", "ws")
        hops = [h.strip() for value in _header(headers, b"x-forwarded-for") for h in value.split(",") if h.strip()]
        for hop in reversed(hops):
            if not _in(hop, self.trusted):
                try:
                    ipaddress.ip_address(hop)
                except ValueError:
                    return  # not an address: believe nothing further along the chain
                scope["client"] = (hop, 0)
                return


__all__ = ["ProxyAware", "canonical_origin", "trusted_networks"]
