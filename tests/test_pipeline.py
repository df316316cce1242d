"""One watch end to end: a real local server, a real SQLite file, the real stages."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from monitor.config import Config, load_config
from monitor.pipeline import CheckReport, check_watches
from monitor.snapshots import SnapshotStore
from monitor.store import queries, record
from monitor.store.db import dispose_engines, open_engine
from tests.pageserver import PageServer, Response, conditional

RSP_V1 = """
<h1>Responsible Scaling Policy</h1>
<p>Version 3.0. Effective March 1, 2026.</p>
<h2>Capability thresholds</h2>
<p>We will not deploy a model that crosses an ASL-4 threshold without safeguards.</p>
<h2>Governance</h2>
<p>The Responsible Scaling Officer reports to the board.</p>
"""
RSP_V2 = RSP_V1.replace(
    "Version 3.0. Effective March 1, 2026.", "Version 3.1. Effective April 2, 2026."
)


pytestmark = pytest.mark.usefixtures("database_url")


def page(content: str, *, nonce: str | None = None) -> bytes:
    """A page with per-request noise outside the content: a script nonce, a CSRF token."""
    nonce = nonce or uuid.uuid4().hex
    return f"""<!doctype html><html><head><title>RSP</title>
<meta name="csrf-token" content="{nonce}"><script nonce="{nonce}">window.n="{nonce}"</script>
</head><body><nav><a href="/">Home</a></nav><main>{content}
<form><input type="hidden" name="csrf" value="{nonce}"></form></main>
<footer>Rendered {nonce}</footer></body></html>""".encode()


def write_watchlist(tmp_path: Path, server: PageServer, extra: str = "", **watch: str) -> Config:
    lines = [
        "[defaults]",
        'timeout = "2s"',
        "retries = 1",
        "failures_before_alert = 2",
        "",
        "[[watch]]",
        'id = "rsp"',
        f'url = "{server.url("/rsp")}"',
        'kind = "policy"',
    ]
    lines += [f"{key} = {value}" for key, value in watch.items()]
    path = tmp_path / "watchlist.toml"
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return load_config(path)


def run(config: Config) -> CheckReport:
    return asyncio.run(check_watches(config, config.watches))[0]


def test_first_unchanged_change_and_history(tmp_path: Path, page_server: PageServer) -> None:
    page_server.route("/rsp", lambda request: Response(body=page(RSP_V1)))
    config = write_watchlist(tmp_path, page_server)

    first = run(config)
    assert first.outcome == "first" and first.version_id

    again = run(config)  # new nonces in the raw bytes, same text
    assert again.outcome == "unchanged" and again.change_id is None

    page_server.route("/rsp", lambda request: Response(body=page(RSP_V2)))
    changed = run(config)
    assert changed.outcome == "changed" and changed.change_id

    engine = open_engine(config.database_url)
    n_checks, n_versions, n_changes = queries.counts(engine, "rsp")
    assert (n_checks, n_versions, n_changes) == (3, 2, 1)
    change = queries.change(engine, changed.change_id)
    assert change is not None
    assert change.lines_added == 1 and change.lines_removed == 1
    assert any("Version 3.1" in line for hunk in change.diff["hunks"] for line in hunk["added"])
    # only the version's snapshots are kept: the unchanged check stored no body
    bodies = [p for p in config.snapshots_dir.rglob("*.gz")]
    assert len(bodies) == 4  # two raw snapshots, two texts
    text = SnapshotStore(config.snapshots_dir).get_text(
        queries.versions(engine, "rsp")[1][0].text_sha256
    )
    assert "Version 3.1" in text and "csrf" not in text.lower()


def test_304_is_an_unchanged_check_and_the_etag_is_sent(
    tmp_path: Path, page_server: PageServer
) -> None:
    page_server.route("/rsp", conditional(page(RSP_V1, nonce="fixed"), etag='"v1"'))
    config = write_watchlist(tmp_path, page_server)
    assert run(config).outcome == "first"
    assert run(config).outcome == "not_modified"
    assert page_server.requests_to("/rsp")[-1].header("if-none-match") == '"v1"'
    engine = open_engine(config.database_url)
    assert [c.outcome for c in queries.checks(engine, "rsp")] == ["not_modified", "first"]


def test_noise_in_ignored_places_and_ignore_text_make_no_change(
    tmp_path: Path, page_server: PageServer
) -> None:
    counter = iter(range(1, 100))
    page_server.route(
        "/rsp",
        lambda request: Response(body=page(RSP_V1 + f"<p>Updated {next(counter)} minutes ago</p>")),
    )
    config = write_watchlist(tmp_path, page_server, ignore_text="['Updated \\d+ minutes ago']")
    assert run(config).outcome == "first"
    assert run(config).outcome == "unchanged"
    assert queries.counts(open_engine(config.database_url), "rsp") == (2, 1, 0)


def test_bot_wall_500_recovery_and_failure_alert(tmp_path: Path, page_server: PageServer) -> None:
    page_server.route("/rsp", lambda request: Response(body=page(RSP_V1)))
    config = write_watchlist(tmp_path, page_server)
    run(config)
    wall = b"<html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>"
    page_server.route("/rsp", lambda request: Response(status=503, body=wall))
    first_failure = run(config)
    assert first_failure.failed and "blocked" in (first_failure.error or "").lower()
    second_failure = run(config)
    assert second_failure.failed and "fetch_problem" in second_failure.labels  # 2 in a row
    third = run(config)
    assert third.failed and third.change_id is None  # one alert per streak, not one per failure
    page_server.route("/rsp", lambda request: Response(body=page(RSP_V1)))
    back = run(config)
    assert back.outcome == "unchanged" and "page_restored" in back.labels
    engine = open_engine(config.database_url)
    labels = [c.labels for c in queries.changes(engine, "rsp")]
    assert labels == [["page_restored"], ["fetch_problem"]]
    assert queries.counts(engine, "rsp")[1] == 1  # the wall never became a version


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        (lambda r: Response(body=page(RSP_V1), delay=5), "timeout"),
        (lambda r: Response(status=302, headers={"Location": "/rsp"}), "too_many_redirects"),
        (lambda r: Response(body=b"<main>" + b"x" * 3_000_000 + b"</main>"), "too_large"),
    ],
    ids=["timeout", "redirect-loop", "over-size-cap"],
)
def test_fetch_problems_are_recorded_and_lose_nothing(
    tmp_path: Path, page_server: PageServer, route: object, expected: str
) -> None:
    page_server.route("/rsp", lambda request: Response(body=page(RSP_V1)))
    config = write_watchlist(tmp_path, page_server, extra="")
    path = config.path
    path.write_text(path.read_text().replace("retries = 1", 'retries = 0\nmax_body = "1MB"'))
    config = load_config(path)
    run(config)
    page_server.route("/rsp", route)  # type: ignore[arg-type]
    failed = run(config)
    assert failed.failed and failed.error
    engine = open_engine(config.database_url)
    assert queries.counts(engine, "rsp") == (2, 1, 0)
    assert queries.checks(engine, "rsp")[0].error_kind == expected


def test_selector_edit_is_a_rule_change_never_alerted(
    tmp_path: Path, page_server: PageServer
) -> None:
    page_server.route("/rsp", lambda request: Response(body=page(RSP_V1)))
    config = write_watchlist(tmp_path, page_server)
    run(config)
    config = write_watchlist(tmp_path, page_server, ignore='["h2"]')
    report = run(config)
    assert report.rule_change_id and report.outcome == "unchanged"
    engine = open_engine(config.database_url)
    change = queries.change(engine, report.rule_change_id)
    assert change is not None and change.labels == ["rule_change"]
    from sqlmodel import select

    from monitor.store.db import reading
    from monitor.store.tables import DeliveryRow

    with reading(engine) as session:
        assert session.exec(select(DeliveryRow)).all() == []


def test_flapping_page_is_recorded_as_revert(tmp_path: Path, page_server: PageServer) -> None:
    config = write_watchlist(tmp_path, page_server)
    banner = RSP_V1 + "<p>This page is temporarily unavailable in your region.</p>"
    for content, outcome in [(RSP_V1, "first"), (banner, "changed"), (RSP_V1, "revert")]:
        page_server.route("/rsp", lambda request, c=content: Response(body=page(c)))
        assert run(config).outcome == outcome


def test_a_crash_inside_the_write_leaves_the_previous_state(
    tmp_path: Path, page_server: PageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    page_server.route("/rsp", lambda request: Response(body=page(RSP_V1)))
    config = write_watchlist(tmp_path, page_server)
    run(config)
    page_server.route("/rsp", lambda request: Response(body=page(RSP_V2)))

    def crash(*args: object, **kwargs: object) -> int:
        raise RuntimeError("power cut")

    monkeypatch.setattr(record, "_content_change", crash)
    crashed = run(config)  # the check fails in one line; the rest of the pass goes on
    assert crashed.failed and crashed.error == "unexpected RuntimeError while checking: power cut"
    engine = open_engine(config.database_url)
    assert queries.counts(engine, "rsp") == (2, 1, 0)  # the failed check; no half a version
    monkeypatch.undo()
    assert run(config).outcome == "changed"
    assert queries.counts(engine, "rsp") == (3, 2, 1)


def test_two_processes_at_once_record_the_change_once(
    tmp_path: Path, page_server: PageServer
) -> None:
    page_server.route("/rsp", lambda request: Response(body=page(RSP_V1)))
    config = write_watchlist(tmp_path, page_server)
    run(config)
    dispose_engines()
    page_server.route("/rsp", lambda request: Response(body=page(RSP_V2), delay=0.3))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    command = [sys.executable, "-m", "monitor", "-w", str(config.path), "check", "--no-progress"]
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
    engine = open_engine(config.database_url)
    n_checks, n_versions, n_changes = queries.counts(engine, "rsp")
    assert (n_checks, n_versions, n_changes) == (4, 2, 1)


FIXTURES = Path(__file__).parent / "fixtures" / "extract"  # realistic pages, see cases.json there


@pytest.mark.parametrize(
    ("page", "kind", "extra"),
    [
        (
            "rsp-policy",
            "policy",
            "ignore = ['.cookie-banner']\nignore_text = ['Updated \\d+ (?:days?|hours?) ago']",
        ),
        ("deprecations-table", "lifecycle", ""),
        ("help-retirement-ja-sjis", "lifecycle", ""),
    ],
)
def test_realistic_pages_are_recorded_as_their_golden_text(
    tmp_path: Path, page_server: PageServer, page: str, kind: str, extra: str
) -> None:
    body = (FIXTURES / f"{page}.html").read_bytes()
    # no charset in the header: the Shift_JIS page declares it only in a <meta> tag
    page_server.route("/rsp", Response(body=body, content_type="text/html"))  # type: ignore[arg-type]
    config = write_watchlist(tmp_path, page_server)
    text = config.path.read_text().replace('kind = "policy"', f'kind = "{kind}"\n{extra}')
    config.path.write_text(text)
    config = load_config(config.path)
    report = run(config)
    assert report.outcome == "first", report.error
    engine = open_engine(config.database_url)
    version = queries.versions(engine, "rsp")[0][0]
    stored = SnapshotStore(config.snapshots_dir).get_text(version.text_sha256)
    assert stored == (FIXTURES / f"{page}.txt").read_text(encoding="utf-8").rstrip("\n")


def test_reclassify_rewrites_old_labels_with_the_current_rules(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlmodel import select

    from monitor.cli import main
    from monitor.store.db import writing
    from monitor.store.tables import ChangeRow

    config = write_watchlist(tmp_path, page_server)
    for content in (RSP_V1, RSP_V2):
        page_server.route("/rsp", lambda request, c=content: Response(body=page(c)))
        run(config)
    engine = open_engine(config.database_url)
    current = queries.changes(engine, "rsp")[0]
    assert "version_bump" in current.labels
    with writing(engine) as session:  # as an older, weaker rule set would have recorded it
        row = session.exec(select(ChangeRow)).one()
        row.labels, row.facts, row.summary = ["cosmetic"], [], "old summary"
        session.add(row)

    assert main(["-w", str(config.path), "reclassify"]) == 0
    assert "reclassified 1 changes: 1 got new labels" in capsys.readouterr().out
    again = queries.changes(engine, "rsp")[0]
    assert again.labels == current.labels and again.facts == current.facts
    assert again.summary == current.summary


def test_a_pass_expects_whole_pages_from_watches_with_no_version_or_no_validator(
    tmp_path: Path, page_server: PageServer
) -> None:
    """What decides whether a pass starts its worker processes before the first page comes."""
    from monitor.fetch import Fetcher, FetchSettings
    from monitor.pipeline import Checker

    page_server.route("/rsp", conditional(page(RSP_V1, nonce="fixed"), etag='"v1"'))
    page_server.route("/plain", lambda request: Response(body=page(RSP_V1)))
    extra = f'[[watch]]\nid = "plain"\nurl = "{page_server.url("/plain")}"\nkind = "policy"\n'
    config = write_watchlist(tmp_path, page_server, extra)

    async def expected() -> int:
        async with Fetcher(FetchSettings.from_defaults(config.defaults)) as fetcher:
            checker = Checker(config, fetcher=fetcher)
            checker.preload(config.watches)
            return checker.bodies_expected(config.watches)

    assert asyncio.run(expected()) == 2  # no versions yet
    asyncio.run(check_watches(config, config.watches))
    assert asyncio.run(expected()) == 1  # "rsp" will answer 304 to its ETag, "plain" cannot
