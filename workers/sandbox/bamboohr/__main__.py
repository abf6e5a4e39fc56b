"""``python -m workers.sandbox.bamboohr``: serve the BambooHR sandbox on the HRSANDBOX_* address."""

from __future__ import annotations

import argparse
import asyncio

from workers import logs
from workers.config import SettingsProblem
from workers.hr.settings import hr_sandbox
from workers.sandbox.bamboohr.server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workers.sandbox.bamboohr",
        description="Local simulator of BambooHR's employee API and webhooks (loopback only).",
    )
    parser.add_argument("--host", help="listen address (default HRSANDBOX_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (default HRSANDBOX_PORT, 8095)")
    parser.add_argument("--webhook-url", help="where webhooks go (default HRSANDBOX_WEBHOOK_URL)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--json-logs", action="store_true", default=None, help="JSON log lines even on a TTY")
    args = parser.parse_args(argv)

    logs.configure(args.log_level, json=args.json_logs)
    try:
        settings = hr_sandbox()
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
