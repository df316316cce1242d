"""The daemon against a real local server and a real SQLite file: `monitor run` as a subprocess
(signals, restarts, reloads), one in-process run for the backoff, and the schedule arithmetic."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.cli import main
from monitor.config import load_config
from monitor.daemon import Daemon, Options
from monitor.scheduler import due_at, first_run, is_transient, retry_delay
from monitor.store import outbox, queries
from monitor.store.db import open_engine
from tests.pageserver import PageServer, Response

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.usefixtures("database_url")


def page(text: str) -> bytes:
    return (
        "<!doctype html><html><head><title>Usage policy</title></head><body><main>"
        f"<h1>Usage policy</h1><p>{text}</p><p>We review these rules every quarter.</p>"
        "</main></body></html>"
    ).encode()


def serve(
    server: PageServer, *paths: str, text: str = "Version 1.0 applies to every API user."
) -> None:
    for path in paths:
        server.route(path, lambda request, t=text: Response(body=page(t)))


def write_watchlist(
    path: Path, server: PageServer, watches: dict[str, str], defaults: str = "", extra: str = ""
) -> Path:
    """`watches` maps an id to its TOML lines beyond id and url (e.g. 'interval = "1s"')."""
    base = ["jitter = 0", "retries = 0", 'timeout = "30s"']
    given = {line.split("=")[0].strip() for line in defaults.splitlines() if "=" in line}
    base = [line for line in base if line.split("=")[0].strip() not in given]
    lines = ["[defaults]", *base, defaults, extra]
    for watch_id, more in watches.items():
        lines += ["[[watch]]", f'id = "{watch_id}"', f'url = "{server.url("/" + watch_id)}"', more]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class DaemonProcess:
    """`python -m monitor -w WATCHLIST run --log-format json ...`, its stderr parsed as it comes."""

    def __init__(
        self, watchlist: Path, *args: str, env: dict[str, str] | None = None, verb: str = "run"
    ) -> None:
        environ = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("MONITOR_") or k == "MONITOR_DATABASE_URL"
        }
        environ |= {"PYTHONPATH": str(ROOT), **(env or {})}
        command = [sys.executable, "-m", "monitor", "-w", str(watchlist), verb]
        self.proc = subprocess.Popen(
            [*command, "--log-format", "json", *args],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.events: list[dict[str, Any]] = []
        self.stdout: list[str] = []
        self._lock = threading.Lock()
        self._readers = [
            threading.Thread(target=self._read_log, daemon=True),
            threading.Thread(target=self._read_stdout, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_log(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = {"event": "not-json", "message": line.rstrip()}
            with self._lock:
                self.events.append(event)

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout.append(line)

    def logged(self, event: str | None = None, **fields: Any) -> list[dict[str, Any]]:
        with self._lock:
            found = list(self.events)
        if event is not None:
            found = [e for e in found if e.get("event") == event]
        return [e for e in found if all(e.get(k) == v for k, v in fields.items())]

    def checks(self, watch: str | None = None) -> list[dict[str, Any]]:
        return self.logged("check", **({"watch": watch} if watch else {}))

    def wait_until(self, condition: Callable[[], object], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                raise AssertionError(f"the daemon exited ({self.proc.returncode}): {self.events}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting; log so far: {self.events}")
            time.sleep(0.05)

    def send(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        return code

    def failure(self) -> str:
        """What the process ran and its last log lines, for an assertion's message."""
        return f"{self.proc.args} exited {self.proc.returncode}; last log: {self.logged()[-8:]}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def daemons() -> Any:
    started: list[DaemonProcess] = []

    def start(watchlist: Path, *args: str, **kw: Any) -> DaemonProcess:
        daemon = DaemonProcess(watchlist, *args, **kw)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()
        for stream in (daemon.proc.stdout, daemon.proc.stderr):
            if stream is not None:
                stream.close()


