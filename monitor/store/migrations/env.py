"""Alembic's entry: migrations run on the connection monitor/store/migrate.py hands over, inside
the transaction (and lock) it holds."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from monitor.store import tables  # noqa: F401  (registers the tables)
from monitor.store.migrate import ours, render_item

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,  # SQLite alters a table by copying it
    render_item=render_item,
    include_name=ours,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
