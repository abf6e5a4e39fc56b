from __future__ import annotations

from typing import Any

import pytest

from workers.sandbox import __main__ as sandbox_main


def test_main_serves_on_the_settings_address_with_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    async def fake_serve(settings: Any, **kwargs: Any) -> None:
        seen["settings"] = settings
        seen.update(kwargs)

    monkeypatch.setattr(sandbox_main, "serve", fake_serve)
    monkeypatch.setattr(sandbox_main.logs, "configure", lambda *a, **k: None)
    assert sandbox_main.main(["--port", "18999", "--webhook-delay", "0.2", "--log-level", "warning"]) == 0
    assert seen["settings"].port == 18999
    assert seen["settings"].webhook_delay_s == 0.2
    assert seen["settings"].host == "127.0.0.1"
    assert seen["log_level"] == "warning"
