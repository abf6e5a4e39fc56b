"""Settings of the SpotDraft adapter (``SPOTDRAFT_*``) and of its local sandbox (``SDSANDBOX_*``).

Same conventions as ``workers.config`` (``.env`` file, unknown variables ignored, case-insensitive names,
secrets as ``SecretStr``). The defaults point at the local sandbox, whose development credentials are only
accepted by the sandbox itself. Production sets:

* ``SPOTDRAFT_BASE_URL`` — the workspace's regional cluster, ``https://api.{in|us|eu|me}.spotdraft.com/api``
  (published). SpotDraft answers ``http://`` with a 302, so a non-loopback base URL must be https;
* ``SPOTDRAFT_CLIENT_ID`` / ``SPOTDRAFT_CLIENT_SECRET`` — from Settings -> Developer settings (published);
* ``SPOTDRAFT_WEBHOOK_HMAC_KEY`` — the base64 ``hmac_key`` of ``GET /api/v2.1/public/webhooks/hmac_key/``
  (published: the key is base64 and is decoded before use); ``..._PREVIOUS`` during a rotation.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from workers.config import _config, _load

DEV_SPOTDRAFT_CLIENT_ID = "dev-spotdraft-client-id-only-valid-at-the-sandbox"
DEV_SPOTDRAFT_CLIENT_SECRET = "dev-spotdraft-client-secret-only-valid-at-the-sandbox"
# base64 of b"dev-spotdraft-hmac-key-only-valid-at-the-sandbox!" (49 bytes; real keys are 64 random bytes).
DEV_SPOTDRAFT_HMAC_KEY = "ZGV2LXNwb3RkcmFmdC1obWFjLWtleS1vbmx5LXZhbGlkLWF0LXRoZS1zYW5kYm94IQ=="

# The published AttachmentFormatsEnum of send_to_counterparties.
ATTACHMENT_FORMATS = ("DOCX", "PDF", "TEMPLATE")
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}")
_CLIENT_ID = re.compile(r"[!-~]{1,256}")  # printable ASCII, no whitespace


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _http_url(value: str, *, https_unless_loopback: bool) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("must not carry credentials, a query or a fragment")
    if https_unless_loopback and parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError("must use https (SpotDraft answers http with a 302 redirect); http is for the local sandbox")
    return value


def _key(value: SecretStr | None, which: str) -> SecretStr | None:
    if value is None:
        return None
    from workers.providers.spotdraft.webhooks import decode_key
    from workers.signing import SecretInvalid

    try:
        decode_key(value.get_secret_value())
    except SecretInvalid as exc:
        raise ValueError(f"{which} {exc}") from None
    return value


class SpotDraftSettings(BaseSettings):
    """The SpotDraft adapter (the local sandbox by default)."""

    model_config = _config("SPOTDRAFT_")

    base_url: str = "http://127.0.0.1:8092/api"  # production e.g. https://api.us.spotdraft.com/api
    client_id: str = DEV_SPOTDRAFT_CLIENT_ID
    client_secret: SecretStr = SecretStr(DEV_SPOTDRAFT_CLIENT_SECRET)
    # base64, as GET webhooks/hmac_key/ returns it; the previous key stays accepted during a rotation.
    webhook_hmac_key: SecretStr = SecretStr(DEV_SPOTDRAFT_HMAC_KEY)
    webhook_hmac_key_previous: SecretStr | None = None
    # Per read/connect (httpx); ``total_timeout_s`` bounds a whole exchange, ``download_timeout_s`` a
    # whole download (link + file).
    timeout_s: float = Field(default=10.0, gt=0)
    total_timeout_s: float = Field(default=30.0, gt=0)
    download_timeout_s: float = Field(default=120.0, gt=0)
    # Retry-After of a 429 is clamped to this (SpotDraft publishes 10 requests/s per workspace).
    retry_after_max_s: float = Field(default=300.0, gt=0)
    # external_metadata written on every contract we create (id = the CRM deal id).
    integration_name: str = "contract-workers"
    record_type: str = "deal"
    # attachment_formats of send_to_counterparties (at least one is required by the API).
    attachment_formats: list[str] = ["PDF"]

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _http_url(value, https_unless_loopback=True).rstrip("/")

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, value: str) -> str:
        if not _CLIENT_ID.fullmatch(value):
            raise ValueError("must be 1-256 printable characters without whitespace")
        return value

    @field_validator("client_secret")
    @classmethod
    def _client_secret(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if not secret or secret != secret.strip():
            raise ValueError("is empty or has leading or trailing whitespace")
        return value

    @field_validator("webhook_hmac_key")
    @classmethod
    def _hmac_key(cls, value: SecretStr) -> SecretStr:
        return _key(value, "key")  # type: ignore[return-value]

    @field_validator("webhook_hmac_key_previous")
    @classmethod
    def _hmac_key_previous(cls, value: SecretStr | None) -> SecretStr | None:
        return _key(value, "previous key")

    @field_validator("integration_name", "record_type")
    @classmethod
    def _label(cls, value: str) -> str:
        if not _LABEL.fullmatch(value):
            raise ValueError("must be 1-64 letters, digits, spaces, '_', '.' or '-'")
        return value

    @field_validator("attachment_formats")
    @classmethod
    def _formats(cls, value: list[str]) -> list[str]:
        if not value or any(v not in ATTACHMENT_FORMATS for v in value):
            raise ValueError(f"must be a non-empty list of {', '.join(ATTACHMENT_FORMATS)}")
        return value


class SpotDraftSandboxSettings(BaseSettings):
    """The local SpotDraft simulator (``workers.sandbox.spotdraft``)."""

    model_config = _config("SDSANDBOX_")

    host: str = "127.0.0.1"
    port: int = Field(default=8092, ge=1, le=65535)
    workspace_id: int = Field(default=1, ge=1)
    client_id: str = DEV_SPOTDRAFT_CLIENT_ID
    client_secret: SecretStr = SecretStr(DEV_SPOTDRAFT_CLIENT_SECRET)
    hmac_key: SecretStr = SecretStr(DEV_SPOTDRAFT_HMAC_KEY)
    webhook_url: str = "http://127.0.0.1:8090/webhooks/spotdraft"
    # Published: 10 API requests per second per workspace (webhook deliveries excluded).
    rate_limit_per_s: int = Field(default=10, ge=1)
    # After send_to_counterparties the counterparty "signs" this many seconds later (None: never; make run
    # sets it). Sign/decline by hand through /_sandbox/contracts/{id}/sign|decline.
    auto_sign_after_s: float | None = Field(default=None, ge=0)
    # Retries after 5xx/429/connection errors (never after other 4xx); per attempt timeout (ours).
    webhook_retries: int = Field(default=3, ge=0)
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    # Lifetime of a download_link URL (SpotDraft's are short-lived signed storage URLs).
    download_url_ttl_s: int = Field(default=300, gt=0)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        return _http_url(value, https_unless_loopback=False)

    @field_validator("hmac_key")
    @classmethod
    def _hmac_key(cls, value: SecretStr) -> SecretStr:
        return _key(value, "key")  # type: ignore[return-value]


@lru_cache(maxsize=None)
def spotdraft() -> SpotDraftSettings:
    """The adapter's settings, read once; raises ``workers.config.SettingsProblem`` naming the variable."""
    return _load(SpotDraftSettings, "SPOTDRAFT_")


@lru_cache(maxsize=None)
def spotdraft_sandbox() -> SpotDraftSandboxSettings:
    return _load(SpotDraftSandboxSettings, "SDSANDBOX_")


def clear_cache() -> None:
    for fn in (spotdraft, spotdraft_sandbox):
        fn.cache_clear()


__all__ = [
    "ATTACHMENT_FORMATS",
    "DEV_SPOTDRAFT_CLIENT_ID",
    "DEV_SPOTDRAFT_CLIENT_SECRET",
    "DEV_SPOTDRAFT_HMAC_KEY",
    "SpotDraftSandboxSettings",
    "SpotDraftSettings",
    "clear_cache",
    "spotdraft",
    "spotdraft_sandbox",
]
