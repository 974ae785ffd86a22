"""Serve the sandbox CRM: ``python -m crm_sandbox --port 8081 --webhook-url URL``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType

from werkzeug.serving import make_server

from . import create_app, crm_of


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m crm_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--db", default=env("SANDBOX_DB", "instance/sandbox-crm.db"),
                        help="SQLite file (created and seeded with demo data when new)")
    parser.add_argument("--webhook-url", default=env("SANDBOX_WEBHOOK_URL"),
                        help="where events are POSTed (Bridgeflow's webhook endpoint)")
    parser.add_argument("--webhook-secret", default=env("SANDBOX_WEBHOOK_SECRET"),
                        help="shared HMAC secret (or set SANDBOX_WEBHOOK_SECRET)")
    parser.add_argument("--client-id", default=env("SANDBOX_CLIENT_ID", "bridgeflow"))
    parser.add_argument("--client-secret", default=env("SANDBOX_CLIENT_SECRET", "demo-secret"),
                        help="OAuth client secret (or set SANDBOX_CLIENT_SECRET)")
    parser.add_argument("--token-lifetime", type=float, default=7200.0, help="seconds")
    parser.add_argument("--api-limit", type=int, default=5000, help="API calls per day")
    parser.add_argument("--batch-size", type=int, default=2000, help="query records per page")
    parser.add_argument("--webhook-backoff", type=float, default=2.0,
                        help="seconds before the first retry; doubles each time")
    parser.add_argument("--webhook-backoff-max", type=float, default=300.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                                                   "%(message)s")
    if args.webhook_url and not args.webhook_secret:
        print("--webhook-url needs --webhook-secret (or SANDBOX_WEBHOOK_SECRET)",
              file=sys.stderr)
        return 2
    app = create_app({
        "DATABASE": args.db, "WEBHOOK_URL": args.webhook_url,
        "WEBHOOK_SECRET": args.webhook_secret, "CLIENT_ID": args.client_id,
        "CLIENT_SECRET": args.client_secret, "TOKEN_LIFETIME": args.token_lifetime,
        "API_DAILY_LIMIT": args.api_limit, "QUERY_BATCH_SIZE": args.batch_size,
        "WEBHOOK_BACKOFF_BASE": args.webhook_backoff,
        "WEBHOOK_BACKOFF_MAX": args.webhook_backoff_max})
    server = make_server(args.host, args.port, app, threaded=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"Sandbox CRM on http://{args.host}:{server.server_port}/ (database {args.db})",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        crm_of(app).sender.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
