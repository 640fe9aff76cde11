"""The fetcher against a real HTTP server on loopback, and the address policy."""
from __future__ import annotations

import gzip
import ipaddress
import threading
import time

import httpx
import pytest

from ingest_helpers import LoopbackServer, Route, loopback_settings
from storyline.config import Settings
from storyline.errors import BlockedAddressError, IngestError
from storyline.ingest.fetch import (
    Fetcher,
    FetchError,
    HTTPStatusError,
    RobotsDisallowedError,
    TooLargeError,
    TooManyRedirectsError,
)
from storyline.ingest.safety import address_problem, check_url

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>a</title><link>http://x/a</link></item></channel></rss>'


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


# ---------------------------------------------------------------- address policy

@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.1", "::1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "169.254.1.1",
    "fd00:ec2::254", "fe80::1", "224.0.0.251", "ff02::1", "0.0.0.0", "::", "100.64.0.1", "240.0.0.1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "2002:7f00:1::", "100.100.100.200", "192.0.2.1",
])
def test_non_public_addresses_are_refused(address):
    assert address_problem(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "151.101.1.69"])
def test_public_addresses_pass(address):
    assert address_problem(ipaddress.ip_address(address)) == ""


def test_metadata_address_is_named():
    assert "metadata" in address_problem(ipaddress.ip_address("169.254.169.254"))
    assert "metadata" in address_problem(ipaddress.ip_address("fd00:ec2::254"))


def test_resolved_private_address_refused_with_clear_message():
    resolver = lambda host, port: ["93.184.216.34", "10.0.0.7"]  # noqa: E731 - one bad answer is enough
    with pytest.raises(BlockedAddressError) as info:
        check_url("https://news.example/feed", resolver=resolver)
    message = str(info.value)
    assert "https://news.example/feed" in message and "10.0.0.7" in message and "--allow-private-network" in message


def test_allow_private_lifts_the_policy_but_not_the_scheme_check():
    resolver = lambda host, port: ["10.0.0.7"]  # noqa: E731
    assert check_url("http://intranet.example/", allow_private=True, resolver=resolver)
    with pytest.raises(IngestError, match="only http and https"):
        check_url("file:///etc/passwd", allow_private=True)
    with pytest.raises(BlockedAddressError, match="metadata"):
        check_url("http://metadata.google.internal/computeMetadata/v1/")


def test_loopback_refused_by_default_and_nothing_is_sent(server):
    server.routes["/feed"] = Route(body=FEED)
    with Fetcher(Settings(per_host_delay=0)) as fetcher, pytest.raises(BlockedAddressError) as info:
        fetcher.fetch(server.url("/feed"))
    assert "127.0.0.1" in str(info.value) and "--allow-private-network" in str(info.value)
    assert server.requests == []


def test_name_resolving_to_loopback_refused_and_connection_pinned(server):
    server.routes["/feed"] = Route(body=FEED)
    port = server.base.rsplit(":", 1)[1]
    resolver = lambda host, p: ["127.0.0.1"] if host == "feeds.example" else []  # noqa: E731
    with Fetcher(Settings(per_host_delay=0), resolver=resolver) as fetcher, pytest.raises(BlockedAddressError):
        fetcher.fetch(f"http://feeds.example:{port}/feed")
    # allowed: the connection goes to the address the resolver gave (no second, system lookup)
    with Fetcher(loopback_settings(), resolver=resolver) as fetcher:
        assert fetcher.fetch(f"http://feeds.example:{port}/feed").content == FEED


def test_dns_rebinding_between_check_and_connect_is_refused(server):
    server.routes["/feed"] = Route(body=FEED)
    port = server.base.rsplit(":", 1)[1]
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # public when checked, loopback when connecting
    resolver = lambda host, p: next(answers)  # noqa: E731
    with Fetcher(Settings(per_host_delay=0), resolver=resolver) as fetcher, pytest.raises(BlockedAddressError):
        fetcher.fetch(f"http://rebind.example:{port}/feed")
    assert server.requests == []


