"""``contract-workers dev``: everything the project runs, on one machine, until Ctrl-C.

Engine (JVMs, children of this process) → sandbox provider → bridge → workers → deploy ``bpmn/`` →
one demo onboarding. One shutdown path: SIGINT/SIGTERM stops the worker (in-flight jobs finish), the
HTTP servers, then the JVMs.
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
from workers.config import PROJECT_ROOT, ZeebeSettings
from workers.devstack.stack import LocalStack
from workers.serving import embedded_server
from workers.signing import WebhookVerifier

Progress = Callable[[str], None]

DEMO_EMPLOYEE: dict[str, Any] = {
    "id": "E-1001",
    "fullName": "Ada Lovelace",
    "email": "ada.lovelace@example.com",
    "startDate": "2026-12-01",
    "jobTitle": "Analyst",
    "homeAddress": "12 St James's Square, London",
}


def run_dev(profile: str, *, demo: bool, exit_after_demo: bool, progress: Progress) -> None:
    from workers.bridge.auth import build_verifiers
    from workers.secret_checks import check_worker

    # Development mode: the sandbox's development secrets are allowed (and used when none is set); a set
    # but empty or malformed secret still stops here, before any JVM starts.
    verifiers = build_verifiers(config.provider(), dev=True)
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
    stack: LocalStack, verifiers: Mapping[str, WebhookVerifier], *, demo: bool, exit_after_demo: bool,
    progress: Progress,
) -> None:  # fmt: skip
    from workers.bridge.app import create_app as bridge_app
    from workers.bridge.publisher import ZeebePublisher
    from workers.sandbox.app import create_app as sandbox_app
    from workers.tasks.deps import build_deps
    from workers.worker import build_worker
    from workers.zeebe import create_channel, deployed_processes

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    channel = create_channel(ZeebeSettings(zeebe_address=stack.gateway_address))
    client = ZeebeClient(channel, max_connection_retries=-1)
    sandbox_settings, bridge_settings = config.sandbox(), config.bridge()
    sandbox = embedded_server(sandbox_app(sandbox_settings), sandbox_settings.host, sandbox_settings.port)
    bridge = embedded_server(bridge_app(ZeebePublisher(client), verifiers, bridge_settings),
                             bridge_settings.host, bridge_settings.port)  # fmt: skip
    deps = build_deps()
    worker = build_worker(channel, deps, config.worker())
    tasks = [asyncio.create_task(sandbox.serve()), asyncio.create_task(bridge.serve())]
    try:
        while not (sandbox.started and bridge.started):
            if any(t.done() for t in tasks):
                for t in tasks:
                    if t.done() and t.exception():
                        raise t.exception()  # type: ignore[misc]
                raise RuntimeError("the sandbox or the bridge could not start (port in use?)")
            await asyncio.sleep(0.05)
        progress(f"sandbox provider on http://{sandbox_settings.host}:{sandbox_settings.port}")
        progress(f"webhook bridge on http://{bridge_settings.host}:{bridge_settings.port}")
        tasks.append(asyncio.create_task(worker.work()))
        files = [str(p) for p in sorted((PROJECT_ROOT / "bpmn").glob("*.bpmn"))]
        deployment = await client.deploy_resource(*files)
        for process in deployed_processes(deployment):
            progress(f"deployed {process.bpmn_process_id} v{process.version}")
        if profile_has_operate(stack):
            progress(f"Operate:  {stack.operate_url}  (login demo / demo)")
            progress(f"Tasklist: {stack.tasklist_url}")
        if demo:
            tasks.append(asyncio.create_task(_demo(client, progress, stop if exit_after_demo else None)))
        progress("running; Ctrl-C stops everything")
        await stop.wait()
    finally:
        progress("stopping workers, bridge and sandbox…")
        try:
            await asyncio.wait_for(worker.stop(grace_s=10), timeout=15)
        except (asyncio.TimeoutError, Exception):
            pass
        sandbox.should_exit = True
        bridge.should_exit = True
        await asyncio.wait(tasks, timeout=15)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await deps.aclose()
        await channel.close()


def profile_has_operate(stack: LocalStack) -> bool:
    return stack.profile == "full"


async def _demo(client: ZeebeClient, progress: Progress, stop: asyncio.Event | None) -> None:
    progress(f"demo: onboarding employee {DEMO_EMPLOYEE['id']}…")
    try:
        result = await client.run_process_with_result(
            "employee-nda", variables={"employee": DEMO_EMPLOYEE, "reconcileAfter": "PT30S"}, timeout=180_000
        )
    except Exception as exc:  # the instance is still visible in Operate; say so and keep serving
        progress(f"demo: did not complete in time ({type(exc).__name__}); look at the instance in Operate")
    else:
        variables = result.variables
        location = variables.get("dmsLocation")
        progress(f"demo: process instance {result.process_instance_key} completed")
        if location:
            progress(f"demo: NDA filed at {location}")
            metadata = Path(location).parent / "metadata.json"
            if metadata.exists():
                progress(f"demo: DMS metadata {json.dumps(json.loads(metadata.read_text()), sort_keys=True)}")
        elif variables.get("contractError"):
            progress(f"demo: ended on the error path: {variables['contractError'].get('message')}")
    if stop is not None:
        stop.set()
