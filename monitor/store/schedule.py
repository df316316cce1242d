"""What scheduling reads and writes: each watch's last check, failures in a row and next check.

`next_check_at` is written by the daemon (and `run --once`) after each check, in batches; it
is advisory: the last check stays the truth, and `next_check_at` only matters while it is later
than `last_check_at`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select, update

from monitor.store.db import reading, writing
from monitor.store.tables import CheckRow, WatchRow

_CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit


@dataclass(frozen=True)
class ScheduleState:
    last_check_at: datetime | None
    next_check_at: datetime | None
    failures_in_row: int
    last_outcome: str | None


@dataclass(frozen=True)
class LastFailure:
    failures_in_row: int
    error_kind: str | None
    status: int | None
    error: str | None


def schedule_states(
    engine: sa.Engine, watch_ids: Iterable[str] | None = None
) -> dict[str, ScheduleState]:
    """The scheduling state of the given watches (all when None) that have a row."""
    columns = (
        col(WatchRow.id),
        col(WatchRow.last_check_at),
        col(WatchRow.next_check_at),
        col(WatchRow.failures_in_row),
        col(WatchRow.last_outcome),
    )
    found: dict[str, ScheduleState] = {}
    with reading(engine) as session:
        if watch_ids is None:
            batches: list[list[str] | None] = [None]
        else:
            ids = list(watch_ids)
            batches = [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]
        for batch in batches:
            query = sa.select(*columns)
            if batch is not None:
                query = query.where(col(WatchRow.id).in_(batch))
            for watch_id, last, nxt, failures, outcome in session.execute(query).all():
                found[watch_id] = ScheduleState(last, nxt, failures, outcome)
    return found


def last_failure(engine: sa.Engine, watch_id: str) -> LastFailure:
    """Failures in a row and what the latest check of the watch failed with."""
    with reading(engine) as session:
        failures = session.exec(
            select(WatchRow.failures_in_row).where(WatchRow.id == watch_id)
        ).first()
        check = session.exec(
            select(CheckRow.error_kind, CheckRow.status, CheckRow.error)
            .where(CheckRow.watch_id == watch_id)
            .order_by(col(CheckRow.at).desc(), col(CheckRow.id).desc())
            .limit(1)
        ).first()
    kind, status, error = check if check is not None else (None, None, None)
    return LastFailure(failures or 0, kind, status, error)


def set_next_checks(engine: sa.Engine, next_checks: Mapping[str, datetime]) -> int:
    """Record when each watch is checked next, in one transaction. Watches without a row yet
    (never checked) are left alone. Returns how many rows were updated."""
    if not next_checks:
        return 0
    with writing(engine) as session:
        existing: set[str] = set()
        ids = list(next_checks)
        for i in range(0, len(ids), _CHUNK):
            existing.update(
                session.exec(
                    select(WatchRow.id).where(col(WatchRow.id).in_(ids[i : i + _CHUNK]))
                ).all()
            )
        rows = [{"id": w, "next_check_at": next_checks[w]} for w in ids if w in existing]
        if rows:
            session.execute(update(WatchRow), rows)
        return len(rows)
