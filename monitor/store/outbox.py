"""Deliveries: due, claimed, sent, retried, failed. Each function is its own transaction
(`mark_sent_and_claim` is two of them committed as one).

A delivery moves pending → sending → sent, or back to pending with a later `next_try_at`, or to
failed once it has used its attempts. Claiming is committed before anything is sent: it sets
`state = sending`, counts the attempt and leases the delivery until `next_try_at`. A sender that
dies between sending and marking leaves the delivery in `sending`; once its lease has run out
the delivery is due again and `claim` reports it as `recovered`, so the sender can look for the
message it may already have sent before sending it again.

Written in SQLAlchemy Core on the tables of schema.py (a check delivers its alerts without the
ORM); rows come back as `Fields`, their columns read as attributes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from monitor.models import Classification
from monitor.store import audit_log
from monitor.store.db import transaction
from monitor.store.inserts import Fields
from monitor.store.schema import CHANGE as _CHANGES
from monitor.store.schema import DELIVERY as _DELIVERIES
from monitor.store.schema import WATCH

STATES = ("pending", "sending", "sent", "failed")


@dataclass(frozen=True)
class Due:
    """A delivery ready to send, with its change and the watch's URL."""

    delivery: Fields  # the delivery's row
    change: Fields  # its change's row
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
    waiting: sa.ColumnElement[bool] = _DELIVERIES.c.state.in_(("pending", "sending"))
    if max_age is not None:
        slow_retry = sa.and_(
            _DELIVERIES.c.state == "failed", _DELIVERIES.c.created_at > now - max_age
        )
        waiting = sa.or_(waiting, slow_retry)
    return sa.and_(waiting, _DELIVERIES.c.next_try_at <= now)


def _due_params() -> sa.ColumnElement[bool]:
    """`_due_clause` with the times as parameters (`now`, `oldest`), for statements built once:
    a sender builds and caches a statement per delivery otherwise."""
    waiting = sa.or_(
        _DELIVERIES.c.state.in_(("pending", "sending")),
        sa.and_(
            _DELIVERIES.c.state == "failed",
            _DELIVERIES.c.created_at > sa.bindparam("oldest", type_=_DELIVERIES.c.created_at.type),
        ),
    )
    return sa.and_(
        waiting,
        _DELIVERIES.c.next_try_at <= sa.bindparam("now", type_=_DELIVERIES.c.next_try_at.type),
    )


def _rows(row: sa.Row[Any], *tables: sa.Table) -> list[Any]:
    """A row selected from whole tables (then any further columns) split into one `Fields`
    per table, then the further values."""
    values: list[Any] = []
    start = 0
    for table in tables:
        names = table.c.keys()
        values.append(Fields(dict(zip(names, row[start : start + len(names)], strict=True))))
        start += len(names)
    return [*values, *row[start:]]


def due(
    engine: sa.Engine, now: datetime, limit: int = 100, *, max_age: timedelta | None = None
) -> list[Due]:
    """Pending deliveries whose time has come, `sending` ones whose lease ran out and, with
    `max_age`, failed ones younger than that whose slow retry is due; oldest `next_try_at`
    first."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(_DELIVERIES, _CHANGES, WATCH.c.url)
            .join(_CHANGES, _CHANGES.c.id == _DELIVERIES.c.change_id)
            .join(WATCH, WATCH.c.id == _CHANGES.c.watch_id)
            .where(_due_clause(now, max_age))
            .order_by(_DELIVERIES.c.next_try_at, _DELIVERIES.c.id)
            .limit(limit)
        ).all()
    return [Due(*_rows(row, _DELIVERIES, _CHANGES)) for row in rows]


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
    with transaction(engine) as connection:
        return _claim_in(connection, ids, now, lease, max_age)


def _claim_in(
    connection: sa.Connection,
    ids: Sequence[int],
    now: datetime,
    lease: timedelta,
    max_age: timedelta | None,
) -> list[Claimed]:
    if not ids:
        return []
    # without max_age no failed delivery is due: the oldest creation time allowed is now's
    oldest = now - max_age if max_age is not None else _NEVER
    rows = connection.execute(
        _claimable(lock=connection.dialect.name != "sqlite"),
        {"ids": list(ids), "now": now, "oldest": oldest},
    ).all()
    claimed = [
        Claimed(row_id, attempts + 1, recovered=state == "sending")
        for row_id, attempts, state in rows
    ]
    if claimed:
        connection.execute(_CLAIM, {"ids": [c.id for c in claimed], "until": now + lease})
    return claimed


_NEVER = datetime.max.replace(tzinfo=UTC)  # no delivery was created after this


@functools.cache
def _claimable(*, lock: bool) -> sa.Select[Any]:
    query = (
        sa.select(_DELIVERIES.c.id, _DELIVERIES.c.attempts, _DELIVERIES.c.state)
        .where(_DELIVERIES.c.id.in_(sa.bindparam("ids", expanding=True)), _due_params())
        .order_by(_DELIVERIES.c.id)
    )
    # SQLite: BEGIN IMMEDIATE serialises
    return query.with_for_update(skip_locked=True) if lock else query


_CLAIM = (
    _DELIVERIES.update()
    .where(_DELIVERIES.c.id.in_(sa.bindparam("ids", expanding=True)))
    .values(
        state="sending",
        attempts=_DELIVERIES.c.attempts + 1,
        next_try_at=sa.bindparam("until", type_=_DELIVERIES.c.next_try_at.type),
    )
)


def _finish(
    engine: sa.Engine, ids: Sequence[int], *, audit_at: datetime | None = None, **values: object
) -> int:
    """Update deliveries this sender holds; returns how many it still held. With `audit_at`
    (sent, failed) each one's end is appended to the audit log in the same transaction."""
    with transaction(engine) as connection:
        return _finish_in(connection, ids, audit_at=audit_at, **values)


