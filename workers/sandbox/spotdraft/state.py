"""In-memory state of the SpotDraft sandbox: contracts and their lifecycle, the webhook event log, fault
knobs, the per-workspace rate limit and counters.

Lifecycle (published statuses and activities; the transitions are our reading of the docs and examples):

* create -> ``DRAFT`` (``CONTRACT_CREATED``);
* send to counterparties -> ``REDLINING`` (``CONTRACT_SENT_TO_COUNTERPARTY``); allowed again while
  ``REDLINING`` (a re-send), 402 in any later state;
* counterparty signs -> ``SIGN`` (``CONTRACT_SIGNATURE_REQUESTED`` when coming from ``REDLINING``),
  ``CONTRACT_SIGNED``, then ``EXECUTED`` (``CONTRACT_EXECUTED``; a new document version, the executed copy);
* counterparty declines -> back to ``DRAFT`` (``CONTRACT_SIGNATURE_DECLINED``; the published example of that
  activity carries ``contract_status: DRAFT``);
* void (``POST .../status/void``) -> ``VOIDED`` (``CONTRACT_VOIDED``); an executed contract cannot be voided
  (the published 400 example).

Time goes through ``clock`` (``time.time`` by default) so tests can move it (rate limit, link expiry).
"""

from __future__ import annotations

import copy
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from workers.sandbox.state import _count, _flag, _number
from workers.sandbox.spotdraft.templates import TEMPLATES, TemplateDef

FIRST_CONTRACT_ID = 5001
CREATOR_EMAIL = "integration@sandbox.spotdraft.example"


class StateConflict(Exception):
    """The contract's status does not allow the action; ``str()`` names the status only."""


@dataclass
class SdContract:
    contract_id: int
    template_id: int
    name: str
    data: dict[str, Any]
    counterparties: list[dict[str, Any]]
    external_metadata: dict[str, Any]
    created: str
    status: str = "DRAFT"
    version: int = 1
    sends: int = 0

    @property
    def composite_id(self) -> str:
        return f"T-{self.contract_id}"

    @property
    def counter_party_name(self) -> str:
        first = self.counterparties[0] if self.counterparties else {}
        if first.get("organization_name"):
            return str(first["organization_name"])
        poc = first.get("poc_details") or {}
        return " ".join(p for p in (poc.get("first_name"), poc.get("last_name")) if p)


@dataclass
class SdFaults:
    """``/api/`` calls only: latency, then down, unauthorized, fail_next, rate_limit_next. Webhooks:
    ``webhook_enabled`` (False: events are logged, not sent), ``webhook_duplicates`` (extra identical
    deliveries of every event), ``webhook_out_of_order`` (the events of one transition in reverse order).
    ``expired_links_next``: the next n download links are issued already expired."""

    fail_next: int = 0
    rate_limit_next: int = 0
    down: bool = False
    latency_s: float = 0.0
    unauthorized: bool = False
    webhook_enabled: bool = True
    webhook_duplicates: int = 0
    webhook_out_of_order: bool = False
    expired_links_next: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


FAULT_KNOBS = frozenset(SdFaults.__dataclass_fields__)
_COUNTS = {"fail_next", "rate_limit_next", "webhook_duplicates", "expired_links_next"}
_FLAGS = {"down", "unauthorized", "webhook_enabled", "webhook_out_of_order"}


@dataclass
class RateLimiter:
    """At most ``per_s`` requests in any 1 s window (sliding), per workspace."""

    per_s: int
    _seen: deque[float] = field(default_factory=deque)

    def admit(self, now: float) -> float | None:
        """None when admitted, else the seconds until a slot frees (the Retry-After)."""
        while self._seen and now - self._seen[0] >= 1.0:
            self._seen.popleft()
        if len(self._seen) >= self.per_s:
            return max(0.0, 1.0 - (now - self._seen[0]))
        self._seen.append(now)
        return None


