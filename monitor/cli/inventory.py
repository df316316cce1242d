"""inventory scan (model ids in code) and exposure (inventory models × the registry)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXPOSURE_COLUMNS = ("team", "model", "status", "shutdown", "days_left", "replacement", "matches")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("inventory", help="the models your code uses")
    sub = p.add_subparsers(dest="inventory_command", metavar="ACTION", required=True)
    scan = sub.add_parser("scan", help="find model ids in source and config files")
    scan.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to read")
    scan.add_argument("--json", action="store_true", help="one JSON array of {model, path, line}")
    scan.add_argument("--write", action="store_true", help="append an [[inventory]] table")
    scan.add_argument("--team", help="the team the found models belong to (needed by --write)")
    scan.set_defaults(handler=inventory_scan)

    p = subparsers.add_parser("exposure", help="each inventory model: status, shutdown, days left")
    p.add_argument("--team", help="only this team")
    p.add_argument("--json", action="store_true", help="one JSON array on stdout")
    p.set_defaults(handler=exposure)


def _known_ids(watchlist: str) -> list[str]:
    """The registry's ids, when a database is there to read; none otherwise."""
    from monitor.config import load_config
    from monitor.errors import ConfigError
    from monitor.store.db import open_engine
    from monitor.store.lifecycle import models

    try:
        config = load_config(watchlist)
    except ConfigError:
        return []
    return [row.model for row in models(open_engine(config.database_url))]


def inventory_scan(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from monitor.inventory.scan import scan
    from monitor.inventory.write import grouped, inventory_table

    roots = [Path(path) for path in args.paths]
    missing = [str(root) for root in roots if not root.exists()]
    if missing:
        print(f"error: no such file or folder: {missing[0]}", file=sys.stderr)
        return 2
    if args.write and not args.team:
        print("error: --write needs --team TEAM (the team these models belong to)", file=sys.stderr)
        return 2
    known = _known_ids(args.watchlist) if Path(args.watchlist).exists() else []
    uses = list(scan(roots, known))
    if args.json:
        print(
            json.dumps([{"model": u.model, "path": u.path, "line": u.line} for u in uses], indent=2)
        )
    else:
        for use in uses:
            print(f"{use.where}: {use.model}")
        models = len({u.model for u in uses})
        print(
            f"{len(uses)} use{'s' if len(uses) != 1 else ''} of {models} model{'s' if models != 1 else ''}",
            file=sys.stderr,
        )
    if args.write:
        return _write(args, grouped(uses), datetime.now(UTC).date(), inventory_table)
    return 0


def _write(args: argparse.Namespace, found: dict[str, list[str]], today: Any, table: Any) -> int:
    from monitor.config import load_config

    path = Path(args.watchlist)
    config = load_config(path)
    already = {m for entry in config.inventory if entry.team == args.team for m in entry.models}
    new = {model: places for model, places in found.items() if model not in already}
    if not new:
        print(
            f"nothing to add: team {args.team!r} already lists every model found", file=sys.stderr
        )
        return 0
    text = table(args.team, new, today=today)
    with path.open("a", encoding="utf-8") as file:
        file.write(text)
    load_config(path)  # what was appended must still be a valid watchlist
    print(f"added to {path} for review:\n{text}", file=sys.stderr)
    return 0


def exposure(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from monitor.config import load_config
    from monitor.inventory.exposure import exposure_items
    from monitor.store.db import open_engine
    from monitor.store.lifecycle import effective_status, models

    config = load_config(args.watchlist)
    if not config.inventory:
        print(
            "no inventory: add [[inventory]] tables to the watchlist or run `monitor inventory scan`"
        )
        return 0
    if args.team and args.team not in {e.team for e in config.inventory}:
        teams = ", ".join(sorted({e.team for e in config.inventory}))
        print(f"error: no team {args.team!r} in the inventory (teams: {teams})", file=sys.stderr)
        return 2
    today = datetime.now(UTC).date()
    rows = models(open_engine(config.database_url), today=today)
    found = exposure_items(
        config.inventory, config.aliases, rows, today, effective_status, args.team
    )
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return 0
    table = [list(EXPOSURE_COLUMNS) + ["used_in"]]
    for item in found:
        cells = ["-" if item[name] is None else str(item[name]) for name in EXPOSURE_COLUMNS]
        table.append(cells + [", ".join(item["used_in"][:3]) or "-"])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0
