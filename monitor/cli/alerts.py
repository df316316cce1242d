"""`monitor alerts`: list deliveries, deliver what is due, send a test message to a channel."""

from __future__ import annotations

import argparse
from typing import Any

STATES = ("pending", "sending", "sent", "failed")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "alerts",
        help="list deliveries (pending, sent, failed); --retry delivers what is due now",
        description="List deliveries, newest first. `monitor alerts test CHANNEL` sends a test "
        "message to one channel.",
    )
    parser.add_argument("--state", choices=STATES, help="only deliveries in this state")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--limit", type=int, default=200, help="at most this many (default 200)")
    parser.add_argument(
        "--retry",
        action="store_true",
        help="deliver now every pending delivery and retry failed ones; exit 1 if any fails",
    )
    parser.set_defaults(handler=list_or_retry)
    commands = parser.add_subparsers(dest="alerts_command", metavar="test CHANNEL")
    test = commands.add_parser("test", help="send a test message to one channel")
    test.add_argument("channel", help="a channel name from watchlist.toml (or 'console')")
    test.set_defaults(handler=send_test)


def _open(args: argparse.Namespace) -> tuple[Any, Any]:
    from monitor.config import load_config
    from monitor.store.db import open_engine

    config = load_config(args.watchlist)
    return config, open_engine(config.database_url)


def list_or_retry(args: argparse.Namespace) -> int:
    from monitor import alerts

    config, engine = _open(args)
    if args.retry:
        summary = alerts.deliver_due(config, engine, limit=max(args.limit, 1000), retry_now=True)
        print(summary.describe())
        return 0 if summary.ok else 1
    print(alerts.show_deliveries(engine, args.state, as_json=args.json, limit=args.limit))
    return 0


def send_test(args: argparse.Namespace) -> int:
    from monitor import alerts
    from monitor.config import load_config

    print(alerts.send_test(load_config(args.watchlist), args.channel))
    return 0
