"""Start each local-stack profile, print time to ready and the RSS of each JVM, then stop it.

    .venv/bin/python -m bench.stack_startup [broker|full ...]

Uses bench-only ports, so a running `make run` stack is left alone.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from workers.config import devstack
from workers.devstack.stack import LocalStack, Ports

PORTS = Ports(grpc=26800, rest=8380, management=9900, command=26801, internal=26802, opensearch=9260)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(profiles: list[str]) -> None:
    for profile in profiles or ["broker", "full"]:
        stack = LocalStack(profile, devstack(), name=f"bench-{profile}", ports=PORTS, progress=lambda m: None)  # type: ignore[arg-type]
        t0 = time.monotonic()
        stack.prepare()
        prepared = time.monotonic() - t0
        stack.start()
        time.sleep(5)  # let the JVMs settle before reading RSS
        rss = {name: rss_mb(pid) for name, pid in stack.pids.items()}
        t1 = time.monotonic()
        stack.stop()
        stopped = time.monotonic() - t1
        print(f"{profile}: prepare {prepared:.1f}s, start-to-ready {stack.ready_after_s:.1f}s, "
              + ", ".join(f"{n} RSS {mb:.0f} MB" for n, mb in rss.items())
              + f", stop {stopped:.1f}s")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
