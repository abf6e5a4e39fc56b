"""Reading HubSpot's answers defensively: property values, associations, error bodies, rate limits.

Everything here treats HubSpot as untrusted input. From an error body only closed vocabularies are
repeated: ``category`` (``VALIDATION_ERROR``, ``MISSING_SCOPES``...), ``correlationId`` (a UUID, what
HubSpot support asks for) and identifier-like names from ``context``; ``message`` never is (it quotes the
rejected value). See ``workers.crm.hubspot`` for what HubSpot publishes and what we assume.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from workers.crm.base import valid_object_id
from workers.providers.answers import MAX_RETRY_AFTER_S, field_names, parse_retry_after

DEFAULT_RETRY_AFTER_S = 10.0  # HubSpot's rolling window is ten seconds
_CATEGORY = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_CORRELATION_ID = re.compile(r"[0-9a-fA-F-]{8,64}")


def text_value(value: Any) -> str | None:
    """A property value as text; null and non-scalars are None (HubSpot sends strings)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return str(value)


def properties_of(raw: Any, names: list[str]) -> dict[str, str | None]:
    given = raw if isinstance(raw, dict) else {}
    return {name: text_value(given.get(name)) for name in names}


def associated_ids(raw: Any, key: str) -> list[str]:
    """The ids of ``associations[key].results``, deduplicated in order; non-ids are skipped."""
    section = raw.get(key) if isinstance(raw, dict) else None
    results = section.get("results") if isinstance(section, dict) else None
    ids: list[str] = []
    for item in results if isinstance(results, list) else []:
        value = text_value(item.get("id")) if isinstance(item, dict) else None
        if value is not None and valid_object_id(value) and value not in ids:
            ids.append(value)
    return ids


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_facts(body: Any) -> str:
    """``" (category X, codes A, B, correlationId Y)"`` from a HubSpot error body; only closed-vocabulary
    values (``category``, ``errors[].code``, a UUID-like ``correlationId``), never ``message``."""
    if not isinstance(body, dict):
        return ""
    facts = []
    category = body.get("category")
    if isinstance(category, str) and _CATEGORY.fullmatch(category):
        facts.append(f"category {category}")
    errors = body.get("errors") if isinstance(body.get("errors"), list) else []
    codes = [e.get("code") for e in errors if isinstance(e, dict)]
    codes = list(dict.fromkeys(c for c in codes if isinstance(c, str) and _CATEGORY.fullmatch(c)))[:5]
    if codes:
        facts.append(f"codes {', '.join(codes)}")
    correlation = body.get("correlationId")
    if isinstance(correlation, str) and _CORRELATION_ID.fullmatch(correlation):
        facts.append(f"correlationId {correlation}")
    return f" ({'; '.join(facts)})" if facts else ""


def context_names(body: Any, key: str) -> list[str]:
    """Identifier-like entries of ``errors[].context[key]`` (and of a top-level ``context[key]``)."""
    found: list[Any] = []
    if isinstance(body, dict):
        contexts = [body.get("context")]
        errors = body.get("errors")
        contexts += [e.get("context") for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
        for context in contexts:
            values = context.get(key) if isinstance(context, dict) else None
            found += values if isinstance(values, list) else [values] if isinstance(values, str) else []
    return field_names(found)


def rate_limit_wait(headers: Mapping[str, str], body: Any) -> float:
    """Seconds to wait after a 429, in [0, 300]: ``Retry-After`` when sent (HubSpot does not document one),
    300 for the daily limit, else the rolling window of ``X-HubSpot-RateLimit-Interval-Milliseconds``, else
    one second for the (older) per-second limit, else ten seconds. ``headers`` as httpx gives them
    (case-insensitive)."""
    if headers.get("retry-after"):
        return parse_retry_after(headers["retry-after"], DEFAULT_RETRY_AFTER_S, maximum=MAX_RETRY_AFTER_S)
    policy = body.get("policyName") if isinstance(body, dict) else None
    if policy == "DAILY" or headers.get("x-hubspot-ratelimit-daily-remaining") == "0":
        return MAX_RETRY_AFTER_S
    interval = headers.get("x-hubspot-ratelimit-interval-milliseconds", "")
    if interval.isdigit() and len(interval) <= 9:
        return min(int(interval) / 1000, MAX_RETRY_AFTER_S)
    if headers.get("x-hubspot-ratelimit-secondly-remaining") == "0":
        return 1.0
    return DEFAULT_RETRY_AFTER_S


__all__ = [
    "DEFAULT_RETRY_AFTER_S",
    "associated_ids",
    "context_names",
    "error_facts",
    "json_or_none",
    "properties_of",
    "rate_limit_wait",
    "text_value",
]
