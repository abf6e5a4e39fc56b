from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from workers.dms.base import DmsRejected
from workers.dms.spool import DocumentTooLarge, NotAPdf, spool_download
from workers.config import ProviderSettings
from workers.providers.base import ProviderBadAnswer, ProviderUnavailable
from workers.providers.contractize import ContractizeProvider
from workers.providers.tokens import TokenCache

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 200 + b"%%EOF\n"


async def chunks(*parts: bytes):
    for part in parts:
        yield part


async def test_spools_and_hashes(tmp_path: Path) -> None:
    spooled = await spool_download(chunks(b"%P", b"", b"DF-1.7 abc"), max_bytes=12, directory=tmp_path)
    try:
        assert spooled.path.parent == tmp_path
        assert spooled.path.read_bytes() == b"%PDF-1.7 abc"
        assert spooled.size == 12
        assert spooled.sha256 == hashlib.sha256(b"%PDF-1.7 abc").hexdigest()
    finally:
        spooled.path.unlink()


async def test_magic_check_can_be_turned_off(tmp_path: Path) -> None:
    spooled = await spool_download(chunks(b"abc", b"def"), max_bytes=6, directory=tmp_path, magic=None)
    assert spooled.path.read_bytes() == b"abcdef"
    spooled.path.unlink()


LOGIN_PAGE = b"<!DOCTYPE html><html><body>Sign in, Grace Hopper (grace@example.com)</body></html>"


@pytest.mark.parametrize(
    ("parts", "kind"),
    [
        ((LOGIN_PAGE[:3], LOGIN_PAGE[3:]), "an HTML page"),
        ((b'{"error": "grace@example.com"}',), "JSON"),
        ((b"",), "an empty answer"),
        ((b"%PD",), "other data"),  # too short to be a PDF at all
        ((b"PK\x03\x04zipzip",), "other data"),
    ],
)
async def test_a_download_that_is_not_a_pdf_is_refused_and_deleted(tmp_path: Path, parts, kind) -> None:
    with pytest.raises(NotAPdf) as err:
        await spool_download(chunks(*parts), max_bytes=10_000, directory=tmp_path)
    message = str(err.value)
    assert message == f"the downloaded document is not a PDF: it starts like {kind}, not with '%PDF-'"
    assert isinstance(err.value, ProviderBadAnswer)  # transient: retried, then an incident
    assert list(tmp_path.iterdir()) == []


async def test_over_the_cap_aborts_and_deletes(tmp_path: Path) -> None:
    closed = []

    async def endless():
        try:
            yield b"%PDF-1.7\n"
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


def api(body: bytes = PDF, headers: dict[str, str] | None = None):
    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "token_type": "Bearer", "expires_in": 60})
        if path == "/v1/documents/doc_1":
            url = "https://provider.test/v1/documents/doc_1/download?signature=s"
            return httpx.Response(200, json={"doc_id": "doc_1", "status": "ready", "template_id": "nda-001", "download_url": url})
        if path == "/v1/documents/doc_1/download":
            # Streamed in 1 KiB chunks, as a real response would be.
            async def chunked():
                for i in range(0, len(body), 1024):
                    yield body[i : i + 1024]

            return httpx.Response(200, content=chunked(), headers=headers)
        return httpx.Response(404)

    return handle


def provider(body: bytes = PDF, headers: dict[str, str] | None = None) -> ContractizeProvider:
    settings = ProviderSettings(base_url="https://provider.test")
    return ContractizeProvider(settings, httpx.AsyncClient(transport=httpx.MockTransport(api(body, headers))), TokenCache())


async def test_provider_download_through_the_spool(tmp_path: Path) -> None:
    spooled = await spool_download(provider().download("doc_1"), len(PDF), tmp_path)
    assert spooled.path.read_bytes() == PDF
    assert spooled.sha256 == hashlib.sha256(PDF).hexdigest()


async def test_provider_download_over_the_cap(tmp_path: Path) -> None:
    with pytest.raises(DocumentTooLarge):
        await spool_download(provider().download("doc_1"), len(PDF) - 1, tmp_path)
    assert list(tmp_path.iterdir()) == []


async def test_an_html_login_page_with_a_pdf_content_type_is_caught_by_its_magic(tmp_path: Path) -> None:
    lying = provider(LOGIN_PAGE, {"content-type": "application/pdf"})
    with pytest.raises(NotAPdf, match="an HTML page"):
        await spool_download(lying.download("doc_1"), 10_000, tmp_path)
    assert list(tmp_path.iterdir()) == []


async def test_an_html_login_page_is_refused_by_its_content_type(tmp_path: Path) -> None:
    honest = provider(LOGIN_PAGE, {"content-type": "text/html; charset=utf-8"})
    with pytest.raises(ProviderBadAnswer) as err:
        await spool_download(honest.download("doc_1"), 10_000, tmp_path)
    message = str(err.value)
    assert "with text/html instead of a PDF" in message and "doc_1" in message
    assert "Grace" not in message and "grace@example.com" not in message and "charset" not in message
    assert isinstance(err.value, ProviderUnavailable)
    assert list(tmp_path.iterdir()) == []
