"""A worker process for tests/e2e/test_worker_sigterm.py: the ``worker`` command's start-up with one test task.

``python -m tests.e2e.sigterm_worker TASK_TYPE`` (engine in ``ZEEBE_ADDRESS``, grace in ``SIGTERM_GRACE_S``)
runs as ``contract-workers worker`` does (``logs.configure``, ``create_channel(config.zeebe())``,
``build_worker`` + ``run_until_signalled``, the channel closed at the end), except that its only task is
TASK_TYPE, whose handler sleeps 20 s, and there are no deps. Logs go to stderr (JSON, as for the command
when stderr is not a TTY); stdout carries one line per handler start / end for the test to follow:
``started <running now> <job key>``, ``cancelled <running now> <job key>``, ``finished <running now> <job key>``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from workers import config, logs
from workers.config import WorkerSettings
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec

HANDLER_SLEEP_S = 20.0


class NoInput(TaskModel):
    pass


class Done(TaskModel):
    ok: bool = True


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def sleeper_spec(task_type: str) -> TaskSpec[NoInput, Done]:
    running = 0

    async def sleeper(data: NoInput, job: JobInfo, deps: Any) -> Done:
        nonlocal running
        running += 1
        say(f"started {running} {job.key}")
        try:
            await asyncio.sleep(HANDLER_SLEEP_S)
        except asyncio.CancelledError:
            running -= 1
            say(f"cancelled {running} {job.key}")
            raise
        running -= 1
        say(f"finished {running} {job.key}")
        return Done()

    return TaskSpec(type=task_type, name=task_type, description="e2e: SIGTERM during 20 s handlers",
                    input_model=NoInput, output_model=Done, handler=sleeper, max_running_jobs=60,
                    timeout_ms=60_000)  # fmt: skip


def main(task_type: str) -> None:
    # As `contract-workers worker` (workers/cli.py): the group's logs.configure, then the command's run().
    logs.configure(os.environ.get("LOG_LEVEL", "INFO"), json=None)
    from workers.worker import build_worker, run_until_signalled
    from workers.zeebe import create_channel

    async def run() -> None:
        channel = create_channel(config.zeebe())
        settings = WorkerSettings(name="e2e-sigterm", shutdown_grace_s=float(os.environ.get("SIGTERM_GRACE_S", "3")),
                                  metrics_port=0, metrics_host="127.0.0.1")  # fmt: skip
        try:
            await run_until_signalled(build_worker(channel, None, settings, specs=[sleeper_spec(task_type)]))
        finally:
            await channel.close()

    asyncio.run(run())


if __name__ == "__main__":
    main(sys.argv[1])
