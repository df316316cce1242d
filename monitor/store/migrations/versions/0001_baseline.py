"""Baseline: the schema of the first release.

A database made by a release before migrations (no alembic_version table) already has these
tables, perhaps without the columns added since: those columns are added with a default their
type allows, and the empty strings an older in-place upgrade left in JSON columns become the
empty list or object they stood for. An empty database gets every table.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

META = sa.MetaData()
sa.Table(
    "watch",
    META,
    sa.Column("id", sa.String(), nullable=False),
    sa.Column("url", sa.String(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_check_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_outcome", sa.String(), nullable=True),
    sa.Column("failures_in_row", sa.Integer(), nullable=False),
    sa.Column("failure_alerted", sa.Boolean(), nullable=False),
    sa.Column("gone", sa.Boolean(), nullable=False),
    sa.Column("etag", sa.String(), nullable=True),
    sa.Column("last_modified", sa.String(), nullable=True),
    sa.Column("last_raw_sha256", sa.String(), nullable=True),
    sa.Column("last_rules_sha256", sa.String(), nullable=True),
    sa.Column("rules_sha256", sa.String(), nullable=True),
    sa.Column("needs_browser", sa.Boolean(), nullable=False),
    sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("id"),
)
sa.Table(
    "check",
    META,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("watch_id", sa.String(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("outcome", sa.String(), nullable=False),
    sa.Column("status", sa.Integer(), nullable=True),
    sa.Column("duration_ms", sa.Integer(), nullable=True),
    sa.Column("raw_sha256", sa.LargeBinary(length=32), nullable=True),
    sa.Column("version_id", sa.Integer(), nullable=True),
    sa.Column("error_kind", sa.String(), nullable=True),
    sa.Column("error", sa.String(), nullable=True),
    sa.ForeignKeyConstraint(["watch_id"], ["watch.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_check_watch_at", "watch_id", "at"),
)
sa.Table(
    "snapshot",
    META,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("watch_id", sa.String(), nullable=False),
    sa.Column("sha256", sa.String(), nullable=False),
    sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("requested_url", sa.String(), nullable=False),
    sa.Column("final_url", sa.String(), nullable=False),
    sa.Column("status", sa.Integer(), nullable=True),
    sa.Column("content_type", sa.String(), nullable=True),
    sa.Column("charset", sa.String(), nullable=True),
    sa.Column("fetcher", sa.String(), nullable=False),
    sa.Column("monitor_version", sa.String(), nullable=False),
    sa.ForeignKeyConstraint(["watch_id"], ["watch.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("watch_id", "sha256"),
    sa.Index("ix_snapshot_watch_id", "watch_id"),
)
sa.Table(
    "version",
    META,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("watch_id", sa.String(), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("text_sha256", sa.String(), nullable=False),
    sa.Column("rules_sha256", sa.String(), nullable=False),
    sa.Column("snapshot_id", sa.Integer(), nullable=False),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("monitor_version", sa.String(), nullable=False),
    sa.ForeignKeyConstraint(["snapshot_id"], ["snapshot.id"]),
    sa.ForeignKeyConstraint(["watch_id"], ["watch.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("watch_id", "seq"),
    sa.Index("ix_version_watch_id", "watch_id"),
)
sa.Table(
    "change",
    META,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("watch_id", sa.String(), nullable=False),
    sa.Column("from_version_id", sa.Integer(), nullable=True),
    sa.Column("to_version_id", sa.Integer(), nullable=True),
    sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("labels", sa.JSON(), nullable=False),
    sa.Column("severity", sa.String(), nullable=False),
    sa.Column("summary", sa.String(), nullable=False),
    sa.Column("score", sa.Float(), nullable=False),
    sa.Column("score_factors", sa.JSON(), nullable=False),
    sa.Column("findings", sa.JSON(), nullable=False),
    sa.Column("facts", sa.JSON(), nullable=False),
    sa.Column("diff", sa.JSON(), nullable=False),
    sa.Column("lines_added", sa.Integer(), nullable=False),
    sa.Column("lines_removed", sa.Integer(), nullable=False),
    sa.Column("sections", sa.JSON(), nullable=False),
    sa.Column("monitor_version", sa.String(), nullable=False),
    sa.ForeignKeyConstraint(["from_version_id"], ["version.id"]),
    sa.ForeignKeyConstraint(["to_version_id"], ["version.id"]),
    sa.ForeignKeyConstraint(["watch_id"], ["watch.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_change_detected_at", "detected_at"),
    sa.Index("ix_change_watch_at", "watch_id", "detected_at"),
)
sa.Table(
    "delivery",
    META,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("change_id", sa.Integer(), nullable=False),
    sa.Column("channel", sa.String(), nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_error", sa.String(), nullable=True),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("remote_id", sa.String(), nullable=True),
    sa.Column("thread_id", sa.String(), nullable=True),
    sa.ForeignKeyConstraint(["change_id"], ["change.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("change_id", "channel"),
    sa.Index("ix_delivery_due", "state", "next_try_at"),
)
sa.Table(
    "model_lifecycle",
    META,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("provider", sa.String(), nullable=False),
    sa.Column("model", sa.String(), nullable=False),
    sa.Column("surface", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("announced_on", sa.Date(), nullable=True),
    sa.Column("shutdown_on", sa.Date(), nullable=True),
    sa.Column("shutdown_qualifier", sa.String(), nullable=True),
    sa.Column("replacement", sa.String(), nullable=True),
    sa.Column("source_change_id", sa.Integer(), nullable=True),
    sa.Column("watch_id", sa.String(), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["source_change_id"], ["change.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("provider", "model", "surface"),
    sa.Index("ix_model_lifecycle_model", "model"),
)
sa.Table(
    "review",
    META,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("change_id", sa.Integer(), nullable=False),
    sa.Column("reviewer", sa.String(), nullable=False),
    sa.Column("verdict", sa.String(), nullable=False),
    sa.Column("note", sa.String(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["change_id"], ["change.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_review_change_id", "change_id"),
)
sa.Table(
    "model_event",
    META,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("lifecycle_id", sa.Integer(), nullable=False),
    sa.Column("event", sa.String(), nullable=False),
    sa.Column("change_id", sa.Integer(), nullable=True),
    sa.Column("shutdown_on", sa.Date(), nullable=True),
    sa.Column("previous_shutdown_on", sa.Date(), nullable=True),
    sa.Column("detail", sa.JSON(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["change_id"], ["change.id"]),
    sa.ForeignKeyConstraint(["lifecycle_id"], ["model_lifecycle.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_model_event_lifecycle_id", "lifecycle_id"),
)

# what a NOT NULL column added to an existing table holds in the rows already there
JSON_EMPTY = {
    ("change", "labels"): "[]",
    ("change", "score_factors"): "{}",
    ("change", "findings"): "[]",
    ("change", "facts"): "[]",
    ("change", "diff"): "{}",
    ("change", "sections"): "[]",
    ("model_event", "detail"): "{}",
}


def _filler(table: str, column: sa.Column) -> sa.TextClause | None:
    if column.nullable:
        return None
    kind = column.type
    if isinstance(kind, sa.JSON):
        return sa.text(f"'{JSON_EMPTY[(table, column.name)]}'")
    if isinstance(kind, sa.Boolean):
        return sa.false()  # type: ignore[return-value]
    if isinstance(kind, sa.Integer | sa.Float):
        return sa.text("0")
    if isinstance(kind, sa.String):
        return sa.text("''")
    return None


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for table in META.sorted_tables:
        if not inspector.has_table(table.name):
            table.create(bind)
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            filler = _filler(table.name, column)
            added = sa.Column(
                column.name,
                column.type,
                nullable=column.nullable or filler is None,
                server_default=filler,
            )
            with op.batch_alter_table(table.name) as batch:
                batch.add_column(added)
            if filler is not None:  # the default filled the old rows; new rows give their own
                with op.batch_alter_table(table.name) as batch:
                    batch.alter_column(column.name, server_default=None)
        indexes = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(bind)
    if bind.dialect.name == "sqlite":
        for (table_name, column_name), empty in JSON_EMPTY.items():
            op.execute(
                f'UPDATE "{table_name}" SET "{column_name}" = \'{empty}\' '
                f'WHERE "{column_name}" = \'\' OR "{column_name}" IS NULL'
            )


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(META.sorted_tables):
        table.drop(bind, checkfirst=True)
