"""What the review web UI reads: pages of changes with filters, a watch's timeline, the latest
review of each change, the deliveries of a change, and checks for coverage. Every list is a
page of at most `limit` rows found through an index, so a page costs the same at any size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel, col, select

from monitor.store.db import reading
from monitor.store.tables import (
    ChangeRow,
    CheckRow,
    DeliveryRow,
    ReviewRow,
    SnapshotRow,
    UTCDateTime,
    VersionRow,
    WatchRow,
)

REVIEW_STATES = ("unreviewed", "reviewed", "acknowledged", "dismissed", "escalated")


def ensure_indexes(engine: sa.Engine) -> None:
    """Create the indexes the tables declare that an older database lacks."""
    for table in SQLModel.metadata.sorted_tables:
        for index in table.indexes:
            index.create(engine, checkfirst=True)


@dataclass(frozen=True)
class ChangeFilter:
    watch: str | None = None
    label: str | None = None
    severity: str | None = None
    review: str | None = None  # one of REVIEW_STATES
    before: int | None = None  # a change id: only changes listed after it (older)
    before_at: datetime | None = None  # only changes detected before this time


def _latest_review_verdict() -> sa.ScalarSelect[str]:
    return (
        sa.select(col(ReviewRow.verdict))
        .where(col(ReviewRow.change_id) == col(ChangeRow.id))
        .order_by(col(ReviewRow.at).desc(), col(ReviewRow.id).desc())
        .limit(1)
        .scalar_subquery()
    )


def _filtered(query: Any, where: ChangeFilter) -> Any:
    if where.watch:
        query = query.where(ChangeRow.watch_id == where.watch)
    if where.severity and where.watch:
        # keep the planner on the watch's index: one watch's changes are few, one severity's many
        query = query.where(sa.func.coalesce(col(ChangeRow.severity), "") == where.severity)
    elif where.severity:
        query = query.where(ChangeRow.severity == where.severity)
    if where.label:
        quoted = '"' + where.label.replace("\\", "").replace('"', "") + '"'
        query = query.where(sa.cast(col(ChangeRow.labels), sa.Text).contains(quoted))
    reviewed = sa.exists().where(col(ReviewRow.change_id) == col(ChangeRow.id))
    if where.review == "unreviewed":
        query = query.where(~reviewed)
    elif where.review == "reviewed":
        query = query.where(reviewed)
    elif where.review in REVIEW_STATES:
        query = query.where(_latest_review_verdict() == where.review)
    if where.before_at is not None:
        query = query.where(col(ChangeRow.detected_at) < where.before_at)
    return query


def change_page(
    engine: sa.Engine, where: ChangeFilter, *, limit: int = 50
) -> tuple[list[ChangeRow], bool]:
    """Newest first; the bool says whether older changes follow."""
    query = _filtered(select(ChangeRow), where)
    with reading(engine) as session:
        anchor = session.get(ChangeRow, where.before) if where.before is not None else None
        if anchor is not None:
            at, change_id = col(ChangeRow.detected_at), col(ChangeRow.id)
            query = query.where(
                (at < anchor.detected_at) | ((at == anchor.detected_at) & (change_id < anchor.id))
            )
        query = query.order_by(col(ChangeRow.detected_at).desc(), col(ChangeRow.id).desc())
        rows = list(session.exec(query.limit(limit + 1)).all())
    return rows[:limit], len(rows) > limit


def latest_verdicts(engine: sa.Engine, change_ids: list[int]) -> dict[int, tuple[str, str]]:
    """change id → (verdict, reviewer) of the review in force, for the changes that have one."""
    if not change_ids:
        return {}
    found: dict[int, tuple[str, str]] = {}
    with reading(engine) as session:
        rows = session.exec(
            select(ReviewRow)
            .where(col(ReviewRow.change_id).in_(change_ids))
            .order_by(col(ReviewRow.at), col(ReviewRow.id))
        ).all()
    for row in rows:
        found[row.change_id] = (row.verdict, row.reviewer)
    return found


def unreviewed_counts(engine: sa.Engine) -> dict[str, int]:
    """watch id → changes without any review."""
    reviewed = sa.exists().where(col(ReviewRow.change_id) == col(ChangeRow.id))
    with reading(engine) as session:
        rows = session.execute(
            sa.select(col(ChangeRow.watch_id), sa.func.count())
            .where(~reviewed)
            .group_by(col(ChangeRow.watch_id))
        ).all()
    return {watch_id: int(n) for watch_id, n in rows}


@dataclass(frozen=True)
class CheckSpan:
    """A watch's successful checks since some time: how many, the first and last, and the
    stretches between two of them longer than the threshold asked for."""

    succeeded: int
    first_at: datetime
    last_at: datetime
    long_gaps: list[tuple[datetime, datetime]]


def _seconds_between(earlier: Any, later: Any, dialect: str) -> Any:
    if dialect == "sqlite":
        return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400
    return sa.func.extract("epoch", later - earlier)


def check_spans(engine: sa.Engine, since: datetime, min_gap: float) -> dict[str, CheckSpan]:
    """watch id → its successful checks since `since`, with every gap over `min_gap` seconds
    between two of them. Two grouped queries, whatever the number of checks."""
    at, watch_id = col(CheckRow.at), col(CheckRow.watch_id)
    ok = (at >= since) & (col(CheckRow.outcome) != "failed")
    previous = sa.func.lag(at).over(partition_by=watch_id, order_by=at).label("previous")
    ordered = sa.select(watch_id.label("watch_id"), at.label("at"), previous).where(ok).subquery()
    gap = _seconds_between(ordered.c.previous, ordered.c.at, engine.dialect.name)
    spans: dict[str, CheckSpan] = {}
    with reading(engine) as session:
        totals = session.execute(
            sa.select(watch_id, sa.func.count(), sa.func.min(at), sa.func.max(at))
            .where(ok)
            .group_by(watch_id)
        ).all()
        gaps = session.execute(
            sa.select(ordered.c.watch_id, ordered.c.previous, ordered.c.at).where(
                ordered.c.previous.is_not(None), gap > min_gap
            )
        ).all()
    kind = UTCDateTime()
    for found_id, count, first, last in totals:
        spans[found_id] = CheckSpan(int(count), _utc(kind, first), _utc(kind, last), [])
    for found_id, before, after in gaps:
        spans[found_id].long_gaps.append((_utc(kind, before), _utc(kind, after)))
    return spans


def _utc(kind: UTCDateTime, value: Any) -> datetime:
    """Aggregates and window functions come back untyped: a string on SQLite."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    converted = kind.process_result_value(value, None)
    assert converted is not None
    return converted


