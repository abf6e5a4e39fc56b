"""A real SIGTERM to a separate worker process, on the real engine.

* ``tests/e2e/sigterm_worker.py`` (the ``worker`` command's start-up with one test task whose handler sleeps
  20 s) gets SIGTERM while 50 handlers run: it exits 0, its log says it handed the 50 jobs back and has no
  error line, and the 50 jobs can be activated again with their retries unchanged (none was completed);
* ``contract-workers worker`` itself (the installed CLI), idle: ``/healthz`` answers 200, then SIGTERM makes
  it exit 0.

The exit bounds are timeouts (grace + 60 s), not speed assertions. Run with -s to see the figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pyzeebe import ZeebeClient, create_insecure_channel
from pyzeebe.errors import ZeebeBackPressureError
from pyzeebe.proto.gateway_pb2 import ActivateJobsRequest, CompleteJobRequest
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from tests.e2e.conftest import eventually

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
BPMN = Path(__file__).resolve().parent / "bpmn" / "runtime-job.bpmn"
CLI = REPO / ".venv" / "bin" / "contract-workers"
GRACE_S = 3.0
EXIT_BOUND_S = GRACE_S + 60  # a timeout for the process to end, not a speed assertion
JOBS = 50
ERROR_LEVELS = {"error", "critical", "exception", "fatal"}


def figure(text: str) -> None:
    print(f"\n[worker-sigterm] {text}", file=sys.stderr, flush=True)


@dataclass
class Child:
    """A process started with its stdout and stderr in files (read while it runs)."""

    proc: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    seen_non_json: list[str] = field(default_factory=list)

    def out_lines(self) -> list[str]:
        return self.stdout.read_text(errors="replace").splitlines()

    def log(self) -> list[dict[str, Any]]:
        """The JSON log lines on stderr; anything else is kept in ``seen_non_json``."""
        events, other = [], []
        for line in self.stderr.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if isinstance(event, dict):
                events.append(event)
            elif line.strip():
                other.append(line)
        self.seen_non_json = other
        return events

    def events(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.log() if e.get("event") == name]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.stderr.read_text(errors="replace").splitlines()[-n:])

    async def wait_for_event(self, name: str, timeout: float = 60) -> dict[str, Any]:
        def seen() -> dict[str, Any] | None:
            if not self.alive():
                raise AssertionError(f"the process ended (code {self.proc.returncode}) before logging {name}:\n"
                                     f"{self.tail()}")  # fmt: skip
            found = self.events(name)
            return found[0] if found else None

        return await eventually(seen, timeout=timeout, interval=0.1, what=f"log line {name}")

    async def terminate_and_wait(self, bound_s: float) -> tuple[int, float]:
        """SIGTERM, then wait up to ``bound_s`` for the exit; (exit code, seconds it took)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(self.proc.wait, bound_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {bound_s:.0f}s after SIGTERM; its log ends with:\n{self.tail()}")
        return code, time.monotonic() - t0

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait(10)


def start_child(argv: list[str], env: dict[str, str], tmp_path: Path, name: str) -> Child:
    stdout, stderr = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    return Child(proc, stdout, stderr)


def child_env(address: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKER_", "PYTEST_"))}
    env.update(ZEEBE_ADDRESS=address, PYTHONUNBUFFERED="1", **extra)
    env.pop("LOG_LEVEL", None)  # the default (INFO): the lines asserted on are info and above
    return env


def error_lines(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if str(e.get("level", "")).lower() in ERROR_LEVELS]


@pytest.fixture
async def client(engine: Any) -> AsyncIterator[tuple[Any, ZeebeClient]]:
    channel = create_insecure_channel(grpc_address=engine.address)
    zeebe = ZeebeClient(channel)
    await zeebe.deploy_resource(str(BPMN))
    yield channel, zeebe
    await channel.close()


async def create_instances(client: ZeebeClient, task_type: str, n: int, concurrency: int = 16) -> list[int]:
    sem = asyncio.Semaphore(concurrency)

    async def one() -> int:
        async with sem:
            for attempt in range(200):  # the broker may push back on a burst: retry, as a client should
                try:
                    created = await client.run_process("runtime-job", variables={"taskType": task_type})
                    return created.process_instance_key
                except ZeebeBackPressureError:
                    await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
            raise AssertionError("the broker kept pushing back on instance creation")

    return await asyncio.gather(*[one() for _ in range(n)])


def handler_lines(child: Child) -> tuple[list[int], set[int], set[int], set[int]]:
    """(running counts in order, started keys, cancelled keys, finished keys) from the child's stdout."""
    counts, started, cancelled, finished = [], set(), set(), set()
    for line in child.out_lines():
        parts = line.split()
        if len(parts) != 3:
            continue
        what, running, key = parts[0], int(parts[1]), int(parts[2])
        counts.append(running)
        {"started": started, "cancelled": cancelled, "finished": finished}[what].add(key)
    return counts, started, cancelled, finished


async def test_sigterm_during_50_in_flight_handlers_hands_them_back_and_exits_0(client, engine, tmp_path) -> None:
    channel, zeebe = client
    task_type = f"rt.sigterm.{uuid.uuid4().hex[:8]}"
    env = child_env(engine.address, SIGTERM_GRACE_S=str(GRACE_S))
    child = start_child([sys.executable, "-m", "tests.e2e.sigterm_worker", task_type], env, tmp_path, "worker")
    try:
        await child.wait_for_event("worker_started")
        await create_instances(zeebe, task_type, JOBS)

        def fifty_running() -> tuple[int, int] | None:
            if not child.alive():
                raise AssertionError(f"the worker ended (code {child.proc.returncode}):\n{child.tail()}")
            counts, started, _, _ = handler_lines(child)
            now = counts[-1] if counts else 0
            return (now, len(started)) if now == JOBS else None

        await eventually(fifty_running, timeout=60, interval=0.1, what=f"{JOBS} handlers running in the worker")
        code, took = await child.terminate_and_wait(EXIT_BOUND_S)
    finally:
        child.kill()
    figure(f"SIGTERM with {JOBS} in-flight 20 s handlers, grace {GRACE_S:g}s: exit code {code} after {took:.1f}s")

    # The process: exit 0, every handler cancelled, none finished.
    assert code == 0, f"exit code {code}; log ends with:\n{child.tail()}"
    counts, started, cancelled, finished = handler_lines(child)
    assert len(started) == JOBS, f"{len(started)} distinct jobs started, expected {JOBS}"
    assert max(counts) == JOBS
    assert cancelled == started and not finished, f"cancelled {len(cancelled)}, finished {len(finished)}"

    # Its log: stopping, the hand-back of all 50 (each acknowledged), stopped; nothing at error level.
    events = child.log()
    names = [e.get("event") for e in events]
    assert not error_lines(events), f"error-level log lines: {error_lines(events)}"
    assert not [line for line in child.seen_non_json if "Traceback" in line or "rror" in line], child.seen_non_json
    stopping = [e for e in events if e.get("event") == "worker_stopping"]
    assert stopping and stopping[0].get("grace_s") == GRACE_S, stopping
    draining = [e for e in events if e.get("event") == "worker_draining"]
    assert [e.get("in_flight") for e in draining] == [JOBS], draining
    exceeded = [e for e in events if e.get("event") == "worker_grace_exceeded"]
    assert [e.get("handed_back") for e in exceeded] == [JOBS], exceeded
    handed = [e for e in events if e.get("event") == "job_failed" and e.get("outcome") == "handed_back"]
    assert {e.get("job_key") for e in handed} == started and len(handed) == JOBS, f"{len(handed)} hand-back lines"
    assert {e.get("retries_left") for e in handed} == {3}, {e.get("retries_left") for e in handed}
    assert "job_completed" not in names
    assert names.index("worker_stopping") < names.index("worker_stopped"), "no worker_stopped after worker_stopping"
    figure(f"log: {len(events)} lines, worker_draining in_flight={JOBS}, worker_grace_exceeded handed_back="
           f"{exceeded[0]['handed_back']}, {len(handed)} job_failed outcome=handed_back, non-JSON stderr lines: "
           f"{len(child.seen_non_json)}")  # fmt: skip

    # The engine: the same 50 jobs are activatable again (no incident, none completed), each with its 3 retries.
    stub = GatewayStub(channel)
    retries: dict[int, int] = {}

    async def all_back() -> dict[int, int] | None:
        request = ActivateJobsRequest(type=task_type, worker="e2e-sigterm-readback", timeout=60_000,
                                      maxJobsToActivate=JOBS, requestTimeout=1_000, fetchVariable=["none"])  # fmt: skip
        async for response in stub.ActivateJobs(request, timeout=10):
            for job in response.jobs:
                retries[job.key] = job.retries
        return retries if len(retries) >= JOBS else None

    t0 = time.monotonic()
    await eventually(all_back, timeout=60, interval=0.1, what=f"re-activating the {JOBS} handed-back jobs")
    figure(f"re-activated {len(retries)} jobs {time.monotonic() - t0:.1f}s after the exit; retries "
           f"{sorted(set(retries.values()))}")  # fmt: skip
    assert set(retries) == started, "the jobs read back are not the ones that were running"
    assert sorted(set(retries.values())) == [3], f"retries after the hand-back: {sorted(retries.values())}"
    for key in retries:  # leave nothing behind
        await stub.CompleteJob(CompleteJobRequest(jobKey=key, variables="{}"), timeout=10)


async def test_sigterm_to_the_idle_worker_command_exits_0(engine, tmp_path) -> None:
    assert CLI.exists(), f"{CLI} is missing (make install / pip install -e .)"
    env = child_env(engine.address, WORKER_METRICS_PORT="0", WORKER_METRICS_HOST="127.0.0.1",
                    CONTRACT_WORKERS_ENV="development", DMS_KIND="filesystem",
                    DMS_ROOT=str(tmp_path / "dms"))  # fmt: skip
    child = start_child([str(CLI), "worker"], env, tmp_path, "cli")
    try:
        serving = await child.wait_for_event("worker_health_serving")
        started = await child.wait_for_event("worker_started")
        port = serving["port"]
        assert isinstance(port, int) and port > 0, serving
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            health = await http.get("/healthz")
            ready = await eventually(lambda: http.get("/readyz"), timeout=60, interval=0.2,
                                     until=lambda r: r.status_code == 200, what="/readyz 200")  # fmt: skip
        figure(f"worker command: tasks {started.get('tasks')}, /healthz {health.status_code} {health.json()}, "
               f"/readyz {ready.status_code} on port {port}")  # fmt: skip
        assert health.status_code == 200, (health.status_code, health.text)
        assert health.json()["status"] == "ok"
        code, took = await child.terminate_and_wait(EXIT_BOUND_S)
    finally:
        child.kill()
    figure(f"idle worker command: SIGTERM -> exit code {code} after {took:.1f}s")
    assert code == 0, f"exit code {code}; log ends with:\n{child.tail()}"
    events = child.log()
    names = [e.get("event") for e in events]
    assert not error_lines(events), f"error-level log lines: {error_lines(events)}"
    assert not [line for line in child.seen_non_json if "Traceback" in line or "rror" in line], child.seen_non_json
    assert [e.get("in_flight") for e in events if e.get("event") == "worker_draining"] == [0]
    assert "worker_grace_exceeded" not in names
    assert names.index("worker_stopping") < names.index("worker_stopped")
