"""Benchmark of the audit log: what the chain costs each check, and an export of a year.

    python bench/audit_bench.py --watches 100 --hours 8760

1. chain cost per check: times `record_unchanged_many` (the batch write of quiet checks, which
   appends one `check_pass` event per batch), the same with the append skipped, and
   `append_many` alone with one event per check (as checks written one at a time are recorded),
   and measures the bytes such an event adds to the database file;
2. records `watches` × `hours` hourly checks through the store's own writes (one first version
   per watch, then unchanged checks), 876,000 checks for 100 watches over a year;
3. exports the whole period as a bundle in a separate `monitor export` process: wall seconds,
   peak RSS, bundle size; then `monitor verify` of the bundle and of the live store, likewise.
   Memory that stays flat while the period grows shows the export streams (run it with a
   smaller --hours to compare).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.models import FetchResult  # noqa: E402
from monitor.snapshots import SnapshotStore  # noqa: E402
from monitor.store import audit_log, record  # noqa: E402
from monitor.store.db import dispose_engines, open_engine, writing  # noqa: E402

START = datetime(2025, 1, 1, tzinfo=UTC)
BATCH = 500


def _result(url: str, at: datetime, body: bytes = b"") -> FetchResult:
    return FetchResult(url, url, at, 120, status=200, body=body, content_type="text/html")


def _watchlist(folder: Path, watches: int) -> Path:
    lines = ["[defaults]", 'interval = "1h"', ""]
    for i in range(watches):
        lines += ["[[watch]]", f'id = "w{i:03d}"', f'url = "https://example.invalid/{i}"', ""]
    path = folder / "watchlist.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _first_versions(engine, bodies: SnapshotStore, watches: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(watches):
        raw = f"<main><h1>Policy {i}</h1><p>Version 1.0</p></main>".encode()
        text = f"# Policy {i}\nVersion 1.0\n".encode()
        raw_sha, text_sha = bodies.put(raw), bodies.put(text)
        record.record_version(
            engine,
            f"w{i:03d}",
            f"https://example.invalid/{i}",
            _result(f"https://example.invalid/{i}", START, raw),
            raw_sha256=raw_sha,
            text_sha256=text_sha,
            text_size=len(text),
            rules_sha256="0" * 64,
            expected_latest=None,
            change=None,
        )


def _hourly(engine, watches: int, hours: int) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    raw_sha = hashlib.sha256(b"same").hexdigest()
    items: list[record.Unchanged] = []
    count, started = 0, time.perf_counter()
    for hour in range(1, hours):
        at = START + timedelta(hours=hour)
        for i in range(watches):
            url = f"https://example.invalid/{i}"
            items.append(
                record.Unchanged(
                    f"w{i:03d}", _result(url, at), "unchanged", raw_sha, "0" * 64, None
                )
            )
            if len(items) >= BATCH:
                record.record_unchanged_many(engine, items)
                count += len(items)
                items = []
    record.record_unchanged_many(engine, items)
    count += len(items)
    return count, time.perf_counter() - started


def _append_only(engine, n: int) -> float:  # type: ignore[no-untyped-def]
    """Seconds to hash and insert n check events alone (no check rows), in batches."""
    payload = {"outcome": "unchanged", "status": 200, "duration_ms": 120, "raw_sha256": "ab" * 32,
               "version_id": None, "error_kind": None, "error": None}  # fmt: skip
    started = time.perf_counter()
    for start in range(0, n, BATCH):
        events = [
            audit_log.Pending("check", START, "w000", "check", start + i, payload)
            for i in range(min(BATCH, n - start))
        ]
        with writing(engine) as session:
            audit_log.append_many(session, events)
    return time.perf_counter() - started


def _child(command: list[str]) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """Wall seconds and peak RSS (KiB) of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before), done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watches", type=int, default=100)
    parser.add_argument("--hours", type=int, default=8760, help="hourly checks per watch")
    parser.add_argument("--cost-checks", type=int, default=20_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
        folder = Path(tmp)
        # 1. the chain's cost per check
        cost = open_engine(f"sqlite:///{folder / 'cost.db'}")
        _first_versions(cost, SnapshotStore(folder / "cost-snapshots"), 10)
        n, seconds = _hourly(cost, 10, args.cost_checks // 10 + 1)
        pass_bytes = (
            cost.connect()
            .exec_driver_sql(
                "SELECT sum(length(payload) + length(prev_sha256) + length(sha256) + length(kind)"
                " + length(subject_table) + length(subject_id) + 26)"
                " FROM audit_event WHERE kind = 'check_pass'"
            )
            .scalar()
        )
        dispose_engines()
        bare = open_engine(f"sqlite:///{folder / 'bare.db'}")
        _first_versions(bare, SnapshotStore(folder / "bare-snapshots"), 10)
        chain = audit_log.append_many
        audit_log.append_many = lambda session, events: 0  # type: ignore[assignment]
        try:
            _n, bare_seconds = _hourly(bare, 10, args.cost_checks // 10 + 1)
        finally:
            audit_log.append_many = chain  # type: ignore[assignment]
        dispose_engines()
        alone = open_engine(f"sqlite:///{folder / 'alone.db'}")
        size_before = (folder / "alone.db").stat().st_size
        append_seconds = _append_only(alone, n)
        dispose_engines()
        for suffix in ("-wal",):
            wal = folder / f"alone.db{suffix}"
            if wal.exists():
                import sqlite3

                sqlite3.connect(folder / "alone.db").execute(
                    "PRAGMA wal_checkpoint(TRUNCATE)"
                ).close()
        file_bytes = ((folder / "alone.db").stat().st_size - size_before) / n
        print(f"chain cost per check ({n} checks, batches of {BATCH}):")
        print(f"  record_unchanged_many with its events: {seconds / n * 1e6:8.1f} µs per check")
        print(
            f"  the same with the append skipped:      {bare_seconds / n * 1e6:8.1f} µs per check"
        )
        print(
            f"  append_many alone (hash + insert):     {append_seconds / n * 1e6:8.1f} µs per event"
        )
        print(f"  check_pass events, column bytes:       {pass_bytes / n:8.1f} bytes per check")
        print(f"  an event per check, file growth:       {file_bytes:8.0f} bytes (with indexes)")

        # 2. a period of hourly checks
        watchlist = _watchlist(folder, args.watches)
        engine = open_engine(f"sqlite:///{folder / 'monitor.db'}")
        _first_versions(engine, SnapshotStore(folder / "snapshots"), args.watches)
        count, seconds = _hourly(engine, args.watches, args.hours)
        dispose_engines()
        print(f"\nrecorded {count} hourly checks for {args.watches} watches "
              f"in {seconds:.1f} s ({count / seconds:,.0f} checks/s); "
              f"database {(folder / 'monitor.db').stat().st_size / 1e6:.0f} MB")  # fmt: skip

        # 3. export and verify, each in its own process
        until = (START + timedelta(hours=args.hours)).date().isoformat()
        out = folder / "year.zip"
        monitor = [sys.executable, "-m", "monitor", "-w", str(watchlist)]
        wall, peak, done = _child(
            [*monitor, "export", "--since", "2025-01-01", "--until", until, "--out", str(out)]
        )
        if done.returncode != 0:
            sys.exit(done.stderr)
        print(f"export: {done.stdout.strip()}")
        print(f"  {wall:.1f} s wall ({count / wall:,.0f} checks/s), peak RSS {peak / 1024:.0f} MB, "
              f"bundle {out.stat().st_size / 1e6:.1f} MB")  # fmt: skip
        wall, peak, done = _child([*monitor, "verify", str(out)])
        print(f"verify: {done.stdout.strip()}")
        print(f"  {wall:.1f} s wall, peak RSS {peak / 1024:.0f} MB (exit {done.returncode})")
        wall, peak, done = _child([*monitor, "verify"])
        print(f"verify of the live store: {done.stdout.strip()}")
        print(f"  {wall:.1f} s wall, peak RSS {peak / 1024:.0f} MB (exit {done.returncode})")


if __name__ == "__main__":
    main()
