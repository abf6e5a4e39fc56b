"""Prometheus metrics of the callback bridge (seed 000, 'Observability').

Kept apart from ``workers/metrics.py``/``workers/tasks/metrics.py`` so the names never clash.
``provider`` is only ever a configured provider name (or ``"unknown"``), so an attacker posting to
random paths cannot grow the label set.
"""

from __future__ import annotations

from prometheus_client import Counter

WEBHOOKS = Counter(
    "contract_bridge_webhooks_total",
    "Provider webhook deliveries handled by the bridge, by provider and outcome",
    ["provider", "outcome"],
)

# The outcomes the bridge counts (also the ``outcome`` field of its log line).
OUTCOMES = (
    "published",
    "duplicate",
    "ignored",
    "unknown_provider",
    "bad_request",
    "body_too_large",
    "body_timeout",
    "busy",
    "invalid_signature",
    "malformed_event",
    "event_id_mismatch",
    "backpressure",
    "unavailable",
    "rejected",
    "client_disconnected",
    "error",
)
