"""The media fetcher's SSRF guard, size cap and type sniffing."""

from __future__ import annotations

import ipaddress

import pytest
from aiohttp import web

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

    app = web.Application()
    app.router.add_get("/img", image)
    app.router.add_get("/big", big)
    app.router.add_get("/redirect", redirect)
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
