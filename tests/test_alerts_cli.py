"""`monitor alerts`, `monitor alerts --retry` and `monitor alerts test CHANNEL`, run through the
real command line against a real database and the local stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.config import load_config
from monitor.store.db import dispose_engines, open_engine
from tests.slack_server import (
    HOOK_PATH,
    HOOK_SECRET,
    WEBHOOK_PATH,
    Reply,
    SlackServer,
    add_change,
    write_watchlist,
)

pytestmark = pytest.mark.usefixtures("database_url")
CHANNELS = """
[channels.policy-team]
type = "slack"
webhook_url_env = "TEST_SLACK_WEBHOOK"

[channels.siem]
type = "webhook"
url_env = "TEST_HOOK_URL"
secret_env = "TEST_HOOK_SECRET"
"""


@pytest.fixture
def watchlist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer
) -> Iterator[Path]:
    monkeypatch.setenv("TEST_SLACK_WEBHOOK", slack.webhook_url)
    monkeypatch.setenv("TEST_HOOK_URL", slack.hook_url)
    monkeypatch.setenv("TEST_HOOK_SECRET", HOOK_SECRET)
    yield write_watchlist(tmp_path, CHANNELS)
    dispose_engines()


def _engine(watchlist: Path) -> Any:
    return open_engine(load_config(watchlist).database_url)


def test_alerts_lists_deliveries_and_retry_delivers_them(
    watchlist: Path, slack: SlackServer, capsys: Any
) -> None:
    engine = _engine(watchlist)
    change_id = add_change(engine, ("policy-team", "siem"), at=datetime.now(UTC))
    slack.script(HOOK_PATH, Reply(500))

    assert main(["-w", str(watchlist), "alerts"]) == 0
    listed = capsys.readouterr().out
    assert listed.count("pending") == 2 and "openai-deprecations" in listed

    assert main(["-w", str(watchlist), "alerts", "--retry"]) == 1  # the webhook failed
    out = capsys.readouterr().out
    assert out.startswith("1 sent, 1 to retry, 0 failed, 0 waiting\n")
    assert "channel 'siem'" in out and "HTTP 500" in out

    assert main(["-w", str(watchlist), "alerts", "--retry"]) == 0  # due now, despite backoff
    assert capsys.readouterr().out.startswith("1 sent, 0 to retry")
    assert len(slack.to(HOOK_PATH)) == 2 and len(slack.to(WEBHOOK_PATH)) == 1

    assert main(["-w", str(watchlist), "alerts", "--state", "sent", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert {(i["channel"], i["state"], i["change_id"]) for i in items} == {
        ("policy-team", "sent", change_id),
        ("siem", "sent", change_id),
    }
    assert main(["-w", str(watchlist), "alerts", "--state", "failed"]) == 0
    assert capsys.readouterr().out.strip() == "no deliveries"


def test_failed_deliveries_show_their_error(
    watchlist: Path, slack: SlackServer, capsys: Any
) -> None:
    watchlist.write_text("[defaults]\ndelivery_attempts = 1\n" + watchlist.read_text())
    add_change(_engine(watchlist), ("siem",), at=datetime.now(UTC) - timedelta(minutes=1))
    slack.script(HOOK_PATH, Reply(503, headers={"Retry-After": "120"}))
    assert main(["-w", str(watchlist), "alerts", "--retry"]) == 1
    capsys.readouterr()
    assert main(["-w", str(watchlist), "alerts", "--state", "failed"]) == 0
    out = capsys.readouterr().out
    assert "failed" in out
    assert "webhook answered HTTP 503 (failed after 1 attempt; retried every 1 h)" in out


def test_alerts_test_sends_to_one_channel(
    watchlist: Path, slack: SlackServer, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["-w", str(watchlist), "alerts", "test", "policy-team"]) == 0
    assert capsys.readouterr().out.strip() == "sent a test message to 'policy-team'"
    [hit] = slack.to(WEBHOOK_PATH)
    assert hit.json()["text"] == "Test message from monitor: channel policy-team is set up."

    assert main(["-w", str(watchlist), "alerts", "test", "siem"]) == 0
    assert capsys.readouterr().out.strip() == "sent a test message to 'siem' (ts evt-1)"
    [hook] = slack.to(HOOK_PATH)
    assert hook.verified and hook.json()["event"] == "test"

    assert main(["-w", str(watchlist), "alerts", "test", "console"]) == 0
    out = capsys.readouterr().err  # console alerts go to stderr, stdout stays for output
    assert "Test message from monitor: channel 'console' is set up." in out

    assert main(["-w", str(watchlist), "alerts", "test", "nowhere"]) == 2
    assert "no channel 'nowhere' (channels: console, policy-team, siem)" in capsys.readouterr().err

    monkeypatch.delenv("TEST_SLACK_WEBHOOK")
    assert main(["-w", str(watchlist), "alerts", "test", "policy-team"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "error: channel 'policy-team': environment variable TEST_SLACK_WEBHOOK is not set; "
        "export it\n"
    )
