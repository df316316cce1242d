"""Alerts always go out: `check` delivers what is due whatever its output flags, and a channel
that stays down keeps being retried on a slow cadence until delivery_max_age, then is reported
dead on the other channels. Real local servers, the real slack-sdk client, real SQLite."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts import SenderSettings, deliver_due, list_deliveries
from monitor.cli import main
from monitor.config import load_config
from monitor.store import queries
from monitor.store.db import open_engine
from tests.pageserver import PageServer, Response
from tests.slack_server import (
    HOOK_PATH,
    HOOK_SECRET,
    WEBHOOK_PATH,
    Reply,
    SlackServer,
    add_change,
    write_watchlist,
)

POLICY = (
    "<main><h1>Usage policy</h1><p>Version {v}. You may not use the models for {use}.</p></main>"
)
T0 = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
FAST = SenderSettings(base_delay=10, max_delay=60, jitter=0, lease=30, timeout=5)


def _page(server: PageServer, version: str, use: str) -> None:
    server.route("/policy", Response(body=POLICY.format(v=version, use=use).encode()))


def test_check_json_and_a_check_after_no_alerts_deliver(
    tmp_path: Path,
    page_server: PageServer,
    slack: SlackServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TEST_SLACK_WEBHOOK", slack.webhook_url)
    watchlist = tmp_path / "watchlist.toml"
    watchlist.write_text(
        '[channels.policy-team]\ntype = "slack"\nwebhook_url_env = "TEST_SLACK_WEBHOOK"\n\n'
        f'[[watch]]\nid = "usage"\nurl = "{page_server.url("/policy")}"\nkind = "policy"\n',
        encoding="utf-8",
    )
    args = ["--watchlist", str(watchlist), "check", "--no-progress"]
    _page(page_server, "1.0", "weapons")
    assert main(args) == 0
    capsys.readouterr()

    _page(page_server, "2.0", "weapons or surveillance")
    assert main([*args, "--json"]) == 0
    out = capsys.readouterr()
    [line] = [json.loads(item) for item in out.out.splitlines()]  # stdout stays JSON lines
    assert line["outcome"] == "changed"
    assert len(slack.to(WEBHOOK_PATH)) == 1  # --json delivered
    assert "Usage policy" in out.err or "usage" in out.err  # the console channel, on stderr

    _page(page_server, "3.0", "weapons, surveillance or fraud")
    assert main([*args, "--no-alerts"]) == 0
    assert len(slack.to(WEBHOOK_PATH)) == 1
    assert {
        d["state"] for d in list_deliveries(open_engine(load_config(watchlist).database_url))
    } >= {"pending"}
    assert main(args) == 0  # nothing new on the page: what was pending goes out
    assert len(slack.to(WEBHOOK_PATH)) == 2
    engine = open_engine(load_config(watchlist).database_url)
    assert {d["state"] for d in list_deliveries(engine)} == {"sent"}


CHANNELS = """
[channels.siem]
type = "webhook"
url_env = "TEST_HOOK_URL"
secret_env = "TEST_HOOK_SECRET"

