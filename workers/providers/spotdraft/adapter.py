"""The SpotDraft adapter: template contracts through SpotDraft's Public API v2.1.

Published (paths under ``{base}/v2.1/public/``, base ``https://api.{in|us|eu|me}.spotdraft.com/api``):

* ``GET contracts/by_external_metadata/{id}`` -> 200, an ARRAY of up to 50 ``ExternalContractV3`` whose
  ``id`` is the INTEGER contract id (no composite id in this answer);
* ``POST contracts/`` (trailing slash) ``{contract_template_id, contract_data, counter_party_details,
  external_metadata, contract_name?}`` -> 201 ``ExternalCreateContractResponse`` (``id`` = composite id,
  ``contract_id`` = integer, ``contract_status``, ``contract_link``, ``contract_name``, ...);
* ``POST contracts/{composite_id}/send_to_counterparties`` (no slash) ``{attachment_formats}`` -> 200;
* ``GET contracts/{composite_id}/status`` -> ``{contract_status, contract_name}``;
* ``GET contracts/{composite_id}/key_pointers`` -> ``[{id, value, label, field_name, data_type, format_option}]``;
* ``POST contracts/{composite_id}/download_link`` ``{format}`` -> ``{url, file_name, current_version_id}``;
* ``GET webhooks/hmac_key/`` -> ``{hmac_key}`` (base64).

Our assumptions: the composite id of a template contract found by external id is ``T-{id}`` ("T stands for
Template contracts"); a 404 from the look-up means "none" like an empty array; of several contracts with
our external id (and, when the answer names one, our ``integration_name``) the newest that is not
``VOIDED`` is the one (a voided contract does not block a new one); a 404 on create is the template (the
only resource it names), as is a 400 naming only ``contract_template_id``; the download link is refreshed
once when the storage answers 400/403 (expired).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from workers.providers.base import DocumentNotFound, ProviderRejected
from workers.providers.spotdraft.errors import TemplateNotFound
from workers.providers.spotdraft.http import PROVIDER_NAME, SpotDraftHttp
from workers.providers.spotdraft.models import (
    Contract,
    ContractStatus,
    CreateContract,
    KeyPointer,
    valid_composite_id,
    valid_external_id,
)
from workers.providers.spotdraft.settings import SpotDraftSettings

API = "/v2.1/public"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class SpotDraftClient(SpotDraftHttp):
    """SpotDraft template contracts. See the module docstring; close with ``await client.aclose()``."""

    name = PROVIDER_NAME

    # --- checks before any request ----------------------------------------------------------------

    @staticmethod
    def _check_external(external_id: object) -> str:
        if not valid_external_id(external_id):
            raise ProviderRejected(
                "SpotDraft: the external id is not 1-128 letters, digits, '_', '.', ':' or '-'; no request was sent",
                fields=["external_metadata.id"],
            )
        return external_id  # type: ignore[return-value]

    def _not_found(self, composite_id: str, where: str) -> DocumentNotFound:
        return DocumentNotFound(
            f"SpotDraft at {self._host} has no contract {composite_id} visible to these credentials "
            f"(HTTP 404 on {where})"
        )

    # --- contracts --------------------------------------------------------------------------------

    def _created(self, body: dict[str, Any], where: str) -> Contract:
        composite = body.get("id")
        if not valid_composite_id(composite):
            raise self._bad_field(where, "id (composite id)")
        contract_id = _int(body.get("contract_id"))
        if contract_id is None:
            raise self._bad_field(where, "contract_id")
        status = _text(body.get("contract_status"))
        if not status:
            raise self._bad_field(where, "contract_status")
        return Contract(composite, contract_id, status, _text(body.get("contract_link")) or "",
                        _text(body.get("contract_name")) or "")  # fmt: skip

    def _listed(self, item: Any, where: str) -> Contract:
        raw = item.get("id") if isinstance(item, dict) else None
        if valid_composite_id(raw):
            composite, contract_id = raw, int(raw[2:])
        elif _int(raw) is not None:
            composite, contract_id = f"T-{raw}", raw
        else:
            raise self._bad_field(where, "id")
        status = _text(item.get("contract_status"))
        if not status:
            raise self._bad_field(where, "contract_status")
        return Contract(composite, contract_id, status, _text(item.get("contract_link")) or "",
                        _text(item.get("contract_name")) or "")  # fmt: skip

    def _ours(self, item: Any, external_id: str) -> bool:
        metadata = item.get("external_metadata") if isinstance(item, dict) else None
        if not isinstance(metadata, dict):
            return True  # the look-up matched on the id; nothing else to compare
        if "id" in metadata and str(metadata["id"]) != external_id:
            return False
        name = metadata.get("integration_name")
        return name is None or name == self.settings.integration_name

    async def find_by_external_id(self, external_id: str) -> Contract | None:
        """The contract an earlier attempt created for ``external_id`` (the CRM deal id), if any."""
        external_id = self._check_external(external_id)
        path = f"{API}/contracts/by_external_metadata/{quote(external_id, safe='')}"
        response, where, url = await self._call("GET", path)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            self._fail(response, where, url)
        items = self._body(response, where, list)
        if items and all(isinstance(i, list) for i in items):  # the published example nests the array once
            items = [i for inner in items for i in inner]
        if not all(isinstance(i, dict) for i in items):
            raise self._bad_field(where, "contract list")
        contracts = [(_text(i.get("created")) or "", self._listed(i, where))
                     for i in items if self._ours(i, external_id)]  # fmt: skip
        live = [c for c in contracts if c[1].status != "VOIDED"]
        if not live:
            return None
        return max(live, key=lambda c: (c[0], c[1].contract_id))[1]

    async def create_contract(self, request: CreateContract) -> Contract:
        """Create a template contract, tagged ``external_metadata = {id: external_id, integration_name,
        record_type}``. SpotDraft takes no idempotency key: callers look up ``find_by_external_id`` first, so
        a retry after a lost answer finds the contract instead of creating a second one."""
        external_id = self._check_external(request.external_id)
        if _int(request.template_id) is None:
            raise ProviderRejected("SpotDraft: the template id is not a positive integer; no request was sent",
                                   fields=["contract_template_id"])  # fmt: skip
        if not request.counterparties:
            raise ProviderRejected("SpotDraft: a contract needs at least one counterparty; no request was sent",
                                   fields=["counter_party_details"])  # fmt: skip
        body: dict[str, Any] = {
            "contract_template_id": request.template_id,
            "contract_data": dict(request.contract_data),
            "counter_party_details": [c.to_json() for c in request.counterparties],
            "external_metadata": {
                "id": external_id,
                "integration_name": self.settings.integration_name,
                "record_type": self.settings.record_type,
            },
        }
        if request.contract_name:
            body["contract_name"] = request.contract_name
        response, where, url = await self._call("POST", f"{API}/contracts/", json=body)
        if response.status_code in (200, 201):
            return self._created(self._body(response, where, dict), where)
        template = request.template_id

        def not_found() -> Exception:
            return TemplateNotFound(f"SpotDraft at {self._host} has no contract template {template} "
                                    f"(HTTP 404 on {where}); check the template id of this process")  # fmt: skip

        def rejected(names: list[str], text: str) -> Exception:
            if names == ["contract_template_id"]:
                return TemplateNotFound(f"SpotDraft at {self._host} refused contract template {template} {text}")
            return ProviderRejected(f"SpotDraft at {self._host} rejected the contract data for template {template} "
                                    f"{text}", fields=names)  # fmt: skip

        self._fail(response, where, url, not_found=not_found, rejected=rejected)

    async def send_to_counterparties(self, composite_id: str) -> None:
        composite_id = self._check_composite(composite_id)
        body = {"attachment_formats": list(self.settings.attachment_formats)}
        response, where, url = await self._call("POST", f"{API}/contracts/{composite_id}/send_to_counterparties",
                                                 json=body)  # fmt: skip
        if not 200 <= response.status_code < 300:
            self._fail(response, where, url, not_found=lambda: self._not_found(composite_id, where))

    async def get_status(self, composite_id: str) -> ContractStatus:
        composite_id = self._check_composite(composite_id)
        response, where, url = await self._call("GET", f"{API}/contracts/{composite_id}/status")
        if response.status_code != 200:
            self._fail(response, where, url, not_found=lambda: self._not_found(composite_id, where))
        body = self._body(response, where, dict)
        status = _text(body.get("contract_status"))
        if not status:
            raise self._bad_field(where, "contract_status")
        return ContractStatus(composite_id, status, _text(body.get("contract_name")) or "")

    async def key_pointers(self, composite_id: str) -> list[KeyPointer]:
        composite_id = self._check_composite(composite_id)
        response, where, url = await self._call("GET", f"{API}/contracts/{composite_id}/key_pointers")
        if response.status_code != 200:
            self._fail(response, where, url, not_found=lambda: self._not_found(composite_id, where))
        pointers = []
        for item in self._body(response, where, list):
            name = item.get("field_name") if isinstance(item, dict) else None
            if not isinstance(name, str) or not name:
                raise self._bad_field(where, "field_name")
            pointers.append(KeyPointer(name, _text(item.get("label")) or "", item.get("value"),
                                       _text(item.get("data_type")) or ""))  # fmt: skip
        return pointers

    async def get_hmac_key(self) -> str:
        """The workspace's webhook key (base64), for operators; a secret: never log it."""
        response, where, url = await self._call("GET", f"{API}/webhooks/hmac_key/")
        if response.status_code != 200:
            self._fail(response, where, url)
        key = self._body(response, where, dict).get("hmac_key")
        if not isinstance(key, str) or not key:
            raise self._bad_field(where, "hmac_key")
        return key

    # --- download ---------------------------------------------------------------------------------

    async def _download_link(self, composite_id: str) -> str:
        response, where, url = await self._call("POST", f"{API}/contracts/{composite_id}/download_link",
                                                 json={"format": "PDF"})  # fmt: skip
        if response.status_code != 200:
            self._fail(response, where, url, not_found=lambda: self._not_found(composite_id, where))
        link = self._body(response, where, dict).get("url")
        parts = urlsplit(link) if isinstance(link, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise self._bad_field(where, "url")
        return link  # type: ignore[return-value]


def build_client(
    settings: SpotDraftSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> SpotDraftClient:
    """The production client: an audited HTTP transport without transport retries (unless ``transport`` is
    given), settings from the environment by default. Close it with ``await client.aclose()``."""
    if settings is None:
        from workers.providers.spotdraft.settings import spotdraft

        settings = spotdraft()
    if transport is None:
        from workers.audit import AuditTransport

        transport = AuditTransport(httpx.AsyncHTTPTransport(retries=0), component=PROVIDER_NAME)
    return SpotDraftClient(settings, transport=transport)


__all__ = ["API", "SpotDraftClient", "build_client"]
