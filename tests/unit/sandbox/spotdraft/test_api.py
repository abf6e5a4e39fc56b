"""The SpotDraft sandbox's API: SpotDraft's paths and trailing slashes (302 otherwise), client-id/-secret auth,
template validation, look-ups, key pointers, expiring download links, the 10 requests/s limit."""

from __future__ import annotations

import io

import httpx
import pytest
from pypdf import PdfReader

from workers.sandbox.spotdraft import SdSandboxState, create_app

from .support import API, AUTH, BASE, MSA_DATA, PARTY, SETTINGS, Bridge, FrozenClock, Sandbox, create_body

# --- paths, redirects, auth --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "wrong", "right"),
    [("POST", "/contracts", "/contracts/"), ("GET", "/webhooks/hmac_key", "/webhooks/hmac_key/"),
     ("POST", "/contracts/T-5001/send_to_counterparties/", "/contracts/T-5001/send_to_counterparties"),
     ("GET", "/contracts/T-5001/status/", "/contracts/T-5001/status")],
)  # fmt: skip
async def test_a_trailing_slash_mismatch_is_a_302(sd: Sandbox, method: str, wrong: str, right: str) -> None:
    response = await sd.client.request(method, API + wrong, headers=AUTH)
    assert response.status_code == 302 and response.headers["location"] == API + right
    assert sd.state.contracts == {}


@pytest.mark.parametrize(
    "headers",
    [{}, {"client-id": AUTH["client-id"]}, {**AUTH, "client-secret": "wrong"}, {**AUTH, "client-id": "other"},
     {"Authorization": "Bearer " + AUTH["client-secret"]}],
)  # fmt: skip
async def test_client_id_and_secret_are_required(sd: Sandbox, headers: dict[str, str]) -> None:
    response = await sd.client.get(f"{API}/webhooks/hmac_key/", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"detail", "status_code", "code", "message"} and body["status_code"] == 401


async def test_hmac_key_is_the_configured_one(sd: Sandbox) -> None:
    response = await sd.client.get(f"{API}/webhooks/hmac_key/", headers=AUTH)
    assert response.json() == {"hmac_key": SETTINGS.hmac_key.get_secret_value()}


# --- create ------------------------------------------------------------------------------------------


async def test_create_answers_the_published_shape(sd: Sandbox) -> None:
    created = await sd.create(contract_name="Analytical Engines MSA")
    assert created["id"] == "T-5001" and created["contract_id"] == 5001 and created["contract_status"] == "DRAFT"
    assert created["contract_name"] == "Analytical Engines MSA" and created["reference_id"] == "SD-5001"
    assert created["contract_link"] == f"{BASE}/contracts/v2/5001"
    assert created["external_metadata"] == create_body()["external_metadata"]
    assert (await sd.create(external_id="deal-2"))["id"] == "T-5002"
    assert (await sd.create())["contract_name"] == "Master Services Agreement"  # the template's title


async def test_unknown_template_is_404(sd: Sandbox) -> None:
    response = await sd.client.post(f"{API}/contracts/", json=create_body(contract_template_id=999), headers=AUTH)
    assert response.status_code == 404 and response.json()["status_code"] == 404


@pytest.mark.parametrize(
    ("data", "problems"),
    [({**MSA_DATA, "favourite_colour": "blue"}, {"favourite_colour"}),
     ({k: v for k, v in MSA_DATA.items() if k != "term"}, {"term"}),
     ({**MSA_DATA, "contract_value": 12000}, {"contract_value"}),
     ({**MSA_DATA, "contract_value": {"type": "usd", "value": 1}}, {"contract_value"}),
     ({**MSA_DATA, "term": {"type": "WEEKS", "value": 2}}, {"term"}),
     ({**MSA_DATA, "effective_date": "31/01/2026"}, {"effective_date"}),
     ({**MSA_DATA, "effective_date": "2026-02-30"}, {"effective_date"}),
     ({**MSA_DATA, "auto_renewal": "yes"}, {"auto_renewal"}),
     ({**MSA_DATA, "notice_period_days": True}, {"notice_period_days"}),
     ({}, {"customer_name", "effective_date", "contract_value", "term"})],
)  # fmt: skip
async def test_contract_data_must_fit_the_template(sd: Sandbox, data: dict, problems: set[str]) -> None:
    response = await sd.client.post(f"{API}/contracts/", json=create_body(contract_data=data), headers=AUTH)
    assert response.status_code == 400
    body = response.json()
    assert set(body["contract_data"]) == problems and body["code"] == "invalid"
    assert "Analytical" not in response.text and "blue" not in response.text
    assert sd.state.contracts == {}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"contract_template_id": "101"}, "contract_template_id"), ({"contract_data": []}, "contract_data"),
     ({"counter_party_details": []}, "counter_party_details"),
     ({"counter_party_details": [{**PARTY, "organization_name": ""}]}, "counter_party_details"),
     ({"counter_party_details": [{"is_individual": True, "poc_details": {"first_name": "Ada"}}]},
      "counter_party_details"),
     ({"external_metadata": "deal-1"}, "external_metadata")],
)  # fmt: skip
async def test_structure_errors_name_the_field(sd: Sandbox, overrides: dict, field: str) -> None:
    response = await sd.client.post(f"{API}/contracts/", json=create_body(**overrides), headers=AUTH)
    assert response.status_code == 400 and field in response.json()
    bad_json = await sd.client.post(f"{API}/contracts/", content=b"{", headers=AUTH)
    assert bad_json.status_code == 400 and bad_json.json()["code"] == "parse_error"


