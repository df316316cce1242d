"""Deliveries: due, claimed, sent, retried, failed. Each function is its own transaction
(`mark_sent_and_claim` is two of them committed as one).

A delivery moves pending → sending → sent, or back to pending with a later `next_try_at`, or to
failed once it has used its attempts. Claiming is committed before anything is sent: it sets
`state = sending`, counts the attempt and leases the delivery until `next_try_at`. A sender that
dies between sending and marking leaves the delivery in `sending`; once its lease has run out
the delivery is due again and `claim` reports it as `recovered`, so the sender can look for the
message it may already have sent before sending it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select, update

from monitor.models import Classification
from monitor.store import audit_log
from monitor.store.db import reading, writing
from monitor.store.inserts import Fields
from monitor.store.tables import ChangeRow, DeliveryRow, WatchRow

STATES = ("pending", "sending", "sent", "failed")


@dataclass(frozen=True)
class Due:
    """A delivery ready to send, with its change and the watch's URL."""

    delivery: DeliveryRow
    change: ChangeRow
    url: str


@dataclass(frozen=True)
class Claimed:
    id: int
    attempts: int  # including this one
    recovered: bool  # the previous attempt's sender died before recording its outcome


# A failed delivery gets one more attempt on a slow cadence until it is `max_age` old; then
# its last error ends with this and it stays failed, listed, for a person's `alerts --retry`.
GAVE_UP = "; no more retries: older than delivery_max_age"


def _due_clause(now: datetime, max_age: timedelta | None = None) -> sa.ColumnElement[bool]:
    waiting: sa.ColumnElement[bool] = col(DeliveryRow.state).in_(("pending", "sending"))
    if max_age is not None:
        slow_retry = sa.and_(
            col(DeliveryRow.state) == "failed", col(DeliveryRow.created_at) > now - max_age
        )
        waiting = sa.or_(waiting, slow_retry)
    return sa.and_(waiting, col(DeliveryRow.next_try_at) <= now)


def due(
    engine: sa.Engine, now: datetime, limit: int = 100, *, max_age: timedelta | None = None
) -> list[Due]:
    """Pending deliveries whose time has come, `sending` ones whose lease ran out and, with
    `max_age`, failed ones younger than that whose slow retry is due; oldest `next_try_at`
    first."""
    with reading(engine) as session:
        rows = session.exec(
            select(DeliveryRow, ChangeRow, WatchRow.url)
            .join(ChangeRow, col(ChangeRow.id) == DeliveryRow.change_id)
            .join(WatchRow, col(WatchRow.id) == ChangeRow.watch_id)
            .where(_due_clause(now, max_age))
            .order_by(col(DeliveryRow.next_try_at), col(DeliveryRow.id))
            .limit(limit)
        ).all()
    return [Due(delivery, change, url) for delivery, change, url in rows]


def claim(
    engine: sa.Engine,
    ids: Sequence[int],
    now: datetime,
    lease: timedelta,
    *,
    max_age: timedelta | None = None,
) -> list[Claimed]:
    """Take the deliveries that are still due (another sender may have been quicker): state
    `sending`, one more attempt, leased until `now + lease`. Committed before returning."""
    with writing(engine) as session:
        return _claim_in(session, ids, now, lease, max_age)


def _claim_in(
    session: Session, ids: Sequence[int], now: datetime, lease: timedelta, max_age: timedelta | None
) -> list[Claimed]:
    connection = session.connection()  # plain rows: the ORM's flush cost more than this
    query = sa.select(_DELIVERIES.c.id, _DELIVERIES.c.attempts, _DELIVERIES.c.state).where(
        _DELIVERIES.c.id.in_(ids), _due_clause(now, max_age)
    )
    if connection.dialect.name != "sqlite":  # SQLite: BEGIN IMMEDIATE serialises
        query = query.with_for_update(skip_locked=True)
    rows = connection.execute(query.order_by(_DELIVERIES.c.id)).all()
    claimed = [
        Claimed(row_id, attempts + 1, recovered=state == "sending")
        for row_id, attempts, state in rows
    ]
    if claimed:
        connection.execute(
            _DELIVERIES.update()
            .where(_DELIVERIES.c.id.in_([c.id for c in claimed]))
            .values(
                state="sending",
                attempts=_DELIVERIES.c.attempts + 1,
                next_try_at=now + lease,
            )
        )
    return claimed


def _finish(
    engine: sa.Engine, ids: Sequence[int], *, audit_at: datetime | None = None, **values: object
) -> int:
    """Update deliveries this sender holds; returns how many it still held. With `audit_at`
    (sent, failed) each one's end is appended to the audit log in the same transaction."""
    with writing(engine) as session:
        return _finish_in(session, ids, audit_at=audit_at, **values)


