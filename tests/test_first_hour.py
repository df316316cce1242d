"""The first hour of a new user: the README's main job on a watchlist with a bot-walled `auto`
watch, a machine without Playwright or Chromium, and a watch whose check raises. One watch's
trouble is one line on that watch; the others of the pass are recorded; never a traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import load_config
from monitor.store import queries
from monitor.store.db import open_engine
from tests.pageserver import PageServer, Response

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

PLAIN = b"""<!doctype html><html><head><title>Deprecations</title></head><body>
<main><h1>Deprecations</h1><p>gpt-4o-2024-05-13 shuts down on 2026-06-30; use gpt-4.1.</p>
</main></body></html>"""
WALL = b"""<!doctype html><html><head><title>Just a moment...</title></head><body>
<div id="cf-chl-widget">Checking your browser before accessing the site.</div>
<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1"></script></body></html>"""

# runs monitor with Playwright unimportable, as on a machine where the extra was never installed
NO_PLAYWRIGHT = (
    "import sys; sys.modules['playwright'] = None; "
    "from monitor.cli import main; raise SystemExit(main())"
)


def _watchlist(tmp_path: Path, server: PageServer, extra: str = "") -> Path:
    server.route("/plain", Response(body=PLAIN))
    server.route("/walled", Response(status=403, body=WALL))
    path = tmp_path / "watchlist.toml"
    path.write_text(
        '[defaults]\ntimeout = "5s"\nretries = 0\n\n'
        f'[[watch]]\nid = "walled"\nurl = "{server.url("/walled")}"\nfetcher = "auto"\n\n'
        f'[[watch]]\nid = "plain"\nurl = "{server.url("/plain")}"\n' + extra,
        encoding="utf-8",
    )
    return path


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", NO_PLAYWRIGHT, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


def test_the_readme_main_job_installs_what_the_shipped_watchlist_needs() -> None:
    shipped = tomllib.loads((ROOT / "watchlist.toml").read_text(encoding="utf-8"))
    assert any(w.get("fetcher") in ("auto", "browser") for w in shipped["watch"])
    main_job = re.search(r"Set up and run the main job.*?```sh\n(.*?)```", README, re.S)
    assert main_job is not None
    assert "'.[browser]'" in main_job.group(1) and "monitor check" in main_job.group(1)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    browser_extra = extras["project"]["optional-dependencies"]["browser"]
    assert any(dep.startswith("playwright") for dep in browser_extra)
    assert "apt-get install chromium" in README  # Chromium itself comes from Debian


def test_without_playwright_the_walled_watch_fails_in_one_line_and_the_pass_is_recorded(
    tmp_path: Path, page_server: PageServer
) -> None:
    path = _watchlist(tmp_path, page_server)
    done = _run(["--watchlist", str(path), "check", "--no-progress"])
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    engine = open_engine(load_config(path).database_url)
    assert len(queries.versions(engine, "plain")) == 1
    [walled] = queries.checks(engine, "walled")
    assert walled.outcome == "failed" and walled.error_kind == "browser"
    assert walled.error is not None and "\n" not in walled.error
    assert "pip install -e '.[browser]'" in walled.error

    validated = _run(["--watchlist", str(path), "validate"])
    assert validated.returncode == 0, validated.stderr
    assert "Traceback" not in validated.stderr
    assert re.search(r"warning: watch 'walled' .*pip install -e '\.\[browser\]'", validated.stderr)
    assert "'plain'" not in validated.stderr


def test_without_chromium_the_walled_watch_names_the_fix(
    tmp_path: Path,
    page_server: PageServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _watchlist(tmp_path, page_server)
    monkeypatch.setenv("MONITOR_CHROMIUM", str(tmp_path / "no-such-chromium"))
    assert main(["--watchlist", str(path), "check", "--no-progress"]) == 1
    engine = open_engine(load_config(path).database_url)
    assert len(queries.versions(engine, "plain")) == 1
    [walled] = queries.checks(engine, "walled")
    assert walled.error_kind == "browser" and walled.error is not None
    assert "install the Debian package chromium or fix MONITOR_CHROMIUM" in walled.error
    capsys.readouterr()
    assert main(["--watchlist", str(path), "validate"]) == 0
    assert "no-such-chromium is not an executable file" in capsys.readouterr().err


def test_an_exception_in_one_watch_is_that_watch_s_failed_check(
    tmp_path: Path,
    page_server: PageServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from monitor.pipeline import Checker

    page_server.route("/boom", Response(body=PLAIN.replace(b"gpt-4o", b"o1")))
    path = _watchlist(
        tmp_path, page_server, f'\n[[watch]]\nid = "boom"\nurl = "{page_server.url("/boom")}"\n'
    )
    real_analyse = Checker._analyse

    async def analyse_or_raise(self: Checker, watch, *args, **kwargs):  # type: ignore[no-untyped-def]
        if watch.id == "boom":
            raise RuntimeError("a bug in one stage\nwith a second line")
        return await real_analyse(self, watch, *args, **kwargs)

    # stands in for a bug in any stage (extract, diff and classify run behind _analyse):
    # nothing real raises on purpose
    monkeypatch.setattr(Checker, "_analyse", analyse_or_raise)
    monkeypatch.setenv("MONITOR_CHROMIUM", str(tmp_path / "no-such-chromium"))
    code = main(["--watchlist", str(path), "check", "--no-progress"])
    out = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out.err + out.out
    engine = open_engine(load_config(path).database_url)
    assert len(queries.versions(engine, "plain")) == 1
    [boom] = queries.checks(engine, "boom")
    assert boom.outcome == "failed" and boom.error_kind == "error"
    assert boom.error == "unexpected RuntimeError while checking: a bug in one stage"
