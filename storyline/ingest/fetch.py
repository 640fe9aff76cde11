"""A polite, safe HTTP fetcher for feeds and article pages (httpx, threads).

What it guarantees, per request:

- the address policy of :mod:`storyline.ingest.safety` on the first URL and on every redirect
  hop (at most :data:`MAX_REDIRECTS`), and the socket connects to the address that was checked;
- a ``User-Agent`` (``Settings.user_agent``), a timeout per network operation and a deadline
  for the whole response (``Settings.fetch_timeout``);
- a cap on the body both as sent and after decompression (``Settings.max_fetch_bytes``):
  storyline asks only for gzip/deflate and decompresses itself, chunk by bounded chunk;
- conditional GET (``If-None-Match`` / ``If-Modified-Since``); a 304 is a result, not an error;
- at most ``Settings.max_concurrency`` requests at once, and requests to one host spaced by
  ``Settings.per_host_delay`` seconds;
- robots.txt (RFC 9309) for article pages when asked (``check_robots=True``), cached per host.

Every failure is an :class:`~storyline.errors.IngestError` subclass whose message says what was
fetched, what went wrong and what to do.
"""
from __future__ import annotations

import threading
import time
import urllib.robotparser
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterable
from urllib.parse import urljoin, urlsplit

import httpx

from ..config import Settings
from ..errors import BlockedAddressError, IngestError
from .safety import Resolver, check_address, check_url, system_resolver

MAX_REDIRECTS = 5
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
ACCEPT_FEED = "application/atom+xml, application/rss+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
ACCEPT_PAGE = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


class FetchError(IngestError):
    """A request failed: network error, timeout, or a response storyline will not read."""


class HTTPStatusError(FetchError):
    """The server answered with an error status (4xx/5xx); ``retry_after`` is the delay in
    seconds the server asked for (``Retry-After``), if any."""

    def __init__(self, where: str, reason: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(where, reason)
        self.status = status
        self.retry_after = retry_after


def parse_retry_after(value: str) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class TooLargeError(FetchError):
    """The body (as sent or decompressed) exceeds ``Settings.max_fetch_bytes``."""


class TooManyRedirectsError(FetchError):
    """More than :data:`MAX_REDIRECTS` redirects, or a redirect loop."""


class RobotsDisallowedError(FetchError):
    """robots.txt of the site disallows storyline's User-Agent for this URL."""


@dataclass(slots=True)
class FetchResult:
    """One HTTP response as storyline keeps it.

    ``url`` is the final URL after redirects; ``not_modified`` is true for a 304 answer to a
    conditional GET (then ``content`` is empty and ``etag``/``last_modified`` are the ones sent
    unless the server gave new ones).
    """

    url: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False
    fetched_at: datetime | None = None
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased (``""`` when absent)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


class _GuardedBackend:
    """httpcore network backend that resolves, checks and connects to the checked address."""

    def __init__(self, inner: Any, allow_private: bool, resolver: Resolver) -> None:
        self._inner = inner
        self._allow_private = allow_private
        self._resolver = resolver

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> Any:
        where = f"{host}:{port}"
        try:
            addresses = [host] if _is_ip(host) else self._resolver(host, port)
        except OSError as exc:
            raise IngestError(where, f"cannot resolve host {host!r} ({exc})") from exc
        checked = [str(check_address(where, host, a, allow_private=self._allow_private)) for a in addresses]
        last: Exception | None = None
        for address in checked:
            try:
                return self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                               socket_options=socket_options)
            except Exception as exc:  # noqa: BLE001 - try the next checked address, re-raise the last
                last = exc
        assert last is not None
        raise last

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _guarded_transport(allow_private: bool, resolver: Resolver, max_connections: int) -> httpx.BaseTransport:
    import httpcore

    transport = httpx.HTTPTransport(trust_env=False, limits=httpx.Limits(max_connections=max_connections))
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, httpcore.ConnectionPool) and hasattr(pool, "_network_backend"):
        pool._network_backend = _GuardedBackend(  # type: ignore[assignment]
            pool._network_backend, allow_private, resolver)
    elif not allow_private:  # httpx has no public hook for this: fail loudly rather than fetch unguarded
        raise IngestError(
            f"httpx {httpx.__version__}, httpcore {httpcore.__version__}",
            "storyline cannot check the address of each connection with these releases (their connection pool "
            "changed), so a host name could be re-pointed at a private address between the check and the "
            "connection; nothing is fetched. Install the releases storyline is tested with (httpx 0.27-0.29, "
            "httpcore 1.0), or set allow_private_network if this machine may reach private addresses")
    return transport


