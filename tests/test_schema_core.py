"""The Core tables (store/schema.py) and the SQLModel tables (store/tables.py) describe one
schema: a table, column, type, nullability, key, default or index added to one and not the
other fails here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

from monitor.store import migrate, tables  # noqa: F401  (registers the SQLModel tables)
from monitor.store.schema import METADATA

DIALECTS = (sqlite.dialect(), postgresql.dialect())


def _column(column: sa.Column[Any]) -> dict[str, Any]:
    default = column.default
    return {
        "types": [column.type.compile(dialect=d) for d in DIALECTS],
        "type_class": type(column.type).__name__
        if type(column.type).__name__
        in ("UTCDateTime", "JSON", "LargeBinary", "Text", "Date", "Float", "Boolean")
        else "",
        "nullable": column.nullable,
        "primary_key": column.primary_key,
        "autoincrement": column.autoincrement if column.primary_key else None,
        "foreign_keys": sorted(fk.target_fullname for fk in column.foreign_keys),
        "index": bool(column.index),
        "unique": bool(column.unique),
        "default": getattr(default, "arg", None) if default is not None else None,
        "server_default": column.server_default,
    }


def _describe(table: sa.Table) -> dict[str, Any]:
    return {
        "columns": {column.name: _column(column) for column in table.columns},
        "column_order": [column.name for column in table.columns],
        "indexes": sorted(
            (
                index.name or "",
                tuple(c.name for c in index.columns),
                bool(index.unique),
                getattr(getattr(index, "_ddl_if", None), "dialect", None) or "",
            )
            for index in table.indexes
        ),
        "unique": sorted(
            tuple(c.name for c in constraint.columns)
            for constraint in table.constraints
            if isinstance(constraint, sa.UniqueConstraint)
        ),
        "primary_key": [c.name for c in table.primary_key.columns],
    }


def test_every_table_is_declared_in_both() -> None:
    assert sorted(METADATA.tables) == sorted(SQLModel.metadata.tables)


def test_every_table_agrees_column_by_column() -> None:
    for name, orm_table in SQLModel.metadata.tables.items():
        core, orm = _describe(METADATA.tables[name]), _describe(orm_table)
        assert core["column_order"] == orm["column_order"], name
        for column, described in orm["columns"].items():
            assert core["columns"][column] == described, f"{name}.{column}"
        assert core == orm, name


def test_a_database_made_from_the_core_tables_has_nothing_the_migrations_lack(
    tmp_path: Path,
) -> None:
    """Alembic's own comparison (the one `monitor db check` uses) finds no difference between
    a database created from the Core tables and the SQLModel tables."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'core.db'}")
    try:
        METADATA.create_all(engine)
        assert migrate.differences(engine) == []
    finally:
        engine.dispose()


def test_the_drift_test_sees_a_column_missing_from_one_side() -> None:
    extra = sa.MetaData()
    copy = METADATA.tables["check"].to_metadata(extra)
    copy.append_column(sa.Column("note", sa.String, nullable=True))
    assert _describe(copy) != _describe(SQLModel.metadata.tables["check"])
    nullable = METADATA.tables["watch"].to_metadata(sa.MetaData())
    nullable.c.url.nullable = True
    assert _describe(nullable) != _describe(SQLModel.metadata.tables["watch"])
