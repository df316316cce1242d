"""Benchmark of one full `monitor check` cycle against N local pages, next to its floor.

    python bench/check_bench.py --pages 1000

1. serves N generated pages (60–150 KB, per-request noise, ETags) on 127.0.0.1;
2. runs a baseline `monitor check` (every page is new);
3. changes 10% of the pages and times the second full cycle as a whole process:
   wall seconds, CPU seconds, peak RSS, changes found versus changes made;
4. times the floor: a bare script that GETs the same N pages with one httpx.AsyncClient,
   sending If-None-Match, and parses each 200 with selectolax;
5. runs a third cycle with nothing changed and reports what an unchanged check adds to the store
   and how many requests it made;
6. a 2 MB-page cycle: one watch on a page of about 2 MB that changes all through at each request
   (the page that is slow to classify), checked twice; the second check is timed.

CPU seconds and memory count every process of the check (the main process and its worker
processes, sampled from /proc every 20 ms): CPU as the sum over the processes, memory as the
peak of their summed PSS (shared pages counted once). Ratios are to the floor's wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
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


TICK = os.sysconf("SC_CLK_TCK")


class TreeSampler(threading.Thread):
    """CPU seconds and peak summed PSS of a process and its descendants, from /proc."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.cpu: dict[int, float] = {}
        self.peak_pss_mb = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(0.02)

    def sample(self) -> None:
        parents: dict[int, int] = {}
        stats: dict[int, list[str]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry)] = int(fields[1])
                stats[int(entry)] = fields
        tree, grew = {self.root}, True
        while grew:
            more = {pid for pid, ppid in parents.items() if ppid in tree} - tree
            tree |= more
            grew = bool(more)
        pss = 0
        for pid in tree & stats.keys():
            fields = stats[pid]
            self.cpu[pid] = (int(fields[11]) + int(fields[12])) / TICK
            try:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            pss += int(line.split()[1])
                            break
            except OSError:
                continue
        self.peak_pss_mb = max(self.peak_pss_mb, pss / 1024)


