from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from workers.dms.base import DmsRejected
from workers.dms.spool import DocumentTooLarge, spool_download
from workers.config import ProviderSettings
from workers.providers.contractize import ContractizeProvider
from workers.providers.tokens import TokenCache

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 200 + b"%%EOF\n"


async def chunks(*parts: bytes):
    for part in parts:
        yield part


async def test_spools_and_hashes(tmp_path: Path) -> None:
    spooled = await spool_download(chunks(b"abc", b"", b"def"), max_bytes=6, directory=tmp_path)
    try:
        assert spooled.path.parent == tmp_path
        assert spooled.path.read_bytes() == b"abcdef"
        assert spooled.size == 6
        assert spooled.sha256 == hashlib.sha256(b"abcdef").hexdigest()
    finally:
        spooled.path.unlink()


async def test_over_the_cap_aborts_and_deletes(tmp_path: Path) -> None:
    closed = []

    async def endless():
        try:
            while True:
                yield b"x" * 1000
        finally:
            closed.append(True)

    with pytest.raises(DocumentTooLarge) as err:
        await spool_download(endless(), max_bytes=4500, directory=tmp_path)
    assert isinstance(err.value, DmsRejected)
    assert "4500 byte cap" in str(err.value) and "DMS_MAX_DOCUMENT_BYTES" in str(err.value)
    assert list(tmp_path.iterdir()) == []
    assert closed == [True]


async def test_producer_failure_deletes_the_file(tmp_path: Path) -> None:
    async def broken():
        yield b"abc"
        raise RuntimeError("connection lost")

    with pytest.raises(RuntimeError):
        await spool_download(broken(), max_bytes=100, directory=tmp_path)
    assert list(tmp_path.iterdir()) == []


def api(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == "/oauth/token":
        return httpx.Response(200, json={"access_token": "t", "token_type": "Bearer", "expires_in": 60})
    if path == "/v1/documents/doc_1":
        url = "https://provider.test/v1/documents/doc_1/download?signature=s"
        return httpx.Response(200, json={"doc_id": "doc_1", "status": "ready", "template_id": "nda-001", "download_url": url})
    if path == "/v1/documents/doc_1/download":
        # Streamed in 1 KiB chunks, as a real response would be.
        async def body():
            for i in range(0, len(PDF), 1024):
                yield PDF[i : i + 1024]

        return httpx.Response(200, content=body())
    return httpx.Response(404)


def provider() -> ContractizeProvider:
    settings = ProviderSettings(base_url="https://provider.test")
    return ContractizeProvider(settings, httpx.AsyncClient(transport=httpx.MockTransport(api)), TokenCache())


async def test_provider_download_through_the_spool(tmp_path: Path) -> None:
    spooled = await spool_download(provider().download("doc_1"), len(PDF), tmp_path)
    assert spooled.path.read_bytes() == PDF
    assert spooled.sha256 == hashlib.sha256(PDF).hexdigest()


async def test_provider_download_over_the_cap(tmp_path: Path) -> None:
    with pytest.raises(DocumentTooLarge):
        await spool_download(provider().download("doc_1"), len(PDF) - 1, tmp_path)
    assert list(tmp_path.iterdir()) == []
