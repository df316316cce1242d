"""verify, export, keys: the audit log's commands."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

FORMATS = ("bundle", "jsonl", "csv", "warc")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "verify", help="check the audit log (the live store, or an exported bundle offline)"
    )
    p.add_argument("bundle", nargs="?", type=Path, help="an exported bundle (.zip) to check")
    p.add_argument("--key", type=Path, metavar="PUBFILE", help="check the bundle's signature")
    p.add_argument("--max-size", type=int, metavar="BYTES", help="refuse bundles inflating past")
    p.set_defaults(handler=verify)

    p = subparsers.add_parser("export", help="export a period's history as audit evidence")
    p.add_argument("--since", required=True, help="YYYY-MM-DD (from 00:00 UTC) or an ISO time")
    p.add_argument("--until", required=True, help="YYYY-MM-DD (through that day) or an ISO time")
    p.add_argument("--watch", action="append", metavar="ID", help="only this watch (repeatable)")
    p.add_argument("--format", choices=FORMATS, default="bundle")
    p.add_argument("--sign", type=Path, metavar="KEYFILE", help="sign the bundle's manifest")
    p.add_argument("--out", required=True, type=Path, metavar="PATH")
    p.set_defaults(handler=export)

    p = subparsers.add_parser("keys", help="signing keys for audit bundles")
    keys = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    k = keys.add_parser("new", help="write a new Ed25519 key pair: NAME.key and NAME.pub")
    k.add_argument("--out", default="monitor-audit", metavar="NAME", help="default: monitor-audit")
    k.set_defaults(handler=keys_new)


def parse_bound(text: str, *, end: bool) -> datetime:
    """A date is its day's start (`--since`) or the next day's start (`--until`: the whole
    day is included); an ISO time is itself (UTC when it has no zone)."""
    from monitor.errors import MonitorError

    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).date()
            start = datetime.combine(day, time.min, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        when = datetime.fromisoformat(text)
    except ValueError:
        raise MonitorError(f"bad date {text!r}: use YYYY-MM-DD or an ISO time") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _print(verdict: Any) -> int:
    label = {2: "unusable"}.get(verdict.code, "broken")
    for line in verdict.breaks:
        print(f"{label}: {line}")
    if verdict.code == 0:
        print(f"intact: {verdict.summary}")
    elif verdict.code == 1:
        print(f"{len(verdict.breaks)} breaks found", file=sys.stderr)
    return int(verdict.code)


def verify(args: argparse.Namespace) -> int:
    from monitor.audit.verify import verify_bundle, verify_store

    if args.bundle is not None:
        return _print(verify_bundle(args.bundle, args.key, args.max_size))
    if args.key is not None:
        from monitor.errors import MonitorError

        raise MonitorError("--key checks a bundle's signature: give the bundle, e.g. BUNDLE.zip")
    from monitor.config import load_config
    from monitor.snapshots import open_bodies
    from monitor.store.db import open_engine

    config = load_config(args.watchlist)
    engine = open_engine(config.database_url)
    return _print(verify_store(engine, open_bodies(config.snapshots)))


def export(args: argparse.Namespace) -> int:
    from monitor.audit.bundle import Period
    from monitor.config import load_config
    from monitor.errors import ConfigError, MonitorError
    from monitor.snapshots import open_bodies
    from monitor.store.audit_reads import known_watches
    from monitor.store.db import open_engine

    since, until = parse_bound(args.since, end=False), parse_bound(args.until, end=True)
    if until <= since:
        raise MonitorError(f"--until {args.until} is not after --since {args.since}")
    if args.sign is not None and args.format != "bundle":
        raise MonitorError("--sign signs a bundle's manifest: use it with --format bundle")
    config = load_config(args.watchlist)
    engine = open_engine(config.database_url)
    configured = {w.id: w for w in config.watches}
    recorded = set(known_watches(engine))
    if args.watch:
        unknown = [w for w in args.watch if w not in configured and w not in recorded]
        if unknown:
            raise ConfigError(
                [f"--watch {w}: no such watch in the watchlist or the store" for w in unknown]
            )
        watches = tuple(sorted(set(args.watch)))
    else:
        watches = tuple(sorted(set(configured) | recorded))
    intervals = {
        w: config.interval_of(configured[w]) if w in configured else config.defaults.interval
        for w in watches
    }
    period = Period(since, until, watches, intervals)
    bodies = open_bodies(config.snapshots)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.format == "bundle":
        from monitor.audit.bundle import write_bundle

        sign = None
        if args.sign is not None:
            from monitor.audit.signing import signer

            key = signer(args.sign)  # a bad key fails before anything is written
            sign = key.sign
        manifest = write_bundle(engine, bodies, period, args.out, sign=sign)
        counts = manifest["counts"]
        print(
            f"{args.out}: {counts['events']} events, {counts['versions']} versions, "
            f"{counts['changes']} changes, {counts['unverified_gaps']} unverified gaps"
            + (", signed" if sign else "")
        )
        return 0
    if args.format == "warc":
        from monitor.audit.flat import snapshot_rows
        from monitor.audit.warc import write_warc

        count = write_warc(snapshot_rows(engine, period), bodies, args.out)
        print(f"{args.out}: {count} WARC response records")
        return 0
    from monitor.audit.flat import write_csv, write_jsonl

    write = write_jsonl if args.format == "jsonl" else write_csv
    print(f"{args.out}: {write(engine, period, args.out)} events")
    return 0


def keys_new(args: argparse.Namespace) -> int:
    from monitor.audit.signing import new_key_pair

    private, public = Path(f"{args.out}.key"), Path(f"{args.out}.pub")
    new_key_pair(private, public)
    print(f"wrote {private} (private: keep it secret) and {public} (give it to auditors)")
    return 0
