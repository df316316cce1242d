"""Engine and sessions. SQLite by default (WAL, busy timeout, write transactions taken with
BEGIN IMMEDIATE so two processes serialise on the write); any SQLAlchemy URL otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session, SQLModel

from monitor.errors import StoreError
from monitor.store import tables  # noqa: F401  (registers the tables)

_ENGINES: dict[str, sa.Engine] = {}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    immediate = conn.get_execution_options().get("monitor_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def open_engine(url: str) -> sa.Engine:
    """One engine per URL per process; creates the tables on first use."""
    if url in _ENGINES:
        return _ENGINES[url]
    try:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, connect_args={"timeout": 30})
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            sa.event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = sa.create_engine(url, pool_pre_ping=True)
        SQLModel.metadata.create_all(engine)
        _add_missing_columns(engine)
        _backfill_audit_log(engine)
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(f"cannot open the database {_redact(url)}: {_first_line(exc)}") from exc
    _ENGINES[url] = engine
    return engine


def _add_missing_columns(engine: sa.Engine) -> None:
    """Additive schema upgrades: a column added to a table since the database was made is
    added to it (every new column is nullable or has a default), so an upgrade keeps history."""
    inspector = sa.inspect(engine)
    with engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                kind = column.type.compile(dialect=engine.dialect)
                default = ""
                if column.default is not None and getattr(column.default, "is_scalar", False):
                    value = column.default.arg  # type: ignore[attr-defined]
                    default = f" DEFAULT {int(value) if isinstance(value, bool) else repr(value)}"
                elif not column.nullable:
                    default = " DEFAULT ''"
                conn.exec_driver_sql(
                    f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}{default}'
                )


def _backfill_audit_log(engine: sa.Engine) -> None:
    """A database recorded before the audit log existed gets its events once."""
    from monitor.store.backfill import backfill, needs_backfill

    if needs_backfill(engine):
        backfill(engine)


def dispose_engines() -> None:
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


@contextmanager
def reading(engine: sa.Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def writing(engine: sa.Engine) -> Iterator[Session]:
    """One write transaction: commits together or not at all."""
    bound = engine.execution_options(monitor_write=True)
    try:
        with Session(bound, expire_on_commit=False) as session, session.begin():
            yield session
    except OperationalError as exc:
        raise StoreError(f"database write failed: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _redact(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is still worth naming
        return url.split("@")[-1]
