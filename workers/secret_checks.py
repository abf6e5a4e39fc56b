"""Start-up checks of the secrets each command needs: no usable default secret outside development.

The development secrets in ``workers.config`` (``DEV_*``) are only accepted by the local sandbox. They
are allowed in **development mode** only:

* the ``contract-workers dev`` runner (it passes ``dev=True``), or
* ``CONTRACT_WORKERS_ENV=development``, an explicit opt-in for running ``bridge``/``worker`` by hand
  against the sandbox.

Anywhere else (``CONTRACT_WORKERS_ENV`` unset or ``production``) a secret that is missing, empty,
malformed or the development value stops the command before it serves anything: ``SecretProblem`` is a
``SettingsProblem``, so the CLI prints one line naming the variable (never its value) and exits 2.

* ``webhook_verifier(provider, dev=...)`` — the bridge: ``CONTRACTIZE_WEBHOOK_SECRET`` and, during a
  rotation, ``CONTRACTIZE_WEBHOOK_SECRET_PREVIOUS``; returns the ``WebhookVerifier`` built once.
* ``hr_webhook_verifier(hr, dev=...)`` — the bridge: ``BAMBOOHR_WEBHOOK_PRIVATE_KEY`` (and
  ``BAMBOOHR_WEBHOOK_PRIVATE_KEY_PREVIOUS`` during a rotation) for the HR system's hire webhooks.
* ``check_worker()`` — the worker: ``CONTRACTIZE_CLIENT_SECRET``, ``BAMBOOHR_API_KEY``, and ``DMS_TOKEN``
  when ``DMS_KIND=http``.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any, Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from workers import config
from workers.config import (
    DEV_CLIENT_SECRET,
    DEV_WEBHOOK_SECRET,
    DmsSettings,
    ProviderSettings,
    SettingsProblem,
)
from workers.signing import SecretInvalid, WebhookVerifier, secret_bytes

if TYPE_CHECKING:
    from workers.hr.settings import BambooHrSettings

__all__ = ["ENV_VAR", "SecretProblem", "check_worker", "checked", "dev_mode", "given", "hr_webhook_verifier",
           "webhook_verifier"]

ENV_VAR = "CONTRACT_WORKERS_ENV"


class SecretProblem(SettingsProblem):
    """A secret a command needs is unusable; one line naming the variable, never the value."""


class RuntimeSettings(BaseSettings):
    model_config = config._config("CONTRACT_WORKERS_")

    env: Literal["production", "development"] = "production"


def dev_mode() -> bool:
    """True when ``CONTRACT_WORKERS_ENV=development`` (environment or ``.env``)."""
    return config._load(RuntimeSettings, "CONTRACT_WORKERS_").env == "development"


def _value(secret: SecretStr | str | None) -> str | None:
    if secret is None:
        return None
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


def checked(name: str, value: str | None, *, dev: bool, dev_secret: str | None = None) -> str:
    """``value`` if usable (set, not blank, no surrounding whitespace, not the development value outside
    development), else ``SecretProblem`` naming ``name``; for plug-ins' own secrets."""
    _checked(name, value, dev=dev, dev_secret=dev_secret)
    return value  # type: ignore[return-value]


def _is_dev_value(key: bytes, dev_secret: str) -> bool:
    return hmac.compare_digest(key, dev_secret.encode())


def _checked(name: str, value: str | None, *, dev: bool, dev_secret: str | None = None, key: bool = False) -> bytes:
    """The secret's bytes (its HMAC key when ``key``), or ``SecretProblem`` naming ``name``."""
    if value is None:
        raise SecretProblem(f"{name} is not set")
    try:
        data = secret_bytes(value) if key else _plain(value)
    except SecretInvalid as exc:
        raise SecretProblem(f"{name} {exc}") from None
    if dev_secret is not None and not dev and _is_dev_value(data, dev_secret):
        raise SecretProblem(
            f"{name} is the development value, which only the sandbox accepts; set a real secret "
            f"(or {ENV_VAR}=development to run against the sandbox)"
        )
    return data


