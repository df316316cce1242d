"""What `monitor verify` and `monitor export` read: the chain in seq order, each row against the
latest event naming it, and the period's rows. Everything streams: nothing holds a period."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from monitor.audit.standalone import PASS_KIND
from monitor.store import audit_log
from monitor.store.db import reading
from monitor.store.tables import (
    AuditEventRow,
    ChangeRow,
    CheckRow,
    DeliveryRow,
    ReviewRow,
    SnapshotRow,
    VersionRow,
    WatchlistRow,
    WatchRow,
)

_CHUNK = 2000


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    at: datetime
    kind: str
    watch: str | None
    table: str
    subject_id: str
    payload: str  # canonical JSON text, as stored
    prev_sha256: str
    sha256: str


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(
        row.seq,
        row.at,
        row.kind,
        row.watch_id,
        row.subject_table,
        row.subject_id,
        row.payload,
        row.prev_sha256,
        row.sha256,
    )


def events(
    engine: sa.Engine, first_seq: int = 1, last_seq: int | None = None
) -> Iterator[StoredEvent]:
    """The chain from `first_seq` through `last_seq` (or its head), in seq order."""
    table = AuditEventRow.__table__  # type: ignore[attr-defined]
    query = sa.select(table).where(table.c.seq >= first_seq)
    if last_seq is not None:
        query = query.where(table.c.seq <= last_seq)
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=_CHUNK).execute(query.order_by(table.c.seq))
        try:
            for row in rows:
                yield _stored(row)
        finally:
            rows.close()  # a reader that stops early leaves no server-side cursor open


def event(engine: sa.Engine, seq: int) -> StoredEvent | None:
    for found in events(engine, seq, seq):
        return found
    return None


def period(engine: sa.Engine, since: datetime, until: datetime) -> tuple[int, int] | None:
    """The seq range of the period's events: from the first event at or after `since` through
    the last one before `until`, with whatever lies between (a contiguous slice of the chain)."""
    with reading(engine) as session:
        first = session.exec(
            select(sa.func.min(AuditEventRow.seq)).where(col(AuditEventRow.at) >= since)
        ).one()
        last = session.exec(
            select(sa.func.max(AuditEventRow.seq)).where(col(AuditEventRow.at) < until)
        ).one()
    if first is None or last is None or last < first:
        return None
    return int(first), int(last)


# Rows against the latest event naming them.

_TABLES: dict[str, Any] = {
    "check": CheckRow,
    "snapshot": SnapshotRow,
    "version": VersionRow,
    "change": ChangeRow,
    "delivery": DeliveryRow,
    "review": ReviewRow,
}
AUDITED_TABLES = tuple(_TABLES)


def _payloads(session: Session, table: str, rows: Sequence[Any]) -> dict[int, dict[str, Any]]:
    if table == "version":
        shas = dict(
            session.exec(
                select(SnapshotRow.id, SnapshotRow.sha256).where(
                    col(SnapshotRow.id).in_({r.snapshot_id for r in rows})
                )
            ).all()
        )
        return {
            r.id: audit_log.plain_payload(audit_log.version_payload(r, shas.get(r.snapshot_id, "")))
            for r in rows
        }
    build: Any = {
        "check": audit_log.check_payload,
        "snapshot": audit_log.snapshot_payload,
        "change": audit_log.change_payload,
        "delivery": audit_log.delivery_payload,
        "review": audit_log.review_payload,
    }[table]
    return {r.id: audit_log.plain_payload(build(r)) for r in rows}


def rows_against_events(
    engine: sa.Engine, table: str
) -> Iterator[tuple[int, dict[str, Any], int | None, dict[str, Any] | None]]:
    """Every row of `table`: (row id, its payload now, the latest event's seq and payload, or
    None when no event names it), in id order."""
    model = _TABLES[table]
    with reading(engine) as session:
        after = 0
        while True:
            rows = session.exec(
                select(model).where(model.id > after).order_by(model.id).limit(_CHUNK)
            ).all()
            if not rows:
                return
            after = rows[-1].id
            now = _payloads(session, table, rows)
            latest: dict[int, tuple[int, dict[str, Any]]] = {}
            for seq, subject_id, payload in session.execute(
                select(AuditEventRow.seq, AuditEventRow.subject_id, AuditEventRow.payload)
                .where(
                    AuditEventRow.subject_table == table,
                    col(AuditEventRow.subject_id).in_([str(r.id) for r in rows]),
                )
                .order_by(col(AuditEventRow.seq))
            ).all():
                latest[int(subject_id)] = (seq, audit_log.payload_of(payload))
            for row in rows:
                seq_payload = latest.get(row.id)
                if seq_payload is None:
                    yield row.id, now[row.id], None, None
                else:
                    yield row.id, now[row.id], seq_payload[0], seq_payload[1]
            session.expunge_all()


def events_without_rows(engine: sa.Engine, table: str) -> Iterator[tuple[int, str]]:
    """(seq, subject id) of events naming a row of `table` that is no longer there."""
    model = _TABLES[table]
    events_table = AuditEventRow.__table__  # type: ignore[attr-defined]
    rows_table = model.__table__
    query = (
        sa.select(events_table.c.seq, events_table.c.subject_id)
        .select_from(
            events_table.outerjoin(
                rows_table,
                rows_table.c.id == sa.cast(events_table.c.subject_id, sa.Integer),
            )
        )
        .where(events_table.c.subject_table == table, rows_table.c.id.is_(None))
        .order_by(events_table.c.seq)
    )
    with engine.connect() as conn:
        for seq, subject_id in conn.execute(query):
            yield int(seq), str(subject_id)


# Passes of checks, recorded by one `check_pass` event each.


def check_passes(engine: sa.Engine) -> Iterator[tuple[int, dict[str, Any]]]:
    """(seq, payload) of each `check_pass` event, in seq order."""
    table = AuditEventRow.__table__  # type: ignore[attr-defined]
    query = sa.select(table.c.seq, table.c.payload).where(table.c.subject_table == PASS_KIND)
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=_CHUNK).execute(query.order_by(table.c.seq))
        try:
            for seq, payload in rows:
                yield int(seq), audit_log.payload_of(payload)
        finally:
            rows.close()


def check_records(engine: sa.Engine, ranges: Sequence[Sequence[int]]) -> Iterator[dict[str, Any]]:
    """The records (audit_log.check_record) of the checks whose ids lie in `ranges` (inclusive
    [first, last] pairs), in the ranges' order and id order within each."""
    table = CheckRow.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        for first, last in ranges:
            for start in range(first, last + 1, _CHUNK):
                end = min(last, start + _CHUNK - 1)
                for row in conn.execute(
                    sa.select(table).where(table.c.id.between(start, end)).order_by(table.c.id)
                ):
                    yield audit_log.check_record(row)


