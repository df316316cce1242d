"""Engine and sessions. SQLite by default (WAL, busy timeout, write transactions taken with
BEGIN IMMEDIATE so two processes serialise on the write); any SQLAlchemy URL otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from monitor.errors import StoreError
from monitor.store.migrations import HEAD

if TYPE_CHECKING:
    from sqlmodel import Session

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


def open_engine(url: str, *, upgrade: bool = True) -> sa.Engine:
    """One engine per URL per process; brings the schema to the newest revision on first use
    (one query when it is already there)."""
    if url in _ENGINES:
        return _ENGINES[url]
    engine = _create_engine(url)
    try:
        if upgrade and _stored_revision(engine) != HEAD:
            upgrade_schema(engine)
    except BaseException as exc:
        engine.dispose()
        if isinstance(exc, SQLAlchemyError | OSError):
            raise StoreError(
                f"cannot open the database {_redact(url)}: {_first_line(exc)}"
            ) from exc
        raise
    _ENGINES[url] = engine
    return engine


def _create_engine(url: str) -> sa.Engine:
    try:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, connect_args={"timeout": 30})
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            sa.event.listen(engine, "begin", _sqlite_begin)
            return engine
        return sa.create_engine(url, pool_pre_ping=True)
    except ImportError as exc:
        raise StoreError(_missing_driver(url, exc.name or "its driver")) from None
    except (SQLAlchemyError, OSError, ValueError) as exc:
        raise StoreError(f"cannot open the database {_redact(url)}: {_first_line(exc)}") from exc


def _missing_driver(url: str, module: str) -> str:
    if url.startswith("postgres"):
        return (
            f"the database URL {_redact(url)} needs the Python module {module!r}: "
            "pip install 'monitor[postgres]' and write the URL as postgresql+psycopg://…"
        )
    return f"the database URL {_redact(url)} needs the Python module {module!r}: install it"


def _stored_revision(engine: sa.Engine) -> str | None:
    """The schema revision the database records, or None when it records none (empty, or made
    before migrations)."""
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except DBAPIError:
        return None


def upgrade_schema(engine: sa.Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision (under a lock); returns (before, after)."""
    from monitor.store import migrate

    before_after = migrate.upgrade(engine)
    _backfill_audit_log(engine)  # a database from before the audit log gets its events, once
    return before_after


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
    from sqlmodel import Session

    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def writing(engine: sa.Engine) -> Iterator[Session]:
    """One write transaction: commits together or not at all."""
    from sqlmodel import Session

    bound = engine.execution_options(monitor_write=True)
    try:
        with Session(bound, expire_on_commit=False) as session, session.begin():
            yield session
    except OperationalError as exc:
        raise StoreError(f"database write failed: {_first_line(exc)}") from exc


@contextmanager
def transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """`writing` in SQLAlchemy Core, for the paths a check takes (no ORM to import): one
    write transaction that commits together or not at all."""
    try:
        with engine.connect() as connection:
            # on the connection, not a copy of the engine: copying costs more than the write
            connection.execution_options(monitor_write=True)
            with connection.begin():
                yield connection
    except OperationalError as exc:
        raise StoreError(f"database write failed: {_first_line(exc)}") from exc


def connection_of(db: sa.Connection | Session) -> sa.Connection:
    """The connection of a Core transaction or of an ORM session's transaction."""
    return db if isinstance(db, sa.Connection) else db.connection()


def orm_session(connection: sa.Connection) -> Session:
    """An ORM session inside a Core transaction, for a store function written with the ORM:
    its writes join the transaction, which the caller commits (flush before leaving)."""
    from sqlmodel import Session

    return Session(bind=connection, expire_on_commit=False)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _redact(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is still worth naming
        return url.split("@")[-1]
