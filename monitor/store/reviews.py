"""Reviews of changes: a verdict and a note by a named reviewer. Reviews are never edited or
deleted; a newer review of the same change supersedes the older ones."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import col, select

from monitor.errors import MonitorError
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
        if session.get(ChangeRow, change_id) is None:
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
        return row


def reviews_for(engine: sa.Engine, change_id: int) -> list[ReviewRow]:
    """Oldest first: the last one is the review in force."""
    with reading(engine) as session:
        return list(
            session.exec(
                select(ReviewRow)
                .where(ReviewRow.change_id == change_id)
                .order_by(col(ReviewRow.at), col(ReviewRow.id))
            )
        )
