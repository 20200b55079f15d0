"""One webhook POST that an endpoint cannot steer or stall (issue 34).

- Where: the receiver's host is resolved at every delivery and each address it gives is held to
  the rules — no loopback, private, link-local (the cloud metadata service), multicast, reserved
  or unspecified address, IPv4-mapped ones included — unless it lies in WEBHOOK_ALLOWED_NETWORKS
  (an intranet portal). The connection goes to the address that was checked (a second lookup
  cannot swap it), with the host's name for TLS and Host.
- How long: one deadline for the whole exchange — connecting, TLS, sending, and reading the
  status line; a receiver that answers a byte a second is cut off at the deadline.
- What comes back: the status code only. Redirects are not followed (a 3xx is a failure, so a
  receiver cannot bounce the request inward), and nothing of the receiver's body is read or
  kept — the deliveries log cannot be used to read other servers.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_STATUS_LINE = 8192


class Refused(Exception):
    """The receiver's address is not one a webhook may go to."""


class Failed(Exception):
    """The exchange did not complete: no connection, too slow, or not HTTP."""


def networks(texts: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(t, strict=False) for t in texts)


def _forbidden(address: Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for test, what in (
        (address.is_loopback, "a loopback"),
        (address.is_link_local, "a link-local (metadata service)"),
        (address.is_private, "a private"),
        (address.is_multicast, "a multicast"),
        (address.is_reserved, "a reserved"),
        (address.is_unspecified, "an unspecified"),
    ):
        if test:
            return what
    return None


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


def resolve(url: str, allowed: Iterable[Network] = ()) -> Target:
    """The receiver's checked address; Refused when any address its name gives is forbidden
    (a name that resolves to a public and a private address is refused: it could pick either)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"not an http(s) URL: {url[:100]!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Failed(f"{parts.hostname} does not resolve: {exc}") from exc
    allowed = tuple(allowed)
    addresses = []
    for *_, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0])
        what = _forbidden(address)
        if what and not any(address in network for network in allowed):
            raise Refused(
                f"{parts.hostname} resolves to {address}, {what} address: webhooks go to public "
                "addresses (an intranet portal's network goes in WEBHOOK_ALLOWED_NETWORKS)"
            )
        addresses.append(str(address))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


def check(url: str, allowed: Iterable[Network] = ()) -> None:
    """At subscription: refuse a receiver whose name resolves to a forbidden address now (one
    that does not resolve yet is left to the deliveries, which check again every time)."""
    try:
        resolve(url, allowed)
    except Failed:
        return


def post(
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    deadline: float,
    allowed: Iterable[Network] = (),
) -> int:
    """POST `body`; the status code. Raises Refused, or Failed when it cannot finish within
    `deadline` seconds in all."""
    target = resolve(url, allowed)
    end = time.monotonic() + deadline

    def left() -> float:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise Failed(f"no answer within {deadline:g} s")
        return remaining

    try:
        raw = socket.create_connection((target.address, target.port), timeout=left())
    except OSError as exc:
        raise Failed(f"cannot connect to {target.host}:{target.port}: {exc}") from exc
    try:
        sock: socket.socket = raw
        if target.scheme == "https":
            raw.settimeout(left())
            sock = ssl.create_default_context().wrap_socket(raw, server_hostname=target.host)
        default = 443 if target.scheme == "https" else 80
        host = target.host if target.port == default else f"{target.host}:{target.port}"
        lines = [f"POST {target.path} HTTP/1.1", f"Host: {host}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        sock.settimeout(left())
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        received = b""
        while b"\r\n" not in received:
            sock.settimeout(left())
            chunk = sock.recv(1024)
            if not chunk:
                break
            received += chunk
            if len(received) > MAX_STATUS_LINE:
                break
            left()  # a byte a second still meets the deadline
        status_line = received.split(b"\r\n", 1)[0].decode("latin-1")
        pieces = status_line.split(" ", 2)
        if len(pieces) < 2 or not pieces[0].startswith("HTTP/") or not pieces[1].isdigit():
            raise Failed("the receiver did not answer HTTP")
        return int(pieces[1])
    except TimeoutError as exc:
        raise Failed(f"no answer within {deadline:g} s") from exc
    except (OSError, ssl.SSLError) as exc:
        raise Failed(f"{target.host}: {exc}") from exc
    finally:
        raw.close()
