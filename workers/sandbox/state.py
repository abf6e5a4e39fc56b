"""In-memory state of the sandbox: tokens, documents, idempotency keys, templates, fault knobs, counters.

Everything a test may want to steer or inspect lives on ``SandboxState``; the HTTP control endpoints under
``/_sandbox/`` are a thin layer over the same methods, so a test in the same process can set
``state.faults.down = True`` or call ``state.set_faults({...})`` directly.

Time goes through ``state.clock`` (``time.time`` by default) so tests can move it forward to expire tokens
and signed download URLs without sleeping.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from workers.sandbox.bad_answers import (
    BadDownloadRule,
    TrickleRule,
    parse_bad_download,
    parse_retry_after_header,
    parse_trickle,
    take,
)
from workers.sandbox.templates import TemplateSpec, default_registry

COUNTER_NAMES = (
    "token_requests",
    "tokens_issued",
    "generate_calls",
    "documents_created",
    "idempotent_replays",
    "webhook_deliveries_attempted",
    "webhook_deliveries_succeeded",
    "downloads",
    "faults_injected",
)


@dataclass
class FailRule:
    """The next ``count`` API calls whose path starts with ``path_prefix`` answer ``status``."""

    status: int = 503
    count: int = 1
    path_prefix: str = ""


@dataclass
class RateLimitRule:
    count: int = 1
    retry_after: float = 1.0
    # A raw Retry-After value sent instead of ``retry_after`` ("1e300", an HTTP-date in the year 9999).
    header: str | None = None


@dataclass
class TimeoutRule:
    """Hold the next ``count`` API responses ``seconds`` long.

    ``when="after"`` (default) processes the request first and then holds the response, like a provider
    that did the work but whose answer never reached the client in time; ``"before"`` holds first.
    """

    count: int = 1
    seconds: float = 5.0
    when: str = "after"


@dataclass
class Faults:
    latency_ms: float = 0.0
    fail_next: FailRule | None = None
    rate_limit_next: RateLimitRule | None = None
    timeout_next: TimeoutRule | None = None
    down: bool = False
    # None: use SandboxSettings.webhook_delay_s.
    webhook_delay_s: float | None = None
    webhook_duplicates: int = 0
    webhook_early: bool = False
    webhook_enabled: bool = True
    # Delivery policy: attempts per delivery and the first back-off (doubled each retry).
    webhook_max_attempts: int = 4
    webhook_retry_base_s: float = 0.5
    webhook_timeout_s: float = 5.0
    # The next N documents fail to render: status "failed" and a ``document.failed`` webhook.
    render_fail_next: int = 0
    # Slow answers and wrong bodies (``workers.sandbox.bad_answers``).
    trickle_next: TrickleRule | None = None
    bad_download_next: BadDownloadRule | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


KNOBS = set(Faults.__dataclass_fields__) | {"revoke_tokens"}


def _number(name: str, value: Any, *, minimum: float = 0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ValueError(f"{name} must be a number >= {minimum}")
    return float(value)


def _count(name: str, value: Any, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}")
    return value


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


def _rule_fields(name: str, value: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object or null")
    unknown = set(value) - allowed
    if unknown:
        raise ValueError(f"{name} has unknown keys: {', '.join(sorted(unknown))}")
    return value


@dataclass
class TokenRecord:
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float


@dataclass
class DocumentRecord:
    doc_id: str
    template_id: str
    template_version: str
    data: dict[str, Any]
    metadata: dict[str, Any]
    callback_url: str
    idempotency_key: str | None
    body_sha256: str
    created_at: datetime
    status: str = "processing"
    ready_at: datetime | None = None
    pdf: bytes | None = None
    error: str | None = None
    # event_type -> fixed event id, so every (re)delivery of one event carries the same webhook-id.
    event_ids: dict[str, str] = field(default_factory=dict)
    # event_type -> the exact body bytes, identical for duplicates and redeliveries.
    event_bodies: dict[str, bytes] = field(default_factory=dict)
    webhook_attempts: int = 0
    webhook_successes: int = 0

    @property
    def request_id(self) -> str | None:
        value = self.metadata.get("request_id")
        return None if value is None else str(value)

    def summary(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "status": self.status,
            "template_id": self.template_id,
            "idempotency_key": self.idempotency_key,
            "request_id": self.request_id,
            "created_at": self.created_at.isoformat(),
            "ready_at": self.ready_at.isoformat() if self.ready_at else None,
            "event_ids": dict(self.event_ids),
            "webhook_attempts": self.webhook_attempts,
            "webhook_successes": self.webhook_successes,
        }


def body_fingerprint(body: Any) -> str:
    """SHA-256 of the canonical JSON of a request body (key order and whitespace do not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class SandboxState:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        templates: dict[str, TemplateSpec] | None = None,
        download_key: bytes | None = None,
    ) -> None:
        self.clock = clock
        self.templates: dict[str, TemplateSpec] = templates if templates is not None else default_registry()
        # Server-side key for signed download URLs; never leaves the process.
        self.download_key = download_key or secrets.token_bytes(32)
        self.tokens: dict[str, TokenRecord] = {}
        self.documents: dict[str, DocumentRecord] = {}
        self.idempotency: dict[str, str] = {}  # key -> doc_id
        self.faults = Faults()
        self.counters: dict[str, int] = {name: 0 for name in COUNTER_NAMES}

    # --- time -------------------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=timezone.utc)

    # --- counters ---------------------------------------------------------------------------------

    def count(self, name: str, by: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + by

    # --- tokens -----------------------------------------------------------------------------------

    def issue_token(self, client_id: str, scopes: tuple[str, ...], ttl_s: float) -> tuple[str, TokenRecord]:
        token = secrets.token_urlsafe(32)
        record = TokenRecord(client_id=client_id, scopes=scopes, expires_at=self.clock() + ttl_s)
        self.tokens[token] = record
        self.count("tokens_issued")
        self._drop_expired_tokens()
        return token, record

    def check_token(self, token: str) -> TokenRecord | None:
        record = self.tokens.get(token)
        if record is None:
            return None
        if record.expires_at <= self.clock():
            self.tokens.pop(token, None)
            return None
        return record

    def revoke_tokens(self) -> int:
        n = len(self.tokens)
        self.tokens.clear()
        return n

    def expire_tokens(self) -> None:
        """Make every issued token expired right now (as if its TTL had passed)."""
        now = self.clock()
        for record in self.tokens.values():
            record.expires_at = now

    def _drop_expired_tokens(self) -> None:
        now = self.clock()
        for token in [t for t, r in self.tokens.items() if r.expires_at <= now]:
            del self.tokens[token]

    # --- documents --------------------------------------------------------------------------------

    def new_doc_id(self) -> str:
        while True:
            doc_id = "doc_" + secrets.token_hex(12)
            if doc_id not in self.documents:
                return doc_id

    def add_document(self, doc: DocumentRecord) -> None:
        self.documents[doc.doc_id] = doc
        if doc.idempotency_key:
            self.idempotency[doc.idempotency_key] = doc.doc_id
        self.count("documents_created")

    def by_idempotency_key(self, key: str) -> DocumentRecord | None:
        doc_id = self.idempotency.get(key)
        return self.documents.get(doc_id) if doc_id else None

    def event_id(self, doc: DocumentRecord, event_type: str) -> str:
        if event_type not in doc.event_ids:
            doc.event_ids[event_type] = "evt_" + secrets.token_hex(12)
        return doc.event_ids[event_type]

    # --- signed download URLs ---------------------------------------------------------------------

    def download_signature(self, doc_id: str, expires: int) -> str:
        message = f"{doc_id}:{expires}".encode()
        return hmac.new(self.download_key, message, hashlib.sha256).hexdigest()

    def check_download(self, doc_id: str, expires: str | None, signature: str | None) -> str | None:
        """``None`` when the pair is valid for ``doc_id`` right now, else a short reason."""
        if not expires or not signature:
            return "missing expires or signature"
        try:
            expires_at = int(expires)
        except ValueError:
            return "malformed expires"
        expected = self.download_signature(doc_id, expires_at)
        if not hmac.compare_digest(expected, signature.lower()):
            return "bad signature"
        if expires_at <= self.clock():
            return "expired"
        return None

    # --- faults -----------------------------------------------------------------------------------

    def set_faults(self, knobs: dict[str, Any]) -> dict[str, Any]:
        """Apply knobs (the JSON accepted by ``POST /_sandbox/faults``); all-or-nothing.

        Raises ``ValueError`` naming the first bad knob. Returns the current faults.
        """
        unknown = set(knobs) - KNOBS
        if unknown:
            raise ValueError(f"unknown knobs: {', '.join(sorted(unknown))}")
        updates: dict[str, Any] = {}
        revoke = False
        for name, value in knobs.items():
            if name == "latency_ms":
                updates[name] = _number(name, value)
            elif name == "fail_next":
                if value is None:
                    updates[name] = None
                    continue
                spec = _rule_fields(name, value, {"status", "count", "path_prefix"})
                status = _count("fail_next.status", spec.get("status", 503), minimum=100)
                if status > 599:
                    raise ValueError("fail_next.status must be an HTTP status code")
                prefix = spec.get("path_prefix", "") or ""
                if not isinstance(prefix, str):
                    raise ValueError("fail_next.path_prefix must be a string")
                updates[name] = FailRule(status, _count("fail_next.count", spec.get("count", 1)), prefix)
            elif name == "rate_limit_next":
                if value is None:
                    updates[name] = None
                    continue
                spec = _rule_fields(name, value, {"count", "retry_after", "header"})
                updates[name] = RateLimitRule(
                    _count("rate_limit_next.count", spec.get("count", 1)),
                    _number("rate_limit_next.retry_after", spec.get("retry_after", 1)),
                    parse_retry_after_header(spec.get("header")),
                )
            elif name == "trickle_next":
                updates[name] = parse_trickle(value)
            elif name == "bad_download_next":
                updates[name] = parse_bad_download(value)
            elif name == "timeout_next":
                if value is None:
                    updates[name] = None
                    continue
                spec = _rule_fields(name, value, {"count", "seconds", "when"})
                when = spec.get("when", "after")
                if when not in ("before", "after"):
                    raise ValueError("timeout_next.when must be 'before' or 'after'")
                updates[name] = TimeoutRule(
                    _count("timeout_next.count", spec.get("count", 1)),
                    _number("timeout_next.seconds", spec.get("seconds", 5)),
                    when,
                )
            elif name in ("down", "webhook_early", "webhook_enabled"):
                updates[name] = _flag(name, value)
            elif name == "webhook_delay_s":
                updates[name] = None if value is None else _number(name, value)
            elif name in ("webhook_duplicates", "render_fail_next"):
                updates[name] = _count(name, value)
            elif name == "webhook_max_attempts":
                updates[name] = _count(name, value, minimum=1)
            elif name in ("webhook_retry_base_s",):
                updates[name] = _number(name, value)
            elif name == "webhook_timeout_s":
                updates[name] = _number(name, value, minimum=0.001)
            elif name == "revoke_tokens":
                revoke = _flag(name, value)
        for name, value in updates.items():
            setattr(self.faults, name, value)
        if revoke:
            self.revoke_tokens()
        return self.faults.to_json()

    def take_fail(self, path: str) -> int | None:
        rule = self.faults.fail_next
        if rule is None or rule.count <= 0 or not path.startswith(rule.path_prefix):
            return None
        rule.count -= 1
        if rule.count <= 0:
            self.faults.fail_next = None
        return rule.status

    def take_rate_limit(self) -> RateLimitRule | None:
        rule = self.faults.rate_limit_next
        if rule is None or rule.count <= 0:
            return None
        rule.count -= 1
        if rule.count <= 0:
            self.faults.rate_limit_next = None
        return rule

    def take_trickle(self, path: str) -> TrickleRule | None:
        rule = self.faults.trickle_next
        if rule is None or not path.startswith(rule.path_prefix) or not take(rule):
            return None
        if rule.count <= 0:
            self.faults.trickle_next = None
        return rule

    def take_bad_download(self) -> BadDownloadRule | None:
        rule = self.faults.bad_download_next
        if not take(rule):
            return None
        if rule.count <= 0:  # type: ignore[union-attr]
            self.faults.bad_download_next = None
        return rule

    def take_timeout(self) -> TimeoutRule | None:
        rule = self.faults.timeout_next
        if rule is None or rule.count <= 0:
            return None
        rule.count -= 1
        if rule.count <= 0:
            self.faults.timeout_next = None
        return TimeoutRule(1, rule.seconds, rule.when)

    def take_render_failure(self) -> bool:
        if self.faults.render_fail_next > 0:
            self.faults.render_fail_next -= 1
            return True
        return False

    # --- reset / inspection -----------------------------------------------------------------------

    def reset(self, *, tokens: bool = False) -> None:
        """Forget documents, idempotency keys, counters and faults; tokens too when ``tokens``.

        Issued tokens survive by default, so a client holding one keeps working across a test reset
        (use the ``revoke_tokens`` knob to force a refetch).
        """
        self.documents.clear()
        self.idempotency.clear()
        self.faults = Faults()
        self.counters = {name: 0 for name in COUNTER_NAMES}
        if tokens:
            self.tokens.clear()

    def snapshot(self) -> dict[str, Any]:
        self._drop_expired_tokens()
        return {
            "counters": dict(self.counters),
            "active_tokens": len(self.tokens),
            "faults": self.faults.to_json(),
            "documents": [doc.summary() for doc in self.documents.values()],
        }
