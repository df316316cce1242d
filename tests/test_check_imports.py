"""`monitor check` loads what a check uses and no more: a check that records a new version, a
change and its console delivery runs on SQLAlchemy Core, without sqlmodel, the ORM or the
SQLModel tables (their import is a third of the start-up), and without the web, audit-export
or browser code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.pageserver import PageServer, Response

ROOT = Path(__file__).resolve().parent.parent
NOT_FOR_A_CHECK = (
    "sqlmodel",
    "sqlalchemy.orm",
    "monitor.store.tables",
    "alembic",
    "monitor.web",
    "monitor.audit.bundle",
    "monitor.browser",
    "playwright",
    "jinja2",
    "starlette",
)
# runs `monitor check` in this process, then names the modules above that it loaded
PROBE = f"""
import runpy, sys
sys.argv = ["monitor", "-w", sys.argv[1], "check", "--json", "--no-progress"]
try:
    runpy.run_module("monitor", run_name="__main__")
except SystemExit:
    pass
print("LOADED " + repr(sorted(m for m in {NOT_FOR_A_CHECK!r} if m in sys.modules)), file=sys.stderr)
"""

PAGE = "<html><body><main><h1>Usage policy</h1><p>Version {v}</p><p>{text}</p></main></body></html>"


def _check(watchlist: Path, env: dict[str, str]) -> tuple[list[dict[str, object]], str, str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(watchlist)],
        env=env, capture_output=True, text=True, timeout=120, cwd=watchlist.parent,
    )  # fmt: skip
    assert "LOADED" in done.stderr, done.stderr
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    output, loaded = done.stderr.rsplit("LOADED ", 1)
    return reports, output, loaded.strip()


def test_a_check_that_records_a_change_loads_no_orm(
    tmp_path: Path, page_server: PageServer
) -> None:
    text = "You may not use the service to build weapons. " * 20
    page_server.route("/policy", Response(body=PAGE.format(v="1.0", text=text).encode()))
    watchlist = tmp_path / "watchlist.toml"
    watchlist.write_text(
        '[channels.screen]\ntype = "console"\n\n'
        f'[[watch]]\nid = "policy"\nurl = "{page_server.url("/policy")}"\nkind = "policy"\n'
    )
    env = {
        **os.environ,
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'monitor.db'}",
        "MONITOR_SNAPSHOTS": str(tmp_path / "snapshots"),
        "PYTHONPATH": str(ROOT),
    }
    first, _output, _loaded = _check(
        watchlist, env
    )  # creates the schema: the migrations use the ORM
    assert [r["outcome"] for r in first] == ["first"]

    changed = PAGE.format(v="2.0", text=text.replace("weapons", "weapons or malware"))
    page_server.route("/policy", Response(body=changed.encode()))
    second, output, loaded = _check(watchlist, env)
    assert [r["outcome"] for r in second] == ["changed"], second
    assert re.search(r"alerts: [1-9]\d* sent, 0 to retry, 0 failed", output), output
    assert loaded == "[]"

    page_server.route("/policy", Response(status=500))
    third, _output, loaded = _check(watchlist, env)
    assert [r["outcome"] for r in third] == ["failed"], third
    assert loaded == "[]"
