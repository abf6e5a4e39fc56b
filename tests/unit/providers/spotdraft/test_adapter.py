"""SpotDraftClient against a scripted fake (``httpx.MockTransport``): requests as published, answers mapped
onto ``providers.base`` errors whose messages name ids, statuses and field names only."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from workers.audit import AuditTransport
from workers.providers.base import (
    DocumentNotFound,
    ProviderAuthError,
    ProviderBadAnswer,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from workers.providers.spotdraft import Contract, ContractStateInvalid, TemplateNotFound
from workers.providers.spotdraft.adapter import build_client
from workers.providers.spotdraft.errors import error_fields

from .support import CLIENT_ID, CLIENT_SECRET, P, PDF, FakeSpotDraft, created, json_response, listed, request, settings

CREATE = f"{P}/contracts/"


@pytest.fixture
def fake() -> FakeSpotDraft:
    return FakeSpotDraft()


def error(status: int, **fields: object) -> httpx.Response:
    return json_response(status, {"detail": "Problem with Ada Lovelace", "status_code": status, "code": "invalid",
                                  "message": "ada.lovelace@example.com", **fields})  # fmt: skip


# --- create ------------------------------------------------------------------------------------------


async def test_create_sends_the_published_body_with_the_auth_headers(fake: FakeSpotDraft) -> None:
    fake.on("POST", CREATE, json_response(201, created("T-1234")))
    client = fake.client(integration_name="crm-sync", record_type="Deal")
    contract = await client.create_contract(request(contract_name="Acme MSA"))
    assert contract == Contract("T-1234", 1234, "DRAFT", "https://app.spotdraft.com/contracts/v2/1234",
                                "Master Services Agreement")  # fmt: skip
    [sent] = fake.requests
    assert str(sent.url) == "https://api.us.spotdraft.test/api/v2.1/public/contracts/"
    assert sent.headers["client-id"] == CLIENT_ID and sent.headers["client-secret"] == CLIENT_SECRET
    body = json.loads(sent.content)
    assert body == {
        "contract_template_id": 101,
        "contract_data": request().contract_data,
        "counter_party_details": [{"is_individual": False, "organization_name": "Analytical Engines Ltd",
                                   "poc_details": {"first_name": "Ada", "last_name": "Lovelace",
                                                   "email": "ada.lovelace@example.com"}}],
        "external_metadata": {"id": "deal-1042", "integration_name": "crm-sync", "record_type": "Deal"},
        "contract_name": "Acme MSA",
    }  # fmt: skip
    await client.aclose()


async def test_an_individual_counterparty_has_no_organization_name(fake: FakeSpotDraft) -> None:
    fake.on("POST", CREATE, json_response(201, created()))
    person = request().counterparties[0].__class__(True, "Ada", "Lovelace", "ada@example.com", "ignored")
    await fake.client().create_contract(request(counterparties=[person]))
    [party] = json.loads(fake.requests[0].content)["counter_party_details"]
    assert party == {"is_individual": True, "poc_details": {"first_name": "Ada", "last_name": "Lovelace",
                                                            "email": "ada@example.com"}}  # fmt: skip
    assert "Ada" not in repr(person) and "Lovelace" not in repr(request())


async def test_unknown_template_is_template_not_found(fake: FakeSpotDraft) -> None:
    fake.on("POST", CREATE, error(404))
    with pytest.raises(TemplateNotFound) as err:
        await fake.client().create_contract(request(template_id=999))
    assert isinstance(err.value, ProviderRejected) and err.value.code == "TEMPLATE_NOT_FOUND"
    assert "999" in str(err.value) and err.value.fields == ["contract_template_id"]
    fake.on("POST", CREATE, error(400, contract_template_id=['Invalid pk "999" - object does not exist.']))
    with pytest.raises(TemplateNotFound):
        await fake.client().create_contract(request(template_id=999))


async def test_a_400_names_the_fields_never_the_values(fake: FakeSpotDraft) -> None:
    fake.on("POST", CREATE, error(400, contract_data={"customer_name": ["Ada Lovelace is not allowed"],
                                                     "Ada Lovelace": ["unknown"]},
                                  counter_party_details=[{}, {"poc_details": {"email": ["bad ada@x.y"]}}]))  # fmt: skip
    with pytest.raises(ProviderRejected) as err:
        await fake.client().create_contract(request())
    assert err.value.fields == ["contract_data.customer_name", "counter_party_details[1].poc_details.email"]
    text = str(err.value)
    assert "HTTP 400" in text and "code invalid" in text and "1 problem(s) without a usable field name" in text
    assert "Ada" not in text and "Lovelace" not in text and "@" not in text
    assert not isinstance(err.value, TemplateNotFound)


@pytest.mark.parametrize("status", [409, 422])
async def test_conflicts_are_rejections(fake: FakeSpotDraft, status: int) -> None:
    fake.on("POST", CREATE, error(status))
    with pytest.raises(ProviderRejected, match=f"HTTP {status}"):
        await fake.client().create_contract(request())


async def test_requests_that_cannot_be_valid_are_refused_without_a_call(fake: FakeSpotDraft) -> None:
    client = fake.client()
    for bad in (request(external_id="a/b"), request(external_id="ada@example.com"), request(template_id=0),
                request(template_id=True), request(counterparties=[])):  # fmt: skip
        with pytest.raises(ProviderRejected) as err:
            await client.create_contract(bad)
        assert "no request was sent" in str(err.value) and "ada" not in str(err.value)
    assert fake.requests == []


# --- status mapping ----------------------------------------------------------------------------------


async def test_402_is_contract_state_invalid(fake: FakeSpotDraft) -> None:
    path = f"{P}/contracts/T-1234/send_to_counterparties"
    fake.on("POST", path, error(402, code="CONTRACT_ALREADY_EXECUTED"))
    with pytest.raises(ContractStateInvalid) as err:
        await fake.client().send_to_counterparties("T-1234")
    assert err.value.code == "CONTRACT_STATE_INVALID" and err.value.api_code == "CONTRACT_ALREADY_EXECUTED"
    assert isinstance(err.value, ProviderError) and not isinstance(err.value, ProviderRejected)
    assert str(err.value) == (
        "SpotDraft at api.us.spotdraft.test refused POST /api/v2.1/public/contracts/T-1234/send_to_counterparties "
        "in the contract's current workflow state (HTTP 402, code CONTRACT_ALREADY_EXECUTED)"
    )
    assert json.loads(fake.requests[0].content) == {"attachment_formats": ["PDF"]}


@pytest.mark.parametrize(
    ("header", "expected"), [("7", 7.0), (None, 1.0), ("1e300", 300.0), ("soon", 1.0), ("-3", 1.0)]
)
async def test_429_honours_retry_after_clamped(fake: FakeSpotDraft, header: str | None, expected: float) -> None:
    fake.on("GET", f"{P}/contracts/T-1/status",
            json_response(429, {"detail": "throttled"}, {"Retry-After": header} if header else None))  # fmt: skip
    with pytest.raises(ProviderRateLimited) as err:
        await fake.client().get_status("T-1")
    assert err.value.retry_after == expected and "10 requests/s" in str(err.value)


async def test_retry_after_is_clamped_to_the_setting(fake: FakeSpotDraft) -> None:
    fake.on("GET", f"{P}/contracts/T-1/status", json_response(429, {}, {"Retry-After": "100"}))
    with pytest.raises(ProviderRateLimited) as err:
        await fake.client(retry_after_max_s=30).get_status("T-1")
    assert err.value.retry_after == 30


@pytest.mark.parametrize(
    ("status", "kind"),
    [(500, ProviderUnavailable), (502, ProviderUnavailable), (503, ProviderUnavailable), (408, ProviderUnavailable),
     (401, ProviderAuthError), (403, ProviderAuthError), (418, ProviderRejected)],
)  # fmt: skip
async def test_status_codes(fake: FakeSpotDraft, status: int, kind: type) -> None:
    fake.on("GET", f"{P}/contracts/T-1/status", error(status))
    with pytest.raises(kind) as err:
        await fake.client().get_status("T-1")
    assert f"HTTP {status}" in str(err.value)
    assert CLIENT_SECRET not in str(err.value) and "Ada" not in str(err.value)
    if status == 401:
        assert "SPOTDRAFT_CLIENT_ID" in str(err.value)


@pytest.mark.parametrize(
    ("location", "hint"),
    [("https://api.us.spotdraft.test/api/v2.1/public/contracts/T-1/status", "http instead of https"),
     ("/api/v2.1/public/contracts/T-1/status/", "trailing slash"),
     ("/login", "http instead of https, or a trailing slash")],
)  # fmt: skip
async def test_redirects_are_not_followed(location: str, hint: str) -> None:
    fake = FakeSpotDraft()
    fake.on("GET", f"{P}/contracts/T-1/status", httpx.Response(302, headers={"Location": location}))
    base = "http://127.0.0.1:8092/api" if location.startswith("https") else "https://api.us.spotdraft.test/api"
    with pytest.raises(ProviderBadAnswer) as err:
        await fake.client(base_url=base).get_status("T-1")
    assert hint in str(err.value) and "SPOTDRAFT_BASE_URL" in str(err.value) and "HTTP 302" in str(err.value)
    assert len(fake.requests) == 1


async def test_unreadable_answers_are_bad_answers(fake: FakeSpotDraft) -> None:
    fake.on("GET", f"{P}/contracts/T-1/status", httpx.Response(200, text="<html>login</html>",
                                                                 headers={"content-type": "text/html"}))  # fmt: skip
    with pytest.raises(ProviderBadAnswer, match="text/html"):
        await fake.client().get_status("T-1")
    fake.on("GET", f"{P}/contracts/T-1/status", json_response(200, {"contract_name": "x"}))
    with pytest.raises(ProviderBadAnswer, match="contract_status"):
        await fake.client().get_status("T-1")
    fake.on("POST", CREATE, json_response(201, created() | {"id": 1234}))
    with pytest.raises(ProviderBadAnswer, match="composite id"):
        await fake.client().create_contract(request())


async def test_transport_failures_and_the_total_deadline(fake: FakeSpotDraft) -> None:
    def refuse(_r: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    fake.on("GET", f"{P}/contracts/T-1/status", refuse)
    with pytest.raises(ProviderUnavailable, match="could not connect"):
        await fake.client().get_status("T-1")

    never = asyncio.Event()

    async def hang(_r: httpx.Request) -> httpx.Response:
        await never.wait()
        raise AssertionError("unreachable")

    fake.on("GET", f"{P}/contracts/T-1/status", hang)
    with pytest.raises(ProviderUnavailable, match="SPOTDRAFT_TOTAL_TIMEOUT_S"):
        await fake.client(total_timeout_s=0.05).get_status("T-1")


# --- look-ups ----------------------------------------------------------------------------------------


async def test_find_by_external_id(fake: FakeSpotDraft) -> None:
    path = f"{P}/contracts/by_external_metadata/deal-1042"
    client = fake.client()
    fake.on("GET", path, json_response(200, []))
    assert await client.find_by_external_id("deal-1042") is None
    fake.on("GET", path, error(404))
    assert await client.find_by_external_id("deal-1042") is None
    fake.on("GET", path, json_response(200, [
        listed(7, "EXECUTED", "2026-01-01T00:00:00Z"), listed(9, "VOIDED", "2026-03-01T00:00:00Z"),
        listed(8, "REDLINING", "2026-02-01T00:00:00Z"),
        listed(10, "DRAFT", "2026-04-01T00:00:00Z", integration_name="HubSpot"),
    ]))  # fmt: skip
    found = await client.find_by_external_id("deal-1042")
    assert found is not None and (found.composite_id, found.contract_id, found.status) == ("T-8", 8, "REDLINING")
    fake.on("GET", path, json_response(200, [listed(9, "VOIDED")]))
    assert await client.find_by_external_id("deal-1042") is None
    fake.on("GET", path, json_response(200, [listed(11) | {"id": "T-11"}]))
    assert (await client.find_by_external_id("deal-1042")).composite_id == "T-11"  # type: ignore[union-attr]
    fake.on("GET", path, json_response(200, [[listed(12)]]))  # the shape of the published example
    assert (await client.find_by_external_id("deal-1042")).composite_id == "T-12"  # type: ignore[union-attr]
    fake.on("GET", path, json_response(200, {"results": []}))
    with pytest.raises(ProviderBadAnswer):
        await client.find_by_external_id("deal-1042")
    assert all(r.url.path == path and not r.url.query for r in fake.requests)


async def test_contract_calls_map_404_to_document_not_found(fake: FakeSpotDraft) -> None:
    client = fake.client()
    for call in (client.get_status, client.key_pointers, client.send_to_counterparties):
        with pytest.raises(DocumentNotFound, match="T-77"):
            await call("T-77")
    with pytest.raises(DocumentNotFound, match="no request was sent"):
        await client.get_status("../T-1")
    assert len(fake.requests) == 3


async def test_status_and_key_pointers(fake: FakeSpotDraft) -> None:
    fake.on("GET", f"{P}/contracts/T-5/status", json_response(200, {"contract_status": "SIGN", "contract_name": "MSA"}))
    fake.on("GET", f"{P}/contracts/T-5/key_pointers", json_response(200, [
        {"id": 1, "value": "2026-12-01", "label": "Effective Date", "field_name": "effective_date", "data_type": "date",
         "format_option": {}},
        {"id": 2, "value": {"type": "USD", "value": 12000}, "label": "Contract Value", "field_name": "contract_value",
         "data_type": "currency", "format_option": {}},
    ]))  # fmt: skip
    client = fake.client()
    status = await client.get_status("T-5")
    assert (status.status, status.name, status.executed) == ("SIGN", "MSA", False)
    pointers = await client.key_pointers("T-5")
    assert [(p.field_name, p.value) for p in pointers] == [
        ("effective_date", "2026-12-01"), ("contract_value", {"type": "USD", "value": 12000})]
    assert "12000" not in repr(pointers)


async def test_get_hmac_key(fake: FakeSpotDraft) -> None:
    fake.on("GET", f"{P}/webhooks/hmac_key/", json_response(200, {"hmac_key": "c2VjcmV0"}))
    assert await fake.client().get_hmac_key() == "c2VjcmV0"


# --- download ----------------------------------------------------------------------------------------

STORAGE = "https://storage.example.test/bucket/contract.pdf"


def _link(fake: FakeSpotDraft, *urls: str) -> None:
    answers = [json_response(200, {"url": u, "file_name": "MSA.pdf", "current_version_id": 2}) for u in urls]
    fake.on("POST", f"{P}/contracts/T-5/download_link", answers)


async def _download(fake: FakeSpotDraft) -> bytes:
    return b"".join([chunk async for chunk in fake.client().download("T-5")])


async def test_download_streams_the_link_without_credentials(fake: FakeSpotDraft) -> None:
    _link(fake, STORAGE + "?sig=abc")
    pdf = httpx.Response(200, content=PDF, headers={"content-type": "application/pdf"})
    fake.on("GET", "/bucket/contract.pdf", pdf)
    assert await _download(fake) == PDF
    link, file = fake.requests
    assert json.loads(link.content) == {"format": "PDF"}
    assert "client-secret" not in file.headers and "client-id" not in file.headers


async def test_an_expired_link_is_replaced_once(fake: FakeSpotDraft) -> None:
    _link(fake, STORAGE + "?v=1", STORAGE + "?v=2")
    fake.on("GET", "/bucket/contract.pdf", lambda r: httpx.Response(400 if "v=1" in str(r.url) else 200, content=PDF))
    assert await _download(fake) == PDF
    assert len(fake.calls("POST", f"{P}/contracts/T-5/download_link")) == 2
    fake.on("GET", "/bucket/contract.pdf", httpx.Response(403, text="<Error/>"))
    with pytest.raises(ProviderUnavailable, match="refused twice"):
        await _download(fake)


async def test_download_refuses_what_is_not_a_pdf(fake: FakeSpotDraft) -> None:
    _link(fake, STORAGE)
    fake.on("GET", "/bucket/contract.pdf", httpx.Response(200, text="<html/>", headers={"content-type": "text/html"}))
    with pytest.raises(ProviderBadAnswer, match="text/html instead of a PDF"):
        await _download(fake)
    fake.on("GET", "/bucket/contract.pdf", httpx.Response(404))
    with pytest.raises(DocumentNotFound):
        await _download(fake)
    _link(fake, "javascript:alert(1)")
    with pytest.raises(ProviderBadAnswer, match="url"):
        await _download(fake)


# --- factory and helpers -----------------------------------------------------------------------------


async def test_build_client_uses_the_audited_transport() -> None:
    client = build_client(settings())
    assert isinstance(client.client._transport, AuditTransport)  # noqa: SLF001
    assert client.client.follow_redirects is False and client.name == "spotdraft"
    await client.aclose()


def test_error_fields_reads_structure_only() -> None:
    body = {"detail": "x", "status_code": 400, "code": "invalid", "message": "m",
            "errors": {"contract_data": {"term": ["bad"], "a b": ["x"]}}, "non_field_errors": ["no"],
            "signatories": [{}, [], {"email": "bad"}]}  # fmt: skip
    assert error_fields(body) == (["contract_data.term", "signatories[2].email"], 2)
    assert error_fields("oops") == ([], 0)
    assert error_fields({"detail": "only"}) == ([], 0)
