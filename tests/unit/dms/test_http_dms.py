from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from workers.audit import AuditTransport
from workers.dms.base import DmsAdapter, DmsRejected, DmsUnavailable
from workers.dms.http import HttpDms
from workers.dms.simulator import create_dms_app

BASE = "http://dms.test"
TOKEN = "dms-token-abc"
CONTENT = b"%PDF-1.7\r\n" + os.urandom(4096) + b"\n\r\n--boundary-like\n%%EOF"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "spool.part"
    path.write_bytes(CONTENT)
    return path


@pytest.fixture
def app(tmp_path: Path):
    return create_dms_app(tmp_path / "dms-store", token=TOKEN)


def make(app, token: str | None = TOKEN, audited: bool = False) -> HttpDms:
    transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=app)
    if audited:
        transport = AuditTransport(transport, "dms-http")
    return HttpDms(BASE, httpx.AsyncClient(transport=transport), SecretStr(token) if token else None)


async def test_store_find_and_idempotency_against_the_simulator(app, source: Path) -> None:
    dms = make(app)
    assert isinstance(dms, DmsAdapter)
    assert await dms.find("doc_1") is None
    stored = await dms.store("doc_1", "r-1_NDA.pdf", source, "application/pdf", {"request_id": "r-1", "x": "é"})
    assert not stored.already_existed
    assert stored.sha256 == hashlib.sha256(CONTENT).hexdigest() and stored.size == len(CONTENT)
    assert stored.location.startswith(f"{BASE}/api/documents/dms_")

    record = next(iter(app.state.store.records.values()))
    assert record["metadata"] == {"request_id": "r-1", "x": "é", "document_key": "doc_1"}
    saved = app.state.store.directory / record["id"] / "r-1_NDA.pdf"
    assert saved.read_bytes() == CONTENT  # binary content survives the multipart round trip

    again = await dms.store("doc_1", "r-1_NDA.pdf", source, "application/pdf", {})
    assert again.already_existed and again.location == stored.location
    assert len(app.state.store.records) == 1
    assert (await dms.find("doc_1")) == again

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        content = await client.get(stored.location + "/content", headers={"Authorization": f"Bearer {TOKEN}"})
    assert content.content == CONTENT


class StaleFirstLookup(httpx.AsyncBaseTransport):
    """The first lookup answers "not stored" although another worker has just stored the document."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.stale = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.stale and request.method == "GET" and request.url.path == "/api/documents":
            self.stale = False
            return httpx.Response(200, json={"documents": []})
        return await self.inner.handle_async_request(request)


async def test_upload_race_409_returns_the_existing_document(app, source: Path) -> None:
    winner = await make(app).store("doc_2", "a.pdf", source, "application/pdf", {})
    transport = StaleFirstLookup(httpx.ASGITransport(app=app))
    loser = HttpDms(BASE, httpx.AsyncClient(transport=transport), SecretStr(TOKEN))
    result = await loser.store("doc_2", "a.pdf", source, "application/pdf", {})
    assert not transport.stale
    assert result.already_existed and result.location == winner.location
    assert len(app.state.store.records) == 1


async def test_5xx_is_unavailable_and_4xx_rejected(app, source: Path) -> None:
    dms = make(app)
    app.state.fail_next = [503]
    with pytest.raises(DmsUnavailable, match=r"DMS at dms.test unavailable: HTTP 503 on GET /api/documents"):
        await dms.find("doc_3")
    app.state.fail_next = [429]
    with pytest.raises(DmsUnavailable):
        await dms.find("doc_3")
    app.state.fail_next = [400]
    with pytest.raises(DmsRejected, match="HTTP 400"):
        await dms.find("doc_3")
    with pytest.raises(DmsRejected, match="DMS_TOKEN") as err:
        await make(app, token="wrong").store("doc_3", "a.pdf", source, "application/pdf", {})
    assert "wrong" not in str(err.value)


async def test_transport_errors_are_unavailable(source: Path) -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timeout", request=request)

    for handler, text in ((refused, "connection refused"), (slow, "timed out")):
        dms = HttpDms(BASE, httpx.AsyncClient(transport=httpx.MockTransport(handler)), None)
        with pytest.raises(DmsUnavailable, match=text):
            await dms.store("doc_4", "a.pdf", source, "application/pdf", {})


async def test_unsafe_key_is_refused_before_any_call(app, source: Path) -> None:
    with pytest.raises(DmsRejected):
        await make(app).store("../x", "a.pdf", source, "application/pdf", {})


async def test_audit_log_of_an_upload_has_no_content_or_token(app, source: Path) -> None:
    with capture_logs() as logs:
        await make(app, audited=True).store("doc_5", "a.pdf", source, "application/pdf", {"name": "Grace"})
    lines = [e for e in logs if e["event"] == "http_call"]
    assert [(e["method"], e["path"], e["status"]) for e in lines] == [
        ("GET", "/api/documents", 200),
        ("POST", "/api/upload", 201),
    ]
    assert lines[1]["request_bytes"] > len(CONTENT)
    text = repr(logs)
    assert TOKEN not in text and "Grace" not in text and "doc_5" not in json.dumps([e.get("path") for e in lines])
