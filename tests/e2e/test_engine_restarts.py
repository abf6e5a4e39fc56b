"""The broker is stopped and started 12 times during a 200-instance NDA run: every instance completes,
the same worker object serves throughout (no worker restart), and the DMS holds exactly one document per
instance (nothing duplicated).

This test restarts its engine, so it runs its own broker stack (own ports and run dir per CW_TEST_SLOT),
never the session ``engine``. Instances are started in waves between restarts, so each stop catches jobs
in flight, webhooks on their way and timers pending. All JVM starts and stops happen on one long-lived
thread (the JVM's PR_SET_PDEATHSIG follows the thread that started it) while the event loop keeps the
worker, bridge and sandbox running.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from pyzeebe import ZeebeClient, create_insecure_channel
from pyzeebe.errors import ZeebeBackPressureError, ZeebeGatewayUnavailableError
from pyzeebe.proto.gateway_pb2 import SetVariablesRequest
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from tests.conftest import _SUFFIX, SLOT
from workers.deployables import deployables
from tests.e2e.conftest import BPMN_DIR, eventually
from tests.e2e.nda_env import nda_env
from workers.config import devstack
from workers.devstack.stack import LocalStack, Ports
from workers.zeebe import CHANNEL_OPTIONS

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

INSTANCES = 200
RESTARTS = 12
_O = SLOT * 10
RESTART_PORTS = Ports(grpc=26800 + _O, rest=8380 + _O, management=9900 + _O, command=26801 + _O,
                      internal=26802 + _O, opensearch=9240)  # fmt: skip
# A JVM that starts faster (C1 only, one GC thread set-up): this test starts the broker 13 times.
FAST_START = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
# SIGTERM, then SIGKILL: with job streams open, the broker's embedded gateway waits for them at shutdown
# (over 20 s here), which an orchestrator would cut short the same way.
STOP_GRACE_S = 5.0
TASK_TYPES = ("contract.build-payload", "contract.get-token", "contract.generate", "contract.check-status",
              "contract.upload-dms", "contract.hr-sync")  # fmt: skip


def _progress(msg: str) -> None:
    print(f"[restarts] {msg}", file=sys.stderr, flush=True)


class StackThread:
    """A local broker stack driven from one dedicated thread (start, stop_engine, start_engine, stop)."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="restart-stack")

    def call(self, fn: Callable[[], Any]) -> Any:
        return self._thread.submit(fn).result()

    async def acall(self, fn: Callable[[], Any]) -> Any:
        return await asyncio.wrap_future(self._thread.submit(fn))

    def close(self) -> None:
        try:
            self.call(self.stack.stop)
        finally:
            self._thread.shutdown(wait=True)


@pytest.fixture(scope="module")
def restart_stack() -> Iterator[StackThread]:
    if os.environ.get("ZEEBE_ADDRESS"):
        pytest.skip("restarts its own local broker; ZEEBE_ADDRESS points at an engine it must not restart")
    stack = LocalStack("broker", devstack(), name=f"test-restarts{_SUFFIX}", ports=RESTART_PORTS, progress=_progress,
                       extra_java_opts=FAST_START)  # fmt: skip
    driver = StackThread(stack)
    try:
        driver.call(stack.reap_stale)
        shutil.rmtree(stack.run_dir / "zeebe-data", ignore_errors=True)  # each run starts from an empty broker
        driver.call(stack.start)
        yield driver
    finally:
        driver.close()


async def _create(client: ZeebeClient, variables: dict[str, Any]) -> int:
    """Start one instance; retried only on answers that mean the command was not processed."""
    for attempt in range(60):
        try:
            return (await client.run_process("employee-nda", variables=variables)).process_instance_key
        except (ZeebeBackPressureError, ZeebeGatewayUnavailableError):
            await asyncio.sleep(0.5)
    raise AssertionError(f"the broker did not accept instance {variables['employeeId']} for 30s")


async def _active(stub: GatewayStub, key: int) -> bool | str:
    """True while the instance exists (a no-op SetVariables succeeds), False once it has ended (NOT_FOUND)."""
    try:
        await stub.SetVariables(SetVariablesRequest(elementInstanceKey=key, variables=json.dumps({"probe": 1})),
                                timeout=10)  # fmt: skip
        return True
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return False
        return exc.code().name


