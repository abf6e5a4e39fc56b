from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest
from structlog.testing import capture_logs

from workers.audit import AuditTransport
from workers.providers.base import (
    ContractProvider,
    DocumentNotFound,
    GenerateRequest,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from workers.providers.contractize import SHARED_TOKEN_CACHE, ContractizeProvider, build_provider, parse_retry_after
from workers.providers.tokens import TokenCache

from .support import CLIENT_ID, CLIENT_SECRET, PDF, SCOPES, FakeApi, document, json_body, make_provider, settings


def request(**overrides) -> GenerateRequest:
    values = dict(
        template_id="nda-001",
        data={"employee_name": "Ada Lovelace", "employee_email": "ada@example.com"},
        callback_url="https://bridge.test/webhooks/contractize",
        metadata={"request_id": "r-1", "initiated_by": "HR_SYSTEM"},
        idempotency_key="cw-42-nda-001",
    )
    values.update(overrides)
    return GenerateRequest(**values)


def assert_no_secret(text: str) -> None:
    for secret in (CLIENT_SECRET, "tok-1", "tok-2", "SIGNATURE-SECRET", "Ada", "ada@example.com"):
        assert secret not in text


async def test_implements_the_protocol() -> None:
    assert isinstance(make_provider(FakeApi()), ContractProvider)


async def test_token_request_is_form_encoded_client_credentials() -> None:
    api = FakeApi()
    provider = make_provider(api)
    info = await provider.ensure_token()
    (call,) = api.calls("POST", "/oauth/token")
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "authorization" not in call.headers
    assert api.token_forms[0] == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
        "scope": [SCOPES],
    }
    assert info.provider == "contractize"
    assert info.scopes == tuple(SCOPES.split())
    remaining = info.expires_at - datetime.now(timezone.utc)
    assert timedelta(minutes=59) < remaining <= timedelta(hours=1)
    assert CLIENT_SECRET not in repr(info) and "tok-1" not in repr(info)


async def test_hundred_concurrent_ensure_token_make_one_token_request() -> None:
    api = FakeApi(token_delay_s=0.02)
    provider = make_provider(api)
    infos = await asyncio.gather(*(provider.ensure_token() for _ in range(100)))
    assert len(api.calls("POST", "/oauth/token")) == 1
    assert len({i.expires_at for i in infos}) == 1


async def test_token_is_reused_across_calls_until_the_refresh_margin() -> None:
    now = [1_000_000.0]
    api = FakeApi(expires_in=100)
    provider = make_provider(api, TokenCache(clock=lambda: now[0]), token_refresh_margin_s=30)
    await provider.generate(request())
    now[0] += 60
    await provider.get_document("doc_1")
    assert len(api.calls("POST", "/oauth/token")) == 1
    now[0] += 11  # 71s after issue: within 30s of expiry
    await provider.get_document("doc_1")
    assert len(api.calls("POST", "/oauth/token")) == 2
    assert api.calls("GET", "/v1/documents/doc_1")[-1].headers["authorization"] == "Bearer tok-2"


async def test_providers_sharing_a_cache_share_the_token() -> None:
    api = FakeApi()
    cache = TokenCache()
    await make_provider(api, cache).ensure_token()
    await make_provider(api, cache).ensure_token()
    assert len(api.calls("POST", "/oauth/token")) == 1
    await make_provider(api, cache, scopes="documents:read").ensure_token()
    assert len(api.calls("POST", "/oauth/token")) == 2


async def test_401_refetches_the_token_once_then_succeeds() -> None:
    api = FakeApi(reject_tokens={"tok-1"})
    provider = make_provider(api)
    doc = await provider.generate(request())
    assert doc.doc_id == "doc_1"
    assert len(api.calls("POST", "/oauth/token")) == 2
    first, second = api.calls("POST", "/v1/generate")
    assert first.headers["authorization"] == "Bearer tok-1"
    assert second.headers["authorization"] == "Bearer tok-2"
    assert first.content == second.content
    assert second.headers["idempotency-key"] == "cw-42-nda-001"


async def test_two_401s_raise_auth_error() -> None:
    api = FakeApi(reject_tokens={"tok-1", "tok-2", "tok-3"})
    provider = make_provider(api)
    with pytest.raises(ProviderAuthError) as err:
        await provider.get_document("doc_1")
    assert len(api.calls("GET", "/v1/documents/doc_1")) == 2
    assert len(api.calls("POST", "/oauth/token")) == 2
    assert "401" in str(err.value)
    assert_no_secret(str(err.value))


async def test_refused_client_credentials_raise_auth_error() -> None:
    provider = make_provider(FakeApi(token_status=401))
    with pytest.raises(ProviderAuthError) as err:
        await provider.ensure_token()
    assert "invalid_client" in str(err.value) and "CONTRACTIZE_CLIENT_SECRET" in str(err.value)
    assert_no_secret(str(err.value))


