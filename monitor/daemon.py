"""The daemon: `monitor run` checks each watch on its schedule and delivers alerts until SIGTERM
or SIGINT; `monitor run --once` checks the watches that are due now, delivers alerts and exits.

- Scheduling and backoff: see monitor/scheduler.py.
- Reload: on SIGHUP, and when the watchlist's mtime or size changes (polled every
  `reload_every` seconds), the watchlist is read again; jobs are added, removed or made again.
  A broken edit is logged, one line per problem, and the running watchlist stays in force.
- Alerts: `monitor.alerts.deliver_due` runs every `alerts_every` seconds in a worker thread.
- Shutdown: on SIGTERM or SIGINT no new check starts; checks in flight get `grace` seconds to
  finish, then are cancelled. A check is cancelled only while it waits on the network: its
  rows are written in one transaction after the fetch, and bodies go to a temporary file that
  is renamed into place, so a cancelled check leaves nothing behind. A second signal cancels at
  once. The exit code is 0, or 1 when the store failed.
- Logs go to stderr: one line per check, plain or JSON lines (`log_format`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.config import Config, Watch, load_config
from monitor.errors import ConfigError, StoreError

if TYPE_CHECKING:
    import sqlalchemy as sa

    from monitor.fetch import Fetcher, FetchSettings
    from monitor.pipeline import Checker, CheckReport
    from monitor.scheduler import StoredSchedule, WatchScheduler
    from monitor.store.schedule import ScheduleState

log = logging.getLogger("monitor.daemon")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass(frozen=True)
class Options:
    grace: float = 5.0  # seconds in-flight checks get to finish at shutdown
    alerts_every: float = 30.0  # seconds between two runs of the alert sender
    reload_every: float = 2.0  # seconds between two looks at the watchlist's mtime
    flush_every: float = 2.0  # seconds between two writes of next_check_at
    retry_floor: float | None = None  # None: scheduler.RETRY_FLOOR


async def run(
    config_path: str | Path,
    *,
    once: bool,
    log_format: str = "plain",
    options: Options | None = None,
) -> int:
    """`monitor run` (until SIGTERM/SIGINT) or `monitor run --once`. Returns the exit code.
    Raises ConfigError when the watchlist is wrong at start."""
    with logging_to_stderr(log_format):
        config = load_config(config_path)
        for line in config.missing_secrets():
            log.warning(line)
        if once:
            return await run_once(config, options or Options())
        return await Daemon(config, options or Options()).serve()


# One check's log line, and the machinery that prints it.


def _iso(when: datetime | None, *, ms: bool = False) -> str | None:
    if when is None:
        return None
    text = when.astimezone(UTC).isoformat(timespec="milliseconds" if ms else "seconds")
    return text.replace("+00:00", "Z")


def log_check(report: CheckReport, *, next_at: datetime | None, failures: int | None) -> None:
    fields: dict[str, Any] = {
        "watch": report.watch_id,
        "outcome": report.outcome,
        "duration_ms": report.duration_ms,
        "change_id": report.change_id,
        "labels": list(report.labels),
        "severity": report.severity,
        "error": report.error,
        "failures_in_row": failures,
        "next_check_at": _iso(next_at),
    }
    level = logging.WARNING if report.outcome in ("failed", "error") else logging.INFO
    log.log(
        level, "%s %s", report.watch_id, report.outcome, extra={"event": "check", "fields": fields}
    )


class LineFormatter(logging.Formatter):
    """Plain: `TIME check WATCH OUTCOME 123ms change=7 labels=a,b next=TIME` for checks,
    `TIME LEVEL message` otherwise. JSON: one object per line with time, level, event and the
    check's fields."""

    def __init__(self, log_format: str) -> None:
        super().__init__()
        self.json = log_format == "json"

    def format(self, record: logging.LogRecord) -> str:
        at = _iso(datetime.fromtimestamp(record.created, UTC), ms=True)
        event = getattr(record, "event", None)
        if event is None:
            event = "scheduler" if record.name.startswith("apscheduler") else "log"
        fields: dict[str, Any] = getattr(record, "fields", {})
        message = record.getMessage()
        if record.exc_info:
            message += " | " + " ".join(self.formatException(record.exc_info).split())[-600:]
        if self.json:
            item = {"time": at, "level": record.levelname.lower(), "event": event}
            if event != "check":
                item["message"] = message
            return json.dumps({**item, **fields}, ensure_ascii=False)
        if event != "check":
            return f"{at} {record.levelname.lower()} {message}"
        parts = [f"{at} check {fields['watch']} {fields['outcome']} {fields['duration_ms']}ms"]
        if fields["change_id"] is not None:
            parts.append(f"change={fields['change_id']}")
        if fields["labels"]:
            parts.append("labels=" + ",".join(fields["labels"]))
        if fields["failures_in_row"]:
            parts.append(f"failures={fields['failures_in_row']}")
        if fields["error"]:
            parts.append("error=" + json.dumps(fields["error"], ensure_ascii=False))
        if fields["next_check_at"]:
            parts.append(f"next={fields['next_check_at']}")
        return " ".join(parts)


