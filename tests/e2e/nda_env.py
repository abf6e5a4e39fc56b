"""The NDA flow's surroundings for e2e tests: sandbox provider, HR sandbox (BambooHR-style), bridge and
workers on real loopback HTTP, against a real engine. Only the engine address differs between the broker
and the full profile.

Employees live in the HR sandbox (``env.add_employee``); instances carry only their id. The HR sandbox
serves from its own thread, the bridge from the test's event loop: call the HR sandbox's control plane
with ``await env.hr_post(...)`` (async), never with a blocking client, or its webhook cannot be answered."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pyzeebe import ZeebeClient, ZeebeWorker, create_insecure_channel

from workers.bridge.app import create_app as bridge_app
from workers.bridge.auth import build_verifiers
from workers.bridge.publisher import ZeebePublisher
from workers.bridge.server import BridgeServer
from workers.config import (
    DEV_CLIENT_SECRET,
    DEV_WEBHOOK_SECRET,
    BridgeSettings,
    DmsSettings,
    PiiSettings,
    ProviderSettings,
    SandboxSettings,
    WorkerSettings,
)
from workers.crm.settings import HubSpotSandboxSettings, HubSpotSettings
from workers.hr.settings import DEV_BAMBOOHR_API_KEY, DEV_BAMBOOHR_WEBHOOK_KEY, BambooHrSettings, HrSandboxSettings
from workers.providers.spotdraft.settings import SpotDraftSandboxSettings, SpotDraftSettings
from workers.sandbox.hubspot.server import HubSpotSandboxServer
from workers.sandbox.hubspot.state import CrmSandboxState
from workers.sandbox.spotdraft.server import SpotDraftSandboxServer
from workers.sandbox.spotdraft.state import SdSandboxState
from workers.sandbox.bamboohr.server import HrSandboxServer
from workers.sandbox.bamboohr.state import HrSandboxState
from workers.sandbox.server import SandboxServer
from workers.sandbox.state import SandboxState
from workers.jobs.worker import JobWorker
from workers.tasks.deps import Deps, build_deps
from workers.worker import build_worker
from workers.zeebe import CHANNEL_OPTIONS

# An HR record with BambooHR's field names; every value but the id is personal data the engine must never see.
EMPLOYEE = {
    "firstName": "Grace",
    "lastName": "Hopper",
    "workEmail": "grace.hopper@example.com",
    "hireDate": "2027-01-04",
    "jobTitle": "Rear Admiral",
    "department": "Navy",
    "address1": "1 Navy Yard",
    "city": "Arlington",
    "dateOfBirth": "1906-12-09",
    "ssn": "000-42-4242",
    "payRate": "98765.43 USD",
}
# What must never show up in a variable, a log line or an exported record.
PERSONAL_VALUES = ("Grace Hopper", "grace.hopper@example.com", "1 Navy Yard", "Arlington", "1906-12-09",
                   "000-42-4242", "98765.43 USD")  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LogCollector(logging.Handler):
    """Every log line as the worker would print it (same formatter as the root handler)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        root_handlers = logging.getLogger().handlers
        if root_handlers and root_handlers[0].formatter:
            self.setFormatter(root_handlers[0].formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:
            self.lines.append(record.getMessage())

    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class NdaEnv:
    address: str
    client: ZeebeClient
    sandbox: SandboxServer
    hr: HrSandboxServer
    hr_settings: BambooHrSettings
    spotdraft: SpotDraftSandboxServer
    crm: HubSpotSandboxServer
    bridge_url: str
    provider_settings: ProviderSettings
    dms_root: Path
    deps: Deps
    channel: Any
    worker_settings: WorkerSettings
    logs: LogCollector
    worker: JobWorker | None = None
    _work: asyncio.Task | None = None
    extra: dict = field(default_factory=dict)

    @property
    def state(self) -> SandboxState:
        return self.sandbox.state

    def faults(self, **knobs: Any) -> None:
        self.state.set_faults(knobs)

    @property
    def hr_state(self) -> HrSandboxState:
        return self.hr.state

    def add_employee(self, employee_id: str, **changes: Any) -> str:
        """Put an employee into the HR sandbox (``None`` leaves a field out); returns the id."""
        record = {k: v for k, v in {**EMPLOYEE, **changes}.items() if v is not None}
        self.hr_state.put_employee(employee_id, record)
        return employee_id

    def hr_record(self, employee_id: str) -> dict[str, Any]:
        return dict(self.hr_state.employees.get(employee_id, {}))

    async def hr_post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """The HR sandbox's control plane (``/_sandbox/hire``, ``/_sandbox/webhooks/send``, ...)."""
        return await control(self.hr.base_url, "POST", path, body)

    async def crm_control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The CRM (HubSpot) sandbox's control plane (``/_sandbox/deals/{id}/close``, ...)."""
        return await control(self.crm.base_url, method, path, body)

    async def spotdraft_control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The SpotDraft sandbox's control plane (``/_sandbox/contracts/{id}/sign``, ...)."""
        return await control(self.spotdraft.base_url, method, path, body)


    async def start_worker(self) -> None:
        self.worker = build_worker(self.channel, self.deps, self.worker_settings)
        self._work = asyncio.create_task(self.worker.work())

    async def stop_worker(self) -> None:
        if self.worker is not None:
            await asyncio.wait_for(self.worker.stop(grace_s=5), timeout=15)
        if self._work is not None:
            self._work.cancel()
            await asyncio.gather(self._work, return_exceptions=True)
        self.worker = self._work = None

    def documents_for(self, request_id: str) -> list[dict[str, Any]]:
        return [d for d in self.state.snapshot()["documents"] if d["request_id"] == request_id]

    def dms_metadata(self, doc_id: str) -> dict[str, Any]:
        return json.loads((self.dms_root / doc_id / "metadata.json").read_text())

    def worker_env(self) -> dict[str, str]:
        """Settings for a worker in a subprocess, talking to the same sandbox, bridge and DMS."""
        return {
            "ZEEBE_ADDRESS": self.address,
            "CONTRACT_WORKERS_ENV": "development",  # the provider is the sandbox: its dev secrets are allowed
            "CONTRACTIZE_CLIENT_SECRET": self.provider_settings.client_secret.get_secret_value(),
            "CONTRACTIZE_BASE_URL": self.provider_settings.base_url,
            "CONTRACTIZE_CALLBACK_URL": self.provider_settings.callback_url,
            "CONTRACTIZE_TIMEOUT_S": str(self.provider_settings.timeout_s),
            "DMS_ROOT": str(self.dms_root),
            "BAMBOOHR_BASE_URL": self.hr_settings.base_url,
            "BAMBOOHR_COMPANY": self.hr_settings.company,
            "WORKER_RETRY_BACKOFF_SCALE": str(self.worker_settings.retry_backoff_scale),
            "WORKER_JOB_TIMEOUT_MS": json.dumps(self.worker_settings.job_timeout_ms),
        }


async def control(base_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    # async: the sandboxes' webhooks go to the bridge, which serves from the test's event loop
    async with httpx.AsyncClient(base_url=base_url, timeout=60, trust_env=False) as http:
        response = await http.request(method, path, json=body)
    response.raise_for_status()
    return response.json() if response.content else None


@asynccontextmanager
async def nda_env(address: str, tmp: Path, **worker_overrides: Any):
    collector = LogCollector()
    logging.getLogger().addHandler(collector)
    bridge_port = free_port()
    # Secrets are passed explicitly (never read from defaults): the sandbox's development ones, in dev mode.
    sandbox_settings = SandboxSettings(
        webhook_delay_s=0.3, client_secret=DEV_CLIENT_SECRET, webhook_secret=DEV_WEBHOOK_SECRET
    )
    sandbox = SandboxServer(sandbox_settings, SandboxState(), port=0).start()
    provider_settings = ProviderSettings(
        base_url=sandbox.base_url,
        callback_url=f"http://127.0.0.1:{bridge_port}/webhooks/contractize",
        timeout_s=5.0,
        client_secret=DEV_CLIENT_SECRET,
        webhook_secret=DEV_WEBHOOK_SECRET,
    )
    hr = HrSandboxServer(HrSandboxSettings(
        webhook_url=f"http://127.0.0.1:{bridge_port}/webhooks/bamboohr", api_key=DEV_BAMBOOHR_API_KEY,
        webhook_private_key=DEV_BAMBOOHR_WEBHOOK_KEY, company="sandbox", company_id="1",
    ), HrSandboxState(), port=0).start()  # fmt: skip
    hr_settings = BambooHrSettings(base_url=hr.base_url, company="sandbox", company_id="1", timeout_s=5.0,
                                   api_key=DEV_BAMBOOHR_API_KEY, webhook_private_key=DEV_BAMBOOHR_WEBHOOK_KEY)  # fmt: skip
    bridge_url = f"http://127.0.0.1:{bridge_port}"
    spotdraft = SpotDraftSandboxServer(SpotDraftSandboxSettings(webhook_url=f"{bridge_url}/webhooks/spotdraft"),
                                       SdSandboxState(), port=0).start()  # fmt: skip
    crm = HubSpotSandboxServer(HubSpotSandboxSettings(webhook_url=f"{bridge_url}/webhooks/hubspot"),
                               CrmSandboxState(), port=0).start()  # fmt: skip
    # v3 signatures cover the URL the CRM sent to: the bridge verifies against the same one.
    plugin_settings = {
        "spotdraft": SpotDraftSettings(base_url=f"{spotdraft.base_url}/api", timeout_s=5.0),
        "hubspot": HubSpotSettings(base_url=crm.base_url, webhook_url=f"{bridge_url}/webhooks/hubspot", timeout_s=5.0),
    }
    channel = create_insecure_channel(grpc_address=address, channel_options=CHANNEL_OPTIONS)
    client = ZeebeClient(channel, max_connection_retries=-1)  # pyzeebe's default 10 closes the shared channel
    verifiers = build_verifiers(provider_settings, dev=True, hr=hr_settings, settings=plugin_settings)
    bridge = BridgeServer(
        bridge_app(ZeebePublisher(client), verifiers, BridgeSettings(port=bridge_port)),
        port=bridge_port,
    )
    await bridge.astart()
    dms_root = tmp / "dms"
    deps = build_deps(provider_settings, DmsSettings(root=dms_root), PiiSettings(), hr_settings=hr_settings,
                      settings=plugin_settings)  # fmt: skip
    worker_settings = WorkerSettings(**{
        "name": "e2e-nda",
        # ~0: no retry back-off in the engine. On 8.6.0 a job failed *with* a back-off is sometimes never
        # activatable again (camunda/camunda#16884; 3 hits in ~15 soak runs), see the README.
        "retry_backoff_scale": 1e-6,
        "job_timeout_ms": {"contract.generate": 8_000},
        **worker_overrides,
    })
    env = NdaEnv(address, client, sandbox, hr, hr_settings, spotdraft, crm, bridge_url, provider_settings,
                 dms_root, deps, channel, worker_settings, collector)  # fmt: skip
    await env.start_worker()
    try:
        yield env
    finally:
        await env.stop_worker()
        await bridge.astop()
        sandbox.stop()
        hr.stop()
        spotdraft.stop()
        crm.stop()
        await deps.aclose()
        await channel.close()
        logging.getLogger().removeHandler(collector)