async def test_403_is_an_auth_error_naming_scopes() -> None:
    api = FakeApi()
    api.route("POST", "/v1/generate", lambda r: httpx.Response(403, json={"error": "insufficient_scope"}))
    with pytest.raises(ProviderAuthError) as err:
        await make_provider(api).generate(request())
    assert "insufficient_scope" in str(err.value) and "CONTRACTIZE_SCOPES" in str(err.value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [({"Retry-After": "7"}, 7.0), ({}, 5.0), ({"Retry-After": "soon"}, 5.0)],
)
async def test_429_raises_rate_limited_with_retry_after(header, expected) -> None:
    api = FakeApi()
    api.route("POST", "/v1/generate", lambda r: httpx.Response(429, headers=header, json={"error": "rate_limited"}))
    with pytest.raises(ProviderRateLimited) as err:
        await make_provider(api).generate(request())
    assert err.value.retry_after == expected
    assert "429" in str(err.value)


async def test_retry_after_http_date() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=42), usegmt=True), now=now) == 42
    assert parse_retry_after(format_datetime(now - timedelta(seconds=42), usegmt=True), now=now) == 0
    assert parse_retry_after("-3") == 5.0


async def test_503_is_unavailable_with_a_readable_message() -> None:
    api = FakeApi()
    api.route("POST", "/v1/generate", lambda r: httpx.Response(503, text="upstream says: Ada Lovelace tok-1"))
    with pytest.raises(ProviderUnavailable) as err:
        await make_provider(api).generate(request())
    assert str(err.value) == "contract provider at provider.test unavailable: HTTP 503 on POST /v1/generate"


async def test_timeout_is_unavailable() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "tok-1", "token_type": "Bearer", "expires_in": 60})
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(ProviderUnavailable) as err:
        await make_provider(handler).generate(request())
    assert str(err.value) == "contract provider at provider.test unavailable: timed out after 10s on POST /v1/generate"


async def test_connection_refused_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with pytest.raises(ProviderUnavailable) as err:
        await make_provider(handler).ensure_token()
    message = str(err.value)
    assert message == "contract provider at provider.test unavailable: connection refused on POST /oauth/token"
    assert_no_secret(message)


async def test_userinfo_in_base_url_never_appears_in_messages() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502)

    provider = make_provider(handler, base_url="https://user:pa55word@provider.test:8443")
    with pytest.raises(ProviderUnavailable) as err:
        await provider.ensure_token()
    assert "pa55word" not in str(err.value) and "provider.test:8443" in str(err.value)


async def test_422_is_rejected_naming_fields_only_never_the_problem_text() -> None:
    api = FakeApi()
    body = {
        "error": "validation_failed",
        "fields": [
            {"name": "employee_email", "problem": "'ada@example.com' is not allowed for Ada Lovelace"},
            {"name": "start_date", "problem": "missing"},
            {"name": "start_date", "problem": "duplicate entry"},
            {"name": "Ada Lovelace <ada@example.com>", "problem": "a value where a name should be"},
            "not an object",
        ],
    }
    api.route("POST", "/v1/generate", lambda r: httpx.Response(422, json=body))
    with pytest.raises(ProviderRejected) as err:
        await make_provider(api).generate(request())
    assert err.value.fields == ["employee_email", "start_date"]
    assert str(err.value) == (
        "contract provider at provider.test rejected the data for template 'nda-001' (HTTP 422); "
        "fields: employee_email, start_date (and 2 problem(s) without a usable field name)"
    )
    assert_no_secret(str(err.value))


async def test_422_without_details() -> None:
    api = FakeApi()
    api.route("POST", "/v1/generate", lambda r: httpx.Response(422, text="<html>Ada Lovelace</html>"))
    with pytest.raises(ProviderRejected) as err:
        await make_provider(api).generate(request())
    assert err.value.fields == []
    assert str(err.value).endswith("(HTTP 422); fields: no field names given")


@pytest.mark.parametrize("status", [404, 409, 400])
async def test_other_generate_4xx_are_rejected(status) -> None:
    api = FakeApi()
    api.route("POST", "/v1/generate", lambda r: httpx.Response(status, json={"error": "x"}))
    with pytest.raises(ProviderRejected) as err:
        await make_provider(api).generate(request())
    assert f"HTTP {status}" in str(err.value)


async def test_generate_sends_body_and_idempotency_key() -> None:
    api = FakeApi()
    doc = await make_provider(api).generate(request())
    (call,) = api.calls("POST", "/v1/generate")
    assert call.headers["idempotency-key"] == "cw-42-nda-001"
    assert call.headers["content-type"] == "application/json"
    assert json_body(call) == {
        "template_id": "nda-001",
        "data": {"employee_name": "Ada Lovelace", "employee_email": "ada@example.com"},
        "callback_url": "https://bridge.test/webhooks/contractize",
        "metadata": {"request_id": "r-1", "initiated_by": "HR_SYSTEM"},
    }
    assert (doc.doc_id, doc.status, doc.template_id, doc.download_url) == ("doc_1", "processing", "nda-001", None)


async def test_find_by_idempotency_key() -> None:
    api = FakeApi()
    provider = make_provider(api)
    assert await provider.find_by_idempotency_key("cw-1") is None
    api.route("GET", "/v1/documents", lambda r: httpx.Response(200, json={"documents": [document("doc_9")]}))
    found = await provider.find_by_idempotency_key("cw-1")
    assert found is not None and found.doc_id == "doc_9" and found.status == "ready"
    assert api.calls("GET", "/v1/documents")[-1].url.params["idempotency_key"] == "cw-1"


