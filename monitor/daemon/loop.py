"""The long-running daemon: scheduled checks, alert sending, reloads, clean shutdown."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.config import Config, Watch, load_config
from monitor.daemon.logs import log, log_check
from monitor.daemon.parts import (
    Gates,
    Options,
    Signals,
    Tools,
    cancel,
    deliver_alerts,
    error_report,
    read_stored,
    signature,
    wait_for,
)
from monitor.errors import ConfigError, StoreError

if TYPE_CHECKING:
    from monitor.pipeline import CheckReport
    from monitor.scheduler import StoredSchedule, WatchScheduler


class Daemon:
    def __init__(self, config: Config, options: Options) -> None:
        from monitor.scheduler import RETRY_FLOOR, WatchScheduler
        from monitor.store.db import open_engine

        self.config = config
        self.options = options
        self.engine = open_engine(config.database_url)
        floor = RETRY_FLOOR if options.retry_floor is None else options.retry_floor
        self.scheduler: WatchScheduler = WatchScheduler(self._fire, retry_floor=floor)
        self._watches = {w.id: w for w in config.watches}
        self._tools: Tools | None = None
        self._retired: list[tuple[set[asyncio.Task[Any]], Tools, bool]] = []
        self._inflight: set[asyncio.Task[Any]] = set()  # checks started, and the alert sender
        self._queued: set[asyncio.Task[Any]] = set()  # checks due, waiting for a start slot
        self._gates = Gates(config.defaults)
        self._next: dict[str, datetime] = {}
        self._started: dict[str, datetime] = {}  # when each watch's latest check here began
        self._signature = signature(config.path)
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
        self._tools = await Tools.open(self.config, self.engine, batch_unchanged=True)
        with Signals(self._stop, self._hurry, on_hup=self._on_hup):
            try:
                self.scheduler.start(paused=True)
                synced = self.scheduler.sync(self.config, self._read_stored)
                self._remember_next(synced.added)
                opts = self.options
                self.scheduler.every("alerts", opts.alerts_every, self._alerts, start_now=True)
                self.scheduler.every("watchlist", opts.reload_every, self._poll_watchlist)
                self.scheduler.every("flush", opts.flush_every, self._flush_next)
                self.scheduler.every("quiet", opts.quiet_every, self._flush_quiet)
                self.scheduler.resume()
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
        stored = read_stored(self.engine, ids)
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
        """One scheduled check: wait for a start slot, then check. Never raises."""
        watch = self._watches.get(watch_id)
        task = asyncio.current_task()
        if watch is None or self._stopping or task is None:
            return
        self._queued.add(task)
        try:
            async with self._gates.slot(watch.host):
                self._queued.discard(task)
                if not self._stopping and self._tools is not None:
                    await self._check(watch, task, self._tools)
        except asyncio.CancelledError:
            return  # cancelled before it started: nothing to record, nothing to say
        finally:
            self._queued.discard(task)

    async def _check(self, watch: Watch, task: asyncio.Task[Any], tools: Tools) -> None:
        self._inflight.add(task)
        self._started[watch.id] = datetime.now(UTC)
        config = self.config
        try:
            try:
                report = await tools.checker.check(watch)
            except asyncio.CancelledError:
                log.warning(
                    "%s: check abandoned at shutdown; nothing recorded", watch.id,
                    extra={"event": "abandoned", "fields": {"watch": watch.id}},
                )  # fmt: skip
                return
            except StoreError as exc:
                self._fail(f"{watch.id}: {exc}")
                return
            except Exception as exc:  # a bug in a stage: logged; the watch stays scheduled
                log.exception("%s: check crashed", watch.id, extra={"event": "crash"})
                report = error_report(watch, exc)
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
            await deliver_alerts(self.config, self.engine)
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
        if signature(self.config.path) != self._signature:
            await self.reload("the watchlist changed")

    async def reload(self, reason: str) -> bool:
        """Read the watchlist again and make the jobs match it. False when the new watchlist
        is broken (the running one stays in force)."""
        async with self._reload_lock:
            if self._stopping:
                return False
            path = self.config.path
            self._signature = signature(path)
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
            if not config.watches and self._watches and not self.options.allow_empty:
                log.error(
                    "%s: watchlist not reloaded: %s has no watches; keeping the running "
                    "watchlist (%d watches); run with --allow-empty to allow an empty one",
                    reason, path.name, len(self._watches), extra={"event": "config"},
                )  # fmt: skip
                return False
            for line in config.missing_secrets():
                log.warning(line)
            old = self._tools
            self._tools = await Tools.open(config, self.engine, reuse=old, batch_unchanged=True)
            if old is not None:
                keep = old.fetcher is self._tools.fetcher
                self._retired.append((set(self._inflight), old, keep))
            if config.defaults != self.config.defaults:
                self._gates = Gates(config.defaults)
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
            closing = asyncio.ensure_future(tools.close(keep_fetcher=keep, keep_cpu=True))
            self._background.add(closing)
            closing.add_done_callback(self._background.discard)
        self._retired = still

    async def _flush_quiet(self) -> None:
        """Write the unchanged checks waiting in the batch (a kill loses at most these)."""
        if self._tools is None:
            return
        try:
            self._tools.checker.flush()
        except StoreError as exc:
            self._fail(f"unchanged checks: {exc}")

    # shutdown

    async def _shutdown(self) -> None:
        self._stopping = True
        self.scheduler.pause()
        await cancel(self._queued)  # due, not started: they run at the next start instead
        inflight = {t for t in self._inflight if not t.done()}
        if inflight:
            log.info(
                "stopping: %d in flight, waiting up to %gs", len(inflight), self.options.grace,
                extra={"event": "stopping"},
            )  # fmt: skip
            await wait_for(inflight, self.options.grace, self._hurry)
            abandoned = await cancel(inflight)
            if abandoned:
                log.warning("abandoned %d checks", abandoned, extra={"event": "stopping"})
        self.scheduler.shutdown()
        await self._flush_quiet()
        await self._flush_next()
        await asyncio.gather(*self._background, return_exceptions=True)
        for _tasks, tools, keep in self._retired:
            await tools.close(keep_fetcher=keep, keep_cpu=True)
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
