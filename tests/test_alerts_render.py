"""Slack messages, webhook bodies and console blocks built from a change: structure, limits, facts,
and page text that must reach Slack as plain text."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from monitor.alerts import signature
from monitor.alerts.payload import Message, console_text, webhook_body
from monitor.models import DiffStats, Hunk, Segment, TextDiff
from monitor.render_slack import (
    Alert,
    change_message,
    clip,
    diff_excerpt,
    digest_message,
    escape,
)

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
URL = "https://platform.example.com/docs/deprecations"
HOSTILE = "<!channel> <!here|here> <@U123ABC> <#C0123|general> <http://evil.example|click me> & co"
RETIREMENT = {
    "kind": "retirement",
    "model": "gpt-4o",
    "provider": "openai",
    "surface": "api",
    "shutdown_date": "2026-06-30",
    "replacement": "gpt-4.1",
}
VERSION = {"kind": "version", "from": "3.0", "to": "3.1", "effective_date": "2026-04-01"}


def _diff(hunks: list[Hunk]) -> TextDiff:
    return TextDiff(tuple(hunks), DiffStats(1, 1, 1, 10, 10), ("## Upcoming retirements",))


def _alert(**overrides: Any) -> Alert:
    values: dict[str, Any] = {
        "change_id": 7,
        "watch_id": "openai-deprecations",
        "watch_name": "OpenAI deprecations",
        "url": URL,
        "severity": "major",
        "labels": ("model_retirement", "date_change"),
        "summary": "gpt-4o retires on 2026-06-30; replacement gpt-4.1",
        "detected_at": AT,
        "facts": (RETIREMENT, VERSION),
        "sections": ("## Upcoming retirements",),
        "lines_added": 2,
        "lines_removed": 1,
        "diff": _diff(
            [
                Hunk(
                    "## Upcoming retirements",
                    3,
                    3,
                    ("gpt-4o shutdown: 2025-12-31",),
                    ("gpt-4o shutdown: 2026-06-30",),
                    (
                        Segment("equal", "gpt-4o shutdown: "),
                        Segment("delete", "2025-12-31"),
                        Segment("insert", "2026-06-30"),
                    ),
                )
            ]
        ),
    }
    values.update(overrides)
    return Alert(**values)


def _texts(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every text object in the blocks."""
    found = []
    for block in blocks:
        if "text" in block:
            found.append(block["text"])
        found += block.get("fields", [])
        found += block.get("elements", [])
    return found


def _assert_valid(blocks: list[dict[str, Any]], text: str) -> None:
    """Valid for Slack: what the SDK's own block models accept, and Slack's size limits."""
    assert 0 < len(blocks) <= 50
    assert text and len(text) <= 3000
    for raw in blocks:
        parsed = Block.parse(raw)
        assert parsed is not None, raw
        parsed.validate_json()  # raises on a limit Slack enforces (section 3000, header 150…)
        assert parsed.to_dict() == raw  # nothing the SDK does not know
    for obj in _texts(blocks):
        assert len(obj["text"]) <= 3000
        if obj["type"] == "mrkdwn":
            assert obj["verbatim"] is True  # no automatic @here / #channel / URL parsing


def test_change_message_is_valid_and_carries_the_facts() -> None:
    blocks, text = change_message(_alert())
    _assert_valid(blocks, text)

    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == ":large_orange_circle: MAJOR: OpenAI deprecations"
    everything = json.dumps(blocks, ensure_ascii=False)
    assert f"<{URL}|OpenAI deprecations>" in everything  # watch name linked to the page
    assert "`model_retirement` `date_change`" in everything
    assert "gpt-4o retires on 2026-06-30; replacement gpt-4.1" in everything
    fields = [f["text"] for b in blocks for f in b.get("fields", [])]
    assert "*Model*\ngpt-4o" in fields
    assert "*Shutdown*\n2026-06-30" in fields
    assert "*Replacement*\ngpt-4.1" in fields
    assert "*Version*\n3.0 → 3.1" in fields
    assert "*Effective*\n2026-04-01" in fields
    # the word-level diff: removed struck through, added in bold, under its section
    assert "gpt-4o shutdown: ~2025-12-31~ *2026-06-30*" in everything
    assert "_Upcoming retirements_" in everything
    assert "change #7 · +2 −1 lines · 2026-03-02 09:30 UTC" in everything
    assert text == "[major] OpenAI deprecations: gpt-4o retires on 2026-06-30; replacement gpt-4.1"


def test_hostile_page_text_reaches_slack_as_plain_text() -> None:
    hostile_diff = _diff(
        [
            Hunk(
                f"## {HOSTILE}",
                1,
                1,
                (HOSTILE,),
                (f"{HOSTILE} new",),
                (Segment("equal", HOSTILE), Segment("insert", " <!everyone> new")),
            )
        ]
    )
    alert = _alert(
        summary=f"summary {HOSTILE}",
        facts=({"kind": "retirement", "model": HOSTILE, "replacement": "<@U999>"},),
        sections=(HOSTILE,),
        diff=hostile_diff,
    )
    blocks, text = change_message(alert)
    _assert_valid(blocks, text)
    everything = json.dumps(blocks, ensure_ascii=False) + text
    ours = f"<{URL}|OpenAI deprecations>"
    assert everything.count(ours) == 1
    rest = everything.replace(ours, "")
    assert "<" not in rest and ">" not in rest  # no mention, channel, link or special command
    assert "&lt;!channel&gt;" in rest and "&lt;@U123ABC&gt;" in rest
    assert "&lt;http://evil.example|click me&gt;" in rest
    assert "&lt;!everyone&gt;" in rest and "&lt;@U999&gt;" in rest
    assert "&amp; co" in rest and "&amp;amp;" not in rest  # escaped once


