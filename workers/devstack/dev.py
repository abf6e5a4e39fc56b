"""``contract-workers dev``: everything the project runs, on one machine, until Ctrl-C.

Engine (JVMs, children of this process) → sandbox provider and HR sandbox → bridge → workers → deploy
``bpmn/`` → one demo hire: the HR sandbox sends its signed hire webhook, the bridge starts
``employee-nda`` by message, and the demo waits until the HR record shows the filed NDA. One shutdown
path: SIGINT/SIGTERM stops the worker (in-flight jobs finish), the HTTP servers, then the JVMs.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pyzeebe import ZeebeClient

from workers import config
from workers.config import ZeebeSettings
from workers.devstack.stack import LocalStack
from workers.serving import embedded_server

Progress = Callable[[str], None]

# One of the HR sandbox's seeded employees (workers.sandbox.bamboohr): the demo "hires" them.
DEMO_EMPLOYEE_ID = "101"
DEMO_TIMEOUT_S = 180.0
# The CRM sandbox's seeded, complete deal (workers.sandbox.hubspot): the deal demo closes it.
DEMO_DEAL_ID = "1001"


def run_dev(profile: str, *, demo: bool, exit_after_demo: bool, progress: Progress) -> None:
    from workers.bridge.auth import build_verifiers
    from workers.secret_checks import check_worker

    # Development mode: the sandbox's development secrets are allowed (and used when none is set); a set
    # but empty or malformed secret still stops here, before any JVM starts.
    verifiers = build_verifiers(dev=True)
    check_worker(dev=True)
    stack = LocalStack(profile, config.devstack(), name="dev", progress=progress)  # type: ignore[arg-type]
    try:
        stack.start()
        asyncio.run(
            _serve_all(stack, verifiers, demo=demo, exit_after_demo=exit_after_demo, progress=progress)
        )
    finally:
        progress("stopping the engine…")
        stack.stop()


async def _serve_all(
    stack: LocalStack, verifiers: Mapping[str, Any], *, demo: bool, exit_after_demo: bool,
    progress: Progress,
) -> None:  # fmt: skip
    from workers.bridge.app import create_app as bridge_app
    from workers.bridge.publisher import ZeebePublisher
    from workers.plugins import plugins
    from workers.tasks.deps import build_deps
    from workers.worker import build_worker
    from workers.zeebe import create_channel, deployed_processes

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    channel = create_channel(ZeebeSettings(zeebe_address=stack.gateway_address))
    client = ZeebeClient(channel, max_connection_retries=-1)
    bridge_settings = config.bridge()
    bridge_url = f"http://{bridge_settings.host}:{bridge_settings.port}"
    # One simulator per plug-in (workers.plugins), each on its own port, calling back on the bridge.
    specs = {p.name: p.sandbox(p.settings(), bridge_url) for p in plugins() if p.sandbox is not None}
    sandboxes = [embedded_server(spec.app, spec.host, spec.port) for spec in specs.values()]
    bridge = embedded_server(bridge_app(ZeebePublisher(client), verifiers, bridge_settings),
                             bridge_settings.host, bridge_settings.port)  # fmt: skip
    deps = build_deps()
    worker = build_worker(channel, deps, config.worker())
    servers = (*sandboxes, bridge)
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    try:
        while not all(server.started for server in servers):
            if any(t.done() for t in tasks):
                for t in tasks:
                    if t.done() and t.exception():
                        raise t.exception()  # type: ignore[misc]
                raise RuntimeError("a sandbox or the bridge could not start (port in use?)")
            await asyncio.sleep(0.05)
        for spec in specs.values():
            progress(f"{spec.label} on http://{spec.host}:{spec.port}")
        progress(f"webhook bridge on {bridge_url} (POST /webhooks/{{{', '.join(sorted(verifiers))}}})")
        tasks.append(asyncio.create_task(worker.work()))
        from workers.deployables import deployables

        files = [str(p) for p in deployables()]
        deployment = await client.deploy_resource(*files)
        for process in deployed_processes(deployment):
            progress(f"deployed {process.bpmn_process_id} v{process.version}")
        if profile_has_operate(stack):
            progress(f"Operate:  {stack.operate_url}  (login demo / demo)")
            progress(f"Tasklist: {stack.tasklist_url}")
        if demo:
            hr_url = f"http://{specs['bamboohr'].host}:{specs['bamboohr'].port}"
            crm_url = f"http://{specs['hubspot'].host}:{specs['hubspot'].port}"
            tasks.append(asyncio.create_task(_demos(hr_url, crm_url, deps, progress,
                                                    stop if exit_after_demo else None)))  # fmt: skip
        progress("running; Ctrl-C stops everything")
        await stop.wait()
    finally:
        progress("stopping workers, bridge and sandbox…")
        try:
            await asyncio.wait_for(worker.stop(grace_s=10), timeout=15)
        except (asyncio.TimeoutError, Exception):
            pass
        for server in servers:
            server.should_exit = True
        await asyncio.wait(tasks, timeout=15)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await deps.aclose()
        await channel.close()


def profile_has_operate(stack: LocalStack) -> bool:
    return stack.profile == "full"


async def _demos(hr_url: str, crm_url: str, deps: Any, progress: Progress, stop: asyncio.Event | None) -> None:
    """The NDA demo, then the deal demo; ``stop`` is set when both ended (``--exit-after-demo``)."""
    await _demo(hr_url, deps.hr_settings, progress)
    await _deal_demo(crm_url, progress)
    if stop is not None:
        stop.set()


async def _deal_demo(crm_url: str, progress: Progress) -> None:
    """Close the CRM sandbox's deal 1001 (signed Closed-Won webhook -> bridge -> deal-contract); the SpotDraft
    sandbox's counterparty signs by itself; wait until the deal shows the synced contract."""
    import httpx

    try:
        async with httpx.AsyncClient(base_url=crm_url, timeout=30, trust_env=False) as http:
            closed = (await http.post(f"/_sandbox/deals/{DEMO_DEAL_ID}/close")).json()
            statuses = [d.get("status") for d in closed.get("deliveries", [])]
            progress(f"demo: CRM deal {DEMO_DEAL_ID} closed won; signed webhook -> bridge answered {statuses}")
            record = await _poll_until(
                lambda: _json(http, f"/_sandbox/deals/{DEMO_DEAL_ID}"),
                lambda found: found.get("properties", {}).get("contract_status") in ("EXECUTED", "DECLINED", "VOIDED"))
            props = record.get("properties", {})
    except Exception as exc:  # keep serving: the instance is visible in Operate
        progress(f"demo: the deal flow did not finish ({type(exc).__name__}); look for it in Operate")
        return
    synced = {k: v for k, v in sorted(props.items()) if k.startswith("contract_")}
    progress(f"demo: SpotDraft contract {props.get('contract_id')} {props.get('contract_status')}; "
             f"executed PDF filed at {props.get('contract_dms_location')}")
    progress(f"demo: CRM deal {DEMO_DEAL_ID} now has {json.dumps(synced, sort_keys=True)}")


