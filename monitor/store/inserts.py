"""The rows of a new version written with SQLAlchemy Core statements built once.

A changed page writes a snapshot, a version, a change, its deliveries, a check and the watch's
state, each with its audit event. Through the ORM that was five flushes and six audit inserts a
version (5–9 ms of the event loop's time a page); here each row is one INSERT whose statement is
compiled once per process, the audit events of the transaction go in one executemany, and the
watch's state is one UPDATE. Same rows, same events, in the same order, in the caller's
transaction."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from monitor import __version__
from monitor.models import FetchResult
from monitor.store import audit_log
from monitor.store.schema import CHANGE as CHANGES
from monitor.store.schema import CHECK as CHECKS
from monitor.store.schema import DELIVERY as DELIVERIES
from monitor.store.schema import SNAPSHOT as SNAPSHOTS
from monitor.store.schema import VERSION as VERSIONS
from monitor.store.schema import WATCH as WATCHES


@dataclass
class Fields:
    """A row's values by column name, read as attributes by the audit payloads (the payload
    functions read rows; building ORM objects costs more than the insert itself)."""

    values: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class Writes:
    """One transaction's Core writes, with its audit events kept in order until `flush`."""

    connection: sa.Connection
    events: list[audit_log.Pending] = field(default_factory=list)

    def insert(self, table: sa.Table, values: dict[str, Any]) -> int:
        result = self.connection.execute(_insert(table), values)
        (row_id,) = result.inserted_primary_key or (None,)
        assert row_id is not None
        values["id"] = row_id
        return int(row_id)

    def flush(self) -> None:
        """Append the events gathered so far to the audit chain (before any other writer in
        the transaction appends its own, so the chain keeps the order the rows were made in)."""
        events, self.events = self.events, []
        if events:
            audit_log.append_many(self.connection, events)

    def snapshot(self, watch_id: str, result: FetchResult, sha256: str) -> tuple[int, str]:
        """The snapshot row of these bytes (an existing one when the watch saw them before).
        Returns (id, sha256)."""
        found = self.connection.execute(_SNAPSHOT_ID, {"watch_id": watch_id, "sha256": sha256})
        existing = found.scalar()
        if existing is not None:
            return int(existing), sha256
        values = {
            "watch_id": watch_id,
            "sha256": sha256,
            "fetched_at": result.fetched_at,
            "size": len(result.body),
            "requested_url": result.requested_url,
            "final_url": result.final_url,
            "status": result.status,
            "content_type": result.content_type,
            "charset": result.charset,
            "fetcher": result.fetcher,
            "monitor_version": __version__,
            "headers": [[name, value] for name, value in result.headers],
        }
        snapshot_id = self.insert(SNAPSHOTS, values)
        self.events.append(audit_log.snapshot_event(Fields(values)))  # type: ignore[arg-type]
        return snapshot_id, sha256

    def version(self, values: dict[str, Any], snapshot_sha256: str) -> int:
        version_id = self.insert(VERSIONS, {**values, "monitor_version": __version__})
        row = Fields({**values, "id": version_id, "monitor_version": __version__})
        self.events.append(audit_log.version_event(row, snapshot_sha256))  # type: ignore[arg-type]
        return version_id

    def change(self, values: dict[str, Any]) -> int:
        values = {**values, "monitor_version": __version__}
        change_id = self.insert(CHANGES, values)
        self.events.append(audit_log.change_event(Fields(values)))  # type: ignore[arg-type]
        return change_id

    def deliveries(
        self, watch_id: str, change_id: int, channels: tuple[str, ...], at: datetime
    ) -> None:
        for channel in channels:
            values = {
                "change_id": change_id,
                "channel": channel,
                "state": "pending",
                "attempts": 0,
                "created_at": at,
                "next_try_at": at,
            }
            self.insert(DELIVERIES, values)
            event = audit_log.delivery_event(Fields(values), watch_id, at)  # type: ignore[arg-type]
            self.events.append(event)

    def check(self, fields: audit_log.CheckFields) -> int:
        values = {
            "watch_id": fields.watch_id,
            "at": fields.at,
            "outcome": fields.outcome,
            "status": fields.status,
            "duration_ms": fields.duration_ms,
            "raw_sha256": fields.raw_sha256,
            "version_id": fields.version_id,
            "error_kind": fields.error_kind,
            "error": fields.error,
        }
        check_id = self.insert(CHECKS, values)
        self.events.append(audit_log.check_event(_with_id(fields, check_id)))
        return check_id

    def good_fetch(self, watch_id: str, values: dict[str, Any]) -> None:
        """The watch's state after a good fetch that recorded a version."""
        self.connection.execute(_update_watch(tuple(sorted(values))), {"b_id": watch_id, **values})


def _with_id(fields: audit_log.CheckFields, check_id: int) -> audit_log.CheckFields:
    from dataclasses import replace

    return replace(fields, id=check_id)


@functools.cache
def _insert(table: sa.Table) -> sa.Insert:
    return table.insert()


@functools.cache
def _update_watch(columns: tuple[str, ...]) -> sa.Update:
    return (
        WATCHES.update()
        .where(WATCHES.c.id == sa.bindparam("b_id"))
        .values({name: sa.bindparam(name) for name in columns})
    )


_SNAPSHOT_ID = sa.select(SNAPSHOTS.c.id).where(
    SNAPSHOTS.c.watch_id == sa.bindparam("watch_id"),
    SNAPSHOTS.c.sha256 == sa.bindparam("sha256"),
)
