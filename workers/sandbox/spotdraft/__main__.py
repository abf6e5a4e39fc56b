"""``python -m workers.sandbox.spotdraft``: serve the SpotDraft sandbox on the SDSANDBOX_* address."""

from __future__ import annotations

import argparse
import asyncio

from workers import logs
from workers.config import SettingsProblem
from workers.providers.spotdraft.settings import spotdraft_sandbox
from workers.sandbox.spotdraft.server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workers.sandbox.spotdraft",
        description="Local simulator of SpotDraft's Public API v2.1 and webhooks (loopback only).",
    )
    parser.add_argument("--host", help="listen address (default SDSANDBOX_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (default SDSANDBOX_PORT, 8092)")
    parser.add_argument("--webhook-url", help="where webhooks go (default SDSANDBOX_WEBHOOK_URL)")
    parser.add_argument("--auto-sign-after", type=float, metavar="SECONDS",
                        help="sign sent contracts this long after sending (default SDSANDBOX_AUTO_SIGN_AFTER_S)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--json-logs", action="store_true", default=None, help="JSON log lines even on a TTY")
    args = parser.parse_args(argv)

    logs.configure(args.log_level, json=args.json_logs)
    try:
        settings = spotdraft_sandbox()
    except SettingsProblem as exc:
        parser.exit(2, f"{exc}\n")
    given = (("host", args.host), ("port", args.port), ("webhook_url", args.webhook_url),
             ("auto_sign_after_s", args.auto_sign_after))  # fmt: skip
    updates = {k: v for k, v in given if v is not None}
    if updates:
        settings = settings.model_validate({**settings.model_dump(), **updates})
    try:
        asyncio.run(serve(settings, log_level=args.log_level.lower()))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
