"""A recorded history for the audit tests, made by real `monitor check` runs against a local
page server, and helpers to run monitor and to tamper with bundles as an attacker would (the zip
rewritten whole, so only our hashes can tell)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

from tests.pageserver import PageServer, Response

ROOT = Path(__file__).parent.parent
RSP_V1 = (
    b"<main><h1>Responsible Scaling Policy</h1><p>Version 3.0. Effective March 1, 2026.</p>"
    b"<h2>Governance</h2><p>The Responsible Scaling Officer reports to the board.</p></main>"
)
RSP_V2 = RSP_V1.replace(b"Version 3.0. Effective March 1", b"Version 3.1. Effective April 2")
MODELS = (
    b"<main><h1>Model deprecations</h1><table><tr><th>Model</th><th>Shutdown</th></tr>"
    b"<tr><td>gpt-4-0613</td><td>2026-06-06</td></tr></table></main>"
)


def watchlist(server: PageServer, *, delay_note: str = "") -> str:
    return f"""[defaults]
timeout = "2s"
retries = 0
interval = "1h"
failures_before_alert = 1

[channels.console]
type = "console"

[[watch]]
id = "rsp"
url = "{server.url("/rsp")}"
kind = "policy"

[[watch]]
id = "models"
url = "{server.url("/models")}"
kind = "lifecycle"
{delay_note}"""


def run_monitor(folder: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # MONITOR_DATABASE_URL: the test's database
    env.pop("MONITOR_SNAPSHOTS", None)
    command = [sys.executable, "-m", "monitor", "-w", str(folder / "watchlist.toml"), *args]
    return subprocess.run(
        command, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout
    )


def record_history(folder: Path, server: PageServer) -> None:
    """Three passes over two watches: a first version of each; a version bump of `rsp` while
    `models` fails (a fetch_problem change); `models` back (page_restored). Alerts go to the
    console, so deliveries are sent."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "watchlist.toml").write_text(watchlist(server), encoding="utf-8")
    server.route("/rsp", Response(body=RSP_V1, headers={"X-Served-By": "test"}))
    server.route("/models", Response(body=MODELS))
    for step in range(3):
        if step == 1:
            server.route("/rsp", Response(body=RSP_V2, headers={"X-Served-By": "test"}))
            server.route("/models", Response(status=500, body=b"down"))
        if step == 2:
            server.route("/models", Response(body=MODELS))
        done = run_monitor(folder, "check", "--no-progress")
        assert done.returncode in (0, 1), done.stderr
    from monitor.store.db import dispose_engines, open_engine
    from monitor.store.reviews import add_review

    engine = open_engine(
        os.environ.get("MONITOR_DATABASE_URL") or f"sqlite:///{folder / 'monitor.db'}"
    )
    add_review(engine, 1, "dana", "acknowledged", "checked with legal")
    dispose_engines()


def copy_history(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def rewrite_zip(
    source: Path,
    target: Path,
    change: Callable[[str, bytes], bytes | None],
    extra: dict[str, bytes] | None = None,
) -> None:
    """Copy a zip entry by entry through `change(name, data)` (None drops the entry)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info))
            if data is not None:
                new.writestr(info, data)
        for name, data in (extra or {}).items():
            new.writestr(name, data)


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]
