"""Many machines: `monitor run --dispatch` finds the due watches and enqueues their checks;
`monitor worker` runs them (monitor/queue.py holds the tasks).

The dispatcher reads every watch's schedule from the store once a tick (one query), defers a
`check` job for each watch due (a watch never checked is due at once; the due time comes from
the last recorded check as in `monitor run`, without jitter), defers a `deliver` job every
`alerts_every` seconds, and puts back the jobs of workers silent for `stall_timeout` seconds.
It holds nothing in flight: stopping it stops nothing but the enqueueing.

A worker keeps one fetcher and checker for its watchlist (read again when the file changes),
runs up to `concurrency` jobs at once, records a failed check's retry time as `monitor run`
does, and at SIGTERM/SIGINT lets running checks finish for `grace` seconds and cancels the rest
(nothing half-recorded; the job is retried by another worker).
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from monitor.config import Config, load_config
from monitor.daemon.logs import log, log_check
from monitor.daemon.parts import Tools, deliver_alerts, error_report, signature
from monitor.errors import ConfigError, MonitorError, StoreError

if TYPE_CHECKING:
    import sqlalchemy as sa


DUE_SLACK = 1.0  # seconds: a job may start this much before its due time (clocks differ)


@dataclass(frozen=True)
class DispatchOptions:
    tick: float = 1.0  # seconds between two looks at the schedule
    alerts_every: float = 30.0
    stall_timeout: float = 60.0  # a worker silent this long has its jobs put back


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 4
    grace: float = 5.0
    heartbeat: float = 10.0  # seconds between two of this worker's heartbeats


def _queue() -> ModuleType:
    try:
        from monitor import queue
    except ImportError as exc:
        raise MonitorError(
            f"the task queue needs the Python module {exc.name!r}: pip install 'monitor[scale]'"
        ) from None
    return queue


async def dispatch(config_path: str | Path, options: DispatchOptions) -> int:
    from monitor.store.db import open_engine

    queue = _queue()
    config = load_config(config_path)
    engine = open_engine(config.database_url)
    queue.conninfo(config.database_url)  # PostgreSQL or one clear line
    if queue.install_schema(engine):
        log.info("task queue tables created", extra={"event": "queue"})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = queue.make_app(config.database_url, pool_size=2)
    sent: dict[str, tuple[datetime | None, datetime]] = {}  # watch → (due time, enqueued at)
    last_alerts = 0.0
    last_signature = signature(config.path)
    log.info(
        "dispatching: %d watches from %s; pid %d", len(config.watches), config.path, os.getpid(),
        extra={"event": "started"},
    )  # fmt: skip
    try:
        async with app.open_async():
            while not stop.is_set():
                if signature(config.path) != last_signature:
                    last_signature = signature(config.path)
                    config = _reloaded(config)
                try:
                    due = await asyncio.to_thread(_due, config, engine, sent)
                    if due:
                        deferred = await queue.defer_checks(app, due)
                        now = datetime.now(UTC)
                        sent.update({watch_id: (when, now) for watch_id, when in due})
                        log.info("enqueued %d checks", deferred, extra={"event": "dispatched"})
                    if loop.time() - last_alerts >= options.alerts_every:
                        last_alerts = loop.time()
                        await queue.defer_delivery(app)
                    for label in await queue.retry_stalled(app, options.stall_timeout):
                        log.warning(
                            "put back %s: its worker stopped", label, extra={"event": "stalled"}
                        )
                except (StoreError, queue.QueueError) as exc:
                    log.error("dispatching failed, trying again: %s", exc, extra={"event": "queue"})
                try:
                    await asyncio.wait_for(stop.wait(), options.tick)
                except TimeoutError:
                    pass
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("stopped", extra={"event": "stopped"})
    return 0


def _due(
    config: Config, engine: sa.Engine, sent: dict[str, tuple[datetime | None, datetime]]
) -> list[tuple[str, datetime | None]]:
    """The watches due now, each with its due time, less those already enqueued for that due
    time. A job that never recorded a check (a crash in a stage, a job given up) is enqueued
    again a period later, as `monitor run` would check the watch again."""
    from monitor.scheduler import due_at, period_of
    from monitor.store.schedule import schedule_states

    now = datetime.now(UTC)
    states = schedule_states(engine)
    due: list[tuple[str, datetime | None]] = []
    for watch in config.watches:
        s = states.get(watch.id)
        when = (
            due_at(config, watch, s.last_check_at, s.next_check_at, s.failures_in_row)
            if s is not None
            else None
        )
        if when is not None and when > now:
            continue
        previous = sent.get(watch.id)
        if previous is not None and previous[0] == when:
            if now - previous[1] < timedelta(seconds=period_of(config, watch, now)):
                continue
        due.append((watch.id, when))
    return due


def _reloaded(config: Config) -> Config:
    try:
        fresh = load_config(config.path)
    except ConfigError as exc:
        for line in exc.problems:
            log.error("watchlist not reloaded: %s", line, extra={"event": "config"})
        return config
    log.info("watchlist reloaded: %d watches", len(fresh.watches), extra={"event": "reloaded"})
    return fresh


class WorkerState:
    """What a worker's jobs share: the watchlist, the engine, one fetcher and checker."""

    def __init__(self, config: Config, engine: sa.Engine, tools: Tools) -> None:
        self.config, self.engine, self.tools = config, engine, tools
        self._signature = signature(config.path)
        self._reloading = asyncio.Lock()
        self.retired: list[Tools] = []  # jobs in flight may still use them: closed at exit

    async def _current(self) -> Config:
        async with self._reloading:
            if signature(self.config.path) != self._signature:
                self._signature = signature(self.config.path)
                fresh = _reloaded(self.config)
                if fresh is not self.config:
                    old, self.tools = self.tools, await Tools.open(fresh, self.engine, self.tools)
                    self.config = fresh
                    self.retired.append(old)
        return self.config

    async def check(self, watch_id: str, due: datetime | None) -> None:
        config = await self._current()
        try:
            watch = config.watch(watch_id)
        except ConfigError:
            log.warning("%s: not in this worker's watchlist; skipped", watch_id)
            return
        if not await asyncio.to_thread(self._due_now, config, watch_id):
            return  # checked since this job was enqueued (a retry, a duplicate): once is enough
        try:
            report = await self.tools.checker.check(watch)
        except asyncio.CancelledError:
            log.warning(
                "%s: check abandoned at shutdown; nothing recorded", watch.id,
                extra={"event": "abandoned", "fields": {"watch": watch.id}},
            )  # fmt: skip
            raise
        except StoreError:
            raise  # the job is retried
        except Exception as exc:  # a bug in a stage: logged; the watch stays due
            log.exception("%s: check crashed", watch.id, extra={"event": "crash"})
            report = error_report(watch, exc)
        failures, next_at = None, None
        if report.failed:
            failures, next_at = await asyncio.to_thread(self._after_failure, config, watch_id)
        log_check(report, next_at=next_at, failures=failures)

    def _due_now(self, config: Config, watch_id: str) -> bool:
        """Whether the store says the watch is due now. A job runs only then: a job retried
        after its check was recorded, or a second job for the same due time, finds the watch
        not due and does nothing; a job that waited while the watch fell due again checks it."""
        from monitor.scheduler import due_at, period_of
        from monitor.store.schedule import schedule_states

        state = schedule_states(self.engine, [watch_id]).get(watch_id)
        if state is None:
            return True
        watch = config.watch(watch_id)
        when = due_at(
            config, watch, state.last_check_at, state.next_check_at, state.failures_in_row
        )
        now = datetime.now(UTC)
        slack = timedelta(seconds=min(DUE_SLACK, period_of(config, watch, now) / 10))
        return when is None or when <= now + slack

    def _after_failure(self, config: Config, watch_id: str) -> tuple[int, datetime]:
        """Record when a failed watch is tried again, as `monitor run` schedules it."""
        from monitor.scheduler import is_transient, period_of, retry_delay
        from monitor.store.schedule import last_failure, set_next_checks

        watch = config.watch(watch_id)
        last = last_failure(self.engine, watch_id)
        now = datetime.now(UTC)
        delay = retry_delay(
            period_of(config, watch, now),
            last.failures_in_row,
            is_transient(last.error_kind, last.status),
        )
        next_at = now + timedelta(seconds=delay)
        set_next_checks(self.engine, {watch_id: next_at})
        return last.failures_in_row, next_at

    async def deliver(self) -> None:
        await deliver_alerts(await self._current(), self.engine)


async def work(config_path: str | Path, options: WorkerOptions) -> int:
    from monitor.store.db import open_engine

    queue = _queue()
    config = load_config(config_path)
    for line in config.missing_secrets():
        log.warning(line)
    engine = open_engine(config.database_url)
    queue.conninfo(config.database_url)  # PostgreSQL or one clear line
    queue.install_schema(engine)
    app = queue.make_app(config.database_url, pool_size=2)
    tools = await Tools.open(config, engine)
    state = WorkerState(config, engine, tools)
    log.info(
        "worker started: %d watches from %s; %d at once; pid %d",
        len(config.watches), config.path, options.concurrency, os.getpid(),
        extra={"event": "started"},
    )  # fmt: skip
    try:
        async with app.open_async():
            await queue.run_worker(
                app,
                state,
                concurrency=options.concurrency,
                grace=options.grace,
                heartbeat=options.heartbeat,
            )
    except queue.QueueError as exc:
        raise StoreError(f"the task queue's database failed: {exc}") from exc
    finally:
        for old in state.retired:
            await old.close(keep_fetcher=old.fetcher is state.tools.fetcher)
        await state.tools.close()
    log.info("stopped", extra={"event": "stopped"})
    return 0
