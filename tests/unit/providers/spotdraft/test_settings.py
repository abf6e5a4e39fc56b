"""SPOTDRAFT_* and SDSANDBOX_*: defaults point at the sandbox, bad values are named (never shown)."""

from __future__ import annotations

import pytest

from workers.config import SettingsProblem
from workers.providers.spotdraft import settings as sd_settings
from workers.providers.spotdraft.settings import (
    DEV_SPOTDRAFT_CLIENT_ID,
    DEV_SPOTDRAFT_HMAC_KEY,
    SpotDraftSandboxSettings,
    SpotDraftSettings,
)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BASE_URL", "CLIENT_ID", "CLIENT_SECRET", "WEBHOOK_HMAC_KEY", "RECORD_TYPE"):
        monkeypatch.delenv(f"SPOTDRAFT_{name}", raising=False)
    monkeypatch.chdir("/")  # no .env from the working directory
    sd_settings.clear_cache()
    yield
    sd_settings.clear_cache()


def test_defaults_meet_at_the_sandbox() -> None:
    adapter, sandbox = SpotDraftSettings(), SpotDraftSandboxSettings()
    assert adapter.base_url == f"http://127.0.0.1:{sandbox.port}/api" and sandbox.port == 8092
    assert adapter.client_id == sandbox.client_id == DEV_SPOTDRAFT_CLIENT_ID
    assert adapter.client_secret.get_secret_value() == sandbox.client_secret.get_secret_value()
    assert adapter.webhook_hmac_key.get_secret_value() == sandbox.hmac_key.get_secret_value() == DEV_SPOTDRAFT_HMAC_KEY
    assert sandbox.webhook_url == "http://127.0.0.1:8090/webhooks/spotdraft" and sandbox.rate_limit_per_s == 10
    assert sandbox.auto_sign_after_s is None
    assert adapter.retry_after_max_s == 300
    assert (adapter.integration_name, adapter.record_type) == ("contract-workers", "deal")
    assert "only-valid-at-the-sandbox" in DEV_SPOTDRAFT_CLIENT_ID


def test_environment_and_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTDRAFT_BASE_URL", "https://api.eu.spotdraft.com/api/")
    monkeypatch.setenv("SPOTDRAFT_RECORD_TYPE", "Opportunity")
    loaded = sd_settings.spotdraft()
    assert loaded.base_url == "https://api.eu.spotdraft.com/api" and loaded.record_type == "Opportunity"
    assert sd_settings.spotdraft() is loaded
    sd_settings.clear_cache()
    assert sd_settings.spotdraft() is not loaded


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [("SPOTDRAFT_BASE_URL", "http://api.us.spotdraft.com/api", "must use https"),
     ("SPOTDRAFT_BASE_URL", "https://user:pw@api.us.spotdraft.com/api", "credentials"),
     ("SPOTDRAFT_WEBHOOK_HMAC_KEY", "c2VjcmV0LWtleQ==", "too short"),
     ("SPOTDRAFT_WEBHOOK_HMAC_KEY", "secret key!", "not base64"),
     ("SPOTDRAFT_CLIENT_ID", "has space", "without whitespace"),
     ("SPOTDRAFT_RECORD_TYPE", "a/b", "letters")],
)  # fmt: skip
def test_bad_values_are_named_not_shown(monkeypatch: pytest.MonkeyPatch, variable: str, value: str,
                                        problem: str) -> None:  # fmt: skip
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsProblem) as err:
        sd_settings.spotdraft()
    assert variable in str(err.value) and problem in str(err.value)
    if "KEY" in variable:
        assert value not in str(err.value)


def test_other_checks() -> None:
    assert SpotDraftSettings(base_url="http://localhost:9/api").base_url == "http://localhost:9/api"
    with pytest.raises(ValueError, match="attachment_formats"):
        SpotDraftSettings(attachment_formats=["ZIP"])
    with pytest.raises(ValueError, match="previous key"):
        SpotDraftSettings(webhook_hmac_key_previous="c2hvcnQ=")
    with pytest.raises(ValueError, match="webhook_url"):
        SpotDraftSandboxSettings(webhook_url="ftp://x")
    assert SpotDraftSandboxSettings(auto_sign_after_s=0.5).auto_sign_after_s == 0.5
