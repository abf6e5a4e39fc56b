"""The BambooHR adapter: ``HrSystem`` over BambooHR's REST API.

Published (BambooHR docs):

* ``GET {base}/api/gateway.php/{companyDomain}/v1/employees/{id}/?fields=a,b,...`` with HTTP Basic auth
  (the API key as user name, any password: we send ``x``) and ``Accept: application/json`` answers a JSON
  object of strings (``"id"`` plus the fields asked for; an empty date is ``"0000-00-00"``, a missing
  value ``null`` or ``""``). Unknown employee 404, bad key 401, no permission 403, rate limit 429 or 503
  with ``Retry-After``.
* ``POST`` to the same path with a JSON object of field name -> value (custom fields too) sets them:
  200 with an empty body; idempotent by nature.

Our choices and assumptions:

* the fields asked for and their normalization onto ``HrRecord`` keys (``normalize``);
* a 400 on an update names its fields in a JSON body ``{"fields": [...]}`` (as the sandbox does); when it
  does not, the message names the fields we sent. Only identifier-like names are ever repeated;
  BambooHR's ``X-BambooHR-Error-Message`` header is never read (it may quote a value);
* every call has a total deadline of ``timeout_s``; no transport retries (Zeebe owns retries);
* one ``hr.call`` log line per call: method, path (no query string), employee id, status, latency.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpx
import structlog

from workers.hr.base import EmployeeNotFound, HrAuthError, HrRateLimited, HrRecord, HrRejected, HrUnavailable
from workers.hr.base import check_employee_id
from workers.hr.settings import FIELD_NAME, BambooHrSettings
from workers.providers.answers import DEFAULT_RETRY_AFTER_S, MAX_RETRY_AFTER_S, field_names, media_type
from workers.providers.answers import parse_retry_after

log = structlog.get_logger(__name__)

SYSTEM_NAME = "bamboohr"
USER_AGENT = "contract-workers/0.1"
# BambooHR field names we read; ``normalize`` maps them onto our keys.
REQUEST_FIELDS = (
    "firstName", "lastName", "preferredName", "workEmail", "hireDate", "jobTitle", "department",
    "address1", "city", "dateOfBirth",
)  # fmt: skip
EMPTY_DATE = "0000-00-00"


def _value(raw: Mapping[str, Any], name: str) -> str | None:
    """A field's text, or None for null, blanks and non-scalar values."""
    value = raw.get(name)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = str(value).strip()
    return text or None


def _date(raw: Mapping[str, Any], name: str) -> str | None:
    value = _value(raw, name)
    return None if value in (None, EMPTY_DATE) else value


def _joined(parts: list[str | None], sep: str) -> str | None:
    kept = [p for p in parts if p]
    return sep.join(kept) if kept else None


def normalize(employee_id: str, raw: Mapping[str, Any]) -> HrRecord:
    """BambooHR field names -> our ``HrRecord`` keys (every key present, ``None`` when empty)."""
    first = _value(raw, "preferredName") or _value(raw, "firstName")
    return HrRecord(
        employee_id=employee_id,
        fields={
            "fullName": _joined([first, _value(raw, "lastName")], " "),
            "email": _value(raw, "workEmail"),
            "startDate": _date(raw, "hireDate"),
            "jobTitle": _value(raw, "jobTitle"),
            "department": _value(raw, "department"),
            "homeAddress": _joined([_value(raw, "address1"), _value(raw, "city")], ", "),
            "birthDate": _date(raw, "dateOfBirth"),
        },
    )


