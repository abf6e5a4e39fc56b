"""Fake SpotDraft and CRM for the deal-flow handler tests: no engine, no HTTP, no patching.

Like ``tests/unit/tasks/fakes``: each fake records its calls and can be told to raise on a named method
(``fail``: method -> exceptions, raised one per call, in order). The CRM is seeded like the HubSpot
sandbox (deal 1001 complete, 1002 without amount, 1003 whose contact has no e-mail); SpotDraft's key
pointers come from the sandbox's template 101 declarations.
"""

from __future__ import annotations

import copy
import time
import types
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from workers.config import DmsSettings, PiiSettings
from workers.crm.base import CrmObject, Deal, DealNotFound
from workers.crm.settings import HubSpotSettings
from workers.jobs.job import Job
from workers.providers.base import DocumentNotFound
from workers.providers.spotdraft.errors import ContractStateInvalid, TemplateNotFound
from workers.providers.spotdraft.models import Contract, ContractStatus, CreateContract, KeyPointer
from workers.sandbox.spotdraft.templates import TEMPLATES

from ..fakes import PDF, FakeDms, _Failing, job  # noqa: F401  (job: re-exported for the tests)

# Fictional people, like the sandbox's seeds: no output may ever contain them.
CONTACTS: dict[str, dict[str, str]] = {
    "201": {"firstname": "Ines", "lastname": "Alvarez", "email": "ines.alvarez@example.com", "phone": "+49 30 1"},
    "202": {"firstname": "Tobias", "lastname": "Wren", "email": "tobias.wren@example.com"},
    "203": {"firstname": "Mei", "lastname": "Nakamura"},
}
COMPANIES: dict[str, dict[str, str]] = {
    "301": {"name": "Northwind Supply GmbH", "city": "Lindenau", "address": "1 Harbour Road"},
    "302": {"name": "Harbor Analytics Ltd"},
    "303": {"name": "Bluefin Robotics AB"},
}
DEALS: dict[str, dict[str, Any]] = {
    "1001": {"properties": {"dealname": "Northwind Supply - annual supply agreement", "amount": "48000",
                            "deal_currency_code": "EUR", "closedate": "2026-06-30"},
             "contacts": ["201"], "companies": ["301"]},
    "1002": {"properties": {"dealname": "Harbor Analytics - pilot", "deal_currency_code": "GBP",
                            "closedate": "2026-05-15"}, "contacts": ["202"], "companies": ["302"]},
    "1003": {"properties": {"dealname": "Bluefin Robotics - licence", "amount": "125000",
                            "deal_currency_code": "SEK", "closedate": "2026-07-01"},
             "contacts": ["203"], "companies": ["303"]},
}  # fmt: skip
PERSONAL = ("Ines", "Alvarez", "ines.alvarez@example.com", "+49 30 1", "1 Harbour Road", "Mei", "Nakamura")


@dataclass
class FakeCrm(_Failing):
    name: str = "hubspot"
    deals: dict[str, dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(DEALS))
    contacts: dict[str, dict[str, str]] = field(default_factory=lambda: copy.deepcopy(CONTACTS))
    companies: dict[str, dict[str, str]] = field(default_factory=lambda: copy.deepcopy(COMPANIES))
    updates: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    fail: dict[str, list[Exception]] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    async def get_deal(self, deal_id: str, properties: list[str]) -> Deal:
        self._call("get_deal", (deal_id, list(properties)))
        if deal_id not in self.deals:
            raise DealNotFound(f"HubSpot at crm.test has no deal {deal_id!r} (HTTP 404 on GET /crm/v3/objects/deals)")
        deal = self.deals[deal_id]
        return Deal(deal_id, {n: deal["properties"].get(n) for n in properties}, list(deal.get("contacts", [])),
                    list(deal.get("companies", [])))  # fmt: skip

    async def get_contact(self, contact_id: str, properties: list[str]) -> CrmObject:
        self._call("get_contact", (contact_id, list(properties)))
        return self._object("contact", self.contacts, contact_id, properties)

    async def get_company(self, company_id: str, properties: list[str]) -> CrmObject:
        self._call("get_company", (company_id, list(properties)))
        return self._object("company", self.companies, company_id, properties)

    @staticmethod
    def _object(kind: str, store: dict[str, dict[str, str]], object_id: str, properties: list[str]) -> CrmObject:
        if object_id not in store:
            raise DealNotFound(f"HubSpot at crm.test has no {kind} {object_id!r} (HTTP 404)")
        return CrmObject(object_id, {n: store[object_id].get(n) for n in properties})

    async def update_deal(self, deal_id: str, properties: dict[str, str]) -> None:
        self._call("update_deal", (deal_id, dict(properties)))
        self.updates.append((deal_id, dict(properties)))
        self.deals.setdefault(deal_id, {"properties": {}})["properties"].update(properties)


@dataclass
class SdRecord:
    contract: Contract
    request: CreateContract
    sends: int = 0


