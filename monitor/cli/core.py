"""check, history, show, versions, cat, at, validate."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check", help="one pass over the watchlist: fetch, extract, diff, record"
    )
    p.add_argument("--watch", action="append", metavar="ID", help="only this watch (repeatable)")
    p.add_argument("--tag", action="append", metavar="TAG", help="only watches with this tag")
    p.add_argument("--json", action="store_true", help="one JSON object per check on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    p.add_argument(
        "--no-alerts", action="store_true", help="record only; `monitor alerts --retry` sends later"
    )
    p.set_defaults(handler=check)

    p = subparsers.add_parser("history", help="changes, newest first; with a watch, its timeline")
    p.add_argument("watch", nargs="?", help="a watch id: show its checks, versions and changes")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--all", action="store_true", help="include rule changes and reverts")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=history)

    p = subparsers.add_parser("show", help="one change: word-level diff with section headings")
    p.add_argument("change_id", type=int)
    p.add_argument("--json", action="store_true")
    p.add_argument("--html", action="store_true", help="a side-by-side HTML page on stdout")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    p.set_defaults(handler=show)

    p = subparsers.add_parser("versions", help="the recorded versions of one watch")
    p.add_argument("watch")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=versions)

    p = subparsers.add_parser("cat", help="print one version's text (or --raw snapshot bytes)")
    p.add_argument("version_id", type=int)
    p.add_argument("--raw", action="store_true", help="the raw snapshot it was extracted from")
    p.set_defaults(handler=cat)

    p = subparsers.add_parser("at", help="the version of a watch in force on a date")
    p.add_argument("date", help="YYYY-MM-DD or an ISO time (UTC)")
    p.add_argument("watch")
    p.set_defaults(handler=at)

    p = subparsers.add_parser("reclassify", help="re-run the rules over the stored history")
    p.add_argument("--watch", action="append", metavar="ID", help="only this watch (repeatable)")
    p.set_defaults(handler=reclassify)

    p = subparsers.add_parser("validate", help="check the watchlist; --fetch tries each watch")
    p.add_argument("--fetch", action="store_true", help="fetch each watch twice, report noise")
    p.add_argument("--watch", action="append", metavar="ID")
    p.set_defaults(handler=validate)


def _load(args: argparse.Namespace) -> Any:
    from monitor.config import load_config

    return load_config(args.watchlist)


def _selected(config: Any, args: argparse.Namespace) -> list[Any]:
    watches = list(config.watches)
    if getattr(args, "watch", None):
        watches = [config.watch(watch_id) for watch_id in args.watch]
    if getattr(args, "tag", None):
        watches = [w for w in watches if set(w.tags) & set(args.tag)]
    return watches


def check(args: argparse.Namespace) -> int:
    import asyncio

    from monitor import report
    from monitor.pipeline import check_watches

    config = _load(args)
    for line in config.missing_secrets():
        print(f"warning: {line}", file=sys.stderr)
    watches = _selected(config, args)
    progress = report.Progress(len(watches), enabled=not args.no_progress and sys.stderr.isatty())
    reports = asyncio.run(check_watches(config, watches, on_done=progress.step))
    progress.close()
    if args.json:
        for item in reports:
            print(json.dumps(report.check_json(item), ensure_ascii=False))
    else:
        print(report.check_table(reports))
    if not args.no_alerts and not args.json and any(r.change_id for r in reports):
        from monitor.alerts import deliver_due
        from monitor.store.db import open_engine

        sent = deliver_due(config, open_engine(config.database_url), limit=1000)
        print(f"alerts: {sent.describe()}", file=sys.stderr)
    return 1 if any(r.failed for r in reports) else 0


def history(args: argparse.Namespace) -> int:
    from monitor import report
    from monitor.store import queries
    from monitor.store.db import open_engine

    config = _load(args)
    engine = open_engine(config.database_url)
    if args.watch:
        config.watch(args.watch)
        changes = queries.changes(engine, args.watch, limit=args.limit)
        if args.json:
            print(
                json.dumps([report.change_json(c) for c in changes], ensure_ascii=False, indent=2)
            )
            return 0
        print(report.timeline(engine, args.watch, limit=args.limit))
        return 0
    changes = queries.changes(engine, limit=args.limit * 2 if not args.all else args.limit)
    if not args.all:
        changes = [c for c in changes if not {"rule_change", "revert"} & set(c.labels)]
    changes = changes[: args.limit]
    if args.json:
        print(json.dumps([report.change_json(c) for c in changes], ensure_ascii=False, indent=2))
    else:
        print(report.change_table(changes) if changes else "no changes recorded yet")
    return 0


def show(args: argparse.Namespace) -> int:
    from monitor import report
    from monitor.errors import MonitorError
    from monitor.store import queries
    from monitor.store.db import open_engine

    config = _load(args)
    engine = open_engine(config.database_url)
    change = queries.change(engine, args.change_id)
    if change is None:
        raise MonitorError(f"no change {args.change_id}; `monitor history` lists them")
    if args.json:
        print(json.dumps(report.change_json(change, full=True), ensure_ascii=False, indent=2))
    elif args.html:
        print(report.change_html(change))
    else:
        color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
        print(report.change_text(change, color=color))
    return 0


def versions(args: argparse.Namespace) -> int:
    from monitor import report
    from monitor.store import queries
    from monitor.store.db import open_engine

    config = _load(args)
    config.watch(args.watch)
    rows = queries.versions(open_engine(config.database_url), args.watch)
    if args.json:
        print(json.dumps([report.version_json(v, s) for v, s in rows], indent=2))
    else:
        print(report.version_table(rows) if rows else f"no versions of {args.watch} yet")
    return 0


def cat(args: argparse.Namespace) -> int:
    from monitor.errors import MonitorError
    from monitor.snapshots import open_bodies
    from monitor.store import queries
    from monitor.store.db import open_engine

    config = _load(args)
    found = queries.version(open_engine(config.database_url), args.version_id)
    if found is None:
        raise MonitorError(f"no version {args.version_id}; `monitor versions WATCH` lists them")
    version, snapshot = found
    bodies = open_bodies(config.snapshots)
    if args.raw:
        sys.stdout.buffer.write(bodies.get(snapshot.sha256))
    else:
        sys.stdout.write(bodies.get_text(version.text_sha256))
    sys.stdout.flush()
    return 0


def at(args: argparse.Namespace) -> int:
    from monitor import report
    from monitor.errors import MonitorError
    from monitor.snapshots import open_bodies
    from monitor.store import queries
    from monitor.store.db import open_engine

    config = _load(args)
    config.watch(args.watch)
    when = report.parse_when(args.date)
    version = queries.version_at(open_engine(config.database_url), args.watch, when)
    if version is None:
        raise MonitorError(f"{args.watch} has no version recorded on or before {args.date}")
    print(
        f"# {args.watch}: version {version.seq} (id {version.id}), seen {version.seen_at:%Y-%m-%d %H:%M} UTC",
        file=sys.stderr,
    )
    sys.stdout.write(open_bodies(config.snapshots).get_text(version.text_sha256))
    return 0


def validate(args: argparse.Namespace) -> int:
    config = _load(args)
    problems = config.missing_secrets()
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    print(
        f"{config.path.name}: {len(config.watches)} watches, {len(config.channels)} channels: valid"
    )
    if args.fetch:
        import asyncio

        from monitor.validate import fetch_twice

        lines, ok = asyncio.run(fetch_twice(config, _selected(config, args)))
        for line in lines:
            print(line)
        if not ok:
            return 1
    return 2 if problems else 0


def reclassify(args: argparse.Namespace) -> int:
    from monitor.reclassify import reclassify as run

    config = _load(args)
    for watch_id in args.watch or ():
        config.watch(watch_id)
    examined, updated = run(config, args.watch)
    print(f"reclassified {examined} changes: {updated} got new labels, facts or summary")
    return 0
