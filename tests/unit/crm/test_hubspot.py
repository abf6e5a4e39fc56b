from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest
from structlog.testing import capture_logs

from workers.crm import (
    CrmAuthError,
    CrmObject,
    CrmRateLimited,
    CrmRejected,
    CrmSystem,
    CrmUnavailable,
    Deal,
    DealNotFound,
)
from workers.crm.answers import rate_limit_wait
from workers.crm.hubspot import HubSpotClient, build_crm
from workers.crm.settings import DEV_HUBSPOT_TOKEN, HubSpotSandboxSettings, HubSpotSettings

TOKEN = "pat-eu1-token-under-test-0123456789"
SETTINGS = HubSpotSettings(base_url="https://api.hubapi.test", access_token=TOKEN, timeout_s=5)
DEAL_PATH = "/crm/v3/objects/deals/{id}"
CORRELATION = "aeb5f871-7f07-4993-9211-075dc63e7cbf"
DEAL = {
    "id": "1001",
    "properties": {"dealname": "Acme - Ada Byron's renewal", "amount": "48000", "closedate": None,
                   "hs_object_id": "1001", "createdate": "2026-01-02T10:00:00.000Z"},
    "createdAt": "2026-01-02T10:00:00.000Z", "updatedAt": "2026-01-03T10:00:00.000Z", "archived": False,
    "associations": {
        "contacts": {"results": [{"id": "201", "type": "deal_to_contact"}, {"id": "202", "type": "deal_to_contact"}]},
        "companies": {"results": [{"id": "301", "type": "deal_to_company"},
                                  {"id": "301", "type": "deal_to_company_unlabeled"},
                                  {"id": "../x", "type": "deal_to_company_unlabeled"}]},
    },
}  # fmt: skip
PERSONAL = ("Ada", "Byron", "48000", "ada@example.com", TOKEN)

Handler = Callable[[httpx.Request], httpx.Response]


