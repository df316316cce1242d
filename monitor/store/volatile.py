"""The volatile lines each watch has learnt (see classify/volatile.py): read before classifying,
written when a check saw lines change only in numbers, times or ids."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from monitor.store.db import reading, writing
from monitor.store.tables import VolatileLineRow, WatchRow


@dataclass(frozen=True)
class Learnt:
    volatile: frozenset[str]  # shapes known volatile
    previous: frozenset[str]  # candidate shapes that changed at the watch's previous check


def load(engine: sa.Engine, watch_id: str) -> Learnt:
    with engine.connect() as connection:
        last_check = connection.execute(_LAST_CHECK, {"watch_id": watch_id}).scalar()
        rows = connection.execute(_LINES, {"watch_id": watch_id}).all()
    return Learnt(
        frozenset(shape for shape, volatile, _seen in rows if volatile),
        frozenset(shape for shape, volatile, seen in rows if not volatile and seen == last_check),
    )


# built once: building a statement costs more than running it (read at every changed check)
_LAST_CHECK = sa.select(col(WatchRow.last_check_at)).where(
    col(WatchRow.id) == sa.bindparam("watch_id")
)
_LINES = sa.select(
    col(VolatileLineRow.shape), col(VolatileLineRow.volatile), col(VolatileLineRow.seen_at)
).where(col(VolatileLineRow.watch_id) == sa.bindparam("watch_id"))


def learn(engine: sa.Engine, watch_id: str, seen: Mapping[str, str], *, at: datetime) -> list[str]:
    """Record the shapes this check saw change (shape → line); a shape that also changed at the
    previous check becomes volatile. Returns the shapes newly learnt volatile."""
    if not seen:
        return []
    with writing(engine) as session:
        return learn_in(session, watch_id, seen, at=at)


def learn_in(
    session: Session, watch_id: str, seen: Mapping[str, str], *, at: datetime
) -> list[str]:
    """`learn` in the caller's write transaction (a new version's, before its check is
    recorded: the watch's last check is still the previous one)."""
    learnt: list[str] = []
    if seen:
        watch = session.get(WatchRow, watch_id)
        last_check = watch.last_check_at if watch is not None else None
        rows = {
            row.shape: row
            for row in session.exec(
                select(VolatileLineRow).where(
                    VolatileLineRow.watch_id == watch_id, col(VolatileLineRow.shape).in_(seen)
                )
            ).all()
        }
        for shape, line in seen.items():
            row = rows.get(shape)
            if row is None:
                session.add(
                    VolatileLineRow(watch_id=watch_id, shape=shape, example=line, seen_at=at)
                )
                continue
            if not row.volatile and row.seen_at == last_check:
                row.volatile, row.learnt_at = True, at
                learnt.append(shape)
            row.example, row.seen_at = line, at
            session.add(row)
    return learnt


def volatile_lines(engine: sa.Engine, watch_id: str) -> list[VolatileLineRow]:
    """The watch's learnt volatile lines, oldest first."""
    with reading(engine) as session:
        return list(
            session.exec(
                select(VolatileLineRow)
                .where(VolatileLineRow.watch_id == watch_id, col(VolatileLineRow.volatile))
                .order_by(col(VolatileLineRow.learnt_at))
            ).all()
        )