def gaps(server: PageServer, path: str) -> list[float]:
    times = [r.at for r in server.requests_to(path)]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def assert_consistent(database_url: str, snapshots: Path) -> None:
    """The database's own check (SQLite), no row pointing at a missing row, every body present,
    no temp file."""
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as con:
            if engine.dialect.name == "sqlite":
                assert con.exec_driver_sql("PRAGMA integrity_check").fetchall() == [("ok",)]
                assert con.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            links = [
                ("check", "watch_id", "watch"),
                ("check", "version_id", "version"),
                ("snapshot", "watch_id", "watch"),
                ("version", "snapshot_id", "snapshot"),
                ("change", "from_version_id", "version"),
                ("change", "to_version_id", "version"),
                ("delivery", "change_id", "change"),
            ]
            for table, column, parent in links:
                query = (
                    f'SELECT count(*) FROM "{table}" WHERE {column} IS NOT NULL'
                    f' AND {column} NOT IN (SELECT id FROM "{parent}")'
                )
                assert con.exec_driver_sql(query).fetchone() == (0,), (table, column)
            # a version is recorded with the check that saw it, in one transaction
            lonely = 'SELECT count(*) FROM version WHERE id NOT IN (SELECT version_id FROM "check"'
            assert con.exec_driver_sql(lonely + " WHERE version_id IS NOT NULL)").fetchone() == (0,)
            shas = [row[0] for row in con.exec_driver_sql("SELECT sha256 FROM snapshot")]
            shas += [row[0] for row in con.exec_driver_sql("SELECT text_sha256 FROM version")]
    finally:
        engine.dispose()
    for sha in shas:
        assert (snapshots / sha[:2] / f"{sha}.gz").is_file(), sha
    assert [p for p in snapshots.rglob(".tmp-*")] == []


# The schedule arithmetic.


def test_backoff_after_transient_failures_doubles_up_to_the_interval() -> None:
    hour = 3600.0
    delays = [retry_delay(hour, n, transient=True) for n in range(1, 8)]
    assert delays == [225.0, 450.0, 900.0, 1800.0, hour, hour, hour]
    assert retry_delay(hour, 3, transient=False) == hour  # a 404 or a bot wall: the interval
    assert retry_delay(120.0, 1, transient=True) == 60.0  # never sooner than the floor
    assert retry_delay(30.0, 1, transient=True) == 30.0  # nor later than the interval
    assert is_transient("timeout", None) and is_transient("http_status", 503)
    assert is_transient("http_status", 429) and not is_transient("http_status", 404)
    assert not is_transient("blocked", 403) and not is_transient("extract", None)


def test_first_run_comes_from_the_last_recorded_check(
    tmp_path: Path, page_server: PageServer
) -> None:
    path = write_watchlist(
        tmp_path / "watchlist.toml",
        page_server,
        {"hourly": 'interval = "1h"', "nightly": 'cron = "0 3 * * *"'},
        defaults='jitter = "30s"',
    )
    config = load_config(path)
    hourly, nightly = config.watches
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    rng = random.Random(5)

    def first(
        watch: Any, last: datetime | None, nxt: datetime | None = None, failures: int = 0
    ) -> datetime:
        return first_run(config, watch, now, last, nxt, failures, rng=rng)

    never = first(hourly, None)  # never checked: now, spread by the jitter
    assert now <= never <= now + timedelta(seconds=30)
    recent = first(hourly, now - timedelta(minutes=20))  # not due: last check + interval
    assert now + timedelta(minutes=40) <= recent <= now + timedelta(minutes=40, seconds=30)
    overdue = first(hourly, now - timedelta(hours=3))  # overdue: now, not skipped
    assert now <= overdue <= now + timedelta(seconds=30)
    retry = now + timedelta(minutes=4)  # a failing watch keeps its recorded retry time
    assert (
        retry
        <= first(hourly, now - timedelta(minutes=5), retry, 1)
        <= retry + timedelta(seconds=30)
    )
    assert first(hourly, now - timedelta(minutes=5), retry, 0) >= now + timedelta(minutes=55)
    # cron: the first slot after the last check; a slot missed while stopped runs now
    assert due_at(config, nightly, datetime(2026, 3, 1, 3, 0, 1, tzinfo=UTC)) == datetime(
        2026, 3, 2, 3, 0, tzinfo=UTC
    )
    missed = first(nightly, datetime(2026, 2, 28, 3, 0, 1, tzinfo=UTC))
    assert now <= missed <= now + timedelta(seconds=30)


