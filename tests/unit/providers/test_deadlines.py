"""A total deadline on every provider exchange: httpx's timeouts are per read, so a server that trickles
forever is only stopped by the total bound. These answers never finish, so the outcome does not depend on
the machine's speed (no wall-clock assertions)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from workers.providers.base import ProviderUnavailable

from .support import FakeApi, document, make_provider

SUFFIX = "(total deadline: CONTRACTIZE_TOTAL_TIMEOUT_S, CONTRACTIZE_DOWNLOAD_TIMEOUT_S for downloads)"


async def forever():
    """A body that sends a byte now and then and never ends."""
    yield b"{"
    while True:
        await asyncio.sleep(0.01)
        yield b" "


def trickling(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=forever(), headers={"content-type": "application/json"})


async def test_token_request_that_never_completes() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return trickling(request)

    provider = make_provider(handler, total_timeout_s=0.2)
    with pytest.raises(ProviderUnavailable) as err:
        await provider.ensure_token()
    assert str(err.value) == f"contract provider at provider.test unavailable: no complete answer within 0.2s on POST /oauth/token {SUFFIX}"


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("GET", "/v1/templates/nda-001", lambda p: p.get_template("nda-001")),
        ("GET", "/v1/documents/doc_1", lambda p: p.get_document("doc_1")),
        ("GET", "/v1/documents", lambda p: p.find_by_idempotency_key("cw-1")),
    ],
)
async def test_api_calls_that_never_complete(method, path, call) -> None:
    api = FakeApi()
    api.route(method, path, trickling)
    with pytest.raises(ProviderUnavailable, match=f"no complete answer within 0.2s on {method} {path} "):
        await call(make_provider(api, total_timeout_s=0.2))


async def test_total_timeout_defaults_to_the_per_read_timeout() -> None:
    api = FakeApi()
    api.route("GET", "/v1/documents/doc_1", trickling)
    with pytest.raises(ProviderUnavailable, match="no complete answer within 0.25s"):
        await make_provider(api, timeout_s=0.25).get_document("doc_1")


async def test_a_download_that_never_ends_meets_the_download_deadline() -> None:
    api = FakeApi()
    api.route("GET", "/v1/documents/doc_1/download",
              lambda r: httpx.Response(200, content=forever(), headers={"content-type": "application/pdf"}))  # fmt: skip
    provider = make_provider(api, total_timeout_s=30, download_timeout_s=0.2)
    received = []
    with pytest.raises(ProviderUnavailable, match="no complete answer within 0.2s on GET /v1/documents/doc_1/download"):
        async for chunk in provider.download("doc_1"):
            received.append(chunk)
    assert received[0] == b"{"  # it was streaming: the bound is on the whole, not on each read


async def test_a_download_that_never_starts_meets_the_download_deadline() -> None:
    api = FakeApi()
    stalled = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/download"):
            await stalled.wait()  # never set
        return await api(request)

    api.route("GET", "/v1/documents/doc_1", lambda r: httpx.Response(200, json=document("doc_1")))
    provider = make_provider(handler, download_timeout_s=0.2)
    with pytest.raises(ProviderUnavailable, match="no complete answer within 0.2s on GET /v1/documents/doc_1/download"):
        [c async for c in provider.download("doc_1")]
