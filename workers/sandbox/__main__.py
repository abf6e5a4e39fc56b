"""``python -m workers.sandbox``: serve the Contractize-style sandbox on the SANDBOX_* address."""

from __future__ import annotations

import argparse
import asyncio

from workers import logs
from workers.config import SettingsProblem
from workers.config import sandbox as sandbox_settings
from workers.sandbox.server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workers.sandbox",
        description="Local simulator of the Contractize-style provider API (loopback only).",
    )
    parser.add_argument("--host", help="listen address (default SANDBOX_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (default SANDBOX_PORT, 8091)")
    parser.add_argument("--webhook-delay", type=float, help="seconds until a document is ready (SANDBOX_WEBHOOK_DELAY_S)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--json-logs", action="store_true", default=None, help="JSON log lines even on a TTY")
    args = parser.parse_args(argv)

    logs.configure(args.log_level, json=args.json_logs)
    try:
        settings = sandbox_settings()
    except SettingsProblem as exc:
        parser.exit(2, f"{exc}\n")
    updates = {
        k: v
        for k, v in (("host", args.host), ("port", args.port), ("webhook_delay_s", args.webhook_delay))
        if v is not None
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
