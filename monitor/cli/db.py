"""db upgrade."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("db", help="the database: bring its schema up to date")
    commands = p.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    upgrade = commands.add_parser(
        "upgrade", help="apply the schema migrations this version has (start-up does it too)"
    )
    upgrade.set_defaults(handler=db_upgrade)


def db_upgrade(args: argparse.Namespace) -> int:
    from monitor.config import load_config
    from monitor.store.db import open_engine, upgrade_schema

    config = load_config(args.watchlist)
    before, after = upgrade_schema(open_engine(config.database_url, upgrade=False))
    if before == after:
        print(f"database schema already at revision {after}")
    else:
        print(f"database schema upgraded from revision {before or 'none'} to {after}")
    return 0