async def test_200_instances_complete_through_12_broker_restarts(restart_stack: StackThread, tmp_path: Path) -> None:
    stack = restart_stack.stack
    started = time.monotonic()
    channel = create_insecure_channel(grpc_address=stack.gateway_address, channel_options=CHANNEL_OPTIONS)
    client = ZeebeClient(channel, max_connection_retries=-1)
    stub = GatewayStub(channel)
    await client.deploy_resource(*[str(p) for p in deployables(BPMN_DIR)])
    async with nda_env(stack.gateway_address, tmp_path) as env:
        # Quick webhooks, quick retries, and short job timeouts so a job whose completion was lost in a
        # restart comes back within seconds (the handlers take milliseconds).
        env.faults(webhook_delay_s=0.05, webhook_retry_base_s=0.2, webhook_max_attempts=8)
        await env.stop_worker()
        env.worker_settings = env.worker_settings.model_copy(
            update={"retry_backoff_scale": 0.02, "job_timeout_ms": {t: 15_000 for t in TASK_TYPES}}
        )
        await env.start_worker()
        worker, work = env.worker, env._work

        keys: dict[int, str] = {}  # process instance key -> employee id
        waves = [INSTANCES // (RESTARTS + 1) + (1 if i < INSTANCES % (RESTARTS + 1) else 0) for i in range(RESTARTS + 1)]
        restart_s: list[float] = []
        for wave, size in enumerate(waves):
            for _ in range(size):
                employee_id = env.add_employee(f"E-R{len(keys):03d}")
                variables = {"employeeId": employee_id, "reconcileAfter": "PT5S", "maxReconcileAttempts": 100}
                keys[await _create(client, variables)] = employee_id
            if wave == RESTARTS:
                break
            await asyncio.sleep(1.0)  # let the wave get going: jobs in flight, webhooks pending
            t0 = time.monotonic()
            await restart_stack.acall(lambda: stack.stop_engine(kill_after_s=STOP_GRACE_S))
            await restart_stack.acall(stack.start_engine)
            restart_s.append(time.monotonic() - t0)
            assert not work.done(), f"the worker's loop ended after restart {wave + 1}: {work!r}"
        _progress(f"{len(keys)} instances started, {RESTARTS} restarts ({min(restart_s):.0f}-{max(restart_s):.0f}s "
                  f"each) after {time.monotonic() - started:.0f}s")  # fmt: skip
        assert len(keys) == INSTANCES

        pending = set(keys)

        async def still_active() -> str:
            """'' once every instance has ended; else what is left (for the failure message)."""
            order = sorted(pending)
            answers = await asyncio.gather(*[_active(stub, k) for k in order])
            pending.difference_update(k for k, a in zip(order, answers) if a is False)
            if not pending:
                return ""
            ready = {d["request_id"] for d in env.state.snapshot()["documents"] if d["status"] == "ready"}
            filed = {p.name for p in env.dms_root.iterdir()} if env.dms_root.exists() else set()
            docs = {r.request_id: r.doc_id for r in env.state.documents.values()}
            return f"{len(pending)} of {INSTANCES} instances still active, e.g. " + "; ".join(
                f"{k} ({keys[k]}: provider document {'ready' if keys[k] in ready else 'not ready/missing'}, "
                f"{'in' if docs.get(keys[k]) in filed else 'not in'} the DMS)"
                for k in sorted(pending)[:5]
            )

        await eventually(still_active, timeout=300, interval=2, until=lambda left: left == "",
                         what="every instance ended")  # fmt: skip
        _progress(f"all {INSTANCES} instances ended after {time.monotonic() - started:.0f}s")

        # the same worker object served throughout, and its loop is still running
        assert env.worker is worker and not work.done(), "the worker was replaced or its loop ended"

        # nothing duplicated at the provider: exactly one document per instance (by its external id)
        records = list(env.state.documents.values())
        by_key = sorted(r.idempotency_key or "" for r in records)
        assert by_key == sorted(f"cw-emp-{e}-nda-001" for e in keys.values()), f"{len(records)} provider documents"

        # ... nor in the DMS: exactly 200 documents, one PDF each, one per employee id (so: every instance
        # ended on the "NDA filed" path, since nothing else writes to the DMS)
        stored = sorted(p for p in env.dms_root.iterdir() if p.is_dir())
        assert len(stored) == INSTANCES, f"{len(stored)} documents in the DMS"
        assert all(len(list(p.glob("*.pdf"))) == 1 for p in stored), [p.name for p in stored if len(list(p.glob("*.pdf"))) != 1]
        filed_for = sorted(env.dms_metadata(p.name)["metadata"]["request_id"] for p in stored)
        assert filed_for == sorted(keys.values())
        # ... and every HR record says so (the last step of the "NDA filed" path)
        unsynced = [e for e in keys.values()
                    if not env.hr_record(e).get("customNDAStatus", "").startswith("nda-001 filed")]
        assert unsynced == [], f"{len(unsynced)} HR records without the filed NDA, e.g. {unsynced[:5]}"
        _progress(f"done in {time.monotonic() - started:.0f}s")
    await channel.close()
