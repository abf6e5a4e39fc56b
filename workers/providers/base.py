"""What the tasks need from a contract provider, independent of any one vendor's API.

Adapters (``contractize.py``) implement ``ContractProvider``; tasks only see this module.
Errors are mapped by the adapter onto the four classes below so the tasks can decide
BPMN error vs. retry without knowing HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from workers.errors import SafeMessage

FieldType = Literal["string", "email", "date", "number", "boolean"]


@dataclass(frozen=True)
class TemplateField:
    name: str
    type: FieldType = "string"
    required: bool = True


@dataclass(frozen=True)
class Template:
    template_id: str
    version: str
    fields: tuple[TemplateField, ...]

    def field_names(self) -> set[str]:
        return {f.name for f in self.fields}


@dataclass(frozen=True)
class GenerateRequest:
    template_id: str
    data: dict[str, Any]
    callback_url: str
    # request_id, initiated_by, template_version (seed 000, "Version Management")
    metadata: dict[str, str]
    # Deterministic per process instance + element so a retried job maps onto the same document.
    idempotency_key: str


DocumentStatus = Literal["processing", "ready", "failed"]


@dataclass(frozen=True)
class Document:
    doc_id: str
    status: DocumentStatus
    template_id: str
    metadata: dict[str, str] = field(default_factory=dict)
    # A short-lived signed URL; a capability, so it is never written to a process variable.
    download_url: str | None = None


@dataclass(frozen=True)
class TokenInfo:
    """Non-secret facts about the cached token: safe for process variables and logs."""

    provider: str
    expires_at: datetime
    scopes: tuple[str, ...]


class ProviderError(SafeMessage, Exception):
    """Base class; ``str(error)`` is operator-readable and free of secrets, personal data and body
    contents (adapters build every message from status codes, paths, our own ids and field names), so
    logs may show it."""


class ProviderUnavailable(ProviderError):
    """5xx, timeout, connection refused: retry with back-off."""


class ProviderBadAnswer(ProviderUnavailable):
    """A 2xx whose body is not what was asked for (an HTML login page instead of a PDF): retried, and an
    incident when it persists. The message names what came back (a media type), never the content."""


class ProviderRateLimited(ProviderError):
    """429: wait ``retry_after`` seconds; says nothing about the job itself."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderRejected(ProviderError):
    """4xx on the data we sent (unknown template, field mismatch): a retry cannot help."""

    def __init__(self, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or []


class ProviderAuthError(ProviderError):
    """Client credentials refused (or a 401 that survived one token refresh): needs an operator."""


class DocumentNotFound(ProviderError):
    pass


@runtime_checkable
class ContractProvider(Protocol):
    name: str

    async def ensure_token(self) -> TokenInfo:
        """Warm (or validate) the cached token and describe it."""

    async def get_template(self, template_id: str) -> Template: ...

    async def find_by_idempotency_key(self, key: str) -> Document | None:
        """The document an earlier attempt created for this key, if any."""

    async def generate(self, request: GenerateRequest) -> Document: ...

    async def get_document(self, doc_id: str) -> Document: ...

    def download(self, doc_id: str) -> AsyncIterator[bytes]:
        """Stream the rendered document (fetches a fresh signed URL first)."""
