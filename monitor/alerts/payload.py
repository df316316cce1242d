"""What a message says, for each channel type: alerts from stored changes, the webhook JSON body
and its signature, the console block, and the listing of `monitor alerts`. Pure."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.config import Config
from monitor.models import TextDiff
from monitor.render_slack import Alert, fact_lines
from monitor.wording import plural

SCHEMA_VERSION = 1
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # keeps \t and \n


@dataclass(frozen=True)
class Message:
    """One message to one channel: a change, a digest of changes, or a test."""

    key: str  # stable across attempts: the X-Monitor-Delivery id, the Slack metadata key
    alerts: tuple[Alert, ...] = ()
    period: tuple[datetime, datetime] | None = None  # a digest's period
    test_channel: str | None = None

    @property
    def period_label(self) -> str:
        if self.period is None:
            return ""
        start, end = self.period
        if end - start <= timedelta(hours=1):
            return start.strftime("%Y-%m-%d %H:00 UTC")
        return start.strftime("%Y-%m-%d")


def _diff(data: dict[str, Any]) -> TextDiff | None:
    if not data:
        return None
    from monitor.diff import diff_from_json

    try:
        return diff_from_json(data)
    except (KeyError, TypeError, ValueError):
        return None


def alert_from(config: Config, change: Any, url: str) -> Alert:
    """The alert for a stored change (a ChangeRow) of the watch at `url`."""
    watch_id = change.watch_id
    watch = next((w for w in config.watches if w.id == watch_id), None)
    base_url = config.defaults.base_url
    return Alert(
        change_id=int(change.id),
        watch_id=change.watch_id,
        watch_name=watch.title if watch else change.watch_id,
        url=watch.url if watch else url,
        severity=change.severity,
        labels=tuple(change.labels),
        summary=change.summary,
        detected_at=change.detected_at,
        facts=tuple(change.facts),
        sections=tuple(change.sections),
        lines_added=change.lines_added,
        lines_removed=change.lines_removed,
        diff=_diff(change.diff),
        change_url=f"{base_url}/changes/{change.id}" if base_url else None,
    )


def _change_json(alert: Alert) -> dict[str, Any]:
    stats: dict[str, int] = {
        "lines_added": alert.lines_added,
        "lines_removed": alert.lines_removed,
    }
    if alert.diff is not None:
        stats = {
            "lines_added": alert.diff.stats.lines_added,
            "lines_removed": alert.diff.stats.lines_removed,
            "lines_changed": alert.diff.stats.lines_changed,
            "chars_added": alert.diff.stats.chars_added,
            "chars_removed": alert.diff.stats.chars_removed,
        }
    found: dict[str, Any] = {
        "change_id": alert.change_id,
        "watch": {"id": alert.watch_id, "name": alert.watch_name, "url": alert.url},
        "labels": list(alert.labels),
        "severity": alert.severity,
        "summary": alert.summary,
        "facts": list(alert.facts),
        "diff_stats": stats,
        "sections": list(alert.sections),
        "detected_at": alert.detected_at.isoformat(),
    }
    if alert.change_url:
        found["change_url"] = alert.change_url
    return found


def webhook_body(message: Message) -> bytes:
    """The JSON body: compact, keys sorted, UTF-8; what the signature covers."""
    payload: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "delivery": message.key}
    if message.test_channel is not None:
        payload |= {"event": "test", "channel": message.test_channel}
    elif message.period is not None:
        payload |= {
            "event": "digest",
            "period": {
                "start": message.period[0].isoformat(),
                "end": message.period[1].isoformat(),
            },
            "changes": [_change_json(alert) for alert in message.alerts],
        }
    else:
        payload |= {"event": "change", **_change_json(message.alerts[0])}
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 with the channel's secret over `<timestamp>.<body>`."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, "sha256")
    return "sha256=" + digest.hexdigest()


def digest_key(ids: list[int]) -> str:
    return "digest-" + hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()[:16]


def _plain(text: str) -> str:
    """Page text for a terminal: no control characters (no escape sequences)."""
    return CONTROL.sub("�", text)


def _console_change(alert: Alert) -> list[str]:
    lines = [
        f"[{alert.severity}] {_plain(alert.watch_name)} — {', '.join(alert.labels)}",
        f"  {_plain(alert.url)}",
    ]
    if alert.summary:
        lines.append(f"  {_plain(alert.summary)}")
    for fact in alert.facts:
        pairs = fact_lines(fact)
        line = "  " + "; ".join(f"{name}: {_plain(value)}" for name, value in pairs)
        if pairs and line not in lines:  # identical facts from two findings: said once
            lines.append(line)
    stamp = alert.detected_at.strftime("%Y-%m-%d %H:%M UTC")
    lines.append(
        f"  change #{alert.change_id} · +{alert.lines_added} −{alert.lines_removed} lines · {stamp}"
    )
    if alert.change_url:
        lines.append(f"  review: {alert.change_url}")
    return lines


def console_text(message: Message) -> str:
    if message.test_channel is not None:
        return f"Test message from monitor: channel {message.test_channel!r} is set up."
    if message.period is not None:
        head = f"Digest {message.period_label}: {plural(len(message.alerts), 'change')}"
        return "\n".join([head, *(line for a in message.alerts for line in _console_change(a))])
    return "\n".join(_console_change(message.alerts[0]))


def delivery_json(delivery: Any, change: Any) -> dict[str, Any]:
    """One line of `monitor alerts --json`."""
    return {
        "id": delivery.id,
        "change_id": delivery.change_id,
        "watch_id": change.watch_id,
        "channel": delivery.channel,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "severity": change.severity,
        "summary": change.summary,
        "created_at": delivery.created_at.isoformat(),
        "next_try_at": delivery.next_try_at.isoformat(),
        "sent_at": delivery.sent_at.isoformat() if delivery.sent_at else None,
        "remote_id": delivery.remote_id,
        "thread_id": delivery.thread_id,
        "last_error": delivery.last_error,
    }


def delivery_table(items: list[dict[str, Any]]) -> str:
    if not items:
        return "no deliveries"
    head = (
        f"{'id':>6}  {'state':<8} {'channel':<16} {'watch':<24} {'change':<7} "
        "attempts  sent / next try (UTC)"
    )
    lines = [head]
    for item in items:
        when = item["sent_at"] if item["state"] == "sent" else item["next_try_at"]
        line = (
            f"{item['id']:>6}  {item['state']:<8} {item['channel']:<16} "
            f"{item['watch_id']:<24} #{item['change_id']:<6} {item['attempts']:>8}  {when[:16]}"
        )
        if item["last_error"] and item["state"] != "sent":
            line += f"\n        {item['last_error']}"
        lines.append(line)
    return "\n".join(lines)
