"""In-memory state of the HubSpot sandbox: deals, contacts, companies, every PATCH, faults and counters.

Everything a test may want to steer or inspect lives on ``CrmSandboxState``; the ``/_sandbox/`` control
endpoints are a thin layer over the same methods. Records are stored under HubSpot's internal property
names, all values strings. Every change of a deal is kept in ``history[deal_id]`` (``source`` ``PATCH`` for
the API, ``sandbox`` for the control plane) next to the deal's first properties, so a test or a demo can
show the deal before and after the sync back. The seeded companies and people are fictional
(``example.com`` addresses).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from workers.sandbox.state import _count, _flag, _number

OBJECT_TYPES = ("deals", "contacts", "companies")
# The properties the sandbox knows, per object type (a subset of HubSpot's defaults, plus the custom deal
# properties the workers write back). Others are refused with 400 PROPERTY_DOESNT_EXIST, as HubSpot does.
KNOWN_PROPERTIES: dict[str, frozenset[str]] = {
    "deals": frozenset({
        "dealname", "dealstage", "pipeline", "amount", "closedate", "deal_currency_code", "dealtype",
        "description", "hubspot_owner_id", "contract_id", "contract_status", "contract_link",
        "contract_dms_location",
        # the contract's key data, written back by deal.sync-crm
        "contract_effective_date", "contract_value", "contract_term", "contract_renewal_date",
        "contract_notice_period",
    }),
    "contacts": frozenset({"firstname", "lastname", "email", "phone", "jobtitle", "company", "address", "city",
                           "country"}),
    "companies": frozenset({"name", "domain", "address", "city", "zip", "country", "industry", "phone"}),
}  # fmt: skip
# Answered with every read, never writable (HubSpot: READ_ONLY_VALUE).
READ_ONLY: dict[str, tuple[str, ...]] = {
    "deals": ("createdate", "hs_lastmodifieddate", "hs_object_id"),
    "contacts": ("createdate", "lastmodifieddate", "hs_object_id"),
    "companies": ("createdate", "hs_lastmodifieddate", "hs_object_id"),
}
# What a read without ``properties`` answers (HubSpot's defaults).
DEFAULT_PROPERTIES = {
    "deals": ("dealname", "amount", "closedate", "pipeline", "dealstage"),
    "contacts": ("firstname", "lastname", "email"),
    "companies": ("name", "domain"),
}
DEAL_STAGES = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
               "contractsent", "closedwon", "closedlost")  # fmt: skip

SEED_CONTACTS: dict[str, dict[str, str]] = {
    "201": {"firstname": "Ines", "lastname": "Alvarez", "email": "ines.alvarez@example.com",
            "jobtitle": "Head of Procurement", "phone": "+49 30 0000 0201"},
    "202": {"firstname": "Tobias", "lastname": "Wren", "email": "tobias.wren@example.com", "jobtitle": "COO"},
    # No e-mail: nobody to send the contract to.
    "203": {"firstname": "Mei", "lastname": "Nakamura", "jobtitle": "Legal Counsel"},
}  # fmt: skip
SEED_COMPANIES: dict[str, dict[str, str]] = {
    "301": {"name": "Northwind Supply GmbH", "domain": "northwind.example.com", "city": "Lindenau",
            "country": "Germany"},
    "302": {"name": "Harbor Analytics Ltd", "domain": "harbor-analytics.example.com", "city": "Port Elsby",
            "country": "United Kingdom"},
    "303": {"name": "Bluefin Robotics AB", "domain": "bluefin.example.com", "city": "Wexley", "country": "Sweden"},
}  # fmt: skip
SEED_DEALS: dict[str, dict[str, Any]] = {
    # Complete.
    "1001": {"properties": {"dealname": "Northwind Supply - annual supply agreement", "amount": "48000",
                            "deal_currency_code": "EUR", "closedate": "2026-06-30", "pipeline": "default",
                            "dealstage": "contractsent"},
             "contacts": ["201"], "companies": ["301"]},
    # No amount: not enough for a contract.
    "1002": {"properties": {"dealname": "Harbor Analytics - pilot", "deal_currency_code": "GBP",
                            "closedate": "2026-05-15", "pipeline": "default", "dealstage": "decisionmakerboughtin"},
             "contacts": ["202"], "companies": ["302"]},
    # Complete, but its contact has no e-mail.
    "1003": {"properties": {"dealname": "Bluefin Robotics - licence", "amount": "125000",
                            "deal_currency_code": "SEK", "closedate": "2026-07-01", "pipeline": "default",
                            "dealstage": "contractsent"},
             "contacts": ["203"], "companies": ["303"]},
}  # fmt: skip


def iso(when: float) -> str:
    """HubSpot's timestamp format: ``2026-03-02T10:15:00.123Z``."""
    return datetime.fromtimestamp(when, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class CrmFaults:
    """Applied to ``/crm/`` calls only: latency first, then down, unauthorized, missing_scopes, fail_next,
    rate_limit_next."""

    fail_next: int = 0  # the next n calls answer 502 (a gateway error page, not JSON)
    rate_limit_next: int = 0  # the next n calls answer 429 with HubSpot's rate-limit headers
    down: bool = False  # every call answers 503
    latency_s: float = 0.0
    unauthorized: bool = False  # every call answers 401 (a revoked token)
    missing_scopes: bool = False  # every call answers 403 MISSING_SCOPES

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


FAULT_KNOBS = frozenset(CrmFaults.__dataclass_fields__)


class CrmSandboxState:
    def __init__(self, *, clock: Callable[[], float] = time.time, seed: bool = True) -> None:
        self.clock = clock
        self._seed = seed
        # First back-off of webhook retries (doubled each retry); tests set 0.
        self.webhook_retry_base_s = 0.2
        # Event ids only grow, across resets too (a bridge may remember the ids it has seen).
        self._event_id = int(clock() * 1000)
        self.reset()

    def reset(self) -> None:
        """Back to the seeded records, no history, no faults, zeroed counters."""
        now = iso(self.clock())
        self.objects: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in OBJECT_TYPES}
        self.history: dict[str, list[dict[str, Any]]] = {}
        if self._seed:
            for object_type, seed in (("contacts", SEED_CONTACTS), ("companies", SEED_COMPANIES)):
                for object_id, properties in seed.items():
                    self.objects[object_type][object_id] = self._record(copy.deepcopy(properties), now)
            for deal_id, deal in SEED_DEALS.items():
                self.put_deal(deal_id, copy.deepcopy(deal["properties"]), deal["contacts"], deal["companies"])
        self.faults = CrmFaults()
        self.requests: dict[str, dict[str, int]] = {}
        self.deliveries = {"attempted": 0, "succeeded": 0, "failed": 0}
        self.faults_injected = 0

    # --- time and ids -----------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def next_event_id(self) -> int:
        self._event_id = max(self._event_id + 1, self.now_ms())
        return self._event_id

    def next_id(self, object_type: str) -> str:
        numbers = [int(i) for i in self.objects[object_type] if i.isdigit()]
        floor = {"deals": 1000, "contacts": 200, "companies": 300}[object_type]
        return str(max(numbers, default=floor) + 1)

    # --- records ----------------------------------------------------------------------------------

    @staticmethod
    def _record(properties: dict[str, str], now: str) -> dict[str, Any]:
        return {"properties": properties, "createdAt": now, "updatedAt": now, "first": dict(properties)}

    def put(self, object_type: str, object_id: str, properties: dict[str, str]) -> None:
        """Create or replace a contact or a company."""
        self.objects[object_type][object_id] = self._record(dict(properties), iso(self.now()))

    def put_deal(self, deal_id: str, properties: dict[str, str], contacts: list[str], companies: list[str]) -> None:
        record = self._record(dict(properties), iso(self.now()))
        record.update(contacts=list(contacts), companies=list(companies))
        self.objects["deals"][deal_id] = record
        self.history.pop(deal_id, None)  # a replaced deal starts a new history

    def deal(self, deal_id: str) -> dict[str, Any] | None:
        return self.objects["deals"].get(deal_id)

    def change_deal(self, deal_id: str, properties: dict[str, str | None], source: str = "PATCH") -> None:
        """Set properties and keep the change (``source``: ``PATCH`` or ``sandbox``)."""
        record = self.objects["deals"][deal_id]
        previous = {name: record["properties"].get(name) for name in properties}
        record["properties"].update(properties)
        record["updatedAt"] = iso(self.now())
        self.history.setdefault(deal_id, []).append(
            {"at": record["updatedAt"], "source": source, "properties": dict(properties), "previous": previous}
        )

    def patches_of(self, deal_id: str) -> list[dict[str, Any]]:
        return [entry for entry in self.history.get(deal_id, []) if entry["source"] == "PATCH"]

    def answer(self, object_type: str, object_id: str, names: list[str] | None, associations: list[str]) -> dict:
        """HubSpot's view of a record: the known properties asked for (unset -> null, unknown left out) plus
        the read-only ones; ``associations`` for the types asked for that have any."""
        record = self.objects[object_type][object_id]
        wanted = DEFAULT_PROPERTIES[object_type] if names is None else names
        stored = record["properties"]
        properties: dict[str, Any] = {n: stored.get(n) for n in wanted if n in KNOWN_PROPERTIES[object_type]}
        created, modified, oid = READ_ONLY[object_type]
        properties.update({created: record["createdAt"], modified: record["updatedAt"], oid: object_id})
        answer: dict[str, Any] = {"id": object_id, "properties": properties, "createdAt": record["createdAt"],
                                  "updatedAt": record["updatedAt"], "archived": False}  # fmt: skip
        linked: dict[str, Any] = {}
        if object_type == "deals":
            if "contacts" in associations and record["contacts"]:
                linked["contacts"] = {"results": [{"id": i, "type": "deal_to_contact"} for i in record["contacts"]]}
            if "companies" in associations and record["companies"]:
                # HubSpot lists a primary company twice: labelled and unlabelled.
                results = [{"id": i, "type": t} for i in record["companies"]
                           for t in ("deal_to_company", "deal_to_company_unlabeled")]  # fmt: skip
                linked["companies"] = {"results": results}
        if linked:
            answer["associations"] = linked
        return answer

    def full_record(self, deal_id: str) -> dict[str, Any]:
        """The control plane's view: every stored property, the associated records, first properties and
        the whole change history."""
        record = self.objects["deals"][deal_id]

        def linked(object_type: str, ids: list[str]) -> list[dict[str, Any]]:
            found = self.objects[object_type]
            return [{"id": i, "properties": dict(found[i]["properties"]) if i in found else None} for i in ids]

        return {
            "id": deal_id,
            "properties": dict(record["properties"]),
            "createdAt": record["createdAt"],
            "updatedAt": record["updatedAt"],
            "contacts": linked("contacts", record["contacts"]),
            "companies": linked("companies", record["companies"]),
            "firstProperties": dict(record["first"]),
            "history": copy.deepcopy(self.history.get(deal_id, [])),
            "patches": len(self.patches_of(deal_id)),
        }

    # --- faults and counters ----------------------------------------------------------------------

    def set_faults(self, knobs: dict[str, Any]) -> dict[str, Any]:
        """Apply knobs (the JSON of ``POST /_sandbox/faults``); all-or-nothing, ``ValueError`` naming the
        first bad one."""
        unknown = set(knobs) - FAULT_KNOBS
        if unknown:
            raise ValueError(f"unknown knobs: {', '.join(sorted(unknown))}")
        updates: dict[str, Any] = {}
        for name, value in knobs.items():
            if name in ("fail_next", "rate_limit_next"):
                updates[name] = _count(name, value)
            elif name == "latency_s":
                updates[name] = _number(name, value)
            else:
                updates[name] = _flag(name, value)
        for name, value in updates.items():
            setattr(self.faults, name, value)
        return self.faults.to_json()

    def take(self, knob: str) -> bool:
        """Consume one unit of a counted knob (``fail_next``, ``rate_limit_next``)."""
        left = getattr(self.faults, knob)
        if left <= 0:
            return False
        setattr(self.faults, knob, left - 1)
        self.faults_injected += 1
        return True

    def count_request(self, route: str, status: int) -> None:
        by_status = self.requests.setdefault(route, {})
        by_status[str(status)] = by_status.get(str(status), 0) + 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": {route: dict(counts) for route, counts in self.requests.items()},
            "patches": sum(len(self.patches_of(d)) for d in self.history),
            "deliveries": dict(self.deliveries),
            "faults": self.faults.to_json(),
            "faults_injected": self.faults_injected,
            "deals": sorted(self.objects["deals"]),
            "contacts": sorted(self.objects["contacts"]),
            "companies": sorted(self.objects["companies"]),
        }
