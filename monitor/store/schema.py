"""The tables as SQLAlchemy Core `Table` objects, for the paths a check takes (its state, its
writes, the audit chain, the outbox), which need neither sqlmodel nor pydantic at start-up.

tables.py declares the same tables as SQLModel classes for the rest of the store and for the
migrations; tests/test_schema_core.py fails when the two disagree on any table, column, type,
nullability, key or index. Column defaults here are the Python-side defaults of tables.py, so
an INSERT that leaves a column out writes what the ORM would have written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always gives back timezone-aware UTC (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware times")
        return value.astimezone(UTC).replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


METADATA = sa.MetaData()


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Integer, primary_key=True)


def _at(name: str, *, nullable: bool = False, index: bool = False) -> sa.Column[Any]:
    return sa.Column(name, UTCDateTime(), nullable=nullable, index=index)


def _text(name: str, *, nullable: bool = False, **options: Any) -> sa.Column[Any]:
    return sa.Column(name, sa.String, nullable=nullable, **options)


def _int(name: str, *, nullable: bool = False, **options: Any) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer, nullable=nullable, **options)


def _flag(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Boolean, nullable=False, default=False)


def _ref(name: str, target: str, *, nullable: bool = False, index: bool = False) -> sa.Column[Any]:
    kind = sa.String if target == "watch.id" else sa.Integer
    return sa.Column(name, kind, sa.ForeignKey(target), nullable=nullable, index=index)


def _json(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON, nullable=nullable)


WATCH = sa.Table(
    "watch",
    METADATA,
    _text("id", primary_key=True),
    _text("url"),
    _at("created_at"),
    _at("last_check_at", nullable=True),
    _text("last_outcome", nullable=True),
    _int("failures_in_row", default=0),
    _flag("failure_alerted"),
    _flag("gone"),
    _text("etag", nullable=True),
    _text("last_modified", nullable=True),
    _text("last_raw_sha256", nullable=True),
    _text("last_rules_sha256", nullable=True),
    _text("rules_sha256", nullable=True),
    _flag("needs_browser"),
    _at("next_check_at", nullable=True),
)

SNAPSHOT = sa.Table(
    "snapshot",
    METADATA,
    _id(),
    _ref("watch_id", "watch.id", index=True),
    _text("sha256"),
    _at("fetched_at"),
    _int("size"),
    _text("requested_url"),
    _text("final_url"),
    _int("status", nullable=True),
    _text("content_type", nullable=True),
    _text("charset", nullable=True),
    _text("fetcher", default="http"),
    _text("monitor_version"),
    _json("headers", nullable=True),
    sa.UniqueConstraint("watch_id", "sha256"),
)

VERSION = sa.Table(
    "version",
    METADATA,
    _id(),
    _ref("watch_id", "watch.id", index=True),
    _int("seq"),
    _text("text_sha256"),
    _text("rules_sha256"),
    _ref("snapshot_id", "snapshot.id"),
    _at("seen_at"),
    _int("size"),
    _text("monitor_version"),
    sa.UniqueConstraint("watch_id", "seq"),
)

CHECK = sa.Table(
    "check",
    METADATA,
    _id(),
    _ref("watch_id", "watch.id"),
    _at("at"),
    _text("outcome"),
    _int("status", nullable=True),
    _int("duration_ms", nullable=True),
    sa.Column("raw_sha256", sa.LargeBinary(32), nullable=True),
    _int("version_id", nullable=True),
    _text("error_kind", nullable=True),
    _text("error", nullable=True),
    sa.Index("ix_check_watch_at", "watch_id", "at"),
)

CHANGE = sa.Table(
    "change",
    METADATA,
    _id(),
    _ref("watch_id", "watch.id"),
    _ref("from_version_id", "version.id", nullable=True),
    _ref("to_version_id", "version.id", nullable=True),
    _at("detected_at", index=True),
    _json("labels"),
    _text("severity", default="info"),
    _text("summary", default=""),
    sa.Column("score", sa.Float, nullable=False, default=0.0),
    _json("score_factors"),
    _json("findings"),
    _json("facts"),
    _json("diff"),
    _int("lines_added", default=0),
    _int("lines_removed", default=0),
    _json("sections"),
    _text("monitor_version"),
    sa.Index("ix_change_watch_at", "watch_id", "detected_at"),
    sa.Index("ix_change_severity_at", "severity", "detected_at"),
    sa.Index("ix_change_at_labels", "detected_at", "id", "labels").ddl_if(dialect="sqlite"),
)

DELIVERY = sa.Table(
    "delivery",
    METADATA,
    _id(),
    _ref("change_id", "change.id"),
    _text("channel"),
    _text("state", default="pending"),
    _int("attempts", default=0),
    _at("created_at"),
    _at("next_try_at"),
    _text("last_error", nullable=True),
    _at("sent_at", nullable=True),
    _text("remote_id", nullable=True),
    _text("thread_id", nullable=True),
    sa.UniqueConstraint("change_id", "channel"),
    sa.Index("ix_delivery_due", "state", "next_try_at"),
)

REVIEW = sa.Table(
    "review",
    METADATA,
    _id(),
    _ref("change_id", "change.id", index=True),
    _text("reviewer"),
    _text("verdict"),
    _text("note", default=""),
    _at("at"),
)

REVIEWER = sa.Table(
    "reviewer",
    METADATA,
    _id(),
    _text("name", index=True),
    _text("token_sha256", unique=True),
    _at("created_at"),
    _at("removed_at", nullable=True),
)

MODEL_LIFECYCLE = sa.Table(
    "model_lifecycle",
    METADATA,
    _id(),
    _text("provider"),
    _text("model", index=True),
    _text("surface", default="api"),
    _text("status"),
    sa.Column("announced_on", sa.Date, nullable=True),
    sa.Column("shutdown_on", sa.Date, nullable=True),
    _text("shutdown_qualifier", nullable=True),
    _text("replacement", nullable=True),
    _ref("source_change_id", "change.id", nullable=True),
    _text("source", nullable=True),
    _text("watch_id", nullable=True),
    _at("updated_at"),
    sa.UniqueConstraint("provider", "model", "surface"),
)

MODEL_EVENT = sa.Table(
    "model_event",
    METADATA,
    _id(),
    _ref("lifecycle_id", "model_lifecycle.id", index=True),
    _text("event"),
    _ref("change_id", "change.id", nullable=True),
    sa.Column("shutdown_on", sa.Date, nullable=True),
    sa.Column("previous_shutdown_on", sa.Date, nullable=True),
    _json("detail"),
    _at("at"),
)

REMINDER = sa.Table(
    "reminder",
    METADATA,
    _id(),
    _text("team"),
    _ref("lifecycle_id", "model_lifecycle.id", index=True),
    sa.Column("shutdown_on", sa.Date, nullable=False),
    _int("days_before"),
    _ref("change_id", "change.id"),
    _at("at"),
    sa.UniqueConstraint("team", "lifecycle_id", "shutdown_on", "days_before"),
)

AUDIT_EVENT = sa.Table(
    "audit_event",
    METADATA,
    _int("seq", primary_key=True, autoincrement=False),
    _at("at", index=True),
    _text("kind"),
    _text("watch_id", nullable=True),
    _text("subject_table"),
    _text("subject_id"),
    sa.Column("payload", sa.Text, nullable=False),
    _text("prev_sha256"),
    _text("sha256", unique=True),
    sa.Index("ix_audit_event_subject", "subject_table", "subject_id"),
)

WATCHLIST = sa.Table(
    "watchlist",
    METADATA,
    _text("sha256", primary_key=True),
    _text("name"),
    sa.Column("body", sa.LargeBinary, nullable=False),
    _at("first_loaded_at"),
)

VOLATILE_LINE = sa.Table(
    "volatile_line",
    METADATA,
    _id(),
    _ref("watch_id", "watch.id", index=True),
    _text("shape"),
    _text("example"),
    _flag("volatile"),
    _at("seen_at"),
    _at("learnt_at", nullable=True),
    sa.UniqueConstraint("watch_id", "shape"),
)
