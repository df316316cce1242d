"""`python -m monitor.store.migrations revision MESSAGE`: the next revision, generated from the
difference between the tables (monitor/store/tables.py) and a database at HEAD."""

from __future__ import annotations

import sys

from monitor.store.migrate import new_revision


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "revision" or not argv[1].strip():
        print('usage: python -m monitor.store.migrations revision "what changes"', file=sys.stderr)
        return 2
    print(new_revision(argv[1].strip()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