class SdSandboxState:
    def __init__(self, *, clock: Callable[[], float] = time.time, rate_limit_per_s: int = 10,
                 first_contract_id: int = FIRST_CONTRACT_ID) -> None:  # fmt: skip
        self.clock = clock
        self.rate_limit_per_s = rate_limit_per_s
        # Where contract ids start (``make run`` starts them from the clock: a real workspace never hands
        # out an id twice, and the DMS files executed contracts by id across runs).
        self.first_contract_id = first_contract_id
        # First back-off of webhook retries (doubled each retry); tests set 0.
        self.webhook_retry_base_s = 0.2
        self.templates: dict[int, TemplateDef] = dict(TEMPLATES)
        self.reset()

    def reset(self) -> None:
        """No contracts, no events, no faults, zeroed counters and rate limit."""
        self.contracts: dict[int, SdContract] = {}
        self.events: list[dict[str, Any]] = []
        self.faults = SdFaults()
        self.limiter = RateLimiter(self.rate_limit_per_s)
        self.requests: dict[str, dict[str, int]] = {}
        self.deliveries = {"attempted": 0, "succeeded": 0, "failed": 0}
        self.faults_injected = 0
        self.rate_limited = 0

    # --- time -------------------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def iso_now(self) -> str:
        return datetime.fromtimestamp(self.clock(), tz=timezone.utc).isoformat().replace("+00:00", "Z")

    # --- contracts --------------------------------------------------------------------------------

    def by_composite(self, composite_id: str) -> SdContract | None:
        if len(composite_id) < 3 or not composite_id.startswith("T-") or not composite_id[2:].isdigit():
            return None
        return self.contracts.get(int(composite_id[2:]))

    def by_external_id(self, external_id: str) -> list[SdContract]:
        found = [c for c in self.contracts.values() if str(c.external_metadata.get("id")) == external_id]
        return found[:50]  # published: "up to 50 contracts"

    def create(self, template: TemplateDef, data: dict[str, Any], counterparties: list[dict[str, Any]],
               external_metadata: dict[str, Any], name: str | None) -> SdContract:  # fmt: skip
        contract_id = max(self.contracts, default=self.first_contract_id - 1) + 1
        contract = SdContract(
            contract_id=contract_id, template_id=template.template_id, name=name or template.title,
            data=copy.deepcopy(data), counterparties=copy.deepcopy(counterparties),
            external_metadata=copy.deepcopy(external_metadata), created=self.iso_now(),
        )  # fmt: skip
        self.contracts[contract_id] = contract
        return contract

    def send(self, contract: SdContract) -> list[str]:
        if contract.status not in ("DRAFT", "REDLINING"):
            raise StateConflict(f"a contract in {contract.status} cannot be sent to counterparties")
        contract.status = "REDLINING"
        contract.sends += 1
        return ["CONTRACT_SENT_TO_COUNTERPARTY"]

    def sign(self, contract: SdContract) -> list[str]:
        """The counterparty signs (the last signature): the activities, in order."""
        if contract.status not in ("REDLINING", "SIGN"):
            raise StateConflict(f"a contract in {contract.status} cannot be signed (send it first)")
        activities = ["CONTRACT_SIGNATURE_REQUESTED"] if contract.status == "REDLINING" else []
        contract.status = "EXECUTED"
        contract.version += 1
        return activities + ["CONTRACT_SIGNED", "CONTRACT_EXECUTED"]

    def decline(self, contract: SdContract) -> list[str]:
        if contract.status not in ("REDLINING", "SIGN"):
            raise StateConflict(f"a contract in {contract.status} has no pending signature to decline")
        contract.status = "DRAFT"
        return ["CONTRACT_SIGNATURE_DECLINED"]

    def void(self, contract: SdContract) -> list[str]:
        if contract.status == "EXECUTED":
            raise StateConflict("Cannot void an executed contract.")
        if contract.status == "VOIDED":
            raise StateConflict("The contract is already voided.")
        contract.status = "VOIDED"
        return ["CONTRACT_VOIDED"]

    @staticmethod
    def status_after(activity: str, final: str) -> str:
        """The contract_status a webhook of ``activity`` carries (the intermediate states of a signing)."""
        return {"CONTRACT_SIGNATURE_REQUESTED": "SIGN", "CONTRACT_SIGNED": "SIGN"}.get(activity, final)

    # --- faults -----------------------------------------------------------------------------------

    def set_faults(self, knobs: dict[str, Any]) -> dict[str, Any]:
        """Apply knobs (``POST /_sandbox/faults``); all-or-nothing, ``ValueError`` naming the bad one."""
        unknown = set(knobs) - FAULT_KNOBS
        if unknown:
            raise ValueError(f"unknown knobs: {', '.join(sorted(unknown))}")
        updates: dict[str, Any] = {}
        for name, value in knobs.items():
            if name in _COUNTS:
                updates[name] = _count(name, value)
            elif name in _FLAGS:
                updates[name] = _flag(name, value)
            else:
                updates[name] = _number(name, value)
        for name, value in updates.items():
            setattr(self.faults, name, value)
        return self.faults.to_json()

    def take(self, knob: str) -> bool:
        """Consume one unit of a counted knob (``fail_next``, ``rate_limit_next``, ``expired_links_next``)."""
        left = getattr(self.faults, knob)
        if left <= 0:
            return False
        setattr(self.faults, knob, left - 1)
        self.faults_injected += 1
        return True

    # --- counters ---------------------------------------------------------------------------------

    def count_request(self, route: str, status: int) -> None:
        by_status = self.requests.setdefault(route, {})
        by_status[str(status)] = by_status.get(str(status), 0) + 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": {route: dict(counts) for route, counts in self.requests.items()},
            "contracts": {c.composite_id: c.status for c in self.contracts.values()},
            "events": len(self.events),
            "deliveries": dict(self.deliveries),
            "faults": self.faults.to_json(),
            "faults_injected": self.faults_injected,
            "rate_limited": self.rate_limited,
        }


__all__ = ["FAULT_KNOBS", "RateLimiter", "SdContract", "SdFaults", "SdSandboxState", "StateConflict"]
