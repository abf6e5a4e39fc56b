"""``deal.key-data``: the executed contract's key data (SpotDraft's key pointers) as text, for the DMS and
the CRM.

Only business values of typed key pointers are kept, rendered as text: currency ``48000.00 EUR``, duration
``12 MONTHS``, date as given (``YYYY-MM-DD``), boolean ``true`` / ``false``, number as written. A
``text`` (or any other) key pointer is dropped: it may name a person or an address (a counterparty's name
is a text field), and a typed value that does not have its type's shape is dropped too. Only the *names*
of dropped key pointers are logged.
"""

from __future__ import annotations

import math
import re
from typing import Any

import structlog

from workers.providers.spotdraft.models import KeyPointer
from workers.tasks.deal.deal_data import ContractRef
from workers.tasks.deal.provider_calls import call_spotdraft, plugin_client
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec

log = structlog.get_logger(__name__)

FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_UNIT = re.compile(r"^[A-Z]{1,16}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_VALUE_CHARS = 64


class KeyDataInput(ContractRef):
    pass


class KeyDataOutput(TaskModel):
    # Key pointer field name -> its value as text (business data only).
    contract_key_data: dict[str, str]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def render(pointer: KeyPointer) -> str | None:
    """The key pointer's value as text, or None when it is not kept (see the module docstring)."""
    value, kind = pointer.value, pointer.data_type.lower()
    if kind == "currency" and isinstance(value, dict) and _number(value.get("value")):
        currency = value.get("type")
        if isinstance(currency, str) and _CURRENCY.match(currency):
            return f"{float(value['value']):.2f} {currency}"
    elif kind == "duration" and isinstance(value, dict) and _number(value.get("value")):
        unit = value.get("type")
        if isinstance(unit, str) and _UNIT.match(unit):
            amount = value["value"]
            return f"{int(amount) if float(amount).is_integer() else amount} {unit}"
    elif kind == "date" and isinstance(value, str) and _DATE.match(value):
        return value
    elif kind == "boolean" and isinstance(value, bool):
        return "true" if value else "false"
    elif kind == "number" and _number(value):
        text = str(value)
        return text if len(text) <= MAX_VALUE_CHARS else None
    return None


def key_data(pointers: list[KeyPointer]) -> tuple[dict[str, str], list[str]]:
    """(field name -> text, the names of the key pointers dropped)."""
    kept: dict[str, str] = {}
    dropped: list[str] = []
    for pointer in pointers:
        name = pointer.field_name
        text = render(pointer) if FIELD_NAME.match(name) else None
        if text is None:
            if FIELD_NAME.match(name):
                dropped.append(name)
            continue
        kept[name] = text
    return kept, dropped


async def handle(data: KeyDataInput, job: JobInfo, deps: Any) -> KeyDataOutput:
    provider = plugin_client(deps, data.provider, "provider")
    cid = data.contract_id
    pointers = await call_spotdraft(lambda: provider.key_pointers(cid), job, f"reading the key data of contract {cid}")
    kept, dropped = key_data(pointers)
    if dropped:
        log.info("deal_key_data_dropped", contract_id=cid, fields=sorted(dropped))
    return KeyDataOutput(contract_key_data=kept)


SPEC = TaskSpec(
    type="deal.key-data",
    name="Deal: read contract key data",
    description="Reads the contract's key data (effective date, value, term...) from the provider as text; "
    "typed business values only, never a counterparty's details.",
    input_model=KeyDataInput,
    output_model=KeyDataOutput,
    handler=handle,
    error_codes=(),
    timeout_ms=60_000,
    retries=5,
    backoff_base_ms=2_000,
)