async def test_get_document_and_not_found() -> None:
    api = FakeApi()
    provider = make_provider(api)
    doc = await provider.get_document("doc_1")
    assert doc.metadata == {"request_id": "r-1"} and doc.download_url is not None
    with pytest.raises(DocumentNotFound):
        await provider.get_document("doc_404")


async def test_get_template() -> None:
    api = FakeApi()
    body = {
        "template_id": "nda-001",
        "version": "3",
        "fields": [
            {"name": "employee_name", "type": "string", "required": True},
            {"name": "start_date", "type": "date", "required": False},
        ],
    }
    api.route("GET", "/v1/templates/nda-001", lambda r: httpx.Response(200, json=body))
    template = await make_provider(api).get_template("nda-001")
    assert template.version == "3"
    assert template.field_names() == {"employee_name", "start_date"}
    assert template.fields[1].type == "date" and not template.fields[1].required
    with pytest.raises(ProviderRejected):
        await make_provider(api).get_template("unknown")


async def test_download_streams_from_a_fresh_signed_url_without_the_token() -> None:
    api = FakeApi()
    chunks = [c async for c in make_provider(api).download("doc_1")]
    assert b"".join(chunks) == PDF
    (call,) = api.calls("GET", "/v1/documents/doc_1/download")
    assert "authorization" not in call.headers
    assert call.url.params["signature"] == "SIGNATURE-SECRET"


async def test_download_refreshes_an_expired_link_once() -> None:
    api = FakeApi()
    answers = iter([httpx.Response(403, json={"error": "invalid_signature"})])
    api.route("GET", "/v1/documents/doc_1/download", lambda r: next(answers, None))
    data = b"".join([c async for c in make_provider(api).download("doc_1")])
    assert data == PDF
    assert len(api.calls("GET", "/v1/documents/doc_1")) == 2


async def test_download_of_a_document_that_is_not_ready() -> None:
    api = FakeApi()
    api.route("GET", "/v1/documents/doc_1", lambda r: httpx.Response(200, json=document("doc_1", "processing")))
    with pytest.raises(ProviderUnavailable, match="not ready"):
        [c async for c in make_provider(api).download("doc_1")]
    api.route("GET", "/v1/documents/doc_1", lambda r: httpx.Response(200, json=document("doc_1", "failed")))
    with pytest.raises(ProviderRejected, match="failed"):
        [c async for c in make_provider(api).download("doc_1")]


async def test_download_server_error_names_the_path_not_the_signature() -> None:
    api = FakeApi()
    api.route("GET", "/v1/documents/doc_1/download", lambda r: httpx.Response(500))
    with pytest.raises(ProviderUnavailable) as err:
        [c async for c in make_provider(api).download("doc_1")]
    assert "GET /v1/documents/doc_1/download" in str(err.value)
    assert_no_secret(str(err.value))


async def test_audited_provider_logs_no_secrets() -> None:
    api = FakeApi()
    client = httpx.AsyncClient(transport=AuditTransport(httpx.MockTransport(api), "contractize"))
    provider = ContractizeProvider(settings(), client, TokenCache())
    with capture_logs() as logs:
        await provider.generate(request())
        b"".join([c async for c in provider.download("doc_1")])
    calls = [e for e in logs if e["event"] == "http_call"]
    assert [(e["method"], e["path"]) for e in calls] == [
        ("POST", "/oauth/token"),
        ("POST", "/v1/generate"),
        ("GET", "/v1/documents/doc_1"),
        ("GET", "/v1/documents/doc_1/download"),
    ]
    assert_no_secret(repr(logs))


async def test_build_provider_uses_audited_transport_and_shared_cache() -> None:
    provider = build_provider(settings())
    try:
        assert provider.token_cache is SHARED_TOKEN_CACHE
        transport = provider.client._transport
        assert isinstance(transport, AuditTransport)
        assert isinstance(transport.inner, httpx.AsyncHTTPTransport)
        assert provider.client.timeout.read == 10.0
    finally:
        await provider.aclose()
    assert provider.client.is_closed


async def test_twenty_waiters_on_a_failing_token_endpoint_cause_one_request() -> None:
    api = FakeApi(token_status=503, token_delay_s=0.01)
    now = [1_000_000.0]
    provider = make_provider(api, TokenCache(clock=lambda: now[0]), token_failure_ttl_s=5)
    results = await asyncio.gather(*(provider.ensure_token() for _ in range(20)), return_exceptions=True)
    assert len(api.calls("POST", "/oauth/token")) == 1
    assert {type(r) for r in results} == {ProviderUnavailable}
    with pytest.raises(ProviderUnavailable):  # within the failure TTL: no new request
        await provider.generate(request())
    assert len(api.calls("POST", "/oauth/token")) == 1
    api.token_status = 200
    now[0] += 6
    assert (await provider.generate(request())).doc_id == "doc_1"
    assert len(api.calls("POST", "/oauth/token")) == 2
