"""Prometheus metrics shared across the workers (seed 000, 'Observability').

Metric objects live here, once per process, so every module that counts something imports them from
one place (``prometheus_client`` refuses to register the same name twice).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Outbound HTTP calls, counted by ``workers.audit.AuditTransport``. ``component`` names the remote
# ("contractize", "dms-http"); ``status_class`` is "2xx", "3xx", "4xx", "5xx" or "error" (no response:
# timeout, connection refused, ...). Latency runs until the response body is fully read or closed.
PROVIDER_REQUEST_SECONDS = Histogram(
    "contract_provider_request_seconds",
    "Latency of outbound HTTP calls to the contract provider and the DMS, in seconds",
    ["component", "method", "status_class"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
PROVIDER_REQUESTS = Counter(
    "contract_provider_requests",
    "Outbound HTTP calls to the contract provider and the DMS",
    ["component", "method", "status_class"],
)
