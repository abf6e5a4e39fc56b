"""The SpotDraft sandbox on a real port: ``SpotDraftSandboxServer`` (tests: a background thread) and ``serve`` (the CLI,
``python -m``). Everything but these declarations is ``workers.sandbox.server.SandboxServer``.
"""

from __future__ import annotations

from workers.providers.spotdraft.settings import SpotDraftSandboxSettings, spotdraft_sandbox
from workers.sandbox.spotdraft.app import create_app
from workers.sandbox.spotdraft.state import SdSandboxState
from workers.sandbox.server import SandboxServer


class SpotDraftSandboxServer(SandboxServer):
    label = "spotdraft"
    default_settings = staticmethod(spotdraft_sandbox)
    new_state = SdSandboxState
    create_app = staticmethod(create_app)
    settings: SpotDraftSandboxSettings  # type: ignore[assignment]
    state: SdSandboxState  # type: ignore[assignment]


serve = SpotDraftSandboxServer.serve