# The daemon, as users run it.


def test_checks_each_watch_on_schedule_and_picks_up_an_edit(
    tmp_path: Path, page_server: PageServer, daemons: Any
) -> None:
    serve(page_server, "/fast", "/slow", "/added")
    watchlist = tmp_path / "watchlist.toml"
    write_watchlist(watchlist, page_server, {"fast": 'interval = "1s"', "slow": 'interval = "2s"'})
    daemon = daemons(watchlist, "--reload-every", "0.5s")
    daemon.wait_until(lambda: len(page_server.requests_to("/fast")) >= 3)
    assert {c["outcome"] for c in daemon.checks("fast")} <= {"first", "unchanged"}
    # arrivals move with the machine's load; no watch is checked twice in a row, none falls behind
    fast = gaps(page_server, "/fast")
    assert min(fast) >= 0.3 and sum(fast) / len(fast) <= 1.5, fast
    assert all(g >= 1.0 for g in gaps(page_server, "/slow")), gaps(page_server, "/slow")
    assert len(page_server.requests_to("/slow")) >= 1

    # the edit: a watch added, one removed, one rescheduled; no restart
    write_watchlist(watchlist, page_server, {"fast": 'interval = "2s"', "added": 'interval = "1s"'})
    daemon.wait_until(lambda: daemon.logged("reloaded"))
    reloaded_at = time.monotonic()
    daemon.wait_until(lambda: len(page_server.requests_to("/added")) >= 2)
    fast_before = len(page_server.requests_to("/fast"))
    daemon.wait_until(lambda: len(page_server.requests_to("/fast")) >= fast_before + 1)
    assert daemon.stop() == 0, daemon.failure()
    assert [r for r in page_server.requests_to("/slow") if r.at > reloaded_at + 0.5] == []
    fast = [r.at for r in page_server.requests_to("/fast")]
    since = max(i for i, at in enumerate(fast) if at < reloaded_at)  # the last one before
    spaced = [b - a for a, b in zip(fast[since:], fast[since + 1 :], strict=False)]
    assert all(g >= 1.4 for g in spaced), spaced  # rescheduled from 1 s to 2 s
    config = load_config(watchlist)
    engine = open_engine(config.database_url)
    assert queries.counts(engine, "added")[0] >= 2
    assert daemon.logged("stopped")


def test_a_broken_edit_is_logged_and_the_running_watchlist_stays(
    tmp_path: Path, page_server: PageServer, daemons: Any
) -> None:
    serve(page_server, "/kept", "/later")
    watchlist = tmp_path / "watchlist.toml"
    write_watchlist(watchlist, page_server, {"kept": 'interval = "1s"'})
    daemon = daemons(watchlist, "--reload-every", "1h")  # only SIGHUP reloads
    daemon.wait_until(lambda: daemon.checks("kept"))
    write_watchlist(
        watchlist,
        page_server,
        {"kept": 'interval = "soon"', "later": 'interval = "1s"\ncolour = "blue"'},
    )
    daemon.send(signal.SIGHUP)
    daemon.wait_until(lambda: daemon.logged("config", level="warning"))
    problems = daemon.logged("config", level="error")
    assert len(problems) == 2, problems  # one line per problem
    assert any("'kept'" in p["message"] and "interval" in p["message"] for p in problems)
    assert any("'later'" in p["message"] and "colour" in p["message"] for p in problems)
    checked = len(daemon.checks("kept"))
    daemon.wait_until(lambda: len(daemon.checks("kept")) >= checked + 2)  # still running
    assert page_server.requests_to("/later") == []

    write_watchlist(watchlist, page_server, {"kept": 'interval = "1s"', "later": 'interval = "1s"'})
    daemon.send(signal.SIGHUP)
    daemon.wait_until(lambda: daemon.checks("later"))
    assert daemon.stop() == 0, daemon.failure()


