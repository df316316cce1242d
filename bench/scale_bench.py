"""Benchmark of many workers: `monitor run --dispatch` and 1, 2, 4 `monitor worker` processes
on one local PostgreSQL, against a loopback page server.

    python bench/scale_bench.py                                # 2,000 watches, 1/2/4 workers
    python bench/scale_bench.py --watches 10000 --interval 300s --workers 4
    python bench/scale_bench.py --s3                           # bodies in moto's S3 stand-in

PostgreSQL: `--postgres URL` (or $MONITOR_TEST_POSTGRES) names a server where the benchmark may
create databases; without one it starts a throwaway cluster with scripts/postgres. The page
server is bench/daemon_bench.py's (small pages on `--hosts` loopback addresses, ETags, 304s).

For each number of workers, a fresh database and a watchlist of N watches, interval I, no
jitter, then two phases read back from the check rows:
1. first checks: every watch is new and due at once (the backlog a deployment starts with):
   checks per second from the dispatcher's start to the last first check, and the p95 wait;
2. on schedule: each watch is due again I after its first check, and the page answers 304:
   checks per second while the second checks run, and the p95 lateness of each second check
   against its due time (its first check's time plus I).
PostgreSQL connections: the most seen at once in pg_stat_activity for the database (sampled
every 0.5 s), dispatcher, workers and their pools together. Also the peak RSS of the dispatcher
and of the largest worker, the check table's bytes on disk per row (indexes included), and the
CPU the PostgreSQL server spent per check (its processes alive at the end, when it runs on this
machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def start_postgres(folder: Path) -> str:
    done = subprocess.run(
        [str(ROOT / "scripts" / "postgres"), "start", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def write_watchlist(path: Path, args: Any, port: int) -> None:
    lines = [
        "[defaults]",
        f'interval = "{args.interval}"',
        "jitter = 0",
        "retries = 0",
        f"concurrency = {args.concurrency}",
        f"per_host = {args.concurrency}",
        "",
    ]
    for i in range(args.watches):
        host = f"127.0.0.{1 + i % args.hosts}"
        lines += ["[[watch]]", f'id = "w{i:05d}"', f'url = "http://{host}:{port}/p/{i}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")


class Connections(threading.Thread):
    """The most connections to one database seen at once."""

    def __init__(self, admin_url: str, database: str) -> None:
        super().__init__(daemon=True)
        self.engine = sa.create_engine(admin_url, poolclass=sa.NullPool)
        self.database, self.most, self.stop = database, 0, threading.Event()

    def run(self) -> None:
        query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name")
        while not self.stop.is_set():
            with self.engine.connect() as connection:
                now = connection.execute(query, {"name": self.database}).scalar() or 0
            self.most = max(self.most, int(now) - 1 if self.database == "postgres" else int(now))
            self.stop.wait(0.5)


def checks_by_watch(url: str) -> dict[str, list[datetime]]:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql('SELECT watch_id, at FROM "check" ORDER BY at').all()
    engine.dispose()
    found: dict[str, list[datetime]] = {}
    for watch_id, at in rows:
        found.setdefault(watch_id, []).append(at)
    return found


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def server_cpu(postmaster: int | None) -> dict[str, float]:
    """CPU seconds of each of the PostgreSQL server's processes (when it runs on this machine)."""
    if postmaster is None:
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster or stat.parent.name == str(postmaster):
            found[stat.parent.name] = (int(fields[11]) + int(fields[12])) / tick
    return found


def cpu_since(before: dict[str, float], after: dict[str, float]) -> float:
    """CPU spent between two looks by the processes alive at the second."""
    if not after:
        return float("nan")
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def postmaster_of(url: str) -> int | None:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as connection:
        backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    engine.dispose()
    try:
        return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return None


