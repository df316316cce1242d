"""The daemon's quiet checks (unchanged, noise-only, 304) written in batches with one
`check_pass` event each: the next check of a watch sees its waiting check's validators, any
other write for that watch writes the batch first, a clean stop writes it, and a kill loses at
most the batch while the store still verifies."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import signal
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.audit import standalone
from monitor.config import Config, load_config
from monitor.daemon import Daemon, Options
from monitor.fetch import Fetcher, FetchSettings
from monitor.pipeline import Checker
from monitor.store.schema import AUDIT_EVENT, WATCH
from monitor.store.schema import CHECK as CHECKS
from tests.audit_history import run_monitor
from tests.pageserver import PageServer, Response
from tests.test_daemon import daemons, page, serve, write_watchlist

pytestmark = pytest.mark.usefixtures("database_url")
PERIOD = ("--since", "2000-01-01", "--until", "2100-01-01")
QUIET = ("unchanged", "not_modified", "noise")
__all__ = ["daemons"]  # the fixture, shared with the daemon's own tests


def _engine(config: Config) -> sa.Engine:
    return sa.create_engine(config.database_url, poolclass=sa.NullPool)


def _checks(engine: sa.Engine, watch_id: str | None = None) -> list[Any]:
    query = sa.select(CHECKS.c.id, CHECKS.c.watch_id, CHECKS.c.at, CHECKS.c.outcome)
    if watch_id is not None:
        query = query.where(CHECKS.c.watch_id == watch_id)
    with engine.connect() as conn:
        return list(conn.execute(query.order_by(CHECKS.c.id)).all())


def _watch(engine: sa.Engine, watch_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(WATCH).where(WATCH.c.id == watch_id)).one()


def _kinds(engine: sa.Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter(kind for (kind,) in conn.execute(sa.select(AUDIT_EVENT.c.kind)))


def _same_time(a: Any, b: Any) -> bool:
    """Two stored times as the store hands them back (SQLite drops the zone)."""
    return bool(a.replace(tzinfo=None) == b.replace(tzinfo=None))


def _config(tmp_path: Path, server: PageServer) -> Config:
    path = tmp_path / "watchlist.toml"
    lines = ["[defaults]", "retries = 0", "failures_before_alert = 2", 'timeout = "5s"']
    lines += ["[[watch]]", 'id = "rsp"', f'url = "{server.url("/rsp")}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(path)


async def _with_checkers(config: Config, scenario: Any) -> Any:
    async with Fetcher(FetchSettings.from_defaults(config.defaults)) as fetcher:
        first = Checker(config, fetcher=fetcher, batch_unchanged=True)
        second = Checker(config, fetcher=fetcher, engine=first.engine, batch_unchanged=True)
        second.share_quiet(first)  # as a reloaded watchlist's checker shares the old one's batch
        try:
            return await scenario(first, second)
        finally:
            await second.close()
            await first.close()


def test_the_next_request_is_conditional_on_a_waiting_checks_validators(
    tmp_path: Path, page_server: PageServer
) -> None:
    body = page("Version 1.0 applies to every API user.")
    page_server.route(
        "/rsp",
        [
            Response(body=body, etag='"a"'),
            Response(body=body, etag='"b"'),  # the same bytes under a new ETag: unchanged
            Response(status=304, etag='"b"', content_type=None),
        ],
    )
    config = _config(tmp_path, page_server)
    watch = config.watches[0]

    async def scenario(first: Checker, second: Checker) -> tuple[list[str], str | None, int]:
        outcomes = [(await first.check(watch)).outcome, (await first.check(watch)).outcome]
        outcomes.append((await second.check(watch)).outcome)
        return outcomes, _watch(first.engine, "rsp").etag, len(_checks(first.engine))

    outcomes, etag_before, stored_before = asyncio.run(_with_checkers(config, scenario))
    assert outcomes == ["first", "unchanged", "not_modified"]
    sent = [r.header("if-none-match") for r in page_server.requests_to("/rsp")]
    assert sent == [None, '"a"', '"b"']  # "b" was only in the batch when the third check ran
    assert (etag_before, stored_before) == ('"a"', 1)
    engine = _engine(config)
    assert [c.outcome for c in _checks(engine)] == ["first", "unchanged", "not_modified"]
    assert _watch(engine, "rsp").etag == '"b"'
    assert _kinds(engine)[standalone.PASS_KIND] == 1
    engine.dispose()


def test_a_failure_or_a_change_writes_the_waiting_batch_first(
    tmp_path: Path, page_server: PageServer
) -> None:
    v1, v2 = page("Version 1.0 applies."), page("Version 2.0 applies.")
    page_server.route(
        "/rsp",
        [
            Response(body=v1),
            Response(body=v1),
            Response(status=503, body=b"<h1>Service Unavailable</h1>"),
            Response(body=v1),
            Response(body=v2),
        ],
    )
    config = _config(tmp_path, page_server)
    watch = config.watches[0]
    seen: list[tuple[list[str], str, int]] = []

    async def scenario(first: Checker, second: Checker) -> list[str]:
        outcomes = []
        for checker in (first, first, second, first, second):
            outcomes.append((await checker.check(watch)).outcome)
            row = _watch(first.engine, "rsp")
            seen.append(
                ([c.outcome for c in _checks(first.engine)], row.last_outcome, row.failures_in_row)
            )
        return outcomes

    outcomes = asyncio.run(_with_checkers(config, scenario))
    assert outcomes == ["first", "unchanged", "failed", "unchanged", "changed"]
    assert seen == [
        (["first"], "first", 0),
        (["first"], "first", 0),  # the unchanged check waits in the batch
        (["first", "unchanged", "failed"], "failed", 1),  # written before the failure
        (["first", "unchanged", "failed"], "failed", 1),
        (["first", "unchanged", "failed", "unchanged", "changed"], "changed", 0),
    ]
    engine = _engine(config)
    checks = _checks(engine)
    assert _same_time(_watch(engine, "rsp").last_check_at, checks[-1].at)
    assert [c.at for c in checks] == sorted(c.at for c in checks)
    engine.dispose()
    verified = run_monitor(tmp_path, "verify")
    assert verified.returncode == 0 and verified.stdout.startswith("intact: "), verified.stdout


def _quiet_watchlist(tmp_path: Path, server: PageServer) -> Path:
    serve(server, "/a", "/b", "/c")
    texts = iter(range(1, 10_000))

    def turning(request: Any) -> Response:  # a new version at every third request
        return Response(body=page(f"Version {next(texts) // 3} applies to every API user."))

    server.route("/turns", turning)
    flaky = [Response(body=page("Steady.")), Response(body=page("Steady."))]
    server.route("/flaky", [*flaky, Response(status=503, body=b"down"), *flaky * 50])
    watches = {name: 'interval = "1s"' for name in ("a", "b", "c", "turns", "flaky")}
    return write_watchlist(tmp_path / "watchlist.toml", server, watches)


def test_a_clean_stop_writes_every_quiet_check_and_exports_read_them(
    tmp_path: Path, page_server: PageServer, daemons: Any
) -> None:
    watchlist = _quiet_watchlist(tmp_path, page_server)
    daemon = daemons(watchlist)
    daemon.wait_until(lambda: len(daemon.checks("a")) >= 3 and daemon.checks("turns"), 60)
    assert daemon.stop(signal.SIGTERM) == 0, daemon.failure()
    config = load_config(watchlist)
    engine = _engine(config)
    logged = Counter((c["watch"], c["outcome"]) for c in daemon.checks())
    assert Counter((c.watch_id, c.outcome) for c in _checks(engine)) == logged
    kinds = _kinds(engine)
    quiet = sum(n for (_w, outcome), n in logged.items() if outcome in QUIET)
    assert quiet >= 3 and kinds[standalone.PASS_KIND] >= 1
    assert kinds["check"] == sum(logged.values()) - quiet  # no event of their own
    engine.dispose()
    assert run_monitor(tmp_path, "verify").stdout.startswith("intact: ")

    jsonl = tmp_path / "all.jsonl"
    done = run_monitor(tmp_path, "export", *PERIOD, "--format", "jsonl", "--out", str(jsonl))
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    in_passes = Counter(r["watch"] for r in records if r["record"] == "check" and "pass" in r)
    assert sum(in_passes.values()) == quiet
    bundle = tmp_path / "all.zip"
    done = run_monitor(tmp_path, "export", *PERIOD, "--out", str(bundle))
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(bundle) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("coverage.csv").decode())))
    covered = {r["watch"]: int(r["checks"]) for r in rows if r["row"] == "checked"}
    assert covered == Counter(c["watch"] for c in daemon.checks())
    assert run_monitor(tmp_path, "verify", str(bundle)).returncode == 0


def test_a_kill_loses_at_most_the_waiting_quiet_checks_and_the_store_verifies(
    tmp_path: Path, page_server: PageServer, daemons: Any
) -> None:
    watchlist = _quiet_watchlist(tmp_path, page_server)
    daemon = daemons(watchlist)
    daemon.wait_until(lambda: daemon.logged("started"))
    began = time.monotonic()
    daemon.wait_until(
        lambda: (
            daemon.logged("check", watch="turns", outcome="changed")
            and daemon.logged("check", watch="flaky", outcome="failed")
            and len(daemon.checks("a")) >= 4
        ),
        60,
    )
    daemon.kill()
    ran = time.monotonic() - began
    assert daemon.proc.returncode == -signal.SIGKILL
    config = load_config(watchlist)
    engine = _engine(config)
    lost = 0
    for watch in ("a", "b", "c", "turns", "flaky"):
        logged = [c["outcome"] for c in daemon.checks(watch)]
        stored = [c.outcome for c in _checks(engine, watch)]
        assert logged[: len(stored)] == stored, watch  # the oldest first, none skipped
        assert all(outcome in QUIET for outcome in logged[len(stored) :]), (watch, logged, stored)
        lost += len(logged) - len(stored)
        if stored:  # the watch's state is its newest stored check's, never an older one's
            row = _watch(engine, watch)
            assert _same_time(row.last_check_at, _checks(engine, watch)[-1].at), watch
    engine.dispose()
    if ran < 25:  # the batch is written every 30 s: a kill before that loses what waits
        assert lost > 0
    verified = run_monitor(tmp_path, "verify")
    assert verified.returncode == 0 and verified.stdout.startswith("intact: "), verified.stdout


def test_the_waiting_quiet_checks_are_written_every_quiet_every_seconds(
    tmp_path: Path, page_server: PageServer
) -> None:
    serve(page_server, "/a", "/b")
    watches = {name: 'interval = "1s"' for name in ("a", "b")}
    config = load_config(write_watchlist(tmp_path / "watchlist.toml", page_server, watches))
    engine = _engine(config)
    seen: list[int] = []  # quiet checks in the store, every 0.1 s while the daemon runs

    async def main() -> int:
        daemon = Daemon(config, Options(quiet_every=1.5, alerts_every=60, reload_every=60))

        async def watch_then_stop() -> None:
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline:
                stored = await asyncio.to_thread(_checks, engine)
                seen.append(sum(1 for c in stored if c.outcome in QUIET))
                await asyncio.sleep(0.1)
            daemon.stop()

        watcher = asyncio.ensure_future(watch_then_stop())
        code = await daemon.serve()
        await watcher
        return code

    assert asyncio.run(main()) == 0
    written = sorted(set(seen))
    assert len(written) >= 3 and written[0] == 0, written  # a batch at a time, while running
    steps = [later - earlier for earlier, later in zip(written, written[1:], strict=False)]
    assert max(steps) >= 2, steps  # several checks to a batch, not one write per check
    assert _kinds(engine)[standalone.PASS_KIND] >= 3
    engine.dispose()


def test_a_once_pass_writes_its_quiet_checks_with_one_check_pass_event(
    tmp_path: Path, page_server: PageServer
) -> None:
    """`monitor run --once` (a cron job's pass) writes its unchanged checks as `monitor check`
    does: one `check_pass` event for the pass, not one event per check."""
    serve(page_server, "/a", "/b", "/c")
    watches = {name: 'interval = "1s"' for name in ("a", "b", "c")}
    watchlist = write_watchlist(tmp_path / "watchlist.toml", page_server, watches)
    for _ in range(2):
        done = run_monitor(tmp_path, "run", "--once")
        assert done.returncode == 0, done.stderr
        time.sleep(1.1)  # every watch due again
    engine = _engine(load_config(watchlist))
    outcomes = Counter(c.outcome for c in _checks(engine))
    kinds = _kinds(engine)
    engine.dispose()
    assert outcomes["first"] == 3 and sum(outcomes[o] for o in QUIET) == 3, outcomes
    assert kinds["check"] == 3 and kinds[standalone.PASS_KIND] == 1, kinds
    assert run_monitor(tmp_path, "verify").stdout.startswith("intact: ")
