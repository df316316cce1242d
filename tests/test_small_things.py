"""Small things a new user hit, one test each, through the real CLI against a local page server
and a real SQLite file (and real Chromium where a watch needs the browser)."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
import sys
import time
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.cli import build_parser, main
from monitor.config import load_config, parse_duration
from monitor.store import queries
from monitor.store.db import open_engine
from tests.pageserver import PageServer, Response

ROOT = Path(__file__).parent.parent
BEFORE = """<!doctype html><html><head><title>Deprecations</title></head><body><main>
<h1>Model deprecations</h1>
<h2>Upcoming retirements</h2>
<p>gpt-3.5-turbo-0613 will be retired on 2026-09-13; use gpt-4o-mini.</p>
</main></body></html>"""
AFTER = BEFORE.replace("</p>", "</p>\n<p>gpt-4o will be retired on 2026-06-30; use gpt-4.1.</p>")


def _watchlist(tmp_path: Path, server: PageServer, more: str = "", extra: str = "") -> Path:
    path = tmp_path / "watchlist.toml"
    path.write_text(
        '[defaults]\ntimeout = "10s"\nretries = 0\n\n'
        f'[[watch]]\nid = "deprecations"\nurl = "{server.url("/deps")}"\nkind = "lifecycle"\n'
        f'tags = ["lifecycle", "openai"]\n{more}\n{extra}',
        encoding="utf-8",
    )
    return path


def _changed(tmp_path: Path, server: PageServer, capsys: pytest.CaptureFixture[str]) -> Path:
    """A watchlist whose watch has two versions and one change (id 1)."""
    path = _watchlist(tmp_path, server)
    server.route("/deps", Response(body=BEFORE.encode()))
    assert main(["-w", str(path), "check", "--no-progress", "--no-alerts"]) == 0
    server.route("/deps", Response(body=AFTER.encode()))
    assert main(["-w", str(path), "check", "--no-progress", "--no-alerts"]) == 0
    capsys.readouterr()
    return path


def _out(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_bare_number_durations_are_seconds() -> None:
    args = build_parser().parse_args(["run", "--grace", "5", "--alerts-every", "2.5"])
    assert (args.grace, args.alerts_every) == (5.0, 2.5)
    assert parse_duration("90") == 90.0


def test_watchlist_after_the_subcommand(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    page_server.route("/deps", Response(body=BEFORE.encode()))
    path = _watchlist(tmp_path, page_server)
    code, out, _ = _out(capsys, "check", "--watchlist", str(path), "--no-progress")
    assert code == 0 and "deprecations" in out
    assert _out(capsys, "versions", "deprecations", "-w", str(path))[0] == 0
    assert _out(capsys, "alerts", "--watchlist", str(path))[0] == 0


def test_a_mistyped_tag_exits_2_naming_the_known_tags(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _watchlist(tmp_path, page_server)
    code, out, err = _out(capsys, "-w", str(path), "check", "--tag", "lifecyle")
    assert code == 2 and out == ""
    assert err == "error: watchlist.toml: no watch has tag 'lifecyle' (tags: lifecycle, openai)\n"
    assert page_server.requests == []


def test_validate_never_says_valid_and_exits_2(
    tmp_path: Path,
    page_server: PageServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_SUCH_WEBHOOK", raising=False)
    channel = '[channels.team]\ntype = "slack"\nwebhook_url_env = "NO_SUCH_WEBHOOK"\n'
    path = _watchlist(tmp_path, page_server, extra=channel)
    code, out, err = _out(capsys, "-w", str(path), "validate")
    assert code == 2
    assert ": valid" not in out and "invalid" in out
    assert "NO_SUCH_WEBHOOK is not set" in err
    code, out, _ = _out(capsys, "-w", str(path), "validate", "--json")
    report = json.loads(out)
    assert code == 2 and report["valid"] is False and report["exit_code"] == 2
    assert "NO_SUCH_WEBHOOK" in report["errors"][0]


def test_counts_say_one_change_not_one_changes(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _changed(tmp_path, page_server, capsys)
    _, out, _ = _out(capsys, "-w", str(path), "history", "deprecations")
    assert out.startswith("deprecations: 2 checks, 2 versions, 1 change\n")


def test_alerts_lists_deliveries_under_a_header_row(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _changed(tmp_path, page_server, capsys)
    _, out, _ = _out(capsys, "-w", str(path), "alerts")
    head, first = out.splitlines()[:2]
    assert head.split()[:5] == ["id", "state", "channel", "watch", "change"]
    assert first.split()[1:3] == ["pending", "console"]


def test_cat_and_at_end_in_a_newline_and_take_json(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _changed(tmp_path, page_server, capsys)
    _, text, _ = _out(capsys, "-w", str(path), "cat", "2")
    assert text.endswith("use gpt-4.1.\n")
    _, at_text, _ = _out(capsys, "-w", str(path), "at", "2999-01-01", "deprecations")
    assert at_text == text
    _, out, _ = _out(capsys, "-w", str(path), "cat", "2", "--json")
    version = json.loads(out)
    assert version["id"] == 2 and version["watch"] == "deprecations"
    assert version["text"] + "\n" == text and version["snapshot"]["final_url"].endswith("/deps")
    _, out, _ = _out(capsys, "-w", str(path), "at", "2999-01-01", "deprecations", "--json")
    assert json.loads(out) == version


def test_history_versions_and_at_work_for_a_watch_removed_from_the_watchlist(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _changed(tmp_path, page_server, capsys)
    path.write_text(path.read_text().replace('id = "deprecations"', 'id = "other"'))
    assert _out(capsys, "-w", str(path), "history", "deprecations")[0] == 0
    code, out, _ = _out(capsys, "-w", str(path), "versions", "deprecations")
    assert code == 0 and len(out.splitlines()) == 3  # header and two versions
    code, out, _ = _out(capsys, "-w", str(path), "at", "2999-01-01", "deprecations")
    assert code == 0 and "gpt-4.1" in out
    code, _, err = _out(capsys, "-w", str(path), "versions", "nowhere")
    assert code == 2 and "no watch 'nowhere'" in err


def test_history_of_a_watch_in_json_includes_its_checks(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _changed(tmp_path, page_server, capsys)
    _, out, _ = _out(capsys, "-w", str(path), "history", "deprecations", "--json")
    timeline = json.loads(out)
    assert [c["outcome"] for c in timeline["checks"]] == ["changed", "first"]
    assert [c["id"] for c in timeline["changes"]] == [1]


def test_show_html_carries_url_times_severity_and_facts(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _changed(tmp_path, page_server, capsys)
    _, html, _ = _out(capsys, "-w", str(path), "show", "1", "--html")
    change = queries.change(open_engine(load_config(path).database_url), 1)
    assert change is not None and change.facts
    assert page_server.url("/deps") in html
    assert f"{change.detected_at:%Y-%m-%d %H:%M:%S} UTC" in html
    assert f"<th>severity</th><td>{change.severity}</td>" in html
    assert "Model: gpt-4o" in html.split("<table", 2)[1]  # a fact, above the diff
    assert "Shutdown: 2026-06-30" in html.split("<table", 2)[1]


def test_no_color_and_a_pipe_turn_colour_off(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _changed(tmp_path, page_server, capsys)

    def show_on_a_terminal(**env: str) -> bytes:
        leader, follower = pty.openpty()
        environ = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | env
        command = [sys.executable, "-m", "monitor", "-w", str(path), "show", "1"]
        proc = subprocess.Popen(command, stdout=follower, stderr=follower, env=environ, cwd=ROOT)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(60)
        os.close(leader)
        return b"".join(chunks)

    assert b"\x1b[" in show_on_a_terminal()  # a terminal gets colour
    assert b"\x1b[" not in show_on_a_terminal(NO_COLOR="1")
    _, out, _ = _out(capsys, "-w", str(path), "show", "1")  # captured: not a terminal
    assert "\x1b[" not in out


def test_validate_fetch_uses_the_watch_s_own_fetcher_and_reports_unmatched_ignores(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    shell = b"""<!doctype html><html><head><title>Policy</title></head><body><div id="app"></div>
<script>document.getElementById('app').innerHTML =
 '<main><h1>Usage policy</h1><p>Do not use the models to build weapons.</p></main>';</script>
