"""``contract-workers bridge`` / ``worker`` as a user runs them: no usable secret, no start.

Each case runs the installed command in a subprocess with a clean environment (no inherited settings, no
``.env``): it must exit non-zero on its own (the 60 s timeout is a safety net, not a speed check), print
one line naming the variable and never the value. No engine is needed: the refusal comes first.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from workers.config import DEV_CLIENT_SECRET, DEV_WEBHOOK_SECRET
from workers.hr.settings import DEV_BAMBOOHR_API_KEY

COMMAND = str(Path(sys.executable).parent / "contract-workers")
_OURS = ("ZEEBE_", "CAMUNDA_", "CONTRACTIZE_", "BRIDGE_", "DMS_", "PII_", "SANDBOX_", "DEVSTACK_", "WORKER_",
         "CONTRACT_WORKERS_", "BAMBOOHR_", "HRSANDBOX_")  # fmt: skip
VAR = "CONTRACTIZE_WEBHOOK_SECRET"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_OURS)}
    # Should a case start after all, it must not touch anyone's engine or port.
    env.update({"ZEEBE_ADDRESS": "127.0.0.1:9", "BRIDGE_PORT": str(free_port())})
    env.update(settings)
    return env


def run(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([COMMAND, *args], env=clean_env(**settings), cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"`contract-workers {' '.join(args)}` did not exit within 60 s with {sorted(settings)}")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "is not set"),
        ("", "is empty"),
        ("   ", "is empty"),
        ("whsec_a", "not valid base64"),
        ("whsec_c2hvcnQ=", "too short"),
        ("short-secret", "too short"),
        (DEV_WEBHOOK_SECRET, "development value"),
    ],
    ids=["missing", "empty", "blank", "whsec-not-base64", "whsec-too-short", "too-short", "dev-value"],
)
def test_bridge_refuses_to_start_without_a_usable_secret(tmp_path: Path, value: str | None, reason: str):
    result = run(tmp_path, "bridge", **({} if value is None else {VAR: value}))

    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-500:]
    assert VAR in lines[0] and reason in lines[0], lines[0]
    if value and value.strip():
        assert value not in result.stderr + result.stdout


def test_a_bad_previous_secret_is_named_too(tmp_path: Path):
    result = run(tmp_path, "bridge", **{VAR: "a-real-looking-webhook-secret", f"{VAR}_PREVIOUS": "whsec_a"})

    assert result.returncode == 2
    assert f"{VAR}_PREVIOUS is a whsec_ value that is not valid base64" in result.stderr


def test_an_unknown_environment_name_is_refused(tmp_path: Path):
    result = run(tmp_path, "bridge", CONTRACT_WORKERS_ENV="staging", **{VAR: DEV_WEBHOOK_SECRET})

    assert result.returncode == 2
    assert "CONTRACT_WORKERS_ENV" in result.stderr


@pytest.mark.parametrize(
    ("settings", "var", "reason"),
    [
        ({}, "CONTRACTIZE_CLIENT_SECRET", "is not set"),
        ({"CONTRACTIZE_CLIENT_SECRET": DEV_CLIENT_SECRET}, "CONTRACTIZE_CLIENT_SECRET", "development value"),
        ({"CONTRACTIZE_CLIENT_SECRET": "a-real-client-secret", "DMS_KIND": "http", "DMS_URL": "https://dms.example"},
         "DMS_TOKEN", "is not set"),
        ({"CONTRACTIZE_CLIENT_SECRET": "a-real-client-secret"}, "BAMBOOHR_API_KEY", "is not set"),
        ({"CONTRACTIZE_CLIENT_SECRET": "a-real-client-secret", "BAMBOOHR_API_KEY": DEV_BAMBOOHR_API_KEY},
         "BAMBOOHR_API_KEY", "development value"),
    ],
    ids=["client-secret-missing", "client-secret-dev", "dms-token-missing", "hr-key-missing", "hr-key-dev"],
)  # fmt: skip
def test_worker_refuses_to_start_without_usable_secrets(tmp_path: Path, settings: dict[str, str], var: str,
                                                         reason: str):  # fmt: skip
    result = run(tmp_path, "worker", **settings)

    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {var} ") and reason in lines[0], result.stderr
    for name in ("CONTRACTIZE_CLIENT_SECRET", "BAMBOOHR_API_KEY"):
        if name in settings:
            assert settings[name] not in result.stderr


def test_in_development_mode_the_bridge_starts_with_the_dev_secret(tmp_path: Path):
    # The control case: the same command does start when development mode is asked for explicitly.
    env = clean_env(CONTRACT_WORKERS_ENV="development")
    port = env["BRIDGE_PORT"]
    proc = subprocess.Popen([COMMAND, "bridge"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2, trust_env=False).status_code
            except httpx.HTTPError:
                status = None
            if status == 200:
                break
            time.sleep(0.1)
        assert status == 200, f"bridge not serving after 60 s (exit code {proc.poll()}, last status {status})"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