class BambooHr:
    """``HrSystem`` for BambooHR. See the module docstring."""

    name = SYSTEM_NAME

    def __init__(self, settings: BambooHrSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._base = settings.base_url.rstrip("/")
        parts = urlsplit(self._base)
        self._host = f"{parts.hostname}:{parts.port}" if parts.port else (parts.hostname or "?")
        self._total = settings.timeout_s
        self.client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(settings.timeout_s),
            follow_redirects=False,
            trust_env=False,  # environment proxies would bypass the injected (audited) transport
            auth=httpx.BasicAuth(settings.api_key.get_secret_value(), "x"),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    def _path(self, employee_id: str) -> str:
        # Both segments are checked against [A-Za-z0-9_-]: nothing to quote.
        return f"/api/gateway.php/{self.settings.company}/v1/employees/{employee_id}/"

    # --- errors -----------------------------------------------------------------------------------

    def _unavailable(self, what: str) -> HrUnavailable:
        return HrUnavailable(f"BambooHR at {self._host} unavailable: {what}")

    def _transport_error(self, exc: Exception, where: str) -> HrUnavailable:
        if isinstance(exc, httpx.TimeoutException):
            return self._unavailable(f"timed out after {self._total:g}s on {where} (BAMBOOHR_TIMEOUT_S)")
        if isinstance(exc, httpx.ConnectError):
            return self._unavailable(f"could not connect on {where}")
        return self._unavailable(f"connection failed ({type(exc).__name__}) on {where}")

    def _raise_status(self, response: httpx.Response, where: str, employee_id: str) -> NoReturn:
        status = response.status_code
        retry_after = response.headers.get("retry-after")
        if status == 404:
            raise EmployeeNotFound(
                f"BambooHR at {self._host} has no employee {employee_id!r} (HTTP 404 on {where}); if no employee "
                "is found, check BAMBOOHR_COMPANY"
            )
        if status == 401:
            raise HrAuthError(
                f"BambooHR at {self._host} refused the API key (HTTP 401 on {where}); check BAMBOOHR_API_KEY"
            )
        if status == 403:
            raise HrAuthError(
                f"BambooHR at {self._host} refused access (HTTP 403 on {where}); check the access level of the "
                "user BAMBOOHR_API_KEY belongs to (it must read and update these fields)"
            )
        if status == 429 or (status == 503 and retry_after):
            seconds = parse_retry_after(retry_after, DEFAULT_RETRY_AFTER_S, maximum=MAX_RETRY_AFTER_S)
            raise HrRateLimited(
                f"BambooHR at {self._host} rate-limited {where} (HTTP {status}); retry after {seconds:g}s", seconds
            )
        if status >= 500 or status == 408:
            raise self._unavailable(f"HTTP {status} on {where}")
        if 300 <= status < 400:
            raise self._unavailable(f"unexpected redirect (HTTP {status}) on {where}; check BAMBOOHR_BASE_URL")
        raise self._unavailable(f"unexpected HTTP {status} on {where}")

    # --- calls ------------------------------------------------------------------------------------

    async def _call(self, method: str, employee_id: str, **kwargs: Any) -> httpx.Response:
        """One exchange (request sent, whole answer read) within the total deadline, logged once."""
        path = self._path(employee_id)
        where = f"{method} {path}"
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(self._total):
                response = await self.client.request(method, self._base + path, **kwargs)
            status = response.status_code
            return response
        except TimeoutError:
            error = "TotalTimeout"
            raise self._unavailable(
                f"no complete answer within {self._total:g}s on {where} (BAMBOOHR_TIMEOUT_S)"
            ) from None
        except httpx.TransportError as exc:
            error = type(exc).__name__
            raise self._transport_error(exc, where) from None
        except asyncio.CancelledError:
            error = "Cancelled"
            raise
        finally:
            line = {
                "system": SYSTEM_NAME, "method": method, "path": path, "employee_id": employee_id,
                "status": status, "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            }  # fmt: skip
            if error is not None:
                log.warning("hr.call", **line, error=error)
            elif status is not None and status >= 500:
                log.warning("hr.call", **line)
            else:
                log.info("hr.call", **line)

    async def get_employee(self, employee_id: str) -> HrRecord:
        employee_id = check_employee_id(employee_id, "BambooHR")
        response = await self._call("GET", employee_id, params={"fields": ",".join(REQUEST_FIELDS)})
        where = f"GET {self._path(employee_id)}"
        if response.status_code != 200:
            self._raise_status(response, where, employee_id)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise self._unavailable(
                f"unreadable answer to {where} ({media_type(response.headers.get('content-type'))}, "
                "expected a JSON object)"
            )
        answered_id = body.get("id")
        if answered_id is not None and str(answered_id) != employee_id:
            raise self._unavailable(f"the answer to {where} is about another employee")
        return normalize(employee_id, body)

    async def update_employee(self, employee_id: str, fields: dict[str, str]) -> None:
        employee_id = check_employee_id(employee_id, "BambooHR")
        if not fields:
            return
        bad_names = [name for name in fields if not (isinstance(name, str) and FIELD_NAME.fullmatch(name))]
        if bad_names:
            raise HrRejected(
                f"update of employee {employee_id!r} not sent: {len(bad_names)} field name(s) are not BambooHR "
                "field names"
            )
        not_text = sorted(name for name, value in fields.items() if not isinstance(value, str))
        if not_text:
            raise HrRejected(
                f"update of employee {employee_id!r} not sent: values must be text (fields {', '.join(not_text)})",
                not_text,
            )
        response = await self._call("POST", employee_id, json=fields)
        if 200 <= response.status_code < 300:
            return
        if response.status_code in (400, 422):
            where = f"POST {self._path(employee_id)}"
            try:
                named = field_names((response.json() or {}).get("fields"))
            except (ValueError, AttributeError):
                named = []
            sent = sorted(fields)
            detail = ", ".join(named) if named else f"none named in the answer; sent {', '.join(sent)}"
            raise HrRejected(
                f"BambooHR at {self._host} rejected the update of employee {employee_id!r} "
                f"(HTTP {response.status_code} on {where}); fields: {detail}",
                named or sent,
            )
        self._raise_status(response, f"POST {self._path(employee_id)}", employee_id)


def build_hr(
    settings: BambooHrSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> BambooHr:
    """The production adapter: an audited HTTP transport without transport retries (unless ``transport``
    is given), settings from the environment by default. Close it with ``await hr.aclose()``."""
    if settings is None:
        from workers.hr.settings import bamboohr

        settings = bamboohr()
    if transport is None:
        from workers.audit import AuditTransport

        transport = AuditTransport(httpx.AsyncHTTPTransport(retries=0), component=SYSTEM_NAME)
    return BambooHr(settings, transport=transport)


__all__ = ["BambooHr", "REQUEST_FIELDS", "SYSTEM_NAME", "build_hr", "normalize"]
