"""A small in-memory fake of the gateway stub (``GatewayStub``'s job methods) and helpers."""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from pyzeebe.proto.gateway_pb2 import ActivatedJob, ActivateJobsResponse

from workers.tasks.runtime import TaskModel, TaskSpec

_next_key = [2251799813690000]


def rpc_error(code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=f"fake {code.name}")


def activated(task_type: str, retries: int = 3, timeout_ms: int = 30_000, variables: dict[str, Any] | None = None,
              seconds_left: float | None = None) -> ActivatedJob:  # fmt: skip
    _next_key[0] += 1
    left = timeout_ms / 1000 if seconds_left is None else seconds_left
    return ActivatedJob(
        key=_next_key[0], type=task_type, processInstanceKey=_next_key[0] - 1, bpmnProcessId="unit-flow",
        elementId="Task_Unit", elementInstanceKey=_next_key[0] - 2, retries=retries, worker="unit",
        deadline=int((time.time() + left) * 1000), variables=json.dumps(variables or {}), customHeaders="{}",
    )  # fmt: skip


class FakeStub:
    """Backlog per type for ActivateJobs, a push queue per type for streams, scripted errors per method,
    and a record of every command."""

    def __init__(self) -> None:
        self.backlog: dict[str, deque[ActivatedJob]] = defaultdict(deque)
        self.pushes: dict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self.errors: dict[str, deque[BaseException]] = defaultdict(deque)
        self.requests: dict[str, list[Any]] = defaultdict(list)
        self.completed: list[Any] = []
        self.failed: list[Any] = []
        self.thrown: list[Any] = []
        self.timeouts: list[Any] = []
        self.streams_opened = 0
        self.changed = asyncio.Event()
        self.on_command: Callable[[str, Any], None] | None = None

    def script(self, method: str, *errors: BaseException) -> None:
        self.errors[method].extend(errors)

    def _raise_scripted(self, method: str) -> None:
        if self.errors[method]:
            raise self.errors[method].popleft()

    def ActivateJobs(self, request: Any, timeout: float | None = None) -> AsyncIterator[ActivateJobsResponse]:
        async def gen() -> AsyncIterator[ActivateJobsResponse]:
            self.requests["ActivateJobs"].append(request)
            self._note()
            await asyncio.sleep(0)
            self._raise_scripted("ActivateJobs")
            backlog = self.backlog[request.type]
            jobs = [backlog.popleft() for _ in range(min(request.maxJobsToActivate, len(backlog)))]
            if jobs:
                yield ActivateJobsResponse(jobs=jobs)

        return gen()

    def StreamActivatedJobs(self, request: Any, timeout: float | None = None) -> AsyncIterator[ActivatedJob]:
        async def gen() -> AsyncIterator[ActivatedJob]:
            self.requests["StreamActivatedJobs"].append(request)
            self.streams_opened += 1
            self._note()
            await asyncio.sleep(0)
            self._raise_scripted("StreamActivatedJobs")
            queue = self.pushes[request.type]
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):  # ends the open stream, as grpc does
                    raise item
                yield item

        return gen()

    async def _command(self, method: str, request: Any, into: list[Any]) -> None:
        self.requests[method].append(request)
        await asyncio.sleep(0)
        try:
            self._raise_scripted(method)
        finally:
            self._note()
        into.append(request)
        if self.on_command is not None:
            self.on_command(method, request)
        self._note()

    async def CompleteJob(self, request: Any, timeout: float | None = None) -> None:
        await self._command("CompleteJob", request, self.completed)

    async def FailJob(self, request: Any, timeout: float | None = None) -> None:
        await self._command("FailJob", request, self.failed)

    async def ThrowError(self, request: Any, timeout: float | None = None) -> None:
        await self._command("ThrowError", request, self.thrown)

    async def UpdateJobTimeout(self, request: Any, timeout: float | None = None) -> None:
        await self._command("UpdateJobTimeout", request, self.timeouts)

    def _note(self) -> None:
        self.changed.set()


async def until(check: Callable[[], Any], what: str, bound_s: float = 10.0) -> Any:
    """Wait (generously) for ``check()`` to be truthy; the failure names what was awaited and last seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound_s
    while True:
        result = check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"not reached within {bound_s}s: {what} (last: {result!r})")
        await asyncio.sleep(0.002)


class NoInput(TaskModel):
    pass


class Out(TaskModel):
    n: int = 1
    blob: str = ""


def spec(task_type: str, handler: Any, **overrides: Any) -> TaskSpec[NoInput, Out]:
    return TaskSpec(type=task_type, name="unit", description="unit", input_model=NoInput, output_model=Out,
                    handler=handler, **overrides)  # fmt: skip


class Gate:
    """Handlers that block until released, counting how many run at once."""

    def __init__(self) -> None:
        self.running = 0
        self.max_running = 0
        self.started = 0
        self.finished = 0
        self.cancelled = 0
        self.release = asyncio.Event()

    async def handler(self, data: Any, job: Any, deps: Any) -> Out:
        self.running += 1
        self.started += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.running -= 1
        self.finished += 1
        return Out()


def make_worker(stub: FakeStub, specs: list[Any], **settings: Any) -> Any:
    from workers.config import WorkerSettings
    from workers.worker import build_worker

    defaults: dict[str, Any] = dict(name="unit", poll_interval_s=0.01, backoff_initial_ms=1, backoff_max_ms=20,
                                    handback_backoff_ms=500)  # fmt: skip
    defaults.update(settings)
    return build_worker(None, deps=None, settings=WorkerSettings(**defaults), specs=specs, stub=stub)
