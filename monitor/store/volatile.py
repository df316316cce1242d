"""The volatile lines each watch has learnt (see classify/volatile.py): read before classifying,
written when a check saw lines change only in numbers, times or ids."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from monitor.store.db import connection_of, transaction
from monitor.store.schema import VOLATILE_LINE, WATCH

if TYPE_CHECKING:
    from sqlmodel import Session


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
_LAST_CHECK = sa.select(WATCH.c.last_check_at).where(WATCH.c.id == sa.bindparam("watch_id"))
_LINES = sa.select(VOLATILE_LINE.c.shape, VOLATILE_LINE.c.volatile, VOLATILE_LINE.c.seen_at).where(
    VOLATILE_LINE.c.watch_id == sa.bindparam("watch_id")
)


def learn(engine: sa.Engine, watch_id: str, seen: Mapping[str, str], *, at: datetime) -> list[str]:
    """Record the shapes this check saw change (shape → line); a shape that also changed at the
    previous check becomes volatile. Returns the shapes newly learnt volatile."""
    if not seen:
        return []
    with transaction(engine) as connection:
        return learn_in(connection, watch_id, seen, at=at)


def learn_in(
    db: sa.Connection | Session, watch_id: str, seen: Mapping[str, str], *, at: datetime
) -> list[str]:
    """`learn` in the caller's write transaction (a new version's, before its check is
    recorded: the watch's last check is still the previous one)."""
    learnt: list[str] = []
    if not seen:
        return learnt
    connection = connection_of(db)
    last_check = connection.execute(_LAST_CHECK, {"watch_id": watch_id}).scalar()
    rows = {
        row.shape: row
        for row in connection.execute(
            sa.select(VOLATILE_LINE.c.id, VOLATILE_LINE.c.shape, VOLATILE_LINE.c.volatile,
                      VOLATILE_LINE.c.seen_at)
            .where(VOLATILE_LINE.c.watch_id == watch_id, VOLATILE_LINE.c.shape.in_(list(seen)))
        ).all()
    }  # fmt: skip
    for shape, line in seen.items():
        row = rows.get(shape)
        if row is None:
            connection.execute(
                VOLATILE_LINE.insert(),
                {"watch_id": watch_id, "shape": shape, "example": line, "seen_at": at},
            )
            continue
        values: dict[str, Any] = {"example": line, "seen_at": at}
        if not row.volatile and row.seen_at == last_check:
            values.update(volatile=True, learnt_at=at)
            learnt.append(shape)
        connection.execute(VOLATILE_LINE.update().where(VOLATILE_LINE.c.id == row.id), values)
    return learnt


def volatile_lines(engine: sa.Engine, watch_id: str) -> list[sa.Row[Any]]:
    """The watch's learnt volatile lines, oldest first."""
    with engine.connect() as connection:
        return list(
            connection.execute(
                sa.select(VOLATILE_LINE)
                .where(VOLATILE_LINE.c.watch_id == watch_id, VOLATILE_LINE.c.volatile)
                .order_by(VOLATILE_LINE.c.learnt_at)
            ).all()
        )
