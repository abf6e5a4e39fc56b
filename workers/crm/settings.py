"""Settings of the HubSpot adapter (``HUBSPOT_*``) and of its local sandbox (``CRMSANDBOX_*``).

Same conventions as ``workers.config`` (``.env`` file, unknown variables ignored, case-insensitive names,
secrets as ``SecretStr``). The defaults point at the local sandbox, whose development token and client
secret are only accepted by the sandbox itself; production sets ``HUBSPOT_BASE_URL=https://api.hubapi.com``,
``HUBSPOT_ACCESS_TOKEN`` (the private app's access token), ``HUBSPOT_CLIENT_SECRET`` (the app's client
secret, which signs its webhooks), ``HUBSPOT_WEBHOOK_URL`` (the public URL HubSpot posts to, exactly as
configured as the app's target URL: the v3 signature covers it) and ``HUBSPOT_PORTAL_ID``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from workers.config import _config, _load

DEV_HUBSPOT_TOKEN = "dev-hubspot-private-app-token-only-valid-at-the-sandbox"
DEV_HUBSPOT_CLIENT_SECRET = "dev-hubspot-client-secret-only-valid-at-the-sandbox"

PORTAL_ID = re.compile(r"[0-9]{1,20}")
# A deal stage's internal id: "closedwon" in the default pipeline, a number in custom pipelines.
STAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# A HubSpot property's internal name as we send it (lowercase letters, digits and '_' in practice).
PROPERTY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")


def _http_url(value: str, *, query: bool = False) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    if parts.username or parts.password or parts.fragment or (parts.query and not query):
        raise ValueError("must not carry credentials, a fragment" + ("" if query else " or a query"))
    return value


def _portal_id(value: str | None) -> str | None:
    if value is not None and not PORTAL_ID.fullmatch(value):
        raise ValueError("must be a HubSpot account (portal) id: 1-20 digits")
    return value


class HubSpotSettings(BaseSettings):
    """The HubSpot adapter and the bridge's HubSpot webhook source (the local sandbox by default)."""

    model_config = _config("HUBSPOT_")

    base_url: str = "http://127.0.0.1:8094"  # production: https://api.hubapi.com
    access_token: SecretStr = SecretStr(DEV_HUBSPOT_TOKEN)
    # Signs the webhooks (X-HubSpot-Signature-v3). During a rotation the previous one stays accepted.
    client_secret: SecretStr = SecretStr(DEV_HUBSPOT_CLIENT_SECRET)
    client_secret_previous: SecretStr | None = None
    # The full public URL HubSpot sends webhooks to (a proxy may change what the bridge itself sees).
    webhook_url: str = "http://127.0.0.1:8090/webhooks/hubspot"
    # Events of another HubSpot account are refused; None accepts any.
    portal_id: str | None = None
    # The internal id of the deal stage that starts the contract flow.
    closed_won_stage: str = "closedwon"
    # Total deadline of one call (connect, send, whole answer read), seconds.
    timeout_s: float = Field(default=10.0, gt=0)
    # The webhook timestamp's maximum age (HubSpot: reject older than 5 minutes); never wider than 300.
    max_timestamp_age_s: float = Field(default=300.0, gt=0, le=300)
    # Deal properties the workers write back (create them in HubSpot first).
    contract_id_property: str = "contract_id"
    contract_status_property: str = "contract_status"
    contract_link_property: str = "contract_link"
    dms_location_property: str = "contract_dms_location"

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _http_url(value).rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        return _http_url(value, query=True)

    @field_validator("portal_id")
    @classmethod
    def _portal(cls, value: str | None) -> str | None:
        return _portal_id(value)

    @field_validator("closed_won_stage")
    @classmethod
    def _stage(cls, value: str) -> str:
        if not STAGE_ID.fullmatch(value):
            raise ValueError("must be a deal stage's internal id: 1-64 letters, digits, '_' or '-'")
        return value

    @field_validator(
        "contract_id_property", "contract_status_property", "contract_link_property", "dms_location_property"
    )
    @classmethod
    def _property(cls, value: str) -> str:
        if not PROPERTY_NAME.fullmatch(value):
            raise ValueError("must be a property's internal name: a letter, then letters, digits or '_'")
        return value

    def sync_properties(self) -> dict[str, str]:
        """Our sync-back keys -> the deal property names configured for them."""
        return {
            "contractId": self.contract_id_property,
            "contractStatus": self.contract_status_property,
            "contractLink": self.contract_link_property,
            "dmsLocation": self.dms_location_property,
        }


class HubSpotSandboxSettings(BaseSettings):
    """The local HubSpot simulator (``workers.sandbox.hubspot``)."""

    model_config = _config("CRMSANDBOX_")

    host: str = "127.0.0.1"
    port: int = Field(default=8094, ge=1, le=65535)
    access_token: SecretStr = SecretStr(DEV_HUBSPOT_TOKEN)
    client_secret: SecretStr = SecretStr(DEV_HUBSPOT_CLIENT_SECRET)
    webhook_url: str = "http://127.0.0.1:8090/webhooks/hubspot"
    portal_id: str = "24681357"
    app_id: str = "3141592"
    # Retries after 5xx/429/connection errors (each one a new attempt, attemptNumber + 1), never after 4xx.
    webhook_retries: int = Field(default=3, ge=0)
    # Per delivery attempt (HubSpot waits 5 s for an answer).
    webhook_timeout_s: float = Field(default=5.0, gt=0)

    @field_validator("portal_id", "app_id")
    @classmethod
    def _ids(cls, value: str) -> str:
        if not PORTAL_ID.fullmatch(value):
            raise ValueError("must be 1-20 digits")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        return _http_url(value, query=True)


@lru_cache(maxsize=None)
def hubspot() -> HubSpotSettings:
    """The adapter's settings, read once; raises ``workers.config.SettingsProblem`` naming the variable."""
    return _load(HubSpotSettings, "HUBSPOT_")


@lru_cache(maxsize=None)
def crm_sandbox() -> HubSpotSandboxSettings:
    return _load(HubSpotSandboxSettings, "CRMSANDBOX_")


def clear_cache() -> None:
    for fn in (hubspot, crm_sandbox):
        fn.cache_clear()


__all__ = [
    "DEV_HUBSPOT_CLIENT_SECRET",
    "DEV_HUBSPOT_TOKEN",
    "HubSpotSandboxSettings",
    "HubSpotSettings",
    "PROPERTY_NAME",
    "clear_cache",
    "crm_sandbox",
    "hubspot",
]