class Api:
    """An ``httpx.MockTransport`` handler that records requests and answers with ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


def make(handler: Handler, **overrides) -> tuple[HubSpotClient, Api]:
    api = Api(handler)
    settings = SETTINGS.model_copy(update=overrides) if overrides else SETTINGS
    return HubSpotClient(settings, transport=httpx.MockTransport(api)), api


def answer(status: int = 200, body: object = DEAL, **kwargs) -> Handler:
    if body is None:
        return lambda request: httpx.Response(status, **kwargs)
    return lambda request: httpx.Response(status, json=body, **kwargs)


def hs_error(category: str, message: str = "Ada Byron's value 48000 is bad", **extra) -> dict:
    return {"status": "error", "message": message, "correlationId": CORRELATION, "category": category, **extra}


def assert_safe(text: str) -> None:
    for value in PERSONAL:
        assert value not in text


async def test_implements_the_protocol() -> None:
    crm, _ = make(answer())
    assert isinstance(crm, CrmSystem) and crm.name == "hubspot"
    await crm.aclose()


async def test_get_deal_request_follows_the_published_api() -> None:
    crm, api = make(answer())
    await crm.get_deal("1001", ["dealname", "amount", "closedate"])
    (request,) = api.requests
    assert request.method == "GET" and request.url.host == "api.hubapi.test"
    assert request.url.path == DEAL_PATH.format(id="1001")
    assert request.url.params["properties"] == "dealname,amount,closedate"
    assert request.url.params["associations"] == "contacts,companies"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/json"


async def test_get_deal_reads_properties_and_deduplicated_associations() -> None:
    crm, _ = make(answer())
    deal = await crm.get_deal("1001", ["dealname", "amount", "closedate", "no_such_property"])
    assert deal == Deal(
        deal_id="1001",
        properties={"dealname": "Acme - Ada Byron's renewal", "amount": "48000", "closedate": None,
                    "no_such_property": None},
        contact_ids=["201", "202"],
        company_ids=["301"],
    )  # fmt: skip
    assert deal.missing("dealname", "closedate", "no_such_property") == ["closedate", "no_such_property"]
    assert_safe(repr(deal))
    assert "dealname,amount" in repr(deal)


async def test_a_deal_without_associations_has_no_ids() -> None:
    crm, _ = make(answer(body={"id": "1001", "properties": {"dealname": "x"}}))
    deal = await crm.get_deal("1001", ["dealname"])
    assert deal.contact_ids == [] and deal.company_ids == []


async def test_contacts_and_companies_are_read_with_their_properties() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        object_id = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json={"id": object_id, "properties": {"email": "ada@example.com", "name": None}})

    crm, api = make(handler)
    contact = await crm.get_contact("201", ["email", "firstname"])
    company = await crm.get_company("301", ["name"])
    assert contact == CrmObject("201", {"email": "ada@example.com", "firstname": None})
    assert company == CrmObject("301", {"name": None}) and company.missing("name") == ["name"]
    assert [r.url.path for r in api.requests] == ["/crm/v3/objects/contacts/201", "/crm/v3/objects/companies/301"]
    assert "associations" not in api.requests[0].url.params
    assert_safe(repr(contact))


@pytest.mark.parametrize("bad_id", ["", "../7", "7/../../x", "a b", "x" * 65, "ada@example.com", "7?properties=x"])
async def test_a_bad_id_is_refused_without_calling_out(bad_id: str) -> None:
    crm, api = make(answer())
    with pytest.raises(DealNotFound) as info:
        await crm.get_deal(bad_id, ["dealname"])
    for call in (crm.get_contact(bad_id, ["email"]), crm.get_company(bad_id, ["name"]),
                 crm.update_deal(bad_id, {"contract_id": "c1"})):  # fmt: skip
        with pytest.raises(DealNotFound):
            await call
    assert api.requests == []
    assert "ada@example.com" not in str(info.value)


@pytest.mark.parametrize("names", [["deal name"], ["dealname", "Ada Byron"], [], "dealname", [3]])
async def test_bad_property_names_are_refused_before_sending(names: object) -> None:
    crm, api = make(answer())
    with pytest.raises(CrmRejected) as info:
        await crm.get_deal("1001", names)  # type: ignore[arg-type]
    assert api.requests == [] and "Ada" not in str(info.value)


@pytest.mark.parametrize(
    ("call", "what"),
    [(lambda crm: crm.get_deal("1001", ["dealname"]), "deal '1001'"),
     (lambda crm: crm.get_contact("201", ["email"]), "contact '201'"),
     (lambda crm: crm.get_company("301", ["name"]), "company '301'")],
)  # fmt: skip
async def test_404_names_the_object_type_and_id(call, what: str) -> None:
    crm, _ = make(answer(404, hs_error("OBJECT_NOT_FOUND", "resource not found")))
    with pytest.raises(DealNotFound) as info:
        await call(crm)
    assert f"has no {what} (HTTP 404 on GET /crm/v3/objects/" in str(info.value)
    assert f"correlationId {CORRELATION}" in str(info.value)
    crm, _ = make(answer(404, None))
    with pytest.raises(DealNotFound):
        await call(crm)


async def test_401_and_403_are_auth_errors_naming_what_to_check() -> None:
    crm, _ = make(answer(401, hs_error("INVALID_AUTHENTICATION")))
    with pytest.raises(CrmAuthError, match="HUBSPOT_ACCESS_TOKEN") as info:
        await crm.get_deal("1001", ["dealname"])
    assert "category INVALID_AUTHENTICATION" in str(info.value)
    assert_safe(str(info.value))
    scopes = {"errors": [{"message": "Ada", "context": {"requiredGranularScopes": ["crm.objects.deals.read",
                                                                                    "Ada Byron"]}}]}  # fmt: skip
    crm, _ = make(answer(403, hs_error("MISSING_SCOPES", **scopes)))
    with pytest.raises(CrmAuthError, match="scopes") as info:
        await crm.update_deal("1001", {"contract_id": "c1"})
    assert "missing: crm.objects.deals.read" in str(info.value) and "HTTP 403 on PATCH" in str(info.value)
    assert_safe(str(info.value))


@pytest.mark.parametrize(
    ("headers", "body", "seconds"),
    [
        ({"Retry-After": "7"}, {}, 7.0),
        ({"Retry-After": "1e300"}, {}, 300.0),
        ({"X-HubSpot-RateLimit-Interval-Milliseconds": "10000", "X-HubSpot-RateLimit-Remaining": "0"}, {}, 10.0),
        ({"X-HubSpot-RateLimit-Interval-Milliseconds": "999999999"}, {}, 300.0),
        ({"X-HubSpot-RateLimit-Interval-Milliseconds": "-5"}, {}, 10.0),
        ({"X-HubSpot-RateLimit-Daily-Remaining": "0"}, {}, 300.0),
        ({}, {"policyName": "DAILY"}, 300.0),
        ({"X-HubSpot-RateLimit-Secondly-Remaining": "0"}, {}, 1.0),
        ({}, {}, 10.0),
    ],
)
async def test_429_is_rate_limited_with_a_clamped_wait(headers: dict, body: dict, seconds: float) -> None:
    crm, _ = make(answer(429, hs_error("RATE_LIMITS", **body), headers=headers))
    with pytest.raises(CrmRateLimited) as info:
        await crm.get_deal("1001", ["dealname"])
    assert info.value.retry_after == seconds and 0 <= info.value.retry_after <= 300
    assert "HTTP 429" in str(info.value) and "category RATE_LIMITS" in str(info.value)


def test_rate_limit_wait_tolerates_odd_bodies() -> None:
    assert rate_limit_wait(httpx.Headers({}), None) == 10.0
    assert rate_limit_wait(httpx.Headers({"retry-after": "0"}), ["x"]) == 0.0


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 302, 418])
async def test_server_errors_and_unexpected_statuses_are_unavailable(status: int) -> None:
    crm, _ = make(answer(status, hs_error("INTERNAL_ERROR")))
    with pytest.raises(CrmUnavailable, match=f"HTTP {status}") as info:
        await crm.get_deal("1001", ["dealname"])
    assert_safe(str(info.value))


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>login Ada</html>", headers={"Content-Type": "text/html"}),
        httpx.Response(200, json=["Ada"]),
        httpx.Response(200, json={**DEAL, "id": "1002"}),
        httpx.Response(200, content=b""),
    ],
)
async def test_wrong_answers_are_unavailable(response: httpx.Response) -> None:
    crm, _ = make(lambda request: response)
    with pytest.raises(CrmUnavailable) as info:
        await crm.get_deal("1001", ["dealname"])
    assert_safe(str(info.value))


@pytest.mark.parametrize(
    ("exc", "text"),
    [(httpx.ConnectError("refused"), "could not connect"), (httpx.ReadTimeout("slow"), "timed out"),
     (httpx.RemoteProtocolError("bye"), "RemoteProtocolError")],
)  # fmt: skip
async def test_transport_errors_are_unavailable(exc: Exception, text: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc

    crm, _ = make(fail)
    with capture_logs() as logs:
        with pytest.raises(CrmUnavailable, match=text):
            await crm.get_deal("1001", ["dealname"])
    assert [entry["status"] for entry in logs if entry["event"] == "crm.call"] == [None]


async def test_a_total_deadline_bounds_each_call() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200, json=DEAL)

    crm = HubSpotClient(SETTINGS.model_copy(update={"timeout_s": 0.05}), transport=httpx.MockTransport(slow))
    with pytest.raises(CrmUnavailable, match="no complete answer within 0.05s"):
        await crm.get_deal("1001", ["dealname"])


async def test_update_patches_the_properties() -> None:
    crm, api = make(answer(200, {"id": "1001", "properties": {}}))
    await crm.update_deal("1001", {"contract_id": "c_1", "contract_status": "sent"})
    (request,) = api.requests
    assert request.method == "PATCH" and request.url.path == DEAL_PATH.format(id="1001")
    assert json.loads(request.content) == {"properties": {"contract_id": "c_1", "contract_status": "sent"}}
    assert request.headers["content-type"] == "application/json"
    await crm.update_deal("1001", {})
    assert len(api.requests) == 1


async def test_update_400_names_properties_from_the_error_structure_only() -> None:
    body = hs_error(
        "VALIDATION_ERROR",
        'Property values were not valid: [{"message":"\\"Ada Byron\\" was not one of the allowed options"}]',
        errors=[
            {"message": '"Ada Byron" was not one of the allowed options', "code": "INVALID_OPTION",
             "context": {"propertyName": ["contract_status"]}},
            {"message": "x", "code": "PROPERTY_DOESNT_EXIST", "context": {"propertyName": ["Ada Byron <a@b>"]}},
        ],
    )  # fmt: skip
    crm, _ = make(answer(400, body))
    with pytest.raises(CrmRejected) as info:
        await crm.update_deal("1001", {"contract_status": "Ada Byron", "contract_id": "c_1"})
    assert info.value.properties == ["contract_status"]
    assert "properties: contract_status" in str(info.value)
    facts = f"(category VALIDATION_ERROR; codes INVALID_OPTION, PROPERTY_DOESNT_EXIST; correlationId {CORRELATION})"
    assert facts in str(info.value)
    assert_safe(str(info.value))
    crm, _ = make(answer(400, None, text="Ada Byron is invalid"))
    with pytest.raises(CrmRejected, match="none named in the answer; sent contract_id, contract_status") as info:
        await crm.update_deal("1001", {"contract_status": "Ada Byron", "contract_id": "c_1"})
    assert info.value.properties == ["contract_id", "contract_status"]


async def test_update_refuses_bad_properties_before_sending() -> None:
    crm, api = make(answer(200, {}))
    with pytest.raises(CrmRejected, match="not HubSpot property names") as info:
        await crm.update_deal("1001", {"Ada Byron": "x"})
    assert "Ada" not in str(info.value)
    with pytest.raises(CrmRejected, match="contract_id") as info:
        await crm.update_deal("1001", {"contract_id": 3})  # type: ignore[dict-item]
    assert info.value.properties == ["contract_id"]
    assert api.requests == []


async def test_update_maps_other_errors_like_reads() -> None:
    crm, _ = make(answer(404, None))
    with pytest.raises(DealNotFound, match="no deal '1001' .*PATCH"):
        await crm.update_deal("1001", {"contract_id": "c_1"})
    crm, _ = make(answer(503, None))
    with pytest.raises(CrmUnavailable, match="HTTP 503 on PATCH"):
        await crm.update_deal("1001", {"contract_id": "c_1"})


async def test_one_log_line_per_call_without_bodies_or_secrets() -> None:
    crm, _ = make(answer())
    with capture_logs() as logs:
        await crm.get_deal("1001", ["dealname", "amount"])
    (line,) = [entry for entry in logs if entry["event"] == "crm.call"]
    assert line["method"] == "GET" and line["path"] == DEAL_PATH.format(id="1001") and line["status"] == 200
    assert line["object_type"] == "deal" and line["object_id"] == "1001" and isinstance(line["latency_ms"], float)
    assert_safe(repr(logs))


async def test_redirects_are_not_followed() -> None:
    crm, api = make(answer(302, None, headers={"Location": "https://evil.test/"}))
    with pytest.raises(CrmUnavailable, match="redirect"):
        await crm.get_deal("1001", ["dealname"])
    assert len(api.requests) == 1


async def test_build_crm_uses_the_settings_and_an_audited_transport() -> None:
    crm = build_crm(SETTINGS)
    assert isinstance(crm, HubSpotClient) and crm.settings is SETTINGS
    assert type(crm.client._transport).__name__ == "AuditTransport"
    assert crm.client._trust_env is False and crm.client.follow_redirects is False
    await crm.aclose()


def test_settings_defaults_and_validation() -> None:
    fields = HubSpotSettings.model_fields
    assert fields["access_token"].default.get_secret_value() == DEV_HUBSPOT_TOKEN
    assert fields["base_url"].default == "http://127.0.0.1:8094"
    assert fields["webhook_url"].default == "http://127.0.0.1:8090/webhooks/hubspot"
    assert HubSpotSettings(base_url="https://api.hubapi.com/").base_url == "https://api.hubapi.com"
    assert HubSpotSettings(webhook_url="https://hooks.example.com/hs?key=1").webhook_url.endswith("?key=1")
    assert HubSpotSettings().sync_properties()["dmsLocation"] == "contract_dms_location"
    for bad in (
        {"base_url": "ftp://x"},
        {"base_url": "https://user:pw@api.hubapi.com"},
        {"base_url": "https://api.hubapi.com?x=1"},
        {"webhook_url": "https://hooks.example.com/#frag"},
        {"portal_id": "12a"},
        {"closed_won_stage": "closed won"},
        {"contract_id_property": "contract id"},
        {"timeout_s": 0},
        {"max_timestamp_age_s": 301},
    ):
        with pytest.raises(ValueError):
            HubSpotSettings(**bad)
    sandbox = HubSpotSandboxSettings.model_fields
    assert sandbox["port"].default == 8094
    # Out of the box the sandbox signs what the bridge verifies, and accepts the adapter's token.
    assert sandbox["webhook_url"].default == fields["webhook_url"].default
    assert sandbox["client_secret"].default == fields["client_secret"].default
    assert sandbox["access_token"].default == fields["access_token"].default
    with pytest.raises(ValueError):
        HubSpotSandboxSettings(webhook_url="not a url")
    with pytest.raises(ValueError):
        HubSpotSandboxSettings(portal_id="abc")


def test_cached_loaders(monkeypatch: pytest.MonkeyPatch) -> None:
    from workers.crm import settings

    settings.clear_cache()
    monkeypatch.setenv("HUBSPOT_PORTAL_ID", "987")
    monkeypatch.setenv("CRMSANDBOX_PORT", "18094")
    try:
        assert settings.hubspot().portal_id == "987" and settings.hubspot() is settings.hubspot()
        assert settings.crm_sandbox().port == 18094
    finally:
        settings.clear_cache()
