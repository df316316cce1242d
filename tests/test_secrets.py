"""Secrets never leak: a channel's error, in the summary and in delivery.last_error, names the
environment variable and the host, never the secret's value or its path. Real slack-sdk and
httpx clients against the local stand-in."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts import SenderSettings, deliver_due, list_deliveries
from monitor.config import load_config
from monitor.store.db import open_engine
from tests.slack_server import (
    HOOK_PATH,
    WEBHOOK_PATH,
    SlackServer,
    add_change,
    free_port,
    write_watchlist,
)

T0 = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
CHANNELS = """
[channels.policy-team]
type = "slack"
webhook_url_env = "TEST_SLACK_WEBHOOK"

[channels.siem]
type = "webhook"
url_env = "TEST_HOOK_URL"
"""
SECRET_PARTS = ("T0000", "B0000", "incoming-secret-part", "/hook", "s3cr3t-path")


def _send(tmp_path: Path, slack: SlackServer, channel: str) -> tuple[Any, dict[str, Any]]:
    config = load_config(write_watchlist(tmp_path, CHANNELS))
    engine = open_engine(config.database_url)
    add_change(engine, (channel,), at=T0)
    settings = SenderSettings(base_delay=10, jitter=0, timeout=5, slack_api_url=slack.api_url)
    summary = deliver_due(config, engine, now=T0, settings=settings)
    [delivery] = list_deliveries(engine)
    return summary, delivery


def _no_secret(summary: Any, delivery: dict[str, Any]) -> str:
    error = str(delivery["last_error"])
    said = error + json.dumps(summary.problems)
    for part in SECRET_PARTS:
        assert part not in said, said
    return error


@pytest.mark.parametrize("stray", [" ", "\n", "\t "])
def test_a_stray_space_around_a_webhook_url_still_delivers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer, stray: str
) -> None:
    monkeypatch.setenv("TEST_SLACK_WEBHOOK", slack.webhook_url + stray)
    monkeypatch.setenv("TEST_HOOK_URL", stray + slack.hook_url)
    summary, delivery = _send(tmp_path, slack, "policy-team")
    assert summary.sent == 1 and delivery["state"] == "sent"
    assert len(slack.to(WEBHOOK_PATH)) == 1


@pytest.mark.parametrize(
    "value",
    [
        "{base}/services/T0000/B0000/incoming secret-part",  # a space inside the path
        "{base}/services/T0000/B0000/incoming-secret-part\x7f",  # a control character
        "{base}:notaport/services/T0000/B0000/incoming-secret-part",
    ],
)
def test_a_broken_slack_webhook_url_names_the_variable_and_the_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer, value: str
) -> None:
    monkeypatch.setenv("TEST_SLACK_WEBHOOK", value.format(base=f"http://127.0.0.1:{slack.port}"))
    monkeypatch.setenv("TEST_HOOK_URL", slack.hook_url)
    summary, delivery = _send(tmp_path, slack, "policy-team")
    assert delivery["state"] == "pending"
    error = _no_secret(summary, delivery)
    assert "$TEST_SLACK_WEBHOOK" in error and "127.0.0.1" in error


@pytest.mark.parametrize(
    "value",
    [
        "http://127.0.0.1:{port}/hook/s3cr3t-path",  # nobody listens there
        "http://127.0.0.1:{port}/hook/s3cr3t path",
        "htp://127.0.0.1:{port}/hook/s3cr3t-path",
    ],
)
def test_a_webhook_that_fails_names_the_variable_and_the_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackServer, value: str
) -> None:
    monkeypatch.setenv("TEST_SLACK_WEBHOOK", slack.webhook_url)
    monkeypatch.setenv("TEST_HOOK_URL", value.format(port=free_port()))
    summary, delivery = _send(tmp_path, slack, "siem")
    assert delivery["state"] == "pending" and not slack.to(HOOK_PATH)
    error = _no_secret(summary, delivery)
    assert "$TEST_HOOK_URL" in error and "127.0.0.1" in error
