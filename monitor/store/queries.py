"""Reads for history, show, versions, cat and at. Rows come back detached, ready to print."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select

from monitor.store.db import reading
from monitor.store.tables import ChangeRow, CheckRow, SnapshotRow, VersionRow, WatchRow


def changes(engine: sa.Engine, watch_id: str | None = None, *, limit: int = 50) -> list[ChangeRow]:
    """Newest first."""
    with reading(engine) as session:
        query = select(ChangeRow)
        if watch_id:
            query = query.where(ChangeRow.watch_id == watch_id)
        query = query.order_by(col(ChangeRow.detected_at).desc(), col(ChangeRow.id).desc())
        return list(session.exec(query.limit(limit)).all())


def change(engine: sa.Engine, change_id: int) -> ChangeRow | None:
    with reading(engine) as session:
        return session.get(ChangeRow, change_id)


def checks(engine: sa.Engine, watch_id: str, *, limit: int = 50) -> list[CheckRow]:
    with reading(engine) as session:
        return list(
            session.exec(
                select(CheckRow)
                .where(CheckRow.watch_id == watch_id)
                .order_by(col(CheckRow.at).desc(), col(CheckRow.id).desc())
                .limit(limit)
            ).all()
        )


def versions(engine: sa.Engine, watch_id: str) -> list[tuple[VersionRow, SnapshotRow]]:
    """Oldest first, each with the snapshot it came from."""
    with reading(engine) as session:
        rows = session.exec(
            select(VersionRow, SnapshotRow)
            .join(SnapshotRow, col(SnapshotRow.id) == VersionRow.snapshot_id)
            .where(VersionRow.watch_id == watch_id)
            .order_by(col(VersionRow.seq))
        ).all()
        return [(v, s) for v, s in rows]


def version(engine: sa.Engine, version_id: int) -> tuple[VersionRow, SnapshotRow] | None:
    with reading(engine) as session:
        found = session.exec(
            select(VersionRow, SnapshotRow)
            .join(SnapshotRow, col(SnapshotRow.id) == VersionRow.snapshot_id)
            .where(VersionRow.id == version_id)
        ).first()
        return (found[0], found[1]) if found else None


def version_at(engine: sa.Engine, watch_id: str, when: datetime) -> VersionRow | None:
    """The version in force at `when`: the latest one first seen at or before it."""
    with reading(engine) as session:
        return session.exec(
            select(VersionRow)
            .where(VersionRow.watch_id == watch_id, col(VersionRow.seen_at) <= when)
            .order_by(col(VersionRow.seq).desc())
            .limit(1)
        ).first()


def watch_rows(engine: sa.Engine) -> dict[str, WatchRow]:
    with reading(engine) as session:
        return {row.id: row for row in session.exec(select(WatchRow)).all()}


def counts(engine: sa.Engine, watch_id: str) -> tuple[int, int, int]:
    """(checks, versions, changes) recorded for a watch."""
    with reading(engine) as session:
        n_checks = session.exec(
            select(sa.func.count()).select_from(CheckRow).where(CheckRow.watch_id == watch_id)
        ).one()
        n_versions = session.exec(
            select(sa.func.count()).select_from(VersionRow).where(VersionRow.watch_id == watch_id)
        ).one()
        n_changes = session.exec(
            select(sa.func.count()).select_from(ChangeRow).where(ChangeRow.watch_id == watch_id)
        ).one()
        return int(n_checks), int(n_versions), int(n_changes)
