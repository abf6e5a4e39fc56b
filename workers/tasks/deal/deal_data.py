"""The deal flow's claim check: the process carries a deal *id*; the deal, its first associated contact and
its first associated company are fetched from the CRM inside the task that needs them, mapped onto the
contract template's fields and one counterparty, and never returned to the engine (Zeebe's exporters keep
every value a variable ever had).

The mapping is declared (``FIELD_SOURCES``) and checked: every problem names the CRM side at fault
(``deal.amount``, ``contact.email``...) and the kind of fault, never the value.

* ``customer_name`` <- company ``name`` (else contact ``firstname`` + ``lastname``);
* ``effective_date`` <- deal ``closedate`` (its date part, ``YYYY-MM-DD``);
* ``contract_value`` <- ``{"type": deal deal_currency_code, "value": float(deal amount)}``;
* ``term`` <- ``{"type": "MONTHS", "value": termMonths}`` (a process variable);
* the counterparty's point of contact <- contact ``firstname`` / ``lastname`` / ``email`` (checked); its
  organization <- company ``name``; an individual when the deal has no company;
* ``contract_name`` <- deal ``dealname`` (optional: without it SpotDraft names the contract after the template).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from pydantic import Field

from workers.crm.base import CrmObject, Deal
from workers.errors import ContractDataInvalid
from workers.providers.spotdraft.models import Counterparty
from workers.tasks.deal.crm_errors import call_crm
from workers.tasks.deal.provider_calls import plugin_client
from workers.tasks.runtime import JobInfo, TaskModel

DEAL_ID_PATTERN = r"^[0-9A-Za-z_-]{1,64}$"
PLUGIN_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
# A SpotDraft composite contract id (T-123 for template contracts, H-123 for historical ones).
CONTRACT_ID_PATTERN = r"^[HT]-[0-9]{1,18}$"

DEAL_PROPERTIES = ["dealname", "amount", "deal_currency_code", "closedate"]
CONTACT_PROPERTIES = ["firstname", "lastname", "email"]
COMPANY_PROPERTIES = ["name"]

# Template field -> the CRM properties (or process variable) it is made of.
FIELD_SOURCES: dict[str, tuple[str, ...]] = {
    "customer_name": ("company.name", "contact.firstname", "contact.lastname"),
    "effective_date": ("deal.closedate",),
    "contract_value": ("deal.amount", "deal.deal_currency_code"),
    "term": ("termMonths",),
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DATE_PART = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ].*)?$")


class DealRef(TaskModel):
    """What a task needs to find the deal's contract data: ids and choices, no personal value."""

    deal_id: str = Field(pattern=DEAL_ID_PATTERN, description="The CRM deal id (=dealId).")
    provider: str = Field(default="spotdraft", pattern=PLUGIN_PATTERN,
                          description="The contract provider plug-in.")  # fmt: skip
    crm: str = Field(default="hubspot", pattern=PLUGIN_PATTERN, description="The CRM plug-in.")
    template_id: int = Field(default=101, ge=1, description="The provider's contract template id.")
    term_months: int = Field(default=12, ge=1, le=120, description="The contract's term in months.")


class ContractRef(TaskModel):
    """A contract at the provider: its composite id and the provider plug-in."""

    contract_id: str = Field(pattern=CONTRACT_ID_PATTERN,
                             description="The provider's composite contract id (=contractId).")  # fmt: skip
    provider: str = Field(default="spotdraft", pattern=PLUGIN_PATTERN, description="The contract provider plug-in.")


@dataclass(frozen=True)
class DealRecords:
    deal: Deal
    contact: CrmObject | None
    company: CrmObject | None


@dataclass(frozen=True)
class ContractDraft:
    """What the provider gets for this deal (personal data inside: never a variable, never logged)."""

    contract_data: dict[str, Any]
    counterparty: Counterparty
    contract_name: str | None
    contact_id: str | None
    company_id: str | None

    def __repr__(self) -> str:
        return (f"ContractDraft(contract_data fields: {','.join(sorted(self.contract_data))}, "
                f"contact_id={self.contact_id!r}, company_id={self.company_id!r})")  # fmt: skip


