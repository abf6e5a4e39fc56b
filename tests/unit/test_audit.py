from __future__ import annotations

import hashlib
import json

import httpx
import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from workers.audit import AuditTransport

TOKEN = "bearer-token-value-xyz"
REQUEST_BODY = {"data": {"employee_name": "Grace Hopper"}}
RESPONSE_BODY = b'{"doc_id":"doc_1","note":"PERSONAL-DATA-IN-RESPONSE"}'


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sample(component: str, method: str, klass: str) -> float:
    value = REGISTRY.get_sample_value(
        "contract_provider_requests_total", {"component": component, "method": method, "status_class": klass}
    )
    return value or 0.0


def calls(logs: list[dict]) -> list[dict]:
    return [e for e in logs if e["event"] == "http_call"]


async def test_one_line_with_hashes_but_no_body_token_or_query() -> None:
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(202, content=RESPONSE_BODY)

    before = sample("test-audit", "POST", "2xx")
    client = httpx.AsyncClient(transport=AuditTransport(httpx.MockTransport(handler), "test-audit"))
    with capture_logs() as logs:
        response = await client.post(
            "https://provider.test/v1/generate?signature=QUERY-SECRET",
            json=REQUEST_BODY,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert response.content == RESPONSE_BODY
    (line,) = calls(logs)
    assert line["log_level"] == "info"
    assert line["component"] == "test-audit"
    assert line["method"] == "POST"
    assert line["path"] == "/v1/generate"
    assert line["host"] == "provider.test"
    assert line["status"] == 202
    assert line["request_sha256"] == sha(seen[0])
    assert line["request_bytes"] == len(seen[0])
    assert line["response_sha256"] == sha(RESPONSE_BODY)
    assert line["response_bytes"] == len(RESPONSE_BODY)
    assert isinstance(line["latency_ms"], float)
    text = repr(logs)
    for secret in (TOKEN, "QUERY-SECRET", "Grace", "PERSONAL-DATA", "signature"):
        assert secret not in text
    assert sample("test-audit", "POST", "2xx") == before + 1
    assert (
        REGISTRY.get_sample_value(
            "contract_provider_request_seconds_count",
            {"component": "test-audit", "method": "POST", "status_class": "2xx"},
        )
        >= 1
    )


async def test_streamed_response_is_hashed_as_it_passes_and_logged_on_close() -> None:
    body = bytes(range(256)) * 1000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    client = httpx.AsyncClient(transport=AuditTransport(httpx.MockTransport(handler), "test-audit"))
    with capture_logs() as logs:
        async with client.stream("GET", "https://provider.test/v1/documents/d/download?expires=1&signature=S") as r:
            received = b""
            async for chunk in r.aiter_raw(1000):
                received += chunk
                assert calls(logs) == []  # nothing before the stream ends
        (line,) = calls(logs)
    assert received == body
    assert line["response_sha256"] == sha(body)
    assert line["response_bytes"] == len(body)
    assert line["path"] == "/v1/documents/d/download"
    assert line["request_sha256"] == sha(b"") and line["request_bytes"] == 0
    assert "response_complete" not in line


async def test_stream_closed_early_is_logged_as_incomplete() -> None:
    async def chunks():
        for _ in range(10):
            yield b"x" * 100

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks())

    client = httpx.AsyncClient(transport=AuditTransport(httpx.MockTransport(handler), "test-audit"))
    with capture_logs() as logs:
        async with client.stream("GET", "https://provider.test/big") as r:
            async for _chunk in r.aiter_raw():
                break
    (line,) = calls(logs)
    assert line["response_complete"] is False
    assert line["response_bytes"] == 100


async def test_multipart_request_stream_is_hashed() -> None:
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.read())
        return httpx.Response(201, json={"ok": True})

    client = httpx.AsyncClient(transport=AuditTransport(httpx.MockTransport(handler), "test-audit"))
    with capture_logs() as logs:
        await client.post(
            "https://dms.test/api/upload",
            files={"file": ("a.pdf", b"%PDF-secret-content", "application/pdf")},
            data={"metadata": json.dumps({"name": "Grace"})},
        )
    (line,) = calls(logs)
    assert line["request_sha256"] == sha(seen[0])
    assert line["request_bytes"] == len(seen[0]) > 0
    assert "secret-content" not in repr(logs) and "Grace" not in repr(logs)


async def test_transport_error_is_logged_and_counted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused to https://provider.test/?signature=QUERY-SECRET", request=request)

    before = sample("test-audit", "GET", "error")
    client = httpx.AsyncClient(transport=AuditTransport(httpx.MockTransport(handler), "test-audit"))
    with capture_logs() as logs, pytest.raises(httpx.ConnectError):
        await client.get("https://provider.test/v1/documents?idempotency_key=K")
    (line,) = calls(logs)
    assert line["status"] is None and line["error"] == "ConnectError"
    assert line["log_level"] == "warning"
    assert line["path"] == "/v1/documents"
    assert "QUERY-SECRET" not in repr(logs) and "idempotency_key" not in repr(logs)
    assert sample("test-audit", "GET", "error") == before + 1


async def test_server_error_is_a_warning() -> None:
    client = httpx.AsyncClient(transport=AuditTransport(httpx.MockTransport(lambda r: httpx.Response(503)), "t"))
    with capture_logs() as logs:
        await client.get("https://provider.test/x")
    (line,) = calls(logs)
    assert line["status"] == 503 and line["log_level"] == "warning"
