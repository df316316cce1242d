"""The database under test: SQLite always, PostgreSQL as well when MONITOR_TEST_POSTGRES names a
server (a SQLAlchemy URL to a database the tests may create databases from, e.g. the one
`scripts/postgres start DIR` prints).

A test module opts in with `pytestmark = pytest.mark.usefixtures("database_url")` (or asks for
`database_url` itself): each of its tests then runs once per database, each run with a database
of its own, named to the code through MONITOR_DATABASE_URL so subprocesses use it too.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ADMIN_URL_ENV = "MONITOR_TEST_POSTGRES"

__all__ = [
    "database_url",
    "database_kinds",
    "database_of_kind",
    "database_named",
    "postgres_admin_url",
    "create_postgres_database",
    "drop_database",
]


def postgres_admin_url() -> str | None:
    return os.environ.get(ADMIN_URL_ENV) or None


def database_kinds() -> list[str]:
    return ["sqlite"] + (["postgres"] if postgres_admin_url() else [])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_url", database_kinds(), indirect=True)


@contextmanager
def database_of_kind(kind: str) -> Iterator[str | None]:
    """A PostgreSQL database of its own for "postgres" (dropped after), None for "sqlite" (the
    watchlist's folder then holds the file): for fixtures wider than one test."""
    if kind == "sqlite":
        yield None
        return
    url = create_postgres_database()
    try:
        yield url
    finally:
        from monitor.store.db import dispose_engines

        dispose_engines()
        drop_database(url)


@contextmanager
def database_named(url: str | None) -> Iterator[None]:
    """MONITOR_DATABASE_URL set to `url` (unset for None) while the block runs."""
    with pytest.MonkeyPatch.context() as patch:
        if url is None:
            patch.delenv("MONITOR_DATABASE_URL", raising=False)
        else:
            patch.setenv("MONITOR_DATABASE_URL", url)
        yield


def create_postgres_database() -> str:
    """A new empty database on the test server; returns its URL."""
    import sqlalchemy as sa

    admin_url = sa.make_url(postgres_admin_url() or "")
    name = f"monitor_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    import sqlalchemy as sa

    target = sa.make_url(url)
    if target.get_backend_name() != "postgresql":
        return
    admin = sa.create_engine(
        sa.make_url(postgres_admin_url() or ""), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
        yield f"sqlite:///{tmp_path / 'monitor.db'}"
        return
    url = create_postgres_database()
    monkeypatch.setenv("MONITOR_DATABASE_URL", url)
    try:
        yield url
    finally:
        from monitor.store.db import dispose_engines

        dispose_engines()
        drop_database(url)