</body></html>"""
    page_server.route("/app", Response(body=shell))
    page_server.route("/deps", Response(body=BEFORE.encode()))
    path = _watchlist(
        tmp_path,
        page_server,
        more='ignore = [".cookie-banner"]',
        extra=f'[[watch]]\nid = "app"\nurl = "{page_server.url("/app")}"\nfetcher = "browser"\n',
    )
    code, out, _ = _out(capsys, "-w", str(path), "validate", "--fetch")
    assert "app: ok:" in out and "read with the browser (fetcher = 'browser')" in out, out
    assert (
        "deprecations: ignore selector '.cookie-banner' matches nothing on the page; "
        "fix it or remove it"
    ) in out
    assert code == 0


def test_dns_failures_are_retried_with_the_backoff() -> None:
    from monitor.fetch import Fetcher, FetchSettings

    settings = FetchSettings(
        user_agent="t", timeout=5, max_body=10**6, max_redirects=2, retries=2, concurrency=2,
        per_host=2, backoff_base=0.2, backoff_max=0.2,
    )  # fmt: skip

    async def fetch() -> object:
        async with Fetcher(replace(settings)) as fetcher:
            return await fetcher.fetch("http://no-such-host.invalid/policy")

    result = asyncio.run(fetch())
    assert result.problem is not None and result.problem.kind.value == "dns"  # type: ignore[attr-defined]
    assert result.attempts == 3  # type: ignore[attr-defined]


def test_identical_summary_parts_and_fact_lines_are_said_once() -> None:
    from monitor.alerts.payload import Message, console_text
    from monitor.classify.summary import summarise
    from monitor.diff import diff_texts
    from monitor.models import Finding
    from monitor.render_slack import Alert

    fact = {"kind": "retirement", "model": "gpt-4o", "surface": "chatgpt"}
    facts = (fact | {"shutdown_date": "2026-02-13", "event": "announced"},
             fact | {"shutdown_date": "2026-02-13", "event": "deprecated"})  # fmt: skip
    findings = [Finding("r1", "model_retirement", "x", facts=(f,)) for f in facts]
    summary = summarise(("model_retirement",), findings, diff_texts("a", "b"))
    assert summary == "gpt-4o retires from ChatGPT on 2026-02-13"
    from datetime import UTC, datetime

    alert = Alert(
        change_id=1, watch_id="w", watch_name="W", url="https://example.org", labels=("model_retirement",),
        severity="major", summary=summary, facts=[facts[0], dict(facts[0])], lines_added=1,
        lines_removed=0, sections=(), detected_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    text = console_text(Message(key="1", alerts=(alert,)))
    assert len([line for line in text.splitlines() if "Shutdown: 2026-02-13" in line]) == 1


def test_titles_and_cells_are_cut_at_a_word_boundary() -> None:
    from monitor.classify.summary import _quoted
    from monitor.wording import shorten

    title = "Introducing the next generation of frontier safety commitments for everyone"
    assert shorten(title, 50) == "Introducing the next generation of frontier…"
    assert _quoted([title]) == '"Introducing the next generation of frontier…"'
    assert shorten("short", 50) == "short"
    assert shorten("x" * 80, 10) == "x" * 9 + "…"
    from monitor.render_slack import clip

    assert (
        clip("Deprecation of <legacy> completions endpoints", 30)
        == "Deprecation of &lt;legacy&gt;…"
    )


def test_stale_snapshot_temporaries_are_cleaned_at_start(
    tmp_path: Path, page_server: PageServer, capsys: pytest.CaptureFixture[str]
) -> None:
    page_server.route("/deps", Response(body=BEFORE.encode()))
    path = _watchlist(tmp_path, page_server)
    shard = tmp_path / "snapshots" / "ab"
    shard.mkdir(parents=True)
    stale, fresh = shard / ".tmp-killed.gz", shard / ".tmp-writing.gz"
    stale.write_bytes(b"half a body")
    fresh.write_bytes(b"a body being written")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    assert _out(capsys, "-w", str(path), "check", "--no-progress")[0] == 0
    assert not stale.exists() and fresh.exists()


def test_packaging_declares_what_is_imported_and_ships_the_licence() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    deps = {
        d.split(">")[0].split("<")[0].split("[")[0]: d for d in project["project"]["dependencies"]
    }
    assert {"pydantic", "sqlalchemy", "webencodings"} <= set(deps)
    assert "<" in deps["selectolax"] and "<" in deps["sqlmodel"]
    assert project["project"]["license"] == "Apache-2.0"  # PEP 639 expression
    assert project["build-system"]["requires"][0].startswith("setuptools>=77")
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence


@pytest.mark.parametrize(
    ("label", "data", "text"),
    [
        ("iso88591", b"\x93quoted\x94 \x80", "\u201cquoted\u201d \u20ac"),
        ("ansi_x3.4-1968", b"\x80", "\u20ac"),  # "ASCII" is read as windows-1252
        ("iso885915", b"\xa4", "\u20ac"),
        ("x-cp1251", b"\xc0", "\u0410"),
        ("koi8-ru", b"\xa4", "\u0454"),
        ("x-mac-cyrillic", b"\x80", "\u0410"),
        ("iso88592", b"\xb1", "\u0105"),
    ],
)
def test_charset_labels_read_by_the_whatwg_table(label: str, data: bytes, text: str) -> None:
    from monitor.extract import decode_html

    assert decode_html(data, label) == text
