"""Soak: the end-to-end suite (both profiles) N times in a row while another process keeps one core busy.

    make test-soak                       # 5 runs
    .venv/bin/python -m tests.soak --runs 3 -- -k operate

Stops at the first failed run; prints one line per run (passed/failed, duration) and a summary; exits
non-zero when a run failed. Each run's pytest output is kept in ``var/soak/run-<n>.log``. The busy loop
is a child process that ends by itself: at a deadline (``--busy-max-s``), when this process dies
(``PR_SET_PDEATHSIG``) or when its parent changes, and we stop it when the soak ends.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from workers.devstack.procs import dying_with_parent

ROOT = Path(__file__).resolve().parents[1]

# Spins until its deadline, or until its parent (the soak) is gone.
_BUSY_LOOP = """
import os, sys, time
parent, end = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
n = 0
while time.monotonic() < end:
    n += 1
    if n % 1_000_000 == 0 and os.getppid() != parent:
        break
"""


def start_busy_core(max_s: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        dying_with_parent([sys.executable, "-c", _BUSY_LOOP, str(os.getpid()), str(max_s)]),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, process_group=0,
    )  # fmt: skip


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def run_once(n: int, runs: int, pytest_args: list[str], log_dir: Path, busy: subprocess.Popen[bytes]) -> bool:
    log = log_dir / f"run-{n}.log"
    cmd = [sys.executable, "-m", "pytest", "-m", "e2e", "-p", "no:cacheprovider", "-q", *pytest_args]
    started = time.monotonic()
    with log.open("wb") as out:
        code = subprocess.call(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    took = time.monotonic() - started
    busy_note = "core busy" if busy.poll() is None else "busy loop had ended"
    tail = log.read_text(errors="replace").strip().splitlines()
    result = tail[-1] if tail else "(no output)"
    verdict = "passed" if code == 0 else f"FAILED (exit {code})"
    print(f"soak run {n}/{runs}: {verdict} in {took:.1f}s ({busy_note}) — {result}", flush=True)
    if code != 0:
        print(f"--- last lines of {log} ---\n" + "\n".join(tail[-60:]), flush=True)
    return code == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--busy-max-s", type=float, default=3 * 3600, help="the busy loop's own deadline")
    parser.add_argument("--log-dir", type=Path, default=ROOT / "var" / "soak")
    parser.add_argument("pytest_args", nargs="*", help="after '--': extra pytest arguments (default: tests/e2e)")
    args = parser.parse_args(argv)
    pytest_args = args.pytest_args or ["tests/e2e"]
    args.log_dir.mkdir(parents=True, exist_ok=True)
    slot = os.environ.get("CW_TEST_SLOT", "0")
    print(f"soak: {args.runs} runs of 'pytest -m e2e {' '.join(pytest_args)}' (CW_TEST_SLOT={slot}), "
          f"one core kept busy; logs in {args.log_dir}", flush=True)  # fmt: skip
    busy = start_busy_core(args.busy_max_s)
    passed = 0
    started = time.monotonic()
    try:
        for n in range(1, args.runs + 1):
            if not run_once(n, args.runs, pytest_args, args.log_dir, busy):
                break
            passed += 1
    finally:
        stop(busy)
    print(f"soak: {passed}/{args.runs} runs passed in {time.monotonic() - started:.0f}s", flush=True)
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
