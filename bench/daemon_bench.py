"""Benchmark of the daemon at scale: 10,000 watches (interval 1 h) against a local server.

    python bench/daemon_bench.py                         # 10,000 watches, about 3 minutes
    python bench/daemon_bench.py --watches 2000 --seconds 30 --idle-seconds 10

The page server runs in its own process and answers on `--hosts` loopback addresses
(127.0.0.1, 127.0.0.2, …) so the per-host limits act as they do against many sites. The daemon
is `python -m monitor run --log-format json` in its own process; its CPU time and peak RSS come
from /proc, its checks from its log lines. Three phases:

1. idle: the store says every watch was checked in the last 30 minutes, so nothing is due:
   start-up time with 10,000 jobs, and CPU % of a daemon that only keeps its schedule, polls the
   watchlist and looks for due alerts (`--idle-seconds`);
2. saturation, unchanged pages: every last check moved back two hours, the daemon restarted:
   every watch is overdue and the server answers 304 to the stored ETag, the steady state of a
   real watchlist. Checks per second over at most `--seconds`;
3. saturation, new pages: the same with no ETag and no version yet, so each check fetches a
   page, extracts it and stores the snapshot and its text (fsync'd files) plus the version.

With `--big-page`, instead: the daemon's lateness beside a page that is slow to classify.
100 healthy watches (`--healthy`) on a 10 s interval (`--interval`), no jitter, their checks
spread evenly over the interval (as after a while of running), run for
`--seconds` twice: once alone, once with one more watch on a 2 MB page that changes all through
at every request (so every one of its checks classifies about 800 changed hunks). Lateness is
how long after its due time a healthy watch's check ended (its due times are its phase plus
whole intervals, its phase what its least delayed check shows; a check overdue when the run
ends counts as late by how long it has been overdue); the p95 of both
runs and their difference are printed (the goal: within 1 s).

With `--bytes`, instead: what an unchanged check costs the store. The same healthy watches, each
with its ETag stored so every check is a 304, run for `--seconds`; at SIGTERM the growth of each
table and index (SQLite's dbstat) is divided by the checks recorded.

Figures depend on the machine's load: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
CODE = [ROOT]  # the source tree the daemon runs from (--code)


# The page server (run as `daemon_bench.py --serve PORT HOSTS`).


def small_page(index: int) -> bytes:
    paragraphs = "".join(
        f"<p>Section {s} of policy {index}: models deployed through the API follow the usage "
        f"rules, the retirement schedule and the safety commitments listed here ({s}).</p>"
        for s in range(12)
    )
    return (
        f"<!doctype html><html><head><title>Policy {index}</title></head><body>"
        f"<nav><a href='/'>Home</a></nav><main><h1>Policy {index}</h1>{paragraphs}</main>"
        "</body></html>"
    ).encode()


async def _serve(port: int, hosts: list[str], realistic: bool) -> None:
    if realistic:
        sys.path.insert(0, str(ROOT))
        from bench.pageserver import Pages, handle

        pages = Pages(10**6)
        server = await asyncio.start_server(lambda r, w: handle(pages, r, w), hosts, port)
    else:
        server = await asyncio.start_server(_handle_small, hosts, port)
    print("READY", flush=True)
    async with server:
        await server.serve_forever()


BIG_VERSIONS = [0]


async def _handle_small(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            target = head.split(" ", 2)[1]
            index = int(target.rsplit("/", 1)[1])
            if target.startswith("/big/"):
                sys.path.insert(0, str(ROOT))
                from bench.pageserver import big_page

                BIG_VERSIONS[0] += 1
                body = big_page(index, BIG_VERSIONS[0])
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
                continue
            etag = f'"v1-{index}"'
            if f"if-none-match: {etag}" in head.lower():
                writer.write(f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\n\r\n".encode())
            else:
                body = small_page(index)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                    + f"ETag: {etag}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
        pass
    finally:
        writer.close()


# Measuring the daemon.


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Daemon:
    proc: subprocess.Popen[str]
    started_at: float = field(default_factory=time.monotonic)
    checks: list[tuple[float, str]] = field(default_factory=list)  # (monotonic, outcome)
    by_watch: dict[str, list[float]] = field(default_factory=dict)  # monotonic times of checks
    big: list[str] = field(default_factory=list)  # outcome and duration of the big page's checks
    ready_at: float | None = None
    stopped_at: float = 0.0  # when a timed run ended, before it was told to stop
    problems: list[str] = field(default_factory=list)

    def read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                self.problems.append(line.rstrip())
                continue
            if event.get("event") == "check":
                now = time.monotonic()
                self.checks.append((now, event["outcome"]))
                self.by_watch.setdefault(event.get("watch", ""), []).append(now)
                if event.get("watch") == "big":
                    self.big.append(
                        f"{event['outcome']} in {event.get('duration_ms', 0) / 1000:.1f} s"
                    )
            elif event.get("event") == "started":
                self.ready_at = time.monotonic()
            elif event.get("level") in ("warning", "error"):
                self.problems.append(event.get("message", line.rstrip()))


def start_daemon(watchlist: Path) -> Daemon:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return _start(watchlist, env)


def start_daemon_env(watchlist: Path) -> Daemon:
    """The daemon with this process's MONITOR_ variables."""
    return _start(watchlist, dict(os.environ))


