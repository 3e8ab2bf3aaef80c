"""Fetch remote media (http/https image URLs) for providers that cannot fetch URLs themselves.

Guarded against SSRF: every address a host resolves to (including on redirects, which are followed by hand,
at most 3) must be globally routable (``MediaPolicy``): loopback, private, shared (100.64.0.0/10, which holds
a cloud metadata address), link-local, site-local, multicast, reserved and documentation ranges are refused,
and so are the IPv6 forms that carry an IPv4 address inside (IPv4-mapped, 6to4, NAT64) when that address
is not public, and Teredo. The operator may allow more (``OPENTOKEN_MEDIA_ALLOW_HOSTS``: hosts or networks).

Bounded: at most ``max_urls`` URLs per request (refused before any fetch), ``max_bytes`` per resource and
``max_total_bytes`` per request (counted while reading), ``concurrency`` fetches at a time per request,
and ``timeout`` seconds per fetch. The type is sniffed from the bytes.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from opentoken.core.chat import ChatRequest, ImagePart, Message
from opentoken.core.errors import InvalidRequest, Loc

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"%PDF-", 0, "application/pdf"),
)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_net = ipaddress.ip_network
# special-purpose ranges (IANA registries) that are not globally reachable; Python's ``is_global`` misses some
_NOT_GLOBAL_V4 = tuple(
    _net(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    )
)  # fmt: skip
_NOT_GLOBAL_V6 = tuple(
    _net(n)
    for n in (
        "::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20", "5f00::/16",
        "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)  # fmt: skip
_NAT64 = _net("64:ff9b::/96")
_SIX_TO_FOUR = _net("2002::/16")


def sniff(data: bytes) -> str | None:
    for magic, offset, mime in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return mime
    return None


class MediaPolicy:
    def __init__(self, allow: Sequence[str] = ()) -> None:
        self.networks: list[IPNetwork] = []
        self.hosts: set[str] = set()
        for item in allow:
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self.hosts.add(item.lower())

    def address_allowed(self, host: str, addr: IPAddress) -> bool:
        if host.lower() in self.hosts or any(addr in n for n in self.networks):
            return True
        return _global(addr)


def _embedded_v4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (IPv4-mapped, NAT64 well-known prefix, 6to4), if any."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if addr in _SIX_TO_FOUR:
        return addr.sixtofour
    return None


def _global(addr: IPAddress) -> bool:
    """Whether ``addr`` is globally routable (an embedded IPv4 address must be too)."""
    if isinstance(addr, ipaddress.IPv6Address):
        inner = _embedded_v4(addr)
        if inner is not None:
            return _global(inner)
        return addr.is_global and not any(addr in n for n in _NOT_GLOBAL_V6)
    return addr.is_global and not any(addr in n for n in _NOT_GLOBAL_V4)


class _GuardedResolver(AbstractResolver):
    def __init__(self, policy: MediaPolicy) -> None:
        self._inner = DefaultResolver()
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = [r for r in results if self._policy.address_allowed(host, ipaddress.ip_address(r["host"]))]
        if not allowed:
            raise OSError(f"refusing to fetch from a non-public address ({host})")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


class _Tally:
    """Bytes read so far for one request, against its total cap."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def add(self, size: int, where: Loc) -> None:
        self.used += size
        if self.used > self.limit:
            raise InvalidRequest(f"The request's media add up to more than {self.limit} bytes.", loc=where)


