"""Benchmark of one full `monitor check` cycle against N local pages, next to its floor.

    python bench/check_bench.py --pages 1000

1. serves N generated pages (60–150 KB, per-request noise, ETags) on 127.0.0.1;
2. runs a baseline `monitor check` (every page is new);
3. changes 10% of the pages and times the second full cycle as a whole process:
   wall seconds, CPU seconds, peak RSS, changes found versus changes made;
4. times the floor: a bare script that GETs the same N pages with one httpx.AsyncClient,
   sending If-None-Match, and parses each 200 with selectolax;
5. runs a third cycle with nothing changed and reports what an unchanged check adds to the store.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent

FLOOR = r"""
import asyncio, json, sys
import httpx
from selectolax.lexbor import LexborHTMLParser

async def main(base, count, etags, limit):
    sem = asyncio.Semaphore(limit)
    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
    async with httpx.AsyncClient(limits=limits) as client:
        async def one(i):
            async with sem:
                r = await client.get(f"{base}/p/{i}", headers={"If-None-Match": etags.get(str(i), "")})
                if r.status_code == 200:
                    LexborHTMLParser(r.content).css_first("main").text()
                    return r.headers.get("etag")
                return etags.get(str(i))
        found = await asyncio.gather(*(one(i) for i in range(count)))
    return {str(i): e for i, e in enumerate(found)}

base, count, limit, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
etags = json.loads(open(path).read())
json.dump(asyncio.run(main(base, count, etags, limit)), open(path, "w"))
"""


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, stdout) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        sys.exit(f"{command[:4]} failed ({proc.returncode}):\n{err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


def store_size(workdir: Path) -> tuple[int, int]:
    db = workdir / "monitor.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = (
            conn.execute("PRAGMA page_count").fetchone()[0]
            - conn.execute("PRAGMA freelist_count").fetchone()[0]
        )
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    bodies = sum(p.stat().st_size for p in (workdir / "snapshots").rglob("*") if p.is_file())
    return pages * page_size, bodies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--percent", type=float, default=10)
    parser.add_argument(
        "--concurrency", type=int, default=5, help="requests in flight (both sides)"
    )
    args = parser.parse_args()

    server = subprocess.Popen(
        [sys.executable, "-m", "bench.pageserver", "--pages", str(args.pages)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    port = int(server.stdout.readline().split()[1])
    base = f"http://127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp:
            workdir = Path(tmp)
            watchlist = workdir / "watchlist.toml"
            lines = [
                "[defaults]",
                f"concurrency = {args.concurrency}",
                f"per_host = {args.concurrency}",
                'interval = "1h"',
                "",
            ]
            for i in range(args.pages):
                lines += [
                    "[[watch]]",
                    f'id = "page-{i}"',
                    f'url = "{base}/p/{i}"',
                    'kind = "policy"',
                    "",
                ]
            watchlist.write_text("\n".join(lines))
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            check = [
                sys.executable,
                "-m",
                "monitor",
                "-w",
                str(watchlist),
                "check",
                "--json",
                "--no-progress",
            ]

            wall0, cpu0, rss0, _ = timed(check, env)
            print(
                f"baseline cycle ({args.pages} new pages): {wall0:.2f} s wall, {cpu0:.2f} s CPU, {rss0:.0f} MB peak RSS"
            )

            etag_file = workdir / "etags.json"
            etag_file.write_text("{}")
            floor_cmd = [
                sys.executable,
                "-c",
                FLOOR,
                base,
                str(args.pages),
                str(args.concurrency),
                str(etag_file),
            ]
            timed(floor_cmd)  # the floor's own baseline: learn the ETags

            changed = httpx.post(f"{base}/_change?percent={args.percent}").text.split()
            wall, cpu, rss, out = timed(check, env)
            outcomes = [json.loads(line)["outcome"] for line in out.splitlines() if line.strip()]
            found = sum(1 for o in outcomes if o == "changed")
            failed = sum(1 for o in outcomes if o == "failed")

            # the floor sees the same changed pages (the server serves the new versions)
            fwall, fcpu, frss, _ = timed(floor_cmd)

            db_before, bodies_before = store_size(workdir)
            wall3, cpu3, _rss3, out3 = timed(check, env)
            db_after, bodies_after = store_size(workdir)
            unchanged = sum(
                1
                for line in out3.splitlines()
                if json.loads(line)["outcome"] in ("unchanged", "not_modified")
            )

            print(f"changed cycle: {wall:.2f} s wall, {cpu:.2f} s CPU, {rss:.0f} MB peak RSS")
            print(f"changes found {found} / made {len(changed)}, failed {failed}")
            print(
                f"floor (httpx + If-None-Match + selectolax): {fwall:.2f} s wall, {fcpu:.2f} s CPU, {frss:.0f} MB peak RSS"
            )
            print(f"ratio to floor: {wall / fwall:.2f}x wall")
            print(
                f"unchanged cycle: {wall3:.2f} s wall; store growth per unchanged check: "
                f"{(db_after - db_before) / max(unchanged, 1):.0f} bytes in the database, "
                f"{(bodies_after - bodies_before) / max(unchanged, 1):.0f} bytes of bodies ({unchanged} checks)"
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
