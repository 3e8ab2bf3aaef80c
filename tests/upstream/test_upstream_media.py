"""The media fetcher's SSRF guard, size cap and type sniffing."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from aiohttp import web

from opentoken.core.chat import ChatRequest, ImagePart, Message, TextPart
from opentoken.core.errors import InvalidRequest
from opentoken.upstream.media import MediaFetcher, MediaPolicy, sniff

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 20


@pytest.mark.parametrize(
    "addr",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "0.0.0.0",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(addr: str) -> None:
    assert not MediaPolicy().address_allowed("host", ipaddress.ip_address(addr))


def test_public_addresses_pass_and_allow_list_opens_loopback() -> None:
    assert MediaPolicy().address_allowed("example.com", ipaddress.ip_address("93.184.216.34"))
    assert MediaPolicy(["127.0.0.0/8"]).address_allowed("x", ipaddress.ip_address("127.0.0.1"))
    assert MediaPolicy(["localhost"]).address_allowed("localhost", ipaddress.ip_address("127.0.0.1"))


def test_sniffing() -> None:
    assert sniff(PNG) == "image/png"
    assert sniff(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    assert sniff(b"%PDF-1.7") == "application/pdf"
    assert sniff(b"hello") is None


@pytest.fixture
async def media_server(unused_tcp_port: int):
    async def image(request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="application/octet-stream")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 5000)

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data")

    async def big_image(request: web.Request) -> web.Response:
        return web.Response(body=PNG + b"\0" * (5000 - len(PNG)))

    app = web.Application()
    app.router.add_get("/img", image)
    app.router.add_get("/big", big)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/big.png", big_image)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", unused_tcp_port)
    await site.start()
    yield f"http://127.0.0.1:{unused_tcp_port}"
    await runner.cleanup()


async def test_loopback_is_refused_unless_allow_listed(media_server: str) -> None:
    guarded = MediaFetcher(max_bytes=1000, timeout=5)
    with pytest.raises(InvalidRequest) as err:
        await guarded.fetch(media_server + "/img", ("p",))
    assert err.value.loc == ("p",) and "non-public" in err.value.message
    await guarded.close()
    allowed = MediaFetcher(max_bytes=1000, timeout=5, allow=["127.0.0.1"])
    assert await allowed.fetch(media_server + "/img", ("p",)) == ("image/png", PNG)
    with pytest.raises(InvalidRequest, match="larger than"):
        await allowed.fetch(media_server + "/big", ("p",))
    with pytest.raises(InvalidRequest, match="non-public"):
        await allowed.fetch(media_server + "/redirect", ("p",))
    await allowed.close()


# ---- issue 10: only globally routable addresses, and bounds on what one request may make us fetch ----


@pytest.mark.parametrize(
    "addr",
    [
        "100.64.0.1",  # shared address space (carrier NAT)
        "100.100.100.200",  # a cloud metadata address inside it
        "2002:a9fe:a9fe::",  # 6to4 form of 169.254.169.254
        "2002:7f00:1::",  # 6to4 form of 127.0.0.1
        "2002:c0a8:101::1",  # 6to4 form of 192.168.1.1
        "fec0::1",  # site-local
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "64:ff9b::a9fe:a9fe",  # NAT64 form of 169.254.169.254
        "64:ff9b::7f00:1",  # NAT64 form of 127.0.0.1
        "64:ff9b:1::1",  # local-use NAT64
        "::ffff:100.100.100.200",  # IPv4-mapped shared address
        "::127.0.0.1",  # IPv4-compatible (deprecated)
        "198.18.0.1",  # benchmarking
        "192.0.0.8",  # IETF protocol assignments
        "192.88.99.1",  # 6to4 relay anycast
        "ff02::1",
        "fc00::1",
    ],
)
def test_only_globally_routable_addresses_pass(addr: str) -> None:
    assert not MediaPolicy().address_allowed("host", ipaddress.ip_address(addr))


@pytest.mark.parametrize("addr", ["8.8.8.8", "2606:4700::1111", "2002:808:808::", "64:ff9b::808:808", "::ffff:8.8.8.8"])
def test_public_addresses_and_their_embedded_forms_pass(addr: str) -> None:
    assert MediaPolicy().address_allowed("host", ipaddress.ip_address(addr))


def test_operator_may_allow_more() -> None:
    assert MediaPolicy(["100.64.0.0/10"]).address_allowed("x", ipaddress.ip_address("100.100.100.200"))


@pytest.fixture
async def redirector(unused_tcp_port_factory):
    port = unused_tcp_port_factory()

    async def to(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["url"])

    app = web.Application()
    app.router.add_get("/to", to)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.mark.parametrize("target", ["http://100.100.100.200/latest", "http://[2002:a9fe:a9fe::]/", "http://[fec0::1]/"])
async def test_redirects_to_non_global_addresses_are_refused_before_connecting(redirector: str, target: str) -> None:
    host = target.split("//")[1].split("/")[0].strip("[]")
    assert not MediaPolicy().address_allowed(host, ipaddress.ip_address(host))  # else this test would connect out
    fetcher = MediaFetcher(max_bytes=1000, timeout=5, allow=["127.0.0.1"])
    try:
        with pytest.raises(InvalidRequest, match="non-public") as err:
            await fetcher.fetch(f"{redirector}/to?url={target}", ("p",))
        assert err.value.loc == ("p",)
    finally:
        await fetcher.close()


def _image_request(urls: list[str]) -> ChatRequest:
    parts = tuple(ImagePart(url=u) for u in urls)
    return ChatRequest(model="google/gemini-2.5-flash", messages=(Message("user", (TextPart("look"), *parts)),))


async def test_too_many_urls_are_refused_before_any_fetch(media_server: str) -> None:
    """Bound: a request may list at most ``max_urls`` URLs; the one past it is named and nothing is fetched."""
    fetched: list[str] = []
    fetcher = MediaFetcher(max_bytes=1000, timeout=5, allow=["127.0.0.1"], max_urls=3)
    fetcher.fetch = lambda url, param, tally=None: fetched.append(url)  # type: ignore[assignment,method-assign,return-value]
    with pytest.raises(InvalidRequest, match="at most 3 image URLs") as err:
        await fetcher.inline_images(_image_request([media_server + "/img"] * 4))
    assert err.value.loc == ("messages", 0, "parts", 4, "url")
    assert fetched == []
    await fetcher.close()


async def test_total_media_bytes_of_a_request_are_capped(media_server: str) -> None:
    """Bound: each image fits ``max_bytes`` (5,000 <= 6,000) but three together pass ``max_total_bytes``."""
    fetcher = MediaFetcher(max_bytes=6000, timeout=5, allow=["127.0.0.1"], max_total_bytes=12_000)
    try:
        await fetcher.inline_images(_image_request([media_server + "/big.png"] * 2))  # 10,000 bytes: fine
        with pytest.raises(InvalidRequest, match="add up to more than 12000 bytes") as err:
            await fetcher.inline_images(_image_request([media_server + "/big.png"] * 3))
        assert err.value.loc is not None and err.value.loc[:3] == ("messages", 0, "parts")
    finally:
        await fetcher.close()


async def test_fetches_of_one_request_run_at_most_concurrency_at_a_time(unused_tcp_port_factory) -> None:
    port = unused_tcp_port_factory()
    active = peak = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.05)
        active -= 1
        return web.Response(body=PNG)

    app = web.Application()
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    fetcher = MediaFetcher(max_bytes=1000, timeout=5, allow=["127.0.0.1"], max_urls=10, concurrency=2)
    try:
        out = await fetcher.inline_images(_image_request([f"http://127.0.0.1:{port}/slow?{i}" for i in range(8)]))
        assert len(out.messages[0].parts) == 9
        assert peak == 2
    finally:
        await fetcher.close()
        await runner.cleanup()