def test_escape_and_clip() -> None:
    assert escape("a < b && c > d") == "a &lt; b &amp;&amp; c &gt; d"
    clipped = clip("&" * 5000, 3000)
    assert len(clipped) <= 3000 and clipped.endswith("…")
    assert re.fullmatch(r"(&amp;)+…", clipped)  # never cut inside an entity
    assert clip("short", 3000) == "short"


def test_a_watch_link_cannot_be_broken_by_its_url() -> None:
    blocks, _ = change_message(_alert(url="https://example.com/a|b>c"))
    assert "<https://example.com/a%7Cb&gt;c|OpenAI deprecations>" in json.dumps(blocks)


def test_long_changes_are_trimmed_to_slack_limits() -> None:
    line = "word " * 400
    hunks = [
        Hunk(f"## Section {i}", i, i, (line,), (line + "x",), (Segment("insert", line),))
        for i in range(80)
    ]
    facts = tuple({"kind": "entry", "title": "t" * 5000, "url": f"u{i}"} for i in range(30))
    alert = _alert(watch_name="W" * 400, summary="s" * 9000, facts=facts, diff=_diff(hunks))
    blocks, text = change_message(alert)
    _assert_valid(blocks, text)
    assert len(blocks[0]["text"]["text"]) == 150
    assert any("more change" in json.dumps(b) for b in blocks)


def test_diff_excerpt_marks_words_and_keeps_whitespace_outside_marks() -> None:
    diff = _diff(
        [Hunk(None, 1, 1, ("a b",), ("a c",), (Segment("equal", "a "), Segment("delete", "b "),
                                                Segment("insert", "c "), Segment("equal", "d")))]
    )  # fmt: skip
    assert diff_excerpt(diff) == "a ~b~ *c* d"
    added_only = _diff([Hunk(None, 1, 1, (), ("new <line>",), ())])
    assert diff_excerpt(added_only) == "*new &lt;line&gt;*"


@pytest.mark.parametrize("count", [1, 3, 120])
def test_digest_message_is_valid(count: int) -> None:
    alerts = [_alert(change_id=i, summary=f"change {i} {HOSTILE}") for i in range(count)]
    blocks, text = digest_message(alerts, "2026-03-02")
    _assert_valid(blocks, text)
    assert text == f"Digest: {count} change{'s' if count > 1 else ''} · 2026-03-02"
    shown = sum("change " in json.dumps(b) and b["type"] == "section" for b in blocks)
    assert shown == min(count, 48)
    if count > 48:
        assert f"and {count - 48} more" in json.dumps(blocks[-1])


def test_webhook_body_and_signature() -> None:
    message = Message(key="12.7.1772443800", alerts=(_alert(),))
    body = webhook_body(message)
    data = json.loads(body)
    assert data["schema_version"] == 1 and data["event"] == "change"
    assert data["delivery"] == "12.7.1772443800"
    assert data["change_id"] == 7
    assert data["watch"] == {"id": "openai-deprecations", "name": "OpenAI deprecations", "url": URL}
    assert data["labels"] == ["model_retirement", "date_change"]
    assert data["severity"] == "major"
    assert data["facts"] == [RETIREMENT, VERSION]
    assert data["diff_stats"]["lines_added"] == 1 and data["diff_stats"]["chars_added"] == 10
    assert data["sections"] == ["## Upcoming retirements"]
    assert data["detected_at"] == "2026-03-02T09:30:00+00:00"
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("k", "1700000000", body) == f"sha256={expected}"


def test_console_block_is_readable_and_strips_control_characters() -> None:
    alert = _alert(summary="retires \x1b[31mnow\x1b[0m", diff=None)
    text = console_text(Message(key="1", alerts=(alert,)))
    assert "\x1b" not in text
    lines = text.splitlines()
    assert lines[0] == "[major] OpenAI deprecations — model_retirement, date_change"
    assert lines[1].strip() == URL
    assert "Model: gpt-4o" in text and "Shutdown: 2026-06-30" in text
    assert "Replacement: gpt-4.1" in text and "Version: 3.0 → 3.1" in text


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    import random

    from monitor.alerts import SenderSettings, backoff

    settings = SenderSettings(base_delay=60, max_delay=3600, jitter=0.5)
    rng = random.Random(7)
    for attempts, full in [(1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (20, 3600)]:
        waits = [backoff(attempts, settings, rng) for _ in range(200)]
        assert all(full * 0.5 <= w <= full for w in waits)
        assert max(waits) - min(waits) > full * 0.3  # spread, so senders do not stampede


def test_retry_after_reads_seconds_and_http_dates() -> None:
    from email.utils import format_datetime

    from monitor.alerts.channels import retry_after

    assert retry_after("30") == 30 and retry_after("1.5") == 1.5
    assert retry_after("-4") == 0 and retry_after("9999999") == 86400
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    wait = retry_after(in_a_minute)
    assert wait is not None and 55 <= wait <= 60
    assert retry_after("soon") is None and retry_after(None) is None