def _finish_in(
    connection: sa.Connection,
    ids: Sequence[int],
    *,
    audit_at: datetime | None = None,
    **values: object,
) -> int:
    if not ids:
        return 0
    names = tuple(sorted(values))
    params = {f"v_{name}": value for name, value in values.items()}
    if audit_at is None:
        held_only = _update_held(names, held_only=True)
        return int(connection.execute(held_only, {"ids": list(ids), **params}).rowcount)
    query = _held(lock=connection.dialect.name != "sqlite")
    rows = connection.execute(query, {"ids": list(ids)}).all()
    if not rows:
        return 0
    connection.execute(
        _update_held(names, held_only=False), {"ids": [row.id for row in rows], **params}
    )
    events = []
    for row in rows:
        delivery = Fields({**row._asdict(), **values})
        events.append(audit_log.delivery_event(delivery, row.watch_id, audit_at))  # type: ignore[arg-type]
    audit_log.append_many(connection, events)
    return len(rows)


# what a delivery's audit event binds (audit_log.delivery_payload), and its id
_PAYLOAD_COLUMNS = (
    "id", "change_id", "channel", "state", "sent_at", "remote_id", "attempts", "last_error",
)  # fmt: skip
_HELD = sa.and_(
    _DELIVERIES.c.id.in_(sa.bindparam("ids", expanding=True)), _DELIVERIES.c.state == "sending"
)


@functools.cache
def _held(*, lock: bool) -> sa.Select[Any]:
    """The deliveries of `ids` this sender holds, with what their audit events bind."""
    query = (
        sa.select(*(_DELIVERIES.c[name] for name in _PAYLOAD_COLUMNS), _CHANGES.c.watch_id)
        .join(_CHANGES, _CHANGES.c.id == _DELIVERIES.c.change_id)
        .where(_HELD)
        .order_by(_DELIVERIES.c.id)
    )
    return query.with_for_update(of=_DELIVERIES) if lock else query


@functools.cache
def _update_held(names: tuple[str, ...], *, held_only: bool) -> sa.Update:
    """SET the columns `names` (parameters `v_NAME`) of the deliveries of `ids` (only those
    still held with `held_only`)."""
    where = _HELD if held_only else _DELIVERIES.c.id.in_(sa.bindparam("ids", expanding=True))
    return (
        _DELIVERIES.update()
        .where(where)
        .values({name: sa.bindparam(f"v_{name}", type_=_DELIVERIES.c[name].type) for name in names})
    )


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
    with transaction(engine) as connection:
        _finish_in(connection, ids, audit_at=now, **_sent(now, remote_id, thread_id))
        return _claim_in(connection, next_ids, now, lease, max_age)


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


