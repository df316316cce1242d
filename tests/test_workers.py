"""CPU work off the event loop: the worker processes themselves (real processes, killed for
real), a check whose worker is killed mid-classification, and the daemon checking other watches
on schedule while a long page is being classified."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import Watch, load_config
from monitor.pipeline import CheckReport, check_watches
from monitor.workers import INLINE_BELOW, CpuPool, WorkerCrashed
from tests import worker_jobs
from tests.pageserver import PageServer, Response
from tests.test_daemon import DaemonProcess, write_watchlist

BIG = INLINE_BELOW + 1  # a job size that goes to a worker process


# The pool.


def test_a_job_runs_in_another_process_and_small_jobs_stay_in_this_one() -> None:
    async def main() -> tuple[int, int]:
        pool = CpuPool(1)
        try:
            return await pool.run(os.getpid, size=BIG), await pool.run(os.getpid, size=10)
        finally:
            await pool.close()

    worker, inline = asyncio.run(main())
    assert worker != os.getpid()
    assert inline == os.getpid()


def test_no_workers_runs_every_job_in_this_process() -> None:
    async def main() -> int:
        return await CpuPool(0).run(os.getpid, size=10**9)

    assert asyncio.run(main()) == os.getpid()


def test_a_killed_worker_fails_only_its_job_and_its_lane_gets_a_new_process() -> None:
    async def main() -> None:
        pool = CpuPool(2)
        try:
            # each run takes the lane at the head of the queue and puts it back at the tail
            first = await pool.run(os.getpid, size=BIG)
            second = await pool.run(os.getpid, size=BIG)
            assert first != second
            doomed = asyncio.ensure_future(pool.run(time.sleep, 60, size=BIG))  # on `first`
            other = asyncio.ensure_future(pool.run(time.sleep, 1.0, size=BIG))  # on `second`
            await asyncio.sleep(0.3)
            os.kill(first, signal.SIGKILL)
            with pytest.raises(WorkerCrashed, match="killed by SIGKILL"):
                await doomed
            assert await other is None
            pids = {await pool.run(os.getpid, size=BIG) for _ in range(2)}
            assert second in pids
            assert first not in pids
        finally:
            await pool.close()

    asyncio.run(main())


def test_a_memory_error_in_a_worker_comes_back_as_one_and_the_worker_goes_on() -> None:
    async def main() -> None:
        pool = CpuPool(1)
        try:
            pid = await pool.run(os.getpid, size=BIG)
            with pytest.raises(MemoryError):
                await pool.run(bytearray, 2**62, size=BIG)
            assert await pool.run(os.getpid, size=BIG) == pid
        finally:
            await pool.close()

    asyncio.run(main())


def test_close_stops_a_busy_worker_at_once() -> None:
    async def main() -> None:
        pool = CpuPool(1)
        pid = await pool.run(os.getpid, size=BIG)
        busy = asyncio.ensure_future(pool.run(time.sleep, 60, size=BIG))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await pool.close()
        assert time.monotonic() - started < 10
        with pytest.raises(WorkerCrashed):
            await busy
        assert not Path(f"/proc/{pid}").exists() or _state(pid) == "Z"

    asyncio.run(main())


def test_warm_starts_every_worker_in_the_background_before_any_job() -> None:
    async def main() -> None:
        pool = CpuPool(2)
        try:
            started = time.monotonic()
            pool.warm()
            assert time.monotonic() - started < 0.5  # returns at once
            assert pool.running < 2
            deadline = time.monotonic() + 60
            while pool.running < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert pool.running == 2
            pids = {await pool.run(os.getpid, size=BIG) for _ in range(4)}
            assert len(pids) == 2
            assert os.getpid() not in pids
        finally:
            await pool.close()
        assert pool.running == 0

    asyncio.run(main())


def test_a_pool_closed_while_it_warms_leaves_no_worker_behind() -> None:
    async def main() -> None:
        pool = CpuPool(2)
        pool.warm()
        await pool.close()
        await asyncio.sleep(1.0)  # a warm-up thread still on its way starts nothing
        assert pool.running == 0
        assert await pool.run(os.getpid, size=BIG) == os.getpid()  # closed: inline

    asyncio.run(main())


def test_a_worker_scans_nothing_it_started_with_and_runs_a_job_with_the_collector_paused() -> None:
    async def main() -> tuple[int, bool, bool]:
        pool = CpuPool(1)
        try:
            frozen = await pool.run(gc.get_freeze_count, size=BIG)
            return (
                frozen,
                await pool.run(gc.isenabled, size=BIG),
                await pool.run(gc.isenabled, size=10),
            )
        finally:
            await pool.close()

    frozen, in_worker, inline = asyncio.run(main())
    assert frozen > 10_000  # the stages the fork server imported: set aside, never scanned
    assert in_worker is False
    assert inline is True  # a small page inline leaves this process's collector alone
    assert gc.isenabled()


def test_a_job_leaves_no_garbage_in_its_worker() -> None:
    async def main() -> tuple[int, int]:
        pool = CpuPool(1)
        try:
            made = await pool.run(worker_jobs.leave_cycles, 100_000, size=BIG)
            return made, await pool.run(worker_jobs.cycles_alive, size=BIG)
        finally:
            await pool.close()

    assert asyncio.run(main()) == (100_000, 0)


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


# A page that takes long to classify, whatever the classifier's speed today.


def slow_page(version: int, sections: int) -> bytes:
    """A deprecation page whose every section changes from one version to the next."""
    parts = ["<h1>Model deprecations</h1>"]
    for s in range(sections):
        parts.append(
            f"<h2>Section {s} rev {version if s % 3 == 0 else 0}</h2>"
            f"<p>Models listed here retire on the dates shown, version {version if s % 2 else 1}.</p>"
            "<table><tr><th>Model</th><th>Shutdown</th></tr>"
            + "".join(
                f"<tr><td>model-{s}-{r}</td><td>2026-0{1 + (r + version) % 9}-1{r}</td></tr>"
                for r in range(3)
            )
            + "</table>"
        )
    return ("<html><body><main>" + "".join(parts) + "</main></body></html>").encode()


def slow_sections(at_least: float) -> int:
    """How many sections make a change that takes `at_least` seconds to classify here."""
    from monitor import extract
    from monitor.classify import classify_change
    from monitor.diff import diff_texts

    watch = Watch(id="slow", url="http://127.0.0.1/slow", kind="policy")
    rules = watch.extract_rules()
    sections = 100
    while True:
        old, new = (
            extract.extract_text(slow_page(v, sections), charset=None, base_url=watch.url, **rules)
            for v in (1, 2)
        )
        started = time.perf_counter()
        classify_change(diff_texts(old, new), old, new, watch, at=datetime.now(UTC))
        if time.perf_counter() - started >= at_least or sections >= 3200:
            return sections
        sections *= 2


@pytest.fixture(scope="module")
def sections() -> int:
    return slow_sections(2.0)


# A worker killed mid-classification.


def _workers_of(parent: int) -> list[int]:
    """Worker processes: children of the fork server, itself a child of `parent`."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, ValueError):
                continue
    servers = {pid for pid, ppid in found.items() if ppid == parent}
    return [pid for pid, ppid in found.items() if ppid in servers]


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_worker_killed_mid_classification_fails_that_check_and_the_next_check_works(
    tmp_path: Path, page_server: PageServer, sections: int
) -> None:
    pages = [
        slow_page(1, sections),
        slow_page(2, sections),
        slow_page(1, sections).replace(b"</h1>", b"</h1><p>Also: gpt-4o retires.</p>", 1),
    ]
    assert all(len(p) >= INLINE_BELOW for p in pages)
    page_server.route("/slow", [Response(body=p) for p in pages])
    path = write_watchlist(tmp_path / "watchlist.toml", page_server, {"slow": 'kind = "policy"'})
    config = load_config(path)

    def run() -> CheckReport:
        return asyncio.run(check_watches(config, config.watches))[0]

    assert run().outcome == "first"

    async def killed() -> tuple[CheckReport, str]:
        check = asyncio.ensure_future(check_watches(config, config.watches))
        victim = ""
        while not check.done() and not victim:
            await asyncio.sleep(0.02)
            for pid in _workers_of(os.getpid()):
                if _cpu_seconds(pid) >= 0.2:  # busy with the page: forked workers start at 0
                    os.kill(pid, signal.SIGKILL)
                    victim = str(pid)
        return (await check)[0], victim

    report, victim = asyncio.run(killed())
    assert victim, "the worker finished before it could be killed"
    assert report.outcome == "failed"
    assert report.error is not None and "the worker process analysing the page died" in report.error
    # CPython's forkserver reports 255 when the killed child's status cannot be read back from it
    assert "(killed by SIGKILL)" in report.error or "(exit code 255)" in report.error
    assert "\n" not in report.error

    db = sqlite3.connect(tmp_path / "monitor.db")
    rows = db.execute(
        "SELECT outcome, error_kind FROM \"check\" WHERE watch_id = 'slow' ORDER BY id"
    ).fetchall()
    db.close()
    assert rows[-1] == ("failed", "worker")

    after = run()
    assert after.outcome == "changed", after


