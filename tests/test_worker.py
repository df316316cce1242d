"""Many machines on one PostgreSQL database: `monitor run --dispatch` and `monitor worker`
processes against a real local server. One check of a watch at a time across workers; a worker
killed with SIGKILL mid-check has its job taken by another, nothing recorded twice; SIGTERM
finishes or abandons checks as `monitor run` does."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.store import queries
from monitor.store.db import open_engine
from tests.databases import create_postgres_database, drop_database, postgres_admin_url
from tests.pageserver import PageServer, Request, Response
from tests.test_daemon import DaemonProcess, assert_consistent, daemons, page, write_watchlist

__all__ = ["daemons"]  # the fixture, shared with the daemon's own tests

needs_postgres = pytest.mark.skipif(
    not postgres_admin_url(), reason="the task queue needs PostgreSQL: set MONITOR_TEST_POSTGRES"
)
FAST = ("--heartbeat", "0.5s")  # a worker's heartbeat, well under the dispatcher's stall timeout


@pytest.fixture
def queue_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = create_postgres_database()
    monkeypatch.setenv("MONITOR_DATABASE_URL", url)
    yield url
    from monitor.store.db import dispose_engines

    dispose_engines()
    drop_database(url)


@pytest.fixture
def processes(daemons: Any) -> Callable[..., DaemonProcess]:
    """`monitor VERB …` processes (`run --dispatch`, `worker`), killed after the test."""

    def start(watchlist: Path, verb: str, *args: str) -> DaemonProcess:
        return daemons(watchlist, *args, verb=verb)

    return start


class OneAtATime:
    """A route that answers after `delay` seconds and counts the requests in flight per path."""

    def __init__(self, text: str, delay: float) -> None:
        self.text, self.delay = text, delay
        self.active: dict[str, int] = {}
        self.most: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self._lock:
            self.active[request.path] = self.active.get(request.path, 0) + 1
            self.most[request.path] = max(self.most.get(request.path, 0), self.active[request.path])
        time.sleep(self.delay)
        with self._lock:
            self.active[request.path] -= 1
        return Response(body=page(self.text))


def checks_in_db(database_url: str, watch_id: str) -> list[Any]:
    return queries.checks(open_engine(database_url), watch_id)


@needs_postgres
def test_workers_check_each_watch_on_schedule_one_check_at_a_time(
    tmp_path: Path,
    page_server: PageServer,
    queue_database: str,
    processes: Callable[..., DaemonProcess],
) -> None:
    route = OneAtATime("Version 1.0 applies to every API user.", delay=0.4)
    for path in ("/a", "/b", "/c"):
        page_server.route(path, route)
    watchlist = write_watchlist(
        tmp_path / "watchlist.toml",
        page_server,
        {name: 'interval = "2s"' for name in ("a", "b", "c")},
    )
    # two dispatchers (one standing by, as a team would run them) enqueue the same due checks
    dispatchers = [processes(watchlist, "run", "--dispatch") for _ in range(2)]
    workers = [processes(watchlist, "worker", "--concurrency", "3", *FAST) for _ in range(2)]
    paths = ("/a", "/b", "/c")
    workers[0].wait_until(
        lambda: all(len(page_server.requests_to(p)) >= 3 for p in paths), timeout=40
    )
    for process in (*dispatchers, *workers):
        assert process.stop() == 0, process.failure()
    assert set(route.most.values()) == {1}  # never two checks of one watch at once
    checked_by = {w.proc.pid: len(w.checks()) for w in workers}
    assert all(checked_by.values()), checked_by  # both workers took checks
    for watch_id in ("a", "b", "c"):
        checks = checks_in_db(queue_database, watch_id)
        assert len(checks) == len(page_server.requests_to("/" + watch_id))  # each recorded once
        times = sorted(c.at for c in checks)
        gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
        assert all(gap >= 1.9 for gap in gaps), (watch_id, gaps)  # on its interval, not sooner
        assert queries.counts(open_engine(queue_database), watch_id)[1] == 1  # one version
    assert_consistent(queue_database, tmp_path / "snapshots")


@needs_postgres
def test_a_worker_killed_mid_check_leaves_its_job_to_another_and_nothing_twice(
    tmp_path: Path,
    page_server: PageServer,
    queue_database: str,
    processes: Callable[..., DaemonProcess],
) -> None:
    body = page("The slow page, version 1.")
    page_server.route("/slow", [Response(body=body, delay=6), Response(body=body)])
    page_server.route("/steady", Response(body=page("The steady page, version 1.")))
    watchlist = write_watchlist(
        tmp_path / "watchlist.toml",
        page_server,
        {"slow": 'interval = "1h"', "steady": 'interval = "1s"'},
    )
    dispatcher = processes(watchlist, "run", "--dispatch", "--stall-timeout", "2s")
    first = processes(watchlist, "worker", *FAST)
    first.wait_until(lambda: page_server.requests_to("/slow"))
    second = processes(watchlist, "worker", *FAST)
    second.wait_until(lambda: second.logged("started"))
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    second.wait_until(lambda: second.checks("slow"), timeout=30)
    steady_before = len(checks_in_db(queue_database, "steady"))
    second.wait_until(lambda: len(checks_in_db(queue_database, "steady")) >= steady_before + 2)
    for process in (dispatcher, second):
        assert process.stop() == 0, process.failure()
    assert any("monitor:check" in e["message"] for e in dispatcher.logged("stalled"))
    assert [c.outcome for c in checks_in_db(queue_database, "slow")] == ["first"]
    assert len(page_server.requests_to("/slow")) == 2  # the killed attempt and the retry
    assert queries.counts(open_engine(queue_database), "slow") == (1, 1, 0)
    assert_consistent(queue_database, tmp_path / "snapshots")


@needs_postgres
def test_sigterm_finishes_or_abandons_checks_and_the_abandoned_one_runs_again(
    tmp_path: Path,
    page_server: PageServer,
    queue_database: str,
    processes: Callable[..., DaemonProcess],
) -> None:
    page_server.route("/quick", Response(body=page("Version 1 of the quick page."), delay=0.5))
    page_server.route("/stuck", Response(body=page("Version 1 of the stuck page."), delay=60))
    watchlist = write_watchlist(
        tmp_path / "watchlist.toml",
        page_server,
        {"quick": 'interval = "1h"', "stuck": 'interval = "1h"'},
    )
    dispatcher = processes(watchlist, "run", "--dispatch")
    worker = processes(watchlist, "worker", "--grace", "2s", *FAST)
    worker.wait_until(
        lambda: page_server.requests_to("/quick") and page_server.requests_to("/stuck")
    )
    started = time.monotonic()
    assert worker.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 15
    assert [c["outcome"] for c in worker.checks("quick")] == ["first"]  # finished within grace
    assert [e["watch"] for e in worker.logged("abandoned")] == ["stuck"]
    assert queries.counts(open_engine(queue_database), "stuck") == (0, 0, 0)
    page_server.route("/stuck", Response(body=page("Version 1 of the stuck page.")))
    again = processes(watchlist, "worker", *FAST)
    again.wait_until(lambda: again.checks("stuck"))
    for process in (dispatcher, again):
        assert process.stop() == 0, process.failure()
    assert queries.counts(open_engine(queue_database), "stuck") == (1, 1, 0)
    assert queries.counts(open_engine(queue_database), "quick") == (1, 1, 0)
    assert_consistent(queue_database, tmp_path / "snapshots")


@pytest.mark.parametrize("command", [["worker"], ["run", "--dispatch"]])
def test_the_queue_on_sqlite_is_one_clear_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    path = tmp_path / "watchlist.toml"
    path.write_text('[[watch]]\nid = "p"\nurl = "http://127.0.0.1:9/p"\n', encoding="utf-8")
    assert main(["-w", str(path), *command]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: the task queue needs PostgreSQL: set MONITOR_DATABASE_URL")


@needs_postgres
def test_the_queue_tables_do_not_count_as_schema_differences(queue_database: str) -> None:
    from monitor import queue
    from monitor.store import migrate

    engine = open_engine(queue_database)
    assert queue.install_schema(engine) is True
    assert queue.install_schema(engine) is False
    assert migrate.differences(engine) == []


def test_the_queue_without_its_library_names_the_extra(tmp_path: Path) -> None:
    import subprocess
    import sys

    hide = (
        "import sys; sys.modules['procrastinate'] = None; from monitor.cli import main; "
        "raise SystemExit(main(sys.argv[1:]))"
    )
    path = tmp_path / "watchlist.toml"
    path.write_text('[[watch]]\nid = "p"\nurl = "http://127.0.0.1:9/p"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", hide, "-w", str(path), "worker"],
        cwd=Path(__file__).parent.parent,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "error: the task queue needs the Python module 'procrastinate': "
        "pip install 'monitor[scale]'"
    )