class MediaFetcher:
    def __init__(
        self,
        *,
        max_bytes: int,
        timeout: float,
        allow: Sequence[str] = (),
        max_urls: int = 16,
        max_total_bytes: int = 50 * 1024 * 1024,
        concurrency: int = 4,
    ) -> None:
        self.policy = MediaPolicy(allow)
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.max_urls = max_urls
        self.max_total_bytes = max_total_bytes
        self.concurrency = concurrency
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=_GuardedResolver(self.policy), limit=64)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    def _check_literal(self, url: str, where: Loc) -> None:
        host = urlsplit(url).hostname or ""
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            return
        if not self.policy.address_allowed(host, addr):
            raise InvalidRequest(f"Refusing to fetch media from a non-public address: {host}", loc=where)

    async def fetch(self, url: str, where: Loc, tally: _Tally | None = None) -> tuple[str, bytes]:
        """Return (media_type, bytes) of the resource, or raise InvalidRequest naming ``where``."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._fetch(url, where, tally or _Tally(self.max_total_bytes))
        except TimeoutError as e:
            raise InvalidRequest(f"Timed out fetching {url} after {self.timeout:g} s.", loc=where) from e
        except (aiohttp.ClientError, OSError) as e:
            raise InvalidRequest(f"Could not fetch {url}: {e}", loc=where) from e

    async def _fetch(self, url: str, where: Loc, tally: _Tally) -> tuple[str, bytes]:
        for _ in range(4):
            if urlsplit(url).scheme not in ("http", "https"):
                raise InvalidRequest("Only http(s) media URLs can be fetched.", loc=where)
            self._check_literal(url, where)
            async with self._client().get(url, allow_redirects=False) as resp:
                if resp.status in (301, 302, 303, 307, 308) and "Location" in resp.headers:
                    url = urljoin(url, resp.headers["Location"])
                    continue
                if resp.status != 200:
                    raise InvalidRequest(f"Fetching {url} returned HTTP {resp.status}.", loc=where)
                data = await self._read_capped(resp, where, tally)
                mime = sniff(data) or resp.content_type
                return mime, data
        raise InvalidRequest(f"Too many redirects fetching {url}.", loc=where)

    async def _read_capped(self, resp: aiohttp.ClientResponse, where: Loc, tally: _Tally) -> bytes:
        if resp.content_length is not None and resp.content_length > self.max_bytes:
            raise InvalidRequest(f"The media is larger than {self.max_bytes} bytes.", loc=where)
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(65536):
            size += len(chunk)
            if size > self.max_bytes:
                raise InvalidRequest(f"The media is larger than {self.max_bytes} bytes.", loc=where)
            tally.add(len(chunk), where)
            chunks.append(chunk)
        return b"".join(chunks)

    async def inline_images(self, request: ChatRequest) -> ChatRequest:
        """Replace every URL image with inline base64 data, fetching them concurrently."""
        jobs: list[tuple[int, int, str]] = [
            (i, j, p.url)
            for i, m in enumerate(request.messages)
            for j, p in enumerate(m.parts)
            if isinstance(p, ImagePart) and p.url and p.data is None
        ]
        if not jobs:
            return request
        if len(jobs) > self.max_urls:
            i, j, _ = jobs[self.max_urls]
            raise InvalidRequest(
                f"A request may give at most {self.max_urls} image URLs to fetch; send more images inline (base64).",
                loc=("messages", i, "parts", j, "url"),
            )
        tally = _Tally(self.max_total_bytes)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(url: str, where: Loc) -> tuple[str, bytes]:
            async with gate:
                return await self.fetch(url, where, tally)

        try:
            async with asyncio.TaskGroup() as group:  # the first failure cancels the other fetches
                tasks = [group.create_task(one(url, ("messages", i, "parts", j, "url"))) for i, j, url in jobs]
        except ExceptionGroup as failed:
            first = next((e for e in failed.exceptions if isinstance(e, InvalidRequest)), None)
            if first is None:
                raise
            raise first from None
        fetched = [t.result() for t in tasks]
        messages: list[Any] = list(request.messages)
        for (i, j, _), (mime, data) in zip(jobs, fetched, strict=True):
            if not mime.startswith("image/"):
                raise InvalidRequest(f"The URL is not an image ({mime}).", loc=("messages", i, "parts", j, "url"))
            msg: Message = messages[i]
            parts = list(msg.parts)
            old = parts[j]
            assert isinstance(old, ImagePart)
            parts[j] = ImagePart(data=base64.b64encode(data).decode(), media_type=mime, detail=old.detail)
            messages[i] = replace(msg, parts=tuple(parts))
        return replace(request, messages=tuple(messages))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