# The daemon goes on while a long page is classified.


def test_the_daemon_checks_other_watches_while_a_long_page_is_classified(
    tmp_path: Path, page_server: PageServer, sections: int
) -> None:
    versions = iter(range(1, 10**6))
    page_server.route("/big", lambda _request: Response(body=slow_page(next(versions), sections)))
    small = [f"small{i}" for i in range(3)]
    for watch_id in small:
        page_server.route(f"/{watch_id}", Response(body=b"<main><h1>Terms</h1><p>Same.</p></main>"))
    watches = {"big": 'interval = "1s"\nkind = "policy"'}
    watches |= {watch_id: 'interval = "1s"' for watch_id in small}
    path = write_watchlist(tmp_path / "watchlist.toml", page_server, watches)
    daemon = DaemonProcess(path)
    try:
        daemon.wait_until(lambda: len(daemon.checks("big")) >= 1, timeout=60)
        assert daemon.checks("big")[0]["outcome"] == "first"
        daemon.wait_until(lambda: len(page_server.requests_to("/big")) >= 2, timeout=30)
        before = {w: len(daemon.checks(w)) for w in small}
        daemon.wait_until(lambda: len(daemon.checks("big")) >= 2, timeout=120)
        assert daemon.checks("big")[1]["outcome"] == "changed"
        events = daemon.logged("check")
        classified_at = next(
            i for i, e in enumerate(events) if e["watch"] == "big" and e["outcome"] == "changed"
        )
        during = {
            w: sum(1 for e in events[:classified_at] if e["watch"] == w) - before[w] for w in small
        }
        # the classification took over 2 s, the small watches are due every second
        assert all(count >= 1 for count in during.values()), during
        assert sum(during.values()) >= 4, during
    finally:
        code = daemon.stop()  # SIGTERM while the page's next version is in a worker
        daemon.kill()
        for stream in (daemon.proc.stdout, daemon.proc.stderr):
            if stream is not None:
                stream.close()
    assert code == 0


