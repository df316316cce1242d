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
    p.add_argument("--json", action="store_true", help="the version, its snapshot and its text")
    p.set_defaults(handler=cat)

    p = subparsers.add_parser("at", help="the version of a watch in force on a date")
    p.add_argument("date", help="YYYY-MM-DD or an ISO time (UTC)")
    p.add_argument("watch", nargs="?", help="print this watch's text (or --all for every watch)")
    p.add_argument("--all", action="store_true", help="every watch: version, evidence, coverage")
    p.add_argument(
        "--json", action="store_true", help="the version, its snapshot and its text (--all: a list)"
    )
    p.set_defaults(handler=at)

    p = subparsers.add_parser("reclassify", help="re-run the rules over the stored history")
    p.add_argument("--watch", action="append", metavar="ID", help="only this watch (repeatable)")
    p.set_defaults(handler=reclassify)

    p = subparsers.add_parser("validate", help="check the watchlist; --fetch tries each watch")
    p.add_argument("--fetch", action="store_true", help="fetch each watch twice, report noise")
    p.add_argument("--watch", action="append", metavar="ID")
    p.add_argument("--json", action="store_true", help="the findings as one JSON object")
    p.set_defaults(handler=validate)


def _load(args: argparse.Namespace) -> Any:
    from monitor.config import load_config

    return load_config(args.watchlist)


def _selected(config: Any, args: argparse.Namespace) -> list[Any]:
    watches = list(config.watches)
    if getattr(args, "watch", None):
        watches = [config.watch(watch_id) for watch_id in args.watch]
    if getattr(args, "tag", None):
        from monitor.errors import ConfigError

        known = sorted({tag for w in config.watches for tag in w.tags})
        unknown = [tag for tag in args.tag if tag not in known]
        if unknown:
            raise ConfigError(
                f"{config.path.name}: no watch has tag {unknown[0]!r} "
                f"(tags: {', '.join(known) or 'none'})"
            )
        watches = [w for w in watches if set(w.tags) & set(args.tag)]
    return watches


def _known_watch(config: Any, engine: Any, watch_id: str) -> None:
    """A watch of the watchlist, or one that has history in the database (removed since)."""
    from monitor.store import queries

    if any(w.id == watch_id for w in config.watches) or watch_id in queries.watch_rows(engine):
        return
    config.watch(watch_id)  # raises, naming the watches there are


def check(args: argparse.Namespace) -> int:
    import asyncio
    import gc

    # Start-up (imports, the watchlist) makes objects that live as long as the process: the
    # collector is off while they are made, then they are set apart, so its full passes during
    # the pass no longer walk them all again.
    gc.disable()
    try:
        from monitor import report
        from monitor.pipeline import check_watches

        config = _load(args)
    finally:
        gc.freeze()
        gc.enable()
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
    if not args.no_alerts and config.inventory:
        from monitor.store.db import open_engine
        from monitor.store.reminders import enqueue_reminders

        enqueue_reminders(open_engine(config.database_url), config)
    if not args.no_alerts:  # what is due, this pass's changes and any left pending before
        from monitor.alerts import deliver_due
        from monitor.store.db import open_engine

        sent = deliver_due(config, open_engine(config.database_url), limit=1000)
        if sent.sent or sent.retrying or sent.failed or sent.problems:
            print(f"alerts: {sent.describe()}", file=sys.stderr)
    return 1 if any(r.failed for r in reports) else 0


def history(args: argparse.Namespace) -> int:
    from monitor import report
    from monitor.store import queries
    from monitor.store.db import open_engine

    config = _load(args)
    engine = open_engine(config.database_url)
    if args.watch:
        _known_watch(config, engine, args.watch)
        changes = queries.changes(engine, args.watch, limit=args.limit)
        if args.json:
            checks = queries.checks(engine, args.watch, limit=args.limit)
            timeline = {
                "watch": args.watch,
                "checks": [report.check_row_json(c) for c in checks],
                "changes": [report.change_json(c) for c in changes],
            }
            print(json.dumps(timeline, ensure_ascii=False, indent=2))
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
        print(report.change_html(change, engine))
    else:
        color = args.color == "always" or (args.color == "auto" and report.color_ok(sys.stdout))
        print(report.change_text(change, color=color))
    return 0


def versions(args: argparse.Namespace) -> int:
    from monitor import report
    from monitor.store import queries
    from monitor.store.db import open_engine

    config = _load(args)
    engine = open_engine(config.database_url)
    _known_watch(config, engine, args.watch)
    rows = queries.versions(engine, args.watch)
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
    if args.json:
        from monitor import report

        data = report.version_json(version, snapshot) | {
            "watch": version.watch_id,
            "text": bodies.get_text(version.text_sha256),
        }
        print(json.dumps(data, ensure_ascii=False, indent=2))
    elif args.raw:
        sys.stdout.buffer.write(bodies.get(snapshot.sha256))
    else:
        _write_text(bodies.get_text(version.text_sha256))
    sys.stdout.flush()
    return 0


