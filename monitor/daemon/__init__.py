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
- Quiet checks (unchanged, noise-only, 304) wait in a batch (monitor/quiet.py) written every
  `quiet_every` seconds, at 500, at shutdown, and before any other write for a watch with one
  waiting: one `check_pass` audit event per batch. A kill loses at most the batch.
- Logs go to stderr: one line per check, plain or JSON lines (`log_format`).
"""

from __future__ import annotations

from pathlib import Path

from monitor.config import load_config
from monitor.daemon.logs import log, logging_to_stderr
from monitor.daemon.loop import Daemon
from monitor.daemon.once import WatchStatus, due_watches, run_once, status
from monitor.daemon.parts import Options

__all__ = ["Daemon", "Options", "WatchStatus", "due_watches", "run", "run_once", "status"]


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