def _finish_in(
    session: Session, ids: Sequence[int], *, audit_at: datetime | None = None, **values: object
) -> int:
    held = sa.and_(col(DeliveryRow.id).in_(ids), col(DeliveryRow.state) == "sending")
    if audit_at is None:
        result = session.execute(update(DeliveryRow).where(held).values(**values))
        return int(result.rowcount)  # type: ignore[attr-defined]
    connection = session.connection()  # plain rows: the ORM's flush cost more than this
    query = sa.select(
        *(_DELIVERIES.c[name] for name in _PAYLOAD_COLUMNS), _CHANGES.c.watch_id
    ).join(_CHANGES, _CHANGES.c.id == _DELIVERIES.c.change_id)
    if connection.dialect.name != "sqlite":
        query = query.with_for_update(of=_DELIVERIES)
    rows = connection.execute(query.where(held).order_by(_DELIVERIES.c.id)).all()
    if not rows:
        return 0
    connection.execute(
        _DELIVERIES.update().where(_DELIVERIES.c.id.in_([row.id for row in rows])).values(**values)
    )
    events = []
    for row in rows:
        delivery = Fields({**row._asdict(), **values})
        events.append(audit_log.delivery_event(delivery, row.watch_id, audit_at))  # type: ignore[arg-type]
    audit_log.append_many(session, events)
    return len(rows)


_DELIVERIES: sa.Table = DeliveryRow.__table__  # type: ignore[attr-defined]
_CHANGES: sa.Table = ChangeRow.__table__  # type: ignore[attr-defined]
# what a delivery's audit event binds (audit_log.delivery_payload), and its id
_PAYLOAD_COLUMNS = (
    "id", "change_id", "channel", "state", "sent_at", "remote_id", "attempts", "last_error",
)  # fmt: skip


def mark_sent(
    engine: sa.Engine,
    ids: Sequence[int],
    now: datetime,
    *,
    remote_id: str | None = None,
    thread_id: str | None = None,
) -> int:
    """Sent: recorded once. A delivery already marked by another sender is left as it is."""
    return _finish(engine, ids, audit_at=now, **_sent(now, remote_id, thread_id))


def _sent(now: datetime, remote_id: str | None, thread_id: str | None) -> dict[str, object]:
    return {
        "state": "sent",
        "sent_at": now,
        "remote_id": remote_id,
        "thread_id": thread_id,
        "last_error": None,
    }


def mark_sent_and_claim(
    engine: sa.Engine,
    ids: Sequence[int],
    now: datetime,
    *,
    remote_id: str | None = None,
    thread_id: str | None = None,
    next_ids: Sequence[int],
    lease: timedelta,
    max_age: timedelta | None = None,
) -> list[Claimed]:
    """`mark_sent` for `ids` and `claim` for `next_ids` in one transaction: a sender going
    through its due deliveries commits once per delivery, not twice. What it claims."""
    with writing(engine) as session:
        _finish_in(session, ids, audit_at=now, **_sent(now, remote_id, thread_id))
        return _claim_in(session, next_ids, now, lease, max_age)


def mark_retry(engine: sa.Engine, ids: Sequence[int], error: str, next_try_at: datetime) -> int:
    return _finish(engine, ids, state="pending", last_error=error, next_try_at=next_try_at)


def mark_failed(
    engine: sa.Engine,
    ids: Sequence[int],
    error: str,
    next_try_at: datetime | None = None,
    *,
    at: datetime | None = None,
) -> int:
    """Out of attempts: kept, visible in `monitor alerts`, never deleted; tried again at
    `next_try_at` while younger than delivery_max_age."""
    values: dict[str, object] = {"state": "failed", "last_error": error}
    if next_try_at is not None:
        values["next_try_at"] = next_try_at
    return _finish(engine, ids, audit_at=at or datetime.now(UTC), **values)


def expired(engine: sa.Engine, now: datetime, max_age: timedelta) -> list[tuple[DeliveryRow, str]]:
    """Failed deliveries that just passed `max_age` (not yet marked as given up), oldest first,
    each with its change's watch id."""
    with reading(engine) as session:
        rows = session.exec(
            select(DeliveryRow, ChangeRow.watch_id)
            .join(ChangeRow, col(ChangeRow.id) == DeliveryRow.change_id)
            .where(
                col(DeliveryRow.state) == "failed",
                col(DeliveryRow.created_at) <= now - max_age,
                sa.not_(sa.func.coalesce(col(DeliveryRow.last_error), "").contains(GAVE_UP)),
            )
            .order_by(col(DeliveryRow.created_at), col(DeliveryRow.id))
        ).all()
    return [(delivery, watch_id) for delivery, watch_id in rows]


