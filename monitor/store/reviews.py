"""Reviews of changes: who looked at a change and what they decided. Never edited or deleted;
each one is appended to the audit log in the transaction that records it."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import col, select

from monitor.errors import MonitorError
from monitor.store import audit_log
from monitor.store.db import reading, writing
from monitor.store.tables import ChangeRow, ReviewRow

VERDICTS = ("acknowledged", "dismissed", "escalated")


class UnknownChange(MonitorError):
    """A review names a change that is not recorded."""


def add_review(
    engine: sa.Engine,
    change_id: int,
    reviewer: str,
    verdict: str,
    note: str = "",
    *,
    at: datetime | None = None,
) -> ReviewRow:
    if verdict not in VERDICTS:
        raise ValueError(f"bad verdict {verdict!r}: use one of {', '.join(VERDICTS)}")
    with writing(engine) as session:
        change = session.get(ChangeRow, change_id)
        if change is None:
            raise UnknownChange(f"no change {change_id}; `monitor history` lists them")
        row = ReviewRow(
            change_id=change_id,
            reviewer=reviewer,
            verdict=verdict,
            note=note,
            at=at or datetime.now(UTC),
        )
        session.add(row)
        session.flush()
        audit_log.append(session, audit_log.review_event(row, change.watch_id))
        return row


def reviews_for(engine: sa.Engine, change_id: int) -> list[ReviewRow]:
    """Oldest first."""
    with reading(engine) as session:
        return list(
            session.exec(
                select(ReviewRow)
                .where(ReviewRow.change_id == change_id)
                .order_by(col(ReviewRow.at), col(ReviewRow.id))
            ).all()
        )
