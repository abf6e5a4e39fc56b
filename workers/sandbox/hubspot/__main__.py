"""``python -m workers.sandbox.hubspot``: serve the HubSpot sandbox on the CRMSANDBOX_* address."""

from __future__ import annotations

import argparse
import asyncio

from workers import logs
from workers.config import SettingsProblem
from workers.crm.settings import crm_sandbox
from workers.sandbox.hubspot.server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workers.sandbox.hubspot",
        description="Local simulator of HubSpot's CRM object API and webhooks (loopback only).",
    )
    parser.add_argument("--host", help="listen address (default CRMSANDBOX_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (default CRMSANDBOX_PORT, 8094)")
    parser.add_argument("--webhook-url", help="where webhooks go (default CRMSANDBOX_WEBHOOK_URL)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--json-logs", action="store_true", default=None, help="JSON log lines even on a TTY")
    args = parser.parse_args(argv)

    logs.configure(args.log_level, json=args.json_logs)
    try:
        settings = crm_sandbox()
    except SettingsProblem as exc:
        parser.exit(2, f"{exc}\n")
    updates = {
        k: v for k, v in (("host", args.host), ("port", args.port), ("webhook_url", args.webhook_url)) if v is not None
    }
    if updates:
        settings = settings.model_copy(update=updates)
    try:
        asyncio.run(serve(settings, log_level=args.log_level.lower()))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