def _plain(value: str) -> bytes:
    if not value.strip():
        raise SecretInvalid("is empty")
    if value != value.strip():
        raise SecretInvalid("has leading or trailing whitespace")
    return value.encode()


def webhook_verifier(provider: ProviderSettings, *, dev: bool) -> WebhookVerifier:
    """The bridge's verifier for this provider: current secret, plus the previous one during a rotation.

    In development an unset ``CONTRACTIZE_WEBHOOK_SECRET`` means the sandbox's development secret.
    """
    current = _value(provider.webhook_secret)
    if current is None and dev:
        current = DEV_WEBHOOK_SECRET
    keys = [_checked("CONTRACTIZE_WEBHOOK_SECRET", current, dev=dev, dev_secret=DEV_WEBHOOK_SECRET, key=True)]
    previous = _value(provider.webhook_secret_previous)
    if previous:  # optional: unset or empty means no rotation in progress
        name = "CONTRACTIZE_WEBHOOK_SECRET_PREVIOUS"
        keys.append(_checked(name, previous, dev=dev, dev_secret=DEV_WEBHOOK_SECRET, key=True))
    return WebhookVerifier(keys)


def given(settings: BaseSettings, name: str) -> str | None:
    # Settings whose default is the sandbox's development value: "not set" is told apart by what was given.
    return _value(getattr(settings, name)) if name in settings.model_fields_set else None


def hr_webhook_verifier(hr: "BambooHrSettings", *, dev: bool) -> Any:
    """The bridge's verifier for BambooHR hire webhooks (current key, plus the previous one in a rotation).

    In development an unset ``BAMBOOHR_WEBHOOK_PRIVATE_KEY`` means the HR sandbox's development key.
    """
    from workers.hr.settings import DEV_BAMBOOHR_WEBHOOK_KEY
    from workers.hr.signing import BambooHrVerifier

    current = given(hr, "webhook_private_key")
    if current is None and dev:
        current = DEV_BAMBOOHR_WEBHOOK_KEY
    name = "BAMBOOHR_WEBHOOK_PRIVATE_KEY"
    _checked(name, current, dev=dev, dev_secret=DEV_BAMBOOHR_WEBHOOK_KEY)
    previous = _value(hr.webhook_private_key_previous) or None
    if previous:
        _checked(f"{name}_PREVIOUS", previous, dev=dev, dev_secret=DEV_BAMBOOHR_WEBHOOK_KEY)
    try:
        return BambooHrVerifier.from_keys(current, previous)  # type: ignore[arg-type]
    except SecretInvalid as exc:
        raise SecretProblem(f"{name} {exc}") from None


def check_worker(
    provider: ProviderSettings | None = None, dms: DmsSettings | None = None, *, dev: bool | None = None,
    hr: "BambooHrSettings | None" = None,
) -> None:  # fmt: skip
    """Refuse to start the worker without usable provider, HR (and HTTP DMS) credentials."""
    from workers.hr.settings import DEV_BAMBOOHR_API_KEY
    provider = config.provider() if provider is None else provider
    dms = config.dms() if dms is None else dms
    hr = config.bamboohr() if hr is None else hr
    dev = dev_mode() if dev is None else dev
    # The setting has the sandbox's secret as its default: "not set" is told apart by what was given.
    client_secret = _value(provider.client_secret) if "client_secret" in provider.model_fields_set else None
    if client_secret is None and dev:
        client_secret = DEV_CLIENT_SECRET
    _checked("CONTRACTIZE_CLIENT_SECRET", client_secret, dev=dev, dev_secret=DEV_CLIENT_SECRET)
    if dms.kind == "http":
        _checked("DMS_TOKEN", _value(dms.token), dev=dev)
    api_key = given(hr, "api_key")
    if api_key is None and dev:
        api_key = DEV_BAMBOOHR_API_KEY
    _checked("BAMBOOHR_API_KEY", api_key, dev=dev, dev_secret=DEV_BAMBOOHR_API_KEY)
