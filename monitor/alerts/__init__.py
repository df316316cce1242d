"""Alerts: the outbox sender and the channels it sends to.

A change enqueues one delivery per matching channel in the same transaction as the change
(monitor/store/record.py); `deliver_due` sends them. What each channel guarantees:

- Every delivery is claimed (`sending`, one more attempt) and committed before it is sent, and
  marked `sent` once, with the Slack `ts` or the webhook's response id.
- An answer that says "not sent" (HTTP 429 or 5xx, connection refused, Slack `ok: false`) puts
  the delivery back to pending, after `Retry-After` when the channel says so, else after a
  doubling backoff with jitter; after `delivery_attempts` attempts it is `failed`, kept and
  listed by `monitor alerts`; `monitor alerts --retry` gives it new attempts.
- A sender killed after sending and before recording leaves the delivery `sending`; when its
  lease runs out the next sender takes it again:
  - Slack bot (`token_env`): each message carries its delivery key in Slack message metadata;
    the sender first looks for that key in the channel (or the watch's thread) and records the
    message it finds instead of posting again. Looking needs the `channels:history` scope (or
    `groups:history`) and `channel` given as an ID (C…); when Slack refuses to look, the message
    is posted again, so at least once.
  - Slack incoming webhook (`webhook_url_env`): nothing to look in; the message may show twice.
  - Webhook: sent again with the same `X-Monitor-Delivery` id; a receiver that remembers the ids
    it has seen processes it once.
  - Console: printed again.
- A channel whose environment variable is not set is not attempted: its deliveries stay pending
  with that as their last error, without using attempts, and the other channels go on.
- A digest channel (`digest = "hourly"|"daily"`) gets one message per UTC hour or day, sent when
  the period is over.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from monitor.alerts.channels import SenderSettings, Sent, read_secrets, send
from monitor.alerts.payload import Message, delivery_json, delivery_table, signature
from monitor.alerts.sender import DeliverySummary, backoff, deliver_due, period_of
from monitor.config import Config
from monitor.errors import ConfigError

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = [
    "DeliverySummary",
    "SenderSettings",
    "Sent",
    "backoff",
    "deliver_due",
    "list_deliveries",
    "period_of",
    "read_secrets",
    "send_test",
    "show_deliveries",
    "signature",
]


def send_test(config: Config, name: str, *, settings: SenderSettings | None = None) -> str:
    """Send a test message to one channel now (no delivery recorded). Raises DeliveryError."""
    channel = config.channels.get(name)
    if channel is None:
        known = ", ".join(sorted(config.channels))
        raise ConfigError(f"{config.path.name}: no channel {name!r} (channels: {known})")
    message = Message(key=f"test-{time.time_ns()}", test_channel=name)
    sent = send(name, channel, message, settings or SenderSettings())
    return f"sent a test message to {name!r}" + (
        f" (ts {sent.remote_id})" if sent.remote_id else ""
    )


def list_deliveries(
    engine: sa.Engine, state: str | None = None, *, limit: int = 200
) -> list[dict[str, Any]]:
    """Deliveries, newest first, as plain dicts (what `monitor alerts --json` prints)."""
    from monitor.store import outbox

    return [delivery_json(d, c) for d, c in outbox.deliveries(engine, state, limit=limit)]


def show_deliveries(
    engine: sa.Engine, state: str | None = None, *, as_json: bool = False, limit: int = 200
) -> str:
    import json

    items = list_deliveries(engine, state, limit=limit)
    if as_json:
        return json.dumps(items, ensure_ascii=False, indent=2)
    return delivery_table(items)
