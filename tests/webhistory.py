"""A recorded history for the web UI's tests, made by real `monitor check` runs against the
local page server, and the real server (uvicorn) running the app on a free loopback port.

    with PageServer() as pages:
        history = record_history(tmp_path, pages)
    with running_server(history.watchlist) as base_url:
        ...
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from monitor.cli import main
from monitor.config import load_config
from monitor.store import queries
from monitor.store.db import open_engine
from monitor.web.server import build
from tests.pageserver import PageServer, Response

HOSTILE = (
    '<p>Contact us <a href="javascript:alert(document.domain)">here</a>. '
    "&lt;!channel&gt; <!channel> please review.</p>"
    "<p><script>document.title='pwned'</script>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
)
POLICY_V1 = """<!doctype html><html><head><title>Usage policy</title></head><body><main>
<h1>Usage Policy</h1>
<p>Version 3.0. Effective March 1, 2026.</p>
<h2>Prohibited uses</h2>
<p>Do not use our models to develop weapons or to compromise critical infrastructure.</p>
<p>Do not use them to incite violence or to harass people.</p>
<h2>Enforcement</h2>
<p>We may suspend accounts that break this policy.</p>
<p>Last updated: March 1, 2026 at 09:00</p>
</main></body></html>"""
POLICY_V2 = (
    POLICY_V1.replace(
        "Version 3.0. Effective March 1, 2026.", "Version 3.1. Effective April 2, 2026."
    )
    .replace("or to harass people.", "or to harass, stalk or intimidate people.")
    .replace("<h2>Enforcement</h2>", f"<h2>Enforcement</h2>{HOSTILE}")
)
POLICY_V3 = POLICY_V2.replace(
    "Last updated: March 1, 2026 at 09:00", "Last updated: April 2, 2026 at 17:45"
)
DEPRECATIONS = """<!doctype html><html><head><title>Model deprecations</title></head><body><main>
<h1>Model deprecations</h1>
<p>As we launch safer and more capable models, we regularly retire older models.</p>
<h2>Deprecation history</h2>
<table><tr><th>Retirement Date</th><th>Deprecated Model</th><th>Recommended Replacement</th></tr>
{rows}
<tr><td>October 28, 2025</td><td>claude-3-sonnet-20240229</td><td>claude-sonnet-4-5-20250929</td></tr>
</table></main></body></html>"""
NEW_ROW = "<tr><td>March 5, 2027</td><td>claude-opus-4-1-20250805</td><td>claude-opus-4-8</td></tr>"


@dataclass(frozen=True)
class History:
    watchlist: Path
    policy_changes: list[int]  # oldest first
    retirement_change: int
    policy_versions: list[int]  # oldest first
    problem_change: int  # the status page failed twice: a fetch_problem, no diff


def _check(watchlist: Path) -> None:
    code = main(["-w", str(watchlist), "check", "--no-progress"])
    assert code in (0, 1), code  # 1: a watch failed, which the history wants


def record_history(tmp_path: Path, pages: PageServer) -> History:
    """Three versions of a policy (one with hostile text), a retirement in a deprecation table,
    and a watch that fails twice in a row between two good checks."""
    pages.route("/policy", Response(body=POLICY_V1.encode()))
    pages.route("/deprecations", Response(body=DEPRECATIONS.format(rows="").encode()))
    pages.route("/flaky", Response(body=b"<main><h1>Status</h1><p>All systems normal.</p></main>"))
    watchlist = tmp_path / "watchlist.toml"
    watchlist.write_text(
        '[defaults]\nretries = 0\ntimeout = "2s"\njitter = 0\ninterval = "6h"\n'
        'base_url = "http://127.0.0.1:8080"\n\n'
        f'[[watch]]\nid = "usage-policy"\nname = "Usage policy"\nkind = "policy"\n'
        f'url = "{pages.url("/policy")}"\n\n'
        f'[[watch]]\nid = "deprecations"\nname = "Model deprecations"\nkind = "lifecycle"\n'
        f'provider = "anthropic"\nurl = "{pages.url("/deprecations")}"\n\n'
        f'[[watch]]\nid = "status"\nname = "Status page"\nurl = "{pages.url("/flaky")}"\n'
        "failures_before_alert = 2\n",
        encoding="utf-8",
    )
    _check(watchlist)
    pages.route("/policy", Response(body=POLICY_V2.encode()))
    pages.route("/deprecations", Response(body=DEPRECATIONS.format(rows=NEW_ROW).encode()))
    pages.route("/flaky", Response(status=503, body=b"down"))
    _check(watchlist)
    pages.route("/policy", Response(body=POLICY_V3.encode()))
    _check(watchlist)
    pages.route("/flaky", Response(body=b"<main><h1>Status</h1><p>All systems normal.</p></main>"))
    _check(watchlist)

    engine = open_engine(load_config(watchlist).database_url)
    policy = [c.id for c in reversed(queries.changes(engine, "usage-policy")) if c.id]
    retirement = [c.id for c in queries.changes(engine, "deprecations") if c.id]
    versions = [v.id for v, _ in queries.versions(engine, "usage-policy") if v.id]
    problems = [c.id for c in queries.changes(engine, "status") if "fetch_problem" in c.labels]
    assert len(policy) == 2 and len(retirement) == 1 and len(versions) == 3, (policy, retirement)
    assert len(problems) == 1 and problems[0], problems
    return History(watchlist, policy, retirement[0], versions, problems[0])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    watchlist: Path, host: str = "127.0.0.1", *, as_if_bound_to: str | None = None
) -> Iterator[str]:
    """`monitor serve`'s app under uvicorn in a thread; yields its base URL. `as_if_bound_to`
    builds the app as for another address (e.g. a public one) while listening on `host`."""
    port = free_port()
    config = load_config(watchlist)
    engine = open_engine(config.database_url)  # the app's: tests dispose the registry between them
    app = build(config, as_if_bound_to or host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web server did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
