"""APScheduler wiring: the only module that imports apscheduler (and only when a schedule is
made, so the CLI starts fast).

When a watch is checked
-----------------------
- Steady state: one job per watch, an `IntervalTrigger` on the watch's `interval` or a
  `CronTrigger` on its `cron` (UTC). Each run is delayed by a random jitter of up to
  `defaults.jitter`, capped at a tenth of the watch's period, so watches on one host do not fire
  together. `max_instances=1` (one check of a watch at a time), `coalesce=True` (runs missed while
  the process was suspended collapse into one) and a misfire grace of one period plus the jitter
  (so the coalesced run is never dropped).
- First run after a (re)start or a reload: from the store, never "everything now".
  Never checked → now plus jitter. Checked → last check + period (cron: the first slot after the
  last check) plus jitter; when that time has passed, now plus jitter. A watch in a failure streak
  whose retry time was recorded (`next_check_at`) keeps that retry time.
- Backoff after a failed check: a transient failure (timeout, refused or dropped connection,
  DNS, 408/425/429/5xx, an error page served with 200, a browser crash) is retried sooner than
  the period: period/16 after the 1st failure in a row, /8 after the 2nd, /4, /2, then the full
  period from the 5th on, never sooner than `RETRY_FLOOR` (60 s; never later than the period).
  A permanent failure (404, bot wall, selector matching nothing, body too large, redirect loop)
  waits the full period: trying again sooner would not help and may annoy the site. Either way
  the watch stays scheduled, and a success puts it back on its period.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.base import BaseTrigger

    from monitor.config import Config, Watch

RETRY_FLOOR = 60.0  # seconds: the soonest a failed watch is tried again
BACKOFF_STEPS = 4  # transient failure n in a row waits period / 2**(BACKOFF_STEPS + 1 - n)
JITTER_SHARE = 0.1  # jitter is at most this share of a watch's period
TRANSIENT_KINDS = frozenset({"timeout", "dns", "refused", "connection", "empty", "browser"})
TRANSIENT_STATUSES = frozenset({408, 425, 429})


def check_cron(expression: str) -> str | None:
    """None when `expression` is a valid five-field crontab, else a one-line problem."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as exc:
        return f"bad cron {expression!r}: {exc} (use five fields, e.g. '0 */6 * * *')"
    return None


# Schedule arithmetic: pure, shared by the daemon, `run --once` and `status`.


def _cron(expression: str, jitter: float | None = None) -> Any:
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab(expression, timezone=UTC)
    trigger.jitter = jitter or None
    return trigger


def next_cron(expression: str, after: datetime) -> datetime:
    """The first slot of `expression` strictly after `after`."""
    fire = _cron(expression).get_next_fire_time(None, after + timedelta(microseconds=1))
    if fire is None:  # a five-field crontab always has a next slot
        raise ValueError(f"cron {expression!r} has no slot after {after:%Y-%m-%d %H:%M}")
    return fire.astimezone(UTC)  # type: ignore[no-any-return]


def period_of(config: Config, watch: Watch, now: datetime) -> float:
    """Seconds between two checks: the interval, or for a cron the gap between its next slots."""
    if watch.cron is None:
        return config.interval_of(watch)
    first = next_cron(watch.cron, now)
    return (next_cron(watch.cron, first) - first).total_seconds()


def jitter_of(config: Config, watch: Watch, now: datetime) -> float:
    return min(config.defaults.jitter, period_of(config, watch, now) * JITTER_SHARE)


def due_at(
    config: Config,
    watch: Watch,
    last_check_at: datetime | None,
    next_check_at: datetime | None = None,
    failures_in_row: int = 0,
) -> datetime | None:
    """When the watch is next due, without jitter, from what the store recorded. None: never
    checked, due at once. A recorded retry time of a failing watch wins when it is sooner."""
    if last_check_at is None:
        return None
    if watch.cron is not None:
        due = next_cron(watch.cron, last_check_at)
    else:
        due = last_check_at + timedelta(seconds=config.interval_of(watch))
    if failures_in_row > 0 and next_check_at is not None and next_check_at > last_check_at:
        due = min(due, next_check_at)
    return due


def first_run(
    config: Config,
    watch: Watch,
    now: datetime,
    last_check_at: datetime | None,
    next_check_at: datetime | None = None,
    failures_in_row: int = 0,
    *,
    rng: random.Random | None = None,
) -> datetime:
    """The first run of a watch's job after a (re)start or reload: its due time, or now when it
    is overdue or was never checked, plus jitter."""
    due = due_at(config, watch, last_check_at, next_check_at, failures_in_row)
    start = now if due is None or due < now else due
    return start + timedelta(seconds=(rng or random).uniform(0, jitter_of(config, watch, now)))


def is_transient(error_kind: str | None, status: int | None) -> bool:
    """Whether a failed check may well work if tried again soon."""
    if error_kind == "http_status":
        return status is not None and (status in TRANSIENT_STATUSES or status >= 500)
    return error_kind in TRANSIENT_KINDS


def retry_delay(
    period: float, failures_in_row: int, transient: bool, *, floor: float = RETRY_FLOOR
) -> float:
    """Seconds from a failed check to the next one (see the module docstring)."""
    if not transient or failures_in_row <= 0:
        return period
    steps = max(BACKOFF_STEPS + 1 - failures_in_row, 0)
    return min(period, max(floor, period / 2**steps))


# The wiring.


