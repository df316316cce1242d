"""What the daemon and `run --once` share: options, signals, the fetcher and checker of one
watchlist, alert sending, and waiting for checks in flight."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.config import Config, Defaults, Watch
from monitor.daemon.logs import log

if TYPE_CHECKING:
    import sqlalchemy as sa

    from monitor.fetch import Fetcher, FetchSettings
    from monitor.pipeline import Checker, CheckReport
    from monitor.scheduler import StoredSchedule
    from monitor.workers import CpuPool

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass(frozen=True)
class Options:
    grace: float = 5.0  # seconds in-flight checks get to finish at shutdown
    alerts_every: float = 30.0  # seconds between two runs of the alert sender
    reload_every: float = 2.0  # seconds between two looks at the watchlist's mtime
    flush_every: float = 2.0  # seconds between two writes of next_check_at
    quiet_every: float = 30.0  # seconds between two writes of the waiting unchanged checks
    retry_floor: float | None = None  # None: scheduler.RETRY_FLOOR
    allow_empty: bool = False  # accept a reload that leaves no watch (else keep the running one)


def read_stored(engine: sa.Engine, ids: Iterable[str]) -> dict[str, StoredSchedule]:
    from monitor.scheduler import StoredSchedule
    from monitor.store.schedule import schedule_states

    return {
        watch_id: StoredSchedule(s.last_check_at, s.next_check_at, s.failures_in_row)
        for watch_id, s in schedule_states(engine, ids).items()
    }


def error_report(watch: Watch, exc: Exception) -> CheckReport:
    from monitor.pipeline import CheckReport

    return CheckReport(watch.id, "error", 0, error=f"{type(exc).__name__}: {exc}")


async def deliver_alerts(config: Config, engine: sa.Engine) -> None:
    """Send due deliveries in a worker thread (the channels' clients block)."""
    from monitor.alerts import deliver_due
    from monitor.store.reminders import enqueue_reminders

    await asyncio.to_thread(enqueue_reminders, engine, config)
    summary = await asyncio.to_thread(deliver_due, config, engine)
    if summary.sent or summary.retrying or summary.failed:
        log.info("alerts: %s", summary.describe().splitlines()[0], extra={"event": "alerts"})
    for problem in summary.problems:
        log.warning("alerts: %s", problem, extra={"event": "alerts"})


async def wait_for(tasks: set[asyncio.Task[Any]], grace: float, hurry: asyncio.Event) -> None:
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


async def cancel(tasks: Iterable[asyncio.Task[Any]]) -> int:
    left = [t for t in tasks if not t.done()]
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)
    return len(left)


class Signals:
    """SIGTERM/SIGINT: first stop, then hurry. SIGHUP: a callback."""

    def __init__(self, stop: asyncio.Event, hurry: asyncio.Event, on_hup: Any = None) -> None:
        self.stop, self.hurry, self.on_hup = stop, hurry, on_hup
        self._loop = asyncio.get_running_loop()
        self._installed: list[signal.Signals] = []

    def __enter__(self) -> Signals:
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


def signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class Tools:
    """One Fetcher and the Checker of one version of the watchlist, and the worker processes
    every version shares (`workers` is read at start; a reload keeps the running ones)."""

    def __init__(
        self, settings: FetchSettings, fetcher: Fetcher, checker: Checker, cpu: CpuPool
    ) -> None:
        self.settings, self.fetcher, self.checker = settings, fetcher, checker
        self.cpu = cpu

    @classmethod
    async def open(
        cls,
        config: Config,
        engine: sa.Engine,
        reuse: Tools | None = None,
        *,
        batch_unchanged: bool = False,
    ) -> Tools:
        from monitor.fetch import Fetcher, FetchSettings
        from monitor.pipeline import Checker
        from monitor.workers import CpuPool

        cpu = reuse.cpu if reuse is not None else CpuPool(config.defaults.workers)
        settings = FetchSettings.from_defaults(config.defaults)
        if reuse is not None and reuse.settings == settings:
            fetcher = reuse.fetcher
        else:
            fetcher = await Fetcher(settings).__aenter__()
        checker = Checker(
            config, fetcher=fetcher, engine=engine, batch_unchanged=batch_unchanged, cpu=cpu
        )
        if reuse is not None:
            checker.share_quiet(reuse.checker)
        return cls(settings, fetcher, checker, cpu)

    async def close(self, *, keep_fetcher: bool = False, keep_cpu: bool = False) -> None:
        try:
            await self.checker.close()
        finally:
            try:
                if not keep_fetcher:
                    await self.fetcher.__aexit__(None, None, None)
            finally:
                if not keep_cpu:
                    await self.cpu.close()


class Gates:
    """How many checks may have started: per host, then overall, a few times the fetcher's own
    limits so it always has the next request ready. A check waiting here has not started (no
    state read, no request): a stop cancels it at once, and thousands of checks falling due
    together do not all read their state before the first request goes out. Per host first, so
    a host with many due watches cannot take every overall slot."""

    AHEAD = 4

    def __init__(self, defaults: Defaults) -> None:
        self._total = asyncio.Semaphore(defaults.concurrency * self.AHEAD)
        self._per_host = defaults.per_host * self.AHEAD
        self._hosts: dict[str, asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        gate = self._hosts.get(host)
        if gate is None:
            gate = self._hosts[host] = asyncio.Semaphore(self._per_host)
        async with gate, self._total:
            yield