[channels.policy-team]
type = "slack"
webhook_url_env = "TEST_SLACK_WEBHOOK"
labels = ["model_launch"]
"""


def _world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer) -> Any:
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    monkeypatch.setenv("TEST_SLACK_WEBHOOK", slack.webhook_url)
    monkeypatch.setenv("TEST_HOOK_URL", slack.hook_url)
    monkeypatch.setenv("TEST_HOOK_SECRET", HOOK_SECRET)
    defaults = '[defaults]\ndelivery_attempts = 2\ndelivery_max_age = "2d"\n'
    path = write_watchlist(tmp_path, CHANNELS, defaults)
    config = load_config(path)
    return path, config, open_engine(config.database_url)


def _send(config: Any, engine: Any, now: datetime, slack: SlackServer) -> Any:
    settings = SenderSettings(**{**FAST.__dict__, "slack_api_url": slack.api_url})
    return deliver_due(config, engine, now=now, settings=settings)


def test_a_failed_delivery_is_retried_hourly_and_delivers_when_the_channel_is_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer
) -> None:
    _path, config, engine = _world(tmp_path, monkeypatch, slack)
    add_change(engine, ("siem",), at=T0)
    slack.script(HOOK_PATH, *[Reply(503, b"")] * 5)
    _send(config, engine, T0, slack)
    assert _send(config, engine, T0 + timedelta(minutes=1), slack).failed == 1
    assert list_deliveries(engine)[0]["state"] == "failed"
    assert _send(config, engine, T0 + timedelta(minutes=30), slack).failed == 0  # slow cadence
    assert len(slack.to(HOOK_PATH)) == 2
    for hour in (1, 2, 3):  # still down: one attempt an hour, still failed
        assert _send(config, engine, T0 + timedelta(hours=hour, minutes=2), slack).failed == 1
    assert len(slack.to(HOOK_PATH)) == 5
    back = _send(config, engine, T0 + timedelta(hours=4, minutes=3), slack)  # up again
    assert back.sent == 1 and list_deliveries(engine)[0]["state"] == "sent"


def test_after_max_age_failed_stays_visible_and_the_other_channels_hear_it_is_dead(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    slack: SlackServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, config, engine = _world(tmp_path, monkeypatch, slack)
    add_change(engine, ("siem",), at=T0)
    slack.script(HOOK_PATH, *[Reply(503, b"")] * 200)
    now = T0
    while now < T0 + timedelta(days=2):
        _send(config, engine, now, slack)
        now += timedelta(minutes=20)
    tries = len(slack.to(HOOK_PATH))
    assert 2 + 46 <= tries <= 2 + 49  # about one an hour for two days
    assert not slack.to(WEBHOOK_PATH)

    summary = _send(config, engine, T0 + timedelta(days=2, minutes=5), slack)
    assert any("channel 'siem' is dead" in line for line in summary.problems)
    [dead] = slack.to(WEBHOOK_PATH)  # the other channel, whatever its label filter
    assert "channel 'siem' is dead" in dead.json()["text"]
    assert "webhook answered HTTP 503" in dead.json()["text"]
    [siem] = [d for d in list_deliveries(engine) if d["channel"] == "siem"]
    assert siem["state"] == "failed" and siem["last_error"].endswith(
        "no more retries: older than delivery_max_age"
    )
    [event] = [c for c in queries.changes(engine) if "delivery_problem" in c.labels]
    assert event.severity == "major"

    _send(config, engine, T0 + timedelta(days=4), slack)  # no more tries, no second alert
    assert len(slack.to(HOOK_PATH)) == tries  # the dead-channel alert skips the dead channel
    assert len(slack.to(WEBHOOK_PATH)) == 1

    capsys.readouterr()
    assert main(["--watchlist", str(path), "alerts", "--state", "failed"]) == 0
    assert "siem" in capsys.readouterr().out
    assert main(["--watchlist", str(path), "status"]) == 0
    assert "failed deliveries: siem 1" in capsys.readouterr().out


def test_a_plain_check_retries_a_failed_delivery_whose_hour_has_come(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    slack: SlackServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, config, engine = _world(tmp_path, monkeypatch, slack)
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    add_change(engine, ("siem",), at=two_hours_ago)
    slack.script(HOOK_PATH, *[Reply(503, b"")] * 2)
    _send(config, engine, two_hours_ago, slack)
    assert _send(config, engine, two_hours_ago + timedelta(minutes=1), slack).failed == 1
    path.write_text(path.read_text().replace('url = "https://', 'url = "http://127.0.0.1:9/'))
    assert (
        main(["--watchlist", str(path), "check", "--no-progress", "--watch", "anthropic-rsp"]) == 1
    )
    assert "1 sent" in capsys.readouterr().err  # the page failed; the alert went out anyway
    assert [d["state"] for d in list_deliveries(engine)] == ["sent"]