def watch_row(engine: sa.Engine, watch_id: str) -> WatchRow | None:
    with reading(engine) as session:
        return session.get(WatchRow, watch_id)


@dataclass(frozen=True)
class Timeline:
    checks: list[CheckRow]
    versions: list[tuple[VersionRow, SnapshotRow]]
    changes: list[ChangeRow]


def timeline(
    engine: sa.Engine,
    watch_id: str,
    *,
    before: datetime | None = None,
    limit: int = 100,
    check_limit: int | None = None,
    label: str | None = None,
    severity: str | None = None,
) -> Timeline:
    """The newest `limit` checks, versions and changes of a watch before `before`. With a label
    or severity, only the changes that match (checks and versions have neither)."""
    filtered = bool(label or severity)
    where = ChangeFilter(watch=watch_id, label=label, severity=severity, before_at=before)
    changes, _ = change_page(engine, where, limit=limit)
    if filtered:
        return Timeline([], [], changes)
    with reading(engine) as session:
        checks_query = select(CheckRow).where(CheckRow.watch_id == watch_id)
        versions_query = (
            select(VersionRow, SnapshotRow)
            .join(SnapshotRow, col(SnapshotRow.id) == VersionRow.snapshot_id)
            .where(VersionRow.watch_id == watch_id)
        )
        if before is not None:
            checks_query = checks_query.where(col(CheckRow.at) < before)
            versions_query = versions_query.where(col(VersionRow.seen_at) < before)
        checks = list(
            session.exec(
                checks_query.order_by(col(CheckRow.at).desc(), col(CheckRow.id).desc()).limit(limit)
            ).all()
        )
        versions = [
            (v, s)
            for v, s in session.exec(
                versions_query.order_by(col(VersionRow.seq).desc()).limit(limit)
            ).all()
        ]
    return Timeline(checks, versions, changes)


def recent_versions(engine: sa.Engine, watch_id: str, limit: int) -> list[VersionRow]:
    """The watch's newest `limit` versions, newest first."""
    with reading(engine) as session:
        return list(
            session.exec(
                select(VersionRow)
                .where(VersionRow.watch_id == watch_id)
                .order_by(col(VersionRow.seq).desc())
                .limit(limit)
            ).all()
        )


def deliveries_for(engine: sa.Engine, change_id: int) -> list[DeliveryRow]:
    with reading(engine) as session:
        return list(
            session.exec(
                select(DeliveryRow)
                .where(DeliveryRow.change_id == change_id)
                .order_by(col(DeliveryRow.channel))
            ).all()
        )
