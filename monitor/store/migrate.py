"""Schema migrations: the only module that imports Alembic (besides the revisions it runs).

`upgrade` brings a database to the newest revision under a lock that every process takes the
same way (PostgreSQL: an advisory lock held for the transaction; SQLite: BEGIN IMMEDIATE), so
two processes starting on an empty database never both create the tables. The migrations run
in that one transaction: an upgrade lands whole or not at all (both databases have
transactional DDL). db.py calls it only when the stored revision differs from HEAD, so a
command on a current database never imports Alembic.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from monitor.errors import StoreError
from monitor.store import migrations
from monitor.store.tables import UTCDateTime

MIGRATIONS = Path(migrations.__file__).parent
# Any fixed number: every monitor process asks PostgreSQL for the same advisory lock.
LOCK_KEY = 0x6D6F6E69746F72  # "monitor"


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision, as the revision files say (HEAD in migrations/__init__.py mirrors it)."""
    heads = ScriptDirectory.from_config(_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(
            f"migrations have {len(heads)} heads ({', '.join(sorted(heads))}): "
            "make one revision follow the other (its down_revision)"
        )
    return heads[0]


@contextmanager
def _locked(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One transaction that no other monitor process migrating the same database shares.

    SQLite alters a table by copying it, which its foreign keys forbid while they are enforced:
    they are off for the migration (a pragma that only works outside a transaction) and the
    whole database is checked against them before it commits."""
    with engine.execution_options(monitor_write=True).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        driver = connection.connection.driver_connection
        if sqlite:
            driver.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_KEY)))
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StoreError(f"a migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                driver.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def current(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: sa.Engine) -> tuple[str | None, str]:
    """Bring the database to the newest revision; returns (revision before, revision after)."""
    with _locked(engine) as connection:
        before = current(connection)
        target = head()
        if before == target:
            return before, target
        try:
            command.upgrade(_config(connection), "head")
        except (CommandError, ResolutionError) as exc:
            raise StoreError(
                f"the database's schema is at revision {before}, which this version of monitor "
                f"does not know (newest here: {target}); upgrade monitor"
            ) from exc
        return before, target


def differences(engine: sa.Engine) -> list[Any]:
    """What the database's schema lacks or has beyond the tables in monitor/store/tables.py."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "render_item": render_item,
                "include_name": ours,
                "include_object": for_dialect(connection.dialect.name),
            },
        )
        return list(compare_metadata(context, SQLModel.metadata))


def ours(name: str | None, kind: str, parent_names: Any) -> bool:
    """The task queue's tables (procrastinate_*) are its own, with its own schema upgrades."""
    return not (kind == "table" and (name or "").startswith("procrastinate_"))


def for_dialect(dialect: str) -> Any:
    """Leave out what the tables declare for another database only (an index made with
    `.ddl_if(dialect="sqlite")`)."""

    def include(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
        only = getattr(getattr(obj, "_ddl_if", None), "dialect", None)
        return only is None or only == dialect

    return include


def render_item(kind: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Revisions spell the store's column types in plain SQLAlchemy."""
    if kind == "type" and isinstance(obj, AutoString):
        return "sa.String()"
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def new_revision(message: str) -> Path:
    """Write the next revision from what the tables have beyond a database at the newest
    revision, number it, and move HEAD to it. Returns the new file."""
    previous = head()
    number = f"{int(previous) + 1:04d}"
    with tempfile.TemporaryDirectory() as scratch:
        engine = sa.create_engine(f"sqlite:///{scratch}/head.db", poolclass=sa.NullPool)
        try:
            with engine.begin() as connection:
                command.upgrade(_config(connection), "head")
            with engine.begin() as connection:
                script = command.revision(
                    _config(connection), message=message, autogenerate=True, rev_id=number
                )
        finally:
            engine.dispose()
    if script is None or isinstance(script, list):
        raise RuntimeError("alembic wrote no single revision")
    init = MIGRATIONS / "__init__.py"
    text = init.read_text(encoding="utf-8")
    init.write_text(re.sub(r'^HEAD = ".*"$', f'HEAD = "{number}"', text, flags=re.M), "utf-8")
    return Path(script.path)
