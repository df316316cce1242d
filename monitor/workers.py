"""CPU work off the event loop: worker processes, one per core, each running one job at a time.

The event loop only fetches, writes and schedules; `CpuPool.run` hands a page's extract, diff
and classify to a worker process and awaits the answer, so a 2 MB page that takes seconds to
classify never delays the other watches' checks.

- *Lanes, not one shared pool*: a `ProcessPoolExecutor` whose worker dies fails every job in
  flight. Each lane here is a one-process executor given one job at a time, so a worker killed
  (out of memory, a signal) fails exactly the check it was running, as a `WorkerCrashed` with a
  one-line message; the lane starts a fresh process for its next job and the other lanes go on.
- *Fork server*: workers are forked from a server process that has imported the CPU stages once
  (forking the main process, which runs threads, could deadlock). Starting a lane happens in a
  thread, so the loop does not wait for it either.
- *Warm*: `warm()` starts the lanes in the background as soon as a pass over many watches
  begins, so the fork server imports the CPU stages on another core while this process imports
  the store and makes its first requests, instead of the first changed pages waiting for it.
- *Small pages stay inline* (in a thread, not a process): below `INLINE_BELOW` bytes the stage
  costs the main process about 2 ms or less and its answer comes sooner than from a process,
  and a check of a few small pages never waits for the first worker to start (a few hundred
  ms). Figures: `bench/pool_bench.py`. `workers = 0` runs every page inline.
- Workers ignore SIGINT and SIGTERM: the main process owns them and stops them in `close`.
  A worker whose owner was killed outright (SIGKILL, the out-of-memory killer) leaves as soon
  as the owner has ended, and the fork server with it: nothing of a killed check lingers.
- *Collector*: a worker freezes what it starts with (`freeze_imports`: the preloaded stages, never
  garbage) so no collection scans it again, and runs each job with the collector paused and one
  collection after it (`run_job`): a 2 MB page makes objects by the hundred thousand that live to
  the job's end, and each automatic collection scanned them all again (about a quarter of a first
  version's CPU time). The collection after the job frees what the job left in cycles, so a
  worker holds no garbage between jobs. `bench/classify_bench.py` measures through the same two
  functions.
- As with any multiprocessing program, a script that runs checks itself must guard its main
  module (`if __name__ == "__main__":`): a worker imports it. `monitor` and `python -m monitor`
  need nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from monitor.errors import WatchError

if TYPE_CHECKING:  # imported when the first worker starts: a check of small pages never needs them
    from concurrent.futures import Future, ProcessPoolExecutor

INLINE_BELOW = 16 * 1024  # bytes of page; see the module docstring
PRELOAD = ["monitor.analysis", "monitor.classify"]

Result = TypeVar("Result")


class WorkerCrashed(WatchError):
    """The worker process running a job died before answering."""


def cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _ignore_stop_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def freeze_imports() -> None:
    """Set every object alive now (the modules imported, their patterns and tables) aside from
    the collector's scans: a worker calls it once, as it starts."""
    gc.collect()
    gc.freeze()


def run_job(fn: Callable[..., Result], *args: Any) -> Result:
    """`fn(*args)` as a worker runs it: the collector paused for the job, one collection after
    it (see the module docstring)."""
    gc.disable()
    try:
        return fn(*args)
    finally:
        gc.enable()
        gc.collect()


