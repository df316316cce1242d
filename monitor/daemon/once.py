"""`monitor run --once` (one due-pass) and `monitor status`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from monitor.config import Config, Watch
from monitor.daemon.logs import log, log_check
from monitor.daemon.parts import (
    Gates,
    Options,
    Signals,
    Tools,
    cancel,
    deliver_alerts,
    error_report,
    wait_for,
)
from monitor.errors import StoreError

if TYPE_CHECKING:
    import sqlalchemy as sa

    from monitor.pipeline import Checker, CheckReport
    from monitor.store.schedule import ScheduleState


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
    with Signals(stop, hurry):
        tools = await Tools.open(config, engine, batch_unchanged=True)  # written at close
        try:
            reports = await _check_all(config, engine, tools.checker, due, stop, hurry, options)
        finally:
            await tools.close()
        failed = any(r.outcome in ("failed", "error") for r in reports)
        fatal = any(r.outcome == "store" for r in reports)
        if not stop.is_set() and not fatal:
            try:
                await deliver_alerts(config, engine)
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
    gates = Gates(config.defaults)
    started: set[asyncio.Task[Any]] = set()

    async def one(watch: Watch) -> CheckReport:
        async with gates.slot(watch.host):
            task = asyncio.current_task()
            if task is not None:
                started.add(task)
            return await check(watch)

    async def check(watch: Watch) -> CheckReport:
        try:
            report = await checker.check(watch)
        except asyncio.CancelledError:
            log.warning(
                "%s: check abandoned; nothing recorded", watch.id,
                extra={"event": "abandoned", "fields": {"watch": watch.id}},
            )  # fmt: skip
            return CheckReport(watch.id, "abandoned", 0)
        except StoreError as exc:
            log.error("store failed: %s: %s", watch.id, exc, extra={"event": "fatal"})
            stop.set()
            return CheckReport(watch.id, "store", 0, error=str(exc))
        except Exception as exc:
            log.exception("%s: check crashed", watch.id, extra={"event": "crash"})
            report = error_report(watch, exc)
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
        await cancel(t for t in tasks if t not in started)  # due, not started yet
        await wait_for(set(tasks), options.grace, hurry)
        await cancel(tasks)
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
