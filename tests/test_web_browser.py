"""The review web UI in a real headless Chromium, against the real server (uvicorn on a free
loopback port) over a history made by real `monitor check` runs. Screenshots are saved in the
test's temp dir."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.browser import CHROMIUM_ARGS, chromium_path
from monitor.config import load_config
from monitor.store.db import open_engine
from monitor.store.reviewers import add_reviewer
from tests.pageserver import PageServer
from tests.webhistory import History, record_history, running_server

if chromium_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the browser tests: install the Debian package chromium")
    pytest.skip("no Chromium found (install the Debian package chromium)", allow_module_level=True)

from playwright.sync_api import Page, sync_playwright  # noqa: E402


@pytest.fixture
def history(tmp_path: Path, database_url: str) -> History:
    with PageServer() as pages:
        return record_history(tmp_path, pages)


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=list(CHROMIUM_ARGS)
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        yield context.new_page()
        browser.close()


def test_a_reviewer_reads_compares_and_signs_a_change_off(
    history: History, page: Page, tmp_path: Path
) -> None:
    engine = open_engine(load_config(history.watchlist).database_url)
    token = add_reviewer(engine, "alice")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    change_id = history.policy_changes[0]
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    with running_server(history.watchlist) as base:
        page.goto(base + "/")
        assert page.title() == "Watches · monitor"
        rows = page.locator("table.grid tbody tr")
        assert rows.count() == 3
        policy_row = page.locator("tr", has=page.locator("a[href='/watches/usage-policy']"))
        assert policy_row.locator("td").nth(6).inner_text() == "2"  # unreviewed
        page.screenshot(path=shots / "watches.png", full_page=True)

        page.click("a[href='/watches/status']")
        assert page.locator(".ev-gap").count() == 1
        assert "2 failed checks" in page.locator(".ev-gap").inner_text()
        page.screenshot(path=shots / "timeline.png", full_page=True)

        page.goto(f"{base}/changes/{change_id}")
        assert "Version 3.0 → 3.1" in page.locator("h1").inner_text()
        side = page.locator(".side-diff")
        assert side.locator("ins", has_text="3.1").count() >= 1
        assert side.locator("del", has_text="3.0").count() >= 1
        assert page.locator(".side-diff h2", has_text="## Prohibited uses").count() == 1
        # page text with <script>, javascript: and <!channel> is shown as text, inert
        assert "<!channel>" in side.inner_text()
        assert page.locator("main a[href^='javascript:']").count() == 0
        assert page.title() != "pwned" and not dialogs
        page.screenshot(path=shots / "change.png", full_page=True)

        # compare the first and the last version, which are not consecutive
        page.goto(f"{base}/watches/usage-policy")
        page.select_option("select[name=from]", str(history.policy_versions[0]))
        page.select_option("select[name=to]", str(history.policy_versions[2]))
        page.click("form[action='/compare'] button")
        assert "/compare?from=" in page.url
        inline = page.locator(".inline-diff").inner_text()
        assert "17:45" in inline and "Version 3.03.1" in inline
        page.screenshot(path=shots / "compare.png", full_page=True)

        # sign in, then sign the change off
        page.goto(f"{base}/changes/{change_id}")
        page.click("#reviews a:has-text('Sign in')")
        page.fill("#token", token)
        page.click("form[action='/signin'] button")
        assert page.url == f"{base}/changes/{change_id}"
        assert "Signed in as alice" in page.locator("header").inner_text()
        page.check("input[value=acknowledged]")
        page.fill("#note", "Checked with legal: the new wording <b>matters</b>.")
        page.click(".review-form button")
        review = page.locator("#reviews .review").first
        assert "acknowledged" in review.inner_text() and "alice" in review.inner_text()
        assert "<b>matters</b>" in review.inner_text()
        page.screenshot(path=shots / "signed-off.png", full_page=True)

        cookie = next(c for c in page.context.cookies() if c["name"] == "monitor_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

        page.goto(f"{base}/models")
        assert page.locator("table.grid", has_text="claude-opus-4-1-20250805").count() == 2
        page.screenshot(path=shots / "models.png", full_page=True)

        api = httpx.get(f"{base}/api/changes/{change_id}").json()
        assert [(r["reviewer"], r["verdict"]) for r in api["reviews"]] == [
            ("alice", "acknowledged")
        ]
        (shots / "api-change.json").write_text(json.dumps(api, indent=2))

    assert not console_errors, console_errors  # no CSP violation, no failed load
    assert sorted(p.name for p in shots.glob("*.png")) == [
        "change.png", "compare.png", "models.png", "signed-off.png", "timeline.png", "watches.png"
    ]  # fmt: skip
