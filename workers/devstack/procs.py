"""Deciding whether a PID is a JVM this stack started, from ``/proc`` (Linux).

A PID file can outlive its process and the PID be reused by anything, so a substring of a command line
is not proof. A process is ours only when all of these hold:

* its argv contains the exact marker argument the stack passes (``-Dcontract-workers.run=<run id>``,
  a digest of the run dir: no spaces or shell-special characters, so it survives ``$JAVA_OPTS`` splitting);
* its working directory is the run dir (every JVM is started there);
* its start time (``/proc/<pid>/stat`` field 22) is the one recorded in the PID file, when recorded.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

MARKER_PROPERTY = "contract-workers.run"


def run_marker(run_dir: Path) -> str:
    """The exact argv element that marks a JVM as started for ``run_dir``."""
    digest = hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:20]
    return f"-D{MARKER_PROPERTY}={digest}"


# Runs as the child, before it becomes the real program: a fresh interpreter, so none of the parent's
# threads or gRPC state come along (a preexec_fn forked from a process with live gRPC threads was
# seen aborting the child). PR_SET_PDEATHSIG survives the exec; the JVM keeps this PID.
_SHIM = """
import ctypes, os, signal, sys
ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):  # the parent died before prctl: do not start at all
    sys.exit(1)
os.execvp(sys.argv[2], sys.argv[2:])
"""


def dying_with_parent(cmd: list[str]) -> list[str]:
    """``cmd`` wrapped so it gets SIGTERM when we die (even by SIGKILL); start it with ``process_group=0``
    and no ``preexec_fn``, so the child runs no Python code of ours between fork and exec (vfork)."""
    return [sys.executable, "-c", _SHIM, str(os.getpid()), *cmd]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            # "pid (comm) state ppid ..." — comm may hold spaces and ')', so split after the last ')'
            return fh.read().rsplit(") ", 1)[-1].split()
    except OSError:
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"  # a zombie is not alive


def start_time(pid: int) -> int | None:
    """Clock ticks after boot at which ``pid`` started (``/proc/<pid>/stat`` field 22), None if unknown."""
    fields = _stat_fields(pid)
    try:
        return int(fields[19]) if fields else None  # fields[0] is field 3 (state)
    except (IndexError, ValueError):
        return None


def argv(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def cwd(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


@dataclass(frozen=True)
class PidRecord:
    """What a PID file holds: ``<pid> <start time>`` (older files: just ``<pid>``)."""

    pid: int
    started: int | None = None

    @classmethod
    def of(cls, pid: int) -> "PidRecord":
        return cls(pid, start_time(pid))

    def dump(self) -> str:
        return f"{self.pid} {self.started}\n" if self.started is not None else f"{self.pid}\n"

    @classmethod
    def parse(cls, text: str) -> "PidRecord | None":
        parts = text.split()
        try:
            if len(parts) == 1:
                return cls(int(parts[0]))
            if len(parts) == 2:
                return cls(int(parts[0]), int(parts[1]))
        except ValueError:
            return None
        return None


def is_ours(record: PidRecord, run_dir: Path) -> bool:
    """True only for a live process with our exact marker, running in ``run_dir``, started when recorded."""
    if not pid_alive(record.pid):
        return False
    if run_marker(run_dir) not in argv(record.pid):
        return False
    where = cwd(record.pid)
    if where is None or where.resolve() != run_dir.resolve():
        return False
    return record.started is None or start_time(record.pid) == record.started