_OWNER = """
import asyncio, os, sys, time
from monitor.workers import INLINE_BELOW, CpuPool

async def main() -> None:
    pool = CpuPool(1)
    worker = await pool.run(os.getpid, size=INLINE_BELOW)
    print(worker, flush=True)
    time.sleep(60)

if __name__ == "__main__":
    asyncio.run(main())
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # ended, waiting only for whoever adopted it to reap it


def test_a_process_killed_with_its_workers_running_leaves_no_worker_or_fork_server(
    tmp_path: Path,
) -> None:
    """A check or daemon killed outright (SIGKILL, the OOM killer) cannot stop its workers: they
    must notice and leave, and the fork server with them, not wait for ever."""
    import subprocess
    import sys

    script = tmp_path / "owner.py"
    script.write_text(_OWNER)
    owner = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert owner.stdout is not None
        worker = int(owner.stdout.readline())
        fork_server = int(Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[1])
        assert not _gone(worker) and not _gone(fork_server)
    finally:
        owner.kill()
        owner.wait()
        if owner.stdout is not None:
            owner.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (_gone(worker) and _gone(fork_server)):
        time.sleep(0.1)
    assert _gone(worker), "the worker outlived the process that started it"
    assert _gone(fork_server), "the fork server outlived the process that started it"