@contextlib.contextmanager
def logging_to_stderr(log_format: str) -> Iterator[None]:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LineFormatter(log_format))
    saved = []
    for name, level in (("monitor", logging.INFO), ("apscheduler", logging.WARNING)):
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, level, propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate


# Pieces shared by the daemon and --once.


def _stored(engine: sa.Engine, ids: Iterable[str]) -> dict[str, StoredSchedule]:
    from monitor.scheduler import StoredSchedule
    from monitor.store.schedule import schedule_states

    return {
        watch_id: StoredSchedule(s.last_check_at, s.next_check_at, s.failures_in_row)
        for watch_id, s in schedule_states(engine, ids).items()
    }


def _error_report(watch: Watch, exc: Exception) -> CheckReport:
    from monitor.pipeline import CheckReport

    return CheckReport(watch.id, "error", 0, error=f"{type(exc).__name__}: {exc}")


async def _deliver_alerts(config: Config, engine: sa.Engine) -> None:
    """Send due deliveries in a worker thread (the channels' clients block)."""
    from monitor.alerts import deliver_due

    summary = await asyncio.to_thread(deliver_due, config, engine)
    if summary.sent or summary.retrying or summary.failed:
        log.info("alerts: %s", summary.describe().splitlines()[0], extra={"event": "alerts"})
    for problem in summary.problems:
        log.warning("alerts: %s", problem, extra={"event": "alerts"})