def _leave_with(owner: int) -> None:
    """Wait until the process that started this worker ends, then end this one. A worker of an
    owner killed outright (SIGKILL, the out-of-memory killer) would otherwise wait for ever: its
    executor's pipes are held open by the worker itself, and so the fork server's too."""
    try:
        watched = os.pidfd_open(owner)
    except ProcessLookupError:
        os._exit(0)
    except (AttributeError, OSError):  # no pidfd here (not Linux 5.3+): look once a second
        while True:
            time.sleep(1)
            try:
                os.kill(owner, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass
    select.select([watched], [], [])  # readable once the owner has ended
    os._exit(0)


def _start_worker(owner: int) -> None:
    _ignore_stop_signals()
    threading.Thread(target=_leave_with, args=(owner,), daemon=True).start()
    freeze_imports()


class _Lane:
    """One worker process behind a one-process executor, started on demand."""

    def __init__(self) -> None:
        self.executor: ProcessPoolExecutor | None = None
        self._starting = threading.Lock()  # a warm-up and a job may start the lane together
        self._closed = False  # set by the pool's close: a warm-up still to come starts nothing

    def start(self) -> None:
        """Start the process and wait until it answers (blocking: call it in a thread)."""
        with self._starting:
            if self.executor is None and not self._closed:
                self._start()

    def start_quietly(self) -> None:
        """`start`, for a warm-up: a failure is left for the first job to meet and report."""
        with contextlib.suppress(Exception):
            self.start()

    def _start(self) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        executor = ProcessPoolExecutor(
            1, context, initializer=_start_worker, initargs=(os.getpid(),)
        )
        executor.submit(os.getpid).result()
        self.executor = executor

    def exit_description(self) -> str:
        processes = getattr(self.executor, "_processes", None) or {}
        for process in list(processes.values()):
            process.join(timeout=1)
            code = process.exitcode
            if code is not None and code < 0:
                try:
                    return f"killed by {signal.Signals(-code).name}"
                except ValueError:
                    return f"killed by signal {-code}"
            if code is not None:
                return f"exit code {code}"
        return "exit status unknown"

    def stop(self, *, close: bool = False) -> None:
        """Stop the process now, whatever it is doing (blocking: call it in a thread). `close`:
        for good (a warm-up that has not started it yet never will)."""
        with self._starting:  # a lane being started is stopped once it is
            self._closed = self._closed or close
            executor, self.executor = self.executor, None
        if executor is None:
            return
        processes = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.kill()
        for process in processes:
            process.join(timeout=5)
        executor.shutdown(wait=True)


class CpuPool:
    """`workers` lanes (0: every job inline in a thread). Made anywhere; used on one loop."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = cores() if workers is None else workers
        self._lanes = [_Lane() for _ in range(self.workers)]
        self._free: asyncio.Queue[_Lane] | None = None
        self._closed = False
        self._warmed = False

    def warm(self) -> None:
        """Start every lane's process in the background (a thread each) and return at once."""
        if self._closed or self._warmed:
            return
        self._warmed = True
        for lane in self._lanes:
            threading.Thread(target=lane.start_quietly, daemon=True).start()

    @property
    def running(self) -> int:
        """How many lanes have their process up."""
        return sum(1 for lane in self._lanes if lane.executor is not None)

    async def run(self, fn: Callable[..., Result], *args: Any, size: int) -> Result:
        """`fn(*args)` in a worker process (a thread when `size` is under `INLINE_BELOW` bytes
        or there are no workers). `fn` and `args` must pickle. Raises WorkerCrashed when the
        worker died; an exception `fn` raises comes back as it is."""
        if not self._lanes or size < INLINE_BELOW or self._closed:
            return await asyncio.to_thread(fn, *args)
        if self._free is None:
            self._free = asyncio.Queue()
            for lane in self._lanes:
                self._free.put_nowait(lane)
        from concurrent.futures.process import BrokenProcessPool

        lane = await self._free.get()
        submitted: Future[Result] | None = None
        try:
            if lane.executor is None:
                await asyncio.to_thread(lane.start)
            executor = lane.executor
            if executor is None:  # the pool closed meanwhile
                return await asyncio.to_thread(fn, *args)
            submitted = executor.submit(run_job, fn, *args)
            return await asyncio.wrap_future(submitted)
        except BrokenProcessPool:
            how = await asyncio.to_thread(lane.exit_description)
            await asyncio.to_thread(lane.stop)
            raise WorkerCrashed(
                f"the worker process analysing the page died ({how}); nothing was recorded "
                "from this fetch, the next check tries again"
            ) from None
        finally:
            self._give_back(lane, submitted)

    def _give_back(self, lane: _Lane, submitted: Future[Any] | None) -> None:
        free = self._free
        assert free is not None
        if submitted is None or submitted.done():
            free.put_nowait(lane)
            return
        # the check was cancelled while its job runs on: the lane is free when the job ends
        loop = asyncio.get_running_loop()

        def free_lane(_: Future[Any]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                loop.call_soon_threadsafe(free.put_nowait, lane)

        submitted.add_done_callback(free_lane)

    async def close(self) -> None:
        """Stop every worker process, busy or not; later jobs run inline."""
        self._closed = True
        await asyncio.gather(*(asyncio.to_thread(lane.stop, close=True) for lane in self._lanes))
