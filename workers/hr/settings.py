"""Settings of the BambooHR adapter (``BAMBOOHR_*``) and of its local sandbox (``HRSANDBOX_*``).

Same conventions as ``workers.config`` (``.env`` file, unknown variables ignored, case-insensitive
names, secrets as ``SecretStr``). The defaults point at the local sandbox, whose development keys are
only accepted by the sandbox itself; production sets ``BAMBOOHR_BASE_URL=https://api.bamboohr.com``,
``BAMBOOHR_COMPANY`` (the company domain, the ``{companyDomain}`` of BambooHR's URLs), ``BAMBOOHR_API_KEY``
and ``BAMBOOHR_WEBHOOK_PRIVATE_KEY`` (the private key BambooHR shows when the webhook is created).
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from workers.config import _config, _load

DEV_BAMBOOHR_API_KEY = "dev-bamboohr-api-key-only-valid-at-the-sandbox"
DEV_BAMBOOHR_WEBHOOK_KEY = "dev-bamboohr-webhook-key-only-valid-at-the-sandbox"

COMPANY = re.compile(r"[A-Za-z0-9-]{1,63}")
COMPANY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# A BambooHR field name as we send it (standard names are camelCase, custom ones start with "custom").
FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


def _company(value: str) -> str:
    if not COMPANY.fullmatch(value):
        raise ValueError("must be a company domain: 1-63 letters, digits or '-'")
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("must not carry credentials, a query or a fragment")
    return value


def _field_name(value: str) -> str:
    if not FIELD_NAME.fullmatch(value):
        raise ValueError("must be a field name: a letter, then letters, digits or '_' (at most 64)")
    return value


class BambooHrSettings(BaseSettings):
    """The BambooHR adapter (the local sandbox by default)."""

    model_config = _config("BAMBOOHR_")

    base_url: str = "http://127.0.0.1:8095"  # production: https://api.bamboohr.com
    company: str = "sandbox"
    # Webhooks whose data.companyId differs are refused; None accepts any (one webhook per company anyway).
    company_id: str | None = None
    api_key: SecretStr = SecretStr(DEV_BAMBOOHR_API_KEY)
    # During a rotation the previous key stays accepted until BambooHR signs with the new one.
    webhook_private_key: SecretStr = SecretStr(DEV_BAMBOOHR_WEBHOOK_KEY)
    webhook_private_key_previous: SecretStr | None = None
    # Total deadline of one call (connect, send, whole answer read), seconds.
    timeout_s: float = Field(default=10.0, gt=0)
    # Custom fields the workers write back (create them in BambooHR first).
    nda_status_field: str = "customNDAStatus"
    nda_document_field: str = "customNDADocument"
    # An employee.updated event changing one of these starts an onboarding too (JSON list in the env).
    start_on_update_fields: list[str] = [
        "hireDate", "workEmail", "firstName", "lastName", "preferredName", "jobTitle", "department",
    ]  # fmt: skip

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _http_url(value).rstrip("/")

    @field_validator("company")
    @classmethod
    def _company(cls, value: str) -> str:
        return _company(value)

    @field_validator("company_id")
    @classmethod
    def _company_id(cls, value: str | None) -> str | None:
        if value is not None and not COMPANY_ID.fullmatch(value):
            raise ValueError("must be 1-64 letters, digits, '_' or '-'")
        return value

    @field_validator("nda_status_field", "nda_document_field")
    @classmethod
    def _nda_fields(cls, value: str) -> str:
        return _field_name(value)

    @field_validator("start_on_update_fields")
    @classmethod
    def _start_fields(cls, value: list[str]) -> list[str]:
        return [_field_name(name) for name in value]


class HrSandboxSettings(BaseSettings):
    """The local BambooHR simulator (``workers.sandbox.bamboohr``)."""

    model_config = _config("HRSANDBOX_")

    host: str = "127.0.0.1"
    port: int = Field(default=8095, ge=1, le=65535)
    company: str = "sandbox"
    company_id: str = "1"
    api_key: SecretStr = SecretStr(DEV_BAMBOOHR_API_KEY)
    webhook_private_key: SecretStr = SecretStr(DEV_BAMBOOHR_WEBHOOK_KEY)
    webhook_url: str = "http://127.0.0.1:8090/webhooks/bamboohr"
    # Pause before a webhook is sent (seconds); retries after 5xx/429/connection errors, never after 4xx.
    webhook_delay_s: float = Field(default=0.0, ge=0)
    webhook_retries: int = Field(default=3, ge=0)
    # Per delivery attempt (our addition; BambooHR does not publish its own).
    webhook_timeout_s: float = Field(default=5.0, gt=0)

    @field_validator("company")
    @classmethod
    def _company(cls, value: str) -> str:
        return _company(value)

    @field_validator("company_id")
    @classmethod
    def _company_id(cls, value: str) -> str:
        if not COMPANY_ID.fullmatch(value):
            raise ValueError("must be 1-64 letters, digits, '_' or '-'")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        return _http_url(value)


@lru_cache(maxsize=None)
def bamboohr() -> BambooHrSettings:
    """The adapter's settings, read once; raises ``workers.config.SettingsProblem`` naming the variable."""
    return _load(BambooHrSettings, "BAMBOOHR_")


@lru_cache(maxsize=None)
def hr_sandbox() -> HrSandboxSettings:
    return _load(HrSandboxSettings, "HRSANDBOX_")


def clear_cache() -> None:
    for fn in (bamboohr, hr_sandbox):
        fn.cache_clear()


__all__ = [
    "BambooHrSettings",
    "DEV_BAMBOOHR_API_KEY",
    "DEV_BAMBOOHR_WEBHOOK_KEY",
    "HrSandboxSettings",
    "bamboohr",
    "clear_cache",
    "hr_sandbox",
]