MAIN_CPU: list[float] = []  # CPU seconds of the main process alone, one per `timed` call


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak memory MB, stdout) of one child process and its descendants."""
    started = time.perf_counter()
    cwd = (env or {}).get("PYTHONPATH")  # `-m` looks in the working directory first
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd
    )
    sampler = TreeSampler(proc.pid)
    sampler.start()
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        sys.exit(f"{command[:4]} failed ({proc.returncode}):\n{err[-2000:]}")
    sampler.cpu[proc.pid] = usage.ru_utime + usage.ru_stime  # exact for the main process
    MAIN_CPU.append(sampler.cpu[proc.pid])
    peak = max(sampler.peak_pss_mb, usage.ru_maxrss / 1024)
    return wall, sum(sampler.cpu.values()), peak, out


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


def bytes_by_name(workdir: Path) -> dict[str, int]:
    """Bytes of pages each table and index holds (SQLite's dbstat)."""
    with sqlite3.connect(workdir / "monitor.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        found = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
    return {str(name): int(size) for name, size in found}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--percent", type=float, default=10)
    parser.add_argument(
        "--concurrency", type=int, default=5, help="requests in flight (both sides)"
    )
    parser.add_argument(
        "--code", type=Path, default=ROOT, help="run monitor from this source tree (before/after)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="changed cycles (median shown)")
    args = parser.parse_args()
    # an installed package imports from compiled bytecode: compile the tree under test first, so
    # start-up is measured as users see it (PYTHONDONTWRITEBYTECODE would otherwise make every
    # run compile the sources again)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(args.code.resolve() / "monitor")],
        check=True,
        stdout=subprocess.DEVNULL,
    )

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
            env = {**os.environ, "PYTHONPATH": str(args.code.resolve())}
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
                f"baseline cycle ({args.pages} new pages): {wall0:.2f} s wall, {cpu0:.2f} s CPU, {rss0:.0f} MB peak memory"
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

            cycles = []
            for _ in range(args.repeat):
                changed = httpx.post(f"{base}/_change?percent={args.percent}").text.split()
                wall, cpu, rss, out = timed(check, env)
                main_cpu = MAIN_CPU[-1]
                outcomes = [json.loads(line)["outcome"] for line in out.splitlines() if line]
                found = sum(1 for o in outcomes if o == "changed")
                failed = sum(1 for o in outcomes if o == "failed")
                # the floor sees the same changed pages (the server serves the new versions)
                fwall, fcpu, frss, _ = timed(floor_cmd)
                cycles.append(
                    (wall, cpu, rss, found, len(changed), failed, fwall, fcpu, frss, main_cpu)
                )
            cycles.sort()
            wall, cpu, rss, found, made, failed, _fw, _fc, _fr, main_cpu = cycles[len(cycles) // 2]
            fwall, fcpu, frss = (statistics.median(c[i] for c in cycles) for i in (6, 7, 8))

            db_before, bodies_before = store_size(workdir)
            by_name_before = bytes_by_name(workdir)
            served_before = int(httpx.get(f"{base}/_stats").text)
            wall3, cpu3, rss3, out3 = timed(check, env)
            main_cpu3 = MAIN_CPU[-1]
            served = int(httpx.get(f"{base}/_stats").text) - served_before
            db_after, bodies_after = store_size(workdir)
            by_name_after = bytes_by_name(workdir)
            unchanged = sum(
                1
                for line in out3.splitlines()
                if json.loads(line)["outcome"] in ("unchanged", "not_modified")
            )

            big_watchlist = workdir / "big.toml"
            big_watchlist.write_text(
                f'[[watch]]\nid = "big"\nurl = "{base}/big/2048"\nkind = "policy"\n'
            )
            big = [*check[:4], str(big_watchlist), *check[5:]]
            big_env = {**env, "MONITOR_DATABASE_URL": f"sqlite:///{workdir / 'big.db'}"}
            timed(big, big_env)  # its first version
            bwall, bcpu, brss, bout = timed(big, big_env)
            main_bcpu = MAIN_CPU[-1]
            boutcome = json.loads(bout.splitlines()[0])["outcome"]

            median = f" (median of {len(cycles)})" if len(cycles) > 1 else ""
            print(
                f"changed cycle{median}: {wall:.2f} s wall, {cpu:.2f} s CPU "
                f"({main_cpu:.2f} s in the main process), {rss:.0f} MB peak memory"
            )
            mains = sorted(c[9] for c in cycles)
            print(
                f"main-process CPU of the changed cycles: median {statistics.median(mains):.2f} s "
                f"({', '.join(f'{m:.2f}' for m in mains)})"
            )
            print(f"changes found {found} / made {made}, failed {failed}")
            print(
                f"floor (httpx + If-None-Match + selectolax){median}: {fwall:.2f} s wall, "
                f"{fcpu:.2f} s CPU, {frss:.0f} MB peak memory"
            )
            print(
                f"unchanged cycle: {wall3:.2f} s wall, {cpu3:.2f} s CPU ({main_cpu3:.2f} s in the "
                f"main process), {rss3:.0f} MB peak "
                f"memory; per unchanged check: {served / max(unchanged, 1):.2f} requests, "
                f"{(db_after - db_before) / max(unchanged, 1):.0f} bytes in the database, "
                f"{(bodies_after - bodies_before) / max(unchanged, 1):.0f} bytes of bodies "
                f"({unchanged} checks)"
            )
            grown = {
                name: by_name_after.get(name, 0) - by_name_before.get(name, 0)
                for name in by_name_after.keys() | by_name_before.keys()
            }
            print(
                "per unchanged check, by table and index (dbstat): "
                + ", ".join(
                    f"{name} {size / max(unchanged, 1):.0f} B"
                    for name, size in sorted(grown.items(), key=lambda item: -item[1])
                    if size
                )
            )
            print(
                f"2 MB-page cycle (one page changed all through): {bwall:.2f} s wall, "
                f"{bcpu:.2f} s CPU ({main_bcpu:.2f} s in the main process), {brss:.0f} MB peak "
                f"memory, outcome {boutcome}"
            )
            print(
                f"ratios to the floor's wall time: changed cycle {wall / fwall:.2f}x, "
                f"unchanged cycle {wall3 / fwall:.2f}x, 2 MB-page cycle {bwall / fwall:.2f}x; "
                f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
            )
            print(
                f"main-process CPU to the floor's CPU (what the event loop's core carries; steadier "
                f"than wall time on a busy machine): changed cycle {main_cpu / fcpu:.2f}x, "
                f"unchanged cycle {main_cpu3 / fcpu:.2f}x"
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