def _write_text(text: str) -> None:
    """A version's text, ending in a newline like any text a shell prints."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def at(args: argparse.Namespace) -> int:
    from monitor import report
    from monitor.errors import MonitorError
    from monitor.snapshots import open_bodies
    from monitor.store import queries
    from monitor.store.db import open_engine

    config = _load(args)
    if args.all:
        return at_all(args, config)
    if args.watch is None:
        raise MonitorError("give a watch id, or --all for every watch")
    engine = open_engine(config.database_url)
    _known_watch(config, engine, args.watch)
    when = report.parse_when(args.date)
    version = queries.version_at(engine, args.watch, when)
    if version is None:
        raise MonitorError(f"{args.watch} has no version recorded on or before {args.date}")
    text = open_bodies(config.snapshots).get_text(version.text_sha256)
    if args.json:
        found = queries.version(engine, int(version.id or 0))
        assert found is not None
        data = report.version_json(*found) | {"watch": args.watch, "text": text}
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    print(
        f"# {args.watch}: version {version.seq} (id {version.id}), seen {version.seen_at:%Y-%m-%d %H:%M} UTC",
        file=sys.stderr,
    )
    _write_text(text)
    return 0


def _browser_warnings(watches: list[Any]) -> list[str]:
    """One line per watch that may need the browser when this machine cannot run it."""
    needing = [w.id for w in watches if w.fetcher != "http"]
    if not needing:
        return []
    from monitor.browser import browser_problem

    problem = browser_problem()
    if problem is None:
        return []
    return [f"watch {watch_id!r} (fetcher browser/auto): {problem}" for watch_id in needing]


def at_all(args: argparse.Namespace, config: Any) -> int:
    from datetime import UTC, datetime

    from monitor import report
    from monitor.audit.in_force import in_force
    from monitor.store.db import open_engine

    when = min(report.parse_when(args.date), datetime.now(UTC))  # today: up to now
    if args.watch is not None:
        config.watch(args.watch)
    watches = [args.watch] if args.watch else [w.id for w in config.watches]
    intervals = {w.id: config.interval_of(w) for w in config.watches}
    items = list(in_force(open_engine(config.database_url), watches, intervals, when))
    if args.json:
        print(json.dumps([item.as_json() for item in items], ensure_ascii=False, indent=2))
        return 0
    rows = [
        [
            item.watch,
            f"{item.version_seq} (id {item.version_id})" if item.version_id else "-",
            f"{item.first_seen_at:%Y-%m-%d %H:%M}" if item.first_seen_at else "-",
            (item.snapshot_sha256 or "-")[:12],
            f"{item.last_confirmed_at:%Y-%m-%d %H:%M}" if item.last_confirmed_at else "-",
            item.warning or "verified",
        ]
        for item in items
    ]
    headers = ["watch", "version", "first seen", "snapshot", "last confirmed", "coverage"]
    print(f"in force on {when:%Y-%m-%d %H:%M} UTC")
    print(report._table(rows, headers))  # noqa: SLF001 - the shared table layout
    return 0


def validate(args: argparse.Namespace) -> int:
    """Exit 2 when the watchlist cannot run as written (a secret missing), 1 when --fetch
    found a watch that fails or is noisy, else 0. "valid" is said only when it is."""
    config = _load(args)
    selected = _selected(config, args)
    errors = config.missing_secrets()
    warnings = _browser_warnings(selected)
    fetched: list[str] = []
    fetch_ok = True
    if args.fetch and not errors:
        import asyncio

        from monitor.validate import fetch_twice

        fetched, fetch_ok = asyncio.run(fetch_twice(config, selected))
    counts = f"{len(config.watches)} watches, {len(config.channels)} channels"
    verdict = "invalid" if errors else "valid"
    code = 2 if errors else (0 if fetch_ok else 1)
    if args.json:
        data = {
            "watchlist": str(config.path),
            "watches": len(config.watches),
            "channels": len(config.channels),
            "valid": not errors,
            "errors": errors,
            "warnings": warnings,
            "fetch": fetched if args.fetch else None,
            "exit_code": code,
        }
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return code
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    if errors:
        print(f"{config.path.name}: {counts}: {verdict}, {len(errors)} problem(s) above")
        return code
    print(f"{config.path.name}: {counts}: {verdict}")
    for line in fetched:
        print(line)
    return code


def reclassify(args: argparse.Namespace) -> int:
    from monitor.reclassify import reclassify as run

    config = _load(args)
    for watch_id in args.watch or ():
        config.watch(watch_id)
    examined, updated = run(config, args.watch)
    print(f"reclassified {examined} changes: {updated} got new labels, facts or summary")
    return 0
