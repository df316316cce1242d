"""serve (the review web UI) and reviewers (who may sign changes off)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("serve", help="the review web UI and JSON API")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument(
        "--require-token",
        action="store_true",
        help="reading needs a reviewer token even on loopback (e.g. behind a reverse proxy)",
    )
    p.set_defaults(handler=serve)

    p = subparsers.add_parser("reviewers", help="add, list or remove reviewers of the web UI")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a reviewer; prints their token once")
    add.add_argument("name")
    add.set_defaults(handler=reviewers_add)
    listing = actions.add_parser("list", help="the reviewers")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=reviewers_list)
    remove = actions.add_parser("remove", help="revoke a reviewer's token (reviews stay)")
    remove.add_argument("name")
    remove.set_defaults(handler=reviewers_remove)


def _engine(args: argparse.Namespace) -> Any:
    from monitor.config import load_config
    from monitor.store.db import open_engine

    return open_engine(load_config(args.watchlist).database_url)


def serve(args: argparse.Namespace) -> int:
    from monitor.config import load_config
    from monitor.errors import ConfigError

    if not 0 < args.port < 65536:
        raise ConfigError(f"--port {args.port}: use a port from 1 to 65535")
    try:
        from monitor.web.server import serve as run
    except ImportError as exc:
        raise ConfigError(
            f"the web UI needs its extra: pip install 'monitor[web]' ({exc.name} is missing)"
        ) from None
    run(load_config(args.watchlist), args.host, args.port, require_token=args.require_token)
    return 0


def reviewers_add(args: argparse.Namespace) -> int:
    from monitor.store.reviewers import add_reviewer

    token = add_reviewer(_engine(args), args.name)
    print(f"reviewer {args.name} added; their token (shown only now):", file=sys.stderr)
    print(token)
    return 0


def reviewers_list(args: argparse.Namespace) -> int:
    from monitor.store.reviewers import reviewers

    rows = reviewers(_engine(args))
    if args.json:
        items = [{"name": r.name, "created_at": r.created_at.isoformat()} for r in rows]
        print(json.dumps(items, indent=2))
    elif not rows:
        print("no reviewers; `monitor reviewers add NAME` makes one")
    else:
        for row in rows:
            print(f"{row.name:<24} added {row.created_at:%Y-%m-%d %H:%M} UTC")
    return 0


def reviewers_remove(args: argparse.Namespace) -> int:
    from monitor.store.reviewers import remove_reviewer

    remove_reviewer(_engine(args), args.name)
    print(f"reviewer {args.name} removed; their token no longer works")
    return 0