def test_an_outage_gives_one_failure_alert_and_one_recovery_note(
    tmp_path: Path, page_server: PageServer, daemons: Any
) -> None:
    serve(page_server, "/policy")
    page_server.route("/hook", Response(status=200, body=b"{}", content_type="application/json"))
    watchlist = write_watchlist(
        tmp_path / "watchlist.toml",
        page_server,
        {"policy": 'interval = "1s"\nchannels = ["hook"]'},
        defaults="failures_before_alert = 2",
        extra='[channels.hook]\ntype = "webhook"\nurl_env = "HOOK_URL"',
    )
    daemon = daemons(watchlist, "--alerts-every", "1s", env={"HOOK_URL": page_server.url("/hook")})
    daemon.wait_until(lambda: len(daemon.checks("policy")) >= 2)

    down = b"<html><body><h1>Service Unavailable</h1></body></html>"
    page_server.route("/policy", Response(status=503, body=down))
    daemon.wait_until(lambda: len(daemon.logged("check", outcome="failed")) >= 3)
    failed = daemon.logged("check", outcome="failed")
    assert [f["failures_in_row"] for f in failed[:3]] == [1, 2, 3]  # still scheduled
    serve(page_server, "/policy")
    daemon.wait_until(lambda: any("page_restored" in c["labels"] for c in daemon.checks("policy")))
    daemon.wait_until(lambda: len(page_server.requests_to("/hook")) >= 2)
    checks_after = len(daemon.checks("policy"))
    daemon.wait_until(lambda: len(daemon.checks("policy")) > checks_after)  # no second note
    assert daemon.stop() == 0, daemon.failure()

    alerts = [json.loads(r.body) for r in page_server.requests_to("/hook")]
    assert [a["labels"] for a in alerts] == [["fetch_problem"], ["page_restored"]]
    engine = open_engine(load_config(watchlist).database_url)
    assert [c.labels for c in queries.changes(engine, "policy")] == [
        ["page_restored"],
        ["fetch_problem"],
    ]
    assert {d.state for d, _change in outbox.deliveries(engine)} == {"sent"}
    assert_consistent(load_config(watchlist).database_url, tmp_path / "snapshots")


def test_a_restart_neither_checks_again_before_the_interval_nor_skips_a_due_check(
    tmp_path: Path, page_server: PageServer, daemons: Any
) -> None:
    serve(page_server, "/hourly", "/often")
    watchlist = write_watchlist(
        tmp_path / "watchlist.toml",
        page_server,
        {"hourly": 'interval = "1h"', "often": 'interval = "1s"'},
    )
    first = daemons(watchlist)
    first.wait_until(lambda: first.checks("hourly") and first.checks("often"))
    assert first.stop() == 0, first.failure()
    second = daemons(watchlist)
    second.wait_until(lambda: second.logged("started"))
    second.wait_until(lambda: len(second.checks("often")) >= 2)  # due at the restart: checked
    assert second.stop() == 0, second.failure()
    assert second.checks("hourly") == []  # checked minutes ago: not again before the hour
    assert len(page_server.requests_to("/hourly")) == 1
    engine = open_engine(load_config(watchlist).database_url)
    times = sorted(c.at for c in queries.checks(engine, "often"))
    before = len(first.checks("often"))  # the last of these and the next are a restart apart
    assert times[before] - times[before - 1] >= timedelta(seconds=1), times


def test_sigterm_mid_check_finishes_or_abandons_and_leaves_the_database_consistent(
    tmp_path: Path, page_server: PageServer, daemons: Any
) -> None:
    page_server.route("/quick", Response(body=page("Version 1 of the quick page."), delay=0.5))
    page_server.route("/stuck", Response(body=page("Version 1 of the stuck page."), delay=60))
    serve(page_server, "/steady")
    watchlist = write_watchlist(
        tmp_path / "watchlist.toml",
        page_server,
        {"steady": 'interval = "1s"', "quick": 'interval = "1h"', "stuck": 'interval = "1h"'},
    )
    daemon = daemons(watchlist, "--grace", "2s")
    daemon.wait_until(
        lambda: page_server.requests_to("/quick") and page_server.requests_to("/stuck")
    )
    daemon.wait_until(lambda: daemon.checks("steady"))
    assert daemon.stop(signal.SIGTERM) == 0
    assert [c["outcome"] for c in daemon.checks("quick")] == ["first"]  # finished within grace
    assert daemon.checks("stuck") == []
    assert [e["watch"] for e in daemon.logged("abandoned")] == ["stuck"]
    engine = open_engine(load_config(watchlist).database_url)
    assert queries.counts(engine, "quick") == (1, 1, 0)
    assert queries.counts(engine, "stuck") == (0, 0, 0)
    assert_consistent(load_config(watchlist).database_url, tmp_path / "snapshots")