def _text(record: Deal | CrmObject | None, name: str) -> str | None:
    value = record.properties.get(name) if record is not None else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _date_part(value: str) -> str | None:
    """``2026-06-30``, ``2026-06-30T00:00:00Z`` -> ``2026-06-30``; epoch milliseconds too (UTC)."""
    if value.isdigit():
        try:
            return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc).date().isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    match = _DATE_PART.match(value)
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1)).isoformat()
    except ValueError:
        return None


def _amount(value: str) -> float | None:
    try:
        amount = float(value)
    except ValueError:
        return None
    return amount if math.isfinite(amount) and amount >= 0 else None


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.fields: list[str] = []

    def add(self, source: str, fault: str) -> None:
        self.items.append(f"{source} {fault}")
        if source not in self.fields:
            self.fields.append(source)


def map_deal(ref: DealRef, records: DealRecords) -> ContractDraft:
    """The template's ``contract_data`` and the counterparty; ``ContractDataInvalid`` naming every CRM
    property at fault (names only)."""
    deal, contact, company = records.deal, records.contact, records.company
    problems = _Problems()

    closedate = _text(deal, "closedate")
    effective_date = _date_part(closedate) if closedate else None
    if closedate is None:
        problems.add("deal.closedate", "is missing")
    elif effective_date is None:
        problems.add("deal.closedate", "is not a date (YYYY-MM-DD)")
    raw_amount = _text(deal, "amount")
    amount = _amount(raw_amount) if raw_amount else None
    if raw_amount is None:
        problems.add("deal.amount", "is missing")
    elif amount is None:
        problems.add("deal.amount", "is not a non-negative number")
    raw_currency = _text(deal, "deal_currency_code")
    currency = raw_currency.upper() if raw_currency else None
    if currency is None:
        problems.add("deal.deal_currency_code", "is missing")
    elif not _CURRENCY.match(currency):
        problems.add("deal.deal_currency_code", "is not a 3-letter currency code")

    first_name, last_name, email = (_text(contact, n) for n in CONTACT_PROPERTIES)
    if contact is None:
        problems.add("deal.contacts", "has no associated contact (the counterparty's point of contact)")
    else:
        if first_name is None:
            problems.add("contact.firstname", "is missing")
        if email is None:
            problems.add("contact.email", "is missing")
        elif not _EMAIL.match(email):
            problems.add("contact.email", "is not a valid e-mail address")
    organization = _text(company, "name")
    if company is not None and organization is None:
        problems.add("company.name", "is missing")

    if problems.items:
        raise ContractDataInvalid(
            f"deal {ref.deal_id} does not fit contract template {ref.template_id}: " + "; ".join(problems.items),
            problems.fields,
        )
    person = " ".join(p for p in (first_name, last_name) if p)
    contract_data = {
        "customer_name": organization or person,
        "effective_date": effective_date,
        "contract_value": {"type": currency, "value": amount},
        "term": {"type": "MONTHS", "value": ref.term_months},
    }
    counterparty = Counterparty(is_individual=company is None, first_name=first_name or "", last_name=last_name or "",
                                email=email or "", organization_name=organization)  # fmt: skip
    return ContractDraft(contract_data, counterparty, _text(deal, "dealname"),
                         contact.object_id if contact else None, company.object_id if company else None)  # fmt: skip


async def fetch_deal(deps: Any, ref: DealRef, job: JobInfo) -> DealRecords:
    """The deal with its first associated contact and company (``DEAL_NOT_FOUND`` if any is unknown)."""
    crm = plugin_client(deps, ref.crm, "crm")
    deal_id = ref.deal_id
    deal = await call_crm(lambda: crm.get_deal(deal_id, DEAL_PROPERTIES), job, f"fetching deal {deal_id}")
    contact = company = None
    if deal.contact_ids:
        contact_id = deal.contact_ids[0]
        contact = await call_crm(lambda: crm.get_contact(contact_id, CONTACT_PROPERTIES), job,
                                 f"fetching contact {contact_id} of deal {deal_id}")  # fmt: skip
    if deal.company_ids:
        company_id = deal.company_ids[0]
        company = await call_crm(lambda: crm.get_company(company_id, COMPANY_PROPERTIES), job,
                                 f"fetching company {company_id} of deal {deal_id}")  # fmt: skip
    return DealRecords(deal, contact, company)


async def contract_draft(deps: Any, ref: DealRef, job: JobInfo) -> ContractDraft:
    """Fetch the deal's records and map them (raises on unknown records or invalid data)."""
    return map_deal(ref, await fetch_deal(deps, ref, job))