def give_up(
    engine: sa.Engine,
    ids: Sequence[int],
    *,
    watch_id: str,
    at: datetime,
    classification: Classification,
    channels: tuple[str, ...],
) -> int | None:
    """Mark failed deliveries as given up and, in the same transaction, record the event that
    says their channel is dead, with deliveries to `channels`. Returns the event's change id, or
    None when another sender marked them first."""
    from monitor.store.record import event_change

    with writing(engine) as session:
        rows = session.exec(
            select(DeliveryRow).where(
                col(DeliveryRow.id).in_(ids),
                col(DeliveryRow.state) == "failed",
                sa.not_(sa.func.coalesce(col(DeliveryRow.last_error), "").contains(GAVE_UP)),
            )
        ).all()
        if not rows:
            return None
        for row in rows:
            row.last_error = (row.last_error or "failed") + GAVE_UP
        watch = session.get(WatchRow, watch_id)
        assert watch is not None
        return event_change(session, watch.id, at, classification, channels)


def postpone(
    engine: sa.Engine,
    ids: Sequence[int],
    now: datetime,
    until: datetime,
    error: str | None = None,
) -> int:
    """Move due deliveries to a later time without using an attempt (a digest period not over
    yet, a channel whose secret is not set). One whose sender died stays `sending`, so whoever
    takes it later still knows to look for the message that sender may have sent."""
    values: dict[str, object] = {"next_try_at": until}
    if error is not None:
        values["last_error"] = error
    with writing(engine) as session:
        result = session.execute(
            update(DeliveryRow)
            .where(col(DeliveryRow.id).in_(ids), _due_clause(now))
            .values(**values)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def retry_now(engine: sa.Engine, now: datetime) -> int:
    """Make every pending delivery due now, and give failed ones a fresh set of attempts (their
    last error stays until they are sent)."""
    with writing(engine) as session:
        pending = session.execute(
            update(DeliveryRow)
            .where(col(DeliveryRow.state) == "pending", col(DeliveryRow.next_try_at) > now)
            .values(next_try_at=now)
        )
        failed = session.exec(
            select(DeliveryRow, ChangeRow.watch_id)
            .join(ChangeRow, col(ChangeRow.id) == DeliveryRow.change_id)
            .where(col(DeliveryRow.state) == "failed")
            .order_by(col(DeliveryRow.id))
        ).all()
        events = []
        for row, watch_id in failed:
            row.state, row.attempts, row.next_try_at = "pending", 0, now
            session.add(row)
            events.append(audit_log.delivery_event(row, watch_id, now))  # queued again
        session.flush()
        audit_log.append_many(session, events)
        return int(pending.rowcount) + len(failed)  # type: ignore[attr-defined]


def deliveries(
    engine: sa.Engine, state: str | None = None, *, limit: int = 200
) -> list[tuple[DeliveryRow, ChangeRow]]:
    """Newest first, each with its change."""
    with reading(engine) as session:
        query = select(DeliveryRow, ChangeRow).join(
            ChangeRow, col(ChangeRow.id) == DeliveryRow.change_id
        )
        if state is not None:
            query = query.where(DeliveryRow.state == state)
        query = query.order_by(col(DeliveryRow.created_at).desc(), col(DeliveryRow.id).desc())
        return [(d, c) for d, c in session.exec(query.limit(limit)).all()]


def delivery(engine: sa.Engine, delivery_id: int) -> DeliveryRow | None:
    with reading(engine) as session:
        return session.get(DeliveryRow, delivery_id)


def thread_of(engine: sa.Engine, watch_id: str, channel: str) -> str | None:
    """The thread the watch's alerts go to in this channel: the thread id of its latest sent
    delivery there (the first message's ts), or None before the first one."""
    with reading(engine) as session:
        return session.exec(
            select(DeliveryRow.thread_id)
            .join(ChangeRow, col(ChangeRow.id) == DeliveryRow.change_id)
            .where(
                ChangeRow.watch_id == watch_id,
                DeliveryRow.channel == channel,
                DeliveryRow.state == "sent",
                col(DeliveryRow.thread_id).is_not(None),
            )
            .order_by(col(DeliveryRow.sent_at).desc(), col(DeliveryRow.id).desc())
            .limit(1)
        ).first()


def failed_by_channel(engine: sa.Engine) -> dict[str, int]:
    """How many deliveries are `failed`, per channel."""
    with reading(engine) as session:
        rows = session.exec(
            select(DeliveryRow.channel, sa.func.count())
            .where(DeliveryRow.state == "failed")
            .group_by(col(DeliveryRow.channel))
            .order_by(col(DeliveryRow.channel))
        ).all()
    return {channel: int(count) for channel, count in rows}
