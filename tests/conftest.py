"""Shared fixtures: where the engine comes from.

``zeebe_address`` (session): ``ZEEBE_ADDRESS`` if set (an external cluster); else the official Camunda
image through testcontainers when a Docker engine answers; else the local stack from
``workers.devstack`` (plain Java processes), which is what runs on this project's machines and in CI.
The local stacks run on their own ports, so a ``make run`` stack on the defaults is left alone.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from workers import logs
from workers.config import devstack
from workers.devstack.stack import LocalStack, Ports

# When this test session began (epoch ms): records an engine kept from earlier sessions are older.
SESSION_STARTED_MS = int(time.time() * 1000)

# CW_TEST_SLOT (0-4) gives one of several people or checkouts on a machine its own ports and run dirs,
# so e2e suites can run side by side without reaping each other's JVMs.
SLOT = int(os.environ.get("CW_TEST_SLOT", "0"))
if not 0 <= SLOT <= 4:
    raise pytest.UsageError("CW_TEST_SLOT must be 0-4")
_O = SLOT * 10
BROKER_PORTS = Ports(grpc=26600 + _O, rest=8180 + _O, management=9700 + _O, command=26601 + _O,
                     internal=26602 + _O, opensearch=9240)  # fmt: skip
FULL_PORTS = Ports(grpc=26700 + _O, rest=8280 + _O, management=9800 + _O, command=26701 + _O,
                   internal=26702 + _O, opensearch=9250 + SLOT * 5)  # fmt: skip
_SUFFIX = f"-{SLOT}" if SLOT else ""


@dataclass(frozen=True)
class Engine:
    address: str
    source: str  # "external", "testcontainers", "local-broker", "local-full"
    rest_url: str | None = None
    # The search engine the exporter writes to (full profile): where every record of the engine is kept.
    search_url: str | None = None


def _progress(msg: str) -> None:
    # Shown with -s; also lands in the captured setup output of the first e2e test.
    print(f"[devstack] {msg}", file=sys.stderr, flush=True)


def _docker_available() -> bool:
    try:
        import docker  # testcontainers' own dependency

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def _sigterm_as_interrupt() -> None:
    # CI or a parent may stop us with SIGTERM: turn it into KeyboardInterrupt so fixtures finalise and
    # the JVMs are stopped (PR_SET_PDEATHSIG is the backstop when even that cannot run).
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _local(profile: str, name: str, ports: Ports) -> Iterator[Engine]:
    _sigterm_as_interrupt()
    stack = LocalStack(profile, devstack(), name=name, ports=ports, progress=_progress)  # type: ignore[arg-type]
    stack.start()
    try:
        search = f"http://127.0.0.1:{ports.opensearch}" if profile == "full" else None
        yield Engine(stack.gateway_address, f"local-{profile}", stack.rest_url, search)
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    """The fast engine (broker profile) for e2e tests."""
    if os.environ.get("ZEEBE_ADDRESS"):
        yield Engine(os.environ["ZEEBE_ADDRESS"], "external")
        return
    if _docker_available():
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.waiting_utils import wait_for_logs

        version = devstack().camunda_version
        with DockerContainer(f"camunda/zeebe:{version}").with_exposed_ports(26500, 8080) as container:
            wait_for_logs(container, "Broker is ready", timeout=180)
            host = container.get_container_host_ip()
            yield Engine(f"{host}:{container.get_exposed_port(26500)}", "testcontainers")
        return
    yield from _local("broker", f"test-broker{_SUFFIX}", BROKER_PORTS)


@pytest.fixture(scope="session")
def full_engine() -> Iterator[Engine]:
    """Broker + Operate + Tasklist on OpenSearch, for tests of what an operator sees."""
    if os.environ.get("ZEEBE_ADDRESS") and os.environ.get("CAMUNDA_REST_URL"):
        yield Engine(os.environ["ZEEBE_ADDRESS"], "external", os.environ["CAMUNDA_REST_URL"],
                     os.environ.get("CAMUNDA_SEARCH_URL"))
        return
    yield from _local("full", f"test-full{_SUFFIX}", FULL_PORTS)


@pytest.fixture(scope="session")
def zeebe_address(engine: Engine) -> str:
    print(f"\n[e2e] engine: {engine.source} at {engine.address}", file=sys.stderr)
    return engine.address


def pytest_configure(config: pytest.Config) -> None:
    logs.configure("INFO", json=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # 'full' implies 'e2e', so '-m "not e2e"' leaves out every engine test.
    for item in items:
        if item.get_closest_marker("full") and not item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.e2e)