def bytes_per_check(url: str) -> float:
    """The check table's size on disk (indexes included) per row."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as connection:
        size = connection.exec_driver_sql("SELECT pg_total_relation_size('\"check\"')").scalar()
        rows = connection.exec_driver_sql('SELECT count(*) FROM "check"').scalar()
    engine.dispose()
    return (size or 0) / rows if rows else float("nan")


def run_one(workers: int, args: Any, admin_url: str, port: int, tmp: Path) -> dict[str, Any]:
    from tests.databases import create_postgres_database, drop_database

    os.environ["MONITOR_TEST_POSTGRES"] = admin_url
    url = create_postgres_database()
    database = sa.make_url(url).database or ""
    folder = tmp / f"w{workers}"
    folder.mkdir()
    watchlist = folder / "watchlist.toml"
    write_watchlist(watchlist, args, port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env |= {"PYTHONPATH": str(ROOT), "MONITOR_DATABASE_URL": url}
    if args.s3_url:
        env["MONITOR_SNAPSHOTS"] = f"{args.s3_url}/w{workers}"
    monitor = [sys.executable, "-m", "monitor", "-w", str(watchlist)]
    subprocess.run([*monitor, "db", "upgrade"], env=env, check=True, capture_output=True)
    interval = args.interval_seconds
    postmaster = postmaster_of(url)
    cpu_before = server_cpu(postmaster)
    sampler = Connections(admin_url, database)
    sampler.start()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    started = time.time()
    procs = [subprocess.Popen([*monitor, "run", "--dispatch"], env=env, **quiet)]  # type: ignore[call-overload]
    procs += [
        subprocess.Popen(  # type: ignore[call-overload]
            [*monitor, "worker", "--concurrency", str(args.concurrency)], env=env, **quiet
        )
        for _ in range(workers)
    ]
    deadline = started + args.seconds
    try:
        while time.time() < deadline:
            time.sleep(2)
            seen = checks_by_watch(url)
            if len(seen) == args.watches and all(len(v) >= 2 for v in seen.values()):
                break
    finally:
        rss = [peak_rss_mb(proc.pid) for proc in procs]
        server_seconds = cpu_since(cpu_before, server_cpu(postmaster))
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
        sampler.stop.set()
        sampler.join()
    seen = checks_by_watch(url)
    row_bytes = bytes_per_check(url)
    drop_database(url)
    begin = datetime.fromtimestamp(started).astimezone()
    firsts = [times[0] for times in seen.values()]
    seconds = [times[1] for times in seen.values() if len(times) > 1]
    lateness = [
        (times[1] - (times[0] + timedelta(seconds=interval))).total_seconds()
        for times in seen.values()
        if len(times) > 1
    ]
    first_span = (max(firsts) - begin).total_seconds() if firsts else float("nan")
    second_span = (max(seconds) - min(seconds)).total_seconds() if len(seconds) > 1 else 0.0
    return {
        "workers": workers,
        "first_checked": len(firsts),
        "first_rate": len(firsts) / first_span if firsts else 0.0,
        "first_p95_wait": p95([(t - begin).total_seconds() for t in firsts]),
        "second_checked": len(seconds),
        "second_rate": len(seconds) / second_span if second_span else float("nan"),
        "p95_late": p95(lateness),
        "connections": sampler.most,
        "dispatcher_mb": rss[0],
        "worker_mb": max(rss[1:]),
        "check_row_bytes": row_bytes,
        "pg_cpu_ms_per_check": 1000 * server_seconds / max(1, len(firsts) + len(seconds)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watches", type=int, default=2000)
    parser.add_argument("--interval", default="60s", help="every watch's interval")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure")
    parser.add_argument("--concurrency", type=int, default=8, help="jobs at once per worker")
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=600, help="cap on each run")
    parser.add_argument("--postgres", default=os.environ.get("MONITOR_TEST_POSTGRES"))
    parser.add_argument("--s3", action="store_true", help="bodies in moto's S3 server")
    args = parser.parse_args()
    from monitor.config import parse_duration

    args.interval_seconds = parse_duration(args.interval)
    tmp = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    cluster = None
    if not args.postgres:
        cluster = tmp / "pg"
        args.postgres = start_postgres(cluster)
    args.s3_url = None
    moto = None
    if args.s3:
        import logging

        import boto3
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        host, s3_port = moto.get_host_and_port()
        os.environ.update(
            AWS_ENDPOINT_URL=f"http://{host}:{s3_port}",
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_REGION="us-east-1",
        )
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        boto3.client("s3").create_bucket(Bucket=bucket)
        args.s3_url = f"s3://{bucket}"
    from bench.daemon_bench import free_port

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "daemon_bench.py"),
            "--serve",
            str(port),
            str(args.hosts),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    if server.stdout.readline().strip() != "READY":
        raise SystemExit("the page server did not start")
    rows = []
    try:
        for workers in [int(n) for n in args.workers.split(",")]:
            rows.append(run_one(workers, args, args.postgres, port, tmp))
            print(f"  {workers} workers done", file=sys.stderr, flush=True)
    finally:
        server.terminate()
        server.wait()
        if moto is not None:
            moto.stop()
        if cluster is not None:
            subprocess.run([str(ROOT / "scripts" / "postgres"), "stop", str(cluster)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()
    print(
        f"{args.watches} watches, interval {args.interval}, {args.concurrency} jobs per worker, "
        f"{args.hosts} hosts, bodies in {'S3 (moto)' if args.s3 else 'a folder'}; "
        f"load average {load[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"{'workers':>7} | {'first checks/s':>14} {'p95 wait s':>10} | "
        f"{'on-schedule checks/s':>20} {'p95 late s':>10} {'checked':>9} | {'PG conns':>8} "
        f"{'RSS MB dispatcher/worker':>24} {'B/check row':>11} {'PG CPU ms/check':>15}"
    )
    for r in rows:
        print(
            f"{r['workers']:>7} | {r['first_rate']:>14.1f} {r['first_p95_wait']:>10.1f} | "
            f"{r['second_rate']:>20.1f} {r['p95_late']:>10.2f} "
            f"{r['second_checked']:>4}/{args.watches:<4} | {r['connections']:>8} "
            f"{r['dispatcher_mb']:>12.0f}/{r['worker_mb']:<11.0f} {r['check_row_bytes']:>11.0f} "
            f"{r['pg_cpu_ms_per_check']:>15.2f}"
        )


if __name__ == "__main__":
    main()
