"""What a check needs to know about a watch before it fetches: its stored state and latest
version, read in one query per watch or in two queries for a whole pass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from monitor.store.db import connection_of
from monitor.store.schema import SNAPSHOT, VERSION, WATCH

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass(frozen=True)
class LatestVersion:
    id: int
    seq: int
    text_sha256: str
    rules_sha256: str
    snapshot_sha256: str


@dataclass(frozen=True)
class WatchState:
    etag: str | None
    last_modified: str | None
    last_raw_sha256: str | None
    last_rules_sha256: str | None
    rules_sha256: str | None
    needs_browser: bool
    failures_in_row: int
    failure_alerted: bool
    gone: bool
    latest: LatestVersion | None


def load_state(engine: sa.Engine, watch_id: str) -> WatchState:
    with engine.connect() as connection:
        row = connection.execute(_STATES, {"ids": [watch_id]}).first()
        return _state(row, latest_version(connection, watch_id))


def load_states(engine: sa.Engine, watch_ids: list[str]) -> dict[str, WatchState]:
    """Every watch's state in two queries, for a pass over many watches (read as plain rows:
    building a thousand ORM objects cost more than the queries)."""
    states: dict[str, WatchState] = {}
    with engine.connect() as connection:
        for start in range(0, len(watch_ids), 500):
            chunk = watch_ids[start : start + 500]
            rows = {row.id: row for row in connection.execute(_STATES, {"ids": chunk}).all()}
            latest = {
                watch_id: LatestVersion(version_id, seq, text_sha, rules_sha, snapshot_sha)
                for watch_id, version_id, seq, text_sha, rules_sha, snapshot_sha in (
                    connection.execute(_NEWEST, {"ids": chunk}).all()
                )
            }
            for watch_id in chunk:
                states[watch_id] = _state(rows.get(watch_id), latest.get(watch_id))
    return states


def _state(row: sa.Row[Any] | None, latest: LatestVersion | None) -> WatchState:
    return WatchState(
        etag=row.etag if row else None,
        last_modified=row.last_modified if row else None,
        last_raw_sha256=row.last_raw_sha256 if row else None,
        last_rules_sha256=row.last_rules_sha256 if row else None,
        rules_sha256=row.rules_sha256 if row else None,
        needs_browser=row.needs_browser if row else False,
        failures_in_row=row.failures_in_row if row else 0,
        failure_alerted=row.failure_alerted if row else False,
        gone=row.gone if row else False,
        latest=latest,
    )


def recent_text_hashes(engine: sa.Engine, watch_id: str, limit: int) -> list[tuple[int, str]]:
    """(seq, text_sha256) of the watch's latest `limit` versions, newest first."""
    with engine.connect() as connection:
        rows = connection.execute(_RECENT, {"watch_id": watch_id, "limit": limit}).all()
    return [(seq, sha) for seq, sha in rows]


def latest_version(db: sa.Connection | Session, watch_id: str) -> LatestVersion | None:
    found = connection_of(db).execute(_LATEST, {"watch_id": watch_id}).first()
    return LatestVersion(*found) if found is not None else None


# Built once: building a statement costs more than running it on a small table (a check runs
# these once or twice, on the event loop).
_RECENT = (
    sa.select(VERSION.c.seq, VERSION.c.text_sha256)
    .where(VERSION.c.watch_id == sa.bindparam("watch_id"))
    .order_by(VERSION.c.seq.desc())
    .limit(sa.bindparam("limit"))
)
_LATEST = (
    sa.select(
        VERSION.c.id,
        VERSION.c.seq,
        VERSION.c.text_sha256,
        VERSION.c.rules_sha256,
        SNAPSHOT.c.sha256,
    )
    .join(SNAPSHOT, SNAPSHOT.c.id == VERSION.c.snapshot_id)
    .where(VERSION.c.watch_id == sa.bindparam("watch_id"))
    .order_by(VERSION.c.seq.desc())
    .limit(1)
)
_STATES = sa.select(
    *(
        WATCH.c[name]
        for name in (
            "id",
            "etag",
            "last_modified",
            "last_raw_sha256",
            "last_rules_sha256",
            "rules_sha256",
            "needs_browser",
            "failures_in_row",
            "failure_alerted",
            "gone",
        )
    )  # fmt: skip
).where(WATCH.c.id.in_(sa.bindparam("ids", expanding=True)))
_NEWEST_SEQ = (
    sa.select(VERSION.c.watch_id, sa.func.max(VERSION.c.seq).label("seq"))
    .where(VERSION.c.watch_id.in_(sa.bindparam("ids", expanding=True)))
    .group_by(VERSION.c.watch_id)
    .subquery()
)
_NEWEST = (
    sa.select(
        VERSION.c.watch_id,
        VERSION.c.id,
        VERSION.c.seq,
        VERSION.c.text_sha256,
        VERSION.c.rules_sha256,
        SNAPSHOT.c.sha256,
    )
    .join(
        _NEWEST_SEQ,
        sa.and_(VERSION.c.watch_id == _NEWEST_SEQ.c.watch_id, VERSION.c.seq == _NEWEST_SEQ.c.seq),
    )
    .join(SNAPSHOT, SNAPSHOT.c.id == VERSION.c.snapshot_id)
)