def expired(engine: sa.Engine, now: datetime, max_age: timedelta) -> list[tuple[Fields, str]]:
    """Failed deliveries that just passed `max_age` (not yet marked as given up), oldest first,
    each with its change's watch id."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(_DELIVERIES, _CHANGES.c.watch_id)
            .join(_CHANGES, _CHANGES.c.id == _DELIVERIES.c.change_id)
            .where(
                _DELIVERIES.c.state == "failed",
                _DELIVERIES.c.created_at <= now - max_age,
                _NOT_GIVEN_UP,
            )
            .order_by(_DELIVERIES.c.created_at, _DELIVERIES.c.id)
        ).all()
    return [(delivery, watch_id) for delivery, watch_id in (_rows(r, _DELIVERIES) for r in rows)]


_NOT_GIVEN_UP = sa.not_(sa.func.coalesce(_DELIVERIES.c.last_error, "").contains(GAVE_UP))


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

    with transaction(engine) as connection:
        rows = connection.execute(
            sa.select(_DELIVERIES.c.id, _DELIVERIES.c.last_error).where(
                _DELIVERIES.c.id.in_(ids), _DELIVERIES.c.state == "failed", _NOT_GIVEN_UP
            )
        ).all()
        if not rows:
            return None
        for row_id, last_error in rows:
            connection.execute(
                _DELIVERIES.update()
                .where(_DELIVERIES.c.id == row_id)
                .values(last_error=(last_error or "failed") + GAVE_UP)
            )
        return event_change(connection, watch_id, at, classification, channels)


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
    with transaction(engine) as connection:
        result = connection.execute(
            _DELIVERIES.update().where(_DELIVERIES.c.id.in_(ids), _due_clause(now)).values(**values)
        )
        return int(result.rowcount)


def retry_now(engine: sa.Engine, now: datetime) -> int:
    """Make every pending delivery due now, and give failed ones a fresh set of attempts (their
    last error stays until they are sent)."""
    with transaction(engine) as connection:
        pending = connection.execute(
            _DELIVERIES.update()
            .where(_DELIVERIES.c.state == "pending", _DELIVERIES.c.next_try_at > now)
            .values(next_try_at=now)
        )
        failed = connection.execute(
            sa.select(_DELIVERIES, _CHANGES.c.watch_id)
            .join(_CHANGES, _CHANGES.c.id == _DELIVERIES.c.change_id)
            .where(_DELIVERIES.c.state == "failed")
            .order_by(_DELIVERIES.c.id)
        ).all()
        again = {"state": "pending", "attempts": 0, "next_try_at": now}
        events = []
        for row in failed:
            delivery, watch_id = _rows(row, _DELIVERIES)
            connection.execute(
                _DELIVERIES.update().where(_DELIVERIES.c.id == delivery.id).values(**again)
            )
            queued = Fields({**delivery.values, **again})
            events.append(audit_log.delivery_event(queued, watch_id, now))  # type: ignore[arg-type]
        audit_log.append_many(connection, events)
        return int(pending.rowcount) + len(failed)


def deliveries(
    engine: sa.Engine, state: str | None = None, *, limit: int = 200
) -> list[tuple[Fields, Fields]]:
    """Newest first, each with its change."""
    query = sa.select(_DELIVERIES, _CHANGES).join(
        _CHANGES, _CHANGES.c.id == _DELIVERIES.c.change_id
    )
    if state is not None:
        query = query.where(_DELIVERIES.c.state == state)
    query = query.order_by(_DELIVERIES.c.created_at.desc(), _DELIVERIES.c.id.desc())
    with engine.connect() as connection:
        rows = connection.execute(query.limit(limit)).all()
    return [(d, c) for d, c in (_rows(row, _DELIVERIES, _CHANGES) for row in rows)]


def delivery(engine: sa.Engine, delivery_id: int) -> Fields | None:
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(_DELIVERIES).where(_DELIVERIES.c.id == delivery_id)
        ).first()
    return _rows(row, _DELIVERIES)[0] if row is not None else None


def thread_of(engine: sa.Engine, watch_id: str, channel: str) -> str | None:
    """The thread the watch's alerts go to in this channel: the thread id of its latest sent
    delivery there (the first message's ts), or None before the first one."""
    with engine.connect() as connection:
        found: str | None = connection.execute(
            sa.select(_DELIVERIES.c.thread_id)
            .join(_CHANGES, _CHANGES.c.id == _DELIVERIES.c.change_id)
            .where(
                _CHANGES.c.watch_id == watch_id,
                _DELIVERIES.c.channel == channel,
                _DELIVERIES.c.state == "sent",
                _DELIVERIES.c.thread_id.is_not(None),
            )
            .order_by(_DELIVERIES.c.sent_at.desc(), _DELIVERIES.c.id.desc())
            .limit(1)
        ).scalar()
    return found


def failed_by_channel(engine: sa.Engine) -> dict[str, int]:
    """How many deliveries are `failed`, per channel."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(_DELIVERIES.c.channel, sa.func.count())
            .where(_DELIVERIES.c.state == "failed")
            .group_by(_DELIVERIES.c.channel)
            .order_by(_DELIVERIES.c.channel)
        ).all()
    return {channel: int(count) for channel, count in rows}
