"""run, run --dispatch, worker, status."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any


def _seconds(text: str) -> float:
    from monitor.config import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run", help="the daemon: check each watch on its schedule and deliver alerts"
    )
    p.add_argument(
        "--once",
        action="store_true",
        help="check the watches that are due now, deliver alerts, exit (for cron); "
        "exit code 1 when a check failed",
    )
    _add_log_format(p)
    _add_grace(p)
    p.add_argument(
        "--alerts-every",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="how often the alert sender runs (default 30s)",
    )
    p.add_argument(
        "--reload-every",
        type=_seconds,
        default=2.0,
        metavar="SECONDS",
        help="how often the watchlist's mtime is looked at (default 2s; SIGHUP reloads at once)",
    )
    p.add_argument(
        "--allow-empty",
        action="store_true",
        help="accept a watchlist edit that leaves no watch (else it is refused and logged)",
    )
    p.add_argument(
        "--dispatch",
        action="store_true",
        help="enqueue due checks for `monitor worker` processes instead of running them "
        "(PostgreSQL; pip install 'monitor[scale]')",
    )
    p.add_argument(
        "--stall-timeout",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="with --dispatch: put back the jobs of a worker silent this long (default 60s)",
    )
    p.set_defaults(handler=run)

    p = subparsers.add_parser(
        "worker", help="run the checks and alert deliveries `monitor run --dispatch` enqueues"
    )
    p.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="jobs at once (default 4)"
    )
    _add_grace(p)
    p.add_argument(
        "--heartbeat",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="how often the worker says it is alive (default 10s; keep it well under the "
        "dispatcher's --stall-timeout)",
    )
    _add_log_format(p)
    p.set_defaults(handler=worker)

    p = subparsers.add_parser(
        "status", help="every watch: last check, outcome, next run, failures in a row"
    )
    p.add_argument("--json", action="store_true", help="a JSON array on stdout")
    p.set_defaults(handler=status)


def run(args: argparse.Namespace) -> int:
    import asyncio

    if args.dispatch:
        from monitor.daemon.dispatch import DispatchOptions, dispatch
        from monitor.daemon.logs import logging_to_stderr

        dispatching = DispatchOptions(
            alerts_every=args.alerts_every, stall_timeout=args.stall_timeout
        )
        with logging_to_stderr(args.log_format):
            return asyncio.run(dispatch(args.watchlist, dispatching))

    from monitor.daemon import Options
    from monitor.daemon import run as run_daemon

    options = Options(
        grace=args.grace,
        alerts_every=args.alerts_every,
        reload_every=args.reload_every,
        allow_empty=args.allow_empty,
    )
    return asyncio.run(
        run_daemon(args.watchlist, once=args.once, log_format=args.log_format, options=options)
    )


def worker(args: argparse.Namespace) -> int:
    import asyncio

    from monitor.daemon.dispatch import WorkerOptions, work
    from monitor.daemon.logs import logging_to_stderr

    if args.concurrency < 1:
        print("error: --concurrency must be 1 or more", file=sys.stderr)
        return 2
    options = WorkerOptions(
        concurrency=args.concurrency, grace=args.grace, heartbeat=args.heartbeat
    )
    with logging_to_stderr(args.log_format):
        return asyncio.run(work(args.watchlist, options))


def _when(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat(timespec="seconds")


def _ago(at: datetime, now: datetime) -> str:
    seconds = int((at - now).total_seconds())
    span = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if span >= size:
            text = f"{span // size}{unit}"
            break
    else:
        text = f"{span}s"
    return f"in {text}" if seconds > 0 else f"{text} ago"


def status(args: argparse.Namespace) -> int:
    from monitor.config import load_config
    from monitor.daemon import status as watch_status
    from monitor.store.db import open_engine

    config = load_config(args.watchlist)
    rows = watch_status(config, open_engine(config.database_url))
    now = datetime.now(UTC)
    if args.json:
        items = [
            {
                "watch": r.watch_id,
                "last_check_at": _when(r.last_check_at),
                "last_outcome": r.last_outcome,
                "next_check_at": _when(r.next_check_at),
                "due": r.due(now),
                "failures_in_row": r.failures_in_row,
            }
            for r in rows
        ]
        print(json.dumps(items, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no watches in the watchlist")
        return 0
    table = [("watch", "last check", "outcome", "next run", "failures")]
    for r in rows:
        last = "never" if r.last_check_at is None else _ago(r.last_check_at, now)
        if r.next_check_at is None:
            next_run = "due now"
        elif r.due(now):
            next_run = f"due ({_ago(r.next_check_at, now)})"
        else:
            next_run = f"{r.next_check_at:%Y-%m-%d %H:%M:%S} ({_ago(r.next_check_at, now)})"
        table.append(
            (r.watch_id, last, r.last_outcome or "-", next_run, str(r.failures_in_row or ""))
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    from monitor.store.outbox import failed_by_channel

    failed = failed_by_channel(open_engine(config.database_url))
    if failed:
        counts = ", ".join(f"{name} {count}" for name, count in failed.items())
        print(f"failed deliveries: {counts} (`monitor alerts --state failed` lists them)")
    return 0


def _add_log_format(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--log-format", choices=("plain", "json"), default="plain", help="log lines on stderr"
    )


def _add_grace(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--grace",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="at SIGTERM/SIGINT, how long checks in flight may finish (default 5s)",
    )
