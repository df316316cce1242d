"""Appending to the audit log, in the transaction of the row each event records.

Appends are serialised with the row writes, so two processes never fork the chain: on SQLite
every write transaction already holds the database's write lock (BEGIN IMMEDIATE); on
PostgreSQL the first append of a transaction takes a transaction-level advisory lock before it
reads the chain's head; elsewhere the head row is read FOR UPDATE. The head is then kept in the
connection for the transaction's further appends.

Writers pass an ORM session or a Core connection (the paths a check takes run on Core, see
schema.py); the payloads read any row with the columns as attributes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from monitor.audit.chain import (
    GENESIS,
    Event,
    canonical,
    digest,
    dumps,
    event_sha256,
    plain,
    utc_text,
    without_floats,
)
from monitor.audit.standalone import PASS_KIND, pass_payload
from monitor.store.db import connection_of
from monitor.store.schema import AUDIT_EVENT, WATCHLIST

if TYPE_CHECKING:
    from sqlmodel import Session

    from monitor.store.tables import (
        ChangeRow,
        CheckRow,
        DeliveryRow,
        ReviewRow,
        SnapshotRow,
        VersionRow,
    )

CHAIN_LOCK_KEY = 0x6D6F6E61756474  # "monaudt": the advisory lock PostgreSQL writers share
_HEAD = "audit_head"


@dataclass(frozen=True)
class Pending:
    """An event to append: its seq and hashes are given when it joins the chain."""

    kind: str
    at: datetime
    watch_id: str | None
    table: str
    subject_id: str | int
    payload: dict[str, Any]


def _head(connection: sa.Connection) -> tuple[int, str]:
    cached = connection.info.get(_HEAD)
    if cached is not None and cached[0] is connection.get_transaction():
        return cached[1], cached[2]
    dialect = connection.dialect.name
    query = _HEAD_ROW
    if dialect == "postgresql":
        connection.execute(_CHAIN_LOCK, {"key": CHAIN_LOCK_KEY})
    elif dialect != "sqlite":
        query = query.with_for_update()
    found = connection.execute(query).first()
    return (found[0], found[1]) if found else (0, GENESIS)


# built once: building a statement costs more than running it
_HEAD_ROW = (
    sa.select(AUDIT_EVENT.c.seq, AUDIT_EVENT.c.sha256).order_by(AUDIT_EVENT.c.seq.desc()).limit(1)
)
_CHAIN_LOCK = sa.text("SELECT pg_advisory_xact_lock(:key)")
_INSERT = AUDIT_EVENT.insert()


def append_many(db: sa.Connection | Session, events: Sequence[Pending]) -> int:
    """Chain `events` after the head, in order, in the transaction of `db` (a connection or an
    ORM session). Returns the last seq."""
    connection = connection_of(db)
    seq, prev = _head(connection)
    rows = []
    for item in events:
        seq += 1
        event = Event(
            seq, item.at, item.kind, item.watch_id, item.table, str(item.subject_id), item.payload
        )
        body = event.body()
        sha = event_sha256(prev, body)
        rows.append(
            {
                "seq": seq,
                "at": item.at,
                "kind": item.kind,
                "watch_id": item.watch_id,
                "subject_table": item.table,
                "subject_id": str(item.subject_id),
                "payload": dumps(body["payload"]).decode("utf-8"),
                "prev_sha256": prev,
                "sha256": sha,
            }
        )
        prev = sha
    if rows:
        connection.execute(_INSERT, rows)
    # kept for the transaction's further appends (the info outlives it: the transaction says
    # whether the head is still this one's)
    connection.info[_HEAD] = (connection.get_transaction(), seq, prev)
    return seq


def append(db: sa.Connection | Session, item: Pending) -> int:
    return append_many(db, [item])


# Payloads: what each event binds of its row. `monitor verify` recomputes them from the rows.


def check_payload(row: CheckRow | CheckFields) -> dict[str, Any]:
    return {
        "outcome": row.outcome,
        "status": row.status,
        "duration_ms": row.duration_ms,
        "raw_sha256": row.raw_sha256.hex() if row.raw_sha256 else None,
        "version_id": row.version_id,
        "error_kind": row.error_kind,
        "error": row.error,
    }


@dataclass(frozen=True)
class CheckFields:
    """A check row's fields, for the batch writer (building row objects costs more than the
    event itself)."""

    id: int
    watch_id: str
    at: datetime
    outcome: str
    status: int | None
    duration_ms: int | None
    raw_sha256: bytes | None
    version_id: int | None = None
    error_kind: str | None = None
    error: str | None = None


def check_event(row: CheckRow | CheckFields) -> Pending:
    assert row.id is not None
    return Pending("check", row.at, row.watch_id, "check", row.id, check_payload(row))


def check_record(row: Any) -> dict[str, Any]:
    """A check (a CheckRow, CheckFields or a row of the check table) as a `check_pass` event
    commits to it and checks.jsonl carries it, as plain data."""
    record: dict[str, Any] = plain(check_payload(row))
    record.update(id=row.id, watch=row.watch_id, at=utc_text(row.at))
    return record


def check_pass_event(checks: Sequence[CheckRow | CheckFields]) -> Pending:
    """One event for a pass of checks written together: it names their ids and commits to each
    check's record (see standalone.py), so an altered or deleted check still breaks
    verification, at the cost of a few bytes per check instead of an event each."""
    records = sorted((check_record(row) for row in checks), key=lambda r: int(r["id"]))
    at = max(row.at for row in checks)
    return Pending(PASS_KIND, at, None, PASS_KIND, records[0]["id"], pass_payload(records))


def snapshot_payload(row: SnapshotRow) -> dict[str, Any]:
    return {
        "sha256": row.sha256,
        "size": row.size,
        "fetched_at": row.fetched_at,
        "requested_url": row.requested_url,
        "final_url": row.final_url,
        "status": row.status,
        "content_type": row.content_type,
        "charset": row.charset,
        "fetcher": row.fetcher,
        "headers_sha256": digest(row.headers) if row.headers is not None else None,
        "monitor_version": row.monitor_version,
    }


def snapshot_event(row: SnapshotRow) -> Pending:
    assert row.id is not None
    return Pending(
        "snapshot", row.fetched_at, row.watch_id, "snapshot", row.id, snapshot_payload(row)
    )


def version_payload(row: VersionRow, snapshot_sha256: str) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "text_sha256": row.text_sha256,
        "rules_sha256": row.rules_sha256,
        "snapshot_id": row.snapshot_id,
        "snapshot_sha256": snapshot_sha256,
        "seen_at": row.seen_at,
        "size": row.size,
        "monitor_version": row.monitor_version,
    }


def version_event(row: VersionRow, snapshot_sha256: str) -> Pending:
    assert row.id is not None
    payload = version_payload(row, snapshot_sha256)
    return Pending("version", row.seen_at, row.watch_id, "version", row.id, payload)


def change_content(row: ChangeRow) -> dict[str, Any]:
    """A change's classification and diff, floats as text: what `content_sha256` hashes and
    what a bundle's changes/ID.json carries."""
    return without_floats(
        {
            "labels": list(row.labels),
            "severity": row.severity,
            "summary": row.summary,
            "score": row.score,
            "score_factors": dict(row.score_factors),
            "findings": list(row.findings),
            "facts": list(row.facts),
            "diff": dict(row.diff),
            "lines_added": row.lines_added,
            "lines_removed": row.lines_removed,
            "sections": list(row.sections),
        }
    )


