from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from workers.hr import (
    EmployeeNotFound,
    HrAuthError,
    HrRateLimited,
    HrRecord,
    HrRejected,
    HrSystem,
    HrUnavailable,
)
from workers.hr.bamboohr import REQUEST_FIELDS, BambooHr, build_hr, normalize
from workers.hr.settings import DEV_BAMBOOHR_API_KEY, BambooHrSettings, HrSandboxSettings
from workers.sandbox.bamboohr import HrSandboxState, create_app

API_KEY = "api-key-under-test-0123456789"
SETTINGS = BambooHrSettings(base_url="https://hr.test", company="acme", api_key=API_KEY, timeout_s=5)
PATH = "/api/gateway.php/acme/v1/employees/{id}/"
ADA = {
    "id": "7", "firstName": "Ada", "lastName": "Byron", "preferredName": None, "workEmail": "ada@example.com",
    "hireDate": "2026-03-02", "jobTitle": "Engineer", "department": "R&D", "address1": "1 Lane", "city": "Town",
    "dateOfBirth": "1990-01-02",
}  # fmt: skip
PERSONAL = ("Ada", "Byron", "ada@example.com", "1 Lane", "1990-01-02", API_KEY)

Handler = Callable[[httpx.Request], httpx.Response]


class Api:
    """An ``httpx.MockTransport`` that records requests and answers with ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


def make(handler: Handler, **overrides) -> tuple[BambooHr, Api]:
    api = Api(handler)
    settings = SETTINGS.model_copy(update=overrides) if overrides else SETTINGS
    return BambooHr(settings, transport=httpx.MockTransport(api)), api


def answer(status: int = 200, body: object = ADA, **kwargs) -> Handler:
    return lambda request: httpx.Response(status, json=body, **kwargs) if body is not None else httpx.Response(
        status, **kwargs
    )


def assert_safe(text: str) -> None:
    for value in PERSONAL:
        assert value not in text


async def test_implements_the_protocol() -> None:
    hr, _ = make(answer())
    assert isinstance(hr, HrSystem) and hr.name == "bamboohr"
    await hr.aclose()


async def test_get_employee_request_follows_the_published_api() -> None:
    hr, api = make(answer())
    await hr.get_employee("7")
    (request,) = api.requests
    assert request.method == "GET"
    assert request.url.host == "hr.test" and request.url.path == PATH.format(id="7")
    assert request.url.params["fields"] == ",".join(REQUEST_FIELDS)
    assert request.headers["accept"] == "application/json"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(f"{API_KEY}:x".encode()).decode()


async def test_get_employee_normalizes_the_record() -> None:
    hr, _ = make(answer())
    record = await hr.get_employee("7")
    assert record == HrRecord(
        employee_id="7",
        fields={
            "fullName": "Ada Byron", "email": "ada@example.com", "startDate": "2026-03-02", "jobTitle": "Engineer",
            "department": "R&D", "homeAddress": "1 Lane, Town", "birthDate": "1990-01-02",
        },
    )  # fmt: skip
    assert_safe(repr(record))
    assert "fullName" in repr(record)


def test_normalize_empty_values() -> None:
    raw = {
        "id": "8", "preferredName": "Jo", "firstName": "Joanna", "lastName": "", "hireDate": "0000-00-00",
        "workEmail": None, "dateOfBirth": "", "city": "Town", "jobTitle": 42, "department": {},
    }  # fmt: skip
    record = normalize("8", raw)
    assert record.fields == {
        "fullName": "Jo", "email": None, "startDate": None, "jobTitle": "42", "department": None,
        "homeAddress": "Town", "birthDate": None,
    }  # fmt: skip
    assert normalize("9", {}).fields["fullName"] is None
    assert normalize("9", {}).missing("fullName", "email", "startDate") == ["fullName", "email", "startDate"]


@pytest.mark.parametrize("bad_id", ["", "../7", "7/../../x", "a b", "x" * 65, "ada@example.com", "7?fields=ssn"])
async def test_a_bad_employee_id_is_refused_without_calling_out(bad_id: str) -> None:
    hr, api = make(answer())
    with pytest.raises(EmployeeNotFound) as info:
        await hr.get_employee(bad_id)
    with pytest.raises(EmployeeNotFound):
        await hr.update_employee(bad_id, {"customNDAStatus": "sent"})
    assert api.requests == []
    assert "ada@example.com" not in str(info.value)


async def test_404_is_employee_not_found() -> None:
    hr, _ = make(answer(404, None))
    with pytest.raises(EmployeeNotFound) as info:
        await hr.get_employee("7")
    assert "no employee '7' (HTTP 404 on GET /api/gateway.php/acme/v1/employees/7/)" in str(info.value)


@pytest.mark.parametrize(("status", "hint"), [(401, "BAMBOOHR_API_KEY"), (403, "access level")])
async def test_auth_errors(status: int, hint: str) -> None:
    hr, _ = make(answer(status, None))
    with pytest.raises(HrAuthError, match=hint) as info:
        await hr.get_employee("7")
    assert_safe(str(info.value))
    with pytest.raises(HrAuthError, match=f"HTTP {status} on POST"):
        await hr.update_employee("7", {"customNDAStatus": "sent"})


@pytest.mark.parametrize(
    ("status", "header", "seconds"),
    [
        (429, "7", 7.0),
        (429, None, 5.0),
        (429, "1e300", 300.0),
        (429, "-3", 5.0),
        (503, "2", 2.0),
        (429, format_datetime(datetime.now(timezone.utc) + timedelta(days=3650), usegmt=True), 300.0),
    ],
)
async def test_rate_limits(status: int, header: str | None, seconds: float) -> None:
    headers = {"Retry-After": header} if header is not None else {}
    hr, _ = make(answer(status, None, headers=headers))
    with pytest.raises(HrRateLimited) as info:
        await hr.get_employee("7")
    assert info.value.retry_after == seconds
    assert f"HTTP {status}" in str(info.value)


async def test_http_date_retry_after_in_the_past_is_zero() -> None:
    past = format_datetime(datetime.now(timezone.utc) - timedelta(minutes=5), usegmt=True)
    hr, _ = make(answer(429, None, headers={"Retry-After": past}))
    with pytest.raises(HrRateLimited) as info:
        await hr.get_employee("7")
    assert info.value.retry_after == 0


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 302, 418])
async def test_server_errors_and_unexpected_statuses_are_unavailable(status: int) -> None:
    hr, _ = make(answer(status, {"error": "Ada Byron"}))
    with pytest.raises(HrUnavailable, match=f"HTTP {status}") as info:
        await hr.get_employee("7")
    assert_safe(str(info.value))


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>login Ada</html>", headers={"Content-Type": "text/html"}),
        httpx.Response(200, json=["Ada"]),
        httpx.Response(200, json={**ADA, "id": "8"}),
        httpx.Response(200, content=b""),
    ],
)
async def test_wrong_answers_are_unavailable(response: httpx.Response) -> None:
    hr, _ = make(lambda request: response)
    with pytest.raises(HrUnavailable) as info:
        await hr.get_employee("7")
    assert_safe(str(info.value))


@pytest.mark.parametrize(
    ("exc", "text"),
    [(httpx.ConnectError("refused"), "could not connect"), (httpx.ReadTimeout("slow"), "timed out"),
     (httpx.RemoteProtocolError("bye"), "RemoteProtocolError")],
)  # fmt: skip
async def test_transport_errors_are_unavailable(exc: Exception, text: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc

    hr, _ = make(fail)
    with capture_logs() as logs:
        with pytest.raises(HrUnavailable, match=text):
            await hr.get_employee("7")
    assert [entry["status"] for entry in logs if entry["event"] == "hr.call"] == [None]


async def test_a_total_deadline_bounds_each_call() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200, json=ADA)

    hr = BambooHr(SETTINGS.model_copy(update={"timeout_s": 0.05}), transport=httpx.MockTransport(slow))
    with pytest.raises(HrUnavailable, match="no complete answer within 0.05s"):
        await hr.get_employee("7")


async def test_update_posts_the_fields_as_json() -> None:
    hr, api = make(answer(200, None))
    await hr.update_employee("7", {"customNDAStatus": "sent", "customNDADocument": "doc_1"})
    (request,) = api.requests
    assert request.method == "POST" and request.url.path == PATH.format(id="7")
    assert json.loads(request.content) == {"customNDAStatus": "sent", "customNDADocument": "doc_1"}
    assert request.headers["content-type"] == "application/json"
    await hr.update_employee("7", {})
    assert len(api.requests) == 1


async def test_update_400_names_fields_only() -> None:
    body = {"error": "bad value 'Ada Byron'", "fields": ["customNDAStatus", "Ada Byron <ada@example.com>"]}
    hr, _ = make(answer(400, body))
    with pytest.raises(HrRejected) as info:
        await hr.update_employee("7", {"customNDAStatus": "Ada Byron"})
    assert info.value.fields == ["customNDAStatus"]
    assert_safe(str(info.value))
    hr, _ = make(answer(400, None, text="Ada Byron is invalid"))
    with pytest.raises(HrRejected, match="none named in the answer; sent customNDAStatus") as info:
        await hr.update_employee("7", {"customNDAStatus": "Ada Byron"})
    assert info.value.fields == ["customNDAStatus"]


async def test_update_refuses_bad_fields_before_sending() -> None:
    hr, api = make(answer(200, None))
    with pytest.raises(HrRejected, match="not BambooHR field names") as info:
        await hr.update_employee("7", {"Ada Byron": "x"})
    assert "Ada" not in str(info.value)
    with pytest.raises(HrRejected, match="customNDAStatus") as info:
        await hr.update_employee("7", {"customNDAStatus": 3})  # type: ignore[dict-item]
    assert info.value.fields == ["customNDAStatus"]
    assert api.requests == []


async def test_one_log_line_per_call_without_bodies_or_secrets() -> None:
    hr, _ = make(answer())
    with capture_logs() as logs:
        await hr.get_employee("7")
    (line,) = [entry for entry in logs if entry["event"] == "hr.call"]
    assert line["method"] == "GET" and line["path"] == PATH.format(id="7") and line["status"] == 200
    assert line["employee_id"] == "7" and isinstance(line["latency_ms"], float)
    assert_safe(repr(logs))


async def test_build_hr_uses_the_settings_and_an_audited_transport() -> None:
    hr = build_hr(SETTINGS)
    assert isinstance(hr, BambooHr) and hr.settings is SETTINGS
    assert type(hr.client._transport).__name__ == "AuditTransport"
    assert hr.client._trust_env is False
    await hr.aclose()


def test_settings_defaults_and_validation() -> None:
    fields = BambooHrSettings.model_fields
    assert fields["api_key"].default.get_secret_value() == DEV_BAMBOOHR_API_KEY
    assert fields["base_url"].default == "http://127.0.0.1:8095" and fields["company"].default == "sandbox"
    assert BambooHrSettings(base_url="https://api.bamboohr.com/").base_url == "https://api.bamboohr.com"
    for bad in (
        {"company": "acme/../x"},
        {"company": ""},
        {"base_url": "ftp://x"},
        {"base_url": "https://user:pw@api.bamboohr.com"},
        {"nda_status_field": "custom NDA"},
        {"start_on_update_fields": ["hireDate", "a,b"]},
        {"company_id": "1/2"},
        {"timeout_s": 0},
    ):
        with pytest.raises(ValueError):
            BambooHrSettings(**bad)
    with pytest.raises(ValueError):
        HrSandboxSettings(webhook_url="not a url")


# --- against the sandbox (the conformance target) ----------------------------------------------------


@pytest.fixture
async def sandboxed() -> AsyncIterator[tuple[BambooHr, HrSandboxState]]:
    state = HrSandboxState()
    sandbox_settings = HrSandboxSettings(company="acme")
    app = create_app(sandbox_settings, state)
    settings = BambooHrSettings(base_url="http://hr-sandbox.test", company="acme")
    hr = BambooHr(settings, transport=httpx.ASGITransport(app=app))
    yield hr, state
    await hr.aclose()
    await app.state.sender.aclose()


async def test_sandbox_employees_normalize(sandboxed: tuple[BambooHr, HrSandboxState]) -> None:
    hr, _ = sandboxed
    maren = await hr.get_employee("101")
    assert maren.fields["fullName"] == "Maren Holt" and maren.fields["email"] == "maren.holt@example.com"
    assert maren.fields["startDate"] == "2026-03-02" and maren.missing(*maren.fields) == []
    assert (await hr.get_employee("102")).fields["fullName"] == "Jon Okafor"
    assert (await hr.get_employee("103")).missing("email", "startDate") == ["email"]
    assert (await hr.get_employee("104")).missing("email", "startDate") == ["startDate"]
    with pytest.raises(EmployeeNotFound):
        await hr.get_employee("999")


async def test_sandbox_update_round_trip(sandboxed: tuple[BambooHr, HrSandboxState]) -> None:
    hr, state = sandboxed
    await hr.update_employee("101", {"customNDAStatus": "sent", "customNDADocument": "doc_1"})
    await hr.update_employee("101", {"customNDAStatus": "sent", "customNDADocument": "doc_1"})
    assert state.employees["101"]["customNDAStatus"] == "sent"
    assert state.updates_of("101") == 2
    with pytest.raises(HrRejected) as info:
        await hr.update_employee("101", {"favouriteColour": "blue", "customNDAStatus": "x"})
    assert info.value.fields == ["favouriteColour"]
    with pytest.raises(EmployeeNotFound):
        await hr.update_employee("999", {"customNDAStatus": "sent"})


async def test_sandbox_refuses_a_wrong_key_and_company(sandboxed: tuple[BambooHr, HrSandboxState]) -> None:
    hr, state = sandboxed
    app = hr.client._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app)
    wrong_key = BambooHr(hr.settings.model_copy(update={"api_key": SecretStr("wrong")}), transport=transport)
    with pytest.raises(HrAuthError, match="HTTP 401"):
        await wrong_key.get_employee("101")
    wrong_company = BambooHr(hr.settings.model_copy(update={"company": "other"}), transport=transport)
    with pytest.raises(EmployeeNotFound, match="BAMBOOHR_COMPANY"):
        await wrong_company.get_employee("101")
    await wrong_key.aclose()
    await wrong_company.aclose()


async def test_sandbox_faults_map_onto_errors(sandboxed: tuple[BambooHr, HrSandboxState]) -> None:
    hr, state = sandboxed
    state.set_faults({"rate_limit_next": 1})
    with pytest.raises(HrRateLimited) as info:
        await hr.get_employee("101")
    assert info.value.retry_after == 1
    state.set_faults({"fail_next": 1})
    with pytest.raises(HrUnavailable, match="HTTP 503"):
        await hr.get_employee("101")
    await hr.get_employee("101")
    state.set_faults({"down": True})
    with pytest.raises(HrUnavailable, match="HTTP 503"):
        await hr.update_employee("101", {"customNDAStatus": "sent"})
    state.set_faults({"down": False, "unauthorized": True})
    with pytest.raises(HrAuthError):
        await hr.get_employee("101")
