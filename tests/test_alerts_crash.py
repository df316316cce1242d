"""A sender killed after the endpoint took the message but before it recorded `sent`: the next
sender must not lose the alert, and sends it twice only where the channel gives no way to tell.

The sender runs in a subprocess; the stand-in takes the message and never answers; the test
SIGKILLs the sender, then runs a fresh one once the dead sender's lease has run out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.alerts import SenderSettings, deliver_due, list_deliveries
from monitor.config import load_config
from monitor.store.db import open_engine
from tests.slack_server import (
    HOOK_PATH,
    HOOK_SECRET,
    TOKEN,
    WEBHOOK_PATH,
    Reply,
    SlackServer,
    add_change,
    write_watchlist,
)

pytestmark = pytest.mark.usefixtures("database_url")
ROOT = Path(__file__).resolve().parents[1]
SENDER = """
import sys
from monitor.alerts import SenderSettings, deliver_due
from monitor.config import load_config
from monitor.store.db import open_engine

config = load_config(sys.argv[1])
deliver_due(config, open_engine(config.database_url), settings=SenderSettings(
    slack_api_url=sys.argv[2], timeout=60))
"""
CHANNELS = """
[channels.incoming]
type = "slack"
webhook_url_env = "TEST_SLACK_WEBHOOK"

[channels.bot]
type = "slack"
token_env = "TEST_SLACK_TOKEN"
channel = "C0TEST"
thread_updates = true

[channels.bot-by-name]
type = "slack"
token_env = "TEST_SLACK_TOKEN"
channel = "#model-lifecycle"

[channels.hook]
type = "webhook"
url_env = "TEST_HOOK_URL"
secret_env = "TEST_HOOK_SECRET"
"""
POST = "/api/chat.postMessage"


def _kill_mid_delivery(watchlist: Path, slack: SlackServer, path: str, seen: int) -> None:
    slack.script(path, Reply(hang=True))
    sender = subprocess.Popen(
        [sys.executable, "-c", SENDER, str(watchlist), slack.api_url],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert slack.wait_for(path, seen + 1, timeout=20), "the sender never sent"
    finally:
        os.kill(sender.pid, signal.SIGKILL)
        _, err = sender.communicate(timeout=10)
    assert sender.returncode == -signal.SIGKILL, err.decode()


@pytest.mark.parametrize(
    ("channel", "path", "threaded", "copies"),
    [
        ("bot", POST, False, 1),  # found by its metadata key: not posted again
        ("bot", POST, True, 1),  # same, in the watch's thread
        ("bot-by-name", POST, False, 2),  # Slack will not look up a name: posted again
        ("incoming", WEBHOOK_PATH, False, 2),  # nothing to look in: posted again
        ("hook", HOOK_PATH, False, 2),  # sent again, same X-Monitor-Delivery id
    ],
)
def test_a_sender_killed_mid_delivery_loses_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    slack: SlackServer,
    channel: str,
    path: str,
    threaded: bool,
    copies: int,
) -> None:
    monkeypatch.setenv("TEST_SLACK_WEBHOOK", slack.webhook_url)
    monkeypatch.setenv("TEST_SLACK_TOKEN", TOKEN)
    monkeypatch.setenv("TEST_HOOK_URL", slack.hook_url)
    monkeypatch.setenv("TEST_HOOK_SECRET", HOOK_SECRET)
    watchlist = write_watchlist(tmp_path, CHANNELS)
    config = load_config(watchlist)
    engine = open_engine(config.database_url)
    settings = SenderSettings(slack_api_url=slack.api_url)
    start = datetime.now(UTC) - timedelta(minutes=1)
    if threaded:  # a first alert opens the watch's thread
        add_change(engine, (channel,), at=start - timedelta(minutes=1))
        assert deliver_due(config, engine, settings=settings).sent == 1
    before = len(slack.messages)
    change_id = add_change(engine, (channel,), at=start)

    _kill_mid_delivery(watchlist, slack, path, len(slack.to(path)))

    [stuck] = [d for d in list_deliveries(engine) if d["change_id"] == change_id]
    assert (stuck["state"], stuck["attempts"]) == ("sending", 1)  # visible, not lost
    assert deliver_due(config, engine, settings=settings).sent == 0  # still leased
    later = datetime.now(UTC) + timedelta(seconds=settings.lease + 1)

    summary = deliver_due(config, engine, now=later, settings=settings)

    assert summary.sent == 1, summary.describe()
    [done] = [d for d in list_deliveries(engine) if d["change_id"] == change_id]
    assert (done["state"], done["attempts"]) == ("sent", 2)
    hits = slack.to(path)[-copies:]
    assert len(slack.to(path)) == before + copies
    if path != HOOK_PATH:
        assert len(slack.messages) == before + copies
    if channel == "bot":
        assert done["remote_id"] == slack.messages[-1]["ts"]  # the message already posted
        looked = "/api/conversations.replies" if threaded else "/api/conversations.history"
        assert len(slack.to(looked)) == 1
        if threaded:
            assert done["thread_id"] == slack.messages[0]["ts"] == hits[0].json()["thread_ts"]
    if path == HOOK_PATH:  # a receiver can drop the second by its id
        ids = {hit.headers["x-monitor-delivery"] for hit in hits}
        assert len(ids) == 1 and all(hit.verified for hit in hits)


def test_a_sender_killed_after_marking_one_and_claiming_the_next_loses_neither(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer
) -> None:
    """The sender marks a delivery sent and claims the next in one transaction: killed while
    sending that next one, the first stays sent (once) and the next is sent after its lease."""
    monkeypatch.setenv("TEST_HOOK_URL", slack.hook_url)
    monkeypatch.setenv("TEST_HOOK_SECRET", HOOK_SECRET)
    watchlist = write_watchlist(tmp_path, CHANNELS)
    config = load_config(watchlist)
    engine = open_engine(config.database_url)
    start = datetime.now(UTC) - timedelta(minutes=1)
    first = add_change(engine, ("hook",), at=start - timedelta(seconds=1))
    second = add_change(engine, ("hook",), at=start)
    slack.script(HOOK_PATH, Reply())  # the first is answered; the second hangs

    _kill_mid_delivery(watchlist, slack, HOOK_PATH, 1)

    states = {d["change_id"]: (d["state"], d["attempts"]) for d in list_deliveries(engine)}
    assert states == {first: ("sent", 1), second: ("sending", 1)}
    later = datetime.now(UTC) + timedelta(seconds=SenderSettings().lease + 1)
    summary = deliver_due(config, engine, now=later, settings=SenderSettings())
    assert summary.sent == 1, summary.describe()
    states = {d["change_id"]: (d["state"], d["attempts"]) for d in list_deliveries(engine)}
    assert states == {first: ("sent", 1), second: ("sent", 2)}
    assert len(slack.to(HOOK_PATH)) == 3  # the first once, the second twice (same id)
