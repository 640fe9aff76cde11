"""Which network addresses storyline may fetch from.

By default storyline refuses to connect to loopback, private, link-local, multicast, reserved
and cloud metadata addresses, so that a feed list (or a redirect, or a DNS answer) can never
make it read a router's admin page or a cloud instance's credentials. The check runs on the
addresses a host name *resolves to*, before every request and after every redirect; the
fetcher also connects to exactly the address that was checked (no second DNS lookup to
rebind). ``Settings.allow_private_network`` (``--allow-private-network``) lifts the policy,
e.g. for an intranet feed or for tests on 127.0.0.1.
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Callable
from urllib.parse import urlsplit

from ..errors import BlockedAddressError, IngestError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

ALLOWED_SCHEMES = ("http", "https")
FLAG = "--allow-private-network"

# Instance metadata services. Most sit in ranges refused anyway (link-local, ULA); they are
# listed so the message can say what the address is, and so none slips through as "global".
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.123",  # AWS time sync
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS DNS/NTP over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (legacy)
    )
)
# Ranges Python's ipaddress (3.11) counts as global but that are not publicly routable.
NON_PUBLIC_NETWORKS: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = (
    (ipaddress.ip_network("192.0.0.0/24"), "an IETF protocol-assignment address (192.0.0.0/24)"),
    (ipaddress.ip_network("fec0::/10"), "a site-local address (fec0::/10)"),
)
# The two 192.0.0.0/24 addresses IANA lists as globally reachable (PCP and TURN anycast).
GLOBAL_EXCEPTIONS = frozenset(ipaddress.ip_address(a) for a in ("192.0.0.9", "192.0.0.10"))
METADATA_HOSTNAMES = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)


def address_problem(ip: IPAddress) -> str:
    """Why ``ip`` must not be fetched from, or ``""`` when it is a public unicast address.

    IPv4-mapped and 6to4/Teredo-embedded IPv4 addresses are judged by the address they carry.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or (ip.sixtofour if ip.sixtofour else None)
        if ip.teredo:
            embedded = ip.teredo[1]
        if embedded is not None:
            inner = address_problem(embedded)
            return f"{inner} (embedded in {ip})" if inner else ""
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for network, label in NON_PUBLIC_NETWORKS:
        if ip.version == network.version and ip in network and ip not in GLOBAL_EXCEPTIONS:
            return label
    checks = (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_unspecified", "the unspecified address"),
        ("is_private", "a private-network address"),
        ("is_reserved", "a reserved address"),
    )
    for attribute, label in checks:
        if getattr(ip, attribute):
            return label
    if not ip.is_global:
        return "a non-public address"
    return ""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6), as strings."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def blocked_message(url: str, address: str, why: str) -> str:
    return (
        f"refused to fetch {url}: it resolves to {address}, {why}; storyline does not fetch "
        f"from loopback, private, link-local or metadata addresses unless you pass {FLAG} "
        "(setting allow_private_network)"
    )


def check_address(url: str, host: str, address: str, *, allow_private: bool) -> IPAddress:
    """Parse ``address`` and raise :class:`BlockedAddressError` if the policy refuses it.

    Raises:
        BlockedAddressError: the address is not public and ``allow_private`` is false.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if allow_private:
        return ip
    why = address_problem(ip)
    if why:
        shown = address if address == host else f"{address} (from {host})"
        raise BlockedAddressError(url, blocked_message(url, shown, why))
    return ip


def url_host_port(url: str) -> tuple[str, int]:
    """Scheme-checked ``(host, port)`` of an absolute http(s) URL.

    Raises:
        IngestError: the URL is not absolute http(s) or has no host.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise IngestError(url, f"not a valid URL ({exc})") from exc
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise IngestError(url, f"only http and https URLs are fetched, not {parts.scheme or 'a relative URL'!r}")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise IngestError(url, "URL has no host name")
    return host, port or (443 if parts.scheme.lower() == "https" else 80)


def check_url(url: str, *, allow_private: bool = False, resolver: Resolver | None = None) -> list[IPAddress]:
    """Resolve the host of ``url`` and check every address it resolves to.

    All addresses must pass, so a name that answers with one public and one private address is
    refused (the connection could land on either).

    Args:
        url: absolute http(s) URL.
        allow_private: ``Settings.allow_private_network``; when true only the scheme is checked.
        resolver: ``(host, port) -> [address, ...]``; the system resolver by default.

    Returns:
        The checked addresses, in resolver order.

    Raises:
        BlockedAddressError: the host is, or resolves to, a refused address.
        IngestError: the URL is malformed or its host does not resolve.
    """
    host, port = url_host_port(url)
    if not allow_private and host in METADATA_HOSTNAMES:
        raise BlockedAddressError(url, blocked_message(url, host, "a cloud metadata host name"))
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        return [check_address(url, host, str(literal), allow_private=allow_private)]
    try:
        addresses = (resolver or system_resolver)(host, port)
    except (OSError, UnicodeError) as exc:
        raise IngestError(url, f"cannot resolve host {host!r} ({exc}); check the URL or your network") from exc
    if not addresses:
        raise IngestError(url, f"host {host!r} resolves to no address")
    return [check_address(url, host, a, allow_private=allow_private) for a in addresses]


def check_subscription(url: str, *, allow_private: bool = False, resolver: Resolver | None = None) -> str:
    """Check a feed address when it is subscribed, as fetching will check it later.

    Returns:
        ``""`` when the address passes, or a warning when its host does not resolve right now
        (that may pass: it is checked again before every fetch).

    Raises:
        BlockedAddressError: the address is refused by the network policy.
        IngestError: not an absolute http(s) URL, or no host — the messages fetching gives.
    """
    try:
        check_url(url, allow_private=allow_private, resolver=resolver)
    except BlockedAddressError:
        raise
    except IngestError as exc:
        if exc.reason.startswith(("cannot resolve host", "host ")):
            return exc.reason
        raise
    return ""


__all__ = [
    "check_subscription",
    "METADATA_ADDRESSES",
    "METADATA_HOSTNAMES",
    "address_problem",
    "check_address",
    "check_url",
    "system_resolver",
    "url_host_port",
]