class _Decoder:
    """Content-Encoding decoder that never produces more than ``limit`` bytes in total."""

    def __init__(self, encoding: str, limit: int, where: str) -> None:
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._z = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            self._z = zlib.decompressobj(47 if encoding != "deflate" else zlib.MAX_WBITS | 32)
        else:
            raise FetchError(where, f"server used Content-Encoding {encoding!r}, which storyline did not ask for")
        self._limit, self._where, self.size = limit, where, 0
        self._deflate_raw = encoding == "deflate"

    def feed(self, chunk: bytes) -> bytes:
        if self._z is None:
            out = chunk
        else:
            try:
                out = self._z.decompress(chunk, self._limit - self.size + 1)
                if self._z.unconsumed_tail:
                    out += self._z.decompress(self._z.unconsumed_tail, self._limit - self.size - len(out) + 1)
            except zlib.error as exc:
                if self._deflate_raw and self.size == 0:  # some servers send raw deflate
                    self._z, self._deflate_raw = zlib.decompressobj(-zlib.MAX_WBITS), False
                    return self.feed(chunk)
                raise FetchError(self._where, f"compressed body is corrupt ({exc})") from exc
        self.size += len(out)
        if self.size > self._limit:
            raise TooLargeError(self._where, f"body is larger than {self._limit:,} bytes once decompressed "
                                             "(setting max_fetch_bytes); not read")
        return out


