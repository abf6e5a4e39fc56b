"""The BambooHR sandbox on a real port: ``HrSandboxServer`` (tests: a background thread) and ``serve`` (the CLI,
``python -m``). Everything but these declarations is ``workers.sandbox.server.SandboxServer``.
"""

from __future__ import annotations

from workers.hr.settings import HrSandboxSettings, hr_sandbox
from workers.sandbox.bamboohr.app import create_app
from workers.sandbox.bamboohr.state import HrSandboxState
from workers.sandbox.server import SandboxServer


class HrSandboxServer(SandboxServer):
    label = "bamboohr"
    default_settings = staticmethod(hr_sandbox)
    new_state = HrSandboxState
    create_app = staticmethod(create_app)
    settings: HrSandboxSettings  # type: ignore[assignment]
    state: HrSandboxState  # type: ignore[assignment]


serve = HrSandboxServer.serve
