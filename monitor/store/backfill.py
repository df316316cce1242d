"""Back-filling the audit log of a database recorded before the log existed: once, every row in
time order, then one `backfill` event saying which events were written after the fact."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from monitor.store import audit_log
from monitor.store.audit_log import Pending
from monitor.store.db import reading, writing
from monitor.store.tables import (
    AuditEventRow,
    ChangeRow,
    CheckRow,
    DeliveryRow,
    ReviewRow,
    SnapshotRow,
    VersionRow,
)

_BATCH = 1000
_delivery_at = sa.case(
    (
        sa.and_(col(DeliveryRow.state) == "sent", col(DeliveryRow.sent_at).is_not(None)),
        col(DeliveryRow.sent_at),
    ),
    else_=col(DeliveryRow.created_at),
)


def needs_backfill(engine: sa.Engine) -> bool:
    with reading(engine) as session:
        return _needs(session)


def _needs(session: Session) -> bool:
    if session.execute(select(AuditEventRow.seq).limit(1)).first() is not None:
        return False
    return any(
        session.execute(select(table.id).limit(1)).first() is not None  # type: ignore[attr-defined]
        for table in (CheckRow, SnapshotRow, VersionRow, ChangeRow, DeliveryRow, ReviewRow)
    )


def _rows(session: Session, query: Any) -> Iterator[Any]:
    # per statement: on a connection, execution_options would stream every later insert too
    rows = session.connection().execute(query.execution_options(yield_per=_BATCH))
    try:
        yield from rows
    finally:
        rows.close()


def _stream(session: Session, order: int) -> Iterator[tuple[datetime, int, int, Pending]]:
    """One table's events, oldest first (each stream sorted as the merge needs it)."""
    event: Pending
    if order == 0:
        for row in _rows(
            session, select(SnapshotRow).order_by(col(SnapshotRow.fetched_at), col(SnapshotRow.id))
        ):
            event = audit_log.snapshot_event(row)
            yield event.at, order, row.id, event
    elif order == 1:
        for row in _rows(
            session,
            select(VersionRow, SnapshotRow.sha256.label("snapshot_sha256"))  # type: ignore[attr-defined]
            .join(SnapshotRow, col(SnapshotRow.id) == VersionRow.snapshot_id)
            .order_by(col(VersionRow.seen_at), col(VersionRow.id)),
        ):
            event = audit_log.version_event(row, row.snapshot_sha256)
            yield event.at, order, row.id, event
    elif order == 2:
        for row in _rows(
            session, select(ChangeRow).order_by(col(ChangeRow.detected_at), col(ChangeRow.id))
        ):
            event = audit_log.change_event(row)
            yield event.at, order, row.id, event
    elif order == 3:
        for row in _rows(
            session,
            select(DeliveryRow, ChangeRow.watch_id)
            .join(ChangeRow, col(ChangeRow.id) == DeliveryRow.change_id)
            .order_by(_delivery_at, col(DeliveryRow.id)),
        ):
            at = row.sent_at if row.state == "sent" and row.sent_at else row.created_at
            event = audit_log.delivery_event(row, row.watch_id, at)
            yield event.at, order, row.id, event
    elif order == 4:
        for row in _rows(
            session,
            select(ReviewRow, ChangeRow.watch_id)
            .join(ChangeRow, col(ChangeRow.id) == ReviewRow.change_id)
            .order_by(col(ReviewRow.at), col(ReviewRow.id)),
        ):
            event = audit_log.review_event(row, row.watch_id)
            yield event.at, order, row.id, event
    else:
        for row in _rows(session, select(CheckRow).order_by(col(CheckRow.at), col(CheckRow.id))):
            event = audit_log.check_event(row)
            yield event.at, order, row.id, event


def backfill(engine: sa.Engine) -> int:
    """Give every row of a database made before the audit log its event, oldest first, then a
    `backfill` event; at most once (a database with any event is left alone). Returns the number
    of rows back-filled."""
    with writing(engine) as session:
        if not _needs(session):
            return 0
        merged = heapq.merge(*(_stream(session, order) for order in range(6)), key=lambda t: t[:3])
        count = 0
        first_at = last_at = None
        batch: list[Pending] = []
        for at, _order, _id, event in merged:
            first_at = first_at or at
            last_at = at
            batch.append(event)
            count += 1
            if len(batch) >= _BATCH:
                audit_log.append_many(session, batch)
                batch = []
        audit_log.append_many(session, batch)
        now = datetime.now(UTC)
        note = (
            f"events 1 to {count} were written on {now:%Y-%m-%d} from rows recorded before "
            "the audit log existed, not in the transactions that recorded them"
        )
        payload = {
            "first_seq": 1,
            "last_seq": count,
            "rows": count,
            "first_at": first_at,
            "last_at": last_at,
            "note": note,
        }
        audit_log.append(session, Pending("backfill", now, None, "audit_event", count, payload))
        return count
