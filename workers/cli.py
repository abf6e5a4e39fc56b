"""``contract-workers``: the command line.

Every command reads its settings from the environment (see ``workers.config``); a bad or missing
setting ends the command with one readable line naming the variable.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from workers import config, logs
from workers.config import PROJECT_ROOT, SettingsProblem
from workers.secret_checks import check_worker, dev_mode

BPMN_DIR = PROJECT_ROOT / "bpmn"


def _fail(message: str) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(2)


def _progress(message: str) -> None:
    click.secho(message, err=True, fg="cyan")


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SettingsProblem as exc:
            _fail(str(exc))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default="INFO", show_default=True, envvar="LOG_LEVEL", help="DEBUG, INFO, WARNING…")
@click.option("--log-json/--log-console", default=None, help="Force JSON or console logs (default: JSON unless a TTY).")
def main(log_level: str, log_json: bool | None) -> None:
    """Camunda 8 job workers that automate contracts."""
    logs.configure(log_level, json=log_json)


# -- worker ------------------------------------------------------------------------------------
@main.command()
def worker() -> None:
    """Run every registered task worker (contract.*) until SIGINT/SIGTERM."""
    check_worker()  # refuse to start without usable secrets (one line naming the variable)
    from workers.tasks.deps import build_deps
    from workers.worker import build_worker, run_until_signalled
    from workers.zeebe import create_channel

    async def run() -> None:
        channel = create_channel(config.zeebe())
        deps = build_deps()
        settings = config.worker()
        if settings.metrics_port is None:  # production default: serve /metrics, /healthz, /readyz
            settings = settings.model_copy(update={"metrics_port": 9464})
        try:
            await run_until_signalled(build_worker(channel, deps, settings))
        finally:
            await deps.aclose()
            await channel.close()

    asyncio.run(run())


# -- bridge ------------------------------------------------------------------------------------
@main.command()
def bridge() -> None:
    """Serve the webhook bridge (provider webhooks -> Zeebe messages) on BRIDGE_HOST:BRIDGE_PORT.

    Refuses to start (exit 2, one line naming the variable) when CONTRACTIZE_WEBHOOK_SECRET is missing,
    empty, malformed or the development value (unless CONTRACT_WORKERS_ENV=development).
    """
    from workers.bridge.auth import build_verifiers

    # Settings and secrets first: a bad one stops the command before anything connects or listens.
    bridge_settings, provider_settings = config.bridge(), config.provider()
    verifiers = build_verifiers(provider_settings, dev=dev_mode())
    zeebe_settings = config.zeebe()

    from workers.bridge.server import run_bridge
    from workers.zeebe import create_channel

    async def run() -> None:
        channel = create_channel(zeebe_settings)
        try:
            await run_bridge(bridge_settings, provider_settings, channel, verifiers=verifiers)
        finally:
            await channel.close()

    asyncio.run(run())


# -- sandbox -----------------------------------------------------------------------------------
@main.command()
def sandbox() -> None:
    """Serve the local Contractize-style provider simulator on SANDBOX_HOST:SANDBOX_PORT."""
    from workers.sandbox.server import serve

    asyncio.run(serve(config.sandbox()))


# -- fetch ------------------------------------------------------------------------------------
@main.command()
@click.option("--profile", type=click.Choice(["broker", "full"]), default="full", show_default=True)
def fetch(profile: str) -> None:
    """Find Java 21+ and fetch the engine (and OpenSearch for 'full') from Maven Central, once."""
    from workers.devstack.stack import LocalStack

    started = time.monotonic()
    LocalStack(profile, config.devstack(), progress=_progress).prepare()  # type: ignore[arg-type]
    _progress(f"{profile} profile ready to start ({time.monotonic() - started:.1f}s)")


# -- element-templates --------------------------------------------------------------------------
@main.command("element-templates")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: standard output).")
@click.option("--check", is_flag=True, help="Exit 1 if --output is out of date.")
def element_templates_cmd(output: Path | None, check: bool) -> None:
    """Write the Camunda Modeler element templates generated from the task input/output models."""
    from workers import modeler

    argv = (["--output", str(output)] if output else []) + (["--check"] if check else [])
    sys.exit(modeler.main(argv))


# -- deploy ------------------------------------------------------------------------------------
@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def deploy(paths: tuple[Path, ...]) -> None:
    """Deploy BPMN files (default: every file under bpmn/)."""
    from workers.deployables import deployables

    files = [str(p) for p in paths] or [str(p) for p in deployables(BPMN_DIR)]
    if not files:
        _fail(f"no .bpmn files found under {BPMN_DIR}")
    from workers.zeebe import deployed_processes

    result = asyncio.run(_deploy(files))
    for process in deployed_processes(result):
        click.echo(f"deployed {process.bpmn_process_id} version {process.version} (key {process.process_definition_key})")


async def _deploy(files: list[str]) -> Any:
    from workers.zeebe import create_client

    client = create_client(config.zeebe())
    return await client.deploy_resource(*files)


# -- start -------------------------------------------------------------------------------------
@main.command()
@click.argument("process_id")
@click.option("--variables", "variables_file", type=click.File("r"), help="JSON file with the variables, or - for stdin.")
@click.option("--employee-id", help="Shorthand for the variable employeeId (employee-nda).")
@click.option("--wait/--no-wait", default=False, help="Wait for the instance to complete and print its variables.")
@click.option("--timeout", default=120, show_default=True, help="Seconds to wait with --wait.")
def start(process_id: str, variables_file: Any, employee_id: str | None, wait: bool, timeout: int) -> None:
    """Create an instance of PROCESS_ID (the latest deployed version).

    Variables are checked against the process's start contract first (docs/start-contract/): a personal
    value, e.g. a whole employee record, is refused before it reaches the engine."""
    from workers.start_contract import StartRejected, validate_start

    variables: dict[str, Any] = {}
    if variables_file is not None:
        try:
            variables = json.load(variables_file)
        except json.JSONDecodeError as exc:
            _fail(f"--variables is not valid JSON: {exc}")
        if not isinstance(variables, dict):
            _fail("--variables must hold a JSON object")
    if employee_id is not None:
        variables["employeeId"] = employee_id
    try:
        variables = validate_start(process_id, variables)
    except StartRejected as exc:
        _fail(str(exc))
    key, result = asyncio.run(_start(process_id, variables, wait, timeout))
    click.echo(f"started {process_id}: process instance key {key}")
    if result is not None:
        click.echo(json.dumps(result, indent=2, sort_keys=True))


async def _start(process_id: str, variables: dict[str, Any], wait: bool, timeout: int) -> tuple[int, Any]:
    from workers.zeebe import create_client

    client = create_client(config.zeebe())
    if wait:
        result = await client.run_process_with_result(process_id, variables=variables, timeout=timeout * 1000)
        return result.process_instance_key, result.variables
    created = await client.run_process(process_id, variables=variables)
    return created.process_instance_key, None


# -- dev ---------------------------------------------------------------------------------------
@main.command()
@click.option("--profile", type=click.Choice(["broker", "full"]), default="full", show_default=True)
@click.option("--demo/--no-demo", default=True, show_default=True, help="Start one onboarding for a sample employee.")
@click.option("--exit-after-demo", is_flag=True, help="Stop everything once the demo instance completed.")
def dev(profile: str, demo: bool, exit_after_demo: bool) -> None:
    """The local stack (engine, sandbox provider, bridge, workers) until Ctrl-C."""
    from workers.devstack.dev import run_dev

    started = time.monotonic()
    try:
        run_dev(profile, demo=demo, exit_after_demo=exit_after_demo, progress=_progress)
    except KeyboardInterrupt:
        pass
    _progress(f"stopped everything after {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
