"""Schema migrations on SQLite and PostgreSQL: a new database gets exactly the tables the code
declares, a database from the first release (tests/fixtures/store/first_release.db, made by that
release's `monitor check`) upgrades in place keeping its history, and start-up on a current
database does not load Alembic."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.cli import main
from monitor.store import migrate, migrations, queries
from monitor.store.db import dispose_engines, open_engine

ROOT = Path(__file__).parent.parent
FIRST_RELEASE = Path(__file__).parent / "fixtures" / "store" / "first_release.db"
BASELINE = ROOT / "monitor" / "store" / "migrations" / "versions" / "0001_baseline.py"


def baseline_tables() -> sa.MetaData:
    """The first release's tables, as the baseline revision spells them."""
    spec = importlib.util.spec_from_file_location("baseline_revision", BASELINE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.META  # type: ignore[no-any-return]


def first_release_database(database_url: str) -> None:
    """The first release's database at `database_url`: the fixture file itself on SQLite, the
    same tables and rows copied into PostgreSQL."""
    target = sa.make_url(database_url)
    if target.get_backend_name() == "sqlite":
        Path(target.database or "").write_bytes(FIRST_RELEASE.read_bytes())
        return
    meta = baseline_tables()
    source = sa.create_engine(f"sqlite:///{FIRST_RELEASE}", poolclass=sa.NullPool)
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    with source.connect() as old, engine.begin() as new:
        meta.create_all(new)
        for table in meta.sorted_tables:
            rows = [dict(row) for row in old.execute(table.select()).mappings()]
            if rows:
                new.execute(table.insert(), rows)
            if "id" in table.c and isinstance(table.c.id.type, sa.Integer):
                new.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'),"
                    f' (SELECT coalesce(max(id), 0) + 1 FROM "{table.name}"), false)'
                )
    source.dispose()
    engine.dispose()


def watchlist(tmp_path: Path) -> Path:
    path = tmp_path / "watchlist.toml"
    path.write_text('[[watch]]\nid = "policy"\nurl = "http://127.0.0.1:9/policy"\n', "utf-8")
    return path


def test_head_names_the_newest_revision() -> None:
    assert migrations.HEAD == migrate.head(), (
        "monitor/store/migrations/__init__.py HEAD must name the newest revision"
    )


def test_a_new_database_has_exactly_the_declared_tables(database_url: str) -> None:
    engine = open_engine(database_url)
    assert migrate.differences(engine) == [], (
        "the tables differ from what the migrations make: add a revision with "
        'python -m monitor.store.migrations revision "what changed"'
    )


def test_the_first_release_database_upgrades_in_place(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first_release_database(database_url)
    path = watchlist(tmp_path)
    assert main(["-w", str(path), "db", "upgrade"]) == 0
    upgraded = f"database schema upgraded from revision none to {migrations.HEAD}\n"
    assert capsys.readouterr().out == upgraded
    engine = open_engine(database_url)
    assert migrate.differences(engine) == []
    assert queries.counts(engine, "policy") == (2, 2, 1)  # checks, versions, changes kept
    assert main(["-w", str(path), "history", "--json"]) == 0
    [change] = json.loads(capsys.readouterr().out)
    assert change["watch"] == "policy" and "version_bump" in change["labels"]
    assert main(["-w", str(path), "db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"database schema already at revision {migrations.HEAD}\n"


def test_an_older_database_gets_its_missing_columns_and_json_repaired(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first_release_database(database_url)
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE watch DROP COLUMN rules_sha256")
        connection.exec_driver_sql("ALTER TABLE snapshot DROP COLUMN fetcher")
        if engine.dialect.name == "sqlite":  # what the old in-place upgrade left behind
            connection.exec_driver_sql("UPDATE change SET sections = ''")
    engine.dispose()
    path = watchlist(tmp_path)
    assert main(["-w", str(path), "history", "--json"]) == 0  # upgraded at start
    [change] = json.loads(capsys.readouterr().out)
    assert change["watch"] == "policy"
    assert migrate.differences(open_engine(database_url)) == []


def test_a_database_from_a_newer_release_is_one_clear_line(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_engine(database_url)
    dispose_engines()
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    assert main(["-w", str(watchlist(tmp_path)), "history"]) == 1
    err = capsys.readouterr().err
    assert "revision 9999" in err and "upgrade monitor" in err
    assert len(err.strip().splitlines()) == 1


def test_start_up_on_a_current_database_does_not_load_alembic(database_url: str) -> None:
    probe = (
        "import sys; from monitor.store.db import open_engine; "
        f"open_engine({database_url!r}); print('alembic' in sys.modules)"
    )
    loaded: list[Any] = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        loaded.append(done.stdout.strip())
    assert loaded == ["True", "False"]  # the first start migrates, the next one only reads


def test_a_url_whose_driver_is_missing_names_the_extra(tmp_path: Path) -> None:
    hide_psycopg = (
        "import sys; sys.modules['psycopg'] = None; from monitor.cli import main; "
        "raise SystemExit(main(sys.argv[1:]))"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "MONITOR_DATABASE_URL": "postgresql+psycopg://monitor@/monitor?host=/nowhere",
    }
    done = subprocess.run(
        [sys.executable, "-c", hide_psycopg, "-w", str(watchlist(tmp_path)), "history"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: the database URL postgresql+psycopg://monitor@/monitor?host=%2Fnowhere needs "
        "the Python module 'psycopg': pip install 'monitor[postgres]' and write the URL as "
        "postgresql+psycopg://…"
    ]
