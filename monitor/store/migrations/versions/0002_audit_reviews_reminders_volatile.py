"""audit log, watchlists, reviewers, reminders, volatile lines, registry source, snapshot headers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 12:43:28.374252
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("watch_id", sa.String(), nullable=True),
        sa.Column("subject_table", sa.String(), nullable=False),
        sa.Column("subject_id", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_sha256", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("sha256"),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)
        batch_op.create_index(
            "ix_audit_event_subject", ["subject_table", "subject_id"], unique=False
        )

    op.create_table(
        "reviewer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("token_sha256", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    with op.batch_alter_table("reviewer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviewer_name"), ["name"], unique=False)

    op.create_table(
        "watchlist",
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("first_loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "volatile_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watch_id", sa.String(), nullable=False),
        sa.Column("shape", sa.String(), nullable=False),
        sa.Column("example", sa.String(), nullable=False),
        sa.Column("volatile", sa.Boolean(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("learnt_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["watch_id"],
            ["watch.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("watch_id", "shape"),
    )
    with op.batch_alter_table("volatile_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_volatile_line_watch_id"), ["watch_id"], unique=False)

    op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(), nullable=False),
        sa.Column("lifecycle_id", sa.Integer(), nullable=False),
        sa.Column("shutdown_on", sa.Date(), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["change.id"],
        ),
        sa.ForeignKeyConstraint(
            ["lifecycle_id"],
            ["model_lifecycle.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team", "lifecycle_id", "shutdown_on", "days_before"),
    )
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reminder_lifecycle_id"), ["lifecycle_id"], unique=False
        )

    with op.batch_alter_table("change", schema=None) as batch_op:
        if op.get_bind().dialect.name == "sqlite":  # PostgreSQL has no b-tree over JSON
            batch_op.create_index(
                "ix_change_at_labels", ["detected_at", "id", "labels"], unique=False
            )
        batch_op.create_index("ix_change_severity_at", ["severity", "detected_at"], unique=False)

    with op.batch_alter_table("model_lifecycle", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(), nullable=True))

    with op.batch_alter_table("snapshot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("headers", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("snapshot", schema=None) as batch_op:
        batch_op.drop_column("headers")

    with op.batch_alter_table("model_lifecycle", schema=None) as batch_op:
        batch_op.drop_column("source")

    with op.batch_alter_table("change", schema=None) as batch_op:
        batch_op.drop_index("ix_change_severity_at")
        if op.get_bind().dialect.name == "sqlite":
            batch_op.drop_index("ix_change_at_labels")

    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_lifecycle_id"))

    op.drop_table("reminder")
    with op.batch_alter_table("volatile_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volatile_line_watch_id"))

    op.drop_table("volatile_line")
    op.drop_table("watchlist")
    with op.batch_alter_table("reviewer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviewer_name"))

    op.drop_table("reviewer")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_subject")
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))

    op.drop_table("audit_event")
