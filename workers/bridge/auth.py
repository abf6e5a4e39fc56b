"""Authenticating a webhook delivery, apart from what the handler does with it (Starlette's
``AuthenticationBackend`` idea; a signature covers the body, so this one reads the body too).

``build_verifiers(provider, dev=..., hr=...)`` is the one composition root of the bridge's secrets and
webhook sources: the CLI, the dev runner and the tests build the ``{path segment: WebhookSource}`` map
here, once, at start-up (``workers.secret_checks`` refuses a missing, empty, malformed or development
secret outside dev mode): ``contractize`` (the provider's document events) and ``bamboohr`` (hires).

``WebhookAuthenticator.authenticate(request, provider)`` returns an ``AuthenticatedDelivery`` (raw body +
signed event id) or raises ``Refusal`` (status, error, outcome; never a body value or a secret):

* ``Content-Length`` invalid -> 400; above ``max_body_bytes`` -> 413 at once; a stream growing past it -> 413;
* the body not complete within ``body_timeout_s`` (a slow or stalled client) -> 408, connection closed;
* client gone -> 400; signature, timestamp tolerance, headers -> 401 ``invalid_signature``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from starlette.requests import ClientDisconnect, Request

from workers.bridge.sources import WebhookSource, as_source
from workers import config
from workers.config import BridgeSettings, ProviderSettings
from workers.signing import SignatureError, WebhookVerifier

if TYPE_CHECKING:
    from workers.hr.settings import BambooHrSettings

__all__ = [
    "DEFAULT_PROVIDER",
    "HR_SOURCE",
    "AuthenticatedDelivery",
    "Refusal",
    "WebhookAuthenticator",
    "build_verifiers",
    "provider_name",
]

# The path segment the provider calls back on (ProviderSettings.callback_url ends in /webhooks/contractize).
DEFAULT_PROVIDER = "contractize"
HR_SOURCE = "bamboohr"


def provider_name(provider: ProviderSettings) -> str:
    """The path segment the provider calls back on: ``.../webhooks/<name>`` in its ``callback_url``."""
    parts = [p for p in urlparse(provider.callback_url).path.split("/") if p]
    if len(parts) >= 2 and parts[-2] == "webhooks":
        return parts[-1]
    return DEFAULT_PROVIDER


def build_verifiers(provider: ProviderSettings | None = None, *, dev: bool, hr: "BambooHrSettings | None" = None,
                    settings: Mapping[str, Any] | None = None) -> dict[str, WebhookSource]:  # fmt: skip
    """``{path segment: source}`` for every plug-in that sends webhooks (``workers.plugins``); raises
    ``SecretProblem`` naming the bad variable. ``provider`` / ``hr`` / ``settings`` (by plug-in name)
    replace a plug-in's own settings (tests, the dev runner)."""
    from workers.plugins import plugins

    overrides: dict[str, Any] = dict(settings or {})
    if provider is not None:
        overrides[DEFAULT_PROVIDER] = provider
    if hr is not None:
        overrides[HR_SOURCE] = hr
    sources: dict[str, WebhookSource] = {}
    enabled = None if dev else config.bridge().sources
    for plugin in plugins():
        if plugin.source is None or (enabled is not None and plugin.name not in enabled):
            continue
        own = overrides[plugin.name] if plugin.name in overrides else plugin.settings()
        # Contractize calls back on the path its callback URL names; every other sender on its own name.
        segment = provider_name(own) if plugin.name == DEFAULT_PROVIDER else plugin.name
        sources[segment] = plugin.source(own, dev)
    return sources


@dataclass(frozen=True)
class AuthenticatedDelivery:
    provider: str
    body: bytes
    event_id: str | None  # the signed event id (``webhook-id``), when the sender's scheme signs one


@dataclass
class Refusal(Exception):
    """Why a delivery is refused before it is even parsed; every field is safe to log and answer."""

    status_code: int
    error: str
    outcome: str
    detail: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)

    def body(self) -> dict[str, object]:
        answer: dict[str, object] = {"error": self.error, **self.extra}
        if self.detail is not None:
            answer["detail"] = self.detail
        return answer


class _BodyTooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class WebhookAuthenticator:
    def __init__(self, verifiers: Mapping[str, WebhookSource | WebhookVerifier], settings: BridgeSettings) -> None:
        # A raw secret would skip the start-up checks: only built verifiers / sources are accepted.
        self.sources = {name: as_source(value) for name, value in verifiers.items()}
        self._verifiers = {name: source.verifier for name, source in self.sources.items()}
        self._max_body = settings.max_body_bytes
        self._body_timeout_s = settings.body_timeout_s
        self._tolerance_s = settings.timestamp_tolerance_s

    @property
    def providers(self) -> list[str]:
        return sorted(self._verifiers)

    def knows(self, provider: str) -> bool:
        return provider in self._verifiers

    async def authenticate(self, request: Request, provider: str) -> AuthenticatedDelivery:
        verifier = self._verifiers[provider]
        too_large = Refusal(413, "body_too_large", "body_too_large", extra={"limit": self._max_body})
        length_header = request.headers.get("content-length")
        if length_header is not None:
            try:
                length = int(length_header)
            except ValueError:
                length = -1
            if length < 0:
                raise Refusal(400, "bad_request", "bad_request", "invalid Content-Length")
            if length > self._max_body:
                raise too_large
        try:
            async with asyncio.timeout(self._body_timeout_s):
                body = await _read_body(request, self._max_body)
        except _BodyTooLarge:
            raise too_large from None
        except TimeoutError:
            detail = f"the body was not complete within {self._body_timeout_s:g}s"
            raise Refusal(408, "body_timeout", "body_timeout", detail, {"Connection": "close"}) from None
        except ClientDisconnect:
            raise Refusal(400, "client_disconnected", "client_disconnected") from None
        try:
            event_id = verifier.verify(body, request.headers, self._tolerance_s)
        except SignatureError as exc:
            raise Refusal(401, "invalid_signature", "invalid_signature", str(exc)) from None
        return AuthenticatedDelivery(provider, body, event_id)
