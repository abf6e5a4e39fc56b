"""The HubSpot adapter: ``CrmSystem`` over HubSpot's CRM v3 object API.

Published (HubSpot docs, CRM API | Deals, Contacts, Companies; Error handling; API usage):

* ``GET {base}/crm/v3/objects/deals/{dealId}?properties=a,b&associations=contacts,companies`` with
  ``Authorization: Bearer <private app access token>`` answers ``{id, properties{name: string|null},
  createdAt, updatedAt, archived, associations{contacts{results[{id, type}]}, companies{...}}}``. A property
  the account does not have is left out of ``properties``; ``associations`` is absent when there are none;
  a company may be listed twice (``deal_to_company`` and ``deal_to_company_unlabeled``), hence the dedup.
* ``GET /crm/v3/objects/contacts/{id}?properties=...`` and ``.../companies/{id}?properties=...``: same shape.
* ``PATCH /crm/v3/objects/deals/{dealId}`` with ``{"properties": {name: value}}`` updates: 200 with the object.
* Errors: a JSON body ``{status, message, correlationId, category, errors[{message, code, context}], ...}``,
  every field optional. 401 (token), 403 (scopes: ``MISSING_SCOPES``), 404, 429 (``RATE_LIMITS``, with
  ``X-HubSpot-RateLimit-*`` headers), 5xx. A 400 ``VALIDATION_ERROR`` names its properties in
  ``errors[].context.propertyName``.

Our choices and assumptions:

* ``message`` and ``errors[].message`` are never read: they quote values (an invalid option's value);
  only ``category``, ``correlationId`` (a UUID: quote it to HubSpot support), ``errors[].code`` and
  identifier-like ``propertyName`` / ``requiredGranularScopes`` entries are repeated;
* 429: ``Retry-After`` when sent (HubSpot does not document one), else the rolling window of
  ``X-HubSpot-RateLimit-Interval-Milliseconds``, 300 s for the daily limit, clamped to [0, 300];
* associations beyond the first page of the embedded list are not followed (a deal has a few);
* every call has a total deadline of ``timeout_s``; no transport retries (Zeebe owns retries);
* one ``crm.call`` log line per call: method, path (no query string), object type and id, status, latency.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpx
import structlog

from workers.crm.answers import associated_ids, context_names, error_facts, json_or_none, properties_of
from workers.crm.answers import rate_limit_wait, text_value
from workers.crm.base import CrmAuthError, CrmObject, CrmRateLimited, CrmRejected, CrmUnavailable, Deal
from workers.crm.base import DealNotFound, check_object_id
from workers.crm.settings import PROPERTY_NAME, HubSpotSettings
from workers.providers.answers import media_type

log = structlog.get_logger(__name__)

SYSTEM_NAME = "hubspot"
USER_AGENT = "contract-workers/0.1"
API = "/crm/v3/objects"
PLURAL = {"deal": "deals", "contact": "contacts", "company": "companies"}


class HubSpotClient:
    """``CrmSystem`` for HubSpot. See the module docstring."""

    name = SYSTEM_NAME

    def __init__(self, settings: HubSpotSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
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
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                "Authorization": f"Bearer {settings.access_token.get_secret_value()}",
            },
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    # --- errors -----------------------------------------------------------------------------------

    def _unavailable(self, what: str) -> CrmUnavailable:
        return CrmUnavailable(f"HubSpot at {self._host} unavailable: {what}")

    def _raise_status(self, response: httpx.Response, where: str, object_type: str, object_id: str) -> NoReturn:
        status = response.status_code
        body = json_or_none(response)
        facts = error_facts(body)
        if status == 404:
            raise DealNotFound(
                f"HubSpot at {self._host} has no {object_type} {object_id!r} (HTTP 404 on {where}){facts}"
            )
        if status == 401:
            raise CrmAuthError(
                f"HubSpot at {self._host} refused the access token (HTTP 401 on {where}){facts}; "
                "check HUBSPOT_ACCESS_TOKEN"
            )
        if status == 403:
            scopes = context_names(body, "requiredGranularScopes")
            needed = f"; missing: {', '.join(scopes)}" if scopes else ""
            raise CrmAuthError(
                f"HubSpot at {self._host} refused access (HTTP 403 on {where}){facts}; check the app's scopes "
                f"(crm.objects.deals.read/write, crm.objects.contacts.read, crm.objects.companies.read){needed}"
            )
        if status == 429:
            seconds = rate_limit_wait(response.headers, body)
            raise CrmRateLimited(
                f"HubSpot at {self._host} rate-limited {where} (HTTP 429){facts}; retry after {seconds:g}s", seconds
            )
        if status >= 500 or status == 408:
            raise self._unavailable(f"HTTP {status} on {where}{facts}")
        if 300 <= status < 400:
            raise self._unavailable(f"unexpected redirect (HTTP {status}) on {where}; check HUBSPOT_BASE_URL")
        if status in (400, 422):
            names = context_names(body, "propertyName")
            named = f"; properties: {', '.join(names)}" if names else ""
            raise CrmRejected(f"HubSpot at {self._host} refused {where} (HTTP {status}){facts}{named}", names)
        raise self._unavailable(f"unexpected HTTP {status} on {where}{facts}")

    # --- calls ------------------------------------------------------------------------------------

    async def _call(self, method: str, object_type: str, object_id: str, **kwargs: Any) -> httpx.Response:
        """One exchange (request sent, whole answer read) within the total deadline, logged once."""
        path = f"{API}/{PLURAL[object_type]}/{object_id}"  # the id is checked: nothing to quote
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
                f"no complete answer within {self._total:g}s on {where} (HUBSPOT_TIMEOUT_S)"
            ) from None
        except httpx.TransportError as exc:
            error = type(exc).__name__
            if isinstance(exc, httpx.TimeoutException):
                raise self._unavailable(f"timed out after {self._total:g}s on {where} (HUBSPOT_TIMEOUT_S)") from None
            if isinstance(exc, httpx.ConnectError):
                raise self._unavailable(f"could not connect on {where}") from None
            raise self._unavailable(f"connection failed ({error}) on {where}") from None
        except asyncio.CancelledError:
            error = "Cancelled"
            raise
        finally:
            line = {
                "system": SYSTEM_NAME, "method": method, "path": path, "object_type": object_type,
                "object_id": object_id, "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            }  # fmt: skip
            if error is not None:
                log.warning("crm.call", **line, error=error)
            elif status is not None and status >= 500:
                log.warning("crm.call", **line)
            else:
                log.info("crm.call", **line)

    def _names(self, properties: list[str], what: str) -> list[str]:
        if isinstance(properties, (str, bytes)) or not properties:
            raise CrmRejected(f"{what} not sent: expected a non-empty list of property names")
        bad = [p for p in properties if not (isinstance(p, str) and PROPERTY_NAME.fullmatch(p))]
        if bad:
            raise CrmRejected(f"{what} not sent: {len(bad)} property name(s) are not HubSpot property names")
        return list(dict.fromkeys(properties))

    async def _read(self, object_type: str, object_id: str, properties: list[str], **params: str) -> tuple[dict, list]:
        object_id = check_object_id(object_id, object_type, "HubSpot")
        names = self._names(properties, f"read of {object_type} {object_id!r}")
        response = await self._call("GET", object_type, object_id, params={"properties": ",".join(names), **params})
        where = f"GET {API}/{PLURAL[object_type]}/{object_id}"
        if response.status_code != 200:
            self._raise_status(response, where, object_type, object_id)
        body = json_or_none(response)
        if not isinstance(body, dict):
            raise self._unavailable(
                f"unreadable answer to {where} ({media_type(response.headers.get('content-type'))}, "
                "expected a JSON object)"
            )
        if text_value(body.get("id")) != object_id:
            raise self._unavailable(f"the answer to {where} is about another {object_type}")
        return body, names

    async def get_deal(self, deal_id: str, properties: list[str]) -> Deal:
        body, names = await self._read("deal", deal_id, properties, associations="contacts,companies")
        associations = body.get("associations")
        return Deal(
            deal_id=deal_id,
            properties=properties_of(body.get("properties"), names),
            contact_ids=associated_ids(associations, "contacts"),
            company_ids=associated_ids(associations, "companies"),
        )

    async def get_contact(self, contact_id: str, properties: list[str]) -> CrmObject:
        body, names = await self._read("contact", contact_id, properties)
        return CrmObject(contact_id, properties_of(body.get("properties"), names))

    async def get_company(self, company_id: str, properties: list[str]) -> CrmObject:
        body, names = await self._read("company", company_id, properties)
        return CrmObject(company_id, properties_of(body.get("properties"), names))

    async def update_deal(self, deal_id: str, properties: dict[str, str]) -> None:
        deal_id = check_object_id(deal_id, "deal", "HubSpot")
        if not properties:
            return
        what = f"update of deal {deal_id!r}"
        self._names(list(properties), what)
        not_text = sorted(name for name, value in properties.items() if not isinstance(value, str))
        if not_text:
            raise CrmRejected(f"{what} not sent: values must be text (properties {', '.join(not_text)})", not_text)
        response = await self._call("PATCH", "deal", deal_id, json={"properties": properties})
        if 200 <= response.status_code < 300:
            return
        if response.status_code in (400, 422):
            body = json_or_none(response)
            named = [n for n in context_names(body, "propertyName") if n in properties]
            sent = sorted(properties)
            detail = ", ".join(named) if named else f"none named in the answer; sent {', '.join(sent)}"
            raise CrmRejected(
                f"HubSpot at {self._host} rejected the {what} (HTTP {response.status_code} on PATCH "
                f"{API}/deals/{deal_id}){error_facts(body)}; properties: {detail}",
                named or sent,
            )
        self._raise_status(response, f"PATCH {API}/deals/{deal_id}", "deal", deal_id)


def build_crm(
    settings: HubSpotSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> HubSpotClient:
    """The production adapter: an audited HTTP transport without transport retries (unless ``transport``
    is given), settings from the environment by default. Close it with ``await crm.aclose()``."""
    if settings is None:
        from workers.crm.settings import hubspot

        settings = hubspot()
    if transport is None:
        from workers.audit import AuditTransport

        transport = AuditTransport(httpx.AsyncHTTPTransport(retries=0), component=SYSTEM_NAME)
    return HubSpotClient(settings, transport=transport)


__all__ = ["API", "HubSpotClient", "SYSTEM_NAME", "build_crm"]
