"""Benchmark of the review web UI over a large history: server time per page.

    python bench/web_bench.py --watches 1000 --changes 100000

1. writes a history straight into a fresh SQLite file: W watches, C changes spread over them
   (each between two versions, with findings, facts and a word diff), checks every 6 hours for
   the last 30 days, reviews on a third of the changes, and the version texts;
2. serves it with the real app under uvicorn on 127.0.0.1;
3. times each page N times (after one warm-up request) from a client on the same machine and
   prints the median and 95th percentile in milliseconds. The times include the loopback round
   trip, so they are an upper bound of server time.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import load_config  # noqa: E402
from monitor.diff import diff_texts, diff_to_json  # noqa: E402
from monitor.snapshots import SnapshotStore, sha256_hex  # noqa: E402
from monitor.store.db import open_engine  # noqa: E402
from monitor.store.tables import (  # noqa: E402
    ChangeRow,
    CheckRow,
    ReviewRow,
    SnapshotRow,
    VersionRow,
    WatchRow,
)
from tests.webhistory import running_server  # noqa: E402

TEXTS = 40  # distinct version texts, shared by every watch (bodies are content-addressed)
LABELS = [
    ["version_bump", "policy_text"],
    ["policy_text"],
    ["date_change"],
    ["model_retirement"],
    ["new_entry"],
    ["cosmetic"],
]
SEVERITIES = ["major", "minor", "info", "critical", "minor", "info"]


def _text(n: int) -> str:
    sections = []
    for s in range(8):
        lines = [f"## Section {s}"]
        lines += [
            f"Paragraph {p} of section {s}: providers may change these terms, revision {n if p == s else 0}."
            for p in range(6)
        ]
        sections.append("\n".join(lines))
    return f"# Usage policy\nVersion {n}.0\n" + "\n".join(sections) + "\n"


def _table(model: type) -> sa.Table:
    return model.__table__  # type: ignore[attr-defined, no-any-return]


def populate(folder: Path, watches: int, changes: int) -> Path:
    watchlist = folder / "watchlist.toml"
    watchlist.write_text(
        "".join(
            f'[[watch]]\nid = "w{i:04d}"\nurl = "https://example.org/w{i}"\ninterval = "6h"\n'
            for i in range(watches)
        ),
        encoding="utf-8",
    )
    config = load_config(watchlist)
    engine = open_engine(config.database_url)
    bodies = SnapshotStore(config.snapshots_dir)
    texts = [_text(n) for n in range(TEXTS)]
    text_hashes = [bodies.put(t.encode()) for t in texts]
    diffs = [diff_to_json(diff_texts(texts[n], texts[(n + 1) % TEXTS])) for n in range(TEXTS)]
    now = datetime.now(UTC)
    rng = random.Random(7)
    per_watch = changes // watches
    start = now - timedelta(days=365 * 2)
    step = (now - start) / (per_watch + 1)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(_table(WatchRow)),
            [
                {
                    "id": f"w{i:04d}",
                    "url": f"https://example.org/w{i}",
                    "created_at": start,
                    "last_check_at": now - timedelta(hours=1),
                    "last_outcome": "unchanged",
                    "failures_in_row": 0,
                    "failure_alerted": False,
                    "gone": False,
                    "needs_browser": False,
                }
                for i in range(watches)
            ],
        )
        snapshot_rows, version_rows, change_rows, check_rows = [], [], [], []
        snapshot_id = version_id = change_id = 0
        for i in range(watches):
            watch_id = f"w{i:04d}"
            first_version = version_id + 1
            for seq in range(1, per_watch + 2):
                snapshot_id += 1
                version_id += 1
                seen = start + step * (seq - 1)
                snapshot_rows.append(
                    {
                        "id": snapshot_id,
                        "watch_id": watch_id,
                        "sha256": sha256_hex(f"{watch_id}-{seq}".encode()),
                        "fetched_at": seen,
                        "size": 5000,
                        "requested_url": f"https://example.org/w{i}",
                        "final_url": f"https://example.org/w{i}",
                        "status": 200,
                        "fetcher": "http",
                        "monitor_version": "bench",
                    }
                )
                version_rows.append(
                    {
                        "id": version_id,
                        "watch_id": watch_id,
                        "seq": seq,
                        "text_sha256": text_hashes[(seq - 1) % TEXTS],
                        "rules_sha256": "0" * 64,
                        "snapshot_id": snapshot_id,
                        "seen_at": seen,
                        "size": 4000,
                        "monitor_version": "bench",
                    }
                )
            for seq in range(1, per_watch + 1):
                change_id += 1
                kind = rng.randrange(len(LABELS))
                change_rows.append(
                    {
                        "id": change_id,
                        "watch_id": watch_id,
                        "from_version_id": first_version + seq - 1,
                        "to_version_id": first_version + seq,
                        "detected_at": start + step * seq,
                        "labels": LABELS[kind],
                        "severity": SEVERITIES[kind],
                        "summary": f"Version {seq - 1}.0 → {seq}.0; 1 section changed",
                        "score": 0.5,
                        "score_factors": {"share_changed": 0.1},
                        "findings": [
                            {
                                "rule": "version.version",
                                "label": LABELS[kind][0],
                                "reason": "version changed",
                                "fragment": f"Version {seq}.0",
                                "old": f"{seq - 1}.0",
                                "new": f"{seq}.0",
                            }
                        ],
                        "facts": [{"kind": "version", "from": f"{seq - 1}.0", "to": f"{seq}.0"}],
                        "diff": diffs[(seq - 1) % TEXTS],
                        "lines_added": 3,
                        "lines_removed": 3,
                        "sections": ["## Section 1"],
                        "monitor_version": "bench",
                    }
                )
            for k in range(120):  # every 6 hours for 30 days; a few failures
                failed = rng.random() < 0.02
                check_rows.append(
                    {
                        "watch_id": watch_id,
                        "at": now - timedelta(hours=6 * k + 1),
                        "outcome": "failed" if failed else "unchanged",
                        "status": 503 if failed else 200,
                        "duration_ms": 120,
                        "error_kind": "http_status" if failed else None,
                    }
                )
        for table, rows in (
            (_table(SnapshotRow), snapshot_rows),
            (_table(VersionRow), version_rows),
            (_table(ChangeRow), change_rows),
            (_table(CheckRow), check_rows),
        ):
            for k in range(0, len(rows), 20000):
                conn.execute(sa.insert(table), rows[k : k + 20000])
        reviews = [
            {
                "change_id": c["id"],
                "reviewer": "alice",
                "verdict": rng.choice(["acknowledged", "dismissed", "escalated"]),
                "note": "",
                "at": c["detected_at"] + timedelta(hours=2),
            }
            for c in change_rows
            if rng.random() < 0.33
        ]
        for k in range(0, len(reviews), 20000):
            conn.execute(sa.insert(_table(ReviewRow)), reviews[k : k + 20000])
    with engine.connect() as conn:  # as a database in use would be: its WAL folded back in
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return watchlist


def measure(client: httpx.Client, path: str, runs: int) -> tuple[float, float, float, int]:
    started = time.perf_counter()
    client.get(path)  # the first request also fills caches (the watches page's coverage)
    first = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    return first, statistics.median(times), p95, len(response.content)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--watches", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        watchlist = populate(Path(tmp), args.watches, args.changes)
        print(
            f"history: {args.watches} watches, {args.changes} changes, "
            f"{args.watches * 120} checks, written in {time.perf_counter() - started:.1f} s"
        )
        middle = args.changes // 2
        watch = f"w{args.watches // 2:04d}"
        pages = {
            "change list": "/changes",
            "change list, unreviewed": "/changes?review=unreviewed",
            "change list, label model_retirement": "/changes?label=model_retirement",
            "change list, label never seen": "/changes?label=page_gone",
            "change list, page 2": None,
            "watch timeline": f"/watches/{watch}",
            "watch timeline, severity critical": f"/watches/{watch}?severity=critical",
            "change page": f"/changes/{middle}",
            "compare two versions": f"/compare?from=1&to={1 + min(args.changes // args.watches, 25)}",
            "API change list": "/api/changes",
            "API change": f"/api/changes/{middle}",
            "watches page (all watches)": "/",
        }
        with running_server(watchlist) as base, httpx.Client(base_url=base) as client:
            first_page = client.get("/api/changes").json()
            pages["change list, page 2"] = f"/changes?before={first_page[-1]['id']}"
            load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
            print(f"load average before timing: {load} on {os.cpu_count()} cores")
            print(f"{'page':<40} {'first ms':>9} {'median ms':>10} {'p95 ms':>8} {'bytes':>9}")
            for name, path in pages.items():
                assert path is not None
                first, median, p95, size = measure(client, path, args.runs)
                print(f"{name:<40} {first:>9.1f} {median:>10.1f} {p95:>8.1f} {size:>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
