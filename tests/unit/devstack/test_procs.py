"""workers.devstack.procs: what makes a PID ours (exact marker, cwd, start time), on harmless children."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from workers.devstack import procs
from workers.devstack.procs import PidRecord, is_ours, run_marker

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture
def spawn() -> Iterator:
    started: list[subprocess.Popen[bytes]] = []

    def run(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([*SLEEPER, *args], cwd=cwd)
        started.append(proc)
        for _ in range(1500):  # until the child has exec'd (no bound on how fast: only that it happens)
            if procs.argv(proc.pid) == [*SLEEPER, *args]:
                break
            time.sleep(0.01)
        return proc

    yield run
    for proc in started:
        proc.kill()
        proc.wait(timeout=5)


def test_marker_is_one_shell_safe_argument_per_run_dir(tmp_path: Path) -> None:
    odd = tmp_path / "a home #1" / "runs" / "x: y"
    marker = run_marker(odd)
    assert marker.startswith("-Dcontract-workers.run=")
    assert all(c.isalnum() or c in "-.=_" for c in marker), marker  # survives $JAVA_OPTS splitting
    assert marker == run_marker(odd)
    assert marker != run_marker(tmp_path / "a home #1" / "runs" / "other")


def test_argv_keeps_arguments_with_spaces_whole(tmp_path: Path, spawn) -> None:
    proc = spawn("--path=/a b/c", "plain", cwd=tmp_path)
    assert procs.argv(proc.pid)[-2:] == ["--path=/a b/c", "plain"]
    assert procs.cwd(proc.pid) == tmp_path.resolve()


def test_start_time_is_stable_and_differs_between_processes(tmp_path: Path, spawn) -> None:
    first = spawn(cwd=tmp_path)
    started = procs.start_time(first.pid)
    assert isinstance(started, int) and started > 0
    assert procs.start_time(first.pid) == started
    assert PidRecord.of(first.pid) == PidRecord(first.pid, started)


def test_pid_record_round_trip_and_old_format() -> None:
    assert PidRecord.parse(PidRecord(42, 1234).dump()) == PidRecord(42, 1234)
    assert PidRecord.parse("42\n") == PidRecord(42, None)  # written by an older version
    assert PidRecord(42).dump() == "42\n"
    for garbage in ("", "x", "1 2 3", "42 abc"):
        assert PidRecord.parse(garbage) is None, garbage


def test_is_ours_needs_marker_cwd_and_start_time(tmp_path: Path, spawn) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    ours = spawn(run_marker(run_dir), cwd=run_dir)
    record = PidRecord.of(ours.pid)
    assert is_ours(record, run_dir)
    assert is_ours(PidRecord(ours.pid), run_dir)  # an old PID file without a start time
    assert not is_ours(PidRecord(ours.pid, record.started + 1), run_dir)  # the PID was reused
    assert not is_ours(record, tmp_path)  # another run dir: other marker, other cwd


def test_is_ours_refuses_a_dead_process(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"], cwd=tmp_path)
    dead.wait()
    assert not procs.pid_alive(dead.pid)
    assert not is_ours(PidRecord(dead.pid), tmp_path)
