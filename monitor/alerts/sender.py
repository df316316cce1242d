"""The sender loop: due deliveries → claimed → sent → marked; backoff, digests, paused channels."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from monitor.alerts.channels import SenderSettings, read_secrets, send
from monitor.alerts.payload import Message, alert_from, digest_key
from monitor.config import Config, SlackChannel
from monitor.errors import DeliveryError
from monitor.models import Classification, Finding
from monitor.store import outbox

if TYPE_CHECKING:
    import sqlalchemy as sa

SKEW = timedelta(minutes=1)  # a recovered Slack message is looked for from created_at minus this


@dataclass
class DeliverySummary:
    sent: int = 0
    retrying: int = 0  # attempted, failed, will be tried again
    failed: int = 0  # attempted for the last time
    waiting: int = 0  # not attempted: a digest period still open, a secret not set, a pause
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.retrying or self.failed)

    def describe(self) -> str:
        head = (
            f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed, "
            f"{self.waiting} waiting"
        )
        return "\n".join([head, *self.problems])


@dataclass(frozen=True)
class _Batch:
    channel: str
    dues: tuple[outbox.Due, ...]
    period: tuple[datetime, datetime] | None = None

    @property
    def ids(self) -> list[int]:
        return [int(d.delivery.id or 0) for d in self.dues]


def backoff(attempts: int, settings: SenderSettings, rng: random.Random | None = None) -> float:
    """Seconds before the next try after `attempts` tries: doubling, capped, jittered."""
    delay = min(settings.max_delay, settings.base_delay * 2 ** max(0, attempts - 1))
    return delay * (1 - settings.jitter * (rng or random).random())


def period_of(at: datetime, digest: str) -> tuple[datetime, datetime]:
    """The UTC hour or day that `at` falls in."""
    if digest == "hourly":
        start = at.replace(minute=0, second=0, microsecond=0)
        return start, start + timedelta(hours=1)
    start = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def delivery_key(due: outbox.Due) -> str:
    """Stable across attempts, distinct across databases sending to one place."""
    d = due.delivery
    return f"{d.id}.{d.change_id}.{int(d.created_at.timestamp())}"


def _batches(
    config: Config,
    engine: sa.Engine,
    dues: list[outbox.Due],
    now: datetime,
    settings: SenderSettings,
    summary: DeliverySummary,
) -> list[_Batch]:
    """Dues → batches to send; digests whose period is still open are moved to its end, and
    channels whose secret is not set wait without using an attempt."""
    batches: list[_Batch] = []
    digests: dict[tuple[str, datetime], list[outbox.Due]] = {}
    for due in dues:
        name = due.delivery.channel
        channel = config.channels.get(name)
        if channel is None:
            batches.append(_Batch(name, (due,)))  # fails with a clear error when sent
            continue
        try:
            read_secrets(name, channel)
        except DeliveryError as exc:
            until = now + timedelta(seconds=backoff(1, settings))
            summary.waiting += outbox.postpone(
                engine, [int(due.delivery.id or 0)], now, until, str(exc)
            )
            if str(exc) not in summary.problems:
                summary.problems.append(str(exc))
            continue
        if channel.digest is None:
            batches.append(_Batch(name, (due,)))
            continue
        start, end = period_of(due.delivery.created_at, channel.digest)
        if end > now:
            summary.waiting += 1
            if due.delivery.next_try_at < end:
                outbox.postpone(engine, [int(due.delivery.id or 0)], now, end)
            continue
        digests.setdefault((name, start), []).append(due)
    for (name, start), group in digests.items():
        end = period_of(start, config.channels[name].digest or "daily")[1]
        batches.append(_Batch(name, tuple(group), (start, end)))
    return batches


def _message(config: Config, batch: _Batch, held: set[int]) -> Message:
    dues = [d for d in batch.dues if d.delivery.id in held]
    alerts = tuple(alert_from(config, d.change, d.url) for d in dues)
    if batch.period is None:
        return Message(key=delivery_key(dues[0]), alerts=alerts)
    return Message(key=digest_key(sorted(held)), alerts=alerts, period=batch.period)


def _send_batch(
    config: Config,
    engine: sa.Engine,
    batch: _Batch,
    now: datetime,
    settings: SenderSettings,
    claimed: list[outbox.Claimed] | None = None,
    next_batch: _Batch | None = None,
) -> tuple[str, int, str | None, list[outbox.Claimed] | None]:
    """(state the deliveries are left in, how many this sender held, the error if any, what it
    claimed of `next_batch`). `claimed`: the batch was claimed already (with the batch before).
    Once sent, the batch is marked and `next_batch` claimed in one transaction."""
    lease = timedelta(seconds=settings.lease)
    if claimed is None:
        claimed = outbox.claim(engine, batch.ids, now, lease, max_age=_max_age(config))
    held = sorted(c.id for c in claimed)
    if not held:
        return "taken", 0, None, None  # another sender was quicker
    attempts = max(c.attempts for c in claimed)
    channel = config.channels.get(batch.channel)
    message = _message(config, batch, set(held))
    try:
        if channel is None:
            raise DeliveryError(
                f"channel {batch.channel!r} is no longer in {config.path.name}; "
                "declare it again, or let the delivery fail"
            )
        thread_ts = None
        if isinstance(channel, SlackChannel) and channel.thread_updates and batch.period is None:
            thread_ts = outbox.thread_of(engine, message.alerts[0].watch_id, batch.channel)
        sent = send(
            batch.channel, channel, message, settings,
            thread_ts=thread_ts,
            recovered=any(c.recovered for c in claimed),
            oldest=min(d.delivery.created_at for d in batch.dues) - SKEW,
        )  # fmt: skip
    except DeliveryError as exc:
        return (*_failed(config, engine, held, attempts, exc, now, settings), None)
    except Exception as exc:  # noqa: BLE001 - a bug must not stop other deliveries or leak text
        error = DeliveryError(f"unexpected {type(exc).__name__} while sending")
        return (*_failed(config, engine, held, attempts, error, now, settings), None)
    if next_batch is None:
        outbox.mark_sent(engine, held, now, remote_id=sent.remote_id, thread_id=sent.thread_id)
        return "sent", len(held), None, None
    next_claimed = outbox.mark_sent_and_claim(
        engine, held, now, remote_id=sent.remote_id, thread_id=sent.thread_id,
        next_ids=next_batch.ids, lease=lease, max_age=_max_age(config),
    )  # fmt: skip
    return "sent", len(held), None, next_claimed


def _failed(
    config: Config,
    engine: sa.Engine,
    ids: list[int],
    attempts: int,
    exc: DeliveryError,
    now: datetime,
    settings: SenderSettings,
) -> tuple[str, int, str]:
    error = " ".join(str(exc).split())[:500]
    if attempts >= config.defaults.delivery_attempts:
        error = f"{error} (failed after {_plural(attempts, 'attempt')}; retried every {_every(settings)})"
        outbox.mark_failed(
            engine, ids, error, now + timedelta(seconds=settings.failed_retry), at=now
        )
        return "failed", len(ids), error
    wait = exc.retry_after if exc.retry_after is not None else backoff(attempts, settings)
    outbox.mark_retry(engine, ids, error, now + timedelta(seconds=wait))
    return "pending", len(ids), error


def deliver_due(
    config: Config,
    engine: sa.Engine,
    *,
    now: datetime | None = None,
    limit: int = 100,
    settings: SenderSettings | None = None,
    retry_now: bool = False,
) -> DeliverySummary:
    """Send the deliveries that are due, each attempt recorded. A channel that fails once is
    left alone for the rest of this run. `retry_now` makes pending deliveries due now and gives
    failed ones new attempts."""
    settings = settings or SenderSettings()
    now = now or datetime.now(UTC)
    if retry_now:
        outbox.retry_now(engine, now)
    summary = DeliverySummary()
    summary.problems += _give_up(config, engine, now)  # its alerts go out in this same run
    paused: set[str] = set()
    dues = outbox.due(engine, now, limit, max_age=_max_age(config))
    batches = _batches(config, engine, dues, now, settings, summary)
    claimed: list[outbox.Claimed] | None = None  # the batch's claim, made with the one before
    for index, batch in enumerate(batches):
        if batch.channel in paused:
            summary.waiting += len(batch.dues)
            continue
        upcoming = batches[index + 1] if index + 1 < len(batches) else None
        if upcoming is not None and upcoming.channel in paused:
            upcoming = None
        state, count, error, claimed = _send_batch(
            config, engine, batch, now, settings, claimed, upcoming
        )
        if state == "sent":
            summary.sent += count
        elif state in ("pending", "failed"):
            paused.add(batch.channel)
            if state == "failed":
                summary.failed += count
            else:
                summary.retrying += count
            summary.problems.append(f"channel {batch.channel!r}, deliveries {batch.ids}: {error}")
    return summary


def _max_age(config: Config) -> timedelta:
    return timedelta(seconds=config.defaults.delivery_max_age)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _every(settings: SenderSettings) -> str:
    hours = settings.failed_retry / 3600
    return f"{hours:g} h" if hours >= 1 else f"{settings.failed_retry:g} s"


def _give_up(config: Config, engine: sa.Engine, now: datetime) -> list[str]:
    """Failed deliveries older than delivery_max_age are retried no more; for each channel they
    belong to, one `delivery_problem` alert on every other channel says that channel is dead."""
    by_channel: dict[str, list[tuple[int, str, str]]] = {}
    for delivery, watch_id in outbox.expired(engine, now, _max_age(config)):
        item = (int(delivery.id or 0), watch_id, delivery.last_error or "")
        by_channel.setdefault(delivery.channel, []).append(item)
    lines = []
    for name, items in by_channel.items():
        days = config.defaults.delivery_max_age / 86400
        last_error = items[-1][2].split(" (failed after", 1)[0]
        message = (
            f"channel {name!r} is dead: {len(items)} alert(s) undelivered after {days:g} days "
            f"of retries; last error: {last_error}; fix the channel, then "
            "`monitor alerts --retry`"
        )
        finding = Finding("event.delivery_problem", "delivery_problem", message, fragment=message)
        classification = Classification(
            ("delivery_problem",), "major", f"delivery problem: {message}", (finding,)
        )
        others = tuple(other for other in config.channels if other != name)
        outbox.give_up(
            engine,
            [item[0] for item in items],
            watch_id=items[-1][1],
            at=now,
            classification=classification,
            channels=others,
        )
        lines.append(message)
    return lines
