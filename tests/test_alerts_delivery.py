"""The outbox sender against a local stand-in for Slack and a webhook receiver, with the real
slack-sdk clients and httpx, and a real SQLite file. Time is passed in, so backoff costs nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts import SenderSettings, deliver_due, list_deliveries
from monitor.config import Config, load_config
from monitor.store import outbox
from monitor.store.db import open_engine
from tests.slack_server import (
    CHANNEL_ID,
    HOOK_PATH,
    HOOK_SECRET,
    TOKEN,
    WEBHOOK_PATH,
    Reply,
    SlackServer,
    add_change,
    free_port,
    write_watchlist,
)

T0 = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("database_url")
FAST = SenderSettings(base_delay=10, max_delay=60, jitter=0, lease=30, timeout=5)
CHANNELS = """
[channels.policy-team]
type = "slack"
webhook_url_env = "TEST_SLACK_WEBHOOK"

[channels.platform]
type = "slack"
token_env = "TEST_SLACK_TOKEN"
channel = "C0TEST"
thread_updates = true

[channels.siem]
type = "webhook"
url_env = "TEST_HOOK_URL"
secret_env = "TEST_HOOK_SECRET"
"""


def _world(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    server: SlackServer,
    channels: str = CHANNELS,
    defaults: str = "",
) -> tuple[Config, Any]:
    monkeypatch.setenv("TEST_SLACK_WEBHOOK", server.webhook_url)
    monkeypatch.setenv("TEST_SLACK_TOKEN", TOKEN)
    monkeypatch.setenv("TEST_HOOK_URL", server.hook_url)
    monkeypatch.setenv("TEST_HOOK_SECRET", HOOK_SECRET)
    config = load_config(write_watchlist(tmp_path, channels, defaults))
    return config, open_engine(config.database_url)


def _send(config: Config, engine: Any, now: datetime, server: SlackServer, **kw: Any) -> Any:
    settings = SenderSettings(**{**FAST.__dict__, "slack_api_url": server.api_url})
    return deliver_due(config, engine, now=now, settings=settings, **kw)


def _only(engine: Any, channel: str | None = None) -> dict[str, Any]:
    items = [d for d in list_deliveries(engine) if channel in (None, d["channel"])]
    assert len(items) == 1, items
    return items[0]


def test_slack_webhook_delivers_once_and_records_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer
) -> None:
    config, engine = _world(tmp_path, monkeypatch, slack)
    change_id = add_change(engine, ("policy-team",), at=T0)

    summary = _send(config, engine, T0, slack)

    assert (summary.sent, summary.retrying, summary.failed) == (1, 0, 0) and summary.ok
    [hit] = slack.to(WEBHOOK_PATH)
    body = hit.json()
    assert body["text"] == "[major] OpenAI deprecations: gpt-4o retires on 2026-06-30; use gpt-4.1"
    assert body["blocks"][0]["type"] == "header" and body["unfurl_links"] is False
    delivery = _only(engine)
    assert delivery["change_id"] == change_id
    assert (delivery["state"], delivery["attempts"], delivery["last_error"]) == ("sent", 1, None)
    assert delivery["sent_at"] == T0.isoformat()

    again = _send(config, engine, T0 + timedelta(hours=1), slack)
    assert again.sent == 0 and len(slack.to(WEBHOOK_PATH)) == 1


def test_bot_replies_in_one_thread_per_watch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer
) -> None:
    config, engine = _world(tmp_path, monkeypatch, slack)
    first = add_change(engine, ("platform",), at=T0)
    _send(config, engine, T0, slack)
    second = add_change(engine, ("platform",), at=T0 + timedelta(minutes=1))
    other = add_change(
        engine, ("platform",), watch_id="anthropic-rsp", at=T0 + timedelta(minutes=1)
    )
    third = add_change(engine, ("platform",), at=T0 + timedelta(minutes=2))
    summary = _send(config, engine, T0 + timedelta(minutes=3), slack)

    assert summary.sent == 3
    posts = [hit.json() for hit in slack.to("/api/chat.postMessage")]
    assert [p["channel"] for p in posts] == ["C0TEST"] * 4
    root = slack.messages[0]["ts"]
    by_change = {d["change_id"]: d for d in list_deliveries(engine)}
    assert by_change[first]["remote_id"] == root and by_change[first]["thread_id"] == root
    assert "thread_ts" not in posts[0]
    for change_id in (second, third):
        assert by_change[change_id]["thread_id"] == root
        assert by_change[change_id]["remote_id"] != root
    assert [p.get("thread_ts") for p in posts[1:]].count(root) == 2
    assert by_change[other]["thread_id"] == by_change[other]["remote_id"] != root
    assert posts[0]["metadata"]["event_type"] == "monitor_delivery"


@pytest.mark.parametrize(
    ("channel", "path", "reply"),
    [
        ("policy-team", WEBHOOK_PATH, Reply(429, b"rate_limited", {"Retry-After": "30"})),
        (
            "platform",
            "/api/chat.postMessage",
            Reply(429, b'{"ok": false, "error": "ratelimited"}', {"Retry-After": "30"}),
        ),
        ("siem", HOOK_PATH, Reply(429, b"slow down", {"Retry-After": "30"})),
    ],
)
def test_429_waits_for_retry_after_then_delivers(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    slack: SlackServer,
    channel: str,
    path: str,
    reply: Reply,
) -> None:
    config, engine = _world(tmp_path, monkeypatch, slack)
    add_change(engine, (channel,), at=T0)
    slack.script(path, reply)

    first = _send(config, engine, T0, slack)
    delivery = _only(engine)
    assert (first.retrying, delivery["state"], delivery["attempts"]) == (1, "pending", 1)
    assert delivery["next_try_at"] == (T0 + timedelta(seconds=30)).isoformat()
    assert "429" in delivery["last_error"]

    early = _send(config, engine, T0 + timedelta(seconds=29), slack)
    assert early.sent == 0 and len(slack.to(path)) == 1  # Retry-After honoured

    late = _send(config, engine, T0 + timedelta(seconds=30), slack)
    assert late.sent == 1 and len(slack.to(path)) == 2
    assert _only(engine)["state"] == "sent"


def test_500s_then_success_is_delivered_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer
) -> None:
    config, engine = _world(tmp_path, monkeypatch, slack)
    add_change(engine, ("policy-team",), at=T0)
    slack.script(WEBHOOK_PATH, *[Reply(500, b"internal_error")] * 3)

    now = T0
    waits = []
    for _ in range(3):
        assert _send(config, engine, now, slack).retrying == 1
        delivery = _only(engine)
        assert "HTTP 500: internal_error" in delivery["last_error"]
        next_try = datetime.fromisoformat(delivery["next_try_at"])
        waits.append((next_try - now).total_seconds())
        now = next_try
    assert waits == [10, 20, 40]  # doubling backoff (jitter off in this test)

    assert _send(config, engine, now, slack).sent == 1
    assert _send(config, engine, now + timedelta(hours=2), slack).sent == 0
    assert len(slack.to(WEBHOOK_PATH)) == 4
    assert len(slack.messages) == 1  # Slack shows it once
    delivery = _only(engine)
    assert (delivery["state"], delivery["attempts"], delivery["last_error"]) == ("sent", 4, None)


def test_endpoint_down_for_a_while_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    down = SlackServer(free_port())  # not started: connection refused
    config, engine = _world(tmp_path, monkeypatch, down)
    add_change(engine, ("policy-team", "siem", "platform"), at=T0)

    now = T0
    for _ in range(3):
        summary = _send(config, engine, now, down)
        assert summary.retrying == 3 and summary.sent == 0
        now += timedelta(minutes=5)
    for delivery in list_deliveries(engine):
        assert delivery["state"] == "pending" and delivery["attempts"] == 3
        assert "refused" in delivery["last_error"].lower()
        assert str(down.port) not in delivery["last_error"]  # no URL (a secret) in the error
        assert TOKEN not in delivery["last_error"]

    with down:  # the endpoint is back
        summary = _send(config, engine, now, down)
        assert summary.sent == 3
        assert len(down.to(WEBHOOK_PATH)) == len(down.to(HOOK_PATH)) == 1
        assert len(down.to("/api/chat.postMessage")) == 1
    assert {d["state"] for d in list_deliveries(engine)} == {"sent"}


def test_failed_after_the_configured_attempts_then_retried_by_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer
) -> None:
    config, engine = _world(
        tmp_path, monkeypatch, slack, defaults="[defaults]\ndelivery_attempts = 2\n"
    )
    add_change(engine, ("siem",), at=T0)
    slack.script(HOOK_PATH, *[Reply(503, b"")] * 2)

    assert _send(config, engine, T0, slack).retrying == 1
    summary = _send(config, engine, T0 + timedelta(minutes=1), slack)
    assert summary.failed == 1 and not summary.ok
    delivery = _only(engine)
    assert delivery["state"] == "failed" and delivery["attempts"] == 2
    assert delivery["last_error"] == (
        "webhook answered HTTP 503 (failed after 2 attempts; retried every 1 h)"
    )
    assert list_deliveries(engine, "failed") == [delivery]  # visible, not dropped
    assert _send(config, engine, T0 + timedelta(minutes=30), slack).sent == 0  # not due yet

    revived = _send(config, engine, T0 + timedelta(minutes=30), slack, retry_now=True)
    assert revived.sent == 1 and _only(engine)["state"] == "sent"
    assert len(slack.to(HOOK_PATH)) == 3


def test_a_channel_with_a_missing_variable_waits_and_others_deliver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer
) -> None:
    config, engine = _world(tmp_path, monkeypatch, slack)
    monkeypatch.delenv("TEST_SLACK_WEBHOOK")
    assert config.missing_secrets() == [
        "channel 'policy-team': environment variable TEST_SLACK_WEBHOOK is not set; "
        "export it before running"
    ]
    add_change(engine, ("policy-team", "siem", "platform"), at=T0)

    summary = _send(config, engine, T0, slack)

    assert (summary.sent, summary.waiting) == (2, 1)
    assert summary.problems == [
        "channel 'policy-team': environment variable TEST_SLACK_WEBHOOK is not set; export it"
    ]
    waiting = _only(engine, "policy-team")
    assert (waiting["state"], waiting["attempts"]) == ("pending", 0)  # no attempt used
    assert "TEST_SLACK_WEBHOOK" in waiting["last_error"]
    assert _only(engine, "siem")["state"] == _only(engine, "platform")["state"] == "sent"

    monkeypatch.setenv("TEST_SLACK_WEBHOOK", slack.webhook_url)
    assert _send(config, engine, T0 + timedelta(minutes=2), slack).sent == 1
    assert len(slack.to(WEBHOOK_PATH)) == 1


def test_webhook_is_signed_and_carries_the_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer
) -> None:
    config, engine = _world(tmp_path, monkeypatch, slack)
    facts = ({"kind": "retirement", "model": "gpt-4o", "shutdown_date": "2026-06-30"},)
    change_id = add_change(engine, ("siem",), at=T0, facts=facts)
    assert _send(config, engine, T0, slack).sent == 1

    [hit] = slack.to(HOOK_PATH)
    assert hit.verified is True  # the receiver recomputed the HMAC over "<timestamp>.<body>"
    delivery = _only(engine)
    assert hit.headers["x-monitor-delivery"].startswith(f"{delivery['id']}.{change_id}.")
    assert delivery["remote_id"] == "evt-1"  # the receiver's id
    body = hit.json()
    assert body["event"] == "change" and body["change_id"] == change_id
    assert body["watch"]["url"] == "https://platform.example.com/docs/deprecations"
    assert body["facts"] == list(facts) and body["detected_at"] == T0.isoformat()
    assert body["diff_stats"] == {"lines_added": 2, "lines_removed": 1}
    tampered = hit.body.replace(b"gpt-4o", b"gpt-4x")
    assert slack.verify(hit.headers, tampered) is False


def test_digest_sends_one_message_per_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer
) -> None:
    channels = CHANNELS + '\n[channels.hourly]\ntype = "webhook"\nurl_env = "TEST_HOOK_URL"\n'
    channels += 'digest = "hourly"\n'
    config, engine = _world(tmp_path, monkeypatch, slack, channels)
    nine = T0.replace(minute=0)
    for minute in (5, 40):
        add_change(engine, ("hourly",), at=nine + timedelta(minutes=minute))
    add_change(engine, ("hourly",), at=nine + timedelta(minutes=70))

    early = _send(config, engine, nine + timedelta(minutes=50), slack)
    assert (early.sent, early.waiting) == (0, 2) and not slack.hits
    assert {d["next_try_at"] for d in list_deliveries(engine, "pending")} == {
        (nine + timedelta(hours=1)).isoformat(),  # the end of their hour
        (nine + timedelta(minutes=70)).isoformat(),  # not seen yet: not due
    }

    at_ten = _send(config, engine, nine + timedelta(minutes=75), slack)
    assert (at_ten.sent, at_ten.waiting) == (2, 1)
    [hit] = slack.to(HOOK_PATH)
    body = hit.json()
    assert body["event"] == "digest" and len(body["changes"]) == 2
    assert body["period"] == {
        "start": nine.isoformat(),
        "end": (nine + timedelta(hours=1)).isoformat(),
    }
    assert hit.headers["x-monitor-delivery"].startswith("digest-")

    at_eleven = _send(config, engine, nine + timedelta(hours=2), slack)
    assert at_eleven.sent == 1 and len(slack.to(HOOK_PATH)) == 2
    assert len(slack.to(HOOK_PATH)[1].json()["changes"]) == 1
    assert {d["state"] for d in list_deliveries(engine)} == {"sent"}


def test_slack_digest_is_one_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer
) -> None:
    channels = '[channels.daily]\ntype = "slack"\nwebhook_url_env = "TEST_SLACK_WEBHOOK"\n'
    config, engine = _world(tmp_path, monkeypatch, slack, channels + 'digest = "daily"\n')
    for hours in (0, 3, 9):
        add_change(engine, ("daily",), at=T0 + timedelta(hours=hours))
    assert _send(config, engine, T0 + timedelta(hours=10), slack).waiting == 3
    assert _send(config, engine, T0 + timedelta(days=1), slack).sent == 3
    [hit] = slack.to(WEBHOOK_PATH)
    assert hit.json()["text"] == "Digest: 3 changes · 2026-03-02"


def test_console_channel_prints_one_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer, capsys: Any
) -> None:
    config, engine = _world(tmp_path, monkeypatch, slack)
    assert "console" in config.channels  # exists with no set-up
    add_change(engine, ("console",), at=T0)
    assert _send(config, engine, T0, slack).sent == 1
    out = capsys.readouterr().err
    assert out.startswith("[major] OpenAI deprecations — model_retirement\n")
    assert "gpt-4o retires on 2026-06-30; use gpt-4.1" in out


def test_a_wrong_token_is_an_error_without_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer
) -> None:
    config, engine = _world(tmp_path, monkeypatch, slack)
    monkeypatch.setenv("TEST_SLACK_TOKEN", "xoxb-wrong-secret")
    add_change(engine, ("platform",), at=T0)
    summary = _send(config, engine, T0, slack)
    assert summary.retrying == 1
    error = _only(engine)["last_error"]
    assert error == "Slack chat.postMessage: invalid_auth (HTTP 200)"
    assert "xoxb" not in json.dumps(summary.problems)


def test_claims_are_exclusive_and_a_lease_runs_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer
) -> None:
    config, engine = _world(tmp_path, monkeypatch, slack)
    add_change(engine, ("siem",), at=T0)
    [due] = outbox.due(engine, T0)
    ids = [int(due.delivery.id or 0)]
    lease = timedelta(seconds=30)
    [claimed] = outbox.claim(engine, ids, T0, lease)
    assert (claimed.attempts, claimed.recovered) == (1, False)
    assert outbox.claim(engine, ids, T0, lease) == []  # a second sender gets nothing
    assert outbox.due(engine, T0 + timedelta(seconds=29)) == []
    [again] = outbox.claim(engine, ids, T0 + lease, lease)  # the first sender died
    assert (again.attempts, again.recovered) == (2, True)
    assert outbox.mark_sent(engine, ids, T0, remote_id="x") == 1
    assert outbox.mark_sent(engine, ids, T0, remote_id="y") == 0  # marked once
    assert _only(engine)["remote_id"] == "x"
    assert CHANNEL_ID  # the stand-in's channel id, used by the crash tests


def test_a_stored_word_level_diff_reaches_slack_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer
) -> None:
    from monitor.diff import diff_texts, diff_to_json

    config, engine = _world(tmp_path, monkeypatch, slack)
    old = "## Upcoming retirements\ngpt-4o shutdown: 2025-12-31\n"
    new = "## Upcoming retirements\ngpt-4o shutdown: 2026-06-30 <!channel> <@U123>\n"
    facts = ({"kind": "retirement", "model": "gpt-4o", "shutdown_date": "2026-06-30"},)
    add_change(
        engine,
        ("platform",),
        at=T0,
        summary="gpt-4o <!here> retires",
        facts=facts,
        diff_json=diff_to_json(diff_texts(old, new)),
    )
    assert _send(config, engine, T0, slack).sent == 1

    [hit] = slack.to("/api/chat.postMessage")
    posted = json.dumps(hit.json()["blocks"], ensure_ascii=False)
    assert "gpt-4o shutdown: ~2025-12-31~ *2026-06-30 &lt;!channel&gt; &lt;@U123&gt;*" in posted
    assert "gpt-4o &lt;!here&gt; retires" in posted and "*Shutdown*\\n2026-06-30" in posted
    assert "<!" not in posted and "<@" not in posted
    assert hit.json()["text"] == "[major] OpenAI deprecations: gpt-4o &lt;!here&gt; retires"


def test_a_recovered_delivery_waiting_for_a_secret_stays_recoverable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer
) -> None:
    config, engine = _world(tmp_path, monkeypatch, slack)
    add_change(engine, ("platform",), at=T0)
    [due] = outbox.due(engine, T0)
    ids = [int(due.delivery.id or 0)]
    outbox.claim(engine, ids, T0, timedelta(seconds=30))  # a sender that then died
    monkeypatch.delenv("TEST_SLACK_TOKEN")

    assert _send(config, engine, T0 + timedelta(minutes=1), slack).waiting == 1
    waiting = _only(engine)
    assert (waiting["state"], waiting["attempts"]) == ("sending", 1)
    assert "TEST_SLACK_TOKEN" in waiting["last_error"]

    monkeypatch.setenv("TEST_SLACK_TOKEN", TOKEN)
    assert _send(config, engine, T0 + timedelta(minutes=5), slack).sent == 1
    assert len(slack.to("/api/conversations.history")) == 1  # looked before posting
    assert (_only(engine)["state"], _only(engine)["attempts"]) == ("sent", 2)