def test_once_checks_what_is_due_then_status_shows_it(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    serve(page_server, "/a", "/b")
    watchlist = tmp_path / "watchlist.toml"
    write_watchlist(watchlist, page_server, {"a": 'interval = "1h"', "b": 'interval = "1h"'})

    def monitor(*args: str) -> tuple[int, str, str]:
        code = main(["-w", str(watchlist), *args])
        out, err = capsys.readouterr()
        return code, out, err

    code, _out, err = monitor("run", "--once")
    assert code == 0, err
    assert " check a first " in err and " check b first " in err
    code, _out, err = monitor("run", "--once")  # nothing is due before an hour has passed
    assert code == 0 and " check " not in err, err
    assert len(page_server.requests_to("/a")) == 1

    write_watchlist(
        watchlist, page_server, {"a": 'interval = "1h"', "b": 'interval = "1h"', "gone": ""}
    )
    code, _out, err = monitor("run", "--once", "--log-format", "json")
    assert code == 1
    events = [json.loads(line) for line in err.splitlines()]
    checked = [(e["watch"], e["outcome"]) for e in events if e["event"] == "check"]
    assert checked == [("gone", "failed")]

    code, out, err = monitor("status", "--json")
    assert code == 0, err
    rows = {r["watch"]: r for r in json.loads(out)}
    assert rows["a"]["last_outcome"] == "first" and rows["a"]["due"] is False
    last = datetime.fromisoformat(rows["a"]["last_check_at"])
    nxt = datetime.fromisoformat(rows["a"]["next_check_at"])
    assert timedelta(minutes=59) <= nxt - last <= timedelta(minutes=61)
    assert rows["gone"]["last_outcome"] == "failed" and rows["gone"]["failures_in_row"] == 1
    code, out, _err = monitor("status")
    assert code == 0 and "gone" in out and "failed" in out


# The backoff, in process: a transient failure is tried again sooner, a permanent one is not.


def test_a_failing_watch_stays_scheduled_with_backoff(
    tmp_path: Path, page_server: PageServer
) -> None:
    page_server.route("/flaky", Response(status=503, body=b"<h1>Service Unavailable</h1>"))
    page_server.route("/missing", Response(status=404, body=b"<h1>Not Found</h1>"))
    watchlist = write_watchlist(
        tmp_path / "watchlist.toml",
        page_server,
        {"flaky": 'interval = "8s"', "missing": 'interval = "8s"'},
    )
    config = load_config(watchlist)

    async def main() -> int:
        daemon = Daemon(config, Options(retry_floor=0.2, alerts_every=60, reload_every=60))

        async def third_try_then_stop() -> None:
            deadline = time.monotonic() + 6  # less than the interval: only backoff gets there
            while len(page_server.requests_to("/flaky")) < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
            daemon.stop()

        stopper = asyncio.ensure_future(third_try_then_stop())
        code = await daemon.serve()
        await stopper
        return code

    assert asyncio.run(main()) == 0
    flaky = gaps(page_server, "/flaky")
    # 8s/16, then 8s/8 after each failed check ends, where the interval alone gives one try
    assert len(flaky) == 2 and 0.5 <= flaky[0] < flaky[1] and flaky[1] >= 1.0, flaky
    assert len(page_server.requests_to("/missing")) == 1  # a 404: the next try is the interval
    engine = open_engine(config.database_url)
    assert queries.watch_rows(engine)["flaky"].failures_in_row == 3