class _PoolOfAnotherRelease:
    """httpx's connection pool as a later release might hold it: it handles requests, but is not
    the ``httpcore.ConnectionPool`` whose network backend storyline's address guard replaces."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def handle_request(self, request: object) -> object:
        return self._inner.handle_request(request)  # type: ignore[attr-defined]

    def close(self) -> None:
        self._inner.close()  # type: ignore[attr-defined]


def test_an_httpx_whose_pool_changed_is_refused_not_used_unguarded(server, monkeypatch):
    """The guard at connect time goes into httpx's private pool (httpx has no public hook). If a
    release moves it, the guard is not there: a name checked as public then connects wherever the
    system resolves it (here: localhost, the loopback server). That is refused when fetching starts,
    with what to do; with private addresses allowed there is nothing to guard and it fetches."""
    server.routes["/feed"] = Route(body=FEED)
    port = server.base.rsplit(":", 1)[1]

    class Changed(httpx.HTTPTransport):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            self._pool = _PoolOfAnotherRelease(self._pool)  # type: ignore[assignment]

    monkeypatch.setattr(httpx, "HTTPTransport", Changed)
    public = lambda host, p: ["93.184.216.34"]  # noqa: E731
    with pytest.raises(IngestError) as refused:
        Fetcher(Settings(per_host_delay=0), resolver=public)
    assert "cannot check the address of each connection" in str(refused.value)
    assert f"httpx {httpx.__version__}" in str(refused.value) and "allow_private_network" in str(refused.value)
    assert server.requests == []
    with Fetcher(loopback_settings()) as fetcher:
        assert fetcher.fetch(f"http://localhost:{port}/feed").content == FEED


@pytest.mark.parametrize("target", [
    "http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:8080/admin", "http://[fd00:ec2::254]/",
    "http://internal.example/secret",
])
def test_redirect_to_private_address_refused(target):
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": target})

    resolver = lambda host, port: {"news.example": ["93.184.216.34"], "internal.example": ["10.9.9.9"]}[host]  # noqa: E731
    with Fetcher(Settings(per_host_delay=0), transport=httpx.MockTransport(answer), resolver=resolver) as fetcher:
        with pytest.raises(BlockedAddressError) as info:
            fetcher.fetch("http://news.example/feed")
    assert seen == ["http://news.example/feed"]
    assert target.split("/")[2].strip("[]").split(":")[0] in str(info.value) or "10.9.9.9" in str(info.value)


# ---------------------------------------------------------------- HTTP behaviour on loopback

def test_user_agent_and_redirect_chain(server):
    server.routes["/a"] = Route(status=301, headers={"Location": "/b"})
    server.routes["/b"] = Route(status=302, headers={"Location": server.url("/c")})
    server.routes["/c"] = Route(status=307, headers={"Location": "/final"})
    server.routes["/final"] = Route(body=FEED, headers={"Content-Type": "application/rss+xml"})
    with Fetcher(loopback_settings(user_agent="storyline-test/9 (+mailto:x@example.org)")) as fetcher:
        result = fetcher.fetch(server.url("/a"))
    assert result.url == server.url("/final") and result.status == 200 and result.content == FEED
    assert result.redirects == [server.url("/a"), server.url("/b"), server.url("/c")]
    assert result.content_type == "application/rss+xml"
    assert all(h["User-Agent"].startswith("storyline-test/9") for _, h, _ in server.requests)


def test_too_many_redirects_and_loops(server):
    for i in range(8):
        server.routes[f"/r{i}"] = Route(status=302, headers={"Location": f"/r{i + 1}"})
    server.routes["/loop"] = Route(status=302, headers={"Location": "/loop"})
    with Fetcher(loopback_settings()) as fetcher:
        with pytest.raises(TooManyRedirectsError, match="more than 5"):
            fetcher.fetch(server.url("/r0"))
        with pytest.raises(TooManyRedirectsError, match="loop"):
            fetcher.fetch(server.url("/loop"))
    assert server.hits("/r6") == 0


@pytest.mark.parametrize("status", [404, 410, 500, 503])
def test_error_statuses(server, status):
    server.routes["/x"] = Route(status=status, body=b"nope")
    with Fetcher(loopback_settings()) as fetcher, pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(server.url("/x"))
    assert info.value.status == status and f"HTTP {status}" in str(info.value)
    assert server.url("/x") in str(info.value)


def test_conditional_get_etag_and_last_modified(server):
    server.routes["/e"] = Route(body=FEED, etag='"v1"')
    server.routes["/m"] = Route(body=FEED, last_modified="Mon, 03 Apr 2023 01:02:03 GMT")
    with Fetcher(loopback_settings()) as fetcher:
        first = fetcher.fetch(server.url("/e"))
        assert first.etag == '"v1"' and not first.not_modified
        again = fetcher.fetch(server.url("/e"), etag=first.etag)
        assert again.not_modified and again.status == 304 and again.content == b"" and again.etag == '"v1"'
        first = fetcher.fetch(server.url("/m"))
        again = fetcher.fetch(server.url("/m"), last_modified=first.last_modified)
        assert again.not_modified and again.last_modified == "Mon, 03 Apr 2023 01:02:03 GMT"
    assert server.requests[1][1]["If-None-Match"] == '"v1"'


def test_size_caps(server):
    server.routes["/big"] = Route(body=b"x" * 5000)
    server.routes["/bomb"] = Route(body=b"<rss>" + b" " * 2_000_000 + b"</rss>", gzip=True)
    server.routes["/ok.gz"] = Route(body=FEED, gzip=True)
    with Fetcher(loopback_settings(max_fetch_bytes=4000)) as fetcher:
        with pytest.raises(TooLargeError, match="max_fetch_bytes"):
            fetcher.fetch(server.url("/big"))
        with pytest.raises(TooLargeError, match="decompressed"):
            fetcher.fetch(server.url("/bomb"))  # ~2 kB on the wire, 2 MB inflated
        assert fetcher.fetch(server.url("/ok.gz")).content == FEED


def test_slow_and_truncated_responses(server):
    server.routes["/slow"] = Route(body=FEED, delay=1.5)
    server.routes["/drip"] = Route(body=b"y" * 400, drip=0.05)
    server.routes["/cut"] = Route(body=FEED, truncate_to=40)
    with Fetcher(loopback_settings(fetch_timeout=0.5)) as fetcher:
        with pytest.raises(FetchError, match="timed out"):
            fetcher.fetch(server.url("/slow"))
        with pytest.raises(FetchError, match="still arriving"):
            fetcher.fetch(server.url("/drip"))  # each piece is in time, the whole is not
        with pytest.raises(FetchError, match="broke off"):
            fetcher.fetch(server.url("/cut"))


def test_per_host_politeness_delay(server):
    server.routes["/p"] = Route(body=b"ok")
    with Fetcher(loopback_settings(per_host_delay=0.25)) as fetcher:
        threads = [threading.Thread(target=fetcher.fetch, args=(server.url("/p"),)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    times = sorted(t for p, _, t in server.requests if p == "/p")
    assert len(times) == 3
    assert all(b - a >= 0.2 for a, b in zip(times, times[1:], strict=False))


def test_concurrency_limit(server):
    active, peak, lock = [0], [0], threading.Lock()

    def body(_handler) -> bytes:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return b"ok"

    for i in range(6):
        server.routes[f"/c{i}"] = Route(body=body)
    with Fetcher(loopback_settings(max_concurrency=2)) as fetcher:
        threads = [threading.Thread(target=fetcher.fetch, args=(server.url(f"/c{i}"),)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert peak[0] == 2


def test_robots_txt_respected_and_cached(server):
    server.routes["/robots.txt"] = Route(body=b"User-agent: storyline\nDisallow: /private/\n\nUser-agent: *\nDisallow: /",
                                         headers={"Content-Type": "text/plain"})
    server.routes["/private/page.html"] = Route(body=b"<html></html>")
    server.routes["/news/page.html"] = Route(body=b"<html></html>")
    with Fetcher(loopback_settings()) as fetcher:
        with pytest.raises(RobotsDisallowedError, match="robots.txt"):
            fetcher.fetch(server.url("/private/page.html"), check_robots=True)
        assert fetcher.fetch(server.url("/news/page.html"), check_robots=True).status == 200
        assert fetcher.fetch(server.url("/private/page.html")).status == 200  # feeds are not checked
        server.routes["/news/moved"] = Route(status=301, headers={"Location": "/private/page.html"})
        with pytest.raises(RobotsDisallowedError, match="redirected"):
            fetcher.fetch(server.url("/news/moved"), check_robots=True)
    assert server.hits("/robots.txt") == 1
    assert server.hits("/private/page.html") == 1


def test_robots_missing_allows_and_server_error_disallows(server):
    with Fetcher(loopback_settings()) as fetcher:
        server.routes["/a.html"] = Route(body=b"<html></html>")
        assert fetcher.allowed_by_robots(server.url("/a.html"))  # 404 robots.txt: all allowed
    with Fetcher(loopback_settings()) as fetcher:
        server.routes["/robots.txt"] = Route(status=503)
        assert not fetcher.allowed_by_robots(server.url("/a.html"))


def test_gzip_files_served_compressed_are_decoded(server):
    page = b"<html><body>" + b"<p>hello</p>" * 100 + b"</body></html>"
    server.routes["/page"] = Route(body=page, gzip=True, headers={"Content-Type": "text/html"})
    with Fetcher(loopback_settings()) as fetcher:
        assert fetcher.fetch(server.url("/page")).content == page
    assert gzip.compress(page) != page
