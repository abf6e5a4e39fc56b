"""workers.secret_checks: no usable default secret outside development mode; one line naming the variable."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from workers import config
from workers.config import DEV_CLIENT_SECRET, DEV_WEBHOOK_SECRET, DmsSettings, ProviderSettings, SettingsProblem
from workers.secret_checks import SecretProblem, check_worker, dev_mode, webhook_verifier
from workers.signing import sign

REAL = "a-real-webhook-secret-from-the-vault"
BODY = b'{"event_id": "evt_1"}'
_OUR_PREFIXES = ("BAMBOOHR_", "HRSANDBOX_", "CONTRACTIZE_", "DMS_", "CONTRACT_WORKERS_")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for key in list(os.environ):
        if key.upper().startswith(_OUR_PREFIXES):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no .env from the working directory
    config.clear_cache()
    yield
    config.clear_cache()


def _hr():
    from workers.hr.settings import BambooHrSettings

    return BambooHrSettings(api_key="a-real-bamboohr-api-key")


HR = _hr()


def provider(**values: str) -> ProviderSettings:
    return ProviderSettings(**values)


# -- dev mode -------------------------------------------------------------------------------------


def test_dev_mode_is_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    assert dev_mode() is False
    monkeypatch.setenv("CONTRACT_WORKERS_ENV", "production")
    assert dev_mode() is False
    monkeypatch.setenv("CONTRACT_WORKERS_ENV", "development")
    assert dev_mode() is True


def test_dev_mode_from_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CONTRACT_WORKERS_ENV=development\n")
    assert dev_mode() is True


def test_unknown_environment_name_is_a_settings_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTRACT_WORKERS_ENV", "dev")
    with pytest.raises(SettingsProblem, match="^bad setting CONTRACT_WORKERS_ENV:"):
        dev_mode()


# -- the bridge's webhook secret --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "CONTRACTIZE_WEBHOOK_SECRET is not set"),
        ({"webhook_secret": ""}, "CONTRACTIZE_WEBHOOK_SECRET is empty"),
        ({"webhook_secret": "whsec_a"}, "CONTRACTIZE_WEBHOOK_SECRET is a whsec_ value that is not valid base64"),
        ({"webhook_secret": "too-short"}, "CONTRACTIZE_WEBHOOK_SECRET is too short (9 bytes; at least 16)"),
        ({"webhook_secret": DEV_WEBHOOK_SECRET}, "CONTRACTIZE_WEBHOOK_SECRET is the development value"),
        ({"webhook_secret": REAL, "webhook_secret_previous": "whsec_a"},
         "CONTRACTIZE_WEBHOOK_SECRET_PREVIOUS is a whsec_ value"),
        ({"webhook_secret": REAL, "webhook_secret_previous": DEV_WEBHOOK_SECRET},
         "CONTRACTIZE_WEBHOOK_SECRET_PREVIOUS is the development value"),
    ],
)  # fmt: skip
def test_unusable_webhook_secrets_outside_dev(values: dict[str, str], message: str) -> None:
    with pytest.raises(SecretProblem) as info:
        webhook_verifier(provider(**values), dev=False)
    text = str(info.value)
    assert text.startswith(message)
    assert "\n" not in text
    for value in values.values():
        if len(value) > 7:  # "whsec_a" is a prefix of the explanation itself
            assert value not in text


def test_the_dev_value_in_its_whsec_form_is_still_the_dev_value() -> None:
    whsec = "whsec_" + base64.b64encode(DEV_WEBHOOK_SECRET.encode()).decode()
    with pytest.raises(SecretProblem, match="development value"):
        webhook_verifier(provider(webhook_secret=whsec), dev=False)


def test_a_real_secret_outside_dev_verifies_its_own_signatures_only() -> None:
    verifier = webhook_verifier(provider(webhook_secret=REAL), dev=False)
    assert verifier.key_count == 1
    assert verifier.verify(BODY, sign(REAL, "evt_1", BODY)) == "evt_1"
    with pytest.raises(Exception, match="no matching signature"):
        verifier.verify(BODY, sign(DEV_WEBHOOK_SECRET, "evt_1", BODY))


def test_an_empty_previous_secret_means_no_rotation() -> None:
    assert webhook_verifier(provider(webhook_secret=REAL, webhook_secret_previous=""), dev=False).key_count == 1


def test_in_dev_an_unset_secret_is_the_sandboxs_and_an_empty_one_still_refused() -> None:
    verifier = webhook_verifier(provider(), dev=True)
    assert verifier.verify(BODY, sign(DEV_WEBHOOK_SECRET, "evt_1", BODY)) == "evt_1"
    assert webhook_verifier(provider(webhook_secret=DEV_WEBHOOK_SECRET), dev=True).key_count == 1
    with pytest.raises(SecretProblem, match="CONTRACTIZE_WEBHOOK_SECRET is empty"):
        webhook_verifier(provider(webhook_secret=""), dev=True)


def test_secrets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTRACTIZE_WEBHOOK_SECRET", REAL)
    monkeypatch.setenv("CONTRACTIZE_WEBHOOK_SECRET_PREVIOUS", "the-previous-webhook-secret")
    assert webhook_verifier(config.provider(), dev=False).key_count == 2


# -- the worker -------------------------------------------------------------------------------------


def test_worker_without_client_secret_outside_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SecretProblem, match="^CONTRACTIZE_CLIENT_SECRET is not set$"):
        check_worker()
    monkeypatch.setenv("CONTRACTIZE_CLIENT_SECRET", DEV_CLIENT_SECRET)
    config.clear_cache()
    with pytest.raises(SecretProblem, match="^CONTRACTIZE_CLIENT_SECRET is the development value"):
        check_worker()
    monkeypatch.setenv("CONTRACTIZE_CLIENT_SECRET", "")
    config.clear_cache()
    with pytest.raises(SecretProblem, match="^CONTRACTIZE_CLIENT_SECRET is empty$"):
        check_worker()
    monkeypatch.setenv("CONTRACTIZE_CLIENT_SECRET", "a-real-client-secret")
    monkeypatch.setenv("BAMBOOHR_API_KEY", "a-real-bamboohr-api-key")
    config.clear_cache()
    check_worker()


def test_worker_in_dev_mode_may_use_the_sandbox_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTRACT_WORKERS_ENV", "development")
    check_worker()
    check_worker(provider(client_secret=DEV_CLIENT_SECRET))


@pytest.mark.parametrize(("token", "message"), [(None, "DMS_TOKEN is not set"), ("", "DMS_TOKEN is empty")])
def test_http_dms_needs_a_token(token: str | None, message: str) -> None:
    dms = DmsSettings(kind="http", url="https://dms.example", token=None if token is None else SecretStr(token))
    with pytest.raises(SecretProblem, match=f"^{message}$"):
        check_worker(provider(client_secret="a-real-client-secret"), dms, dev=False, hr=HR)
    ok = DmsSettings(kind="http", url="https://dms.example", token=SecretStr("a-dms-token"))
    check_worker(provider(client_secret="a-real-client-secret"), ok, dev=False, hr=HR)


def test_filesystem_dms_needs_no_token() -> None:
    check_worker(provider(client_secret="a-real-client-secret"), DmsSettings(kind="filesystem"), dev=False,
                 hr=HR)  # fmt: skip


def test_the_hr_api_key_is_checked_like_the_others() -> None:
    from workers.hr.settings import DEV_BAMBOOHR_API_KEY, BambooHrSettings

    ok = provider(client_secret="a-real-client-secret")
    with pytest.raises(SecretProblem, match="^BAMBOOHR_API_KEY is not set$"):
        check_worker(ok, DmsSettings(kind="filesystem"), dev=False, hr=BambooHrSettings())
    with pytest.raises(SecretProblem, match="^BAMBOOHR_API_KEY is the development value"):
        check_worker(ok, DmsSettings(kind="filesystem"), dev=False,
                     hr=BambooHrSettings(api_key=DEV_BAMBOOHR_API_KEY))  # fmt: skip
    check_worker(ok, DmsSettings(kind="filesystem"), dev=True, hr=BambooHrSettings())