class Fetcher:
    """Polite HTTP client shared by the watcher and one-shot ingest; safe to use from threads.

    Args:
        settings: ``user_agent``, ``fetch_timeout``, ``max_fetch_bytes``, ``per_host_delay``,
            ``max_concurrency`` and ``allow_private_network`` are used.
        transport: an httpx transport to use instead of the guarded default (tests); the
            address check before each hop still applies.
        resolver: ``(host, port) -> [address, ...]``; the system resolver by default.
        sleep: the sleep function used for politeness delays.
    """

    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None,
                 resolver: Resolver | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self._resolver = resolver or system_resolver
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(max(1, settings.max_concurrency))
        self._host_lock = threading.Lock()
        self._next_slot: dict[str, float] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser] = {}
        self._robots_unavailable: dict[str, str] = {}
        self._robots_lock = threading.Lock()
        self._client = httpx.Client(
            transport=transport or _guarded_transport(settings.allow_private_network, self._resolver,
                                                      max(1, settings.max_concurrency)),
            timeout=httpx.Timeout(settings.fetch_timeout),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        )

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def fetch(self, url: str, *, etag: str = "", last_modified: str = "", check_robots: bool = False,
              accept: str = ACCEPT_FEED) -> FetchResult:
        """GET ``url`` following up to :data:`MAX_REDIRECTS` redirects, each one checked.

        Args:
            url: absolute http(s) URL.
            etag: ``ETag`` from the previous successful fetch (sent as ``If-None-Match``).
            last_modified: ``Last-Modified`` from the previous fetch (``If-Modified-Since``).
            check_robots: consult robots.txt first (article pages; feeds are exempt since the
                site published them for machines).
            accept: the ``Accept`` header.

        Returns:
            A :class:`FetchResult`; ``not_modified`` is set for a 304.

        Raises:
            BlockedAddressError: a hop resolves to a refused address.
            RobotsDisallowedError: robots.txt disallows the URL.
            HTTPStatusError: 4xx/5xx answer.
            TooLargeError, TooManyRedirectsError, FetchError: see their docs.
        """
        if check_robots and not self.allowed_by_robots(url):
            raise RobotsDisallowedError(url, self.robots_refusal(url))
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        seen: list[str] = []
        current = url
        while True:
            result = self._request(current, headers)
            if result.status not in REDIRECT_CODES:
                break
            location = result.headers.get("location", "")
            if not location:
                raise FetchError(current, f"redirect {result.status} without a Location header")
            seen.append(current)
            current = urljoin(current, location.strip())
            if len(seen) > MAX_REDIRECTS:
                raise TooManyRedirectsError(url, f"more than {MAX_REDIRECTS} redirects (last to {current}); not followed")
            if current in seen:
                raise TooManyRedirectsError(url, f"redirect loop back to {current}")
            if check_robots and not self.allowed_by_robots(current):
                raise RobotsDisallowedError(current, f"redirected from {url}: {self.robots_refusal(current)}")
        result.redirects = seen
        if result.status == 304:
            result.not_modified = True
            result.etag = result.etag or etag
            result.last_modified = result.last_modified or last_modified
            return result
        if result.status >= 400:
            raise HTTPStatusError(result.url, _status_reason(result.status), result.status,
                                  parse_retry_after(result.headers.get("retry-after", "")))
        return result

    def allowed_by_robots(self, url: str) -> bool:
        """Whether robots.txt of ``url``'s site lets ``Settings.user_agent`` fetch it (RFC 9309:
        a missing robots.txt (4xx) allows everything; a server error or an unreachable
        robots.txt disallows everything for now)."""
        key = _origin(url)
        with self._robots_lock:
            parser = self._robots.get(key)
        if parser is None:
            parser = urllib.robotparser.RobotFileParser(key + "/robots.txt")
            try:
                answer = self.fetch(key + "/robots.txt", accept="text/plain, */*;q=0.5")
                parser.parse(answer.content.decode("utf-8", "replace").splitlines())
            except HTTPStatusError as exc:
                if exc.status >= 500:
                    parser.disallow_all = True  # type: ignore[attr-defined]
                    self._robots_unavailable[key] = f"HTTP {exc.status}"
                else:
                    parser.allow_all = True  # type: ignore[attr-defined]
            except BlockedAddressError:
                raise
            except IngestError as exc:
                parser.disallow_all = True  # type: ignore[attr-defined]
                self._robots_unavailable[key] = exc.reason[:160]
            with self._robots_lock:
                self._robots[key] = parser
        return parser.can_fetch(self._agent_token(), url)

    def robots_refusal(self, url: str) -> str:
        """Why robots.txt keeps storyline from ``url``: a real disallow, or a robots.txt that
        could not be fetched (RFC 9309: then nothing is fetched from the site for now)."""
        key = _origin(url)
        problem = self._robots_unavailable.get(key)
        if problem:
            return (f"robots.txt of {key} could not be fetched ({problem}); as RFC 9309 asks, pages of this site "
                    "are not fetched until it can be — not a disallow, storyline will try again later")
        return f"robots.txt of {key} disallows {self._agent_token()!r} for this URL; not fetched"

    def _agent_token(self) -> str:
        return self.settings.user_agent.split("/", 1)[0].split()[0] or "*"

    def _wait_for_host(self, host: str) -> None:
        delay = self.settings.per_host_delay
        if delay <= 0:
            return
        with self._host_lock:
            now = time.monotonic()
            start = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = start + delay
        if start > now:
            self._sleep(start - now)

    def _request(self, url: str, headers: dict[str, str]) -> FetchResult:
        check_url(url, allow_private=self.settings.allow_private_network, resolver=self._resolver)
        host = (urlsplit(url).hostname or "").lower()
        self._wait_for_host(host)
        with self._slots:
            return self._get(url, headers)

    def _get(self, url: str, headers: dict[str, str]) -> FetchResult:
        limit = self.settings.max_fetch_bytes
        total = max(self.settings.fetch_timeout, 0.001) * 3
        deadline = time.monotonic() + total
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                resp_headers = {k.lower(): v for k, v in response.headers.items()}
                result = FetchResult(url=str(response.url), status=response.status_code, headers=resp_headers,
                                     etag=resp_headers.get("etag", ""),
                                     last_modified=resp_headers.get("last-modified", ""),
                                     fetched_at=datetime.now(timezone.utc))
                if response.status_code in REDIRECT_CODES or response.status_code == 304 or response.status_code >= 400:
                    return result
                declared = resp_headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise TooLargeError(url, f"server announces {int(declared):,} bytes, more than the "
                                             f"{limit:,}-byte cap (setting max_fetch_bytes); not read")
                decoder = _Decoder(resp_headers.get("content-encoding", ""), limit, url)
                chunks, raw_size = [], 0
                for chunk in response.iter_raw():
                    raw_size += len(chunk)
                    if raw_size > limit:
                        raise TooLargeError(url, f"body is larger than {limit:,} bytes (setting max_fetch_bytes); not read")
                    chunks.append(decoder.feed(chunk))
                    if time.monotonic() > deadline:
                        raise FetchError(url, f"response still arriving after {total:g}s (3 x fetch_timeout); gave up")
                result.content = b"".join(chunks)
                return result
        except httpx.TimeoutException as exc:
            raise FetchError(url, f"timed out after {self.settings.fetch_timeout:g}s ({type(exc).__name__}); "
                                  "the server is slow or unreachable — try later or raise fetch_timeout") from exc
        except httpx.RemoteProtocolError as exc:
            raise FetchError(url, f"connection broke off before the whole response arrived ({exc})") from exc
        except httpx.HTTPError as exc:
            raise FetchError(url, f"request failed ({type(exc).__name__}: {exc})") from exc


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _status_reason(status: int) -> str:
    try:
        phrase = httpx.codes(status).name.replace("_", " ").lower()
    except ValueError:
        phrase = "error"
    hint = "check the URL" if status < 500 else "the server failed; storyline will retry later"
    return f"server answered HTTP {status} ({phrase}); {hint}"


__all__ = [
    "ACCEPT_FEED",
    "ACCEPT_PAGE",
    "MAX_REDIRECTS",
    "FetchError",
    "FetchResult",
    "Fetcher",
    "HTTPStatusError",
    "RobotsDisallowedError",
    "TooLargeError",
    "TooManyRedirectsError",
    "parse_retry_after",
]