def body_hashes(engine: sa.Engine) -> Iterator[tuple[str, str]]:
    """(what, sha256) of every body the rows name: raw snapshots and version texts."""
    with reading(engine) as session:
        for sha in session.exec(select(SnapshotRow.sha256).distinct()).all():
            yield "snapshot", sha
        for sha in session.exec(select(VersionRow.text_sha256).distinct()).all():
            yield "version text", sha


def watchlists(engine: sa.Engine) -> Iterator[tuple[str, bytes]]:
    with reading(engine) as session:
        yield from session.exec(select(WatchlistRow.sha256, WatchlistRow.body)).all()


def watchlist(engine: sa.Engine, sha256: str) -> bytes | None:
    with reading(engine) as session:
        row = session.get(WatchlistRow, sha256)
        return row.body if row else None


# The period's rows, for export.


def changes_by_id(engine: sa.Engine, ids: Sequence[int]) -> Iterator[ChangeRow]:
    with reading(engine) as session:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            yield from session.exec(
                select(ChangeRow).where(col(ChangeRow.id).in_(chunk)).order_by(col(ChangeRow.id))
            ).all()


def snapshots_by_sha(engine: sa.Engine, shas: Sequence[str]) -> Iterator[SnapshotRow]:
    """One snapshot row per hash (the first recorded), in hash order."""
    seen: set[str] = set()
    with reading(engine) as session:
        for start in range(0, len(shas), _CHUNK):
            chunk = shas[start : start + _CHUNK]
            for row in session.exec(
                select(SnapshotRow)
                .where(col(SnapshotRow.sha256).in_(chunk))
                .order_by(col(SnapshotRow.sha256), col(SnapshotRow.id))
            ).all():
                if row.sha256 not in seen:
                    seen.add(row.sha256)
                    yield row


def in_force(
    engine: sa.Engine, watch_ids: Sequence[str], when: datetime
) -> Iterator[tuple[str, VersionRow | None, SnapshotRow | None, CheckRow | None, CheckRow | None]]:
    """For each watch: the version in force at `when`, its snapshot, the last check at or before
    `when` that saw the page (any outcome but failed), and the first check after `when`."""
    with reading(engine) as session:
        for watch_id in watch_ids:
            found = session.exec(
                select(VersionRow, SnapshotRow)
                .join(SnapshotRow, col(SnapshotRow.id) == VersionRow.snapshot_id)
                .where(VersionRow.watch_id == watch_id, col(VersionRow.seen_at) <= when)
                .order_by(col(VersionRow.seq).desc())
                .limit(1)
            ).first()
            before = session.exec(
                select(CheckRow)
                .where(
                    CheckRow.watch_id == watch_id,
                    col(CheckRow.at) <= when,
                    CheckRow.outcome != "failed",
                )
                .order_by(col(CheckRow.at).desc(), col(CheckRow.id).desc())
                .limit(1)
            ).first()
            after = session.exec(
                select(CheckRow)
                .where(CheckRow.watch_id == watch_id, col(CheckRow.at) > when)
                .order_by(col(CheckRow.at), col(CheckRow.id))
                .limit(1)
            ).first()
            version, snapshot = found if found else (None, None)
            yield watch_id, version, snapshot, before, after


def known_watches(engine: sa.Engine) -> list[str]:
    with reading(engine) as session:
        return sorted(session.exec(select(WatchRow.id)).all())
