"""models (the lifecycle registry, as a table, JSON or iCalendar) and eval (score the rules)."""

from __future__ import annotations

import argparse
import json
from typing import Any

COLUMNS = ("provider", "model", "status", "announced", "shutdown", "replacement", "surface")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("models", help="the model lifecycle registry: status and dates")
    p.add_argument("--provider", help="only this provider (openai, anthropic, google, …)")
    p.add_argument("--status", choices=("active", "legacy", "deprecated", "retiring", "retired"))
    p.add_argument(
        "--upcoming", metavar="DAYS", help="only shutdowns in the next DAYS (e.g. 90d, 2w)"
    )
    p.add_argument("--mine", action="store_true", help="only models the inventory uses")
    p.add_argument("--team", help="only models this inventory team uses (implies --mine)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON array on stdout")
    out.add_argument("--ics", action="store_true", help="an iCalendar of shutdown dates")
    p.set_defaults(handler=models)

    p = subparsers.add_parser("eval", help="run labelled classifier cases, score each label")
    p.add_argument("directory", help="a folder of cases (see monitor/evaluate.py)")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--by-page",
        action="store_true",
        help="score each page (watch id) alone, the rules each page supports, leave-one-page-out",
    )
    p.add_argument("--baseline", metavar="FILE", help="fail when a label drops below its floor")
    p.add_argument("--pin", action="store_true", help="write DIRECTORY/baseline.json")
    p.add_argument("--allow-regression", action="store_true", help="let --pin lower a floor")
    p.set_defaults(handler=evaluate)


def _days(text: str) -> int:
    from monitor.config import parse_duration
    from monitor.errors import ConfigError

    spec = text if text[-1:].isalpha() else f"{text}d"
    try:
        return max(0, round(parse_duration(spec) / 86400))
    except ValueError as exc:
        raise ConfigError(f"--upcoming: {exc}") from None


def models(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from monitor.calendar import shutdown_calendar
    from monitor.config import load_config
    from monitor.store.db import open_engine
    from monitor.store.lifecycle import as_dict
    from monitor.store.lifecycle import models as registry

    config = load_config(args.watchlist)
    engine = open_engine(config.database_url)
    today = datetime.now(UTC).date()
    upcoming = _days(args.upcoming) if args.upcoming else None
    rows = registry(engine, args.provider, args.status, upcoming, today=today)
    if args.mine or args.team:
        rows = _mine(config, rows, args.team)
    if args.ics:
        print(shutdown_calendar(rows), end="")
        return 0
    found = [as_dict(row, today) for row in rows]
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return 0
    if not found:
        filtered = args.provider or args.status or args.upcoming or args.mine or args.team
        print("no models match" if filtered else "no models recorded yet")
        return 0
    table = [[*COLUMNS, "source"]]
    for item in found:
        source = item["source"] or ""
        table.append([str(item[name] or "-") for name in COLUMNS] + [source])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _mine(config: Any, rows: list[Any], team: str | None) -> list[Any]:
    """The registry rows some inventory model (of `team`, or of any team) matches."""
    from monitor.errors import ConfigError
    from monitor.inventory.exposure import team_rows

    teams = {entry.team for entry in config.inventory}
    if team is not None and team not in teams:
        known = ", ".join(sorted(teams)) or "none; add [[inventory]] tables"
        raise ConfigError(f"--team: no team {team!r} in the inventory (teams: {known})")
    return team_rows(config.inventory, config.aliases, rows, team)


def evaluate(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from monitor import evaluate as ev

    folder = Path(args.directory)
    if not folder.is_dir():
        print(f"error: {folder}: no such directory of cases", file=sys.stderr)
        return 2
    report = ev.evaluate(folder)
    problems = []
    if args.baseline:
        problems = ev.regressions(report, json.loads(Path(args.baseline).read_text()))
    if args.json:
        extra: dict[str, Any] = {}
        if args.by_page:
            extra["pages"] = {page: part.to_json() for page, part in report.pages().items()}
            extra["rule_support"] = report.rule_support()
            extra["leave_one_page_out"] = report.leave_one_page_out()
        print(json.dumps({**report.to_json(), **extra, "regressions": problems}, indent=2))
    else:
        print(ev.format_report(report))
        if args.by_page:
            print(ev.format_pages(report))
        for line in problems:
            print(f"regression: {line}")
    if args.pin:
        try:
            ev.write_baseline(folder, report, allow_regression=args.allow_regression)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"pinned {folder / 'baseline.json'}", file=sys.stderr)
    return 1 if report.errors or problems else 0
