"""workers.config: defaults, environment overrides, connection modes, readable errors, secret hygiene."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from workers import config
from workers.config import SettingsProblem, ZeebeSettings

_OUR_PREFIXES = (
    "ZEEBE_", "CAMUNDA_", "CONTRACTIZE_", "BRIDGE_", "DMS_", "PII_", "SANDBOX_", "DEVSTACK_", "WORKER_",
    "CONTRACT_WORKERS_",
)  # fmt: skip


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """No inherited settings, no ``.env`` from the working directory, and empty caches around each test."""
    for key in list(os.environ):
        if key.upper().startswith(_OUR_PREFIXES):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # pydantic-settings reads ``.env`` relative to the working directory
    config.clear_cache()
    yield
    config.clear_cache()


# -- defaults -------------------------------------------------------------------------------------


def test_defaults_point_at_the_local_sandbox_and_engine() -> None:
    z = config.zeebe()
    assert z.zeebe_address == "localhost:26500"
    assert z.mode == "insecure"
    assert z.zeebe_client_secret is None
    assert z.zeebe_request_timeout_s == 10.0

    p = config.provider()
    assert p.base_url == "http://127.0.0.1:8091"
    assert p.client_id == config.DEV_CLIENT_ID
    assert p.client_secret.get_secret_value() == config.DEV_CLIENT_SECRET
    # No usable default webhook secret: the bridge refuses to start without one outside dev mode.
    assert p.webhook_secret is None
    assert p.webhook_secret_previous is None
    assert p.scopes.split() == ["generate:nda-001", "documents:read"]

    b = config.bridge()
    assert (b.host, b.port) == ("127.0.0.1", 8090)
    assert b.timestamp_tolerance_s == 300.0
    assert b.message_ttl_s == 3600
    assert (b.body_timeout_s, b.max_concurrency, b.max_connections) == (10.0, 32, 256)

    d = config.dms()
    assert d.kind == "filesystem"
    assert d.root == config.VAR_DIR / "dms"

    assert config.pii().allow_list == {"nda-001": ["employee_name", "start_date", "confidentiality_level"]}
    assert "request_id" in config.pii().always_allowed

    s = config.sandbox()
    assert s.client_secret.get_secret_value() == p.client_secret.get_secret_value()

    dev = config.devstack()
    assert dev.camunda_version == "8.6.0"
    assert (dev.grpc_port, dev.rest_port, dev.management_port, dev.opensearch_port) == (26500, 8080, 9600, 9200)

    w = config.worker()
    assert w.stream_enabled is True
    assert w.metrics_port is None


def test_loaders_are_cached_until_clear_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    first = config.bridge()
    monkeypatch.setenv("BRIDGE_PORT", "9999")
    assert config.bridge() is first
    assert config.bridge().port == 8090
    config.clear_cache()
    assert config.bridge().port == 9999


# -- environment overrides ------------------------------------------------------------------------


def test_env_overrides_by_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ZEEBE_ADDRESS", "zeebe.internal:443")
    monkeypatch.setenv("CONTRACTIZE_BASE_URL", "https://api.contractize.example")
    monkeypatch.setenv("CONTRACTIZE_CLIENT_SECRET", "prod-secret-value")
    monkeypatch.setenv("BRIDGE_PORT", "18090")
    monkeypatch.setenv("BRIDGE_TIMESTAMP_TOLERANCE_S", "60")
    monkeypatch.setenv("DMS_ROOT", str(tmp_path / "dms"))
    monkeypatch.setenv("SANDBOX_WEBHOOK_DELAY_S", "0")
    monkeypatch.setenv("DEVSTACK_HOME", str(tmp_path / "devstack"))
    monkeypatch.setenv("DEVSTACK_GRPC_PORT", "26600")
    monkeypatch.setenv("WORKER_STREAM_ENABLED", "false")
    monkeypatch.setenv("WORKER_METRICS_PORT", "9464")

    assert config.zeebe().zeebe_address == "zeebe.internal:443"
    assert config.provider().base_url == "https://api.contractize.example"
    assert config.provider().client_secret.get_secret_value() == "prod-secret-value"
    assert config.bridge().port == 18090
    assert config.bridge().timestamp_tolerance_s == 60.0
    assert config.dms().root == tmp_path / "dms"
    assert config.sandbox().webhook_delay_s == 0.0
    assert config.devstack().home == tmp_path / "devstack"
    assert config.devstack().grpc_port == 26600
    assert config.worker().stream_enabled is False
    assert config.worker().metrics_port == 9464


def test_env_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("bridge_port", "18091")
    assert config.bridge().port == 18091


def test_dotenv_in_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BRIDGE_PORT=18092\nZEEBE_ADDRESS=from-dotenv:26500\n")
    assert config.bridge().port == 18092
    assert config.zeebe().zeebe_address == "from-dotenv:26500"


def test_environment_wins_over_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BRIDGE_PORT=18092\n")
    monkeypatch.setenv("BRIDGE_PORT", "18093")
    assert config.bridge().port == 18093


def test_pii_allow_list_is_parsed_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PII_ALLOW_LIST", '{"nda-001": ["employee_name"], "offer-002": ["start_date", "salary_band"]}')
    monkeypatch.setenv("PII_ALWAYS_ALLOWED", '["request_id"]')
    pii = config.pii()
    assert pii.allow_list == {"nda-001": ["employee_name"], "offer-002": ["start_date", "salary_band"]}
    assert pii.always_allowed == ["request_id"]


# -- Zeebe connection modes -----------------------------------------------------------------------


def test_mode_insecure_by_default() -> None:
    assert ZeebeSettings().mode == "insecure"


def test_mode_oauth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEEBE_CLIENT_ID", "workers")
    monkeypatch.setenv("ZEEBE_CLIENT_SECRET", "oauth-secret")
    monkeypatch.setenv("ZEEBE_AUTHORIZATION_SERVER_URL", "https://idp.example/token")
    monkeypatch.setenv("ZEEBE_TOKEN_AUDIENCE", "zeebe-api")
    z = config.zeebe()
    assert z.mode == "oauth"
    assert z.zeebe_client_secret.get_secret_value() == "oauth-secret"
    assert z.zeebe_token_audience == "zeebe-api"


def test_mode_saas_wins_when_cluster_id_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMUNDA_CLUSTER_ID", "abc-123")
    monkeypatch.setenv("CAMUNDA_CLUSTER_REGION", "bru-2")
    monkeypatch.setenv("ZEEBE_CLIENT_ID", "workers")
    monkeypatch.setenv("ZEEBE_CLIENT_SECRET", "saas-secret")
    z = config.zeebe()
    assert z.mode == "saas"
    assert z.camunda_cluster_region == "bru-2"


def test_oauth_without_client_secret_is_a_settings_problem_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZEEBE_CLIENT_ID", "workers")
    monkeypatch.setenv("ZEEBE_AUTHORIZATION_SERVER_URL", "https://idp.example/token")
    with pytest.raises(SettingsProblem) as info:
        config.zeebe()
    message = str(info.value)
    assert "ZEEBE_CLIENT_SECRET" in message
    assert "OAuth" in message
    assert "\n" not in message


def test_oauth_mode_is_triggered_by_auth_server_alone_and_names_missing_client_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZEEBE_CLIENT_SECRET", "oauth-secret")
    monkeypatch.setenv("ZEEBE_AUTHORIZATION_SERVER_URL", "https://idp.example/token")
    with pytest.raises(SettingsProblem, match="ZEEBE_CLIENT_ID"):
        config.zeebe()


def test_oauth_without_auth_server_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEEBE_CLIENT_ID", "workers")
    monkeypatch.setenv("ZEEBE_CLIENT_SECRET", "oauth-secret")
    with pytest.raises(SettingsProblem, match="ZEEBE_AUTHORIZATION_SERVER_URL"):
        config.zeebe()


def test_saas_without_client_secret_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMUNDA_CLUSTER_ID", "abc-123")
    monkeypatch.setenv("ZEEBE_CLIENT_ID", "workers")
    with pytest.raises(SettingsProblem) as info:
        config.zeebe()
    assert "ZEEBE_CLIENT_SECRET" in str(info.value)
    assert "CAMUNDA_CLUSTER_ID" in str(info.value)


# -- readable errors ------------------------------------------------------------------------------


def test_dms_http_without_url_is_readable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMS_KIND", "http")
    with pytest.raises(SettingsProblem) as info:
        config.dms()
    assert "DMS_URL" in str(info.value)
    assert "DMS_KIND=http" in str(info.value)


def test_dms_http_with_url_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMS_KIND", "http")
    monkeypatch.setenv("DMS_URL", "https://dms.example/api")
    monkeypatch.setenv("DMS_TOKEN", "dms-token-value")
    d = config.dms()
    assert d.url == "https://dms.example/api"
    assert isinstance(d.token, SecretStr)


def test_dms_s3_without_bucket_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMS_KIND", "s3")
    with pytest.raises(SettingsProblem, match="DMS_S3_BUCKET"):
        config.dms()


def test_unknown_dms_kind_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMS_KIND", "ftp")
    with pytest.raises(SettingsProblem) as info:
        config.dms()
    assert str(info.value).startswith("bad setting DMS_KIND:")


@pytest.mark.parametrize(
    ("var", "value", "loader"),
    [
        ("BRIDGE_PORT", "70000", config.bridge),
        ("BRIDGE_TIMESTAMP_TOLERANCE_S", "600", config.bridge),  # capped at the library's 5-minute window
        ("ZEEBE_REQUEST_TIMEOUT_S", "0", config.zeebe),
        ("CONTRACTIZE_TIMEOUT_S", "-1", config.provider),
        ("WORKER_METRICS_PORT", "70000", config.worker),
    ],
)
def test_out_of_range_field_names_its_variable(monkeypatch: pytest.MonkeyPatch, var: str, value: str, loader) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsProblem) as info:
        loader()
    assert str(info.value).startswith(f"bad setting {var}:")


def test_bad_value_is_not_echoed_in_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_METRICS_PORT", "hunter2-SECRET-LOOKING")
    with pytest.raises(SettingsProblem) as info:
        config.worker()
    assert "WORKER_METRICS_PORT" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_bad_entry_inside_pii_allow_list_names_the_real_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PII_ALLOW_LIST", '{"nda-001": [1]}')
    with pytest.raises(SettingsProblem) as info:
        config.pii()
    assert str(info.value).startswith("bad setting PII_ALLOW_LIST ")


def test_pii_allow_list_that_is_not_json_is_a_settings_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PII_ALLOW_LIST", "nda-001=employee_name")
    with pytest.raises(SettingsProblem, match="PII_ALLOW_LIST"):
        config.pii()


# -- bridge ---------------------------------------------------------------------------------------


def test_bridge_limits_and_rotation_secret_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_BODY_TIMEOUT_S", "2.5")
    monkeypatch.setenv("BRIDGE_MAX_CONCURRENCY", "4")
    monkeypatch.setenv("BRIDGE_MAX_CONNECTIONS", "40")
    monkeypatch.setenv("CONTRACTIZE_WEBHOOK_SECRET", "new-webhook-secret-value")
    monkeypatch.setenv("CONTRACTIZE_WEBHOOK_SECRET_PREVIOUS", "old-webhook-secret-value")
    b, p = config.bridge(), config.provider()
    assert (b.body_timeout_s, b.max_concurrency, b.max_connections) == (2.5, 4, 40)
    assert p.webhook_secret.get_secret_value() == "new-webhook-secret-value"
    assert p.webhook_secret_previous.get_secret_value() == "old-webhook-secret-value"


@pytest.mark.parametrize(("ttl", "tolerance"), [("299", None), ("59", "60"), ("0", "1")])
def test_message_ttl_below_the_signature_tolerance_is_refused(
    monkeypatch: pytest.MonkeyPatch, ttl: str, tolerance: str | None
) -> None:
    # Zeebe drops a redelivery (same message id) only while the first message lives; a replay is accepted
    # for as long as the tolerance, so a shorter TTL would let a replay through as a second message.
    monkeypatch.setenv("BRIDGE_MESSAGE_TTL_S", ttl)
    if tolerance is not None:
        monkeypatch.setenv("BRIDGE_TIMESTAMP_TOLERANCE_S", tolerance)
    with pytest.raises(SettingsProblem) as info:
        config.bridge()
    assert str(info.value).startswith("bad setting BRIDGE_MESSAGE_TTL_S:")
    assert "BRIDGE_TIMESTAMP_TOLERANCE_S" in str(info.value)


@pytest.mark.parametrize(("ttl", "tolerance"), [("300", None), ("60", "60"), ("61", "60")])
def test_message_ttl_at_or_above_the_tolerance_is_fine(
    monkeypatch: pytest.MonkeyPatch, ttl: str, tolerance: str | None
) -> None:
    monkeypatch.setenv("BRIDGE_MESSAGE_TTL_S", ttl)
    if tolerance is not None:
        monkeypatch.setenv("BRIDGE_TIMESTAMP_TOLERANCE_S", tolerance)
    assert config.bridge().message_ttl_s == int(ttl)


@pytest.mark.parametrize(
    ("var", "value"), [("BRIDGE_BODY_TIMEOUT_S", "0"), ("BRIDGE_MAX_CONCURRENCY", "0"), ("BRIDGE_MAX_CONNECTIONS", "-1")]
)
def test_bridge_limits_must_be_positive(monkeypatch: pytest.MonkeyPatch, var: str, value: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsProblem) as info:
        config.bridge()
    assert str(info.value).startswith(f"bad setting {var}:")


# -- secret hygiene -------------------------------------------------------------------------------


def test_secrets_are_secretstr_and_never_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEEBE_CLIENT_ID", "workers")
    monkeypatch.setenv("ZEEBE_CLIENT_SECRET", "zeebe-SECRET-1")
    monkeypatch.setenv("ZEEBE_AUTHORIZATION_SERVER_URL", "https://idp.example/token")
    monkeypatch.setenv("CONTRACTIZE_CLIENT_SECRET", "provider-SECRET-2")
    monkeypatch.setenv("CONTRACTIZE_WEBHOOK_SECRET", "webhook-SECRET-3")
    monkeypatch.setenv("CONTRACTIZE_WEBHOOK_SECRET_PREVIOUS", "webhook-SECRET-6")
    monkeypatch.setenv("DMS_KIND", "http")
    monkeypatch.setenv("DMS_URL", "https://dms.example")
    monkeypatch.setenv("DMS_TOKEN", "dms-SECRET-4")
    monkeypatch.setenv("SANDBOX_CLIENT_SECRET", "sandbox-SECRET-5")

    z, p, d, s = config.zeebe(), config.provider(), config.dms(), config.sandbox()
    for value in (z.zeebe_client_secret, p.client_secret, p.webhook_secret, p.webhook_secret_previous, d.token,
                  s.client_secret):  # fmt: skip
        assert isinstance(value, SecretStr)
    rendered = " ".join(repr(x) + str(x) for x in (z, p, d, s))
    rendered += " ".join(x.model_dump_json() for x in (z, p, d, s))
    for secret in ("zeebe-SECRET-1", "provider-SECRET-2", "webhook-SECRET-3", "dms-SECRET-4", "sandbox-SECRET-5",
                   "webhook-SECRET-6"):  # fmt: skip
        assert secret not in rendered
    # ... but the real values are there for the code that needs them.
    assert z.zeebe_client_secret.get_secret_value() == "zeebe-SECRET-1"
    assert d.token.get_secret_value() == "dms-SECRET-4"


def test_default_dev_secrets_do_not_print() -> None:
    text = repr(config.provider()) + repr(config.sandbox())
    assert config.DEV_CLIENT_SECRET not in text
    assert config.DEV_WEBHOOK_SECRET not in text
