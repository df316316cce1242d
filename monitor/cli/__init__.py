"""The `monitor` command: parse, call one function, print, exit code. No logic here.

Each command family lives in its own module with a `register(subparsers)` function that adds its
parsers and sets `handler=fn`, where `fn(args) -> int` is the exit code. Modules are imported
only to build the parser; handlers import the heavy stages they need when they run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from monitor import __version__
from monitor.errors import ConfigError, MonitorError

COMMAND_MODULES = (
    "monitor.cli.core",
    "monitor.cli.alerts",
    "monitor.cli.daemon",
    "monitor.cli.lifecycle",
    "monitor.cli.inventory",
    "monitor.cli.web",
    "monitor.cli.audit",
    "monitor.cli.db",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monitor",
        description="Watch the pages where AI providers change the rules; say what changed.",
    )
    parser.add_argument("--version", action="version", version=f"monitor {__version__}")
    parser.add_argument(
        "--watchlist",
        "-w",
        default=os.environ.get("MONITOR_WATCHLIST", "watchlist.toml"),
        help="path to watchlist.toml (default: ./watchlist.toml or $MONITOR_WATCHLIST)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    _watchlist_after_commands(subparsers)
    return parser


def _watchlist_after_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`monitor check --watchlist PATH` works as well as `monitor --watchlist PATH check`."""
    for command in set(subparsers.choices.values()):
        command.add_argument("--watchlist", "-w", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                _watchlist_after_commands(action)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args))
    except ConfigError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return 2
    except MonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if type(exc).__module__.startswith("sqlalchemy"):
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(f"error: database: {first}", file=sys.stderr)
            return 1
        raise