async def _wait_for(tasks: set[asyncio.Task[Any]], grace: float, hurry: asyncio.Event) -> None:
    """Until every task is done, `grace` seconds have passed, or `hurry` is set."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    hurried = asyncio.ensure_future(hurry.wait())
    try:
        pending = {t for t in tasks if not t.done()}
        while pending and not hurry.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            done, _ = await asyncio.wait(
                pending | {hurried}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            pending -= done
    finally:
        hurried.cancel()


async def _cancel(tasks: Iterable[asyncio.Task[Any]]) -> int:
    left = [t for t in tasks if not t.done()]
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)
    return len(left)


class _Signals:
    """SIGTERM/SIGINT: first stop, then hurry. SIGHUP: a callback."""

    def __init__(self, stop: asyncio.Event, hurry: asyncio.Event, on_hup: Any = None) -> None:
        self.stop, self.hurry, self.on_hup = stop, hurry, on_hup
        self._loop = asyncio.get_running_loop()
        self._installed: list[signal.Signals] = []

    def __enter__(self) -> _Signals:
        for sig in STOP_SIGNALS:
            self._loop.add_signal_handler(sig, self._stop, sig)
            self._installed.append(sig)
        if self.on_hup is not None and hasattr(signal, "SIGHUP"):
            self._loop.add_signal_handler(signal.SIGHUP, self.on_hup)
            self._installed.append(signal.SIGHUP)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig in self._installed:
            self._loop.remove_signal_handler(sig)

    def _stop(self, sig: signal.Signals) -> None:
        if self.stop.is_set():
            log.warning("%s again: cancelling the checks in flight", sig.name)
            self.hurry.set()
            return
        log.info("%s: stopping", sig.name)
        self.stop.set()


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class _Tools:
    """One Fetcher and the Checker of one version of the watchlist."""

    def __init__(self, settings: FetchSettings, fetcher: Fetcher, checker: Checker) -> None:
        self.settings, self.fetcher, self.checker = settings, fetcher, checker

    @classmethod
    async def open(cls, config: Config, engine: sa.Engine, reuse: _Tools | None = None) -> _Tools:
        from monitor.fetch import Fetcher, FetchSettings
        from monitor.pipeline import Checker

        settings = FetchSettings.from_defaults(config.defaults)
        if reuse is not None and reuse.settings == settings:
            fetcher = reuse.fetcher
        else:
            fetcher = await Fetcher(settings).__aenter__()
        return cls(settings, fetcher, Checker(config, fetcher=fetcher, engine=engine))

    async def close(self, *, keep_fetcher: bool = False) -> None:
        try:
            await self.checker.close()
        finally:
            if not keep_fetcher:
                await self.fetcher.__aexit__(None, None, None)


class Daemon:
    def __init__(self, config: Config, options: Options) -> None:
        from monitor.scheduler import WatchScheduler
        from monitor.store.db import open_engine

        self.config = config
        self.options = options
        self.engine = open_engine(config.database_url)
        from monitor.scheduler import RETRY_FLOOR

        floor = RETRY_FLOOR if options.retry_floor is None else options.retry_floor
        self.scheduler: WatchScheduler = WatchScheduler(self._fire, retry_floor=floor)
        self._watches = {w.id: w for w in config.watches}
        self._tools: _Tools | None = None
        self._retired: list[tuple[set[asyncio.Task[Any]], _Tools, bool]] = []
        self._inflight: set[asyncio.Task[Any]] = set()
        self._next: dict[str, datetime] = {}
        self._started: dict[str, datetime] = {}  # when each watch's latest check here began
        self._signature = _signature(config.path)
        self._reload_lock = asyncio.Lock()
        self._stop = asyncio.Event()
        self._hurry = asyncio.Event()
        self._stopping = False
        self._fatal: str | None = None
        self._background: set[asyncio.Task[Any]] = set()

    def stop(self) -> None:
        """Ask the daemon to stop, as SIGTERM does."""
        self._stop.set()

    async def serve(self) -> int:
        self._tools = await _Tools.open(self.config, self.engine)
        with _Signals(self._stop, self._hurry, on_hup=self._on_hup):
            try:
                self.scheduler.start()
                synced = self.scheduler.sync(self.config, self._read_stored)
                self._remember_next(synced.added)
                opts = self.options
                self.scheduler.every("alerts", opts.alerts_every, self._alerts)
                self.scheduler.every("watchlist", opts.reload_every, self._poll_watchlist)
                self.scheduler.every("flush", opts.flush_every, self._flush_next)
                log.info(
                    "started: %d watches from %s; alerts every %gs; pid %d",
                    len(self.config.watches), self.config.path, opts.alerts_every, os.getpid(),
                    extra={"event": "started"},
                )  # fmt: skip
                await self._stop.wait()
            finally:
                await self._shutdown()
        return 1 if self._fatal else 0

    def _read_stored(self, ids: Iterable[str]) -> dict[str, StoredSchedule]:
        """The store's view, where a check started here and not yet recorded counts as the
        last check (so a reload during a check does not schedule the next one too soon)."""
        from monitor.scheduler import StoredSchedule

        ids = list(ids)
        stored = _stored(self.engine, ids)
        for watch_id in ids:
            started = self._started.get(watch_id)
            s = stored.get(watch_id)
            if started is None or (
                s is not None and s.last_check_at and s.last_check_at >= started
            ):
                continue
            stored[watch_id] = StoredSchedule(
                started, s.next_check_at if s else None, s.failures_in_row if s else 0
            )
        return stored

    def _remember_next(self, ids: Iterable[str]) -> None:
        for watch_id in ids:
            when = self.scheduler.next_run(watch_id)
            if when is not None:
                self._next[watch_id] = when

    def _fail(self, message: str) -> None:
        log.error("store failed, stopping: %s", message, extra={"event": "fatal"})
        self._fatal = message
        self._stop.set()

    async def _fire(self, watch_id: str) -> None:
        """One scheduled check. Never raises."""
        watch = self._watches.get(watch_id)
        task = asyncio.current_task()
        if watch is None or self._stopping or self._tools is None or task is None:
            return
        self._inflight.add(task)
        self._started[watch_id] = datetime.now(UTC)
        config, tools = self.config, self._tools
        try:
            try:
                report = await tools.checker.check(watch)
            except asyncio.CancelledError:
                log.warning(
                    "%s: check abandoned at shutdown; nothing recorded", watch_id,
                    extra={"event": "abandoned", "fields": {"watch": watch_id}},
                )  # fmt: skip
                return
            except StoreError as exc:
                self._fail(f"{watch_id}: {exc}")
                return
            except Exception as exc:  # a bug in a stage: logged; the watch stays scheduled
                log.exception("%s: check crashed", watch_id, extra={"event": "crash"})
                report = _error_report(watch, exc)
            self._after(config, watch, report)
        finally:
            self._inflight.discard(task)
            self._close_retired()

    def _after(self, config: Config, watch: Watch, report: CheckReport) -> None:
        from monitor.scheduler import is_transient
        from monitor.store.schedule import last_failure

        failures = None
        next_at = self.scheduler.next_run(watch.id)
        if report.failed:
            try:
                last = last_failure(self.engine, watch.id)
            except StoreError as exc:
                self._fail(f"{watch.id}: {exc}")
                return
            failures = last.failures_in_row
            transient = is_transient(last.error_kind, last.status)
            next_at = self.scheduler.after_failure(config, watch, failures, transient)
        if next_at is not None:
            self._next[watch.id] = next_at
        log_check(report, next_at=next_at, failures=failures)

    async def _alerts(self) -> None:
        task = asyncio.current_task()
        if self._stopping or task is None:
            return
        self._inflight.add(task)
        try:
            await _deliver_alerts(self.config, self.engine)
        except StoreError as exc:
            self._fail(f"alerts: {exc}")
        except asyncio.CancelledError:
            log.warning("alert sending cut short at shutdown", extra={"event": "alerts"})
        except Exception:
            log.exception("alert sending crashed", extra={"event": "alerts"})
        finally:
            self._inflight.discard(task)

    async def _flush_next(self) -> None:
        from monitor.store.schedule import set_next_checks

        if not self._next:
            return
        batch, self._next = self._next, {}
        try:
            set_next_checks(self.engine, batch)
        except StoreError as exc:  # advisory data: keep it for the next flush
            log.warning("could not record next check times: %s", exc)
            self._next = {**batch, **self._next}

    # reload

    def _on_hup(self) -> None:
        task = asyncio.ensure_future(self.reload("SIGHUP"))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _poll_watchlist(self) -> None:
        if _signature(self.config.path) != self._signature:
            await self.reload("the watchlist changed")

    async def reload(self, reason: str) -> bool:
        """Read the watchlist again and make the jobs match it. False when the new watchlist
        is broken (the running one stays in force)."""
        async with self._reload_lock:
            if self._stopping:
                return False
            path = self.config.path
            self._signature = _signature(path)
            try:
                config = load_config(path)
            except ConfigError as exc:
                for line in exc.problems:
                    log.error("watchlist not reloaded: %s", line, extra={"event": "config"})
                log.warning(
                    "%s: keeping the running watchlist (%d watches)", reason, len(self._watches),
                    extra={"event": "config"},
                )  # fmt: skip
                return False
            for line in config.missing_secrets():
                log.warning(line)
            old = self._tools
            self._tools = await _Tools.open(config, self.engine, reuse=old)
            if old is not None:
                keep = old.fetcher is self._tools.fetcher
                self._retired.append((set(self._inflight), old, keep))
            self.config = config
            self._watches = {w.id: w for w in config.watches}
            synced = self.scheduler.sync(config, self._read_stored)
            self._remember_next(synced.added + synced.rescheduled)
            log.info(
                "watchlist reloaded (%s): %d watches; added %s; removed %s; rescheduled %s",
                reason, len(config.watches), _ids(synced.added), _ids(synced.removed),
                _ids(synced.rescheduled), extra={"event": "reloaded"},
            )  # fmt: skip
            self._close_retired()
            return True

    def _close_retired(self) -> None:
        still = []
        for tasks, tools, keep in self._retired:
            tasks -= {t for t in tasks if t.done()}
            if tasks:
                still.append((tasks, tools, keep))
                continue
            closing = asyncio.ensure_future(tools.close(keep_fetcher=keep))
            self._background.add(closing)
            closing.add_done_callback(self._background.discard)
        self._retired = still

    # shutdown

    async def _shutdown(self) -> None:
        self._stopping = True
        self.scheduler.pause()
        inflight = {t for t in self._inflight if not t.done()}
        if inflight:
            log.info(
                "stopping: %d in flight, waiting up to %gs", len(inflight), self.options.grace,
                extra={"event": "stopping"},
            )  # fmt: skip
            await _wait_for(inflight, self.options.grace, self._hurry)
            abandoned = await _cancel(inflight)
            if abandoned:
                log.warning("abandoned %d checks", abandoned, extra={"event": "stopping"})
        self.scheduler.shutdown()
        await self._flush_next()
        await asyncio.gather(*self._background, return_exceptions=True)
        for _tasks, tools, keep in self._retired:
            await tools.close(keep_fetcher=keep)
        self._retired = []
        if self._tools is not None:
            await self._tools.close()
        await asyncio.sleep(0)  # let the scheduler's own shutdown run on the loop
        log.info("stopped", extra={"event": "stopped"})


def _ids(ids: Sequence[str]) -> str:
    if not ids:
        return "none"
    shown = ", ".join(ids[:10])
    return shown + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")


# --once


def due_watches(config: Config, states: dict[str, ScheduleState], now: datetime) -> list[Watch]:
    """The watches due now according to what the store recorded (no jitter)."""
    from monitor.scheduler import due_at

    due = []
    for watch in config.watches:
        s = states.get(watch.id)
        if s is None:
            due.append(watch)
            continue
        when = due_at(config, watch, s.last_check_at, s.next_check_at, s.failures_in_row)
        if when is None or when <= now:
            due.append(watch)
    return due


async def run_once(config: Config, options: Options) -> int:
    """Check every watch that is due, deliver alerts, exit: 1 when a check failed."""
    from monitor.store.db import open_engine
    from monitor.store.schedule import schedule_states

    engine = open_engine(config.database_url)
    due = due_watches(config, schedule_states(engine), datetime.now(UTC))
    log.info("once: %d of %d watches due", len(due), len(config.watches), extra={"event": "once"})
    stop, hurry = asyncio.Event(), asyncio.Event()
    failed = False
    with _Signals(stop, hurry):
        tools = await _Tools.open(config, engine)
        try:
            reports = await _check_all(config, engine, tools.checker, due, stop, hurry, options)
        finally:
            await tools.close()
        failed = any(r.outcome in ("failed", "error") for r in reports)
        fatal = any(r.outcome == "store" for r in reports)
        if not stop.is_set() and not fatal:
            try:
                await _deliver_alerts(config, engine)
            except StoreError as exc:
                log.error("alerts: %s", exc, extra={"event": "fatal"})
                fatal = True
    return 1 if failed or fatal else 0


async def _check_all(
    config: Config,
    engine: sa.Engine,
    checker: Checker,
    watches: Sequence[Watch],
    stop: asyncio.Event,
    hurry: asyncio.Event,
    options: Options,
) -> list[CheckReport]:
    from monitor.pipeline import CheckReport
    from monitor.scheduler import due_at, is_transient, period_of, retry_delay
    from monitor.store.schedule import last_failure, set_next_checks

    next_checks: dict[str, datetime] = {}

    async def one(watch: Watch) -> CheckReport:
        try:
            report = await checker.check(watch)
        except asyncio.CancelledError:
            log.warning(
                "%s: check abandoned; nothing recorded", watch.id, extra={"event": "abandoned"}
            )
            return CheckReport(watch.id, "abandoned", 0)
        except StoreError as exc:
            log.error("store failed: %s: %s", watch.id, exc, extra={"event": "fatal"})
            stop.set()
            return CheckReport(watch.id, "store", 0, error=str(exc))
        except Exception as exc:
            log.exception("%s: check crashed", watch.id, extra={"event": "crash"})
            report = _error_report(watch, exc)
        now = datetime.now(UTC)
        failures = None
        next_at: datetime | None = due_at(config, watch, now)
        if report.failed:
            last = last_failure(engine, watch.id)
            failures = last.failures_in_row
            transient = is_transient(last.error_kind, last.status)
            floor = {} if options.retry_floor is None else {"floor": options.retry_floor}
            delay = retry_delay(period_of(config, watch, now), failures, transient, **floor)
            next_at = now + timedelta(seconds=delay)
        if next_at is not None:
            next_checks[watch.id] = next_at
        log_check(report, next_at=next_at, failures=failures)
        return report

    tasks = [asyncio.ensure_future(one(watch)) for watch in watches]
    stopped = asyncio.ensure_future(stop.wait())
    pending: set[asyncio.Future[Any]] = set(tasks)
    while pending and not stop.is_set():
        _done, pending = await asyncio.wait(
            pending | {stopped}, return_when=asyncio.FIRST_COMPLETED
        )
        pending.discard(stopped)
    stopped.cancel()
    if pending:
        await _wait_for(set(tasks), options.grace, hurry)
        await _cancel(tasks)
    with contextlib.suppress(StoreError):
        set_next_checks(engine, next_checks)
    return [t.result() for t in tasks if not t.cancelled()]


@dataclass(frozen=True)
class WatchStatus:
    watch_id: str
    last_check_at: datetime | None
    last_outcome: str | None
    next_check_at: datetime | None  # None: never checked, due at once
    failures_in_row: int

    def due(self, now: datetime) -> bool:
        return self.next_check_at is None or self.next_check_at <= now


def status(config: Config, engine: sa.Engine) -> list[WatchStatus]:
    """Every watch of the watchlist: last check, outcome, next run, failures in a row. The next
    run is what the daemon recorded, or else the last check plus the interval."""
    from monitor.scheduler import due_at
    from monitor.store.schedule import schedule_states

    states = schedule_states(engine)
    rows = []
    for watch in config.watches:
        s = states.get(watch.id)
        if s is None:
            rows.append(WatchStatus(watch.id, None, None, None, 0))
            continue
        last = s.last_check_at
        next_at: datetime | None = s.next_check_at  # what the daemon recorded, when current
        if next_at is None or (last is not None and next_at <= last):
            next_at = due_at(config, watch, last)
        rows.append(WatchStatus(watch.id, last, s.last_outcome, next_at, s.failures_in_row))
    return rows