async def _demo(hr_url: str, hr: Any, progress: Progress) -> None:
    """Hire the demo employee in the HR sandbox and wait until their HR record shows the filed NDA."""
    import httpx

    try:
        async with httpx.AsyncClient(base_url=hr_url, timeout=30, trust_env=False) as http:
            hired = (await http.post("/_sandbox/hire", json={"employeeId": DEMO_EMPLOYEE_ID})).json()
            statuses = [d.get("status") for d in hired.get("deliveries", [])]
            progress(f"demo: HR hired employee {DEMO_EMPLOYEE_ID}; signed webhook {hired.get('eventId')} "
                     f"-> bridge answered {statuses}")  # fmt: skip
            record = await _poll_until(lambda: _json(http, f"/_sandbox/employees/{DEMO_EMPLOYEE_ID}"),
                                       lambda found: bool(found.get(hr.nda_status_field)))  # fmt: skip
    except Exception as exc:  # keep serving: the instance is visible in Operate
        progress(f"demo: did not finish ({type(exc).__name__}); look for the instance in Operate")
    else:
        progress(f"demo: HR record {DEMO_EMPLOYEE_ID}: {hr.nda_status_field} = {record.get(hr.nda_status_field)!r}")
        location = record.get(hr.nda_document_field)
        if location:
            progress(f"demo: NDA filed at {location}")
            metadata = Path(location).parent / "metadata.json"
            if metadata.exists():  # its keys only: the values include an allow-listed name
                kept = sorted(json.loads(metadata.read_text()).get("metadata", {}))
                progress(f"demo: DMS metadata fields {', '.join(kept)}")


async def _json(http: Any, path: str) -> dict[str, Any]:
    return (await http.get(path)).json()


async def _poll_until(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout_s: float = DEMO_TIMEOUT_S) -> Any:
    """``await fetch()`` every second until ``done(result)``; ``TimeoutError`` after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        found = await fetch()
        if done(found):
            return found
        if loop.time() > deadline:
            raise TimeoutError(f"the demo's result did not appear within {timeout_s:.0f}s")
        await asyncio.sleep(1.0)
