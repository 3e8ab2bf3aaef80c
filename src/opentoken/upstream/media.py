"""Fetch remote media (http/https image URLs) for providers that cannot fetch URLs themselves.

Guarded against SSRF: every address a host resolves to (including on redirects, which are followed by hand,
at most 3) must be public; loopback, private, link-local (cloud metadata), multicast, reserved and
unspecified addresses are refused unless the operator allow-lists the host or a network containing it
(``OPENTOKEN_MEDIA_ALLOW_HOSTS``). Size-capped, time-limited, and the type is sniffed from the bytes.
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
        mapped = addr.ipv4_mapped if isinstance(addr, ipaddress.IPv6Address) else None
        check = mapped or addr
        return not (
            check.is_private
            or check.is_loopback
            or check.is_link_local
            or check.is_multicast
            or check.is_reserved
            or check.is_unspecified
        )


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


class MediaFetcher:
    def __init__(self, *, max_bytes: int, timeout: float, allow: Sequence[str] = ()) -> None:
        self.policy = MediaPolicy(allow)
        self.max_bytes = max_bytes
        self.timeout = timeout
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

    async def fetch(self, url: str, where: Loc) -> tuple[str, bytes]:
        """Return (media_type, bytes) of the resource, or raise InvalidRequest naming ``where``."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._fetch(url, where)
        except TimeoutError as e:
            raise InvalidRequest(f"Timed out fetching {url} after {self.timeout:g} s.", loc=where) from e
        except (aiohttp.ClientError, OSError) as e:
            raise InvalidRequest(f"Could not fetch {url}: {e}", loc=where) from e

    async def _fetch(self, url: str, where: Loc) -> tuple[str, bytes]:
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
                data = await self._read_capped(resp, where)
                mime = sniff(data) or resp.content_type
                return mime, data
        raise InvalidRequest(f"Too many redirects fetching {url}.", loc=where)

    async def _read_capped(self, resp: aiohttp.ClientResponse, where: Loc) -> bytes:
        if resp.content_length is not None and resp.content_length > self.max_bytes:
            raise InvalidRequest(f"The media is larger than {self.max_bytes} bytes.", loc=where)
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(65536):
            size += len(chunk)
            if size > self.max_bytes:
                raise InvalidRequest(f"The media is larger than {self.max_bytes} bytes.", loc=where)
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
        fetched = await asyncio.gather(*(self.fetch(url, ("messages", i, "parts", j, "url")) for i, j, url in jobs))
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