async def test_counterparty_errors_are_per_item(sd: Sandbox) -> None:
    parties = [PARTY, {"is_individual": True, "poc_details": {"first_name": "Ada", "email": "nope"}}]
    response = await sd.client.post(f"{API}/contracts/", json=create_body(counter_party_details=parties),
                                    headers=AUTH)  # fmt: skip
    expected = [{}, {"poc_details": {"email": ["Enter a valid email address."]}}]
    assert response.json()["counter_party_details"] == expected


# --- look-ups ----------------------------------------------------------------------------------------


async def test_by_external_metadata_lists_integer_ids(sd: Sandbox) -> None:
    await sd.create(external_id="deal-1")
    await sd.create(external_id="deal-2")
    await sd.create(external_id="deal-1")
    listed = (await sd.client.get(f"{API}/contracts/by_external_metadata/deal-1", headers=AUTH)).json()
    assert [c["id"] for c in listed] == [5001, 5003] and "contract_id" not in listed[0]
    none = await sd.client.get(f"{API}/contracts/by_external_metadata/deal-9", headers=AUTH)
    assert none.status_code == 200 and none.json() == []


async def test_status_and_key_pointers(sd: Sandbox) -> None:
    await sd.create()
    status = await sd.client.get(f"{API}/contracts/T-5001/status", headers=AUTH)
    assert status.json() == {"contract_status": "DRAFT", "contract_name": "Master Services Agreement"}
    pointers = (await sd.client.get(f"{API}/contracts/T-5001/key_pointers", headers=AUTH)).json()
    by_name = {p["field_name"]: p for p in pointers}
    assert by_name["effective_date"]["value"] == "2026-01-31" and by_name["effective_date"]["data_type"] == "date"
    assert by_name["contract_value"]["value"] == {"type": "USD", "value": 12000}
    assert by_name["term"]["value"] == {"type": "MONTHS", "value": 1}
    assert by_name["renewal_date"]["value"] == "2026-02-28"  # one calendar month, clamped
    assert by_name["auto_renewal"]["value"] is False
    assert by_name["notice_period"]["value"] == {"type": "DAYS", "value": 45}
    assert all(set(p) == {"id", "value", "label", "field_name", "data_type", "format_option"} for p in pointers)
    for path in ("T-9999/status", "T-9999/key_pointers", "X-1/status", "5001/status"):
        assert (await sd.client.get(f"{API}/contracts/{path}", headers=AUTH)).status_code == 404


# --- documents ---------------------------------------------------------------------------------------


async def test_download_links_are_signed_and_expire(sd: Sandbox) -> None:
    await sd.create()
    answer = (await sd.client.post(f"{API}/contracts/T-5001/download_link", json={"format": "PDF"},
                                   headers=AUTH)).json()  # fmt: skip
    assert set(answer) == {"url", "file_name", "current_version_id"} and answer["current_version_id"] == 1
    assert answer["url"].startswith(f"{BASE}/_storage/contracts/5001/v1.pdf?expires=")
    pdf = await sd.client.get(answer["url"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and "client-id" not in pdf.request.headers
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Master Services Agreement (draft)" in text and "12000 USD" in text
    forged = await sd.client.get(answer["url"].replace("signature=", "signature=0"))
    assert forged.status_code == 403 and b"SignatureDoesNotMatch" in forged.content
    sd.clock.advance(SETTINGS.download_url_ttl_s + 1)
    expired = await sd.client.get(answer["url"])
    assert expired.status_code == 400 and b"ExpiredToken" in expired.content
    no_format = await sd.client.post(f"{API}/contracts/T-5001/download_link", headers=AUTH)
    assert no_format.status_code == 200  # the format defaults to PDF
    docx = await sd.client.post(f"{API}/contracts/T-5001/download_link", json={"format": "DOCX"}, headers=AUTH)
    assert docx.status_code == 400


# --- rate limit --------------------------------------------------------------------------------------


async def test_ten_requests_per_second_per_workspace() -> None:
    clock = FrozenClock()
    state = SdSandboxState(clock=clock)
    app = create_app(SETTINGS, state, webhook_transport=httpx.MockTransport(Bridge().handle))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        statuses = [(await client.get(f"{API}/webhooks/hmac_key/", headers=AUTH)).status_code for _ in range(11)]
        assert statuses == [200] * 10 + [429]
        limited = await client.get(f"{API}/webhooks/hmac_key/", headers=AUTH)
        assert limited.headers["retry-after"] == "1" and limited.json()["code"] == "throttled"
        assert (await client.get(f"{API}/webhooks/hmac_key/")).status_code == 401  # unauthenticated: not counted
        assert (await client.get("/_sandbox/health")).status_code == 200  # control plane: not limited
        clock.advance(0.5)
        assert (await client.get(f"{API}/webhooks/hmac_key/", headers=AUTH)).status_code == 429
        clock.advance(0.5)
        assert (await client.get(f"{API}/webhooks/hmac_key/", headers=AUTH)).status_code == 200
        assert state.rate_limited == 3
    await app.state.sender.aclose()