@dataclass(frozen=True)
class Synced:
    """What a `sync` did to the jobs."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    rescheduled: tuple[str, ...]


@dataclass(frozen=True)
class StoredSchedule:
    """What the store says about a watch's checks, as far as scheduling goes."""

    last_check_at: datetime | None
    next_check_at: datetime | None = None
    failures_in_row: int = 0


def _timing(config: Config, watch: Watch) -> tuple[float | None, str | None, float]:
    """What a watch's job depends on: when this changes, the job is made again."""
    jitter = config.defaults.jitter
    return (config.interval_of(watch) if watch.cron is None else None, watch.cron, jitter)


class WatchScheduler:
    """One APScheduler job per watch, plus the daemon's own periodic jobs.

    `fire(watch_id)` is awaited for each run; it must not raise."""

    def __init__(
        self,
        fire: Callable[[str], Awaitable[None]],
        *,
        retry_floor: float = RETRY_FLOOR,
        rng: random.Random | None = None,
    ) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self._fire = fire
        self.retry_floor = retry_floor
        self._rng = rng or random.Random()
        self._scheduler: AsyncIOScheduler = AsyncIOScheduler(timezone=UTC)
        self._timing: dict[str, tuple[float | None, str | None, float]] = {}

    # lifecycle

    def start(self, *, paused: bool = False) -> None:
        """Start on the running event loop; `paused`: take no runs until `resume`."""
        self._scheduler.start(paused=paused)

    def resume(self) -> None:
        self._scheduler.resume()

    def pause(self) -> None:
        """Take no new runs; runs in flight go on."""
        if self._scheduler.running:
            self._scheduler.pause()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    # watch jobs

    @property
    def watch_ids(self) -> frozenset[str]:
        return frozenset(self._timing)

    def sync(
        self,
        config: Config,
        stored: Callable[[Iterable[str]], dict[str, StoredSchedule]],
        *,
        now: datetime | None = None,
    ) -> Synced:
        """Make the jobs match `config`: add new watches, remove dropped ones, make again the
        jobs of watches whose interval, cron or jitter changed. `stored(ids)` reads the store
        for the watches that need a first run."""
        from apscheduler.schedulers.base import STATE_RUNNING

        now = now or datetime.now(UTC)
        running = self._scheduler.state == STATE_RUNNING
        if running:  # else each added job wakes the scheduler: 10,000 wake-ups for 10,000 jobs
            self._scheduler.pause()
        try:
            return self._sync(config, stored, now)
        finally:
            if running:
                self._scheduler.resume()

    def _sync(
        self,
        config: Config,
        stored: Callable[[Iterable[str]], dict[str, StoredSchedule]],
        now: datetime,
    ) -> Synced:
        wanted = {watch.id: watch for watch in config.watches}
        removed = tuple(sorted(set(self._timing) - set(wanted)))
        for watch_id in removed:
            self._scheduler.remove_job(watch_id)
            del self._timing[watch_id]
        added = tuple(w for w in wanted if w not in self._timing)
        changed = tuple(
            w for w in wanted if w in self._timing and self._timing[w] != _timing(config, wanted[w])
        )
        states = stored(added + changed) if added or changed else {}
        for watch_id in added + changed:
            watch = wanted[watch_id]
            state = states.get(watch_id, StoredSchedule(None))
            when = first_run(
                config,
                watch,
                now,
                state.last_check_at,
                state.next_check_at,
                state.failures_in_row,
                rng=self._rng,
            )
            self._add(config, watch, when, now)
        return Synced(added, removed, tuple(sorted(changed)))

    def _add(self, config: Config, watch: Watch, when: datetime, now: datetime) -> None:
        jitter = jitter_of(config, watch, now)
        trigger: BaseTrigger
        if watch.cron is not None:
            trigger = _cron(watch.cron, jitter)
        else:
            from apscheduler.triggers.interval import IntervalTrigger

            trigger = IntervalTrigger(
                seconds=config.interval_of(watch), jitter=jitter or None, timezone=UTC
            )
        self._scheduler.add_job(
            self._fire,
            trigger,
            args=(watch.id,),
            id=watch.id,
            name=f"check {watch.id}",
            next_run_time=when,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, math.ceil(period_of(config, watch, now) + jitter)),
            replace_existing=True,
        )
        self._timing[watch.id] = _timing(config, watch)

    def next_run(self, watch_id: str) -> datetime | None:
        job = self._scheduler.get_job(watch_id)
        return None if job is None or job.next_run_time is None else job.next_run_time

    def after_failure(
        self,
        config: Config,
        watch: Watch,
        failures_in_row: int,
        transient: bool,
        *,
        now: datetime | None = None,
    ) -> datetime | None:
        """Bring the watch's next run forward after a failed check (never push it back).
        Returns the next run."""
        now = now or datetime.now(UTC)
        delay = retry_delay(
            period_of(config, watch, now), failures_in_row, transient, floor=self.retry_floor
        )
        retry = now + timedelta(seconds=delay)
        current = self.next_run(watch.id)
        if current is not None and retry < current:
            self._scheduler.modify_job(watch.id, next_run_time=retry)
            return retry
        return current

    # the daemon's own periodic jobs (alert sender, watchlist poll, store flush)

    def every(
        self,
        name: str,
        seconds: float,
        func: Callable[[], Awaitable[None]],
        *,
        start_now: bool = False,
    ) -> None:
        from apscheduler.triggers.interval import IntervalTrigger

        first = {"next_run_time": datetime.now(UTC)} if start_now else {}
        self._scheduler.add_job(
            func,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            id=f"~{name}",  # "~" cannot start a watch id
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,  # late (a busy loop) is better than skipped
            replace_existing=True,
            **first,
        )