@dataclass
class FakeSpotDraft(_Failing):
    """SpotDraft's lifecycle as the sandbox plays it: create -> DRAFT, send -> REDLINING (again while
    REDLINING; 402 later), sign -> EXECUTED, decline -> DRAFT, void -> VOIDED."""

    name: str = "spotdraft"
    records: dict[str, SdRecord] = field(default_factory=dict)
    templates: frozenset[int] = frozenset({101, 102})
    content: bytes = PDF
    # create_contract creates the contract, then raises this (a timeout after SpotDraft did the work)
    fail_after_create: Exception | None = None
    fail: dict[str, list[Exception]] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def add(self, deal_id: str, status: str = "DRAFT", template_id: int = 101, data: dict | None = None) -> Contract:
        contract_id = 5001 + len(self.records)
        contract = Contract(f"T-{contract_id}", contract_id, status, f"https://app.spotdraft.test/contracts/v2/"
                            f"{contract_id}", "MSA")  # fmt: skip
        request = CreateContract(template_id, dict(data or MSA_DATA), [], deal_id)
        self.records[contract.composite_id] = SdRecord(contract, request)
        return contract

    def set_status(self, composite_id: str, status: str) -> None:
        record = self.records[composite_id]
        c = record.contract
        record.contract = Contract(c.composite_id, c.contract_id, status, c.link, c.name)

    def status_of(self, composite_id: str) -> str:
        return self.records[composite_id].contract.status

    def _record(self, composite_id: str) -> SdRecord:
        if composite_id not in self.records:
            raise DocumentNotFound(f"SpotDraft has no contract {composite_id} (HTTP 404)")
        return self.records[composite_id]

    async def find_by_external_id(self, external_id: str) -> Contract | None:
        self._call("find_by_external_id", external_id)
        live = [r.contract for r in self.records.values()
                if r.request.external_id == external_id and r.contract.status != "VOIDED"]  # fmt: skip
        return max(live, key=lambda c: c.contract_id) if live else None

    async def create_contract(self, request: CreateContract) -> Contract:
        self._call("create_contract", request)
        if request.template_id not in self.templates:
            raise TemplateNotFound(f"SpotDraft at sd.test has no contract template {request.template_id} (HTTP 404 "
                                   "on POST /v2.1/public/contracts/)")  # fmt: skip
        contract = self.add(request.external_id, data=request.contract_data)
        self.records[contract.composite_id].request = request
        if self.fail_after_create is not None:
            exc, self.fail_after_create = self.fail_after_create, None
            raise exc
        return contract

    async def send_to_counterparties(self, composite_id: str) -> None:
        self._call("send_to_counterparties", composite_id)
        record = self._record(composite_id)
        if record.contract.status not in ("DRAFT", "REDLINING"):
            raise ContractStateInvalid("SpotDraft at sd.test refused POST .../send_to_counterparties in the "
                                       "contract's current workflow state (HTTP 402, code invalid_contract_state)",
                                       "invalid_contract_state")  # fmt: skip
        record.sends += 1
        self.set_status(composite_id, "REDLINING")

    async def get_status(self, composite_id: str) -> ContractStatus:
        self._call("get_status", composite_id)
        contract = self._record(composite_id).contract
        return ContractStatus(composite_id, contract.status, contract.name)

    async def key_pointers(self, composite_id: str) -> list[KeyPointer]:
        self._call("key_pointers", composite_id)
        record = self._record(composite_id)
        template = TEMPLATES[record.request.template_id]
        return [KeyPointer(kp.field_name, kp.label, kp.value(record.request.contract_data), kp.data_type)
                for kp in template.key_pointers]  # fmt: skip

    def download(self, composite_id: str) -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            self._call("download", composite_id)
            self._record(composite_id)
            for start in range(0, len(self.content), 256):
                yield self.content[start : start + 256]

        return chunks()


# What deal 1001 maps to (template 101's contract_data).
MSA_DATA = {
    "customer_name": "Northwind Supply GmbH",
    "effective_date": "2026-06-30",
    "contract_value": {"type": "EUR", "value": 48000.0},
    "term": {"type": "MONTHS", "value": 12},
}


def deps(tmp_path: Path, spotdraft: FakeSpotDraft | None = None, crm: FakeCrm | None = None,
         dms: FakeDms | None = None) -> SimpleNamespace:  # fmt: skip
    clients = {"spotdraft": spotdraft or FakeSpotDraft(), "hubspot": crm or FakeCrm()}

    def client(name: str) -> Any:
        try:
            return clients[name]
        except KeyError:
            raise LookupError(f"no plug-in named {name!r} (known: {', '.join(sorted(clients))})") from None

    return SimpleNamespace(
        clients=clients,
        client=client,
        # Explicit property names: a developer's HUBSPOT_* environment must not change what the tests expect.
        settings={"hubspot": HubSpotSettings(contract_id_property="contract_id",
                                             contract_status_property="contract_status",
                                             contract_link_property="contract_link",
                                             dms_location_property="contract_dms_location")},
        dms=dms or FakeDms(),
        dms_settings=DmsSettings(root=tmp_path / "dms", max_document_bytes=1_000_000),
        pii=PiiSettings(),
    )


def assert_no_personal_data(*outputs: Any) -> None:
    """None of the seeded people's names, e-mails, phone numbers or addresses in any output."""
    for output in outputs:
        text = output.model_dump_json(by_alias=True) if hasattr(output, "model_dump_json") else str(output)
        for value in PERSONAL:
            assert value not in text, (value, text)


def zeebe_job(task_type: str, variables: dict[str, Any], retries: int = 3) -> Job:
    """A job as the job runtime decodes it (for ``runtime.decide``: the command Zeebe would get)."""
    return Job(key=2251799813685301, type=task_type, process_instance_key=2251799813685290,
               bpmn_process_id="deal-contract", element_id="Task_Under_Test", element_instance_key=2251799813685299,
               retries=retries, deadline=int((time.time() + 600) * 1000), variables=types.MappingProxyType(variables),
               custom_headers=types.MappingProxyType({}))  # fmt: skip
