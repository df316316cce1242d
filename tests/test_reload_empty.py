"""A reload never empties the schedule by accident: an empty watchlist on SIGHUP is refused
(one log line, the running watchlist kept) unless the daemon runs with --allow-empty."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from tests.pageserver import PageServer
from tests.test_daemon import daemons, serve, write_watchlist

__all__ = ["daemons"]  # the fixture, shared with the daemon's own tests


def _empty(path: Path) -> None:
    path.write_text('[defaults]\njitter = 0\ntimeout = "30s"\n', encoding="utf-8")


def test_an_empty_watchlist_on_sighup_is_refused_and_the_watches_keep_running(
    tmp_path: Path, page_server: PageServer, daemons: Any
) -> None:
    serve(page_server, "/kept")
    watchlist = write_watchlist(
        tmp_path / "watchlist.toml", page_server, {"kept": 'interval = "1s"'}
    )
    daemon = daemons(watchlist, "--reload-every", "1h", "--grace", "5")  # bare seconds work
    daemon.wait_until(lambda: daemon.checks("kept"))
    _empty(watchlist)
    daemon.send(signal.SIGHUP)
    daemon.wait_until(lambda: daemon.logged("config"))
    [refused] = daemon.logged("config")
    assert refused["level"] == "error"
    assert "has no watches; keeping the running watchlist (1 watches)" in refused["message"]
    assert "--allow-empty" in refused["message"]
    checked = len(daemon.checks("kept"))
    daemon.wait_until(lambda: len(daemon.checks("kept")) >= checked + 2)  # still scheduled
    assert not daemon.logged("reloaded")
    assert daemon.stop() == 0, daemon.failure()


def test_allow_empty_accepts_it(tmp_path: Path, page_server: PageServer, daemons: Any) -> None:
    serve(page_server, "/kept")
    watchlist = write_watchlist(
        tmp_path / "watchlist.toml", page_server, {"kept": 'interval = "1s"'}
    )
    daemon = daemons(watchlist, "--reload-every", "1h", "--allow-empty")
    daemon.wait_until(lambda: daemon.checks("kept"))
    _empty(watchlist)
    daemon.send(signal.SIGHUP)
    daemon.wait_until(lambda: daemon.logged("reloaded"))
    assert "0 watches" in daemon.logged("reloaded")[0]["message"]
    assert daemon.stop() == 0, daemon.failure()