def change_payload(row: ChangeRow) -> dict[str, Any]:
    return {
        "from_version_id": row.from_version_id,
        "to_version_id": row.to_version_id,
        "detected_at": row.detected_at,
        "labels": list(row.labels),
        "severity": row.severity,
        "content_sha256": digest(change_content(row)),
        "monitor_version": row.monitor_version,
    }


def change_event(row: ChangeRow, *, kind: str = "change", at: datetime | None = None) -> Pending:
    assert row.id is not None
    when = at or row.detected_at
    return Pending(kind, when, row.watch_id, "change", row.id, change_payload(row))


def delivery_payload(row: DeliveryRow) -> dict[str, Any]:
    payload: dict[str, Any] = {"change_id": row.change_id, "channel": row.channel}
    if row.state == "sent":
        payload.update(sent_at=row.sent_at, remote_id=row.remote_id, attempts=row.attempts)
    elif row.state == "failed":
        payload.update(last_error=row.last_error, attempts=row.attempts)
    return payload


def delivery_event(row: DeliveryRow, watch_id: str | None, at: datetime) -> Pending:
    """`delivery` when enqueued; `delivery_sent` or `delivery_failed` when it ends."""
    assert row.id is not None
    kind = {"sent": "delivery_sent", "failed": "delivery_failed"}.get(row.state, "delivery")
    return Pending(kind, at, watch_id, "delivery", row.id, delivery_payload(row))


def review_payload(row: ReviewRow) -> dict[str, Any]:
    return {
        "change_id": row.change_id,
        "reviewer": row.reviewer,
        "verdict": row.verdict,
        "note": row.note,
        "at": row.at,
    }


def review_event(row: ReviewRow, watch_id: str | None) -> Pending:
    assert row.id is not None
    return Pending("review", row.at, watch_id, "review", row.id, review_payload(row))


def watchlist_event(sha256: str, name: str, size: int, watches: int, at: datetime) -> Pending:
    payload = {"sha256": sha256, "name": name, "size": size, "watches": watches}
    return Pending("watchlist", at, None, "watchlist", sha256, payload)


def payload_of(row_payload: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(row_payload)
    return loaded


def record_events(db: sa.Connection | Session, rows: Iterable[Pending]) -> None:
    append_many(db, list(rows))


def record_watchlist(engine: sa.Engine, body: bytes, name: str, watches: int, at: datetime) -> str:
    """A watchlist was loaded to check watches: the chain records its hash, and its bytes are
    kept by hash. Returns the hash."""
    import hashlib

    from monitor.store.db import transaction

    sha = hashlib.sha256(body).hexdigest()
    with transaction(engine) as connection:
        _head(connection)  # holds the chain's lock, so two processes starting at once take turns
        known = connection.execute(sa.select(WATCHLIST.c.sha256).where(WATCHLIST.c.sha256 == sha))
        if known.first() is None:
            connection.execute(
                WATCHLIST.insert(),
                {"sha256": sha, "name": name, "body": body, "first_loaded_at": at},
            )
        append(connection, watchlist_event(sha, name, len(body), watches, at))
    return sha


def plain_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A payload as it reads back from the chain (times as text, bytes as hex)."""
    loaded: dict[str, Any] = json.loads(canonical(payload))
    return loaded