def _start(watchlist: Path, env: dict[str, str]) -> Daemon:
    env["PYTHONPATH"] = str(CODE[0])
    command = [sys.executable, "-m", "monitor", "-w", str(watchlist), "run", "--log-format", "json"]
    proc = subprocess.Popen(  # `-m` looks in the working directory first
        command,
        env=env,
        cwd=CODE[0],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    daemon = Daemon(proc)
    threading.Thread(target=daemon.read, daemon=True).start()
    return daemon


def wait_checks(daemon: Daemon, count: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while len(daemon.checks) < count and time.monotonic() < deadline:
        if daemon.proc.poll() is not None:
            raise SystemExit(f"the daemon exited: {daemon.problems[-5:]}")
        time.sleep(0.2)


def rate(checks: list[tuple[float, str]], since: float) -> tuple[float, float, float]:
    """(checks per second from `since` to the last check, checks per second between the first
    and the last check, seconds from `since` to the first check)."""
    times = [t for t, _ in checks]
    if len(times) < 2:
        return 0.0, 0.0, 0.0
    overall = len(times) / (times[-1] - since)
    busy = (len(times) - 1) / (times[-1] - times[0])
    return overall, busy, times[0] - since


def write_watchlist(path: Path, watches: int, hosts: list[str], port: int, args: Any) -> None:
    lines = [
        "[defaults]",
        'interval = "1h"',
        f'jitter = "{args.jitter}"',
        f"concurrency = {args.concurrency}",
        f"per_host = {args.per_host}",
        "retries = 0",
        "",
    ]
    for i in range(watches):
        host = hosts[i % len(hosts)]
        lines += ["[[watch]]", f'id = "w{i:05d}"', f'url = "http://{host}:{port}/p/{i}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watches", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=75, help="cap on each busy phase")
    parser.add_argument("--idle-seconds", type=float, default=20)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=10, help="defaults.concurrency")
    parser.add_argument("--per-host", type=int, default=2, help="defaults.per_host")
    parser.add_argument("--jitter", default="5s", help="defaults.jitter: how fast load comes")
    parser.add_argument("--realistic", action="store_true", help="60–150 KB generated pages")
    parser.add_argument("--big-page", action="store_true", help="lateness beside a 2 MB page")
    parser.add_argument("--healthy", type=int, default=100, help="with --big-page")
    parser.add_argument("--interval", type=float, default=10, help="with --big-page, seconds")
    parser.add_argument("--big-kb", type=int, default=2048, help="with --big-page")
    parser.add_argument("--bytes", action="store_true", help="store bytes per unchanged check")
    parser.add_argument(
        "--code", type=Path, default=ROOT, help="run monitor from this source tree (before/after)"
    )
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "HOSTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        port, count = int(args.serve[0]), int(args.serve[1])
        hosts = [f"127.0.0.{i}" for i in range(1, count + 1)]
        asyncio.run(_serve(port, hosts, args.realistic))
        return

    CODE[0] = args.code.resolve()
    port = free_port()
    hosts = [f"127.0.0.{i}" for i in range(1, args.hosts + 1)]
    serve = [sys.executable, __file__, "--serve", str(port), str(args.hosts)]
    server = subprocess.Popen(
        serve + (["--realistic"] if args.realistic else []), stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    if server.stdout.readline().strip() != "READY":
        raise SystemExit("the page server did not start")
    try:
        with tempfile.TemporaryDirectory(prefix="daemon-bench-") as tmp:
            if args.big_page:
                lateness(Path(tmp), hosts, port, args)
            elif args.bytes:
                store_bytes(Path(tmp), hosts, port, args)
            else:
                run(Path(tmp), hosts, port, args)
    finally:
        server.terminate()
        server.wait()


def seed(tmp: Path, watches: int, hosts: list[str], port: int, *, etag: bool) -> None:
    """Watch rows as if every watch had been checked in the last 30 minutes."""
    import random
    from datetime import UTC, timedelta

    os.environ["MONITOR_DATABASE_URL"] = f"sqlite:///{tmp / 'monitor.db'}"
    from sqlmodel import insert

    from monitor.store.db import open_engine, writing
    from monitor.store.tables import WatchRow

    engine = open_engine(os.environ.pop("MONITOR_DATABASE_URL"))
    now = datetime.now(UTC)
    rng = random.Random(1)
    rows = [
        {
            "id": f"w{i:05d}",
            "url": f"http://{hosts[i % len(hosts)]}:{port}/p/{i}",
            "created_at": now - timedelta(days=1),
            "last_check_at": now - timedelta(seconds=rng.uniform(0, 1800)),
            "last_outcome": "not_modified",
            "etag": f'"v1-{i}"' if etag else None,
        }
        for i in range(watches)
    ]
    with writing(engine) as session:
        session.execute(insert(WatchRow), rows)
    engine.dispose()


def overdue(tmp: Path, *, keep_etag: bool) -> None:
    db = sqlite3.connect(tmp / "monitor.db")
    with db:
        db.execute(
            "UPDATE watch SET last_check_at = datetime(last_check_at, '-2 hours'),"
            " next_check_at = NULL" + ("" if keep_etag else ", etag = NULL")
        )
    db.close()


def started(daemon: Daemon) -> float:
    while daemon.ready_at is None:
        if daemon.proc.poll() is not None:
            raise SystemExit(f"the daemon exited: {daemon.problems[-5:]}")
        time.sleep(0.05)
    return daemon.ready_at - daemon.started_at


def saturate(watchlist: Path, n: int, seconds: float, label: str) -> None:
    daemon = start_daemon(watchlist)
    startup = started(daemon)
    cpu0, t0 = cpu_seconds(daemon.proc.pid), time.monotonic()
    wait_checks(daemon, n, seconds)
    elapsed = time.monotonic() - t0
    cpu = (cpu_seconds(daemon.proc.pid) - cpu0) / elapsed
    checks = list(daemon.checks)
    overall, busy, first = rate(checks, daemon.ready_at or t0)
    outcomes: dict[str, int] = {}
    for _t, outcome in checks:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    rss = peak_rss_mb(daemon.proc.pid)
    daemon.proc.terminate()
    code = daemon.proc.wait(timeout=60)
    print(
        f"{label}: restart {startup:.1f} s; {len(checks)} checks {outcomes} in {elapsed:.0f} s; "
        f"{overall:.0f} checks/s from start-up ({busy:.0f}/s once the first check ended, "
        f"{first:.1f} s after start-up); daemon CPU {100 * cpu:.0f}% of one core; "
        f"peak RSS {rss:.0f} MB; exit code at SIGTERM {code}"
    )
    problems = [p for p in daemon.problems if "abandoned" not in p]
    if problems:
        print(f"  {len(problems)} warnings, e.g. {problems[:2]}")


def run(tmp: Path, hosts: list[str], port: int, args: Any) -> None:
    watchlist = tmp / "watchlist.toml"
    write_watchlist(watchlist, args.watches, hosts, port, args)
    n = args.watches
    pages = "realistic 60–150 KB" if args.realistic else "small 2 KB"
    print(
        f"{n} watches, interval 1h, jitter {args.jitter}, {len(hosts)} hosts, "
        f"concurrency {args.concurrency}, per_host {args.per_host}, {pages} pages, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    seed(tmp, n, hosts, port, etag=True)

    # 1. idle
    daemon = start_daemon(watchlist)
    startup = started(daemon)
    cpu_at_ready = cpu_seconds(daemon.proc.pid)
    time.sleep(3)  # the first flush of next_check_at and the first alert look
    before, t0 = cpu_seconds(daemon.proc.pid), time.monotonic()
    time.sleep(args.idle_seconds)
    idle = (cpu_seconds(daemon.proc.pid) - before) / (time.monotonic() - t0)
    rss = peak_rss_mb(daemon.proc.pid)
    daemon.proc.terminate()
    daemon.proc.wait(timeout=60)
    print(
        f"idle: start-up {startup:.1f} s wall ({cpu_at_ready:.1f} s CPU: imports, {n} watches "
        f"validated, {n} jobs scheduled); {100 * idle:.2f}% of one core over "
        f"{args.idle_seconds:.0f} s with {len(daemon.checks)} checks; peak RSS {rss:.0f} MB"
    )

    # 2. every watch overdue, pages unchanged (304)
    overdue(tmp, keep_etag=True)
    saturate(watchlist, n, args.seconds, "saturation, unchanged pages (304)")

    # 3. every watch overdue, pages never seen
    overdue(tmp, keep_etag=False)
    saturate(watchlist, n, args.seconds, "saturation, new pages (200, stored)")
    print(f"finished {datetime.now():%Y-%m-%d %H:%M}, load average {os.getloadavg()[0]:.1f}")


def run_for(watchlist: Path, database: str, snapshots: Path, seconds: float) -> tuple[Daemon, int]:
    """A daemon on `database` for `seconds` after its start, then stopped with SIGTERM: the
    daemon (its `stopped_at` is when the run ended) and its exit code."""
    os.environ["MONITOR_DATABASE_URL"] = database
    os.environ["MONITOR_SNAPSHOTS"] = str(snapshots)
    try:
        daemon = start_daemon_env(watchlist)
    finally:
        del os.environ["MONITOR_DATABASE_URL"], os.environ["MONITOR_SNAPSHOTS"]
    started(daemon)
    time.sleep(seconds)
    daemon.stopped_at = time.monotonic()
    daemon.proc.terminate()
    return daemon, daemon.proc.wait(timeout=60)


def lateness_run(tmp: Path, hosts: list[str], port: int, args: Any, big: bool) -> list[float]:
    """Seconds late of every check of a healthy watch after its first, in one daemon run."""
    watchlist = tmp / ("big.toml" if big else "alone.toml")
    lines = ["[defaults]", f'interval = "{args.interval}s"', "jitter = 0", "retries = 0", ""]
    for i in range(args.healthy):
        host = hosts[i % len(hosts)]
        lines += ["[[watch]]", f'id = "w{i:05d}"', f'url = "http://{host}:{port}/p/{i}"', ""]
    if big:
        url = f"http://{hosts[0]}:{port}/big/{args.big_kb}"
        lines += ["[[watch]]", 'id = "big"', f'url = "{url}"', 'kind = "policy"', ""]
    watchlist.write_text("\n".join(lines), encoding="utf-8")
    database = f"sqlite:///{tmp / watchlist.stem}.db"
    spread(database, args.healthy, args.interval)
    daemon, code = run_for(watchlist, database, tmp / f"{watchlist.stem}-snapshots", args.seconds)
    ended = daemon.stopped_at
    # A watch's k-th check is due at its phase + k intervals (no jitter); its phase is where its
    # least delayed check says. Late: how long after that each check ended, and for a check
    # overdue when the run ended, how long it had been overdue.
    late: list[float] = []
    for watch, times in daemon.by_watch.items():
        if watch == "big":
            continue
        offsets = [t - k * args.interval for k, t in enumerate(times)]
        phase = min(offsets)
        late += [offset - phase for offset in offsets]
        overdue = ended - (phase + len(times) * args.interval)
        if overdue > 0:
            late.append(overdue)
    print(
        f"  {'with' if big else 'without'} the {args.big_kb} KB page: {len(late)} checks, "
        f"checks of the big page: {', '.join(daemon.big) or 'none'}; exit code at SIGTERM {code}"
        + (f"; {len(daemon.problems)} warnings" if daemon.problems else "")
    )
    return late


def spread(database: str, healthy: int, interval: float, *, etag: bool = False) -> None:
    """Watch rows whose next checks fall evenly over one interval from a few seconds on, as a
    daemon that has run a while has them: so a stalled loop delays some watch whenever it
    stalls (watches all due at the same instant would hide a stall between two instants)."""
    from datetime import UTC, timedelta

    from sqlmodel import insert

    from monitor.store.db import open_engine, writing
    from monitor.store.tables import WatchRow

    engine = open_engine(database)
    now = datetime.now(UTC)
    rows = [
        {
            "id": f"w{i:05d}",
            "url": "http://127.0.0.1/",
            "created_at": now - timedelta(days=1),
            "last_check_at": now + timedelta(seconds=3 + i * interval / healthy - interval),
            "last_outcome": "unchanged",
            "etag": f'"v1-{i}"' if etag else None,
        }
        for i in range(healthy)
    ]
    with writing(engine) as session:
        session.execute(insert(WatchRow), rows)
    engine.dispose()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else float("nan")


def lateness(tmp: Path, hosts: list[str], port: int, args: Any) -> None:
    print(
        f"{args.healthy} watches every {args.interval:g} s, no jitter, {args.seconds:g} s per "
        f"run, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    alone = lateness_run(tmp, hosts, port, args, big=False)
    beside = lateness_run(tmp, hosts, port, args, big=True)
    a, b = p95(alone), p95(beside)
    print(
        f"p95 lateness: {a:.2f} s alone, {b:.2f} s beside the {args.big_kb} KB page "
        f"(difference {b - a:+.2f} s); max {max(alone, default=0):.2f} s and "
        f"{max(beside, default=0):.2f} s; load average {os.getloadavg()[0]:.1f}"
    )


def bytes_by_name(database: Path) -> dict[str, int]:
    """Bytes of pages each table and index holds (SQLite's dbstat)."""
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        found = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
    return {str(name): int(size) for name, size in found}


def store_bytes(tmp: Path, hosts: list[str], port: int, args: Any) -> None:
    watchlist = tmp / "watchlist.toml"
    lines = ["[defaults]", f'interval = "{args.interval}s"', "jitter = 0", "retries = 0", ""]
    for i in range(args.healthy):
        host = hosts[i % len(hosts)]
        lines += ["[[watch]]", f'id = "w{i:05d}"', f'url = "http://{host}:{port}/p/{i}"', ""]
    watchlist.write_text("\n".join(lines), encoding="utf-8")
    path = tmp / "monitor.db"
    database = f"sqlite:///{path}"
    spread(database, args.healthy, args.interval, etag=True)
    before = bytes_by_name(path)
    daemon, code = run_for(watchlist, database, tmp / "snapshots", args.seconds)
    with sqlite3.connect(path) as conn:
        (checks,) = conn.execute('SELECT count(*) FROM "check"').fetchone()
        outcomes = dict(conn.execute('SELECT outcome, count(*) FROM "check" GROUP BY outcome'))
    after = bytes_by_name(path)
    grown = {name: after.get(name, 0) - before.get(name, 0) for name in after.keys() | before}
    total = sum(grown.values())
    print(
        f"{args.healthy} watches every {args.interval:g} s answering 304, {args.seconds:g} s: "
        f"{checks} checks recorded {outcomes}, {len(daemon.checks)} logged; exit code at "
        f"SIGTERM {code}; store grew {total} B, {total / max(checks, 1):.0f} B per check"
    )
    print(
        "per check, by table and index (dbstat): "
        + ", ".join(
            f"{name} {size / max(checks, 1):.0f} B"
            for name, size in sorted(grown.items(), key=lambda item: -item[1])
            if size
        )
    )


if __name__ == "__main__":
    main()
