"""The tables. Classes end in `Row`; times are timezone-aware UTC in `*_at` fields; hashes are
SHA-256 hex in `*_sha256` fields; JSON columns hold lists and dicts, never dates as strings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from monitor.store.schema import UTCDateTime


def utc_column(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index))


def json_column(default: Any) -> Any:
    return Field(default_factory=default, sa_column=sa.Column(sa.JSON, nullable=False))


class WatchRow(SQLModel, table=True):
    __tablename__ = "watch"

    id: str = Field(primary_key=True)
    url: str
    created_at: datetime = utc_column(nullable=False)
    last_check_at: datetime | None = utc_column()
    last_outcome: str | None = None
    failures_in_row: int = 0
    failure_alerted: bool = False  # a fetch_problem alert went out for the current streak
    gone: bool = False  # 404/410 seen after the page was live
    etag: str | None = None
    last_modified: str | None = None
    last_raw_sha256: str | None = None  # raw bytes of the last good fetch, to skip re-extracting
    last_rules_sha256: str | None = None
    rules_sha256: str | None = None  # rules the latest version's text is known to agree with
    needs_browser: bool = False  # learnt by fetcher = "auto"
    next_check_at: datetime | None = utc_column()


class SnapshotRow(SQLModel, table=True):
    """Raw fetched bytes, immutable, kept for every version (bodies live under snapshots/)."""

    __tablename__ = "snapshot"
    __table_args__ = (sa.UniqueConstraint("watch_id", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    watch_id: str = Field(foreign_key="watch.id", index=True)
    sha256: str
    fetched_at: datetime = utc_column(nullable=False)
    size: int
    requested_url: str
    final_url: str
    status: int | None = None
    content_type: str | None = None
    charset: str | None = None
    fetcher: str = "http"
    monitor_version: str
    # the response headers as [name, value] pairs, for WARC export (None: recorded before them)
    headers: list[list[str]] | None = Field(
        default=None, sa_column=sa.Column(sa.JSON, nullable=True)
    )


class VersionRow(SQLModel, table=True):
    """Extracted text, recorded only when it differs from the watch's previous version."""

    __tablename__ = "version"
    __table_args__ = (sa.UniqueConstraint("watch_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    watch_id: str = Field(foreign_key="watch.id", index=True)
    seq: int  # 1, 2, 3… per watch; the unique pair stops two processes recording one change twice
    text_sha256: str
    rules_sha256: str
    snapshot_id: int = Field(foreign_key="snapshot.id")
    seen_at: datetime = utc_column(nullable=False)  # fetched_at of the snapshot it came from
    size: int
    monitor_version: str


class CheckRow(SQLModel, table=True):
    """One attempt to fetch a watch, whatever its outcome: the proof that monitoring happened."""

    __tablename__ = "check"
    __table_args__ = (sa.Index("ix_check_watch_at", "watch_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    watch_id: str = Field(foreign_key="watch.id")
    at: datetime = utc_column(nullable=False)
    outcome: str  # first, unchanged, not_modified, changed, noise, revert, failed
    status: int | None = None
    duration_ms: int | None = None
    raw_sha256: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary(32)))
    version_id: int | None = None  # set when this check recorded a version
    error_kind: str | None = None
    error: str | None = None


class ChangeRow(SQLModel, table=True):
    """The diff between two consecutive versions plus its classification; also the events
    outside content (fetch_problem, page_gone, page_restored) which have no versions."""

    __tablename__ = "change"
    __table_args__ = (
        sa.Index("ix_change_watch_at", "watch_id", "detected_at"),
        sa.Index("ix_change_severity_at", "severity", "detected_at"),
        # newest first with the labels at hand: a label filter reads the index, not the rows
        # (SQLite only; PostgreSQL has no b-tree over JSON)
        sa.Index("ix_change_at_labels", "detected_at", "id", "labels").ddl_if(dialect="sqlite"),
    )

    id: int | None = Field(default=None, primary_key=True)
    watch_id: str = Field(foreign_key="watch.id")
    from_version_id: int | None = Field(default=None, foreign_key="version.id")
    to_version_id: int | None = Field(default=None, foreign_key="version.id")
    detected_at: datetime = utc_column(nullable=False, index=True)
    labels: list[str] = json_column(list)
    severity: str = "info"
    summary: str = ""
    score: float = 0.0
    score_factors: dict[str, float] = json_column(dict)
    findings: list[dict[str, Any]] = json_column(list)
    facts: list[dict[str, Any]] = json_column(list)
    diff: dict[str, Any] = json_column(dict)  # diff.diff_to_json of the TextDiff
    lines_added: int = 0
    lines_removed: int = 0
    sections: list[str] = json_column(list)
    monitor_version: str


class DeliveryRow(SQLModel, table=True):
    """One alert to one channel: written with its change, sent by the outbox sender."""

    __tablename__ = "delivery"
    __table_args__ = (
        sa.UniqueConstraint("change_id", "channel"),
        sa.Index("ix_delivery_due", "state", "next_try_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="change.id")
    channel: str
    state: str = "pending"  # pending, sending, sent, failed
    attempts: int = 0
    created_at: datetime = utc_column(nullable=False)
    next_try_at: datetime = utc_column(nullable=False)
    last_error: str | None = None
    sent_at: datetime | None = utc_column()
    remote_id: str | None = None  # Slack ts, webhook response id
    thread_id: str | None = None  # Slack thread ts this delivery replied in


class ReviewRow(SQLModel, table=True):
    __tablename__ = "review"

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="change.id", index=True)
    reviewer: str
    verdict: str
    note: str = ""
    at: datetime = utc_column(nullable=False)


class ReviewerRow(SQLModel, table=True):
    """Someone who may sign changes off in the web UI; only the SHA-256 of the token is kept."""

    __tablename__ = "reviewer"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    token_sha256: str = Field(unique=True)
    created_at: datetime = utc_column(nullable=False)
    removed_at: datetime | None = utc_column()


class ModelLifecycleRow(SQLModel, table=True):
    """The registry: one row per provider model and surface, the latest known state."""

    __tablename__ = "model_lifecycle"
    __table_args__ = (sa.UniqueConstraint("provider", "model", "surface"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str
    model: str = Field(index=True)
    surface: str = "api"
    status: str  # active, legacy, deprecated, retiring, retired
    announced_on: date | None = None
    shutdown_on: date | None = None
    shutdown_qualifier: str | None = None  # "not sooner than", "tentative", "(all regions)"
    replacement: str | None = None
    source_change_id: int | None = Field(default=None, foreign_key="change.id")
    source: str | None = None  # "baseline": read from a watch's first version, not a change
    watch_id: str | None = None
    updated_at: datetime = utc_column(nullable=False)


class ModelEventRow(SQLModel, table=True):
    """Every lifecycle fact ever seen, so a moved date keeps its history."""

    __tablename__ = "model_event"

    id: int | None = Field(default=None, primary_key=True)
    lifecycle_id: int = Field(foreign_key="model_lifecycle.id", index=True)
    event: str  # deprecation_announced, retired, retirement_date_set, date_moved, launched…
    change_id: int | None = Field(default=None, foreign_key="change.id")
    shutdown_on: date | None = None
    previous_shutdown_on: date | None = None
    detail: dict[str, Any] = json_column(dict)
    at: datetime = utc_column(nullable=False)


class ReminderRow(SQLModel, table=True):
    """A shutdown reminder sent to a team: once per model, shutdown date and threshold."""

    __tablename__ = "reminder"
    __table_args__ = (sa.UniqueConstraint("team", "lifecycle_id", "shutdown_on", "days_before"),)

    id: int | None = Field(default=None, primary_key=True)
    team: str
    lifecycle_id: int = Field(foreign_key="model_lifecycle.id", index=True)
    shutdown_on: date
    days_before: int
    change_id: int = Field(foreign_key="change.id")
    at: datetime = utc_column(nullable=False)


class AuditEventRow(SQLModel, table=True):
    """The append-only, hash-chained audit log: one event per recorded row, written in the same
    transaction as the row. `payload` is canonical JSON text, kept byte for byte."""

    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_subject", "subject_table", "subject_id"),)

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = utc_column(nullable=False, index=True)
    kind: str
    watch_id: str | None = None
    subject_table: str
    subject_id: str
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    prev_sha256: str
    sha256: str = Field(unique=True)


class WatchlistRow(SQLModel, table=True):
    """Each watchlist ever loaded to check watches, by hash, byte for byte (for audit export)."""

    __tablename__ = "watchlist"

    sha256: str = Field(primary_key=True)
    name: str
    body: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    first_loaded_at: datetime = utc_column(nullable=False)


class VolatileLineRow(SQLModel, table=True):
    """A line shape of one watch that changes only in numbers, times or ids: a candidate when
    seen changing once, volatile (masked before classifying, never alerted) once it changed at
    two checks in a row."""

    __tablename__ = "volatile_line"
    __table_args__ = (sa.UniqueConstraint("watch_id", "shape"),)

    id: int | None = Field(default=None, primary_key=True)
    watch_id: str = Field(foreign_key="watch.id", index=True)
    shape: str  # the line with its volatile tokens masked
    example: str  # the line as last seen
    volatile: bool = False
    seen_at: datetime = utc_column(nullable=False)  # the check that last saw it change
    learnt_at: datetime | None = utc_column()
